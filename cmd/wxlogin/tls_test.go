package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/keyring"
)

// testCert is a self-signed certificate for 127.0.0.1 and its key, PEM
// encoded.
type testCert struct {
	cert     *x509.Certificate
	certPEM  []byte
	keyPEM   []byte
	serialNo *big.Int
}

func newTestCert(t *testing.T, serial int64) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "wxlogin test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{
		cert:     cert,
		certPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		serialNo: cert.SerialNumber,
	}
}

// install writes the pair the way renewal tools do: each file written
// aside and renamed over the old one.
func (c testCert) install(t *testing.T, certFile, keyFile string) {
	t.Helper()
	for _, f := range []struct {
		path string
		data []byte
	}{{keyFile, c.keyPEM}, {certFile, c.certPEM}} {
		tmp := f.path + ".new"
		if err := os.WriteFile(tmp, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, f.path); err != nil {
			t.Fatal(err)
		}
	}
}

// servedSerial opens a new TLS connection to addr and returns the serial
// number of the certificate it was shown.
func servedSerial(t *testing.T, addr string) *big.Int {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber
}

// TestServeTLS serves HTTPS from a certificate on disk: a login over
// HTTP/2, old protocol versions and CBC suites refused, a renewed pair
// served without a restart, and a broken renewal logged once while the
// previous certificate stays.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	app := emulator.DevApps()[0]
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := newTestCert(t, 1)
	first.install(t, certFile, keyFile)
	envs := serveEnv("sqlite://"+filepath.Join(dir, "wx.db"), wechat.URL, app, keyring.Format(keyring.Generate("k1")))
	envs["WXLOGIN_TLS_CERT_FILE"], envs["WXLOGIN_TLS_KEY_FILE"] = certFile, keyFile
	api, stop, stderr := startServe(t, envs)
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d; stderr:\n%s", code, stderr.String())
		}
	}()
	u, err := url.Parse(api)
	if err != nil || u.Scheme != "https" {
		t.Fatalf("serve logged %q as its address, want an https URL", api)
	}

	// A login over HTTPS, verified against the certificate as a client
	// would, on HTTP/2.
	roots := x509.NewCertPool()
	roots.AddCert(first.cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
	defer client.CloseIdleConnections()
	code, err := em.Login(app.AppID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Post(api+"/v1/login", "application/json", strings.NewReader(`{"code":"`+code+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body["token"] == nil {
		t.Fatalf("login over https: %d %v", resp.StatusCode, body)
	}
	if resp.Proto != "HTTP/2.0" {
		t.Errorf("login answered over %s, want HTTP/2.0", resp.Proto)
	}
	// Plain HTTP on the TLS port gets net/http's 400, never the API.
	if resp, err := http.Get("http://" + u.Host + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the TLS port answered %d, want 400", resp.StatusCode)
		}
	}

	// TLS 1.1 and TLS 1.2 with CBC suites only are refused, while TLS 1.2
	// with an AEAD suite is served. (Go's client would not even offer
	// TLS 1.1 without MinVersion set.)
	handshake := func(cfg *tls.Config) error {
		cfg.InsecureSkipVerify = true
		c, err := tls.Dial("tcp", u.Host, cfg)
		if err == nil {
			c.Close()
		}
		return err
	}
	gcm := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
	if err := handshake(&tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: gcm}); err != nil {
		t.Errorf("a TLS 1.2 handshake with ECDHE-ECDSA-AES128-GCM failed: %v", err)
	}
	if err := handshake(&tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}); err == nil {
		t.Error("a TLS 1.1 handshake succeeded")
	}
	cbc := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}
	if err := handshake(&tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: cbc}); err == nil {
		t.Error("a TLS 1.2 handshake offering only CBC suites succeeded")
	}

	// A renewed pair is served by new connections, without a restart.
	second := newTestCert(t, 2)
	second.install(t, certFile, keyFile)
	waitFor(t, "the renewed certificate to be served", func() bool {
		return servedSerial(t, u.Host).Cmp(second.serialNo) == 0
	})

	// A broken renewal: the previous certificate stays, and the failure
	// is logged once however many handshakes look at the files.
	if err := os.WriteFile(certFile, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const refused = "the new certificate does not load"
	waitFor(t, "the broken pair to be logged", func() bool {
		if s := servedSerial(t, u.Host); s.Cmp(second.serialNo) != 0 {
			t.Fatalf("serving serial %v after a broken renewal, want the previous %v", s, second.serialNo)
		}
		return strings.Contains(stderr.String(), refused)
	})
	for deadline := time.Now().Add(2*certCheckEvery + time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if s := servedSerial(t, u.Host); s.Cmp(second.serialNo) != 0 {
			t.Fatalf("serving serial %v after a broken renewal, want the previous %v", s, second.serialNo)
		}
	}
	if n := strings.Count(stderr.String(), refused); n != 1 {
		t.Errorf("the broken pair was logged %d times, want once; stderr:\n%s", n, stderr.String())
	}
	if strings.Contains(stderr.String(), "PRIVATE KEY") {
		t.Error("key material appears in the log")
	}
}

// TestServeRefusesBadTLSSettings: half a pair, or a pair that does not
// load, stops the start with one line naming the setting.
func TestServeRefusesBadTLSSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	c := newTestCert(t, 1)
	c.install(t, certFile, keyFile)
	other := newTestCert(t, 2)
	otherKey := filepath.Join(dir, "other.key")
	if err := os.WriteFile(otherKey, other.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cert, key, want string
	}{
		{"no key", certFile, "", "tls_key_file"},
		{"no certificate", "", keyFile, "tls_cert_file"},
		{"missing file", certFile, filepath.Join(dir, "missing.key"), "tls_key_file"},
		{"key of another certificate", certFile, otherKey, "tls_cert_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := validEnv()
			env["WXLOGIN_TLS_CERT_FILE"], env["WXLOGIN_TLS_KEY_FILE"] = tc.cert, tc.key
			_, err := loadConfig("", envOf(env))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("loadConfig = %v, want one line naming %s", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("the error shows key material: %v", err)
			}
		})
	}
}

// waitFor polls cond until it holds; the bound is for liveness only.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
