package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
)

func TestLoginRegistersThenFinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		appid       string
		wantUnionID bool
	}{
		{"open platform app", app1, true},
		{"unbound app", app3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := t.Context()
			id := e.identity(tt.appid, "alice")
			if (id.UnionID != "") != tt.wantUnionID {
				t.Fatalf("emulator unionid %q; test assumes wantUnionID=%v", id.UnionID, tt.wantUnionID)
			}

			first := e.login(ctx, tt.appid, "alice")
			now := e.clock.Now()
			if !first.Created {
				t.Error("first login: Created = false, want true")
			}
			diff(t, "first login's user", wxlogin.User{
				ID: first.User.ID, AppID: tt.appid, OpenID: id.OpenID, UnionID: id.UnionID,
				CreatedAt: now, UpdatedAt: now,
			}, first.User)
			if !strings.HasPrefix(first.User.ID, "usr_") || !strings.HasPrefix(first.Session.ID, "ses_") {
				t.Errorf("ids %q, %q: want usr_ and ses_ prefixes", first.User.ID, first.Session.ID)
			}
			if want := now.Add(auth.DefaultIdleTimeout); !first.ExpiresAt.Equal(want) {
				t.Errorf("ExpiresAt = %v, want %v (the idle deadline)", first.ExpiresAt, want)
			}
			if first.Session.SealedSessionKey != nil {
				t.Error("LoginResult.Session carries the sealed session_key; callers have no use for it")
			}

			// The store has the token's hash, never the token, and the
			// session_key only sealed.
			stored, err := e.db.Session(ctx, first.Session.ID)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(first.Token.Reveal(), "wxl_"))
			if err != nil || len(raw) != 32 {
				t.Fatalf("token %q is not wxl_ + base64url(32 bytes)", first.Token.Reveal())
			}
			if stored.TokenHash != wxlogin.TokenHash(sha256.Sum256(raw)) {
				t.Error("stored TokenHash is not the SHA-256 of the token")
			}
			key, _ := e.em.SessionKey(tt.appid, "alice")
			if strings.Contains(string(stored.SealedSessionKey), key) {
				t.Error("session_key stored in clear")
			}
			opened, err := e.keys.Open(stored.SealedSessionKey)
			if err != nil || string(opened) != key {
				t.Errorf("sealed session_key opens to %q, %v; want the emulator's current key", opened, err)
			}
			diff(t, "stored session", wxlogin.Session{
				ID: first.Session.ID, TokenHash: stored.TokenHash, UserID: first.User.ID,
				AppID: tt.appid, OpenID: id.OpenID, UnionID: id.UnionID,
				SealedSessionKey: stored.SealedSessionKey,
				CreatedAt:        now, LastSeenAt: now,
				IdleExpiresAt: now.Add(auth.DefaultIdleTimeout), ExpiresAt: now.Add(auth.DefaultAbsoluteLifetime),
				UserAgent: "test", IP: "192.0.2.1",
			}, stored)

			e.clock.Advance(time.Hour)
			second := e.login(ctx, tt.appid, "alice")
			if second.Created {
				t.Error("second login: Created = true, want false")
			}
			if second.User.ID != first.User.ID {
				t.Errorf("second login: user %q, want %q", second.User.ID, first.User.ID)
			}
			if second.Session.ID == first.Session.ID || second.Token.Reveal() == first.Token.Reveal() {
				t.Error("second login reused the first session or token")
			}
		})
	}
}

func TestLoginRequestChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	single := newEnv(t, func(e *env, c *auth.Config) { c.Apps = c.Apps[:1] })
	tests := []struct {
		name  string
		env   *env
		appid string
		code  string
		want  string
	}{
		{"no appid with several apps", e, "", "x", wxlogin.EInvalidRequest},
		{"unknown appid", e, "wx0000000000000000", "x", wxlogin.EUnknownApp},
		{"empty code", e, app1, "", wxlogin.EInvalidRequest},
		{"oversized code", e, app1, strings.Repeat("c", 129), wxlogin.EInvalidRequest},
		{"unknown code", e, app1, "0a1b2c3d4e5f", wxlogin.EInvalidCode},
		{"no appid with one app", single, "", "", wxlogin.EInvalidRequest}, // resolved, then the empty code
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.env.svc.Login(t.Context(), tt.appid, tt.code, auth.Client{})
			wantCode(t, err, tt.want)
		})
	}
	if n := e.calls(emulator.APIJSCode2Session); n != 1 {
		t.Errorf("jscode2session calls = %d, want 1 (only the well-formed unknown code reaches WeChat)", n)
	}
	r, err := single.svc.Login(t.Context(), "", single.code(app1, "bob"), auth.Client{})
	if err != nil || r.User.AppID != app1 {
		t.Fatalf("login without appid on a one-app server: %v, appid %q", err, r.User.AppID)
	}
}

func TestLoginCodeReuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	code := e.code(app1, "alice")
	phone := auth.Client{IP: "192.0.2.7", UserAgent: "WeChat/8.0"}
	first, err := e.svc.Login(ctx, app1, code, phone)
	if err != nil {
		t.Fatal(err)
	}

	// Anyone else replaying the code gets nothing, inside the window too:
	// another address, or the same address with another User-Agent.
	for _, other := range []auth.Client{{IP: "198.51.100.9", UserAgent: phone.UserAgent}, {IP: phone.IP, UserAgent: "curl/8"}} {
		_, err := e.svc.Login(ctx, app1, code, other)
		wantCode(t, err, wxlogin.EInvalidCode)
	}

	// A double tap inside the window: same user, a session of its own.
	e.clock.Advance(auth.DefaultCodeReuseWindow - time.Second)
	again, err := e.svc.Login(ctx, app1, code, phone)
	if err != nil {
		t.Fatalf("same code inside the window: %v", err)
	}
	if again.User.ID != first.User.ID || again.Created {
		t.Errorf("reuse: user %q created=%v, want %q created=false", again.User.ID, again.Created, first.User.ID)
	}
	if again.Session.ID == first.Session.ID || again.Token.Reveal() == first.Token.Reveal() {
		t.Error("reuse shares the first login's session or token")
	}
	for _, tok := range []wxlogin.Secret{first.Token, again.Token} {
		e.verify(ctx, tok)
	}

	// After the window the code is spent, and WeChat is not asked again.
	e.clock.Advance(2 * time.Second)
	_, err = e.svc.Login(ctx, app1, code, phone)
	wantCode(t, err, wxlogin.EInvalidCode)
	if n := e.calls(emulator.APIJSCode2Session); n != 1 {
		t.Errorf("jscode2session calls = %d, want 1", n)
	}
}

// TestLoginNoReuseWindow checks that a negative CodeReuseWindow (the YAML
// file's code_reuse_window: 0) shares an exchange only while it is in
// flight: a same-client retry after it is answered invalid_code.
func TestLoginNoReuseWindow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(_ *env, c *auth.Config) { c.CodeReuseWindow = -1 })
	ctx := t.Context()
	code := e.code(app1, "alice")
	if _, err := e.svc.Login(ctx, app1, code, auth.Client{}); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Login(ctx, app1, code, auth.Client{})
	wantCode(t, err, wxlogin.EInvalidCode)
	if n := e.calls(emulator.APIJSCode2Session); n != 1 {
		t.Errorf("jscode2session calls = %d, want 1", n)
	}
}

func TestLoginConcurrentSameCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	// Whichever way the goroutines interleave (waiting on the exchange in
	// flight or arriving after it finished), WeChat must see one call.
	code := e.code(app1, "alice")
	const n = 10
	results := make([]auth.LoginResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = e.svc.Login(ctx, app1, code, auth.Client{IP: "192.0.2.7"})
		})
	}
	wg.Wait()
	sessions := map[string]bool{}
	tokens := map[string]bool{}
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("login %d: %v", i, errs[i])
		}
		sessions[results[i].Session.ID] = true
		tokens[results[i].Token.Reveal()] = true
		if results[i].Created {
			created++
		}
		if results[i].User.ID != results[0].User.ID {
			t.Errorf("login %d: user %q, want %q", i, results[i].User.ID, results[0].User.ID)
		}
		e.verify(ctx, results[i].Token)
	}
	if len(sessions) != n || len(tokens) != n {
		t.Errorf("%d sessions and %d tokens for %d logins; want one each", len(sessions), len(tokens), n)
	}
	if created != 1 {
		t.Errorf("%d logins report Created; want exactly 1", created)
	}
	if got := e.calls(emulator.APIJSCode2Session); got != 1 {
		t.Errorf("jscode2session calls = %d, want exactly 1", got)
	}
}

func TestLoginWeChatErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		faults    []emulator.Fault
		secret    string        // replaces app1's secret when set
		advance   time.Duration // between wx.login and the login
		want      string        // "" for success
		wantRetry time.Duration // RetryAfter, when want is upstream_unavailable
		wantCalls int
	}{
		{name: "busy once is retried", faults: []emulator.Fault{{ErrCode: -1, Count: 1}}, wantCalls: 2},
		{name: "busy throughout", faults: []emulator.Fault{{ErrCode: -1}},
			want: wxlogin.EUpstreamUnavailable, wantRetry: time.Second, wantCalls: 3},
		{name: "HTTP 502", faults: []emulator.Fault{{HTTPStatus: 502}},
			want: wxlogin.EUpstreamUnavailable, wantRetry: time.Second, wantCalls: 1},
		{name: "truncated body", faults: []emulator.Fault{{Body: emulator.BodyTruncated}},
			want: wxlogin.EUpstreamUnavailable, wantRetry: time.Second, wantCalls: 1},
		{name: "minute quota", faults: []emulator.Fault{{ErrCode: 45011}},
			want: wxlogin.EUpstreamUnavailable, wantRetry: time.Minute, wantCalls: 1},
		{name: "blocked user", faults: []emulator.Fault{{ErrCode: 40226}}, want: wxlogin.ECodeBlocked, wantCalls: 1},
		{name: "unknown errcode", faults: []emulator.Fault{{ErrCode: 61234}},
			want: wxlogin.EUpstreamUnavailable, wantRetry: 5 * time.Second, wantCalls: 1},
		{name: "expired code", advance: 6 * time.Minute, want: wxlogin.EInvalidCode, wantCalls: 1},
		{name: "wrong secret", secret: strings.Repeat("0", 32), want: wxlogin.EUpstreamRejected, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(e *env, c *auth.Config) {
				if tt.secret != "" {
					c.Apps[0].Secret = wxlogin.Secret(tt.secret)
				}
			})
			for _, f := range tt.faults {
				f.API = emulator.APIJSCode2Session
				if err := e.em.InjectFault(f); err != nil {
					t.Fatal(err)
				}
			}
			code := e.code(app1, "alice")
			e.clock.Advance(tt.advance)
			r, err := e.svc.Login(t.Context(), app1, code, auth.Client{})
			if got := e.calls(emulator.APIJSCode2Session); got != tt.wantCalls {
				t.Errorf("jscode2session calls = %d, want %d", got, tt.wantCalls)
			}
			if tt.want == "" {
				if err != nil || r.User.ID == "" {
					t.Fatalf("login: %v", err)
				}
				return
			}
			we := wantCode(t, err, tt.want)
			if we.RetryAfter != tt.wantRetry {
				t.Errorf("RetryAfter = %v, want %v", we.RetryAfter, tt.wantRetry)
			}
			if tt.want == wxlogin.EUpstreamRejected && !strings.Contains(e.logs.String(), "level=ERROR") {
				t.Errorf("a rejected secret is not logged at ERROR:\n%s", e.logs)
			}
		})
	}
}

// A code whose exchange failed because WeChat was unreachable was never
// consumed: the client's retry with the same code must reach WeChat again.
func TestLoginRetryAfterUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.em.InjectFault(emulator.Fault{API: emulator.APIJSCode2Session, HTTPStatus: 503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	code := e.code(app1, "alice")
	_, err := e.svc.Login(t.Context(), app1, code, auth.Client{})
	wantCode(t, err, wxlogin.EUpstreamUnavailable)
	if _, err := e.svc.Login(t.Context(), app1, code, auth.Client{}); err != nil {
		t.Fatalf("retry with the same code after 503: %v", err)
	}
}

func TestLoginRateLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		limits auth.Limits
		ips    []string // one login each, in order
		want   []string // code per login
	}{
		{
			name:   "per IP",
			limits: auth.Limits{LoginPerIP: auth.Limit{Rate: 1, Burst: 2}},
			ips:    []string{"192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.2"},
			want:   []string{"", "", wxlogin.ERateLimited, ""},
		},
		{
			name:   "per app",
			limits: auth.Limits{LoginPerApp: auth.Limit{Rate: 1, Burst: 2}},
			ips:    []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"},
			want:   []string{"", "", wxlogin.ERateLimited},
		},
		{
			name:   "disabled",
			limits: auth.Limits{LoginPerIP: auth.Limit{Rate: -1}},
			ips:    []string{"192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.1"},
			want:   []string{"", "", "", "", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(e *env, c *auth.Config) { c.Limits = tt.limits })
			for i, ip := range tt.ips {
				_, err := e.svc.Login(t.Context(), app1, e.code(app1, "u"+ip), auth.Client{IP: ip})
				if tt.want[i] == "" {
					if err != nil {
						t.Fatalf("login %d from %s: %v", i, ip, err)
					}
					continue
				}
				we := wantCode(t, err, tt.want[i])
				if we.RetryAfter != time.Second {
					t.Errorf("RetryAfter = %v, want 1s", we.RetryAfter)
				}
			}
			// A token comes back with time.
			e.clock.Advance(time.Second)
			if _, err := e.svc.Login(t.Context(), app1, e.code(app1, "late"), auth.Client{IP: tt.ips[0]}); err != nil {
				t.Fatalf("login after the refill: %v", err)
			}
		})
	}
}

// Created means "the user's first completed login": when the login that
// registered the user fails to store its session, the retry that completes
// answers created, and only that one. Only a two-step login (users and
// sessions apart) can register a user and fail to store its session.
func TestLoginCreatedAfterFailedRegistration(t *testing.T) {
	t.Parallel()
	var hs *hookedStore
	e := newEnv(t, withHookedStoreTwoSteps(&hs))
	ctx := t.Context()
	var failed atomic.Bool
	fail := func(context.Context) error {
		if failed.CompareAndSwap(false, true) {
			return fmt.Errorf("%w: disk I/O error", wxlogin.ErrUnavailable)
		}
		return nil
	}
	hs.beforeCreateSession.Store(&fail)

	code := e.code(app1, "alice")
	_, err := e.svc.Login(ctx, app1, code, auth.Client{})
	wantCode(t, err, wxlogin.EStoreUnavailable)
	registered, err := e.db.FindUsers(ctx, wxlogin.UserFilter{AppID: app1, OpenID: e.identity(app1, "alice").OpenID})
	if err != nil || len(registered) != 1 {
		t.Fatalf("users after the failed login: %v, %v; want the one it registered", registered, err)
	}

	// The client retries with the same code (its exchange is reused).
	retry, err := e.svc.Login(ctx, app1, code, auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if !retry.Created || retry.User.ID != registered[0].ID {
		t.Errorf("retry: created=%v user %s; want created=true for user %s", retry.Created, retry.User.ID, registered[0].ID)
	}
	if later := e.login(ctx, app1, "alice"); later.Created {
		t.Error("the login after the completed one: created=true, want false")
	}
}

// With users and sessions in one store (wxlogin.LoginStore), a login whose
// session cannot be stored registers no user either, and the retry
// registers it and answers created, once.
func TestLoginFailedInOneTransactionRegistersNobody(t *testing.T) {
	t.Parallel()
	var hs *hookedStore
	e := newEnv(t, withHookedStore(&hs))
	ctx := t.Context()
	var failed atomic.Bool
	fail := func(context.Context) error {
		if failed.CompareAndSwap(false, true) {
			return fmt.Errorf("%w: disk I/O error", wxlogin.ErrUnavailable)
		}
		return nil
	}
	hs.beforeCreateSession.Store(&fail)

	code := e.code(app1, "alice")
	_, err := e.svc.Login(ctx, app1, code, auth.Client{})
	wantCode(t, err, wxlogin.EStoreUnavailable)
	filter := wxlogin.UserFilter{AppID: app1, OpenID: e.identity(app1, "alice").OpenID}
	if registered, err := e.db.FindUsers(ctx, filter); err != nil || len(registered) != 0 {
		t.Fatalf("users after the failed login: %v, %v; want none", registered, err)
	}
	retry, err := e.svc.Login(ctx, app1, code, auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if !retry.Created {
		t.Errorf("retry: created=false, want true")
	}
	if registered, err := e.db.FindUsers(ctx, filter); err != nil || len(registered) != 1 || registered[0].ID != retry.User.ID {
		t.Errorf("users after the retry: %v, %v; want the retry's user %s", registered, err, retry.User.ID)
	}
	if later := e.login(ctx, app1, "alice"); later.Created {
		t.Error("the login after the completed one: created=true, want false")
	}
}

// The times a login answers are the ones later reads of the session answer:
// whole microseconds in UTC, as stores keep them, even on a clock with
// nanoseconds in another zone.
func TestLoginTimesMatchLaterReads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env, c *auth.Config) {
		cst := time.FixedZone("CST", 8*3600)
		c.Now = func() time.Time { return e.clock.Now().Add(369_201_799).In(cst) }
	})
	ctx := t.Context()
	r := e.login(ctx, app1, "alice")
	if r.ExpiresAt.Nanosecond()%1000 != 0 || r.ExpiresAt.Location() != time.UTC {
		t.Errorf("login expires_at %v: want whole microseconds in UTC", r.ExpiresAt)
	}
	p := e.verify(ctx, r.Token)
	if !p.ExpiresAt.Equal(r.ExpiresAt) {
		t.Errorf("Verify's expires_at %v, login's %v: want them equal", p.ExpiresAt, r.ExpiresAt)
	}
	infos, err := e.svc.Sessions(ctx, p)
	if err != nil || len(infos) != 1 {
		t.Fatalf("Sessions = %v, %v", infos, err)
	}
	diff(t, "the session as listed", auth.SessionInfo{
		ID: r.Session.ID, CreatedAt: r.Session.CreatedAt, LastSeenAt: r.Session.LastSeenAt,
		ExpiresAt: r.ExpiresAt, UserAgent: "test", IP: "192.0.2.1", Current: true,
	}, infos[0])
	u, err := e.svc.User(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "the user as read back", r.User, u)

	// A touch (the sliding renewal Verify writes) stamps its times too:
	// the expires_at Verify then answers is the one the store keeps.
	e.clock.Advance(2 * time.Minute)
	touched := e.verify(ctx, r.Token)
	if touched.ExpiresAt.Nanosecond()%1000 != 0 || !touched.ExpiresAt.After(r.ExpiresAt) {
		t.Errorf("expires_at after a touch %v (login's %v): want a later one, whole microseconds", touched.ExpiresAt, r.ExpiresAt)
	}
	infos, err = e.svc.Sessions(ctx, touched)
	if err != nil || len(infos) != 1 || !infos[0].ExpiresAt.Equal(touched.ExpiresAt) {
		t.Errorf("after a touch, Sessions = %+v, %v; want expires_at %v", infos, err, touched.ExpiresAt)
	}
}
