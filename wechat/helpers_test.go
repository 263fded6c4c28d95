package wechat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/internal/testlog"
	"github.com/wxlogin/wxlogin/wechat"
)

// weChat is what auth needs of the client (a copy of auth.WeChat, so that
// this package's tests do not depend on auth being buildable).
type weChat interface {
	Code2Session(ctx context.Context, app wxlogin.App, code string) (*wechat.Session, error)
	PhoneNumber(ctx context.Context, app wxlogin.App, code, openid string) (*wechat.PhoneInfo, error)
	AccessToken(ctx context.Context, app wxlogin.App) (wechat.Token, error)
}

var _ weChat = (*wechat.Client)(nil)

var testApp = wxlogin.App{AppID: "wxtest0000000001", Secret: "s3cr3t+app/secret&value=1"}

// script answers one WeChat path; n counts this path's calls from 1.
type script func(n int, w http.ResponseWriter, r *http.Request)

// fakeWeChat is a scripted WeChat: every path answers from its script,
// unknown paths fail the test, and every request is counted and kept.
type fakeWeChat struct {
	t       testing.TB
	scripts map[string]script

	mu       sync.Mutex
	calls    map[string]int
	requests map[string][]recorded
}

// recorded is what a test may want to check of a request.
type recorded struct {
	method string
	query  map[string][]string
	body   map[string]any
}

func (f *fakeWeChat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s, ok := f.scripts[r.URL.Path]
	if !ok {
		f.t.Errorf("unexpected request to %s", r.URL.Path)
		http.Error(w, "unknown path", http.StatusNotFound)
		return
	}
	rec := recorded{method: r.Method, query: r.URL.Query()}
	if r.Body != nil {
		// Keep the body readable for the script too.
		data, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(data))
		var body map[string]any
		if json.Unmarshal(data, &body) == nil {
			rec.body = body
		}
	}
	f.mu.Lock()
	if f.calls == nil {
		f.calls = make(map[string]int)
		f.requests = make(map[string][]recorded)
	}
	f.calls[r.URL.Path]++
	n := f.calls[r.URL.Path]
	f.requests[r.URL.Path] = append(f.requests[r.URL.Path], rec)
	f.mu.Unlock()
	s(n, w, r)
}

func (f *fakeWeChat) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[path]
}

func (f *fakeWeChat) request(path string, i int) recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.requests[path]) {
		f.t.Fatalf("%s: want request #%d, got %d requests", path, i+1, len(f.requests[path]))
	}
	return f.requests[path][i]
}

// fixture is a Client wired to a fake WeChat, with a fake clock, recorded
// backoff sleeps and a captured debug log.
type fixture struct {
	client *wechat.Client
	wechat *fakeWeChat
	clock  *fakeClock
	log    *testlog.Buffer

	mu     sync.Mutex
	sleeps []time.Duration
}

func newFixture(t *testing.T, scripts map[string]script) *fixture {
	t.Helper()
	fw := &fakeWeChat{t: t, scripts: scripts}
	srv := httptest.NewServer(fw)
	t.Cleanup(srv.Close)
	f := &fixture{wechat: fw, clock: newFakeClock(), log: &testlog.Buffer{}}
	f.client = &wechat.Client{
		BaseURL:    srv.URL,
		HTTPClient: srv.Client(),
		Logger:     slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:        f.clock.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.sleeps = append(f.sleeps, d)
			return ctx.Err()
		},
	}
	return f
}

func (f *fixture) recordedSleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// answer always writes the same JSON.
func answer(v any) script {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { writeJSON(w, v) }
}

// errcode answers WeChat's error envelope with a request-id suffix.
func errcode(code int, msg string) map[string]any {
	return map[string]any{"errcode": code, "errmsg": msg + " rid: 6541a1b2-0c0ffee0-12345678"}
}

// sequence answers its scripts in turn, repeating the last one.
func sequence(steps ...script) script {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		steps[min(n, len(steps))-1](n, w, r)
	}
}

// stableToken answers stable_token with the token named by the call number
// unless same is set, in which case every call gets "TOKEN-1".
func stableTokens(same bool) script {
	return func(n int, w http.ResponseWriter, _ *http.Request) {
		if same {
			n = 1
		}
		writeJSON(w, map[string]any{"access_token": tokenName(n), "expires_in": 7200})
	}
}

func tokenName(n int) string { return "TOKEN-" + strings.Repeat("x", 8) + "-" + string(rune('0'+n)) }

// assertNoSecrets fails the test if any secret occurs in text, as it is or
// query-escaped.
func assertNoSecrets(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, form := range []string{s, url.QueryEscape(s)} {
			if strings.Contains(text, form) {
				t.Errorf("%s contains the secret %q:\n%s", what, form, text)
			}
		}
	}
}
