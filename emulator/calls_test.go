package emulator_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin/emulator"
)

type callsAnswer struct {
	Calls []emulator.Call `json:"calls"`
	Next  int64           `json:"next"`
}

// TestCallLog checks the call log a developer reads: every WeChat API call
// with its request and answer, the app it was for, and none of the
// secrets that went by.
func TestCallLog(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	code := f.login(t, app1, "alice")
	ok := f.session(t, app1, secret1, code)
	if ok.SessionKey == "" {
		t.Fatalf("jscode2session: %+v", ok)
	}
	f.session(t, app1, secret1, code) // the same code again: 40163
	tok := f.token(t, app2, secret2)
	if err := f.em.InjectFault(emulator.Fault{API: emulator.APIJSCode2Session, Count: 1, HTTPStatus: 502}); err != nil {
		t.Fatal(err)
	}
	q := url.Values{"appid": {app1}, "secret": {secret1}, "js_code": {f.login(t, app1, "alice")}, "grant_type": {"authorization_code"}}
	if status, _ := f.do(t, "GET", "/sns/jscode2session?"+q.Encode(), nil); status != 502 {
		t.Fatalf("injected fault: status %d, want 502", status)
	}

	var all callsAnswer
	if status, env := f.device(t, "GET", "/emulator/v1/calls", nil, &all); status != 200 {
		t.Fatalf("calls: %d %+v", status, env)
	}
	if len(all.Calls) != 4 || all.Next != all.Calls[3].Seq {
		t.Fatalf("calls = %+v, next %d; want 4 calls, next = the last seq", all.Calls, all.Next)
	}
	first, reused, token, failed := all.Calls[0], all.Calls[1], all.Calls[2], all.Calls[3]
	if first.API != emulator.APIJSCode2Session || first.Path != "/sns/jscode2session" || first.AppID != app1 ||
		first.Status != 200 || first.ErrCode != 0 || first.Request["js_code"] != code {
		t.Errorf("first call = %+v", first)
	}
	if resp, _ := first.Response.(map[string]any); resp["openid"] != ok.OpenID || resp["session_key"] != "(redacted)" {
		t.Errorf("first answer = %v, want the openid and a redacted session_key", first.Response)
	}
	if first.Request["secret"] != "(redacted)" {
		t.Errorf("secret in the request = %v", first.Request["secret"])
	}
	if reused.ErrCode != 40163 {
		t.Errorf("the reused code's call: errcode %d, want 40163", reused.ErrCode)
	}
	if resp, _ := token.Response.(map[string]any); token.AppID != app2 || resp["access_token"] != "(redacted)" {
		t.Errorf("token call = %+v", token)
	}
	if failed.Status != 502 || failed.Response != nil {
		t.Errorf("injected 502: status %d, response %v", failed.Status, failed.Response)
	}
	if !(first.Seq < reused.Seq && reused.Seq < token.Seq && token.Seq < failed.Seq) {
		t.Errorf("seqs not increasing: %d %d %d %d", first.Seq, reused.Seq, token.Seq, failed.Seq)
	}

	// No secret, session key or token anywhere in the answer.
	_, raw := f.do(t, "GET", "/emulator/v1/calls", nil)
	for name, s := range map[string]string{"secret": secret1, "secret2": secret2, "session_key": ok.SessionKey, "token": tok} {
		if strings.Contains(string(raw), s) {
			t.Errorf("the call log shows the %s", name)
		}
	}

	// Paging and the app filter.
	var later callsAnswer
	f.device(t, "GET", "/emulator/v1/calls?"+url.Values{"after": {strconv.FormatInt(reused.Seq, 10)}, "appid": {app1}}.Encode(), nil, &later)
	if len(later.Calls) != 1 || later.Calls[0].Seq != failed.Seq || later.Next != all.Next {
		t.Errorf("after %d for %s: %+v", reused.Seq, app1, later)
	}
	if status, env := f.device(t, "GET", "/emulator/v1/calls?after=-1", nil, nil); status != 400 || env.Error.Code != "invalid_request" {
		t.Errorf("after=-1: %d %+v", status, env)
	}
}

// TestCallLogBounded checks the log keeps only the latest calls.
func TestCallLogBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for range 300 {
		f.wx(t, "GET", "/sns/jscode2session", url.Values{"appid": {app1}, "secret": {secret1}, "js_code": {"nope"}, "grant_type": {"authorization_code"}}, nil)
	}
	calls, next := f.em.Calls(0)
	if len(calls) != 256 || next != 300 || calls[0].Seq != 45 || calls[255].Seq != 300 {
		t.Errorf("kept %d calls (%d..%d), next %d; want the latest 256 (45..300), next 300",
			len(calls), calls[0].Seq, calls[len(calls)-1].Seq, next)
	}
}
