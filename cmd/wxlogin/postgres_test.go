package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/keyring"
)

// testPostgresURL returns the URL of the test server scripts/testdb
// starts. Without it a test skips, but fails under
// WXLOGIN_TEST_REQUIRE_TOOLS (scripts/test sets it).
func testPostgresURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("WXLOGIN_TEST_POSTGRES")
	if u == "" {
		if os.Getenv("WXLOGIN_TEST_REQUIRE_TOOLS") != "" {
			t.Fatal("WXLOGIN_TEST_POSTGRES is not set, and WXLOGIN_TEST_REQUIRE_TOOLS is set (run scripts/test, which starts PostgreSQL)")
		}
		t.Skip("WXLOGIN_TEST_POSTGRES is not set (scripts/test starts a PostgreSQL and sets it)")
	}
	return u
}

// newPostgresDB creates a database of its own on the server at admin and
// returns its URL; it is dropped when the test ends.
func newPostgresDB(t *testing.T, admin string) string {
	t.Helper()
	name := "wx_" + strings.ToLower(rand.Text()[:16])
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// serveEnv is a serve configuration against the emulator at wechatURL.
func serveEnv(store, wechatURL string, app emulator.App, masterKey string) map[string]string {
	return map[string]string{
		"WXLOGIN_ADDR":            "127.0.0.1:0",
		"WXLOGIN_STORE":           store,
		"WXLOGIN_WECHAT_BASE_URL": wechatURL,
		"WXLOGIN_APPS":            app.AppID,
		appSecretVar(app.AppID):   app.Secret,
		"WXLOGIN_MASTER_KEY":      masterKey,
		"WXLOGIN_SINGLE_INSTANCE": "true",
	}
}

func login(t *testing.T, em *emulator.Emulator, api string, app emulator.App, user string) string {
	t.Helper()
	code, err := em.Login(app.AppID, user)
	if err != nil {
		t.Fatal(err)
	}
	status, body := postJSON(t, api+"/v1/login", "", `{"code":"`+code+`"}`)
	if status != 200 {
		t.Fatalf("login: %d %v", status, body)
	}
	return body["token"].(string)
}

func runCmd(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: envOf(vars)})
	return code, stdout.String(), stderr.String()
}

// TestServeStores runs one end-to-end flow against serve on each store
// URL scheme: login, the session, forward-auth, the nickname and avatar,
// a second device, erasure by the admin API, logout, and readiness. The
// PostgreSQL case skips without a test server (and fails under
// WXLOGIN_TEST_REQUIRE_TOOLS).
func TestServeStores(t *testing.T) { eachServeStore(t, serveFlow) }

// eachServeStore runs flow in parallel subtests, once with a new SQLite
// store URL and once with a new PostgreSQL database's.
func eachServeStore(t *testing.T, flow func(t *testing.T, store string)) {
	t.Parallel()
	stores := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "wx.db") },
		"postgres": func(t *testing.T) string { return newPostgresDB(t, testPostgresURL(t)) },
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			flow(t, newStore(t))
		})
	}
}

func serveFlow(t *testing.T, store string) {
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	app := emulator.DevApps()[1]
	const admin = "admin-token-for-the-stores-test"
	vars := serveEnv(store, wechat.URL, app, keyring.Format(keyring.Generate("k1")))
	vars["WXLOGIN_ADMIN_TOKEN"] = admin
	api, stop, stderr := startServe(t, vars)
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d; stderr:\n%s", code, stderr.String())
		}
	}()
	send := func(method, path, token, contentType string, body []byte) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, api+path, bytes.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return do(t, req)
	}

	token := login(t, em, api, app, "alice")
	status, session := get(t, api+"/v1/session", token)
	if status != 200 {
		t.Fatalf("session: %d %v", status, session)
	}
	if status, _ := get(t, api+"/v1/auth", token); status != 200 {
		t.Errorf("auth: %d", status)
	}
	if status, body := send("PUT", "/v1/me/profile", token, "application/json", []byte(`{"nickname":"阿丽"}`)); status != 200 {
		t.Errorf("profile: %d %v", status, body)
	}
	avatar := uploadAvatar(t, api, token)
	fetch(t, api+avatar)
	status, me := get(t, api+"/v1/me", token)
	profile, _ := me["profile"].(map[string]any)
	if status != 200 || profile["nickname"] != "阿丽" || profile["avatar_url"] != avatar {
		t.Errorf("me: %d %v, want the nickname and avatar just saved", status, me)
	}
	second := login(t, em, api, app, "alice")
	status, list := get(t, api+"/v1/sessions", second)
	if sessions, _ := list["sessions"].([]any); status != 200 || len(sessions) != 2 {
		t.Errorf("sessions: %d %v, want two", status, list)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodDelete, api+"/v1/session", nil)
	req.Header.Set("Authorization", "Bearer "+second)
	if status, body := do(t, req); status >= 300 {
		t.Errorf("logout: %d %v", status, body)
	}
	if status, _ := get(t, api+"/v1/auth", second); status != 401 {
		t.Errorf("auth after logout: %d, want 401", status)
	}
	userID, _ := me["id"].(string)
	if status, body := send("DELETE", "/v1/admin/users/"+userID, admin, "", nil); status >= 300 {
		t.Errorf("admin erase %q: %d %v", userID, status, body)
	}
	if status, _ := get(t, api+"/v1/auth", token); status != 401 {
		t.Errorf("auth after erasure: %d, want 401", status)
	}
	if status, _ := get(t, api+"/readyz", ""); status != 200 {
		t.Errorf("readyz: %d", status)
	}
}

// TestServePostgresConfig checks what serve refuses on PostgreSQL, each
// with one line saying why.
func TestServePostgresConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"several instances", map[string]string{"WXLOGIN_STORE": "postgres://wx@127.0.0.1:1/wx", "WXLOGIN_SINGLE_INSTANCE": ""}, "single_instance: true"},
		{"password in URL", map[string]string{"WXLOGIN_STORE": "postgres://wx:hunter2-secret@127.0.0.1:1/wx"}, "WXLOGIN_STORE_PASSWORD"},
		{"password parameter", map[string]string{"WXLOGIN_STORE": "postgres://wx@127.0.0.1:1/wx?password=hunter2-secret"}, "WXLOGIN_STORE_PASSWORD"},
		{"redis password in URL", map[string]string{"WXLOGIN_STORE": "postgres://wx@127.0.0.1:1/wx", "WXLOGIN_REDIS": "redis://:hunter2-secret@127.0.0.1:6379/0"}, "WXLOGIN_REDIS_PASSWORD"},
		{"redis user and password in URL", map[string]string{"WXLOGIN_REDIS": "rediss://wx:hunter2-secret@127.0.0.1:6379/0"}, "WXLOGIN_REDIS_PASSWORD"},
		{"redis scheme", map[string]string{"WXLOGIN_REDIS": "http://127.0.0.1:6379"}, "redis:// or rediss://"},
		{"redis database", map[string]string{"WXLOGIN_REDIS": "redis://127.0.0.1:6379/zero"}, "redis:"},
		{"classic token with redis", map[string]string{"WXLOGIN_REDIS": "redis://127.0.0.1:6379/0", "WXLOGIN_WECHAT_CLASSIC_TOKEN": "true"}, "wechat_classic_token"},
		{"unknown scheme", map[string]string{"WXLOGIN_STORE": "mysql://wx@127.0.0.1/wx"}, "not supported"},
		{"bad max conns", map[string]string{"WXLOGIN_STORE": "postgres://wx@127.0.0.1:1/wx", "WXLOGIN_POSTGRES_MAX_CONNS": "-3"}, "WXLOGIN_POSTGRES_MAX_CONNS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := validEnv()
			vars["WXLOGIN_SINGLE_INSTANCE"] = "true"
			for k, v := range tt.vars {
				vars[k] = v
			}
			code, _, stderr := runCmd(t, vars, "serve")
			msg := strings.TrimSpace(stderr)
			if code != 1 || strings.Contains(msg, "\n") || !strings.Contains(msg, tt.want) {
				t.Errorf("serve exited %d with %q, want 1 and one line naming %q", code, msg, tt.want)
			}
			if strings.Contains(msg, "hunter2-secret") {
				t.Errorf("the password appears in the error: %q", msg)
			}
		})
	}
}

// TestMigrateSQLiteToPostgres copies a SQLite store that a server has
// used into PostgreSQL and serves from the copy: tokens issued on SQLite
// keep working, a token logged out before the copy stays invalid, and the
// avatar came along.
func TestMigrateSQLiteToPostgres(t *testing.T) {
	t.Parallel()
	target := newPostgresDB(t, testPostgresURL(t))
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	app := emulator.DevApps()[1]
	mk := keyring.Format(keyring.Generate("k1"))
	dir := t.TempDir()
	source := "sqlite://" + filepath.Join(dir, "wx.db")

	api, stop, stderr := startServe(t, serveEnv(source, wechat.URL, app, mk))
	kept := login(t, em, api, app, "alice")
	gone := login(t, em, api, app, "bob")
	avatar := uploadAvatar(t, api, kept)
	before := fetch(t, api+avatar)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodDelete, api+"/v1/session", nil)
	req.Header.Set("Authorization", "Bearer "+gone)
	if status, body := do(t, req); status >= 300 {
		t.Fatalf("logout: %d %v", status, body)
	}

	// A store a server holds is refused.
	if code, _, msg := runCmd(t, nil, "migrate", "--from", source, "--to", target); code != 1 || !strings.Contains(msg, "in use") {
		t.Errorf("migrate from a live store: exit %d, %q; want 1 and \"in use\"", code, msg)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d; stderr:\n%s", code, stderr.String())
	}

	code, out, msg := runCmd(t, nil, "migrate", "--from", source, "--to", target)
	if code != 0 || !strings.Contains(out, "copied 2 users, 1 sessions and 1 avatars; counts match") {
		t.Fatalf("migrate: exit %d, stdout %q, stderr %q", code, out, msg)
	}
	// A second copy finds the target full and refuses without --force;
	// with it, it upserts the same records (how a copy is resumed).
	if code, _, msg := runCmd(t, nil, "migrate", "--from", source, "--to", target); code != 1 || !strings.Contains(msg, "--force") {
		t.Errorf("migrate into a non-empty target: exit %d, %q; want 1 and a hint at --force", code, msg)
	}
	if code, out, msg := runCmd(t, nil, "migrate", "--from", source, "--to", target, "--force"); code != 0 || !strings.Contains(out, "counts match") {
		t.Errorf("migrate --force: exit %d, %q, %q", code, out, msg)
	}

	api, stop, stderr = startServe(t, serveEnv(target, wechat.URL, app, mk))
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d; stderr:\n%s", code, stderr.String())
		}
	}()
	if status, body := get(t, api+"/v1/session", kept); status != 200 {
		t.Errorf("a token issued on SQLite, on PostgreSQL: %d %v", status, body)
	}
	if status, _ := get(t, api+"/v1/auth", gone); status != 401 {
		t.Errorf("a token logged out on SQLite, on PostgreSQL: %d, want 401", status)
	}
	if after := fetch(t, api+avatar); !bytes.Equal(after, before) {
		t.Errorf("avatar after the copy: %d bytes, want the %d bytes served before", len(after), len(before))
	}
}

// uploadAvatar uploads a small PNG as the user's avatar and returns its
// path (/v1/avatars/...).
func uploadAvatar(t *testing.T, api, token string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, api+"/v1/me/avatar", bytes.NewReader(noisePNG(t, 16)))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "image/png")
	status, body := do(t, req)
	profile, _ := body["profile"].(map[string]any)
	path, _ := profile["avatar_url"].(string)
	if status != 200 || !strings.HasPrefix(path, "/v1/avatars/") {
		t.Fatalf("avatar upload: %d %v", status, body)
	}
	return path
}

// fetch GETs url and returns the body of a 200.
func fetch(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || len(b) == 0 {
		t.Fatalf("GET %s: %d, %d bytes, %v", url, resp.StatusCode, len(b), err)
	}
	return b
}
