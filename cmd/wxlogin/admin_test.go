package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/keyring"
)

// TestAdminVerbs runs every `wxlogin admin` verb against a real server and
// checks what it prints and its exit code, then the ways it fails. The
// sessions are made under one master key and the server restarted with a
// new primary key in front of it, so that rotate-key has something to do.
func TestAdminVerbs(t *testing.T) {
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	app := emulator.DevApps()[0]
	const adminToken = "admin-token-for-the-admin-test"
	old, primary := keyring.Generate("k1"), keyring.Generate("k2")
	envs := map[string]string{
		"WXLOGIN_ADDR":            "127.0.0.1:0",
		"WXLOGIN_STORE":           "sqlite://" + filepath.Join(t.TempDir(), "wx.db"),
		"WXLOGIN_WECHAT_BASE_URL": wechat.URL,
		"WXLOGIN_APPS":            app.AppID,
		appSecretVar(app.AppID):   app.Secret,
		"WXLOGIN_MASTER_KEY":      keyring.Format(old),
		"WXLOGIN_ADMIN_TOKEN":     adminToken,
	}

	api, stop, stderr := startServe(t, envs)
	var tokens []string
	var userID, openid string
	for range 2 {
		code, err := em.Login(app.AppID, "alice")
		if err != nil {
			t.Fatal(err)
		}
		status, body := postJSON(t, api+"/v1/login", "", `{"code":"`+code+`"}`)
		if status != 200 {
			t.Fatalf("login: %d %v", status, body)
		}
		tokens = append(tokens, body["token"].(string))
		u := body["user"].(map[string]any)
		userID, openid = u["id"].(string), u["openid"].(string)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d; stderr:\n%s", code, stderr.String())
	}
	envs["WXLOGIN_MASTER_KEY"] = keyring.Format(primary, old)
	api, stop, stderr = startServe(t, envs)
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d; stderr:\n%s", code, stderr.String())
		}
	}()

	admin := func(token string, args ...string) (code int, stdout, stderr string) {
		t.Helper()
		var out, errOut bytes.Buffer
		vars := map[string]string{}
		if token != "" {
			vars["WXLOGIN_ADMIN_TOKEN"] = token
		}
		code = run(t.Context(), append([]string{"admin", "--url", api}, args...),
			env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: envOf(vars)})
		return code, out.String(), errOut.String()
	}
	// ok runs a verb that must succeed and decodes what it printed into v
	// (nil: it must print "ok").
	ok := func(v any, args ...string) {
		t.Helper()
		code, out, errOut := admin(adminToken, args...)
		if code != 0 || errOut != "" {
			t.Fatalf("admin %v: exit %d, stderr %q; want 0 and nothing", args, code, errOut)
		}
		if v == nil {
			if out != "ok\n" {
				t.Fatalf("admin %v printed %q, want \"ok\"", args, out)
			}
			return
		}
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("admin %v printed %q: %v", args, out, err)
		}
	}
	session := func(tok string) int {
		t.Helper()
		status, _ := get(t, api+"/v1/session", tok)
		return status
	}

	var users struct {
		Users []struct{ ID, OpenID string } `json:"users"`
	}
	ok(&users, "users", "--openid", openid, "--appid", app.AppID)
	if len(users.Users) != 1 || users.Users[0].ID != userID {
		t.Errorf("users --openid: %+v, want user %s", users.Users, userID)
	}
	var user struct{ ID, AppID string }
	ok(&user, "user", userID)
	if user.ID != userID || user.AppID != app.AppID {
		t.Errorf("user: %+v, want %s of %s", user, userID, app.AppID)
	}
	var sessions struct {
		Sessions []struct{ ID string } `json:"sessions"`
	}
	ok(&sessions, "sessions", userID)
	if len(sessions.Sessions) != 2 {
		t.Fatalf("sessions: %+v, want the 2 logins", sessions.Sessions)
	}
	var token struct {
		AccessToken string `json:"access_token"`
	}
	ok(&token, "access-token", app.AppID)
	if token.AccessToken == "" {
		t.Error("access-token printed no token")
	}

	// Both sessions hold session_keys sealed under the old key.
	var rotated struct{ Resealed int }
	ok(&rotated, "rotate-key")
	if rotated.Resealed != 2 {
		t.Errorf("rotate-key resealed %d, want 2", rotated.Resealed)
	}
	ok(&rotated, "rotate-key")
	if rotated.Resealed != 0 {
		t.Errorf("rotate-key again resealed %d, want 0", rotated.Resealed)
	}

	ok(nil, "revoke-session", sessions.Sessions[0].ID)
	if a, b := session(tokens[0]), session(tokens[1]); a != 401 || b != 200 {
		t.Errorf("after revoke-session of the first: sessions answer %d and %d, want 401 and 200", a, b)
	}
	ok(nil, "revoke-sessions", userID)
	if b := session(tokens[1]); b != 401 {
		t.Errorf("after revoke-sessions: the second session answers %d, want 401", b)
	}
	ok(nil, "erase", userID)

	failures := []struct {
		name     string
		token    string
		args     []string
		wantCode int
		wantErr  string // in stderr
	}{
		{"erased user", adminToken, []string{"user", userID}, 1, "wxlogin admin: not_found: no such user (HTTP 404)"},
		{"wrong admin token", "not-the-admin-token-at-all", []string{"users"}, 1, "unauthorized"},
		{"no admin token", "", []string{"users"}, 2, "WXLOGIN_ADMIN_TOKEN"},
		{"unknown verb", adminToken, []string{"delete-everything"}, 2, `unknown verb "delete-everything"`},
		{"missing id", adminToken, []string{"user"}, 2, "takes exactly one argument"},
		{"no verb", adminToken, nil, 2, "Usage: wxlogin admin"},
	}
	for _, tt := range failures {
		code, out, errOut := admin(tt.token, tt.args...)
		if code != tt.wantCode || out != "" || !strings.Contains(errOut, tt.wantErr) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d, nothing on stdout, stderr with %q",
				tt.name, code, out, errOut, tt.wantCode, tt.wantErr)
		}
	}
}

// TestREADMEDocumentsAdminVerbs keeps the README's admin section in step
// with the verbs the command takes, and WXLOGIN_URL with it.
func TestREADMEDocumentsAdminVerbs(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	verbs := []string{"users", "webhooks", "rotate-key"}
	for v := range idRoutes {
		verbs = append(verbs, v)
	}
	for _, v := range verbs {
		if !strings.Contains(readme, "\nwxlogin admin "+v+" ") && !strings.Contains(readme, "\nwxlogin admin "+v+"\n") {
			t.Errorf("README.md shows no `wxlogin admin %s` command", v)
		}
		if !strings.Contains(adminUsage, "  "+v+" ") {
			t.Errorf("wxlogin admin's usage lacks %s", v)
		}
	}
	if !strings.Contains(readme, "WXLOGIN_URL") {
		t.Error("README.md does not mention WXLOGIN_URL")
	}
}
