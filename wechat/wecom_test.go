package wechat_test

// The WeCom client calls against the real emulator playing WeCom.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/internal/testlog"
	"github.com/wxlogin/wxlogin/wechat"
)

// The emulator's dev corps, as WeCom apps of wxlogin.
var (
	devCorp1 = wxlogin.App{AppID: "wecom-dev", Kind: wxlogin.KindWeCom, CorpID: "wwdec0de000000c001",
		Secret: "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c01"}
)

func newWeComEmulated(t *testing.T) *emulated {
	t.Helper()
	e := newEmulated(t)
	e.client.WeComBaseURL = e.srv.URL
	return e
}

func TestWeComCode2Session(t *testing.T) {
	t.Parallel()
	e := newWeComEmulated(t)
	ctx := t.Context()

	code, err := e.emu.WeComLogin(devCorp1.CorpID, "zhangsan")
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.client.WeComCode2Session(ctx, devCorp1, code)
	if err != nil {
		t.Fatalf("WeComCode2Session: %v", err)
	}
	if s.CorpID != devCorp1.CorpID || s.UserID != "zhangsan" || s.SessionKey.Reveal() == "" {
		t.Errorf("session = %+v, want corp %s, userid zhangsan and a key", s, devCorp1.CorpID)
	}

	// A code works once: WeCom answers 40029 to its reuse.
	_, err = e.client.WeComCode2Session(ctx, devCorp1, code)
	if k := wechat.Classify(err); k != wechat.KindCodeInvalid {
		t.Errorf("reused code: kind %v (%v), want code_invalid", k, err)
	}
	// A WeChat wx.login code is not a WeCom code.
	wxCode, err := e.emu.Login(devApp1.AppID, "zhangsan")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.WeComCode2Session(ctx, devCorp1, wxCode)
	if k := wechat.Classify(err); k != wechat.KindCodeInvalid {
		t.Errorf("WeChat code at WeCom: kind %v (%v), want code_invalid", k, err)
	}

	// A member of another corp associated with the mini program: WeCom
	// answers their own corp, which the caller must compare.
	other, err := e.emu.WeComLogin("wwdec0de000000c002", "lisi")
	if err != nil {
		t.Fatal(err)
	}
	s, err = e.client.WeComCode2Session(ctx, devCorp1, other)
	if err != nil {
		t.Fatal(err)
	}
	if s.CorpID != "wwdec0de000000c002" || s.UserID != "lisi" {
		t.Errorf("other corp's member: %+v", s)
	}

	// Four exchanges, one token: the token is cached like WeChat's.
	st := e.emu.Stats().APIs
	if n := st[emulator.APIWeComGetToken].Calls; n != 1 {
		t.Errorf("gettoken called %d times, want 1", n)
	}
	if n := st[emulator.APIToken].Calls + st[emulator.APIStableToken].Calls; n != 0 {
		t.Errorf("WeChat's token endpoints called %d times for a WeCom app", n)
	}
}

func TestWeComTokenExpiredIsRenewed(t *testing.T) {
	t.Parallel()
	e := newWeComEmulated(t)
	ctx := t.Context()
	if _, err := e.client.AccessToken(ctx, devCorp1); err != nil {
		t.Fatal(err)
	}
	// Only WeCom's clock moves: our cache still believes the token, WeCom
	// answers 42001, and the client fetches a new one and retries once.
	e.emu.Advance(3 * time.Hour)
	code, err := e.emu.WeComLogin(devCorp1.CorpID, "wangwu")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.WeComCode2Session(ctx, devCorp1, code); err != nil {
		t.Fatalf("after the token expired at WeCom: %v", err)
	}
	st := e.emu.Stats().APIs
	if got := st[emulator.APIWeComJSCode2Session].ErrCodes; got["42001"] != 1 || got["0"] != 1 {
		t.Errorf("jscode2session answers %v, want one 42001 then one success", got)
	}
	if n := st[emulator.APIWeComGetToken].Calls; n != 2 {
		t.Errorf("gettoken called %d times, want 2", n)
	}
}

func TestWeComConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		app     wxlogin.App
		errcode int
	}{
		{"wrong secret", wxlogin.App{AppID: "a", Kind: wxlogin.KindWeCom, CorpID: devCorp1.CorpID, Secret: "not-the-secret"}, 40001},
		{"unknown corp", wxlogin.App{AppID: "a", Kind: wxlogin.KindWeCom, CorpID: "wwunknown", Secret: devCorp1.Secret}, 40013},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newWeComEmulated(t)
			code, err := e.emu.WeComLogin(devCorp1.CorpID, "zhaoliu")
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.client.WeComCode2Session(t.Context(), tc.app, code)
			if k := wechat.Classify(err); k != wechat.KindConfig {
				t.Fatalf("kind %v (%v), want config", k, err)
			}
			var we *wechat.Error
			if !errors.As(err, &we) || we.ErrCode != tc.errcode || we.API != wechat.APIWeComGetToken {
				t.Errorf("err = %v, want errcode %d at %s", err, tc.errcode, wechat.APIWeComGetToken)
			}
			assertNoSecrets(t, "error", err.Error(), tc.app.Secret.Reveal(), code)
			assertNoSecrets(t, "log", e.log.String(), tc.app.Secret.Reveal(), code)
		})
	}
}

// FuzzWeComAnswers is FuzzAnswers for WeCom's two calls: whatever WeCom
// answers, no panic, no success without the promised fields, a classified
// error, and neither the corpsecret, the code nor the token in an error or
// a log line.
func FuzzWeComAnswers(f *testing.F) {
	const (
		code  = "WECOMCODEfuzz0123456789"
		token = "WECOMTOKENfuzz0123456789"
	)
	app := wxlogin.App{AppID: "wecom-fuzz", Kind: wxlogin.KindWeCom, CorpID: "wwfuzz", Secret: "CORPSECRETfuzz0123456789abcdef"}
	// jscode2session sends the token and the code (its gettoken answer is
	// fixed here); gettoken sends the corpsecret.
	sent := [2][]string{{token, code}, {app.Secret.Reveal()}}
	for _, seed := range []struct {
		call   uint8
		status int
		body   string
	}{
		{0, 200, `{"corpid":"wwfuzz","userid":"zhangsan","session_key":"a2V5a2V5a2V5a2V5a2V5aw==","errcode":0,"errmsg":"ok"}`},
		{0, 200, `{"corpid":"ww/x","userid":"a","session_key":"a2V5a2V5a2V5a2V5a2V5aw=="}`},
		{0, 200, `{"errcode":40029,"errmsg":"invalid code ` + code + `, hint: [1]"}`},
		{0, 200, `{"errcode":42001,"errmsg":"access_token expired ` + token + `"}`},
		{1, 200, `{"errcode":40001,"errmsg":"invalid credential corpsecret=` + app.Secret.Reveal() + `"}`},
		{1, 200, `{"errcode":0,"errmsg":"ok","access_token":"t","expires_in":0}`},
		{0, 502, `<html></html>`},
		{0, 200, `{`},
	} {
		f.Add(seed.call, seed.status, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, call uint8, status int, body []byte) {
		if status < 100 || status > 999 {
			status = 200
		}
		transport := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			s, b := status, body
			if r.URL.Path == "/cgi-bin/gettoken" && call%2 == 0 {
				s, b = http.StatusOK, []byte(`{"errcode":0,"errmsg":"ok","access_token":"`+token+`","expires_in":7200}`)
			}
			return &http.Response{StatusCode: s, Status: fmt.Sprint(s), Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
		})
		log := &testlog.Buffer{}
		c := &wechat.Client{
			WeComBaseURL:   "http://wecom.invalid",
			HTTPClient:     &http.Client{Transport: transport},
			Logger:         slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
			MaxBusyRetries: -1,
			Sleep:          func(context.Context, time.Duration) error { return nil },
		}
		var err error
		var incomplete bool
		switch call % 2 {
		case 0:
			var s *wechat.WeComSession
			s, err = c.WeComCode2Session(t.Context(), app, code)
			incomplete = err == nil && (s.CorpID == "" || s.UserID == "" || s.SessionKey == "" ||
				strings.Contains(s.CorpID+s.UserID, "/"))
		case 1:
			var tok wechat.Token
			tok, err = c.GetWeComAccessToken(t.Context(), app)
			incomplete = err == nil && (tok.Value == "" || !tok.ExpiresAt.After(time.Now()))
		}
		if incomplete {
			t.Fatalf("call %d succeeded without the promised fields on %d %q", call%2, status, body)
		}
		if err != nil {
			if wechat.Classify(err) == wechat.KindNone {
				t.Errorf("error %v classified as none", err)
			}
			for _, format := range []string{"%v", "%+v", "%#v"} {
				assertNoSecrets(t, "error "+format, fmt.Sprintf(format, err), sent[call%2]...)
			}
		}
		assertNoSecrets(t, "log", log.String(), sent[call%2]...)
	})
}

// BenchmarkWeComCode2Session is BenchmarkCode2Session for a WeCom app: one
// wx.qy.login code traded with the emulator over loopback HTTP, the WeCom
// token cached after the first call.
func BenchmarkWeComCode2Session(b *testing.B) {
	e := newEmulated(b)
	e.client.WeComBaseURL = e.srv.URL
	e.client.Logger = slog.New(slog.DiscardHandler)
	codes := make([]string, b.N)
	for i := range codes {
		code, err := e.emu.WeComLogin(devCorp1.CorpID, "bench")
		if err != nil {
			b.Fatal(err)
		}
		codes[i] = code
	}
	ctx := b.Context()
	if _, err := e.client.AccessToken(ctx, devCorp1); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.client.WeComCode2Session(ctx, devCorp1, codes[i]); err != nil {
			b.Fatal(err)
		}
	}
}
