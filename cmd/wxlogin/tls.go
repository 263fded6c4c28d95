package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// certFiles serves the certificate of a key pair on disk and picks up a
// renewed pair without a restart: certificate tools (certbot, cert-manager)
// replace the files in place and expect the server to notice. Handshakes
// look at the files' stat at most once per certCheckEvery; a pair that no
// longer loads (a half-written renewal, a key that does not match) keeps the
// certificate already served and is logged once, not on every handshake.
type certFiles struct {
	log *slog.Logger

	cert      atomic.Pointer[tls.Certificate]
	nextCheck atomic.Int64 // unix nanoseconds

	mu                sync.Mutex // serializes reloads
	certFile, keyFile string
	loaded, failed    pairStamp // the stat of the pair served, and of the last one refused
}

// certCheckEvery is how often handshakes look at the files: a renewed
// certificate is served within this, and a busy server stats the files a
// few times a minute, not once per connection.
const certCheckEvery = 2 * time.Second

// pairStamp tells two versions of the pair apart without reading them.
type pairStamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

func statPair(certFile, keyFile string) (pairStamp, error) {
	c, err := os.Stat(certFile)
	if err != nil {
		return pairStamp{}, err
	}
	k, err := os.Stat(keyFile)
	if err != nil {
		return pairStamp{}, err
	}
	return pairStamp{certMod: c.ModTime(), keyMod: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}

// loadKeyPair reads and checks a pair: the certificate must match the key
// and parse, so that a bad pair is refused before it is served. Its errors
// name the files, never their contents.
func loadKeyPair(certFile, keyFile string) (*tls.Certificate, pairStamp, error) {
	st, err := statPair(certFile, keyFile)
	if err != nil {
		return nil, st, fmt.Errorf("tls_cert_file/tls_key_file: %v", err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, st, fmt.Errorf("tls_cert_file %s / tls_key_file %s: %v", certFile, keyFile, err)
	}
	return &pair, st, nil
}

// newCertFiles loads the pair; it must load now, since a server without a
// certificate could answer nobody.
func newCertFiles(certFile, keyFile string, log *slog.Logger) (*certFiles, error) {
	pair, st, err := loadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	c := &certFiles{log: log, certFile: certFile, keyFile: keyFile, loaded: st}
	c.cert.Store(pair)
	c.nextCheck.Store(time.Now().Add(certCheckEvery).UnixNano())
	return c, nil
}

// getCertificate is tls.Config.GetCertificate.
func (c *certFiles) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if now := time.Now(); now.UnixNano() >= c.nextCheck.Load() {
		c.nextCheck.Store(now.Add(certCheckEvery).UnixNano())
		c.refresh(false)
	}
	return c.cert.Load(), nil
}

// reload re-reads the pair now (SIGHUP), from new paths when the
// configuration names others, and reports whether the pair served is the
// one on disk.
func (c *certFiles) reload(certFile, keyFile string) error {
	c.mu.Lock()
	c.certFile, c.keyFile = certFile, keyFile
	c.mu.Unlock()
	return c.refresh(true)
}

// refresh loads the pair when its files changed since the last load (or
// always, with force). A pair that does not load is logged once per
// version of the files and the old certificate stays.
func (c *certFiles) refresh(force bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, err := statPair(c.certFile, c.keyFile)
	if err == nil && !force && (st == c.loaded || st == c.failed) {
		return nil
	}
	pair, st, err := loadKeyPair(c.certFile, c.keyFile)
	if err != nil {
		if force || st != c.failed {
			c.log.Error("tls: the new certificate does not load; still serving the previous one", "err", err)
		}
		c.failed = st
		return err
	}
	c.cert.Store(pair)
	c.loaded, c.failed = st, pairStamp{}
	c.log.Info("tls: certificate loaded", "cert_file", c.certFile, "not_after", pair.Leaf.NotAfter)
	return nil
}

// serverTLSConfig is TLS 1.2 and later with forward-secret AEAD suites only
// (TLS 1.3 suites are all of that kind and not configurable). HTTP/2 stays
// on: http.Server.ServeTLS adds it to these settings.
func serverTLSConfig(c *certFiles) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		GetCertificate: c.getCertificate,
	}
}

// checkTLS refuses half a pair, and a pair that does not load, before
// anything is opened.
func (c *config) checkTLS() error {
	switch {
	case c.TLSCertFile == "" && c.TLSKeyFile == "":
		return nil
	case c.TLSCertFile == "":
		return errors.New("tls_cert_file: tls_key_file is set but the certificate is not (WXLOGIN_TLS_CERT_FILE or tls_cert_file:)")
	case c.TLSKeyFile == "":
		return errors.New("tls_key_file: tls_cert_file is set but the key is not (WXLOGIN_TLS_KEY_FILE or tls_key_file:)")
	}
	_, _, err := loadKeyPair(c.TLSCertFile, c.TLSKeyFile)
	return err
}

// tlsOn reports whether serve terminates TLS itself.
func (c *config) tlsOn() bool { return c.TLSCertFile != "" }
