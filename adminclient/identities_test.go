package adminclient_test

// WeCom members, Open Platform accounts and the webhook outbox through the
// client, against the real server.

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/adminclient"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/store/sqlitestore"
	"github.com/wxlogin/wxlogin/webhook"
	"github.com/wxlogin/wxlogin/webhooksig"
)

const weComApp = "wecom-dev"

func TestClientWeComMembers(t *testing.T) {
	t.Parallel()
	corp, other := emulator.DevCorps()[0], emulator.DevCorps()[1]
	s := newServerWith(t, func(c *auth.Config, _ *sqlitestore.DB) {
		c.Apps = append(c.Apps, wxlogin.App{AppID: weComApp, Kind: wxlogin.KindWeCom, CorpID: corp.CorpID, Secret: wxlogin.Secret(corp.Secret)})
	})
	ctx := t.Context()
	c := s.client(adminToken)
	code, err := s.em.WeComLogin(corp.CorpID, "zhangsan")
	if err != nil {
		t.Fatal(err)
	}
	var member login
	s.call(http.MethodPost, "/v1/login", "", map[string]string{"appid": weComApp, "code": code}, http.StatusOK, &member)
	s.login(app1, "zhangsan") // a WeChat user of the same name is someone else

	users, err := c.FindMember(ctx, adminclient.MemberFilter{CorpID: corp.CorpID, UserID: "zhangsan"})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].ID != member.User.ID || users[0].AppID != weComApp ||
		users[0].CorpID != corp.CorpID || users[0].WeComUserID != "zhangsan" || users[0].OpenID != "" {
		t.Errorf("FindMember = %+v, want zhangsan of %s without an openid", users, corp.CorpID)
	}
	u, err := c.User(ctx, member.User.ID)
	if err != nil || u.CorpID != corp.CorpID || u.WeComUserID != "zhangsan" || u.OpenID != "" {
		t.Errorf("User = %+v, %v; want the member's corp and userid", u, err)
	}
	if users, err := c.FindMember(ctx, adminclient.MemberFilter{CorpID: corp.CorpID, UserID: "zhangsan", AppID: app1}); err != nil || len(users) != 0 {
		t.Errorf("the member in a WeChat app: %+v, %v; want none", users, err)
	}
	if users, err := c.FindMember(ctx, adminclient.MemberFilter{CorpID: other.CorpID, UserID: "zhangsan"}); err != nil || len(users) != 0 {
		t.Errorf("the userid in another corp: %+v, %v; want none", users, err)
	}
	if _, err := c.FindMember(ctx, adminclient.MemberFilter{CorpID: corp.CorpID}); wxlogin.ErrorCode(err) != wxlogin.EInvalidRequest {
		t.Errorf("no userid: err = %v, want invalid_request", err)
	}
	// A WeChat user's JSON has no WeCom fields.
	wx, err := c.FindUsers(ctx, wxlogin.UserFilter{AppID: app1})
	if err != nil || len(wx) != 1 || wx[0].OpenID == "" || wx[0].CorpID != "" || wx[0].WeComUserID != "" {
		t.Errorf("the WeChat user: %+v, %v", wx, err)
	}
}

func TestClientAccounts(t *testing.T) {
	t.Parallel()
	s := newServerWith(t, func(c *auth.Config, _ *sqlitestore.DB) {
		for i := range c.Apps {
			if c.Apps[i].AppID == app1 || c.Apps[i].AppID == app2 {
				c.Apps[i].OpenPlatform = "dev"
			}
		}
	})
	ctx := t.Context()
	c := s.client(adminToken)
	phone := s.login(app1, "alice")
	other := s.login(app2, "alice")
	bob := s.login(app1, "bob")
	var me struct {
		AccountID string `json:"account_id"`
	}
	s.call(http.MethodGet, "/v1/me", other.Token, nil, http.StatusOK, &me)
	if me.AccountID == "" {
		t.Fatal("GET /v1/me shows no account_id")
	}

	users, err := c.AccountUsers(ctx, me.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, u := range users {
		ids[u.ID] = true
	}
	if len(users) != 2 || !ids[phone.User.ID] || !ids[other.User.ID] {
		t.Errorf("AccountUsers = %+v, want alice in both apps", users)
	}
	for _, u := range users {
		if u.AccountID != me.AccountID {
			t.Errorf("AccountUsers: user %s has account %q, want %q", u.ID, u.AccountID, me.AccountID)
		}
	}
	// The lookups by user and by app name the account too, each its own.
	if u, err := c.User(ctx, phone.User.ID); err != nil || u.AccountID != me.AccountID {
		t.Errorf("User(alice) account %q, %v; want %q", u.AccountID, err, me.AccountID)
	}
	inApp1, err := c.FindUsers(ctx, wxlogin.UserFilter{AppID: app1})
	if err != nil {
		t.Fatal(err)
	}
	if len(inApp1) != 2 {
		t.Fatalf("FindUsers(app1) = %+v, want alice and bob", inApp1)
	}
	for _, u := range inApp1 {
		switch {
		case u.ID == phone.User.ID && u.AccountID != me.AccountID:
			t.Errorf("FindUsers: alice has account %q, want %q", u.AccountID, me.AccountID)
		case u.ID == bob.User.ID && (u.AccountID == "" || u.AccountID == me.AccountID):
			t.Errorf("FindUsers: bob has account %q, want one of his own", u.AccountID)
		}
	}
	if users, err := c.AccountUsers(ctx, "acc_nobody"); err != nil || len(users) != 0 {
		t.Errorf("an unknown account: %+v, %v; want none", users, err)
	}
	if _, err := c.AccountUsers(ctx, ""); wxlogin.ErrorCode(err) != wxlogin.EInvalidRequest {
		t.Errorf("an empty account id: err = %v, want invalid_request", err)
	}

	if err := c.EraseAccount(ctx, phone.User.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{phone.User.ID, other.User.ID} {
		if _, err := c.User(ctx, id); !errors.Is(err, wxlogin.ErrNotFound) {
			t.Errorf("user %s after erasing the account: err = %v, want not_found", id, err)
		}
	}
	s.call(http.MethodGet, "/v1/session", other.Token, nil, http.StatusUnauthorized, nil)
	if _, err := c.User(ctx, bob.User.ID); err != nil {
		t.Errorf("bob after erasing alice's account: %v", err)
	}
	if err := c.EraseAccount(ctx, phone.User.ID); !errors.Is(err, wxlogin.ErrNotFound) {
		t.Errorf("erasing again: err = %v, want not_found", err)
	}
}

// receiver is a webhook endpoint that counts the verified requests it got
// by event id.
type receiver struct {
	mu   sync.Mutex
	got  map[string]int
	bad  int
	srv  *httptest.Server
	hmac []byte
}

func newReceiver(t *testing.T, secret string) *receiver {
	r := &receiver{got: map[string]int{}, hmac: []byte(secret)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		err := webhooksig.Verify(r.hmac, req.Header.Get(webhooksig.SignatureHeader), b, time.Now(), 0)
		r.mu.Lock()
		if err != nil {
			r.bad++
		}
		r.got[req.Header.Get(webhooksig.EventIDHeader)]++
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) count(eventID string) (n, bad int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[eventID], r.bad
}

func TestClientWebhooks(t *testing.T) {
	t.Parallel()
	const secret = "whsec-adminclient-test-secret-0123"
	rcv := newReceiver(t, secret)
	var d *webhook.Dispatcher
	s := newServerWith(t, func(c *auth.Config, db *sqlitestore.DB) {
		var err error
		d, err = webhook.New(webhook.Config{
			Endpoints: []webhook.Endpoint{{URL: rcv.srv.URL, Secret: wxlogin.Secret(secret), Events: wxlogin.EventTypes()}},
			Store:     db, Logger: c.Logger,
		})
		if err != nil {
			t.Fatal(err)
		}
		c.Webhooks = d // not started: the test sends by RunOnce
	})
	ctx := t.Context()
	c := s.client(adminToken)
	alice := s.login(app1, "alice")

	pending, err := c.Deliveries(ctx, wxlogin.DeliveryFilter{State: wxlogin.DeliveryPending})
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Event != wxlogin.EventUserRegistered || pending[0].URL != rcv.srv.URL ||
		pending[0].ID == "" || pending[0].EventID == "" || pending[0].NextAttemptAt.IsZero() || pending[0].GiveUpAt.IsZero() {
		t.Fatalf("pending = %+v, want alice's registration due for the receiver", pending)
	}
	dl := pending[0]
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	delivered, err := c.Deliveries(ctx, wxlogin.DeliveryFilter{State: wxlogin.DeliveryDelivered, Event: wxlogin.EventUserRegistered, URL: rcv.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if len(delivered) != 1 || delivered[0].ID != dl.ID || delivered[0].Attempts != 1 || delivered[0].LastStatus != http.StatusNoContent ||
		!delivered[0].NextAttemptAt.IsZero() || delivered[0].LastAttemptAt.IsZero() {
		t.Errorf("delivered = %+v, want the one delivery, one attempt, 204", delivered)
	}
	if n, bad := rcv.count(dl.EventID); n != 1 || bad != 0 {
		t.Errorf("the receiver got the event %d times (%d unverified), want once", n, bad)
	}

	again, err := c.Redeliver(ctx, dl.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != dl.ID || again.State != wxlogin.DeliveryPending || again.NextAttemptAt.IsZero() {
		t.Errorf("Redeliver = %+v, want it pending and due", again)
	}
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n, bad := rcv.count(dl.EventID); n != 2 || bad != 0 {
		t.Errorf("after redelivering the receiver got the event %d times (%d unverified), want twice", n, bad)
	}

	if list, err := c.Deliveries(ctx, wxlogin.DeliveryFilter{Event: wxlogin.EventUserErased}); err != nil || len(list) != 0 {
		t.Errorf("erasures before any: %+v, %v; want none", list, err)
	}
	if err := c.EraseUser(ctx, alice.User.ID); err != nil {
		t.Fatal(err)
	}
	if list, err := c.Deliveries(ctx, wxlogin.DeliveryFilter{Limit: 1}); err != nil || len(list) != 1 || list[0].Event != wxlogin.EventUserErased {
		t.Errorf("the newest delivery: %+v, %v; want alice's erasure", list, err)
	}
	if _, err := c.Redeliver(ctx, "dlv_nosuchdelivery"); !errors.Is(err, wxlogin.ErrNotFound) {
		t.Errorf("an unknown delivery: err = %v, want not_found", err)
	}
	if _, err := c.Deliveries(ctx, wxlogin.DeliveryFilter{Limit: 5000}); wxlogin.ErrorCode(err) != wxlogin.EInvalidRequest {
		t.Errorf("limit 5000: err = %v, want invalid_request", err)
	}
}

// TestClientWeComSuiteMember: a member of a corp that installed a WeCom
// suite app, with the open_userid WeCom gave, through the client.
func TestClientWeComSuiteMember(t *testing.T) {
	t.Parallel()
	suite, corp := emulator.DevSuites()[0], emulator.DevCorps()[0]
	s := newServerWith(t, func(c *auth.Config, _ *sqlitestore.DB) {
		c.Apps = append(c.Apps, wxlogin.App{AppID: "suite-dev", Kind: wxlogin.KindWeComSuite, Secret: wxlogin.Secret(suite.Secret),
			Suite: &wxlogin.WeComSuite{SuiteID: suite.SuiteID, Token: wxlogin.Secret(suite.Token), EncodingAESKey: wxlogin.Secret(suite.EncodingAESKey)}})
	})
	s.em.PushPoll = time.Hour
	t.Cleanup(s.em.Close)
	if err := s.em.SetSuiteCallback(suite.SuiteID, s.srv.URL+"/v1/wecom/suite/"+suite.SuiteID+"/callback"); err != nil {
		t.Fatal(err)
	}
	if res, err := s.em.PushTicket(t.Context(), suite.SuiteID); err != nil || !res.Delivered {
		t.Fatalf("push: %+v, %v", res, err)
	}
	code, err := s.em.SuiteLogin(suite.SuiteID, corp.CorpID, "zhangsan")
	if err != nil {
		t.Fatal(err)
	}
	var member login
	s.call(http.MethodPost, "/v1/login", "", map[string]string{"appid": "suite-dev", "code": code}, http.StatusOK, &member)
	u, err := s.client(adminToken).User(t.Context(), member.User.ID)
	if err != nil || u.CorpID != corp.CorpID || u.WeComUserID != "zhangsan" || u.OpenUserID == "" || u.OpenID != "" {
		t.Errorf("User = %+v, %v; want zhangsan of %s with an open_userid", u, err, corp.CorpID)
	}
}
