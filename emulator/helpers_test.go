package emulator_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/emulator"
)

// t0 is the fixed wall clock of the tests: only Advance moves time.
var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

const (
	app1, secret1 = "wxdec0de0000000001", "0123456789abcdef0123456789abcdef"
	app2, secret2 = "wxdec0de0000000002", "fedcba9876543210fedcba9876543210"
	app3, secret3 = "wxdec0de0000000003", "00112233445566778899aabbccddeeff"
)

// fixture is a zero-value emulator with a frozen clock behind a real HTTP
// server.
type fixture struct {
	em  *emulator.Emulator
	srv *httptest.Server
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	em := &emulator.Emulator{
		Now:    func() time.Time { return t0 },
		Logger: slog.New(slog.DiscardHandler),
	}
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	return &fixture{em: em, srv: srv}
}

// wxAnswer holds every field the WeChat server APIs answer.
type wxAnswer struct {
	ErrCode     int    `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	SessionKey  string `json:"session_key"`
	OpenID      string `json:"openid"`
	UnionID     string `json:"unionid"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	PhoneInfo   *struct {
		PhoneNumber     string `json:"phoneNumber"`
		PurePhoneNumber string `json:"purePhoneNumber"`
		CountryCode     string `json:"countryCode"`
		Watermark       struct {
			AppID     string `json:"appid"`
			Timestamp int64  `json:"timestamp"`
		} `json:"watermark"`
	} `json:"phone_info"`
}

// do sends a request and returns the status and body.
func (f *fixture) do(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// wx calls a WeChat server API and decodes its answer, which must be HTTP
// 200 JSON with a request-id suffix on every error.
func (f *fixture) wx(t testing.TB, method, path string, q url.Values, body any) wxAnswer {
	t.Helper()
	if q != nil {
		path += "?" + q.Encode()
	}
	status, out := f.do(t, method, path, body)
	if status != http.StatusOK {
		t.Fatalf("%s %s: status %d, want 200; body %s", method, path, status, out)
	}
	var a wxAnswer
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("%s %s: %v in %s", method, path, err, out)
	}
	if a.ErrCode != 0 && !strings.Contains(a.ErrMsg, " rid: ") {
		t.Errorf("%s %s: errmsg %q lacks the request-id suffix", method, path, a.ErrMsg)
	}
	return a
}

// device calls the device API, decodes a 200 answer into out and returns the
// status and the error envelope of a failure.
func (f *fixture) device(t testing.TB, method, path string, body, out any) (int, envelope) {
	t.Helper()
	status, b := f.do(t, method, path, body)
	var env envelope
	if status != http.StatusOK {
		if err := json.Unmarshal(b, &env); err != nil || env.Error.Code == "" {
			t.Fatalf("%s %s: status %d without an error envelope: %s", method, path, status, b)
		}
		return status, env
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return status, env
}

type envelope struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		ErrMsg  string `json:"errMsg"`
		Errno   int    `json:"errno"`
	} `json:"error"`
}

// login logs user in through the device API and returns the code.
func (f *fixture) login(t testing.TB, appid, user string) string {
	t.Helper()
	var out struct{ Code string }
	if status, env := f.device(t, "POST", "/emulator/v1/login", map[string]string{"appid": appid, "user": user}, &out); status != 200 {
		t.Fatalf("login %s/%s: %d %+v", appid, user, status, env)
	}
	if out.Code == "" {
		t.Fatalf("login %s/%s: empty code", appid, user)
	}
	return out.Code
}

// session redeems a code at jscode2session.
func (f *fixture) session(t testing.TB, appid, secret, code string) wxAnswer {
	t.Helper()
	return f.wx(t, "GET", "/sns/jscode2session", url.Values{
		"appid": {appid}, "secret": {secret}, "js_code": {code}, "grant_type": {"authorization_code"},
	}, nil)
}

// token fetches a cgi-bin/token.
func (f *fixture) token(t testing.TB, appid, secret string) string {
	t.Helper()
	a := f.wx(t, "GET", "/cgi-bin/token", url.Values{"grant_type": {"client_credential"}, "appid": {appid}, "secret": {secret}}, nil)
	if a.ErrCode != 0 || a.AccessToken == "" {
		t.Fatalf("token: %+v", a)
	}
	return a.AccessToken
}

func (f *fixture) stable(t testing.TB, appid, secret string, force bool) wxAnswer {
	t.Helper()
	return f.wx(t, "POST", "/cgi-bin/stable_token", nil, map[string]any{
		"grant_type": "client_credential", "appid": appid, "secret": secret, "force_refresh": force,
	})
}
