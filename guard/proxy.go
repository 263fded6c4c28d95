package guard

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"

	"github.com/wxlogin/wxlogin"
)

// ProxyConfig configures BehindProxy.
type ProxyConfig struct {
	// Trusted are the addresses of the proxies that run forward-auth
	// (e.g. 10.0.0.5/32, or 127.0.0.1/32 when nginx runs on the same
	// host). Only a request whose connection comes from one of them has
	// its X-Wxlogin-* headers believed. Required: a guard that trusted
	// everyone would let any client name any user.
	Trusted []netip.Prefix

	// AppID, when set, passes only that app's users: a principal of
	// another app is dropped and the request is unauthenticated. The
	// proxy's own forward-auth URL should say ?appid= as well; this is
	// the backend's second line.
	AppID string
}

// BehindProxy returns a Guard that reads the identity a forward-auth proxy
// put into the X-Wxlogin-* headers, trusting them only from cfg.Trusted.
func BehindProxy(cfg ProxyConfig) (*Guard, error) {
	if len(cfg.Trusted) == 0 {
		return nil, errors.New("guard: ProxyConfig.Trusted is empty: name the proxies whose X-Wxlogin-* headers are believed")
	}
	for _, p := range cfg.Trusted {
		if !p.IsValid() {
			return nil, errors.New("guard: ProxyConfig.Trusted holds an invalid prefix")
		}
	}
	if err := checkAppID(cfg.AppID); err != nil {
		return nil, err
	}
	trusted := make([]netip.Prefix, len(cfg.Trusted))
	for i, p := range cfg.Trusted {
		trusted[i] = p.Masked()
	}
	pr := &proxy{trusted: trusted, appID: cfg.AppID}
	return &Guard{identify: pr.identify}, nil
}

type proxy struct {
	trusted []netip.Prefix
	appID   string
}

// identify never fails: the proxy has already refused bad tokens, so a
// request either carries a trusted identity or none.
func (pr *proxy) identify(r *http.Request) (wxlogin.Principal, bool, error) {
	if !pr.isTrusted(r.RemoteAddr) {
		stripIdentity(r.Header)
		return wxlogin.Principal{}, false, nil
	}
	p, ok := principalFromHeaders(r.Header)
	// A proxy that let a request through without asking wxlogin (a route
	// it does not guard) sends no identity: the request is anonymous.
	if !ok {
		return wxlogin.Principal{}, false, nil
	}
	if pr.appID != "" && p.AppID != pr.appID {
		return wxlogin.Principal{}, false, nil
	}
	return p, true, nil
}

func (pr *proxy) isTrusted(remoteAddr string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range pr.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// identityPrefix is the headers' common start. It is compared without
// regard to case: net/http leaves a name it cannot canonicalise as the
// client spelled it.
const identityPrefix = "X-Wxlogin-"

// stripIdentity removes every X-Wxlogin-* header, not only the ones this
// package reads: a handler further on may read another one.
func stripIdentity(h http.Header) {
	for k := range h {
		if len(k) >= len(identityPrefix) && strings.EqualFold(k[:len(identityPrefix)], identityPrefix) {
			delete(h, k)
		}
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
