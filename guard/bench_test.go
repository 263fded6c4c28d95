package guard_test

// The overhead each mode adds, each beside its baseline in the same run:
//
//	go test -run '^$' -bench . -benchmem ./guard
//
// proxy mode against a bare handler; remote mode against the same client
// calling GET /v1/auth directly; in-process against auth.Service.Verify.

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/guard"
)

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmarks measure the handlers and not a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// ok is the backend's handler: it reads the principal and answers 204.
var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if _, found := guard.FromContext(r.Context()); !found {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusNoContent)
})

// checked runs h once and fails unless it answered 204: a benchmark of a
// guard that refuses would measure the wrong path.
func checked(b *testing.B, h http.Handler, r *http.Request) {
	b.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusNoContent {
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}

func BenchmarkProxyMode(b *testing.B) {
	g, err := guard.BehindProxy(guard.ProxyConfig{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	r.RemoteAddr = "10.0.0.5:40000"
	r.Header.Set(guard.HeaderUserID, "usr_cpK_hjdLOeBdd6GmRTgzNw")
	r.Header.Set(guard.HeaderOpenID, "oAbCdEfGhIjKlMnOpQrStUvWxYz0")
	r.Header.Set(guard.HeaderAppID, app1)
	r.Header.Set(guard.HeaderUnionID, "")
	w := &discardWriter{h: http.Header{}}
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			bare.ServeHTTP(w, r)
		}
	})
	guarded := g.Middleware(ok)
	checked(b, guarded, r)
	b.Run("guarded", func(b *testing.B) {
		for b.Loop() {
			guarded.ServeHTTP(w, r)
		}
	})
}

func BenchmarkRemoteMode(b *testing.B) {
	wx := newStack(b)
	tok := wx.mustLogin(b, app1, "alice").Token
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Run("direct /v1/auth", func(b *testing.B) {
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodGet, wx.URL+"/v1/auth", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := &discardWriter{h: http.Header{}}
	for _, bc := range []struct {
		name string
		ttl  time.Duration
	}{{"guarded", 0}, {"guarded, cache on", time.Minute}} {
		g, err := guard.Remote(guard.RemoteConfig{URL: wx.URL, HTTPClient: client, CacheTTL: bc.ttl})
		if err != nil {
			b.Fatal(err)
		}
		h := g.Middleware(ok)
		checked(b, h, r)
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}

func BenchmarkInProcess(b *testing.B) {
	wx := newStack(b)
	tok := wx.mustLogin(b, app1, "alice").Token
	b.Run("auth.Service.Verify", func(b *testing.B) {
		for b.Loop() {
			if _, err := wx.svc.Verify(b.Context(), tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	g, err := guard.InProcess(guard.InProcessConfig{Verifier: wx.svc})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	h := g.Middleware(ok)
	checked(b, h, r)
	w := &discardWriter{h: http.Header{}}
	b.Run("guarded", func(b *testing.B) {
		for b.Loop() {
			h.ServeHTTP(w, r)
		}
	})
}
