package wechat_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

func TestGetAccessTokenEndpoints(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]script{
		"/cgi-bin/token":        answer(map[string]any{"access_token": "classic", "expires_in": 7200}),
		"/cgi-bin/stable_token": answer(map[string]any{"access_token": "stable", "expires_in": 7000}),
	})
	now := f.clock.Now()

	got, err := f.client.GetAccessToken(t.Context(), testApp)
	if err != nil {
		t.Fatalf("GetAccessToken: %v", err)
	}
	if diff := cmp.Diff(wechat.Token{Value: "classic", ExpiresAt: now.Add(7200 * time.Second)}, got); diff != "" {
		t.Errorf("classic token (-want +got):\n%s", diff)
	}
	req := f.wechat.request("/cgi-bin/token", 0)
	wantQuery := map[string][]string{"grant_type": {"client_credential"}, "appid": {testApp.AppID}, "secret": {testApp.Secret.Reveal()}}
	if diff := cmp.Diff(wantQuery, req.query); diff != "" || req.method != http.MethodGet {
		t.Errorf("cgi-bin/token: %s, query (-want +got):\n%s", req.method, diff)
	}

	for i, force := range []bool{false, true} {
		got, err = f.client.GetStableAccessToken(t.Context(), testApp, force)
		if err != nil {
			t.Fatalf("GetStableAccessToken(force %v): %v", force, err)
		}
		if diff := cmp.Diff(wechat.Token{Value: "stable", ExpiresAt: now.Add(7000 * time.Second)}, got); diff != "" {
			t.Errorf("stable token (-want +got):\n%s", diff)
		}
		req = f.wechat.request("/cgi-bin/stable_token", i)
		wantBody := map[string]any{"grant_type": "client_credential", "appid": testApp.AppID, "secret": testApp.Secret.Reveal(), "force_refresh": force}
		if diff := cmp.Diff(wantBody, req.body); diff != "" || req.method != http.MethodPost || len(req.query) != 0 {
			t.Errorf("stable_token: %s, query %v, body (-want +got):\n%s", req.method, req.query, diff)
		}
	}
}

func TestGetAccessTokenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer map[string]any
		want   wechat.Kind
	}{
		{"wrong secret", errcode(40125, "invalid appsecret"), wechat.KindConfig},
		{"unknown appid", errcode(40013, "invalid appid"), wechat.KindConfig},
		{"daily quota", errcode(45009, "reach max api daily quota limit"), wechat.KindQuota},
		{"no token in the answer", map[string]any{"expires_in": 7200}, wechat.KindUnavailable},
		{"no expiry in the answer", map[string]any{"access_token": "t"}, wechat.KindUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]script{
				"/cgi-bin/token":        answer(tt.answer),
				"/cgi-bin/stable_token": answer(tt.answer),
			})
			_, err := f.client.GetAccessToken(t.Context(), testApp)
			if got := wechat.Classify(err); got != tt.want {
				t.Errorf("GetAccessToken: Classify(%v) = %v, want %v", err, got, tt.want)
			}
			_, err = f.client.AccessToken(t.Context(), testApp)
			if got := wechat.Classify(err); got != tt.want {
				t.Errorf("AccessToken: Classify(%v) = %v, want %v", err, got, tt.want)
			}
		})
	}
}

// TestAccessTokenLifetimeCapped: an expires_in far beyond WeChat's 7200 s
// (here one that would overflow time.Duration) is believed only up to a day.
func TestAccessTokenLifetimeCapped(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		expiresIn int64
		want      time.Duration
	}{
		{"WeChat's own", 7200, 7200 * time.Second},
		{"a day", 86400, 24 * time.Hour},
		{"a year", 365 * 86400, 24 * time.Hour},
		{"overflowing", 1 << 62, 24 * time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]script{
				"/cgi-bin/stable_token": answer(map[string]any{"access_token": "t", "expires_in": tt.expiresIn}),
			})
			tok, err := f.client.GetStableAccessToken(t.Context(), testApp, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.ExpiresAt.Sub(f.clock.Now()); got != tt.want {
				t.Errorf("token lives %v, want %v", got, tt.want)
			}
		})
	}
}

// TestAccessTokenCache walks one app's token through its life on a fake
// clock: fetched once, served from the cache, renewed RefreshBefore its
// expiry.
func TestAccessTokenCache(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		classic   bool
		wantPath  string
		otherPath string
	}{
		{"stable_token by default", false, "/cgi-bin/stable_token", "/cgi-bin/token"},
		{"classic on request", true, "/cgi-bin/token", "/cgi-bin/stable_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]script{
				"/cgi-bin/stable_token": stableTokens(false),
				"/cgi-bin/token":        stableTokens(false),
			})
			f.client.UseClassicToken = tt.classic
			ctx := t.Context()
			get := func(step string) wechat.Token {
				t.Helper()
				tok, err := f.client.AccessToken(ctx, testApp)
				if err != nil {
					t.Fatalf("%s: AccessToken: %v", step, err)
				}
				return tok
			}
			first := get("first")
			if first.Value.Reveal() != tokenName(1) {
				t.Errorf("first token %q, want %q", first.Value.Reveal(), tokenName(1))
			}
			f.clock.Advance(7200*time.Second - 5*time.Minute - time.Second)
			if got := get("just before the refresh window"); got != first {
				t.Errorf("token changed before the refresh window: %+v", got)
			}
			if n := f.wechat.count(tt.wantPath); n != 1 {
				t.Errorf("%s called %d times while the token was fresh, want 1", tt.wantPath, n)
			}
			f.clock.Advance(2 * time.Second)
			if got := get("inside the refresh window"); got.Value.Reveal() != tokenName(2) {
				t.Errorf("token inside the refresh window = %q, want the renewed %q", got.Value.Reveal(), tokenName(2))
			}
			if n := f.wechat.count(tt.wantPath); n != 2 {
				t.Errorf("%s called %d times, want 2", tt.wantPath, n)
			}
			if n := f.wechat.count(tt.otherPath); n != 0 {
				t.Errorf("%s called %d times, want 0", tt.otherPath, n)
			}
		})
	}
}

// TestAccessTokenRefreshWindow: when stable_token hands back the token we
// already have (WeChat has not rotated it yet), AccessToken does not ask on
// every call; and when renewal fails, the still-valid token is served.
func TestAccessTokenRefreshWindow(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	down := false
	f := newFixture(t, map[string]script{
		"/cgi-bin/stable_token": func(_ int, w http.ResponseWriter, _ *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			if down {
				http.Error(w, "down", http.StatusBadGateway)
				return
			}
			// The same token, its expiry counted down like WeChat does.
			writeJSON(w, map[string]any{"access_token": "SAME", "expires_in": 200})
		},
	})
	ctx := t.Context()
	for range 3 {
		if _, err := f.client.AccessToken(ctx, testApp); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.wechat.count("/cgi-bin/stable_token"); n != 1 {
		t.Errorf("stable_token called %d times within 30s of a fetch, want 1", n)
	}
	f.clock.Advance(31 * time.Second)
	if _, err := f.client.AccessToken(ctx, testApp); err != nil {
		t.Fatal(err)
	}
	if n := f.wechat.count("/cgi-bin/stable_token"); n != 2 {
		t.Errorf("stable_token called %d times after the pause, want 2", n)
	}

	mu.Lock()
	down = true
	mu.Unlock()
	f.clock.Advance(31 * time.Second)
	got, err := f.client.AccessToken(ctx, testApp)
	if err != nil || got.Value != "SAME" {
		t.Errorf("AccessToken with WeChat down and a valid cached token = %v, %v; want the cached token", got, err)
	}
	f.clock.Advance(200 * time.Second)
	if _, err := f.client.AccessToken(ctx, testApp); wechat.Classify(err) != wechat.KindUnavailable {
		t.Errorf("AccessToken with WeChat down and the token expired: err %v, want unavailable", err)
	}
}

func TestAccessTokenSharedFetch(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	f := newFixture(t, map[string]script{
		"/cgi-bin/stable_token": func(n int, w http.ResponseWriter, r *http.Request) {
			<-release
			stableTokens(false)(n, w, r)
		},
	})
	const callers = 20
	var wg sync.WaitGroup
	got := make([]wechat.Token, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { got[i], errs[i] = f.client.AccessToken(t.Context(), testApp) })
	}
	close(release)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || got[i].Value.Reveal() != tokenName(1) {
			t.Errorf("caller %d: %v, %v; want %s", i, got[i].Value.Reveal(), errs[i], tokenName(1))
		}
	}
	if n := f.wechat.count("/cgi-bin/stable_token"); n != 1 {
		t.Errorf("%d concurrent callers made %d fetches, want 1", callers, n)
	}
}

// TestAccessTokenCallerLeavesEarly: a caller whose context ends stops
// waiting, while the fetch it started goes on for everybody else.
func TestAccessTokenCallerLeavesEarly(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}), make(chan struct{})
	f := newFixture(t, map[string]script{
		"/cgi-bin/stable_token": func(n int, w http.ResponseWriter, r *http.Request) {
			close(arrived)
			<-release
			stableTokens(false)(n, w, r)
		},
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		_, err := f.client.AccessToken(ctx, testApp)
		done <- err
	}()
	<-arrived
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || wechat.Classify(err) != wechat.KindUnavailable {
		t.Errorf("cancelled caller got %v, want an unavailable error matching context.Canceled", err)
	}
	close(release)
	tok, err := f.client.AccessToken(t.Context(), testApp)
	if err != nil || tok.Value.Reveal() != tokenName(1) {
		t.Errorf("next caller got %v, %v; want the token of the first fetch", tok.Value.Reveal(), err)
	}
	if n := f.wechat.count("/cgi-bin/stable_token"); n != 1 {
		t.Errorf("stable_token called %d times, want 1", n)
	}
}

// tokenFailing answers 40001 to calls carrying one of the given tokens and
// success to others.
func tokenFailing(bad ...string) script {
	return func(_ int, w http.ResponseWriter, r *http.Request) {
		for _, b := range bad {
			if r.URL.Query().Get("access_token") == b {
				writeJSON(w, errcode(40001, "invalid credential, access_token is invalid or not latest"))
				return
			}
		}
		writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok"})
	}
}

func TestTokenErrorRenewsAndRetriesOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		stable           script
		checksession     script
		wantKind         wechat.Kind
		wantTokenFetches int
		wantCalls        int
		wantLastToken    string
	}{
		{
			name:   "first token rejected, second accepted",
			stable: stableTokens(false), checksession: tokenFailing(tokenName(1)),
			wantKind: wechat.KindNone, wantTokenFetches: 2, wantCalls: 2, wantLastToken: tokenName(2),
		},
		{
			name:   "every token rejected: one retry only",
			stable: stableTokens(false), checksession: tokenFailing(tokenName(1), tokenName(2), tokenName(3)),
			wantKind: wechat.KindToken, wantTokenFetches: 2, wantCalls: 2, wantLastToken: tokenName(2),
		},
		{
			name:   "WeChat hands back the rejected token: no pointless retry",
			stable: stableTokens(true), checksession: tokenFailing(tokenName(1)),
			wantKind: wechat.KindToken, wantTokenFetches: 2, wantCalls: 1, wantLastToken: tokenName(1),
		},
		{
			name:   "renewal fails with its own error",
			stable: sequence(stableTokens(false), answer(errcode(40125, "invalid appsecret"))), checksession: tokenFailing(tokenName(1)),
			wantKind: wechat.KindConfig, wantTokenFetches: 2, wantCalls: 1, wantLastToken: tokenName(1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]script{
				"/cgi-bin/stable_token": tt.stable,
				"/wxa/checksession":     tt.checksession,
			})
			err := f.client.CheckSessionKey(t.Context(), testApp, "o1", "a2V5")
			if got := wechat.Classify(err); got != tt.wantKind {
				t.Errorf("Classify(%v) = %v, want %v", err, got, tt.wantKind)
			}
			if n := f.wechat.count("/cgi-bin/stable_token"); n != tt.wantTokenFetches {
				t.Errorf("token fetches = %d, want %d", n, tt.wantTokenFetches)
			}
			if n := f.wechat.count("/wxa/checksession"); n != tt.wantCalls {
				t.Fatalf("checksession calls = %d, want %d", n, tt.wantCalls)
			}
			last := f.wechat.request("/wxa/checksession", tt.wantCalls-1).query["access_token"][0]
			if last != tt.wantLastToken {
				t.Errorf("last checksession used %q, want %q", last, tt.wantLastToken)
			}
		})
	}
}

// TestEveryTokenErrcodeRenews: each errcode that says the access token is
// bad (wrong, not the latest, expired) drops it and retries once with a new
// one; other errcodes of a token-taking call do not touch the token.
func TestEveryTokenErrcodeRenews(t *testing.T) {
	t.Parallel()
	tests := []struct {
		errcode          int
		wantTokenFetches int
		wantCalls        int
	}{
		{40001, 2, 2},
		{40014, 2, 2},
		{42001, 2, 2},
		{87009, 1, 1},
		{45011, 1, 1},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.errcode), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]script{
				"/cgi-bin/stable_token": stableTokens(false),
				"/wxa/checksession":     sequence(answer(errcode(tt.errcode, "rejected")), answer(errcode(0, "ok"))),
			})
			err := f.client.CheckSessionKey(t.Context(), testApp, "o1", "a2V5")
			if renewed := tt.wantCalls == 2; renewed != (err == nil) {
				t.Errorf("CheckSessionKey after errcode %d: %v", tt.errcode, err)
			}
			if n := f.wechat.count("/cgi-bin/stable_token"); n != tt.wantTokenFetches {
				t.Errorf("token fetches = %d, want %d", n, tt.wantTokenFetches)
			}
			if n := f.wechat.count("/wxa/checksession"); n != tt.wantCalls {
				t.Fatalf("checksession calls = %d, want %d", n, tt.wantCalls)
			}
			if tt.wantCalls == 2 {
				if last := f.wechat.request("/wxa/checksession", 1).query["access_token"][0]; last != tokenName(2) {
					t.Errorf("retry used %q, want the new token %q", last, tokenName(2))
				}
			}
		})
	}
}

// TestTokenErrorKeepsAReplacement: when the failed token has already been
// replaced in the (shared) cache by someone else, the replacement survives
// and is used, with no fetch of our own.
func TestTokenErrorKeepsAReplacement(t *testing.T) {
	t.Parallel()
	cache := &wechat.MemoryTokenCache{}
	var f *fixture
	f = newFixture(t, map[string]script{
		"/cgi-bin/stable_token": stableTokens(false),
		"/wxa/checksession": func(n int, w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("access_token") == "OLD" {
				// Another instance renewed the token while our call was in flight.
				cache.Put(r.Context(), testApp.AppID, wechat.Token{Value: "NEW", ExpiresAt: f.clock.Now().Add(time.Hour)})
			}
			tokenFailing("OLD")(n, w, r)
		},
	})
	f.client.Tokens = cache
	cache.Put(t.Context(), testApp.AppID, wechat.Token{Value: "OLD", ExpiresAt: f.clock.Now().Add(time.Hour)})
	if err := f.client.CheckSessionKey(t.Context(), testApp, "o1", "a2V5"); err != nil {
		t.Fatalf("CheckSessionKey: %v", err)
	}
	if n := f.wechat.count("/cgi-bin/stable_token"); n != 0 {
		t.Errorf("fetched %d tokens, want 0: the replacement was in the cache", n)
	}
	if got := f.wechat.request("/wxa/checksession", 1).query["access_token"][0]; got != "NEW" {
		t.Errorf("retry used %q, want NEW", got)
	}
	if tok, ok, _ := cache.Get(t.Context(), testApp.AppID); !ok || tok.Value != "NEW" {
		t.Errorf("cache holds %v (ok %v), want NEW", tok.Value.Reveal(), ok)
	}
}

// brokenCache fails every operation, like an unreachable Redis.
type brokenCache struct{}

var errCacheDown = errors.New("cache down")

func (brokenCache) Get(context.Context, string) (wechat.Token, bool, error) {
	return wechat.Token{}, false, errCacheDown
}
func (brokenCache) Put(context.Context, string, wechat.Token) error      { return errCacheDown }
func (brokenCache) Delete(context.Context, string, wxlogin.Secret) error { return errCacheDown }

func TestAccessTokenSurvivesABrokenCache(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]script{"/cgi-bin/stable_token": stableTokens(true)})
	f.client.Tokens = brokenCache{}
	tok, err := f.client.AccessToken(t.Context(), testApp)
	if err != nil || tok.Value.Reveal() != tokenName(1) {
		t.Errorf("AccessToken = %v, %v; want a fetched token", tok.Value.Reveal(), err)
	}
}

// While the shared cache is down (Redis), the process keeps the token it
// fetched in its own memory: one fetch, not one per call.
func TestBrokenCacheFallsBackToMemory(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]script{"/cgi-bin/stable_token": stableTokens(true)})
	f.client.Tokens = brokenCache{}
	for i := range 3 {
		tok, err := f.client.AccessToken(t.Context(), testApp)
		if err != nil || tok.Value.Reveal() != tokenName(1) {
			t.Fatalf("call %d: AccessToken = %v, %v; want the first token", i, tok.Value.Reveal(), err)
		}
	}
	if n := f.wechat.count("/cgi-bin/stable_token"); n != 1 {
		t.Errorf("three calls with the shared cache down fetched %d tokens, want 1", n)
	}
}
