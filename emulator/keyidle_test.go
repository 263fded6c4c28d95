package emulator_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

// TestSessionKeyIdleExpiry: with SessionKeyIdleTimeout a key dies once the
// user has left the mini program alone that long; the user's activity
// (checkSession, the activity call, signed or encrypted data) renews it, a
// server's checksession does not, and a dead key stays dead until wx.login.
func TestSessionKeyIdleExpiry(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if status, env := f.device(t, "PUT", "/emulator/v1/config", map[string]any{"session_key_idle_timeout": "10m"}, nil); status != 200 {
		t.Fatalf("PUT config: %d %+v", status, env)
	}
	if err := f.em.AgreePrivacy(app1, "alice"); err != nil {
		t.Fatal(err)
	}
	code := f.login(t, app1, "alice")
	ws := f.session(t, app1, secret1, code)
	if ws.ErrCode != 0 {
		t.Fatalf("jscode2session: %+v", ws)
	}
	token := f.token(t, app1, secret1)
	serverCheck := func() int {
		t.Helper()
		return f.wx(t, "GET", "/wxa/checksession", url.Values{
			"access_token": {token}, "openid": {ws.OpenID},
			"signature": {wxcrypt.LoginStateSignature(ws.SessionKey, "")}, "sig_method": {"hmac_sha256"},
		}, nil).ErrCode
	}
	deviceValid := func(method, path string) bool {
		t.Helper()
		var out struct{ Valid *bool }
		var body any
		if method == "POST" {
			body = map[string]string{"appid": app1, "user": "alice"}
		} else {
			path += "?" + url.Values{"appid": {app1}, "user": {"alice"}}.Encode()
		}
		if status, env := f.device(t, method, path, body, &out); status != 200 || out.Valid == nil {
			t.Fatalf("%s %s: %d %+v", method, path, status, env)
		}
		return *out.Valid
	}

	// Activity every 9 minutes keeps the key alive well past 10 minutes.
	for range 3 {
		f.em.Advance(9 * time.Minute)
		if !deviceValid("POST", "/emulator/v1/activity") {
			t.Fatal("activity 9 minutes after the last: key already dead")
		}
	}
	f.em.Advance(9 * time.Minute)
	if !deviceValid("GET", "/emulator/v1/session") { // wx.checkSession is activity too
		t.Fatal("checkSession 9 minutes after activity: key dead")
	}
	f.em.Advance(9 * time.Minute)
	if _, err := f.em.UserInfo(app1, "alice"); err != nil { // signed and encrypted data: activity
		t.Fatalf("userinfo: %v", err)
	}
	// The server's checks are not the user's activity.
	for range 2 {
		f.em.Advance(4 * time.Minute)
		if got := serverCheck(); got != 0 {
			t.Fatalf("checksession %v after the user's activity: errcode %d, want 0", 4*time.Minute, got)
		}
	}
	f.em.Advance(2 * time.Minute)
	if got := serverCheck(); got != 87009 {
		t.Errorf("checksession 10 minutes after the user's last activity: errcode %d, want 87009", got)
	}
	if deviceValid("GET", "/emulator/v1/session") {
		t.Error("wx.checkSession valid after the idle timeout")
	}
	if deviceValid("POST", "/emulator/v1/activity") {
		t.Error("activity revived a dead key")
	}
	// wx.login issues a new key, alive again.
	code = f.login(t, app1, "alice")
	ws = f.session(t, app1, secret1, code)
	if got := serverCheck(); got != 0 {
		t.Errorf("checksession after a new wx.login: errcode %d, want 0", got)
	}
}

// TestSessionKeyIdleWithoutTimeout: without the knob a key never dies of
// idleness (the behaviour of every other test).
func TestSessionKeyIdleWithoutTimeout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login(t, app1, "bob")
	f.em.Advance(1000 * time.Hour)
	if ok, err := f.em.SessionKeyValid(app1, "bob"); err != nil || !ok {
		t.Errorf("key after 1000 h without the idle knob: %v, %v", ok, err)
	}
	f.em.Advance(2 * time.Hour) // since the check above, which was activity
	f.em.Configure(func(e *emulator.Emulator) { e.SessionKeyIdleTimeout = time.Hour })
	if ok, _ := f.em.Activity(app1, "bob"); ok {
		t.Error("key valid once an idle timeout shorter than its idleness is set")
	}
}
