package wechat_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin/wechat"
)

// TestInvalidAnswers feeds each API a success that WeChat cannot have sent
// and checks that the call fails with an *InvalidAnswerError (never a
// session, phone or unionid), after one call: repeating would not help and
// may spend a code.
func TestInvalidAnswers(t *testing.T) {
	t.Parallel()
	const key = "a2V5a2V5a2V5a2V5a2V5aw==" // base64 of 16 bytes
	session := func(openid, sessionKey, unionid string) map[string]any {
		m := map[string]any{"openid": openid, "session_key": sessionKey}
		if unionid != "" {
			m["unionid"] = unionid
		}
		return m
	}
	tests := []struct {
		name   string
		answer map[string]any
		reason string
	}{
		{"no session_key", map[string]any{"openid": "o1"}, "session_key is missing"},
		{"no openid", map[string]any{"session_key": key}, "openid is missing"},
		{"session_key of 15 bytes", session("o1", "a2V5a2V5a2V5a2V5a2V5", ""), "not base64 of 16 bytes"},
		{"session_key of 17 bytes", session("o1", "a2V5a2V5a2V5a2V5a2V5a2U=", ""), "not base64 of 16 bytes"},
		{"session_key not base64", session("o1", "a2V5a2V5a2V5a2V5a2V5a!==", ""), "not base64 of 16 bytes"},
		{"session_key URL-safe alphabet", session("o1", "a2V5a2V5a2V5a2V5a2V5a_==", ""), "not base64 of 16 bytes"},
		{"session_key without padding", session("o1", "a2V5a2V5a2V5a2V5a2V5aw", ""), "not base64 of 16 bytes"},
		{"session_key with a newline", session("o1", "a2V5a2V5a2V5a2V5a2V5\naw=", ""), "not base64 of 16 bytes"},
		{"openid with NUL", session("o1\x00x", key, ""), "control character"},
		{"openid with a newline", session("o1\nX-Admin: 1", key, ""), "control character"},
		{"openid with DEL", session("o1\x7f", key, ""), "control character"},
		{"openid with a C1 control", session("o1\u0085", key, ""), "control character"},
		{"openid too long", session(strings.Repeat("o", 129), key, ""), "longer than"},
		{"unionid with NUL", session("o1", key, "u\x00"), "unionid holds a control character"},
		{"unionid too long", session("o1", key, strings.Repeat("u", 129)), "unionid is longer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]script{"/sns/jscode2session": answer(tt.answer)})
			s, err := f.client.Code2Session(t.Context(), testApp, "code")
			var ie *wechat.InvalidAnswerError
			if s != nil || !errors.As(err, &ie) || ie.API != "jscode2session" {
				t.Fatalf("Code2Session = %v, %v; want an *InvalidAnswerError", s, err)
			}
			if wechat.Classify(err) != wechat.KindInvalidAnswer || wechat.Temporary(err) {
				t.Errorf("Classify = %v, Temporary = %v; want invalid_answer, not temporary", wechat.Classify(err), wechat.Temporary(err))
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
			if n := f.wechat.count("/sns/jscode2session"); n != 1 {
				t.Errorf("WeChat saw %d calls, want 1", n)
			}
		})
	}
	// Ids at the bound, and beyond ASCII, are ids: WeChat publishes no alphabet.
	for _, id := range []string{strings.Repeat("o", 128), "o-_=微信"} {
		f := newFixture(t, map[string]script{"/sns/jscode2session": answer(session(id, key, id))})
		if _, err := f.client.Code2Session(t.Context(), testApp, "code"); err != nil {
			t.Errorf("openid %q: %v", id, err)
		}
	}

	t.Run("other APIs", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, map[string]script{
			"/cgi-bin/stable_token":            stableTokens(true),
			"/wxa/resetusersessionkey":         answer(map[string]any{"openid": "o1", "session_key": "bmV3"}),
			"/wxa/business/getuserphonenumber": answer(map[string]any{"phone_info": map[string]any{"phoneNumber": "138\x000"}}),
			"/wxa/getpaidunionid":              answer(map[string]any{"unionid": "u\n1"}),
		})
		ctx := t.Context()
		var ie *wechat.InvalidAnswerError
		if _, err := f.client.ResetUserSessionKey(ctx, testApp, "o1", key); !errors.As(err, &ie) {
			t.Errorf("ResetUserSessionKey with a short key: %v", err)
		}
		if _, err := f.client.PhoneNumber(ctx, testApp, "code", "o1"); !errors.As(err, &ie) {
			t.Errorf("PhoneNumber with a NUL: %v", err)
		}
		if _, err := f.client.PaidUnionID(ctx, testApp, "o1", ""); !errors.As(err, &ie) {
			t.Errorf("PaidUnionID with a newline: %v", err)
		}
	})
}
