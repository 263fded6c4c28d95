package wechat_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/internal/testlog"
	"github.com/wxlogin/wxlogin/wechat"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

// FuzzAnswers feeds every call of the client arbitrary answers from WeChat
// (any HTTP status, any body): the client must not panic, must fail with a
// classified error rather than half a result, and no error text may carry
// the secrets the call sent, even when the answer echoes them.
func FuzzAnswers(f *testing.F) {
	const (
		code       = "CODEfuzz0123456789"
		token      = "TOKENfuzz0123456789"
		sessionKey = wxlogin.Secret("U0VTU0lPTktFWWZ1enoxMg==")
	)
	app := wxlogin.App{AppID: "wxfuzz0000000001", Secret: "SECRETfuzz0123456789abcdef012345"}
	// What each call sends, and so what it must keep out of its errors and
	// logs even when the answer echoes it. (An errmsg may say anything; the
	// client can only cut out what it knows.)
	signature := wxcrypt.LoginStateSignature(sessionKey.Reveal(), "")
	sent := [6][]string{
		{app.Secret.Reveal(), code},
		{token, code},
		{token, sessionKey.Reveal(), signature},
		{app.Secret.Reveal()},
		{token},
		{token, sessionKey.Reveal(), signature},
	}
	for _, seed := range []struct {
		call   uint8
		status int
		body   string
	}{
		{0, 200, `{"openid":"o1","session_key":"a2V5a2V5a2V5a2V5a2V5aw==","unionid":"u1"}`},
		{0, 200, `{"errcode":40029,"errmsg":"invalid code ` + code + ` rid: 1"}`},
		{1, 200, `{"errcode":0,"errmsg":"ok","phone_info":{"phoneNumber":"1","watermark":{"appid":"wx","timestamp":1}}}`},
		{1, 200, `{"phone_info":null}`},
		{2, 200, `{"errcode":87009,"errmsg":"invalid signature access_token=` + token + `"}`},
		{3, 200, `{"access_token":"t","expires_in":9223372036854775807}`},
		{3, 200, `{"access_token":"t","expires_in":-1}`},
		{4, 200, `{"errcode":-9223372036854775808,"errmsg":""}`},
		{5, 200, `{"openid":"o1","session_key":"bmV3a2V5bmV3a2V5bmV3aw=="}`},
		{0, 502, `<html>bad gateway</html>`},
		{0, 200, `{"errcode":"40029"}`},
		{0, 200, `[`},
		{0, 200, ``},
	} {
		f.Add(seed.call, seed.status, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, call uint8, status int, body []byte) {
		if status < 100 || status > 999 {
			status = 200
		}
		// The API under test answers the fuzzed body; stable_token answers
		// a good token so that the token-taking calls get as far as their
		// own request, unless stable_token is the API under test.
		const callStableToken = 3
		transport := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			s, b := status, body
			if r.URL.Path == "/cgi-bin/stable_token" && call%6 != callStableToken {
				s, b = http.StatusOK, []byte(`{"access_token":"`+token+`","expires_in":7200}`)
			}
			return &http.Response{StatusCode: s, Status: fmt.Sprint(s), Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
		})
		log := &testlog.Buffer{}
		c := &wechat.Client{
			BaseURL:        "http://wechat.invalid",
			HTTPClient:     &http.Client{Transport: transport},
			Logger:         slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
			MaxBusyRetries: -1,
			Sleep:          func(context.Context, time.Duration) error { return nil },
		}
		ctx := t.Context()
		var err error
		var incomplete bool // a success that lacks what the API promises
		switch call % 6 {
		case 0:
			var s *wechat.Session
			s, err = c.Code2Session(ctx, app, code)
			incomplete = err == nil && (s.OpenID == "" || s.SessionKey == "")
		case 1:
			var p *wechat.PhoneInfo
			p, err = c.PhoneNumber(ctx, app, code, "o1")
			incomplete = err == nil && (p == nil || p.PhoneNumber == "")
		case 2:
			err = c.CheckSessionKey(ctx, app, "o1", sessionKey)
		case callStableToken:
			var tok wechat.Token
			tok, err = c.GetStableAccessToken(ctx, app, false)
			incomplete = err == nil && (tok.Value == "" || !tok.ExpiresAt.After(time.Now()))
		case 4:
			var u string
			u, err = c.PaidUnionID(ctx, app, "o1", "")
			incomplete = err == nil && u == ""
		case 5:
			var s *wechat.Session
			s, err = c.ResetUserSessionKey(ctx, app, "o1", sessionKey)
			incomplete = err == nil && (s.OpenID == "" || s.SessionKey == "")
		}
		if incomplete {
			t.Fatalf("call %d succeeded without the promised fields on %d %q", call%6, status, body)
		}
		if err != nil {
			if wechat.Classify(err) == wechat.KindNone {
				t.Errorf("error %v classified as none", err)
			}
			for _, format := range []string{"%v", "%+v", "%#v"} {
				assertNoSecrets(t, "error "+format, fmt.Sprintf(format, err), sent[call%6]...)
			}
		}
		assertNoSecrets(t, "log", log.String(), sent[call%6]...)
	})
}
