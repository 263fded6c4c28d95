package httpapi_test

// End-to-end tests of the account.merged webhook: a user whose unionid
// arrives late merges two accounts, and the business system's receiver
// (a real HTTP server checking the signature) learns which account id
// disappeared and which one stays.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/webhook"
	"github.com/wxlogin/wxlogin/wechat"
)

// eventPayload is a webhook body as a receiver decodes it.
type eventPayload struct {
	ID              string    `json:"id"`
	Type            string    `json:"type"`
	CreatedAt       time.Time `json:"created_at"`
	AppID           string    `json:"appid"`
	UserID          string    `json:"user_id"`
	OpenID          string    `json:"openid"`
	UnionID         string    `json:"unionid"`
	AccountID       string    `json:"account_id"`
	MergedAccountID string    `json:"merged_account_id"`
}

// webhookEventSchema is docs/openapi.yaml's WebhookEvent: what every
// delivery's body must be.
var webhookEventSchema = sync.OnceValues(func() (*openapi3.Schema, error) {
	doc, err := openapi3.NewLoader().LoadFromFile("../docs/openapi.yaml")
	if err != nil {
		return nil, err
	}
	return doc.Components.Schemas["WebhookEvent"].Value, nil
})

// checkWebhookBody fails unless body is a WebhookEvent as documented.
func checkWebhookBody(t *testing.T, body []byte) {
	t.Helper()
	schema, err := webhookEventSchema()
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("webhook body %s: %v", body, err)
	}
	if err := schema.VisitJSON(v); err != nil {
		t.Errorf("webhook body %s does not match docs/openapi.yaml's WebhookEvent: %v", body, err)
	}
}

// lateBinding is WeChat before and after the operator binds the unbound
// mini program (app3) to the Open Platform account: until bind, WeChat is
// an emulator where app3 gets no unionid; after it, one where app3 is bound,
// so the same person's code2Session answers carry the unionid from then on
// (the emulator derives openids and unionids from the app and the user's
// name, so both emulators agree on them). wxlogin's own configuration names
// app3's Open Platform account from the start.
type lateBinding struct {
	bound   *emulator.Emulator
	current atomic.Pointer[emulator.Emulator]
	w       *world
}

func (lb *lateBinding) option(w *world, a *auth.Config, _ *httpapi.Config) {
	lb.w = w
	lb.current.Store(w.em)
	var apps []emulator.App
	for _, x := range w.em.Apps {
		x.OpenPlatform = true
		apps = append(apps, x)
	}
	lb.bound = &emulator.Emulator{Apps: apps, Now: w.clock.Now}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		lb.current.Load().ServeHTTP(rw, r)
	}))
	w.t.Cleanup(srv.Close)
	a.WeChat.(*wechat.Client).BaseURL = srv.URL
	for i := range a.Apps {
		if a.Apps[i].AppID == app3 {
			a.Apps[i].OpenPlatform = "dev"
		}
	}
}

// bind makes WeChat give app3's users their unionid; the device side (the
// world's wx.login) moves to the bound emulator too.
func (lb *lateBinding) bind() {
	lb.current.Store(lb.bound)
	lb.w.em = lb.bound
}

// TestE2EAccountMerged: an Official Account user whose unionid arrives with
// a later snsapi_userinfo login (the two-step login) and a mini program
// bound to the Open Platform account after its users' first logins (the
// one-transaction login) each merge two accounts; the receiver gets exactly
// one account.merged naming the survivor, the account that disappeared and
// the user whose login caused it; the admin API then lists the survivor's
// users and none for the merged id; logins that change nothing, and a new
// identity joining the account, send no account.merged.
func TestE2EAccountMerged(t *testing.T) { eachStore(t, testE2EAccountMerged) }

func testE2EAccountMerged(t *testing.T, kind storeKind) {
	var ds [2]*webhook.Dispatcher
	var ww *webWorld
	sink := newHookSink(t, "whsec-account-merged-secret", func() time.Time { return ww.clock.Now() })
	lb := &lateBinding{}
	ww = newWebWorldOn(t, kind, withWebhooks(sink, &ds), lb.option)

	seen := 0
	// events sends what is due and returns the payloads received since
	// the last call, oldest event first.
	events := func(t *testing.T) []eventPayload {
		t.Helper()
		for {
			n, err := ds[0].RunOnce(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		sink.mu.Lock()
		defer sink.mu.Unlock()
		if sink.bad != 0 {
			t.Fatalf("%d webhook requests failed signature verification", sink.bad)
		}
		var out []eventPayload
		for _, b := range sink.bodies[seen:] {
			checkWebhookBody(t, b)
			var p eventPayload
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatalf("payload %s: %v", b, err)
			}
			out = append(out, p)
		}
		seen = len(sink.bodies)
		// A batch is sent at once: put what arrived in the events' order.
		slices.SortStableFunc(out, func(a, b eventPayload) int { return a.CreatedAt.Compare(b.CreatedAt) })
		return out
	}
	ofType := func(ps []eventPayload, typ string) []eventPayload {
		var out []eventPayload
		for _, p := range ps {
			if p.Type == typ {
				out = append(out, p)
			}
		}
		return out
	}
	accountOf := func(t *testing.T, r response) string {
		t.Helper()
		r.ok(t, 200, nil)
		return r.header.Get("X-Wxlogin-Account-Id")
	}
	accountUsers := func(t *testing.T, acct string) []string {
		t.Helper()
		var found struct {
			Users []struct {
				ID        string `json:"id"`
				AccountID string `json:"account_id"`
			} `json:"users"`
		}
		ww.request("GET", "/v1/admin/users?account_id="+acct, adminToken, nil).ok(t, 200, &found)
		var ids []string
		for _, u := range found.Users {
			if u.AccountID != acct {
				t.Errorf("a user of account %s says account %s", acct, u.AccountID)
			}
			ids = append(ids, u.ID)
		}
		slices.Sort(ids)
		return ids
	}
	checkMerged := func(t *testing.T, got []eventPayload, want eventPayload) {
		t.Helper()
		merged := ofType(got, wxlogin.EventAccountMerged)
		if len(merged) != 1 || len(got) != 1 {
			t.Fatalf("events: %+v; want exactly one account.merged", got)
		}
		p := merged[0]
		if !p.CreatedAt.Equal(ww.clock.Now()) {
			t.Errorf("account.merged created_at %v, want the login's %v", p.CreatedAt, ww.clock.Now())
		}
		want.ID, want.Type, want.CreatedAt = p.ID, wxlogin.EventAccountMerged, p.CreatedAt
		if p != want {
			t.Errorf("account.merged:\n got %+v\nwant %+v", p, want)
		}
		if want.AccountID == want.MergedAccountID || want.AccountID == "" {
			t.Fatalf("the test expects two accounts, got %q and %q", want.AccountID, want.MergedAccountID)
		}
		if ids := accountUsers(t, want.MergedAccountID); len(ids) != 0 {
			t.Errorf("the merged account %s still lists users %v", want.MergedAccountID, ids)
		}
	}

	t.Run("web identity learns its unionid", func(t *testing.T) {
		b := ww.browser("ua")
		b.login(oaApp, "snsapi_base", "omar") // openid only: an account of its own
		older := accountOf(t, b.do("GET", ww.base+"/v1/auth"))
		var oa meBody
		b.do("GET", ww.base+"/v1/me").ok(t, 200, &oa)
		ww.clock.Advance(time.Second)
		mini := ww.login(app2, "omar") // the unionid, nobody else has it yet
		newer := accountOf(t, ww.request("GET", "/v1/auth", mini.Token, nil))
		registered := ofType(events(t), wxlogin.EventUserRegistered)
		if len(registered) != 2 || registered[0].UserID != oa.ID || registered[0].AccountID != older ||
			registered[1].UserID != mini.User.ID || registered[1].AccountID != newer {
			t.Fatalf("registrations: %+v; want the Official Account's user in %s, then the mini program's in %s", registered, older, newer)
		}

		ww.clock.Advance(time.Second)
		b.login(oaApp, "snsapi_userinfo", "omar") // the unionid arrives: merge into the older
		checkMerged(t, events(t), eventPayload{AccountID: older, MergedAccountID: newer,
			AppID: oaApp, UserID: oa.ID, OpenID: oa.OpenID, UnionID: mini.User.UnionID})
		if got := accountOf(t, ww.request("GET", "/v1/auth", mini.Token, nil)); got != older {
			t.Errorf("after the merge the mini program session says %q, want %q", got, older)
		}
		if ids, want := accountUsers(t, older), sorted(oa.ID, mini.User.ID); !slices.Equal(ids, want) {
			t.Errorf("the surviving account lists %v, want %v", ids, want)
		}

		// Nothing new: no event. A new identity joins: its registration
		// names the account, and no account disappears.
		b.login(oaApp, "snsapi_userinfo", "omar")
		ww.login(app2, "omar")
		if got := events(t); len(got) != 0 {
			t.Errorf("logins that change nothing sent %+v", got)
		}
		site := ww.browser("desktop")
		site.login(webApp, "", "omar")
		got := events(t)
		if len(got) != 1 || got[0].Type != wxlogin.EventUserRegistered || got[0].AccountID != older || got[0].MergedAccountID != "" {
			t.Errorf("a website identity joining: %+v; want one user.registered in %s", got, older)
		}
	})

	// Last: after the binding, web logins would reach an emulator that
	// never saw their codes.
	t.Run("mini program bound late", func(t *testing.T) {
		first := ww.login(app1, "rita")
		older := accountOf(t, ww.request("GET", "/v1/auth", first.Token, nil))
		ww.clock.Advance(time.Second)
		late := ww.login(app3, "rita")
		if late.User.UnionID != "" {
			t.Fatalf("app3 gave a unionid before its binding: %+v", late.User)
		}
		newer := accountOf(t, ww.request("GET", "/v1/auth", late.Token, nil))
		if got := ofType(events(t), wxlogin.EventUserRegistered); len(got) != 2 {
			t.Fatalf("registrations: %+v", got)
		}

		lb.bind()
		ww.clock.Advance(time.Second)
		again := ww.login(app3, "rita") // the unionid arrives: the newer account goes
		if again.User.ID != late.User.ID || again.User.UnionID != first.User.UnionID {
			t.Fatalf("after the binding: %+v, want %s with unionid %s", again.User, late.User.ID, first.User.UnionID)
		}
		checkMerged(t, events(t), eventPayload{AccountID: older, MergedAccountID: newer,
			AppID: app3, UserID: late.User.ID, OpenID: late.User.OpenID, UnionID: first.User.UnionID})
		if got := accountOf(t, ww.request("GET", "/v1/auth", late.Token, nil)); got != older {
			t.Errorf("the earlier session of the merged account says %q, want %q", got, older)
		}
		if ids, want := accountUsers(t, older), sorted(first.User.ID, late.User.ID); !slices.Equal(ids, want) {
			t.Errorf("the surviving account lists %v, want %v", ids, want)
		}
		ww.login(app3, "rita")
		if got := events(t); len(got) != 0 {
			t.Errorf("a login that changes nothing sent %+v", got)
		}
	})
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}
