package guard_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/guard"
)

// remoteBackend is a backend guarded in remote mode: /api/ requires a
// user, /public/ does not.
func remoteBackend(t testing.TB, cfg guard.RemoteConfig) (*guard.Guard, *httptest.Server) {
	t.Helper()
	g, err := guard.Remote(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", guard.Require(http.HandlerFunc(whoami)))
	mux.HandleFunc("/public/", whoami)
	srv := httptest.NewServer(g.Middleware(mux))
	t.Cleanup(srv.Close)
	return g, srv
}

func TestRemoteEndToEnd(t *testing.T) {
	t.Parallel()
	wx := newStack(t)
	_, backend := remoteBackend(t, guard.RemoteConfig{URL: wx.URL})
	c := backend.Client()
	alice := wx.mustLogin(t, app1, "alice")
	bob := wx.mustLogin(t, app2, "bob")

	a := get(t, c, backend.URL+"/api/me", alice.Token)
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	if p := decodePrincipal(t, a.body); p.UserID != alice.User.ID || p.OpenID != alice.User.OpenID || p.AppID != app1 || p.UnionID != alice.User.UnionID {
		t.Errorf("principal = %+v, want alice: %+v", p, alice.User)
	}
	if a := get(t, c, backend.URL+"/api/me", bob.Token); a.status != http.StatusOK {
		t.Errorf("without AppID every app's token passes; app2's answered %d", a.status)
	}

	for _, tt := range []struct {
		name, path, auth string
		status           int
		code             string
	}{
		{"no token on a private route", "/api/me", "", 401, "session_invalid"},
		{"no token on a public route", "/public/x", "", 200, ""},
		{"another scheme", "/api/me", "Basic YTpi", 401, "session_invalid"},
		{"a token wxlogin never issued", "/public/x", "Bearer wxl_" + strings.Repeat("A", 43), 401, "session_invalid"},
		{"junk", "/public/x", "Bearer " + strings.Repeat("x", 600), 401, "session_invalid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.auth != "" {
				h = []string{"Authorization", tt.auth}
			}
			a := get(t, c, backend.URL+tt.path, "", h...)
			if a.status != tt.status || errorCode(a.body) != tt.code {
				t.Errorf("status %d body %s, want %d %q", a.status, a.body, tt.status, tt.code)
			}
		})
	}

	// Logout at wxlogin: without a cache the next request fails at once.
	if err := wx.call(http.MethodDelete, "/v1/session", alice.Token, nil, http.StatusNoContent, nil); err != nil {
		t.Fatal(err)
	}
	if a := get(t, c, backend.URL+"/public/x", alice.Token); a.status != http.StatusUnauthorized || errorCode(a.body) != "session_invalid" {
		t.Errorf("after logout: status %d body %s, want 401 session_invalid", a.status, a.body)
	}
}

func TestRemoteAppID(t *testing.T) {
	t.Parallel()
	wx := newStack(t)
	_, backend := remoteBackend(t, guard.RemoteConfig{URL: wx.URL, AppID: app2})
	alice := wx.mustLogin(t, app1, "alice")
	bob := wx.mustLogin(t, app2, "bob")
	if a := get(t, backend.Client(), backend.URL+"/api/me", bob.Token); a.status != http.StatusOK {
		t.Errorf("app2's token: status %d, want 200: %s", a.status, a.body)
	}
	if a := get(t, backend.Client(), backend.URL+"/api/me", alice.Token); a.status != http.StatusUnauthorized {
		t.Errorf("app1's token at app2's backend: status %d, want 401: %s", a.status, a.body)
	}
}

// TestRemoteUnavailable: a wxlogin that is gone is a 503 with
// Retry-After, never a pass, and the token is not in the log.
func TestRemoteUnavailable(t *testing.T) {
	t.Parallel()
	wx := newStack(t)
	var logs syncBuffer
	_, backend := remoteBackend(t, guard.RemoteConfig{URL: wx.URL, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	alice := wx.mustLogin(t, app1, "alice")
	wx.srv.Close()
	for _, path := range []string{"/api/me", "/public/x"} {
		a := get(t, backend.Client(), backend.URL+path, alice.Token)
		if a.status != http.StatusServiceUnavailable || errorCode(a.body) != "upstream_unavailable" || a.header.Get("Retry-After") == "" {
			t.Errorf("%s: status %d headers %v body %s, want 503 upstream_unavailable with Retry-After", path, a.status, a.header, a.body)
		}
	}
	if !strings.Contains(logs.String(), "cannot be reached") {
		t.Errorf("the log does not say why: %s", logs.String())
	}
	if strings.Contains(logs.String(), alice.Token) || strings.Contains(logs.String(), alice.Token[4:]) {
		t.Error("the token is in the log")
	}
}

// TestRemoteUpstreamAnswers: the guard passes on wxlogin's own 503 (its store is down)
// with its Retry-After, and an unexpected answer (a URL that is not
// wxlogin's) is a 500 whose cause is logged.
func TestRemoteUpstreamAnswers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		answer     func(w http.ResponseWriter)
		status     int
		code       string
		retryAfter string
	}{
		{"store down", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(503)
		}, 503, "upstream_unavailable", "7"},
		{"not found", func(w http.ResponseWriter) { w.WriteHeader(404) }, 500, "internal", ""},
		{"200 without identity", func(w http.ResponseWriter) { w.WriteHeader(200) }, 500, "internal", ""},
		{"a redirect", func(w http.ResponseWriter) {
			w.Header().Set("Location", "http://elsewhere.invalid/")
			w.WriteHeader(302)
		}, 500, "internal", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tt.answer(w) }))
			defer up.Close()
			var logs syncBuffer
			_, backend := remoteBackend(t, guard.RemoteConfig{URL: up.URL, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			tok := "wxl_" + strings.Repeat("B", 43)
			a := get(t, backend.Client(), backend.URL+"/api/me", tok)
			if a.status != tt.status || errorCode(a.body) != tt.code {
				t.Errorf("status %d body %s, want %d %s", a.status, a.body, tt.status, tt.code)
			}
			if tt.retryAfter != "" && a.header.Get("Retry-After") != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", a.header.Get("Retry-After"), tt.retryAfter)
			}
			if logs.String() == "" {
				t.Error("nothing logged")
			}
			if strings.Contains(logs.String(), tok) {
				t.Error("the token is in the log")
			}
		})
	}
}

// TestRemoteCacheBound: with CacheTTL set, a verified token is asked once
// per TTL, and a revoked one still passes until its entry is TTL old (the
// documented revocation bound), then fails.
func TestRemoteCacheBound(t *testing.T) {
	t.Parallel()
	wx := newStack(t)
	const ttl = time.Minute
	g, backend := remoteBackend(t, guard.RemoteConfig{URL: wx.URL, CacheTTL: ttl})
	var mu sync.Mutex
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	guard.SetNow(g, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := backend.Client()
	alice := wx.mustLogin(t, app1, "alice")

	for i := range 3 {
		if a := get(t, c, backend.URL+"/api/me", alice.Token); a.status != http.StatusOK {
			t.Fatalf("request %d: status %d", i, a.status)
		}
	}
	if n := wx.authHits.Load(); n != 1 {
		t.Errorf("three requests asked wxlogin %d times, want 1", n)
	}
	if err := wx.call(http.MethodDelete, "/v1/session", alice.Token, nil, http.StatusNoContent, nil); err != nil {
		t.Fatal(err)
	}
	advance(ttl - time.Second)
	if a := get(t, c, backend.URL+"/api/me", alice.Token); a.status != http.StatusOK {
		t.Errorf("within the bound: status %d, want the cached 200", a.status)
	}
	advance(time.Second)
	if a := get(t, c, backend.URL+"/api/me", alice.Token); a.status != http.StatusUnauthorized {
		t.Errorf("at the bound: status %d, want 401", a.status)
	}
	if n := wx.authHits.Load(); n != 2 {
		t.Errorf("wxlogin asked %d times, want 2", n)
	}
	// A refused token is not cached: it is asked each time.
	get(t, c, backend.URL+"/api/me", alice.Token)
	if n := wx.authHits.Load(); n != 3 {
		t.Errorf("wxlogin asked %d times, want 3", n)
	}
}

func TestRemoteCacheSize(t *testing.T) {
	t.Parallel()
	wx := newStack(t)
	g, backend := remoteBackend(t, guard.RemoteConfig{URL: wx.URL, CacheTTL: time.Hour, CacheSize: 2})
	for _, user := range []string{"u1", "u2", "u3", "u4"} {
		tok := wx.mustLogin(t, app1, user).Token
		if a := get(t, backend.Client(), backend.URL+"/api/me", tok); a.status != http.StatusOK {
			t.Fatalf("%s: status %d", user, a.status)
		}
		if n := guard.CacheLen(g); n > 2 {
			t.Fatalf("cache holds %d tokens, bound 2", n)
		}
	}
}

// TestRemoteSingleFlight: concurrent requests with one token make one
// call of /v1/auth. wxlogin's answer is held back until every other
// request is seen waiting inside the single flight (their goroutines'
// stacks say so), so the count does not depend on timing.
func TestRemoteSingleFlight(t *testing.T) {
	t.Parallel()
	const n = 16
	release := make(chan struct{})
	var inner http.Handler
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/auth" {
			<-release
		}
		inner.ServeHTTP(w, r)
	}))
	defer gate.Close()
	wx := newStack(t)
	inner = wx.srv.Config.Handler
	_, backend := remoteBackend(t, guard.RemoteConfig{URL: gate.URL, Timeout: time.Minute})
	alice := wx.mustLogin(t, app1, "alice")

	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() { statuses[i] = get(t, backend.Client(), backend.URL+"/api/me", alice.Token).status })
	}
	waitForJoiners(t, n-1)
	close(release)
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("request %d: status %d", i, s)
		}
	}
	if got := wx.authHits.Load(); got != 1 {
		t.Errorf("%d concurrent requests with one token asked wxlogin %d times, want 1", n, got)
	}
}

// waitForJoiners waits until want goroutines wait in a single flight for
// a call another goroutine makes: their stacks show singleflight's Do
// parked in a WaitGroup's Wait. The limit is for liveness only.
func waitForJoiners(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	buf := make([]byte, 1<<20)
	for {
		for {
			n := runtime.Stack(buf, true)
			if n < len(buf) {
				buf = buf[:n]
				break
			}
			buf = make([]byte, 2*len(buf))
		}
		waiting := 0
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "sync.(*WaitGroup).Wait") && strings.Contains(g, "singleflight.(*Group).Do(") {
				waiting++
			}
		}
		if waiting >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests wait in the single flight after a minute, want %d", waiting, want)
		}
		buf = buf[:cap(buf)]
		time.Sleep(time.Millisecond)
	}
}

func TestRemoteConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cfg  guard.RemoteConfig
	}{
		{"no URL", guard.RemoteConfig{}},
		{"not http", guard.RemoteConfig{URL: "ftp://h/"}},
		{"a query", guard.RemoteConfig{URL: "http://h/?appid=x"}},
		{"a bad appid", guard.RemoteConfig{URL: "http://h", AppID: "wx&x=1"}},
		{"a negative TTL", guard.RemoteConfig{URL: "http://h", CacheTTL: -1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := guard.Remote(tt.cfg); err == nil {
				t.Error("Remote accepted it")
			}
		})
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
