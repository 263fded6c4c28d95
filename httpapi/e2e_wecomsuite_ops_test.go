package httpapi_test

// A corp uninstalls a WeCom suite app: WeCom (the emulator) pushes
// cancel_auth, and every session of the corp's members in the app ends at
// once, on every instance, with a sessions.revoked event per member; the
// other corp's members stay logged in, and the users stay.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/webhook"
)

// emulatorCall sends a device call to the world's emulator.
func (w *world) emulatorCall(method, path string) (int, []byte) {
	w.t.Helper()
	rec := httptest.NewRecorder()
	w.em.ServeHTTP(rec, httptest.NewRequestWithContext(w.t.Context(), method, path, nil))
	return rec.Code, rec.Body.Bytes()
}

// forwardAuth asks srv's forward-auth about token and returns the status.
func forwardAuth(t *testing.T, srv *httptest.Server, token string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/v1/auth", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestWeComSuiteCorpUninstall(t *testing.T) {
	eachStore(t, func(t *testing.T, kind storeKind) {
		var ds [2]*webhook.Dispatcher
		var w *world
		sink := newHookSink(t, "whsec-suite-uninstall-secret", func() time.Time { return w.clock.Now() })
		w = newWorldOn(t, kind, withSuite(), withWebhooks(sink, &ds),
			func(_ *world, c *auth.Config, _ *httpapi.Config) { c.Revocations = &auth.LocalRevocations{} })
		// A second instance on the same store and revocation bus.
		peerSvc, err := auth.New(w.acfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { peerSvc.Close() })
		hcfg := w.hcfg
		hcfg.Service = peerSvc
		peer := httptest.NewServer(httpapi.New(hcfg))
		t.Cleanup(peer.Close)

		w.registerCallback("")
		w.push()
		login := func(corp, user string) (token, userID string) {
			t.Helper()
			var lb struct {
				Token string        `json:"token"`
				User  suiteUserBody `json:"user"`
			}
			w.request("POST", "/v1/login", "", map[string]string{"appid": suiteApp, "code": w.suiteCode(corp, user)}).ok(t, 200, &lb)
			return lb.Token, lb.User.ID
		}
		gone1, zhangsan := login(devCorp1.CorpID, "zhangsan")
		gone2, _ := login(devCorp1.CorpID, "zhangsan") // a second session of the same member
		gone3, lisi := login(devCorp1.CorpID, "lisi")
		stays, _ := login(devCorp2.CorpID, "zhangsan") // same userid, the other corp
		tokens := []string{gone1, gone2, gone3, stays}
		// Both instances verify every token once, so both cache them.
		for _, tok := range tokens {
			for _, srv := range []*httptest.Server{w.srv, peer} {
				if st := forwardAuth(t, srv, tok); st != 200 {
					t.Fatalf("forward-auth before the uninstall: %d", st)
				}
			}
		}
		// The registrations' events go out first, so that what the sink
		// gets next is the uninstall's.
		if _, err := ds[0].RunOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		sent := len(sink.bodies)
		pending := w.suiteCode(devCorp1.CorpID, "wangwu") // traded after the uninstall

		status, body := w.emulatorCall("POST", "/emulator/v1/wecom/suites/"+devSuite.SuiteID+"/corps/"+devCorp1.CorpID+"/uninstall")
		var res emulator.PushResult
		if err := json.Unmarshal(body, &res); status != 200 || err != nil || !res.Delivered || res.Answer != "success" {
			t.Fatalf("uninstall: %d %s", status, body)
		}
		// At once, on both instances: the corp's tokens are refused, the
		// other corp's member stays.
		for i, tok := range tokens {
			want := 401
			if tok == stays {
				want = 200
			}
			for name, srv := range map[string]*httptest.Server{"the instance pushed to": w.srv, "the other instance": peer} {
				if st := forwardAuth(t, srv, tok); st != want {
					t.Errorf("token %d at %s after the uninstall: %d, want %d", i, name, st, want)
				}
			}
		}
		// The users stay: erasing them is the operator's call.
		for _, id := range []string{zhangsan, lisi} {
			w.request("GET", "/v1/admin/users/"+id, adminToken, nil).ok(t, 200, nil)
		}
		// A code of the corp issued before the uninstall no longer logs in.
		w.request("POST", "/v1/login", "", map[string]string{"appid": suiteApp, "code": pending}).fails(t, 401, wxlogin.EInvalidCode)

		// One sessions.revoked event per member, by corp_uninstalled.
		if _, err := ds[0].RunOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		sink.mu.Lock()
		got := map[string]bool{}
		for _, b := range sink.bodies[sent:] {
			var p struct {
				Type        string `json:"type"`
				AppID       string `json:"appid"`
				UserID      string `json:"user_id"`
				AllSessions bool   `json:"all_sessions"`
				By          string `json:"by"`
			}
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			if p.Type != wxlogin.EventSessionsRevoked || p.By != "corp_uninstalled" || !p.AllSessions || p.AppID != suiteApp {
				t.Errorf("event after the uninstall: %s", b)
			}
			got[p.UserID] = true
		}
		bad := sink.bad
		sink.mu.Unlock()
		if len(got) != 2 || !got[zhangsan] || !got[lisi] || bad != 0 {
			t.Errorf("revoked users %v (%d badly signed), want %s and %s", got, bad, zhangsan, lisi)
		}
		if logs := w.logs.String(); !strings.Contains(logs, `"members":2,"sessions":3`) {
			t.Errorf("no log line with the uninstall's counts in:\n%s", logs)
		}

		// A second cancel_auth (WeCom retrying) finds nothing to end and
		// is answered success too.
		q, b := sealedPush(t, devSuite.Token, devSuite.SuiteID, cancelAuthMessage(devSuite.SuiteID, devCorp1.CorpID, w.clock.Now()), w.clock.Now())
		if r := w.request("POST", suiteCallbackPath(devSuite.SuiteID)+"?"+q.Encode(), "", b, "Content-Type", "text/xml"); r.status != 200 || string(r.body) != "success" {
			t.Errorf("repeated cancel_auth: %d %q", r.status, r.body)
		}
		if st := forwardAuth(t, w.srv, stays); st != 200 {
			t.Errorf("the other corp's member after a repeated cancel_auth: %d", st)
		}

		// The corp installs the app again: its members log in again, and a
		// replay of the old cancel_auth two hours later ends nothing.
		old := w.clock.Now()
		oldQ, oldBody := sealedPush(t, devSuite.Token, devSuite.SuiteID, cancelAuthMessage(devSuite.SuiteID, devCorp1.CorpID, old), old)
		if st, b := w.emulatorCall("POST", "/emulator/v1/wecom/suites/"+devSuite.SuiteID+"/corps/"+devCorp1.CorpID+"/install"); st != 200 {
			t.Fatalf("install: %d %s", st, b)
		}
		w.clock.Advance(2 * time.Hour)
		w.push()
		back, backID := login(devCorp1.CorpID, "zhangsan")
		if backID != zhangsan {
			t.Errorf("after the re-install zhangsan is user %s, want %s", backID, zhangsan)
		}
		if r := w.request("POST", suiteCallbackPath(devSuite.SuiteID)+"?"+oldQ.Encode(), "", oldBody, "Content-Type", "text/xml"); r.status != 200 || string(r.body) != "success" {
			t.Errorf("replayed cancel_auth: %d %q", r.status, r.body)
		}
		if st := forwardAuth(t, peer, back); st != 200 {
			t.Errorf("a replayed cancel_auth of two hours ago ended a session of the re-installed corp: %d", st)
		}
	})
}

func cancelAuthMessage(suiteID, corpID string, ts time.Time) string {
	return "<xml><SuiteId><![CDATA[" + suiteID + "]]></SuiteId><InfoType><![CDATA[cancel_auth]]></InfoType><TimeStamp>" +
		strconv.FormatInt(ts.Unix(), 10) + "</TimeStamp><AuthCorpId><![CDATA[" + corpID + "]]></AuthCorpId></xml>"
}

// TestWeComSuiteUninstallStoreDown: a cancel_auth while the store is gone
// is still answered success (a retry by WeCom would not mend our outage),
// and the failure is logged at ERROR for the operator.
func TestWeComSuiteUninstallStoreDown(t *testing.T) {
	t.Parallel()
	w := newWorld(t, withSuite())
	w.registerCallback("")
	w.push()
	w.request("POST", "/v1/login", "", map[string]string{"appid": suiteApp, "code": w.suiteCode(devCorp1.CorpID, "zhangsan")}).ok(t, 200, nil)
	if err := w.db.Close(); err != nil {
		t.Fatal(err)
	}
	q, b := sealedPush(t, devSuite.Token, devSuite.SuiteID, cancelAuthMessage(devSuite.SuiteID, devCorp1.CorpID, w.clock.Now()), w.clock.Now())
	if r := w.request("POST", suiteCallbackPath(devSuite.SuiteID)+"?"+q.Encode(), "", b, "Content-Type", "text/xml"); r.status != 200 || string(r.body) != "success" {
		t.Errorf("cancel_auth with the store down: %d %q, want 200 success", r.status, r.body)
	}
	var found bool
	for _, line := range strings.Split(w.logs.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) && strings.Contains(line, "uninstalling WeCom corp") && strings.Contains(line, devCorp1.CorpID) {
			found = true
		}
	}
	if !found {
		t.Errorf("no ERROR line about the failed revocation in:\n%s", w.logs.String())
	}
}

// TestWeComSuiteTicketAgeMetric: the gauge shows the age of the ticket
// WeCom pushed, as of the scrape, and never the ticket.
func TestWeComSuiteTicketAgeMetric(t *testing.T) {
	t.Parallel()
	w := newWorld(t, withSuite(), func(_ *world, _ *auth.Config, h *httpapi.Config) { h.Metrics = prometheus.NewRegistry() })
	w.registerCallback("")
	w.push()
	w.clock.Advance(7 * time.Minute)
	r := w.request("GET", "/metrics", "", nil)
	r.ok(t, 200, nil)
	want := `wxlogin_wecom_suite_ticket_age_seconds{suite_id="` + devSuite.SuiteID + `"} 420` + "\n"
	if !strings.Contains(string(r.body), want) {
		t.Errorf("metrics lack %q", want)
	}
	if ticket := w.em.LatestSuiteTicket(devSuite.SuiteID); ticket == "" || strings.Contains(string(r.body), ticket) {
		t.Errorf("the ticket %q is empty or in the metrics", ticket)
	}
}
