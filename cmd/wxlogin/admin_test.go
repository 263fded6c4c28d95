package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/internal/testlog"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/webhooksig"
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

// runAdminCLI runs `wxlogin admin --url api args…` with token as the
// admin token and returns its exit code and output.
func runAdminCLI(t *testing.T, api, token string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), append([]string{"admin", "--url", api}, args...),
		env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: envOf(map[string]string{"WXLOGIN_ADMIN_TOKEN": token})})
	return code, out.String(), errOut.String()
}

// TestAdminAccountsWeComWebhooks runs the verbs of WeCom members, accounts
// and the webhook outbox against a real server with two apps of one Open
// Platform account, a WeCom app and a webhook receiver.
func TestAdminAccountsWeComWebhooks(t *testing.T) {
	t.Parallel()
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	app1, app2 := emulator.DevApps()[0], emulator.DevApps()[1]
	corp := emulator.DevCorps()[0]
	clock := &fakeClock{now: time.Now().UTC()}
	const secret, adminToken = "whsec-admin-test-endpoint-secret", "admin-token-for-the-admin-webhook-test"
	rcv := newReceiver(t, secret, clock)
	dir := t.TempDir()
	configPath := writeFile(t, dir, "wxlogin.yaml", fmt.Sprintf(`apps:
  - {appid: %s, open_platform: dev}
  - {appid: %s, open_platform: dev}
  - {appid: wecom-a, kind: wecom, corpid: %s}
wecom_base_url: %s
webhooks:
  - url: %s
    secret_file: %s
    events: [user.registered, user.erased]
`, app1.AppID, app2.AppID, corp.CorpID, wechat.URL, rcv.URL(), writeFile(t, dir, "hook.secret", secret)))
	vars := map[string]string{
		"WXLOGIN_ADDR":            "127.0.0.1:0",
		"WXLOGIN_STORE":           "sqlite://" + filepath.Join(dir, "wx.db"),
		"WXLOGIN_WECHAT_BASE_URL": wechat.URL,
		appSecretVar(app1.AppID):  app1.Secret,
		appSecretVar(app2.AppID):  app2.Secret,
		appSecretVar("wecom-a"):   corp.Secret,
		"WXLOGIN_MASTER_KEY":      keyring.Format(keyring.Generate("k1")),
		"WXLOGIN_SINGLE_INSTANCE": "true",
		"WXLOGIN_ADMIN_TOKEN":     adminToken,
	}
	c, err := loadConfig(configPath, envOf(vars))
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	logs := &testlog.Buffer{}
	m := &Main{Config: c, Logger: slog.New(slog.NewJSONHandler(logs, nil)), Now: clock.Now}
	if err := m.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	api := m.APIURL
	ok := func(v any, args ...string) {
		t.Helper()
		code, out, errOut := runAdminCLI(t, api, adminToken, args...)
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
	type userOut struct {
		ID     string  `json:"id"`
		AppID  string  `json:"appid"`
		OpenID *string `json:"openid"`
		CorpID string  `json:"corpid"`
		UserID string  `json:"userid"`
	}
	type usersOut struct {
		Users []userOut `json:"users"`
	}
	type deliveryOut struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	type deliveriesOut struct {
		Deliveries []struct {
			ID       string `json:"id"`
			EventID  string `json:"event_id"`
			Event    string `json:"event"`
			State    string `json:"state"`
			Attempts int    `json:"attempts"`
		} `json:"deliveries"`
	}

	// Alice in both apps of the account, zhangsan a member of the corp.
	loginTo := func(appid, code string) string {
		t.Helper()
		status, res := postJSON(t, api+"/v1/login", "", `{"appid":"`+appid+`","code":"`+code+`"}`)
		if status != 200 {
			t.Fatalf("login to %s: %d %v", appid, status, res)
		}
		return res["token"].(string)
	}
	wxCode := func(appid string) string {
		t.Helper()
		code, err := em.Login(appid, "alice")
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	aliceToken := loginTo(app1.AppID, wxCode(app1.AppID))
	loginTo(app2.AppID, wxCode(app2.AppID))
	_, me := get(t, api+"/v1/me", aliceToken)
	alice, account := me["id"].(string), me["account_id"].(string)
	if account == "" {
		t.Fatalf("GET /v1/me: %v, want an account_id", me)
	}
	code, err := em.WeComLogin(corp.CorpID, "zhangsan")
	if err != nil {
		t.Fatal(err)
	}
	loginTo("wecom-a", code)

	var members usersOut
	ok(&members, "users", "--corpid", corp.CorpID, "--userid", "zhangsan")
	if len(members.Users) != 1 || members.Users[0].CorpID != corp.CorpID || members.Users[0].UserID != "zhangsan" ||
		members.Users[0].OpenID != nil || members.Users[0].AppID != "wecom-a" {
		t.Errorf("users --corpid --userid: %+v, want zhangsan of the corp without an openid", members.Users)
	}
	var people usersOut
	ok(&people, "users", "--account-id", account)
	if len(people.Users) != 2 || people.Users[0].AppID == people.Users[1].AppID {
		t.Errorf("users --account-id: %+v, want alice in both apps", people.Users)
	}

	// The three registrations, delivered.
	var regs deliveriesOut
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok(&regs, "webhooks", "--event", "user.registered", "--state", "delivered")
		if len(regs.Deliveries) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhooks --state delivered: %+v after 15 s, want 3; log:\n%s", regs.Deliveries, logs.String())
		}
		m.webhooks.Wake()
		time.Sleep(20 * time.Millisecond)
	}
	first := regs.Deliveries[0]
	var again deliveryOut
	ok(&again, "redeliver", first.ID)
	if again.ID != first.ID || again.State != "pending" {
		t.Errorf("redeliver printed %+v, want %s pending", again, first.ID)
	}
	received := func(eventID string) (n int) {
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		for _, h := range rcv.got {
			if h.header.Get(webhooksig.EventIDHeader) == eventID && h.sigErr == nil {
				n++
			}
		}
		return n
	}
	for received(first.EventID) != 2 {
		if time.Now().After(deadline.Add(15 * time.Second)) {
			t.Fatalf("the receiver got event %s %d times, want twice after redeliver", first.EventID, received(first.EventID))
		}
		m.webhooks.Wake()
		time.Sleep(20 * time.Millisecond)
	}

	// Erasing the account erases alice in both apps, not zhangsan.
	ok(nil, "erase-account", alice)
	ok(&people, "users", "--account-id", account)
	if len(people.Users) != 0 {
		t.Errorf("users --account-id after erase-account: %+v, want none", people.Users)
	}
	var erased deliveriesOut
	ok(&erased, "webhooks", "--event", "user.erased")
	if len(erased.Deliveries) != 2 {
		t.Errorf("webhooks --event user.erased: %+v, want alice's two", erased.Deliveries)
	}
	ok(&members, "users", "--corpid", corp.CorpID, "--userid", "zhangsan")
	if len(members.Users) != 1 {
		t.Errorf("zhangsan after erasing alice's account: %+v", members.Users)
	}

	for _, tt := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"corpid without userid", []string{"users", "--corpid", corp.CorpID}, 1, "invalid_request"},
		{"limit out of range", []string{"webhooks", "--limit", "0"}, 1, "invalid_request"},
		{"unknown delivery", []string{"redeliver", "dlv_nosuchdelivery"}, 1, "not_found"},
		{"an argument to a listing", []string{"webhooks", "pending"}, 2, "takes flags only"},
		{"unknown flag", []string{"users", "--phone", "1"}, 2, "-phone"},
		{"no user to erase", []string{"erase-account"}, 2, "takes exactly one argument"},
	} {
		code, out, errOut := runAdminCLI(t, api, adminToken, tt.args...)
		if code != tt.wantCode || out != "" || !strings.Contains(errOut, tt.wantErr) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d, nothing on stdout, stderr with %q",
				tt.name, code, out, errOut, tt.wantCode, tt.wantErr)
		}
	}
}
