package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

// The policy of these tests: checks at most every 30 minutes; the emulator's
// keys die after 10 minutes without the user's activity.
const (
	checkEvery = 30 * time.Minute
	keyIdle    = 10 * time.Minute
)

// wechatPolicy gives app1 the wechat policy and stops the background
// checker (the tests run rounds by hand).
func wechatPolicy(rate float64) func(*env, *auth.Config) {
	return func(e *env, c *auth.Config) {
		c.SessionPolicies = map[string]auth.SessionPolicy{app1: {Mode: auth.PolicyWeChat, CheckInterval: checkEvery, CheckRate: rate}}
		c.KeyCheckEvery = -1
		e.em.SessionKeyIdleTimeout = keyIdle
	}
}

// alive reports whether tok still verifies; any error but session_invalid fails.
func (e *env) alive(ctx context.Context, tok wxlogin.Secret) bool {
	e.t.Helper()
	_, err := e.svc.Verify(ctx, tok.Reveal())
	if err == nil {
		return true
	}
	wantCode(e.t, err, wxlogin.ESessionInvalid)
	return false
}

// active is the user using the mini program every few minutes for d.
func (e *env) active(appid, user string, d time.Duration) {
	e.t.Helper()
	for step := 5 * time.Minute; d > 0; d -= step {
		e.clock.Advance(min(step, d))
		if ok, err := e.em.Activity(appid, user); err != nil || !ok {
			e.t.Fatalf("activity of %s: valid %v, %v", user, ok, err)
		}
	}
}

func TestKeyCheckEndsSessionOfExpiredKey(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, wechatPolicy(10))
	r := e.login(ctx, app1, "alice")
	e.verify(ctx, r.Token)

	// Checked only once the interval is over, and the key is alive while
	// the user is active: the session lives.
	e.active(app1, "alice", checkEvery+time.Minute)
	e.verify(ctx, r.Token)
	auth.CheckKeys(e.svc, ctx)
	if !e.alive(ctx, r.Token) {
		t.Fatal("session of an active user ended")
	}
	if got := e.calls(emulator.APICheckSession); got != 1 {
		t.Fatalf("checksession calls after the first interval = %d, want 1", got)
	}
	auth.CheckKeys(e.svc, ctx) // not due again yet
	if got := e.calls(emulator.APICheckSession); got != 1 {
		t.Fatalf("checksession calls after a second round within the interval = %d, want 1", got)
	}

	// The user leaves; the key dies of idleness; the next check ends it.
	e.clock.Advance(checkEvery)
	auth.CheckKeys(e.svc, ctx)
	if e.alive(ctx, r.Token) {
		t.Fatal("session lives on after WeChat reported its key invalid")
	}
	if st := e.svc.KeyCheckStats(); st.Ended != 1 || st.Valid != 1 {
		t.Errorf("stats %+v, want 1 ended and 1 valid", st)
	}
	if _, err := e.db.Session(ctx, r.Session.ID); !isNotFound(err) {
		t.Errorf("ended session still in the store: %v", err)
	}
}

// TestKeyCheckPolicyOwn: an app without the policy is never checked.
func TestKeyCheckPolicyOwn(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, wechatPolicy(10))
	r := e.login(ctx, app2, "alice")
	e.verify(ctx, r.Token)
	e.clock.Advance(2 * checkEvery)
	auth.CheckKeys(e.svc, ctx)
	if !e.alive(ctx, r.Token) || e.calls(emulator.APICheckSession) != 0 {
		t.Errorf("own policy: alive %v, %d checksession calls; want alive, none", e.alive(ctx, r.Token), e.calls(emulator.APICheckSession))
	}
	if got := e.svc.SessionPolicy(app2); got != auth.PolicyOwn {
		t.Errorf("SessionPolicy(app2) = %q", got)
	}
	if got := e.svc.SessionPolicy(app1); got != auth.PolicyWeChat {
		t.Errorf("SessionPolicy(app1) = %q", got)
	}
}

// TestKeyCheckHandedCode is the trap: a wx.login that prepares a code
// rotates the key the session holds. Handed to the server at once, the new
// key keeps the session alive; not handed, the session ends (87009 cannot
// tell the rotated key from an expired one).
func TestKeyCheckHandedCode(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, wechatPolicy(10))
	handed := e.login(ctx, app1, "alice")
	p := e.verify(ctx, handed.Token)
	if err := e.svc.UpdateSessionKey(ctx, p, e.code(app1, "alice")); err != nil {
		t.Fatalf("UpdateSessionKey: %v", err)
	}
	e.active(app1, "alice", checkEvery+time.Minute)
	auth.CheckKeys(e.svc, ctx)
	if !e.alive(ctx, handed.Token) {
		t.Fatal("a session whose rotated key was handed over ended")
	}

	// Another user whose prepared code never reached the server.
	kept := e.login(ctx, app1, "bob")
	e.verify(ctx, kept.Token)
	e.code(app1, "bob") // wx.login: the key the session holds is dead
	e.active(app1, "bob", checkEvery+time.Minute)
	auth.CheckKeys(e.svc, ctx)
	if e.alive(ctx, kept.Token) {
		t.Fatal("a session whose key was rotated behind the server's back lives: the check is not asking WeChat")
	}

	// A code of another user is refused and changes nothing.
	err := e.svc.UpdateSessionKey(ctx, p, e.code(app1, "carol"))
	wantCode(t, err, wxlogin.EInvalidRequest)
	err = e.svc.UpdateSessionKey(ctx, p, "not-a-code")
	wantCode(t, err, wxlogin.EInvalidCode)
}

// TestKeyCheckSecondDevice: a login on a second device rotates the key of
// the first device's session; the server holds the new key on the second
// session, so the first lives on and takes it.
func TestKeyCheckSecondDevice(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, wechatPolicy(10))
	phone := e.login(ctx, app1, "alice")
	e.verify(ctx, phone.Token)
	e.clock.Advance(time.Minute)
	tablet := e.login(ctx, app1, "alice") // rotates the phone's key
	e.verify(ctx, tablet.Token)
	e.active(app1, "alice", checkEvery+time.Minute)

	auth.CheckKeys(e.svc, ctx)
	if !e.alive(ctx, phone.Token) || !e.alive(ctx, tablet.Token) {
		t.Fatal("the first device's session ended after the second device's login")
	}
	// Both sessions were due: the phone's dead key was answered by the
	// tablet's, which the phone's session now holds.
	phoneRow, _ := e.db.Session(ctx, phone.Session.ID)
	tabletRow, _ := e.db.Session(ctx, tablet.Session.ID)
	pk, _ := e.keys.Open(phoneRow.SealedSessionKey)
	tk, _ := e.keys.Open(tabletRow.SealedSessionKey)
	if string(pk) != string(tk) {
		t.Error("the first device's session did not take the user's newer key")
	}
	if st := e.svc.KeyCheckStats(); st.Ended != 0 || st.Valid != 2 {
		t.Errorf("stats %+v, want 2 valid, none ended", st)
	}

	// Once the user leaves both devices, both end.
	e.clock.Advance(checkEvery)
	auth.CheckKeys(e.svc, ctx)
	if e.alive(ctx, phone.Token) || e.alive(ctx, tablet.Token) {
		t.Error("sessions live on after the user's only key expired")
	}
}

// TestKeyCheckWeChatDown: WeChat failing in any way but 87009 logs nobody
// out; the session is checked again an interval later.
func TestKeyCheckWeChatDown(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, wechatPolicy(10))
	r := e.login(ctx, app1, "alice")
	e.verify(ctx, r.Token)
	e.clock.Advance(checkEvery + time.Minute) // the key is dead by now
	for _, f := range []emulator.Fault{
		{API: emulator.APICheckSession, HTTPStatus: 502},
		{API: emulator.APICheckSession, ErrCode: -1},
		{API: emulator.APICheckSession, ErrCode: 45011},
		{API: emulator.APICheckSession, Body: emulator.BodyTruncated},
	} {
		e.em.ClearFaults()
		if err := e.em.InjectFault(f); err != nil {
			t.Fatal(err)
		}
		auth.CheckKeys(e.svc, ctx)
		if !e.alive(ctx, r.Token) {
			t.Fatalf("fault %+v ended the session", f)
		}
		e.clock.Advance(checkEvery)
	}
	e.em.ClearFaults()
	auth.CheckKeys(e.svc, ctx)
	if e.alive(ctx, r.Token) {
		t.Fatal("session lives after WeChat came back and reported its key invalid")
	}
	if st := e.svc.KeyCheckStats(); st.Kept < 4 || st.Ended != 1 {
		t.Errorf("stats %+v, want at least 4 kept and 1 ended", st)
	}
	// The checker's log lines (WeChat failing, the session ended) carry
	// no session_key, signature or login token.
	key, err := e.em.SessionKey(app1, "alice")
	if err != nil || key == "" {
		t.Fatalf("session key: %q %v", key, err)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "auth: session ended") || !strings.Contains(logs, "auth: key check: WeChat failed") {
		t.Fatalf("the checker's lines are missing from the log:\n%s", logs)
	}
	for _, secret := range []string{key, wxcrypt.LoginStateSignature(key, ""), r.Token.Reveal()} {
		if strings.Contains(logs, secret) {
			t.Errorf("a secret is in the log")
		}
	}
}

// TestKeyCheckRaceWithHandedCode: a code handed over while WeChat is being
// asked about the old key: the old key's 87009 must not end the session.
func TestKeyCheckRaceWithHandedCode(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, wechatPolicy(10))
	r := e.login(ctx, app1, "alice")
	p := e.verify(ctx, r.Token)
	e.active(app1, "alice", checkEvery+time.Minute)
	// The check waits 300 ms (wall clock) before WeChat looks at the key.
	if err := e.em.InjectFault(emulator.Fault{API: emulator.APICheckSession, Count: 1, Delay: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { auth.CheckKeys(e.svc, ctx) })
	time.Sleep(50 * time.Millisecond) // the check is in flight
	if err := e.svc.UpdateSessionKey(ctx, p, e.code(app1, "alice")); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !e.alive(ctx, r.Token) {
		t.Fatal("an 87009 for the key replaced during the check ended the session")
	}
	if got := e.calls(emulator.APICheckSession); got < 1 {
		t.Errorf("checksession calls %d", got)
	}
}

// TestKeyCheckBudget: a round spends at most the app's budget, on the most
// recently active sessions first.
func TestKeyCheckBudget(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, wechatPolicy(1)) // one call a second, burst 1
	var logins []auth.LoginResult
	for _, u := range []string{"u1", "u2", "u3"} {
		logins = append(logins, e.login(ctx, app1, u))
	}
	e.clock.Advance(checkEvery + time.Minute) // every key dead
	// u2 verified last after a touch: the most recently active, then u3.
	for _, i := range []int{0, 2, 1} {
		e.verify(ctx, logins[i].Token)
		e.clock.Advance(2 * time.Minute)
	}
	// stored reports which sessions the store still has (reading it, not
	// verifying, which would count as activity).
	stored := func() (out []bool) {
		for _, l := range logins {
			_, err := e.db.Session(ctx, l.Session.ID)
			out = append(out, !isNotFound(err))
		}
		return out
	}
	auth.CheckKeys(e.svc, ctx)
	if got := e.calls(emulator.APICheckSession); got != 1 {
		t.Fatalf("checksession calls in one round with a budget of 1 = %d", got)
	}
	diff(t, "sessions after round 1 (u1, u2, u3)", []bool{true, false, true}, stored())
	e.clock.Advance(time.Second)
	auth.CheckKeys(e.svc, ctx)
	diff(t, "sessions after round 2 (u1, u2, u3)", []bool{true, false, false}, stored())
	e.clock.Advance(time.Second)
	auth.CheckKeys(e.svc, ctx)
	diff(t, "sessions after round 3 (u1, u2, u3)", []bool{false, false, false}, stored())
	if got := e.calls(emulator.APICheckSession); got != 3 {
		t.Errorf("checksession calls after three rounds = %d, want 3", got)
	}
}

// TestKeyCheckInstancesShareClaims: two instances on one store and one
// shared RateLimiter check a session once per interval between them.
func TestKeyCheckInstancesShareClaims(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	shared := &auth.LocalRateLimiter{}
	e := newEnv(t, wechatPolicy(10), func(_ *env, c *auth.Config) { c.RateLimiter = shared })
	other, err := auth.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	r := e.login(ctx, app1, "alice")
	e.verify(ctx, r.Token)
	if _, err := other.Verify(ctx, r.Token.Reveal()); err != nil {
		t.Fatal(err)
	}
	e.active(app1, "alice", checkEvery+time.Minute)
	auth.CheckKeys(e.svc, ctx)
	auth.CheckKeys(other, ctx)
	if got := e.calls(emulator.APICheckSession); got != 1 {
		t.Errorf("checksession calls of two instances in one interval = %d, want 1", got)
	}
}

// TestKeyCheckInBackground: the checker's own goroutine ends the session.
func TestKeyCheckInBackground(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, wechatPolicy(10), func(_ *env, c *auth.Config) { c.KeyCheckEvery = 5 * time.Millisecond })
	r := e.login(ctx, app1, "alice")
	e.verify(ctx, r.Token)
	e.clock.Advance(checkEvery + time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for e.alive(ctx, r.Token) {
		if time.Now().After(deadline) {
			t.Fatal("the background checker did not end the session of a dead key within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSessionPolicyConfig(t *testing.T) {
	t.Parallel()
	apps := []wxlogin.App{{AppID: app1, Secret: "s"}}
	for _, tc := range []struct {
		name    string
		p       map[string]auth.SessionPolicy
		setting string
	}{
		{"unknown app", map[string]auth.SessionPolicy{app2: {Mode: auth.PolicyWeChat}}, "SessionPolicies[" + app2 + "]"},
		{"unknown mode", map[string]auth.SessionPolicy{app1: {Mode: "weixin"}}, "SessionPolicies[" + app1 + "].Mode"},
		{"negative interval", map[string]auth.SessionPolicy{app1: {Mode: auth.PolicyWeChat, CheckInterval: -time.Second}}, "SessionPolicies[" + app1 + "].CheckInterval"},
		{"negative rate", map[string]auth.SessionPolicy{app1: {Mode: auth.PolicyWeChat, CheckRate: -1}}, "SessionPolicies[" + app1 + "].CheckRate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := auth.Config{Apps: apps, SessionPolicies: tc.p}.Validate()
			ce, ok := err.(*auth.ConfigError)
			if !ok || ce.Setting != tc.setting {
				t.Errorf("Validate = %v, want a ConfigError for %s", err, tc.setting)
			}
		})
	}
	if err := (auth.Config{Apps: apps, SessionPolicies: map[string]auth.SessionPolicy{app1: {Mode: auth.PolicyWeChat}}}).Validate(); err != nil {
		t.Errorf("a valid policy: %v", err)
	}
}

func isNotFound(err error) bool { return errors.Is(err, wxlogin.ErrNotFound) }

// TestKeyCheckPolicyReload: a reload gives an app the wechat policy (or
// takes it away), and the checker follows at its next round.
func TestKeyCheckPolicyReload(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, func(e *env, c *auth.Config) {
		c.KeyCheckEvery = -1
		e.em.SessionKeyIdleTimeout = keyIdle
	})
	r := e.login(ctx, app1, "alice")
	e.verify(ctx, r.Token)
	e.clock.Advance(checkEvery + time.Minute)
	auth.CheckKeys(e.svc, ctx)
	if !e.alive(ctx, r.Token) || e.svc.SessionPolicy(app1) != auth.PolicyOwn {
		t.Fatal("own policy: the session of a dead key ended, or the policy is not own")
	}
	ls := auth.LiveSettings{Apps: e.cfg.Apps, Keys: e.keys,
		SessionPolicies: map[string]auth.SessionPolicy{app1: {Mode: auth.PolicyWeChat, CheckInterval: checkEvery}}}
	if err := e.svc.Reload(ctx, ls); err != nil {
		t.Fatal(err)
	}
	if e.svc.SessionPolicy(app1) != auth.PolicyWeChat {
		t.Fatal("the reload did not give app1 the wechat policy")
	}
	auth.CheckKeys(e.svc, ctx)
	if e.alive(ctx, r.Token) {
		t.Fatal("after the reload the session of a dead key lives on")
	}
	ls.SessionPolicies = map[string]auth.SessionPolicy{"wx0000000000000000": {Mode: auth.PolicyWeChat}}
	if err := e.svc.Reload(ctx, ls); err == nil {
		t.Error("a reload naming an unknown app in SessionPolicies was accepted")
	}
}
