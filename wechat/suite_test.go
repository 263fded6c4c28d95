package wechat_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/coord/rediscoord"
	"github.com/wxlogin/wxlogin/coord/rediscoord/redistest"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/wechat"
	"github.com/wxlogin/wxlogin/wecomcrypt"
)

var devSuite = emulator.DevSuites()[0]

func suiteApp(secret string) wxlogin.App {
	return wxlogin.App{AppID: "suite", Kind: wxlogin.KindWeComSuite, Secret: wxlogin.Secret(secret),
		Suite: &wxlogin.WeComSuite{SuiteID: devSuite.SuiteID, Token: wxlogin.Secret(devSuite.Token), EncodingAESKey: wxlogin.Secret(devSuite.EncodingAESKey)}}
}

// ticketReceiver plays the server's callback for these tests: it opens the
// emulator's push and hands the ticket to keep.
func ticketReceiver(t *testing.T, keep func(ticket string, issued time.Time)) *httptest.Server {
	t.Helper()
	k, err := wecomcrypt.ParseKey(devSuite.EncodingAESKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		enc := q.Get("echostr")
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			env, err := wecomcrypt.ParseEnvelope(body)
			if err != nil {
				http.Error(w, "bad", 400)
				return
			}
			enc = env.Encrypt
		}
		msg, err := wecomcrypt.Open(k, devSuite.Token, devSuite.SuiteID, q.Get("timestamp"), q.Get("nonce"), enc, q.Get("msg_signature"))
		if err != nil {
			http.Error(w, "bad", 400)
			return
		}
		if r.Method == http.MethodGet {
			w.Write(msg)
			return
		}
		s := string(msg)
		_, rest, _ := strings.Cut(s, "<SuiteTicket><![CDATA[")
		ticket, _, _ := strings.Cut(rest, "]]>")
		_, rest, _ = strings.Cut(s, "<TimeStamp>")
		ts, _, _ := strings.Cut(rest, "</TimeStamp>")
		sec, _ := strconv.ParseInt(ts, 10, 64)
		keep(ticket, time.Unix(sec, 0))
		io.WriteString(w, "success")
	}))
	t.Cleanup(srv.Close)
	return srv
}

type suiteWorld struct {
	em     *emulator.Emulator
	wecom  string // the emulator's URL
	a, b   *wechat.Client
	logBuf *strings.Builder
}

// newSuiteWorld is two instances (Clients) sharing tokens, and WeCom: a
// ticket pushed to a's callback is used by b.
func newSuiteWorld(t *testing.T, tokens func() wechat.TokenCache) *suiteWorld {
	t.Helper()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	em := &emulator.Emulator{Now: func() time.Time { return now }, PushPoll: time.Hour, Logger: slog.New(slog.DiscardHandler)}
	t.Cleanup(em.Close)
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	client := func() *wechat.Client {
		return &wechat.Client{WeComBaseURL: srv.URL, HTTPClient: srv.Client(), Tokens: tokens(), Now: em.Time, Logger: log}
	}
	w := &suiteWorld{em: em, wecom: srv.URL, a: client(), b: client(), logBuf: &buf}
	cb := ticketReceiver(t, func(ticket string, issued time.Time) {
		if err := w.a.PutSuiteTicket(t.Context(), suiteApp(devSuite.Secret), wxlogin.Secret(ticket), issued); err != nil {
			t.Error(err)
		}
	})
	if err := em.SetSuiteCallback(devSuite.SuiteID, cb.URL); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *suiteWorld) push(t *testing.T) {
	t.Helper()
	if res, err := w.em.PushTicket(t.Context(), devSuite.SuiteID); err != nil || !res.Delivered {
		t.Fatalf("push: %+v %v", res, err)
	}
}

func testSuiteShared(t *testing.T, tokens func() wechat.TokenCache) {
	w := newSuiteWorld(t, tokens)
	app := suiteApp(devSuite.Secret)

	// No ticket yet: no call to WeCom, a NoSuiteTicketError, unavailable.
	code, _ := w.em.SuiteLogin(devSuite.SuiteID, "wwdec0de000000c001", "zhangsan")
	_, err := w.b.SuiteCode2Session(t.Context(), app, code)
	var nt *wechat.NoSuiteTicketError
	if !errors.As(err, &nt) || wechat.Classify(err) != wechat.KindUnavailable {
		t.Fatalf("before any ticket: %v (kind %v)", err, wechat.Classify(err))
	}
	if n := w.em.Stats().APIs[emulator.APIWeComSuiteToken].Calls; n != 0 {
		t.Errorf("%d get_suite_token calls without a ticket", n)
	}

	// The push reaches a; b, another instance, trades the code with it.
	w.push(t)
	s, err := w.b.SuiteCode2Session(t.Context(), app, code)
	if err != nil || s.CorpID != "wwdec0de000000c001" || s.UserID != "zhangsan" ||
		s.OpenUserID != emulator.OpenUserID(devSuite.SuiteID, "wwdec0de000000c001", "zhangsan") {
		t.Fatalf("b's login: %+v %v", s, err)
	}
	// a uses the token b bought: one get_suite_token for both.
	code2, _ := w.em.SuiteLogin(devSuite.SuiteID, "wwdec0de000000c002", "lisi")
	if _, err := w.a.SuiteCode2Session(t.Context(), app, code2); err != nil {
		t.Fatal(err)
	}
	if n := w.em.Stats().APIs[emulator.APIWeComSuiteToken].Calls; n != 1 {
		t.Errorf("%d get_suite_token calls, want 1 shared by both instances", n)
	}
	// WeCom ends the token early: 42009, renewed once, the call succeeds.
	if err := w.em.ExpireSuiteToken(devSuite.SuiteID); err != nil {
		t.Fatal(err)
	}
	code3, _ := w.em.SuiteLogin(devSuite.SuiteID, "wwdec0de000000c001", "wangwu")
	if _, err := w.a.SuiteCode2Session(t.Context(), app, code3); err != nil {
		t.Fatalf("after 42009: %v", err)
	}
	st := w.em.Stats().APIs
	if st[emulator.APIWeComSuiteToken].Calls != 2 || st[emulator.APIWeComSuiteJSCode2Session].ErrCodes["42009"] != 1 {
		t.Errorf("stats after 42009: %+v", st)
	}
	ticket := w.em.LatestSuiteTicket(devSuite.SuiteID)
	tok, err := w.b.AccessToken(t.Context(), app)
	if err != nil || ticket == "" {
		t.Fatal(err)
	}
	for _, s := range []string{devSuite.Secret, ticket, tok.Value.Reveal(), code, code2, code3} {
		if strings.Contains(w.logBuf.String(), s) {
			t.Errorf("the log holds a secret %q", s)
		}
	}
}

func TestSuiteTicketSharedInMemory(t *testing.T) {
	t.Parallel()
	shared := &wechat.MemoryTokenCache{}
	testSuiteShared(t, func() wechat.TokenCache { return shared })
}

// TestSuiteTicketSharedInRedis: the instances share Redis, as a fleet
// does; the ticket one instance received serves the other.
func TestSuiteTicketSharedInRedis(t *testing.T) {
	t.Parallel()
	url, prefix := redistest.URL(t), redistest.Prefix()
	keys, err := keyring.New(keyring.Generate("k1"))
	if err != nil {
		t.Fatal(err)
	}
	testSuiteShared(t, func() wechat.TokenCache {
		c, err := rediscoord.New(url, rediscoord.Options{Prefix: prefix, Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.TokenCache()
	})
}

func TestSuiteRefusedTicket(t *testing.T) {
	t.Parallel()
	w := newSuiteWorld(t, func() wechat.TokenCache { return nil })
	app := suiteApp(devSuite.Secret)
	// A ticket WeCom never issued: 40085, dropped, so the next call does
	// not ask WeCom again until a push.
	if err := w.a.PutSuiteTicket(t.Context(), app, "never-issued", w.em.Time()); err != nil {
		t.Fatal(err)
	}
	_, err := w.a.GetSuiteAccessToken(t.Context(), app)
	var nt *wechat.NoSuiteTicketError
	var we *wechat.Error
	if !errors.As(err, &nt) || !errors.As(err, &we) || we.ErrCode != 40085 || wechat.Classify(err) != wechat.KindUnavailable {
		t.Fatalf("refused ticket: %v", err)
	}
	if _, ok, _ := w.a.SuiteTicket(t.Context(), app); ok {
		t.Error("the refused ticket is still kept")
	}
	// A late older ticket does not displace a newer one.
	now := w.em.Time()
	w.a.PutSuiteTicket(t.Context(), app, "newer", now)
	w.a.PutSuiteTicket(t.Context(), app, "older", now.Add(-time.Minute))
	if tk, ok, _ := w.a.SuiteTicket(t.Context(), app); !ok || tk.Value != "newer" {
		t.Errorf("kept %v, want the newer ticket", tk.Value.Reveal())
	}
	// Past its 30 minutes a ticket is no ticket.
	w.em.Advance(31 * time.Minute)
	if _, ok, _ := w.a.SuiteTicket(t.Context(), app); ok {
		t.Error("a 31-minute-old ticket is still handed out")
	}

	// A wrong suite_secret is the configuration, and its text holds no secret.
	w.push(t)
	_, err = w.a.GetSuiteAccessToken(t.Context(), suiteApp("wrong-suite-secret"))
	if wechat.Classify(err) != wechat.KindConfig || strings.Contains(err.Error(), "wrong-suite-secret") ||
		strings.Contains(err.Error(), w.em.LatestSuiteTicket(devSuite.SuiteID)) {
		t.Errorf("wrong secret: %v (kind %v)", err, wechat.Classify(err))
	}
}

func TestSuiteClassify(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		api  string
		code int
		want wechat.Kind
	}{
		{wechat.APIWeComSuiteJSCode2Session, 42009, wechat.KindToken},
		{wechat.APIWeComSuiteJSCode2Session, 40082, wechat.KindToken},
		{wechat.APIWeComSuiteJSCode2Session, 40029, wechat.KindCodeInvalid},
		{wechat.APIWeComSuiteToken, 40001, wechat.KindConfig},
		{wechat.APIWeComSuiteToken, 40083, wechat.KindConfig},
		{wechat.APIWeComSuiteToken, -1, wechat.KindBusy},
		{"jscode2session", 42009, wechat.KindOther}, // WeChat has no 42009
	} {
		if got := wechat.Classify(&wechat.Error{API: tt.api, ErrCode: tt.code}); got != tt.want {
			t.Errorf("Classify(%s %d) = %v, want %v", tt.api, tt.code, got, tt.want)
		}
	}
}
