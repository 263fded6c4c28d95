package httpapi_test

import (
	"strings"
	"testing"
)

// TestCurlStyleJSONBodies: `curl -d '{...}'` labels a JSON body
// application/x-www-form-urlencoded. The body is parsed as JSON (never
// form-decoded, so base64 '+' signs survive), and the README's curl
// walkthrough works as written; a body that really is form-encoded is
// still refused with a hint.
func TestCurlStyleJSONBodies(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	form := []string{"Content-Type", "application/x-www-form-urlencoded"}

	code := w.code(app1, "curl-user")
	var login loginBody
	w.request("POST", "/v1/login", "", `{"appid":"`+app1+`","code":"`+code+`"}`, form...).ok(t, 200, &login)
	if !strings.HasPrefix(login.Token, "wxl_") {
		t.Fatalf("token = %q", login.Token)
	}

	// Today's WeChat asks for privacy agreement first.
	if err := w.em.AgreePrivacy(app1, "curl-user"); err != nil {
		t.Fatal(err)
	}
	info, err := w.em.UserInfo(app1, "curl-user")
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]string{"rawData": info.RawData, "signature": info.Signature, "encryptedData": info.EncryptedData, "iv": info.IV}
	w.request("POST", "/v1/userinfo", login.Token, body, form...).ok(t, 200, nil)

	// Any other label (or none) is read as JSON too, as the README says:
	// only form-encoded, multipart and malformed Content-Types are refused.
	for _, ct := range []string{"text/plain; charset=utf-8", "application/xml", "application/octet-stream"} {
		w.request("POST", "/v1/login", "", `{"appid":"`+app1+`","code":"`+w.code(app1, "curl-user")+`"}`, "Content-Type", ct).ok(t, 200, nil)
	}

	e := w.request("POST", "/v1/login", "", "appid="+app1+"&code="+w.code(app1, "curl-user"), form...).fails(t, 415, "unsupported_media_type")
	if !strings.Contains(e.Error.Message, "JSON") {
		t.Errorf("message %q does not say to send JSON", e.Error.Message)
	}
}
