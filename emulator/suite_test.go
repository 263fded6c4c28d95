package emulator_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/wecomcrypt"
)

var devSuite = emulator.DevSuites()[0]

type suiteAnswer struct {
	ErrCode          int    `json:"errcode"`
	ErrMsg           string `json:"errmsg"`
	SuiteAccessToken string `json:"suite_access_token"`
	ExpiresIn        int64  `json:"expires_in"`
	CorpID           string `json:"corpid"`
	UserID           string `json:"userid"`
	SessionKey       string `json:"session_key"`
	OpenUserID       string `json:"open_userid"`
}

// receiver is a suite's callback as a provider writes it: it verifies
// msg_signature, opens echostr and the pushed messages, and keeps the
// tickets.
type receiver struct {
	t       *testing.T
	key     wecomcrypt.Key
	mu      sync.Mutex
	tickets []string
	auths   []authMessage // the pushes other than suite_ticket
	gets    int
	answer  string // what a POST answers; "" means success
	badEcho bool   // answer the verification with something else
}

// authMessage is an authorization change a receiver was pushed.
type authMessage struct {
	InfoType   string `xml:"InfoType"`
	AuthCorpID string `xml:"AuthCorpId"`
	AuthCode   string `xml:"AuthCode"`
}

func newReceiver(t *testing.T) *receiver {
	k, err := wecomcrypt.ParseKey(devSuite.EncodingAESKey)
	if err != nil {
		t.Fatal(err)
	}
	return &receiver{t: t, key: k}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	open := func(enc string) ([]byte, error) {
		return wecomcrypt.Open(rc.key, devSuite.Token, devSuite.SuiteID, q.Get("timestamp"), q.Get("nonce"), enc, q.Get("msg_signature"))
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if r.Method == http.MethodGet {
		rc.gets++
		plain, err := open(q.Get("echostr"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if rc.badEcho {
			plain = []byte("nope")
		}
		w.Write(plain)
		return
	}
	body, _ := io.ReadAll(r.Body)
	env, err := wecomcrypt.ParseEnvelope(body)
	if err != nil || env.ToUserName != devSuite.SuiteID {
		http.Error(w, "bad envelope", http.StatusBadRequest)
		return
	}
	plain, err := open(env.Encrypt)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var m struct {
		SuiteID     string `xml:"SuiteId"`
		InfoType    string `xml:"InfoType"`
		SuiteTicket string `xml:"SuiteTicket"`
		TimeStamp   int64  `xml:"TimeStamp"`
		authMessage
	}
	if err := xml.Unmarshal(plain, &m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if m.InfoType != "suite_ticket" {
		if m.SuiteID != devSuite.SuiteID || m.TimeStamp < t0.Unix() {
			rc.t.Errorf("pushed message %+v", m)
		}
		m.authMessage.InfoType = m.InfoType
		rc.auths = append(rc.auths, m.authMessage)
		io.WriteString(w, "success")
		return
	}
	if m.SuiteID != devSuite.SuiteID || m.InfoType != "suite_ticket" || m.SuiteTicket == "" || m.TimeStamp < t0.Unix() {
		rc.t.Errorf("pushed message %+v", m)
	}
	rc.tickets = append(rc.tickets, m.SuiteTicket)
	if rc.answer != "" {
		io.WriteString(w, rc.answer)
		return
	}
	io.WriteString(w, "success")
}

func (f *fixture) suiteToken(t *testing.T, secret, ticket string) suiteAnswer {
	t.Helper()
	var a suiteAnswer
	f.jsonCall(t, http.MethodPost, "/cgi-bin/service/get_suite_token",
		map[string]string{"suite_id": devSuite.SuiteID, "suite_secret": secret, "suite_ticket": ticket}, &a)
	return a
}

func (f *fixture) suiteSession(t *testing.T, token, code string) suiteAnswer {
	t.Helper()
	var a suiteAnswer
	q := url.Values{"suite_access_token": {token}, "js_code": {code}, "grant_type": {"authorization_code"}}
	f.jsonCall(t, http.MethodGet, "/cgi-bin/service/miniprogram/jscode2session?"+q.Encode(), nil, &a)
	return a
}

func (f *fixture) jsonCall(t *testing.T, method, path string, body, out any) {
	t.Helper()
	status, b := f.do(t, method, path, body)
	if status != http.StatusOK {
		t.Fatalf("%s: status %d", path, status)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s: %v in %s", path, err, b)
	}
}

func TestSuitePushAndLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rc := newReceiver(t)
	cb := httptest.NewServer(rc)
	t.Cleanup(cb.Close)
	f.em.PushPoll = time.Hour
	t.Cleanup(f.em.Close)

	// No callback URL yet: nothing to push to.
	if status, env := f.device(t, http.MethodPost, "/emulator/v1/wecom/suites/"+devSuite.SuiteID+"/push_ticket", nil, nil); status != 400 || env.Error.Code != wxlogin.EInvalidRequest {
		t.Errorf("push without a URL: %d %+v", status, env)
	}
	var view emulator.SuiteView
	if status, env := f.device(t, http.MethodPut, "/emulator/v1/wecom/suites/"+devSuite.SuiteID, map[string]string{"callback_url": cb.URL + "/cb"}, &view); status != 200 || view.CallbackURL != cb.URL+"/cb" || view.Verified {
		t.Fatalf("register: %d %+v %+v", status, env, view)
	}
	var res emulator.PushResult
	if status, env := f.device(t, http.MethodPost, "/emulator/v1/wecom/suites/"+devSuite.SuiteID+"/push_ticket", nil, &res); status != 200 || !res.Verified || !res.Delivered || res.Answer != "success" {
		t.Fatalf("push: %d %+v %+v", status, env, res)
	}
	// Verified once; the second push goes straight to the POST.
	if res, err := f.em.PushTicket(t.Context(), devSuite.SuiteID); err != nil || res.Verified || !res.Delivered {
		t.Fatalf("second push: %+v %v", res, err)
	}
	if rc.gets != 1 || len(rc.tickets) != 2 || rc.tickets[0] == rc.tickets[1] || f.em.LatestSuiteTicket(devSuite.SuiteID) != rc.tickets[1] {
		t.Fatalf("receiver: %d verifications, tickets %q", rc.gets, rc.tickets)
	}
	ticket := rc.tickets[1]

	// get_suite_token: WeCom's errcodes, then the same token until it expires.
	for _, tt := range []struct {
		name, secret, ticket string
		want                 int
	}{
		{"wrong secret", "not-it", ticket, 40001},
		{"unknown ticket", devSuite.Secret, "made-up", 40085},
	} {
		if a := f.suiteToken(t, tt.secret, tt.ticket); a.ErrCode != tt.want || a.SuiteAccessToken != "" || !strings.Contains(a.ErrMsg, ", hint: [") {
			t.Errorf("%s: %+v, want %d", tt.name, a, tt.want)
		}
	}
	var unknown suiteAnswer
	f.jsonCall(t, http.MethodPost, "/cgi-bin/service/get_suite_token", map[string]string{"suite_id": "wwnosuch", "suite_secret": "x", "suite_ticket": ticket}, &unknown)
	if unknown.ErrCode != 40083 {
		t.Errorf("unknown suite: %+v", unknown)
	}
	tok := f.suiteToken(t, devSuite.Secret, ticket)
	if tok.ErrCode != 0 || tok.SuiteAccessToken == "" || tok.ExpiresIn != 7200 {
		t.Fatalf("get_suite_token: %+v", tok)
	}
	if again := f.suiteToken(t, devSuite.Secret, rc.tickets[0]); again.SuiteAccessToken != tok.SuiteAccessToken {
		t.Errorf("a second get_suite_token gave another token")
	}

	// A member of an installing corp logs in under the suite.
	code, err := f.em.SuiteLogin(devSuite.SuiteID, corp1, "zhangsan")
	if err != nil {
		t.Fatal(err)
	}
	a := f.suiteSession(t, tok.SuiteAccessToken, code)
	key, _ := f.em.SuiteSessionKey(devSuite.SuiteID, corp1, "zhangsan")
	if a.ErrCode != 0 || a.CorpID != corp1 || a.UserID != "zhangsan" || a.SessionKey != key ||
		a.OpenUserID != emulator.OpenUserID(devSuite.SuiteID, corp1, "zhangsan") || a.OpenUserID == "" {
		t.Fatalf("jscode2session: %+v", a)
	}
	// Codes work once and 5 minutes; tokens are checked first.
	code2, _ := f.em.SuiteLogin(devSuite.SuiteID, corp2, "lisi")
	for _, tt := range []struct {
		name, token, code string
		want              int
	}{
		{"used code", tok.SuiteAccessToken, code, 40029},
		{"unknown code", tok.SuiteAccessToken, "nonsense", 40029},
		{"a WeCom corp's code", tok.SuiteAccessToken, f.weComLogin(t, corp1, "zhangsan"), 40029},
		{"no token", "", code2, 41001},
		{"unknown token", "made-up", code2, 40082},
	} {
		if a := f.suiteSession(t, tt.token, tt.code); a.ErrCode != tt.want {
			t.Errorf("%s: %+v, want %d", tt.name, a, tt.want)
		}
	}
	// WeCom ends the token early: 42009; get_suite_token then issues a new one.
	if err := f.em.ExpireSuiteToken(devSuite.SuiteID); err != nil {
		t.Fatal(err)
	}
	if a := f.suiteSession(t, tok.SuiteAccessToken, code2); a.ErrCode != 42009 {
		t.Errorf("expired token: %+v, want 42009", a)
	}
	fresh := f.suiteToken(t, devSuite.Secret, ticket)
	if fresh.SuiteAccessToken == "" || fresh.SuiteAccessToken == tok.SuiteAccessToken {
		t.Fatalf("after expiry: %+v", fresh)
	}
	if a := f.suiteSession(t, fresh.SuiteAccessToken, code2); a.ErrCode != 0 || a.CorpID != corp2 {
		t.Errorf("with the new token: %+v", a)
	}
	// Tickets live 30 minutes; codes 5.
	code3, _ := f.em.SuiteLogin(devSuite.SuiteID, corp1, "wangwu")
	f.em.Advance(6 * time.Minute)
	if a := f.suiteSession(t, fresh.SuiteAccessToken, code3); a.ErrCode != 40029 {
		t.Errorf("expired code: %+v", a)
	}
	f.em.Advance(25 * time.Minute)
	if a := f.suiteToken(t, devSuite.Secret, ticket); a.ErrCode != 40085 {
		t.Errorf("ticket after 31 minutes: %+v, want 40085", a)
	}

	// The calls log keeps none of the suite's secrets.
	calls, _ := f.em.Calls(0)
	for _, c := range calls {
		for _, k := range []string{"suite_secret", "suite_ticket", "suite_access_token", "session_key"} {
			if v, ok := c.Request[k]; ok && v != "(redacted)" {
				t.Errorf("call %s logs %s = %v", c.API, k, v)
			}
		}
		if m, ok := c.Response.(map[string]any); ok {
			for _, k := range []string{"suite_access_token", "session_key"} {
				if v, ok := m[k]; ok && v != "(redacted)" {
					t.Errorf("call %s answer logs %s", c.API, k)
				}
			}
		}
	}
}

func TestSuiteRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.em.PushPoll = time.Hour
	t.Cleanup(f.em.Close)

	// A corp that did not install the suite gets no code; an unknown suite is 404.
	em := &emulator.Emulator{Corps: append(emulator.DevCorps(), emulator.Corp{CorpID: "wwother", Secret: "s"})}
	if _, err := em.SuiteLogin(devSuite.SuiteID, "wwother", "zhangsan"); !errors.Is(err, &emulator.DeviceError{Code: wxlogin.EUnknownApp}) {
		t.Errorf("not installed: %v", err)
	}
	if status, env := f.device(t, http.MethodPost, "/emulator/v1/wecom/suites/wwnosuch/login", map[string]string{"corpid": corp1, "user": "zhangsan"}, nil); status != 404 {
		t.Errorf("unknown suite: %d %+v", status, env)
	}
	if status, env := f.device(t, http.MethodPut, "/emulator/v1/wecom/suites/"+devSuite.SuiteID, map[string]string{"callback_url": "not a url"}, nil); status != 400 {
		t.Errorf("bad callback_url: %d %+v", status, env)
	}

	// A URL that fails verification is not pushed to.
	rc := newReceiver(t)
	rc.badEcho = true
	cb := httptest.NewServer(rc)
	t.Cleanup(cb.Close)
	if err := f.em.SetSuiteCallback(devSuite.SuiteID, cb.URL); err != nil {
		t.Fatal(err)
	}
	if _, err := f.em.PushTicket(context.Background(), devSuite.SuiteID); err == nil || !strings.Contains(err.Error(), "failed verification") {
		t.Errorf("push to a URL that fails verification: %v", err)
	}
	if len(rc.tickets) != 0 || f.em.SuiteList()[0].Verified {
		t.Errorf("pushed %q to an unverified URL", rc.tickets)
	}
	// A callback that does not answer success: issued, not delivered.
	rc.mu.Lock()
	rc.badEcho, rc.answer = false, "fail"
	rc.mu.Unlock()
	res, err := f.em.PushTicket(context.Background(), devSuite.SuiteID)
	if err != nil || res.Delivered || res.Answer != "fail" || len(rc.tickets) != 1 {
		t.Errorf("push answered fail: %+v %v", res, err)
	}
}

// TestSuitePeriodicPush: a registered URL gets a ticket at once and
// another every 10 minutes of the emulator's clock.
func TestSuitePeriodicPush(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.em.PushPoll = 2 * time.Millisecond
	t.Cleanup(f.em.Close)
	rc := newReceiver(t)
	cb := httptest.NewServer(rc)
	t.Cleanup(cb.Close)
	if err := f.em.SetSuiteCallback(devSuite.SuiteID, cb.URL); err != nil {
		t.Fatal(err)
	}
	count := func() int { rc.mu.Lock(); defer rc.mu.Unlock(); return len(rc.tickets) }
	waitFor := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); count() < n; time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d pushes, want %d", count(), n)
			}
		}
	}
	waitFor(1)
	time.Sleep(50 * time.Millisecond) // many polls, no clock movement
	if n := count(); n != 1 {
		t.Fatalf("%d pushes without the clock moving, want 1", n)
	}
	f.em.Advance(10 * time.Minute)
	waitFor(2)
	f.em.Close()
}

// TestSuiteConfiguredCallback: a callback URL in the emulator's
// configuration is pushed to without being registered again.
func TestSuiteConfiguredCallback(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	cb := httptest.NewServer(rc)
	t.Cleanup(cb.Close)
	s := devSuite
	s.CallbackURL = cb.URL
	em := &emulator.Emulator{Suites: []emulator.Suite{s}, PushPoll: 2 * time.Millisecond}
	t.Cleanup(em.Close)
	em.SuiteList() // the first use starts it
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		rc.mu.Lock()
		n := len(rc.tickets)
		rc.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no push to the configured callback URL")
		}
	}
}

// TestSuiteUninstallAndInstall: a corp's uninstall pushes cancel_auth with
// its corpid to the callback, its members' untraded codes then answer
// 40029 and their wx.qy.login fails, the other corp is untouched; an
// install pushes create_auth and lets the members log in again.
func TestSuiteUninstallAndInstall(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rc := newReceiver(t)
	cb := httptest.NewServer(rc)
	t.Cleanup(cb.Close)
	f.em.PushPoll = time.Hour
	t.Cleanup(f.em.Close)
	if err := f.em.SetSuiteCallback(devSuite.SuiteID, cb.URL); err != nil {
		t.Fatal(err)
	}
	if _, err := f.em.PushTicket(t.Context(), devSuite.SuiteID); err != nil {
		t.Fatal(err)
	}
	tok := f.suiteToken(t, devSuite.Secret, f.em.LatestSuiteTicket(devSuite.SuiteID))
	pending, _ := f.em.SuiteLogin(devSuite.SuiteID, corp1, "zhangsan")
	other, _ := f.em.SuiteLogin(devSuite.SuiteID, corp2, "lisi")

	uninstall := "/emulator/v1/wecom/suites/" + devSuite.SuiteID + "/corps/" + corp1 + "/uninstall"
	var res emulator.PushResult
	if status, env := f.device(t, http.MethodPost, uninstall, nil, &res); status != 200 || !res.Delivered || res.Verified {
		t.Fatalf("uninstall: %d %+v %+v", status, env, res)
	}
	if len(rc.auths) != 1 || rc.auths[0] != (authMessage{InfoType: "cancel_auth", AuthCorpID: corp1}) {
		t.Fatalf("pushed %+v, want one cancel_auth of %s", rc.auths, corp1)
	}
	if a := f.suiteSession(t, tok.SuiteAccessToken, pending); a.ErrCode != 40029 {
		t.Errorf("a code of the uninstalled corp: %+v, want 40029", a)
	}
	if _, err := f.em.SuiteLogin(devSuite.SuiteID, corp1, "zhangsan"); err == nil {
		t.Error("wx.qy.login in the uninstalled corp gave a code")
	}
	if a := f.suiteSession(t, tok.SuiteAccessToken, other); a.ErrCode != 0 || a.CorpID != corp2 {
		t.Errorf("the other corp's code: %+v", a)
	}
	for _, v := range f.em.SuiteList() {
		if v.SuiteID == devSuite.SuiteID && (len(v.Corps) != 1 || v.Corps[0] != corp2) {
			t.Errorf("corps after the uninstall: %v", v.Corps)
		}
	}
	if status, env := f.device(t, http.MethodPost, uninstall, nil, nil); status != 404 || env.Error.Code != wxlogin.ENotFound {
		t.Errorf("a second uninstall: %d %+v, want 404", status, env)
	}

	if status, env := f.device(t, http.MethodPost, "/emulator/v1/wecom/suites/"+devSuite.SuiteID+"/corps/"+corp1+"/install", nil, &res); status != 200 || !res.Delivered {
		t.Fatalf("install: %d %+v %+v", status, env, res)
	}
	if len(rc.auths) != 2 || rc.auths[1].InfoType != "create_auth" || rc.auths[1].AuthCode == "" {
		t.Fatalf("pushed %+v, want a create_auth with an AuthCode", rc.auths)
	}
	code, err := f.em.SuiteLogin(devSuite.SuiteID, corp1, "zhangsan")
	if err != nil {
		t.Fatal(err)
	}
	if a := f.suiteSession(t, tok.SuiteAccessToken, code); a.ErrCode != 0 || a.CorpID != corp1 {
		t.Errorf("after the re-install: %+v", a)
	}
}
