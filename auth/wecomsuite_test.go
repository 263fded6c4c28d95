package auth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/wecomcrypt"
)

const suiteApp = "suite-dev"

var devSuite = emulator.DevSuites()[0]

func devSuiteApp() wxlogin.App {
	return wxlogin.App{AppID: suiteApp, Kind: wxlogin.KindWeComSuite, Secret: wxlogin.Secret(devSuite.Secret),
		Suite: &wxlogin.WeComSuite{SuiteID: devSuite.SuiteID, Token: wxlogin.Secret(devSuite.Token),
			EncodingAESKey: wxlogin.Secret(devSuite.EncodingAESKey)}}
}

// withSuite serves the emulator's dev suite; the emulator pushes its
// ticket to the service (through a bare callback handler) when asked.
func withSuite(e *env, c *auth.Config) {
	e.wc.WeComBaseURL = e.wc.BaseURL
	e.em.PushPoll = time.Hour
	e.t.Cleanup(e.em.Close)
	c.Apps = append(c.Apps, devSuiteApp())
}

// pushTicket has the emulator verify a callback that hands everything to
// the service, as httpapi does, and push a ticket to it.
func (e *env) pushTicket() {
	e.t.Helper()
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		cq := auth.SuiteCallbackQuery{Signature: q.Get("msg_signature"), Timestamp: q.Get("timestamp"), Nonce: q.Get("nonce")}
		if r.Method == http.MethodGet {
			plain, err := e.svc.SuiteVerifyURL(r.Context(), devSuite.SuiteID, cq, q.Get("echostr"))
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			w.Write(plain)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if err := e.svc.SuiteCallback(r.Context(), devSuite.SuiteID, cq, body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		io.WriteString(w, "success")
	}))
	e.t.Cleanup(cb.Close)
	if err := e.em.SetSuiteCallback(devSuite.SuiteID, cb.URL); err != nil {
		e.t.Fatal(err)
	}
	if res, err := e.em.PushTicket(context.Background(), devSuite.SuiteID); err != nil || !res.Delivered {
		e.t.Fatalf("push: %+v %v", res, err)
	}
}

func (e *env) suiteCode(corpid, user string) string {
	e.t.Helper()
	c, err := e.em.SuiteLogin(devSuite.SuiteID, corpid, user)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func TestSuiteConfig(t *testing.T) {
	t.Parallel()
	base := func(change func(*wxlogin.App)) auth.Config {
		a := devSuiteApp()
		s := *a.Suite
		a.Suite = &s
		change(&a)
		return auth.Config{Apps: []wxlogin.App{a}}
	}
	for _, tt := range []struct {
		name, setting string
		change        func(*wxlogin.App)
	}{
		{"no suite", "Apps[0].Suite.SuiteID", func(a *wxlogin.App) { a.Suite = nil }},
		{"no suite id", "Apps[0].Suite.SuiteID", func(a *wxlogin.App) { a.Suite.SuiteID = "" }},
		{"slash in suite id", "Apps[0].Suite.SuiteID", func(a *wxlogin.App) { a.Suite.SuiteID = "ww/1" }},
		{"no token", "Apps[0].Suite.Token", func(a *wxlogin.App) { a.Suite.Token = "" }},
		{"bad key", "Apps[0].Suite.EncodingAESKey", func(a *wxlogin.App) { a.Suite.EncodingAESKey = "short" }},
		{"bad corpid", "Apps[0].Suite.CorpIDs[1]", func(a *wxlogin.App) { a.Suite.CorpIDs = []string{"ww1", "ww 2"} }},
		{"corpid set", "Apps[0].CorpID", func(a *wxlogin.App) { a.CorpID = "ww1" }},
		{"suite on a wecom app", "Apps[0].Suite", func(a *wxlogin.App) { a.Kind, a.CorpID = wxlogin.KindWeCom, "ww1" }},
		{"redirect URIs", "Apps[0].RedirectURIs", func(a *wxlogin.App) { a.RedirectURIs = []string{"https://example.com/"} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ce *auth.ConfigError
			err := base(tt.change).Validate()
			if !errors.As(err, &ce) || ce.Setting != tt.setting {
				t.Fatalf("Validate = %v, want a ConfigError on %s", err, tt.setting)
			}
			for _, s := range []string{devSuite.Token, devSuite.EncodingAESKey, devSuite.Secret} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("%v holds a secret", err)
				}
			}
		})
	}
	twice := base(func(*wxlogin.App) {})
	other := devSuiteApp()
	other.AppID = "suite-2"
	twice.Apps = append(twice.Apps, other)
	var ce *auth.ConfigError
	if err := twice.Validate(); !errors.As(err, &ce) || ce.Setting != "Apps[1].Suite.SuiteID" {
		t.Errorf("one suite twice: %v", err)
	}
	if err := base(func(*wxlogin.App) {}).Validate(); err != nil {
		t.Errorf("the dev suite: %v", err)
	}
}

// TestSuiteOpenUserID: the member's open_userid reaches the user through
// a shared code exchange too, and a member registered without one gets it
// at the next login.
func TestSuiteOpenUserID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withSuite)
	e.pushTicket()
	corp := emulator.DevCorps()[0].CorpID
	want := emulator.OpenUserID(devSuite.SuiteID, corp, "zhangsan")

	// One code sent twice at once by the same client: one exchange.
	code := e.suiteCode(corp, "zhangsan")
	c := auth.Client{IP: "192.0.2.1", UserAgent: "test"}
	var wg sync.WaitGroup
	results := make([]auth.LoginResult, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.svc.Login(ctx, suiteApp, code, c)
			if err != nil {
				t.Errorf("login %d: %v", i, err)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.User.OpenUserID != want || r.User.UnionID != "" || r.User.OpenID != wxlogin.WeComKey(corp, "zhangsan") {
			t.Errorf("login %d: user %+v, want open_userid %s and no unionid", i, r.User, want)
		}
	}
	if n := e.em.Stats().APIs[emulator.APIWeComSuiteJSCode2Session].Calls; n != 1 {
		t.Errorf("%d jscode2session calls for one code", n)
	}
	u, err := e.svc.User(ctx, wxlogin.Principal{UserID: results[0].User.ID, AppID: suiteApp})
	if err != nil || u.OpenUserID != want {
		t.Errorf("stored user: %+v %v", u, err)
	}

	// A member stored without an open_userid (as by an import) gets it.
	bare, _, err := e.db.EnsureUser(ctx, wxlogin.User{ID: "usr_bare", AppID: suiteApp, OpenID: wxlogin.WeComKey(corp, "lisi"),
		CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.svc.Login(ctx, suiteApp, e.suiteCode(corp, "lisi"), c)
	if err != nil || r.User.ID != bare.ID || r.User.OpenUserID != emulator.OpenUserID(devSuite.SuiteID, corp, "lisi") {
		t.Fatalf("login of the bare member: %+v %v", r.User, err)
	}
	if u, err := e.svc.User(ctx, wxlogin.Principal{UserID: bare.ID, AppID: suiteApp}); err != nil || u.OpenUserID != r.User.OpenUserID {
		t.Errorf("the bare member's open_userid was not kept: %+v %v", u, err)
	}
	raw, _ := e.db.User(ctx, bare.ID)
	if strings.Contains(string(raw.Sealed), r.User.OpenUserID) || raw.OpenUserID != "" {
		t.Errorf("the open_userid is stored in clear")
	}
}

func TestSuiteReload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withSuite)
	moved := e.liveWith(app1, suiteApp)
	s := *moved.Apps[1].Suite
	s.SuiteID = "wwanothersuite"
	moved.Apps[1].Suite = &s
	if err := e.svc.Reload(ctx, moved); err == nil {
		t.Error("a reload moved the suite app to another suite")
	}
	if err := e.svc.Reload(ctx, e.liveWith(app1, suiteApp)); err != nil {
		t.Errorf("an unchanged reload: %v", err)
	}
	// A new corps allow-list takes effect at once.
	e.pushTicket()
	only := e.liveWith(app1, suiteApp)
	s2 := *only.Apps[1].Suite
	s2.CorpIDs = []string{emulator.DevCorps()[1].CorpID}
	only.Apps[1].Suite = &s2
	if err := e.svc.Reload(ctx, only); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Login(ctx, suiteApp, e.suiteCode(emulator.DevCorps()[0].CorpID, "zhangsan"), auth.Client{})
	wantCode(t, err, wxlogin.EWrongCorp)
}

// FuzzSuiteCallback: whatever the query and body, SuiteCallback never
// panics, and it accepts only what carries a valid msg_signature of the
// suite's token over the body's Encrypt.
func FuzzSuiteCallback(f *testing.F) {
	e := newEnv(f, withSuite)
	k, err := wecomcrypt.ParseKey(devSuite.EncodingAESKey)
	if err != nil {
		f.Fatal(err)
	}
	ts := strconv.FormatInt(e.clock.Now().Unix(), 10)
	msg := "<xml><SuiteId><![CDATA[" + devSuite.SuiteID + "]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType><TimeStamp>" +
		ts + "</TimeStamp><SuiteTicket><![CDATA[fuzz-ticket]]></SuiteTicket></xml>"
	enc, err := wecomcrypt.Seal(k, devSuite.SuiteID, []byte(msg), strings.NewReader(strings.Repeat("r", 16)))
	if err != nil {
		f.Fatal(err)
	}
	sig := wecomcrypt.Signature(devSuite.Token, ts, "n1", enc)
	f.Add(sig, ts, "n1", wecomcrypt.MarshalEnvelope(devSuite.SuiteID, enc, ""))
	f.Add(sig, ts, "n1", wecomcrypt.MarshalEnvelope(devSuite.SuiteID, enc[:len(enc)-4], ""))
	f.Add("", "", "", []byte("<xml><Encrypt>"))
	f.Add(sig, ts, "n2", []byte{})
	f.Fuzz(func(t *testing.T, signature, timestamp, nonce string, body []byte) {
		q := auth.SuiteCallbackQuery{Signature: signature, Timestamp: timestamp, Nonce: nonce}
		err := e.svc.SuiteCallback(context.Background(), devSuite.SuiteID, q, body)
		if err == nil {
			env, perr := wecomcrypt.ParseEnvelope(body)
			if perr != nil || !wecomcrypt.VerifySignature(devSuite.Token, timestamp, nonce, env.Encrypt, signature) {
				t.Fatalf("accepted a callback without a valid signature: %q %q %q %q", signature, timestamp, nonce, body)
			}
		} else if c := wxlogin.ErrorCode(err); c != wxlogin.EInvalidSignature && c != wxlogin.EInvalidRequest {
			t.Fatalf("error %v, want invalid_signature or invalid_request", err)
		}
	})
}
