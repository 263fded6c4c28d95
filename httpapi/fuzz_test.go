package httpapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin"
)

// checkParse is the property every decoder keeps: it either accepts the
// body with its required fields set, or refuses it with invalid_request and
// a short message that never repeats the body.
func checkParse(t *testing.T, body []byte, dst interface{ validate() error }, ok func() bool) {
	err := parseJSON(body, dst)
	if err == nil {
		if !ok() {
			t.Fatalf("accepted %q without its required fields: %+v", body, dst)
		}
		return
	}
	if code := wxlogin.ErrorCode(err); code != wxlogin.EInvalidRequest {
		t.Fatalf("%q: code %q (%v), want invalid_request", body, code, err)
	}
	msg := wxlogin.ErrorMessage(err)
	if len(msg) > 200 {
		t.Fatalf("message of %d bytes", len(msg))
	}
	// A value long enough to be a code must not come back in the message.
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		for _, v := range m {
			if s, isStr := v.(string); isStr && len(s) >= 12 && strings.Contains(msg, s) {
				t.Fatalf("message %q repeats a value of the body", msg)
			}
		}
	}
}

func FuzzParseLogin(f *testing.F) {
	for _, s := range []string{
		`{"code":"0a1b2c3d4e5f"}`, `{"code":"c","appid":"wx1"}`, `{"code":1}`, `{"code":"x"} {}`,
		`null`, `[]`, ``, `{"code":"\u0000"}`, `{"code":"a","code":"b"}`, `{"appid":"0123456789abcdef"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var q loginRequest
		checkParse(t, body, &q, func() bool { return q.Code != "" && len(q.Code) <= maxCodeLen })
	})
}

func FuzzParseUserInfo(f *testing.F) {
	for _, s := range []string{
		`{"rawData":"{\"nickName\":\"x\"}","signature":"abc","encryptedData":"AAAA","iv":"BBBB"}`,
		`{"rawData":"r","signature":"s","encryptedData":"e","iv":"i","login_code":"c"}`,
		`{"rawData":"r","signature":"s","encryptedData":"e","iv":7}`,
		`{"rawData":"r"}`, `{}`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var q userInfoRequest
		checkParse(t, body, &q, func() bool {
			return q.RawData != "" && q.Signature != "" && q.EncryptedData != "" && q.IV != ""
		})
	})
}

func FuzzParsePhone(f *testing.F) {
	for _, s := range []string{`{"code":"phonecode"}`, `{"encryptedData":"e","iv":"i"}`, `{"iv":"i"}`, `{"code":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var q phoneRequest
		checkParse(t, body, &q, func() bool { return q.Code != "" || q.EncryptedData != "" && q.IV != "" })
	})
}
