package guard_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/guard"
)

// proxyAddr is the address the test's forward-auth proxy connects to the
// backend from. Every 127/8 address is the loopback on Linux, so the
// proxy (from 127.0.0.2) and a client going straight to the backend (from
// 127.0.0.1) are told apart by their address, as on a real network.
const proxyAddr = "127.0.0.2"

// forwardAuthProxy does what the README's nginx block does: for every
// request under /api/ it asks wxlogin's forward-auth with the client's
// Authorization header, refuses what wxlogin refuses, and sets the
// X-Wxlogin-* headers from the answer, replacing the client's; other
// paths pass without asking, their X-Wxlogin-* headers removed.
func forwardAuthProxy(t testing.TB, wxloginURL, appid string, backend string) *httptest.Server {
	t.Helper()
	target, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(proxyAddr)}}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{DialContext: dialer.DialContext}
	headers := []string{guard.HeaderUserID, guard.HeaderOpenID, guard.HeaderAppID, guard.HeaderUnionID,
		guard.HeaderAccountID, guard.HeaderCorpID, guard.HeaderWeComUserID}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range headers {
			r.Header.Del(h)
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			authURL := wxloginURL + "/v1/auth"
			if appid != "" {
				authURL += "?appid=" + appid
			}
			sub, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, authURL, nil)
			sub.Header.Set("Authorization", r.Header.Get("Authorization"))
			resp, err := http.DefaultClient.Do(sub)
			if err != nil {
				http.Error(w, "auth subrequest failed", http.StatusInternalServerError)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
				w.WriteHeader(resp.StatusCode)
				return
			case resp.StatusCode/100 != 2:
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			for _, h := range headers {
				if v := resp.Header.Get(h); v != "" {
					r.Header.Set(h, v)
				}
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// proxiedBackend is a backend guarded in proxy mode, trusting proxyAddr.
func proxiedBackend(t testing.TB, cfg guard.ProxyConfig) *httptest.Server {
	t.Helper()
	if cfg.Trusted == nil {
		cfg.Trusted = []netip.Prefix{netip.MustParsePrefix(proxyAddr + "/32")}
	}
	g, err := guard.BehindProxy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", guard.Require(http.HandlerFunc(whoami)))
	mux.HandleFunc("/public/", whoami)
	srv := httptest.NewServer(g.Middleware(mux))
	t.Cleanup(srv.Close)
	return srv
}

func TestBehindProxyEndToEnd(t *testing.T) {
	t.Parallel()
	wx := newStack(t)
	backend := proxiedBackend(t, guard.ProxyConfig{})
	proxy := forwardAuthProxy(t, wx.URL, app1, backend.URL)
	c := proxy.Client()
	alice := wx.mustLogin(t, app1, "alice")

	t.Run("the proxy's identity reaches the handler", func(t *testing.T) {
		a := get(t, c, proxy.URL+"/api/me", alice.Token, guard.HeaderUserID, "usr_forged")
		if a.status != http.StatusOK {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		p := decodePrincipal(t, a.body)
		if p.UserID != alice.User.ID || p.OpenID != alice.User.OpenID || p.AppID != app1 || p.UnionID != alice.User.UnionID || p.UnionID == "" {
			t.Errorf("principal = %+v, want alice as wxlogin logged her in: %+v", p, alice.User)
		}
	})
	t.Run("another app's token is refused by the proxy", func(t *testing.T) {
		bob := wx.mustLogin(t, app2, "bob")
		if a := get(t, c, proxy.URL+"/api/me", bob.Token); a.status != http.StatusUnauthorized {
			t.Errorf("status %d, want 401: %s", a.status, a.body)
		}
	})
	t.Run("a public route through the proxy is anonymous", func(t *testing.T) {
		a := get(t, c, proxy.URL+"/public/x", "", guard.HeaderUserID, alice.User.ID, guard.HeaderOpenID, alice.User.OpenID, guard.HeaderAppID, app1)
		if a.status != http.StatusOK || !jsonHas(a.body, `"anonymous":true`) {
			t.Errorf("status %d body %s, want anonymous", a.status, a.body)
		}
	})

	forged := []string{guard.HeaderUserID, alice.User.ID, guard.HeaderOpenID, alice.User.OpenID, guard.HeaderAppID, app1, "x-wxlogin-extra", "1"}
	t.Run("headers straight from a client are stripped", func(t *testing.T) {
		a := get(t, backend.Client(), backend.URL+"/public/x", "", forged...)
		if a.status != http.StatusOK || !jsonHas(a.body, `"anonymous":true`) || !jsonHas(a.body, `"forged_user_id":""`) {
			t.Errorf("status %d body %s, want anonymous with the forged header gone", a.status, a.body)
		}
	})
	t.Run("Require answers 401 to a client going around the proxy", func(t *testing.T) {
		a := get(t, backend.Client(), backend.URL+"/api/me", alice.Token, forged...)
		if a.status != http.StatusUnauthorized || errorCode(a.body) != "session_invalid" {
			t.Errorf("status %d body %s, want 401 session_invalid", a.status, a.body)
		}
		if a.header.Get("WWW-Authenticate") == "" || a.header.Get("Content-Type") != "application/json" {
			t.Errorf("401 headers = %v, want WWW-Authenticate and JSON", a.header)
		}
	})
}

func TestBehindProxyAppID(t *testing.T) {
	t.Parallel()
	wx := newStack(t)
	// The proxy lets every app's token pass (a configuration without
	// ?appid=); the guard's AppID is the second line.
	backend := proxiedBackend(t, guard.ProxyConfig{AppID: app1})
	proxy := forwardAuthProxy(t, wx.URL, "", backend.URL)
	alice := wx.mustLogin(t, app1, "alice")
	bob := wx.mustLogin(t, app2, "bob")
	if a := get(t, proxy.Client(), proxy.URL+"/api/me", alice.Token); a.status != http.StatusOK {
		t.Errorf("app1's token: status %d, want 200: %s", a.status, a.body)
	}
	if a := get(t, proxy.Client(), proxy.URL+"/api/me", bob.Token); a.status != http.StatusUnauthorized {
		t.Errorf("app2's token: status %d, want 401: %s", a.status, a.body)
	}
}

func TestBehindProxyConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cfg  guard.ProxyConfig
	}{
		{"no trusted proxy", guard.ProxyConfig{}},
		{"an invalid prefix", guard.ProxyConfig{Trusted: []netip.Prefix{{}}}},
		{"a bad appid", guard.ProxyConfig{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, AppID: "wx app"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := guard.BehindProxy(tt.cfg); err == nil {
				t.Error("BehindProxy accepted it")
			}
		})
	}
}

// TestBehindProxyUnit covers what the end-to-end test cannot send through
// a real proxy: IPv4-mapped peers, a trusted proxy sending a partial
// identity, names net/http cannot canonicalise.
func TestBehindProxyUnit(t *testing.T) {
	t.Parallel()
	g, err := guard.BehindProxy(guard.ProxyConfig{Trusted: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}})
	if err != nil {
		t.Fatal(err)
	}
	full := map[string]string{guard.HeaderUserID: "usr_1", guard.HeaderOpenID: "o1", guard.HeaderAppID: app1}
	for _, tt := range []struct {
		name   string
		remote string
		header map[string]string
		want   bool
	}{
		{"trusted", "10.1.2.3:5000", full, true},
		{"trusted, IPv4-mapped IPv6", "[::ffff:10.1.2.3]:5000", full, true},
		{"untrusted", "10.2.0.1:5000", full, false},
		{"no port", "10.1.2.3", full, false},
		{"trusted, no openid", "10.1.2.3:5000", map[string]string{guard.HeaderUserID: "usr_1", guard.HeaderAppID: app1}, false},
		{"trusted, no identity", "10.1.2.3:5000", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			r.Header["X-WXLOGIN-USER ID"] = []string{"not canonical"}
			var got, stripped bool
			g.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				_, got = guard.FromContext(r.Context())
				stripped = len(r.Header) == 0
			})).ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want {
				t.Errorf("authenticated = %v, want %v", got, tt.want)
			}
			if untrusted := tt.name == "untrusted" || tt.name == "no port"; untrusted && !stripped {
				t.Errorf("headers left from an untrusted peer: %v", r.Header)
			}
		})
	}
}

func jsonHas(body, fragment string) bool { return strings.Contains(body, fragment) }

// TestIdentityHeaders checks that every identity header forward-auth sets
// reaches the handler, in proxy and in remote mode: the account id, and a
// WeCom member, who has a corp and a userid and no openid (and must not be
// taken for nobody for want of one).
func TestIdentityHeaders(t *testing.T) {
	t.Parallel()
	wx := newStack(t)
	backend := proxiedBackend(t, guard.ProxyConfig{})
	proxy := forwardAuthProxy(t, wx.URL, "", backend.URL)
	_, remote := remoteBackend(t, guard.RemoteConfig{URL: wx.URL})
	alice := wx.mustLogin(t, app1, "alice")
	member := wx.mustLogin(t, appWeCom, "zhangsan")
	corp := emulator.DevCorps()[0].CorpID
	for _, mode := range []struct {
		name string
		c    *http.Client
		url  string
	}{{"proxy", proxy.Client(), proxy.URL}, {"remote", remote.Client(), remote.URL}} {
		t.Run(mode.name, func(t *testing.T) {
			a := get(t, mode.c, mode.url+"/api/me", alice.Token)
			if p := decodePrincipal(t, a.body); a.status != http.StatusOK || p.UserID != alice.User.ID || !strings.HasPrefix(p.AccountID, "acc_") || p.CorpID != "" {
				t.Errorf("alice: status %d principal %+v, want her account id and no corp", a.status, p)
			}
			a = get(t, mode.c, mode.url+"/api/me", member.Token, guard.HeaderCorpID, "ww_forged")
			p := decodePrincipal(t, a.body)
			if a.status != http.StatusOK || p.UserID != member.User.ID || p.AppID != appWeCom || p.OpenID != "" ||
				p.CorpID != corp || p.WeComUserID != "zhangsan" {
				t.Errorf("WeCom member: status %d principal %+v, want corp %s, userid zhangsan, no openid", a.status, p, corp)
			}
		})
	}
}
