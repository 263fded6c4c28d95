package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDevServesTheEmulatorsApps checks that dev mode serves every app the
// emulator knows: a login without appid is for the default app, a login
// for wxdec0de0000000002 works and shares alice's unionid (the same
// open-platform account), and wxdec0de0000000003 has none. It also checks
// that the dev clock ages the access-token cache with WeChat's clock: after
// three hours the cached token has expired and a new one is fetched.
func TestDevServesTheEmulatorsApps(t *testing.T) {
	t.Parallel()
	api, stop, stderr := startCommand(t, []string{"dev", "--addr", "127.0.0.1:0", "--emulator-addr", "127.0.0.1:0", "--data", t.TempDir()},
		func(string) string { return "" }, "api listening on")
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("dev exited %d; stderr:\n%s", code, stderr.String())
		}
	}()
	devLogin := func(appid, body string) map[string]any {
		t.Helper()
		status, res := postJSON(t, api+"/emulator/v1/login", "", `{"appid":"`+appid+`","user":"alice"}`)
		code, _ := res["code"].(string)
		if status != 200 || code == "" {
			t.Fatalf("emulator login for %s: %d %v", appid, status, res)
		}
		status, res = postJSON(t, api+"/v1/login", "", `{"code":"`+code+`"`+body+`}`)
		if status != 200 {
			t.Fatalf("login for %s (%s): %d %v", appid, body, status, res)
		}
		user, _ := res["user"].(map[string]any)
		return user
	}
	first := devLogin("wxdec0de0000000001", "")
	if first["appid"] != "wxdec0de0000000001" {
		t.Errorf("a login without appid is for %v, want the default app wxdec0de0000000001", first["appid"])
	}
	second := devLogin("wxdec0de0000000002", `,"appid":"wxdec0de0000000002"`)
	if second["appid"] != "wxdec0de0000000002" || second["unionid"] == nil || second["unionid"] != first["unionid"] {
		t.Errorf("alice on the second app: %v; want its appid and the unionid %v of the first", second, first["unionid"])
	}
	if third := devLogin("wxdec0de0000000003", `,"appid":"wxdec0de0000000003"`); third["appid"] != "wxdec0de0000000003" || third["unionid"] != nil {
		t.Errorf("alice on the third app: %v; want its appid and no unionid", third)
	}

	accessToken := func() string {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, api+"/v1/admin/apps/wxdec0de0000000001/access_token", nil)
		req.Header.Set("Authorization", "Bearer "+devAdminToken)
		status, body := do(t, req)
		tok, _ := body["access_token"].(string)
		if status != 200 || tok == "" {
			t.Fatalf("access token: %d %v", status, body)
		}
		return tok
	}
	before := accessToken()
	if again := accessToken(); again != before {
		t.Fatalf("the access token changed without the clock moving: the cache is not used")
	}
	if status, body := postJSON(t, api+"/dev/v1/clock", "", `{"advance":"3h"}`); status != 200 {
		t.Fatalf("dev clock: %d %v", status, body)
	}
	if after := accessToken(); after == before {
		t.Error("three hours later on the dev clock the cache still serves the token WeChat issued for two hours")
	}
}

// TestDevSessionPolicyWeChat: `dev --session-policy wechat` ends a session
// once the emulator's session_key for it dies (here of idleness, after the
// dev clock moved past the emulator's idle timeout and the check interval).
func TestDevSessionPolicyWeChat(t *testing.T) {
	t.Parallel()
	api, stop, stderr := startCommand(t, []string{"dev", "--addr", "127.0.0.1:0", "--emulator-addr", "127.0.0.1:0", "--data", t.TempDir(),
		"--session-policy", "wechat", "--session-check-interval", "1m"},
		func(string) string { return "" }, "api listening on")
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("dev exited %d; stderr:\n%s", code, stderr.String())
		}
	}()
	_, res := postJSON(t, api+"/emulator/v1/login", "", `{"appid":"wxdec0de0000000001","user":"alice"}`)
	code, _ := res["code"].(string)
	status, res := postJSON(t, api+"/v1/login", "", `{"code":"`+code+`"}`)
	token, _ := res["token"].(string)
	if status != 200 || token == "" || res["session_policy"] != "wechat" {
		t.Fatalf("login: %d %v; want a token and session_policy wechat", status, res)
	}
	session := func() int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, api+"/v1/session", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		status, _ := do(t, req)
		return status
	}
	if got := session(); got != 200 {
		t.Fatalf("session right after login: %d", got)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, api+"/emulator/v1/config", strings.NewReader(`{"session_key_idle_timeout":"10m"}`))
	if status, body := do(t, req); status != 200 {
		t.Fatalf("emulator config: %d %v", status, body)
	}
	if status, body := postJSON(t, api+"/dev/v1/clock", "", `{"advance":"11m"}`); status != 200 {
		t.Fatalf("dev clock: %d %v", status, body)
	}
	for deadline := time.Now().Add(10 * time.Second); session() != 401; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the session of a key dead on the emulator still verifies after 10 s; stderr:\n%s", stderr.String())
		}
	}
}
