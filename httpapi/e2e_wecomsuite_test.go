package httpapi_test

// WeCom third-party (suite) mini programs end to end: the emulator, as
// WeCom, verifies the suite's callback URL and pushes an encrypted
// suite_ticket to it; a member of an installing corp logs in with a
// wx.qy.login code under the suite; forged callbacks change nothing.

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/wecomcrypt"
)

// suiteApp is the wxlogin app of the emulator's dev suite.
const suiteApp = "suite-dev"

var devSuite = emulator.DevSuites()[0]

// withSuite adds the dev suite's app, admitting only corps when any are
// given. The emulator pushes only when a test asks (PushPoll an hour).
func withSuite(corps ...string) option {
	return func(w *world, c *auth.Config, _ *httpapi.Config) {
		w.em.PushPoll = time.Hour
		w.t.Cleanup(w.em.Close)
		c.Apps = append(c.Apps, wxlogin.App{AppID: suiteApp, Kind: wxlogin.KindWeComSuite,
			Secret: wxlogin.Secret(devSuite.Secret),
			Suite: &wxlogin.WeComSuite{SuiteID: devSuite.SuiteID, Token: wxlogin.Secret(devSuite.Token),
				EncodingAESKey: wxlogin.Secret(devSuite.EncodingAESKey), CorpIDs: corps}})
	}
}

func suiteCallbackPath(id string) string { return "/v1/wecom/suite/" + id + "/callback" }

// registerCallback makes url the dev suite's callback URL in the emulator;
// "" means the world's own route.
func (w *world) registerCallback(u string) {
	w.t.Helper()
	if u == "" {
		u = w.srv.URL + suiteCallbackPath(devSuite.SuiteID)
	}
	if err := w.em.SetSuiteCallback(devSuite.SuiteID, u); err != nil {
		w.t.Fatal(err)
	}
}

// push has the emulator push a suite_ticket and fails unless the callback
// took it.
func (w *world) push() emulator.PushResult {
	w.t.Helper()
	res, err := w.em.PushTicket(context.Background(), devSuite.SuiteID)
	if err != nil || !res.Delivered {
		w.t.Fatalf("push: %+v, %v", res, err)
	}
	return res
}

func (w *world) suiteCode(corpid, user string) string {
	w.t.Helper()
	c, err := w.em.SuiteLogin(devSuite.SuiteID, corpid, user)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

type suiteUserBody struct {
	ID         string  `json:"id"`
	AppID      string  `json:"appid"`
	OpenID     *string `json:"openid"`
	CorpID     string  `json:"corpid"`
	UserID     string  `json:"userid"`
	OpenUserID string  `json:"open_userid"`
	Created    *bool   `json:"created"`
}

func TestWeComSuiteLogin(t *testing.T) {
	eachStore(t, func(t *testing.T, kind storeKind) {
		w := newWorldOn(t, kind, withSuite())
		login := func(code string) response {
			return w.request("POST", "/v1/login", "", map[string]string{"appid": suiteApp, "code": code})
		}

		// Before WeCom pushed any suite_ticket: 503 with a message that
		// says so, and nothing stored.
		before := w.snapshot()
		r := login(w.suiteCode(devCorp1.CorpID, "zhangsan"))
		e := r.fails(t, 503, wxlogin.EUpstreamUnavailable)
		if !strings.Contains(e.Error.Message, "suite_ticket") || r.header.Get("Retry-After") == "" {
			t.Errorf("ticket-less login: %q, Retry-After %q; want a message naming the suite_ticket and a Retry-After", e.Error.Message, r.header.Get("Retry-After"))
		}
		if diff := cmp.Diff(before, w.snapshot()); diff != "" {
			t.Errorf("the ticket-less login wrote (-want +got):\n%s", diff)
		}

		// The emulator verifies the URL (echostr), then pushes the ticket.
		w.registerCallback("")
		if res := w.push(); !res.Verified {
			t.Errorf("first push did not verify the URL: %+v", res)
		}

		code := w.suiteCode(devCorp1.CorpID, "zhangsan")
		var lb struct {
			Token string        `json:"token"`
			User  suiteUserBody `json:"user"`
		}
		login(code).ok(t, 200, &lb)
		wantOpen := emulator.OpenUserID(devSuite.SuiteID, devCorp1.CorpID, "zhangsan")
		if lb.User.CorpID != devCorp1.CorpID || lb.User.UserID != "zhangsan" || lb.User.OpenID != nil ||
			lb.User.OpenUserID != wantOpen || lb.User.AppID != suiteApp || lb.User.Created == nil || !*lb.User.Created {
			t.Fatalf("login user = %+v, want corp %s, userid zhangsan, open_userid %s, no openid, created", lb.User, devCorp1.CorpID, wantOpen)
		}

		// A member of the other installing corp: another user.
		var other struct{ User suiteUserBody }
		login(w.suiteCode(devCorp2.CorpID, "zhangsan")).ok(t, 200, &other)
		if other.User.ID == lb.User.ID || other.User.CorpID != devCorp2.CorpID {
			t.Errorf("member of the second corp: %+v", other.User)
		}

		// Again: the same user, not created.
		var again struct{ User suiteUserBody }
		login(w.suiteCode(devCorp1.CorpID, "zhangsan")).ok(t, 200, &again)
		if again.User.ID != lb.User.ID || *again.User.Created || again.User.OpenUserID != wantOpen {
			t.Errorf("second login: %+v, want user %s not created", again.User, lb.User.ID)
		}

		// The session and /v1/me show the member and its open_userid.
		for _, path := range []string{"/v1/session", "/v1/me"} {
			var body struct{ User suiteUserBody }
			var me suiteUserBody
			r := w.request("GET", path, lb.Token, nil)
			if path == "/v1/me" {
				r.ok(t, 200, &me)
			} else {
				r.ok(t, 200, &body)
				me = body.User
			}
			if me.CorpID != devCorp1.CorpID || me.UserID != "zhangsan" || me.OpenUserID != wantOpen {
				t.Errorf("%s user = %+v", path, me)
			}
		}

		// Forward-auth as for a WeCom app: corp and userid, forged values replaced.
		r = w.request("GET", "/v1/auth", lb.Token, nil, "X-Wxlogin-Corpid", "wwforged")
		for h, want := range map[string]string{
			"X-Wxlogin-User-Id": lb.User.ID, "X-Wxlogin-Appid": suiteApp, "X-Wxlogin-Openid": "",
			"X-Wxlogin-Corpid": devCorp1.CorpID, "X-Wxlogin-Wecom-Userid": "zhangsan",
		} {
			if v := r.header.Values(h); r.status != 200 || len(v) != 1 || v[0] != want {
				t.Errorf("%s = %q (status %d), want %q", h, v, r.status, want)
			}
		}

		var at struct {
			AccessToken string `json:"access_token"`
		}
		w.request("GET", "/v1/admin/apps/"+suiteApp+"/access_token", adminToken, nil).ok(t, 200, &at)
		key, err := w.em.SuiteSessionKey(devSuite.SuiteID, devCorp1.CorpID, "zhangsan")
		ticket := w.em.LatestSuiteTicket(devSuite.SuiteID)
		if err != nil || key == "" || ticket == "" || at.AccessToken == "" {
			t.Fatalf("session key %q (%v), ticket %q, suite token %q", key, err, ticket, at.AccessToken)
		}
		w.assertNotStored([]string{lb.Token}, []string{key})
		w.assertNoSecrets(devSuite.Secret, devSuite.Token, devSuite.EncodingAESKey, ticket, at.AccessToken, lb.Token, code, key)
	})
}

// sealedPush is a callback request as WeCom makes it, from the test's own
// hand: msg sealed for receiver, signed with token.
func sealedPush(t *testing.T, token, receiver, msg string, ts time.Time) (query url.Values, body []byte) {
	t.Helper()
	k, err := wecomcrypt.ParseKey(devSuite.EncodingAESKey)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := wecomcrypt.Seal(k, receiver, []byte(msg), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	stamp := strconv.FormatInt(ts.Unix(), 10)
	q := url.Values{"msg_signature": {wecomcrypt.Signature(token, stamp, "1234", enc)}, "timestamp": {stamp}, "nonce": {"1234"}}
	return q, wecomcrypt.MarshalEnvelope(receiver, enc, "")
}

func ticketMessage(suiteID, ticket string, ts time.Time) string {
	return "<xml><SuiteId><![CDATA[" + suiteID + "]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType><TimeStamp>" +
		strconv.FormatInt(ts.Unix(), 10) + "</TimeStamp><SuiteTicket><![CDATA[" + ticket + "]]></SuiteTicket></xml>"
}

func TestWeComSuiteForgedCallbacks(t *testing.T) {
	t.Parallel()
	w := newWorld(t, withSuite())
	now := w.clock.Now()
	path := suiteCallbackPath(devSuite.SuiteID)
	post := func(q url.Values, body []byte) response {
		return w.request("POST", path+"?"+q.Encode(), "", body, "Content-Type", "text/xml")
	}
	forged := ticketMessage(devSuite.SuiteID, "forged-ticket-0123456789", now)
	goodQ, goodBody := sealedPush(t, devSuite.Token, devSuite.SuiteID, forged, now)

	before := w.snapshot()
	t.Run("wrong token", func(t *testing.T) {
		q, body := sealedPush(t, "not-the-token", devSuite.SuiteID, forged, now)
		post(q, body).fails(t, 400, wxlogin.EInvalidSignature)
	})
	t.Run("tampered body", func(t *testing.T) {
		_, other := sealedPush(t, devSuite.Token, devSuite.SuiteID, ticketMessage(devSuite.SuiteID, "another-ticket-0123", now), now)
		post(goodQ, other).fails(t, 400, wxlogin.EInvalidSignature)
	})
	t.Run("tampered signature", func(t *testing.T) {
		sig := goodQ.Get("msg_signature")
		first := "0"
		if sig[0] == '0' { // a sixteenth of the signatures start with 0: change it for real
			first = "1"
		}
		q := url.Values{"msg_signature": {first + sig[1:]}, "timestamp": goodQ["timestamp"], "nonce": goodQ["nonce"]}
		post(q, goodBody).fails(t, 400, wxlogin.EInvalidSignature)
	})
	t.Run("another receiver", func(t *testing.T) {
		q, body := sealedPush(t, devSuite.Token, "wwsomeoneelse", forged, now)
		post(q, body).fails(t, 400, wxlogin.EInvalidRequest)
	})
	t.Run("another suite's message", func(t *testing.T) {
		q, body := sealedPush(t, devSuite.Token, devSuite.SuiteID, ticketMessage("wwsomeoneelse", "x-ticket-0123", now), now)
		post(q, body).fails(t, 400, wxlogin.EInvalidRequest)
	})
	t.Run("unknown suite", func(t *testing.T) {
		w.request("POST", suiteCallbackPath("wwunknown")+"?"+goodQ.Encode(), "", goodBody).fails(t, 404, wxlogin.ENotFound)
	})
	t.Run("not XML", func(t *testing.T) {
		post(goodQ, []byte("ticket=1")).fails(t, 400, wxlogin.EInvalidRequest)
	})
	t.Run("too large", func(t *testing.T) {
		post(goodQ, []byte(strings.Repeat("<xml>", 4<<10))).fails(t, 413, wxlogin.ERequestTooLarge)
	})
	t.Run("stale ticket", func(t *testing.T) {
		old := now.Add(-31 * time.Minute)
		q, body := sealedPush(t, devSuite.Token, devSuite.SuiteID, ticketMessage(devSuite.SuiteID, "old-ticket-0123", old), old)
		post(q, body).fails(t, 400, wxlogin.EInvalidRequest)
	})
	t.Run("echostr with a bad signature", func(t *testing.T) {
		q := url.Values{"msg_signature": {strings.Repeat("0", 40)}, "timestamp": goodQ["timestamp"], "nonce": goodQ["nonce"], "echostr": {"abc"}}
		w.request("GET", path+"?"+q.Encode(), "", nil).fails(t, 400, wxlogin.EInvalidSignature)
	})
	// None of that left a ticket: logins still wait for WeCom's.
	w.request("POST", "/v1/login", "", map[string]string{"appid": suiteApp, "code": w.suiteCode(devCorp1.CorpID, "lisi")}).
		fails(t, 503, wxlogin.EUpstreamUnavailable)

	// Other messages are acknowledged and change nothing.
	q, body := sealedPush(t, devSuite.Token, devSuite.SuiteID,
		"<xml><SuiteId><![CDATA["+devSuite.SuiteID+"]]></SuiteId><InfoType><![CDATA[create_auth]]></InfoType><AuthCode><![CDATA[abc]]></AuthCode><TimeStamp>1</TimeStamp></xml>", now)
	if r := post(q, body); r.status != 200 || string(r.body) != "success" {
		t.Errorf("create_auth: %d %q, want 200 success", r.status, r.body)
	}

	// A correctly signed ticket that WeCom never issued is kept, refused
	// by get_suite_token (40085) and dropped: 503, and the next real push
	// mends it.
	if r := post(goodQ, goodBody); r.status != 200 || string(r.body) != "success" {
		t.Fatalf("signed push: %d %q", r.status, r.body)
	}
	w.request("POST", "/v1/login", "", map[string]string{"appid": suiteApp, "code": w.suiteCode(devCorp1.CorpID, "lisi")}).
		fails(t, 503, wxlogin.EUpstreamUnavailable)
	if diff := cmp.Diff(before, w.snapshot()); diff != "" {
		t.Errorf("refused callbacks and logins wrote (-want +got):\n%s", diff)
	}
	w.registerCallback("")
	w.push()
	w.request("POST", "/v1/login", "", map[string]string{"appid": suiteApp, "code": w.suiteCode(devCorp1.CorpID, "lisi")}).ok(t, 200, nil)
	w.assertNoSecrets(devSuite.Secret, devSuite.Token, devSuite.EncodingAESKey, "forged-ticket-0123456789", w.em.LatestSuiteTicket(devSuite.SuiteID))
}

// recorder passes the emulator's pushes on to the world's callback and
// keeps a copy of each, for a replay.
type recorder struct {
	mu     sync.Mutex
	target string
	posts  []recorded
}

type recorded struct {
	query string
	body  []byte
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Method == http.MethodPost {
		rec.mu.Lock()
		rec.posts = append(rec.posts, recorded{r.URL.RawQuery, body})
		rec.mu.Unlock()
	}
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, rec.target+"?"+r.URL.RawQuery, strings.NewReader(string(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// TestWeComSuiteTicketReplay: an older push replayed after a newer one is
// answered (it is WeCom's, correctly signed) but does not displace the
// newer ticket; a suite_access_token WeCom ended early (42009) is renewed
// once, with the ticket kept.
func TestWeComSuiteTicketReplay(t *testing.T) {
	t.Parallel()
	w := newWorld(t, withSuite())
	rec := &recorder{target: w.srv.URL + suiteCallbackPath(devSuite.SuiteID)}
	proxy := httptest.NewServer(rec)
	t.Cleanup(proxy.Close)
	w.registerCallback(proxy.URL + "/cb")

	w.push()
	w.clock.Advance(10 * time.Minute)
	w.push()
	w.clock.Advance(5 * time.Minute)
	if len(rec.posts) != 2 {
		t.Fatalf("recorded %d pushes, want 2", len(rec.posts))
	}
	first := rec.posts[0]
	r := w.request("POST", suiteCallbackPath(devSuite.SuiteID)+"?"+first.query, "", first.body)
	if r.status != 200 || string(r.body) != "success" {
		t.Fatalf("replayed push: %d %s", r.status, r.body)
	}

	login := func(user string) {
		t.Helper()
		w.request("POST", "/v1/login", "", map[string]string{"appid": suiteApp, "code": w.suiteCode(devCorp1.CorpID, user)}).ok(t, 200, nil)
	}
	login("wangwu") // buys the suite_access_token with the newer ticket
	// Past the first ticket's 30 minutes, within the second's; WeCom ends
	// the token early: the login gets 42009, renews with the kept
	// ticket, and succeeds. Had the replay displaced the newer ticket,
	// get_suite_token would refuse the expired one.
	w.clock.Advance(16 * time.Minute)
	if err := w.em.ExpireSuiteToken(devSuite.SuiteID); err != nil {
		t.Fatal(err)
	}
	w.em.ResetStats()
	login("zhaoliu")
	st := w.em.Stats().APIs
	if got := st[emulator.APIWeComSuiteJSCode2Session].ErrCodes; got["42009"] != 1 || got["0"] != 1 {
		t.Errorf("jscode2session answers = %v, want one 42009 and one success", got)
	}
	if got := st[emulator.APIWeComSuiteToken].ErrCodes; got["0"] != 1 || len(got) != 1 {
		t.Errorf("get_suite_token answers = %v, want one success", got)
	}
}

func TestWeComSuiteCorpIDs(t *testing.T) {
	t.Parallel()
	w := newWorld(t, withSuite(devCorp1.CorpID))
	w.registerCallback("")
	w.push()
	before := w.snapshot()
	w.request("POST", "/v1/login", "", map[string]string{"appid": suiteApp, "code": w.suiteCode(devCorp2.CorpID, "lisi")}).
		fails(t, 403, wxlogin.EWrongCorp)
	if diff := cmp.Diff(before, w.snapshot()); diff != "" {
		t.Errorf("the refused login wrote (-want +got):\n%s", diff)
	}
	w.request("POST", "/v1/login", "", map[string]string{"appid": suiteApp, "code": w.suiteCode(devCorp1.CorpID, "lisi")}).ok(t, 200, nil)

	// WeCom busy at jscode2session: 503 with Retry-After, nothing stored.
	if err := w.em.InjectFault(emulator.Fault{API: emulator.APIWeComSuiteJSCode2Session, ErrCode: -1}); err != nil {
		t.Fatal(err)
	}
	before = w.snapshot()
	r := w.request("POST", "/v1/login", "", map[string]string{"appid": suiteApp, "code": w.suiteCode(devCorp1.CorpID, "wangwu")})
	r.fails(t, 503, wxlogin.EUpstreamUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if diff := cmp.Diff(before, w.snapshot()); diff != "" {
		t.Errorf("the failed login wrote (-want +got):\n%s", diff)
	}
}

// TestWeComSuiteWrongSecret: a suite_secret WeCom refuses is the
// configuration: 502 upstream_rejected, and the secret is nowhere.
func TestWeComSuiteWrongSecret(t *testing.T) {
	t.Parallel()
	w := newWorld(t, withSuite(), func(_ *world, c *auth.Config, _ *httpapi.Config) {
		c.Apps[len(c.Apps)-1].Secret = "not-the-suite-secret"
	})
	w.registerCallback("")
	w.push()
	w.request("POST", "/v1/login", "", map[string]string{"appid": suiteApp, "code": w.suiteCode(devCorp1.CorpID, "zhaoliu")}).
		fails(t, 502, wxlogin.EUpstreamRejected)
	w.assertNoSecrets("not-the-suite-secret", w.em.LatestSuiteTicket(devSuite.SuiteID))
}

// TestWeComSuitePeriodicPush: once the callback URL is registered, the
// emulator verifies it and pushes a ticket, then another every 10 minutes
// of its clock.
func TestWeComSuitePeriodicPush(t *testing.T) {
	t.Parallel()
	w := newWorld(t, withSuite())
	w.em.Configure(func(e *emulator.Emulator) { e.PushPoll = 5 * time.Millisecond })
	w.registerCallback("")
	waitPush := func(after string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			v := w.em.SuiteList()[0]
			if v.Verified && v.LastPush != "" && v.LastPush != after {
				return v.LastPush
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("no push after %q", after)
		return ""
	}
	first := waitPush("")
	ticket := w.em.LatestSuiteTicket(devSuite.SuiteID)
	w.clock.Advance(10 * time.Minute)
	waitPush(first)
	if w.em.LatestSuiteTicket(devSuite.SuiteID) == ticket {
		t.Error("the periodic push issued no new ticket")
	}
	w.request("POST", "/v1/login", "", map[string]string{"appid": suiteApp, "code": w.suiteCode(devCorp1.CorpID, "qianqi")}).ok(t, 200, nil)
}
