package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/httpapi"
)

// TestE2ESessionPolicyWeChat: an app under the wechat policy, over real
// HTTP with the checker's own goroutine: the login says so, a handed code
// keeps a session alive across a key rotation, WeChat down logs nobody out,
// and the session ends once the emulator's session_key dies of idleness.
func TestE2ESessionPolicyWeChat(t *testing.T) { eachStore(t, testE2ESessionPolicyWeChat) }

func testE2ESessionPolicyWeChat(t *testing.T, kind storeKind) {
	const interval, idle = 30 * time.Minute, 10 * time.Minute
	w := newWorldOn(t, kind, func(w *world, c *auth.Config, h *httpapi.Config) {
		h.Metrics = prometheus.NewRegistry()
		c.SessionPolicies = map[string]auth.SessionPolicy{app1: {Mode: auth.PolicyWeChat, CheckInterval: interval}}
		c.KeyCheckEvery = 5 * time.Millisecond
		w.em.SessionKeyIdleTimeout = idle
	})
	checks := func() int { return w.em.Stats().APIs[emulator.APICheckSession].Calls }
	// waitChecks waits (wall clock) until the checker made n calls in all.
	waitChecks := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); checks() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the checker made %d checksession calls in 5 s, want %d", checks(), n)
			}
		}
	}
	// active is the user using the mini program for d.
	active := func(user string, d time.Duration) {
		t.Helper()
		for ; d > 0; d -= 5 * time.Minute {
			w.clock.Advance(min(5*time.Minute, d))
			if ok, err := w.em.Activity(app1, user); err != nil || !ok {
				t.Fatalf("activity: %v %v", ok, err)
			}
		}
	}
	var policy struct {
		SessionPolicy string `json:"session_policy"`
	}

	alice := w.login(app1, "alice")
	w.request("GET", "/v1/session", alice.Token, nil).ok(t, 200, &policy)
	if policy.SessionPolicy != "wechat" {
		t.Fatalf("session_policy = %q, want wechat", policy.SessionPolicy)
	}
	// The SDK prepares a code (wx.login: alice's key rotates) and hands it over.
	w.request("POST", "/v1/session/code", alice.Token, map[string]string{"code": w.code(app1, "alice")}).ok(t, http.StatusNoContent, nil)
	active("alice", interval+time.Minute)
	w.request("GET", "/v1/session", alice.Token, nil).ok(t, 200, nil)
	waitChecks(1)
	w.request("GET", "/v1/session", alice.Token, nil).ok(t, 200, nil)

	// WeChat down: checked, kept.
	if err := w.em.InjectFault(emulator.Fault{API: emulator.APICheckSession, HTTPStatus: 502}); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(interval) // alice's key is dead by now
	waitChecks(2)
	w.request("GET", "/v1/session", alice.Token, nil).ok(t, 200, nil)

	// WeChat back: the next check, an interval later, ends the session.
	w.em.ClearFaults()
	w.clock.Advance(interval)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := w.request("GET", "/v1/session", alice.Token, nil)
		if r.status == 401 {
			r.fails(t, 401, wxlogin.ESessionInvalid)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session of a dead key still answers %d after 5 s", r.status)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// An operator sees it: the check that ended the session, the one
	// WeChat's outage kept, and every call.
	metrics := string(w.request("GET", "/metrics", "", nil).body)
	for _, want := range []string{
		`wxlogin_session_key_checks_total{result="ended"} 1`,
		`wxlogin_session_key_checks_total{result="kept"} 1`,
		`wxlogin_session_key_checks_total{result="valid"} 1`,
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
	// One call per check here (alice has no other session to ask about);
	// the emulator counts more, as the client retried the 502.
	if !strings.Contains(metrics, "wxlogin_session_key_check_calls_total 3\n") {
		t.Errorf("metrics do not count the checker's 3 checksession calls:\n%s", grepLines(metrics, "session_key"))
	}

	// Bad input on the new route, and another user's code.
	bob := w.login(app1, "bob")
	w.request("POST", "/v1/session/code", bob.Token, map[string]string{}).fails(t, 400, wxlogin.EInvalidRequest)
	w.request("POST", "/v1/session/code", bob.Token, map[string]string{"code": w.code(app1, "carol")}).fails(t, 400, wxlogin.EInvalidRequest)
	w.request("POST", "/v1/session/code", bob.Token, map[string]string{"code": "used-or-unknown"}).fails(t, 401, wxlogin.EInvalidCode)
	w.request("POST", "/v1/session/code", "", map[string]string{"code": w.code(app1, "bob")}).fails(t, 401, wxlogin.ESessionInvalid)

	// An app under its own policy says so and is never checked.
	own := w.login(app2, "alice")
	w.request("GET", "/v1/session", own.Token, nil).ok(t, 200, &policy)
	if policy.SessionPolicy != "own" {
		t.Errorf("app2 session_policy = %q, want own", policy.SessionPolicy)
	}
}

// grepLines returns the lines of text that contain sub.
func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
