package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/emulator"
)

const (
	corp1, corpSecret1 = "wwdec0de000000c001", "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c01"
	corp2              = "wwdec0de000000c002"
)

// weComAnswer holds every field WeCom's server APIs answer here.
type weComAnswer struct {
	ErrCode     int    `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	CorpID      string `json:"corpid"`
	UserID      string `json:"userid"`
	SessionKey  string `json:"session_key"`
}

// wecom calls a WeCom server API: HTTP 200 JSON, errors worded as WeCom's
// (a hint with a request id).
func (f *fixture) wecom(t *testing.T, path string, q url.Values) weComAnswer {
	t.Helper()
	status, out := f.do(t, http.MethodGet, path+"?"+q.Encode(), nil)
	if status != http.StatusOK {
		t.Fatalf("%s: status %d, body %s", path, status, out)
	}
	var a weComAnswer
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("%s: %v in %s", path, err, out)
	}
	if a.ErrCode != 0 && !strings.Contains(a.ErrMsg, ", hint: [") {
		t.Errorf("%s: errmsg %q is not worded as WeCom's", path, a.ErrMsg)
	}
	return a
}

func (f *fixture) weComLogin(t *testing.T, corpid, user string) string {
	t.Helper()
	var out struct{ Code string }
	if status, env := f.device(t, http.MethodPost, "/emulator/v1/wecom/login", map[string]string{"corpid": corpid, "user": user}, &out); status != http.StatusOK {
		t.Fatalf("wecom login: %d %+v", status, env)
	}
	return out.Code
}

func TestWeComLoginFlow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)

	tok := f.wecom(t, "/cgi-bin/gettoken", url.Values{"corpid": {corp1}, "corpsecret": {corpSecret1}})
	if tok.ErrCode != 0 || tok.AccessToken == "" || tok.ExpiresIn != 7200 || tok.ErrMsg != "ok" {
		t.Fatalf("gettoken = %+v", tok)
	}
	// WeCom hands back the same token while it lives.
	if again := f.wecom(t, "/cgi-bin/gettoken", url.Values{"corpid": {corp1}, "corpsecret": {corpSecret1}}); again.AccessToken != tok.AccessToken {
		t.Errorf("second gettoken gave another token")
	}

	var valid struct{ Valid bool }
	f.device(t, http.MethodGet, "/emulator/v1/wecom/session?corpid="+corp1+"&user=zhangsan", nil, &valid)
	if valid.Valid {
		t.Errorf("wx.qy.checkSession valid before any wx.qy.login")
	}
	code := f.weComLogin(t, corp1, "zhangsan")
	f.device(t, http.MethodGet, "/emulator/v1/wecom/session?corpid="+corp1+"&user=zhangsan", nil, &valid)
	if !valid.Valid {
		t.Errorf("wx.qy.checkSession invalid after wx.qy.login")
	}

	q := url.Values{"access_token": {tok.AccessToken}, "js_code": {code}, "grant_type": {"authorization_code"}}
	s := f.wecom(t, "/cgi-bin/miniprogram/jscode2session", q)
	if s.ErrCode != 0 || s.CorpID != corp1 || s.UserID != "zhangsan" || len(s.SessionKey) != 24 {
		t.Fatalf("jscode2session = %+v", s)
	}
	if again := f.wecom(t, "/cgi-bin/miniprogram/jscode2session", q); again.ErrCode != 40029 {
		t.Errorf("reused code: errcode %d, want 40029", again.ErrCode)
	}

	// Another corp's member, through this corp's token: their own corp.
	q.Set("js_code", f.weComLogin(t, corp2, "lisi"))
	if s := f.wecom(t, "/cgi-bin/miniprogram/jscode2session", q); s.ErrCode != 0 || s.CorpID != corp2 || s.UserID != "lisi" {
		t.Errorf("other corp's member: %+v", s)
	}

	// An expired code, a WeChat code, then the token's expiry.
	q.Set("js_code", f.weComLogin(t, corp1, "zhangsan"))
	f.em.Advance(6 * time.Minute)
	if s := f.wecom(t, "/cgi-bin/miniprogram/jscode2session", q); s.ErrCode != 40029 {
		t.Errorf("expired code: errcode %d, want 40029", s.ErrCode)
	}
	q.Set("js_code", f.login(t, app1, "zhangsan"))
	if s := f.wecom(t, "/cgi-bin/miniprogram/jscode2session", q); s.ErrCode != 40029 {
		t.Errorf("WeChat code: errcode %d, want 40029", s.ErrCode)
	}
	f.em.Advance(2 * time.Hour)
	if s := f.wecom(t, "/cgi-bin/miniprogram/jscode2session", q); s.ErrCode != 42001 {
		t.Errorf("expired token: errcode %d, want 42001", s.ErrCode)
	}
	if tok2 := f.wecom(t, "/cgi-bin/gettoken", url.Values{"corpid": {corp1}, "corpsecret": {corpSecret1}}); tok2.AccessToken == tok.AccessToken {
		t.Errorf("gettoken after expiry gave the expired token")
	}
}

func TestWeComErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	wxToken := f.token(t, app1, secret1)
	for _, tc := range []struct {
		name, path string
		q          url.Values
		errcode    int
	}{
		{"no corpid", "/cgi-bin/gettoken", url.Values{"corpsecret": {corpSecret1}}, 41002},
		{"no secret", "/cgi-bin/gettoken", url.Values{"corpid": {corp1}}, 41004},
		{"unknown corpid", "/cgi-bin/gettoken", url.Values{"corpid": {"wwnope"}, "corpsecret": {corpSecret1}}, 40013},
		{"wrong secret", "/cgi-bin/gettoken", url.Values{"corpid": {corp1}, "corpsecret": {"x"}}, 40001},
		{"no token", "/cgi-bin/miniprogram/jscode2session", url.Values{"js_code": {"c"}, "grant_type": {"authorization_code"}}, 41001},
		{"WeChat's token", "/cgi-bin/miniprogram/jscode2session", url.Values{"access_token": {wxToken}, "js_code": {"c"}, "grant_type": {"authorization_code"}}, 40014},
	} {
		if a := f.wecom(t, tc.path, tc.q); a.ErrCode != tc.errcode {
			t.Errorf("%s: errcode %d, want %d (%s)", tc.name, a.ErrCode, tc.errcode, a.ErrMsg)
		}
	}

	// A WeCom token is not WeChat's either.
	tok := f.wecom(t, "/cgi-bin/gettoken", url.Values{"corpid": {corp1}, "corpsecret": {corpSecret1}})
	if a := f.wx(t, http.MethodGet, "/wxa/getpaidunionid", url.Values{"access_token": {tok.AccessToken}, "openid": {"o"}}, nil); a.ErrCode != 40001 {
		t.Errorf("WeCom token at WeChat: errcode %d, want 40001", a.ErrCode)
	}

	// Device: an unknown corp, a user that cannot be a userid.
	if status, env := f.device(t, http.MethodPost, "/emulator/v1/wecom/login", map[string]string{"corpid": "wwnope", "user": "a"}, nil); status != http.StatusBadRequest || env.Error.Code != "unknown_app" {
		t.Errorf("unknown corp: %d %+v", status, env)
	}
	if status, env := f.device(t, http.MethodPost, "/emulator/v1/wecom/login", map[string]string{"corpid": corp1, "user": "张三"}, nil); status != http.StatusBadRequest || env.Error.Code != "invalid_request" {
		t.Errorf("non-userid user: %d %+v", status, env)
	}

	// Faults apply to WeCom's APIs too, worded as WeCom's.
	if err := f.em.InjectFault(emulator.Fault{API: emulator.APIWeComGetToken, Count: 1, ErrCode: -1}); err != nil {
		t.Fatal(err)
	}
	if a := f.wecom(t, "/cgi-bin/gettoken", url.Values{"corpid": {corp1}, "corpsecret": {corpSecret1}}); a.ErrCode != -1 {
		t.Errorf("fault: errcode %d, want -1", a.ErrCode)
	}

	// The call log names the corp and hides the corpsecret and the token.
	calls, _ := f.em.Calls(0)
	for _, c := range calls {
		b, _ := json.Marshal(c)
		if strings.Contains(string(b), corpSecret1) || strings.Contains(string(b), tok.AccessToken) {
			t.Errorf("call log shows a secret: %s", b)
		}
	}
	if last := calls[len(calls)-1]; last.AppID != corp1 || last.API != emulator.APIWeComGetToken {
		t.Errorf("last call = %+v, want gettoken of %s", last, corp1)
	}
}
