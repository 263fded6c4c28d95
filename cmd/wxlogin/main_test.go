package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/internal/testlog"
	"github.com/wxlogin/wxlogin/keyring"
)

// startCommand runs a long-running subcommand in-process and returns the
// first URL printed on a stdout line matching pattern, and a stop function
// that returns the exit code.
func startCommand(t *testing.T, args []string, getenv func(string) string, pattern string) (string, func() int, *testlog.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	stderr := &testlog.Buffer{}
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, args, env{Stdin: strings.NewReader(""), Stdout: pw, Stderr: stderr, Getenv: getenv})
		pw.Close()
	}()
	re := regexp.MustCompile(pattern + ` (http://[0-9.:]+)`)
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		found := false
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil && !found {
				found = true
				urls <- m[1]
			}
		}
		if !found {
			close(urls)
		}
	}()
	url, ok := <-urls
	if !ok {
		cancel()
		t.Fatalf("%v printed no %q line; stderr:\n%s", args, pattern, stderr.String())
	}
	stop := func() int {
		cancel()
		select {
		case code := <-exit:
			return code
		case <-time.After(20 * time.Second):
			t.Fatal("command did not stop within 20s of cancellation")
			return -1
		}
	}
	return url, stop, stderr
}

func postJSON(t *testing.T, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

func get(t *testing.T, url, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 && json.Unmarshal(b, &m) != nil {
		m = map[string]any{"raw": string(b)}
	}
	return resp.StatusCode, m
}

// TestDevFirstLogin runs `wxlogin dev` as the README says and walks the
// curl commands it prints: a code from the emulator's device API on the
// same port, a login, the session, forward-auth, the dev clock.
func TestDevFirstLogin(t *testing.T) {
	data := t.TempDir()
	api, stop, stderr := startCommand(t, []string{"dev", "--addr", "127.0.0.1:0", "--emulator-addr", "127.0.0.1:0", "--data", data},
		func(string) string { return "" }, "api listening on")

	status, body := postJSON(t, api+"/emulator/v1/login", "", `{"appid":"wxdec0de0000000001","user":"alice"}`)
	code, _ := body["code"].(string)
	if status != 200 || code == "" {
		t.Fatalf("emulator login: %d %v", status, body)
	}
	status, body = postJSON(t, api+"/v1/login", "", `{"code":"`+code+`"}`)
	token, _ := body["token"].(string)
	if status != 200 || !strings.HasPrefix(token, "wxl_") {
		t.Fatalf("login: %d %v", status, body)
	}
	if status, body = get(t, api+"/v1/session", token); status != 200 {
		t.Fatalf("session: %d %v", status, body)
	}
	if status, _ = get(t, api+"/playground/", ""); status != 200 {
		t.Errorf("playground: %d", status)
	}
	if status, body = get(t, api+"/metrics", ""); status != 200 || !strings.Contains(fmt.Sprint(body["raw"]), "go_goroutines") {
		t.Errorf("metrics: %d, want 200 with the Go collector's series", status)
	}
	// The dev clock moves the server past the absolute lifetime: the token dies.
	if status, body = postJSON(t, api+"/dev/v1/clock", "", `{"advance":"800h"}`); status != 200 {
		t.Fatalf("dev clock: %d %v", status, body)
	}
	if status, body = get(t, api+"/v1/session", token); status != 401 || errCode(body) != "session_invalid" {
		t.Fatalf("after 800h: %d %v, want 401 session_invalid", status, body)
	}
	if code := stop(); code != 0 {
		t.Fatalf("dev exited %d; stderr:\n%s", code, stderr.String())
	}
	if strings.Contains(stderr.String(), token) {
		t.Error("the login token appears in the dev server's log")
	}
	if _, err := os.Stat(filepath.Join(data, "wxlogin.db")); err != nil {
		t.Errorf("the store is not in the data folder: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(data, "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("master.key: %v, mode %v; want mode 0600", err, fi)
	}
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// TestServeAgainstEmulator runs `wxlogin serve` configured only by the
// environment against a separate emulator, as production runs against
// WeChat, and checks that the dev-only routes are absent.
func TestServeAgainstEmulator(t *testing.T) {
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	app := emulator.DevApps()[1]
	dir := t.TempDir()
	envs := map[string]string{
		"WXLOGIN_ADDR":            "127.0.0.1:0",
		"WXLOGIN_STORE":           "sqlite://" + filepath.Join(dir, "wx.db"),
		"WXLOGIN_WECHAT_BASE_URL": wechat.URL,
		"WXLOGIN_APPS":            app.AppID,
		appSecretVar(app.AppID):   app.Secret,
		"WXLOGIN_MASTER_KEY":      keyring.Format(keyring.Generate("k1")),
		"WXLOGIN_ADMIN_TOKEN":     "admin-token-for-the-test",
	}
	api, stop, stderr := startServe(t, envs)

	code, err := em.Login(app.AppID, "bob")
	if err != nil {
		t.Fatal(err)
	}
	status, body := postJSON(t, api+"/v1/login", "", `{"code":"`+code+`"}`)
	if status != 200 {
		t.Fatalf("login: %d %v", status, body)
	}
	if status, _ := get(t, api+"/readyz", ""); status != 200 {
		t.Errorf("readyz: %d", status)
	}
	for _, path := range []string{"/dev/v1/clock", "/emulator/v1/apps", "/playground/"} {
		status, body := get(t, api+path, "")
		if status != 404 || errCode(body) != "not_found" {
			t.Errorf("serve answers %s with %d %v: dev-only routes must not exist", path, status, body)
		}
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d; stderr:\n%s", code, stderr.String())
	}
	if strings.Contains(stderr.String(), app.Secret) {
		t.Error("the app secret appears in the server's log")
	}
}

// startServe runs serve; it logs its address as JSON on stderr, so this
// polls the log instead of stdout.
func startServe(t *testing.T, envs map[string]string, flags ...string) (string, func() int, *testlog.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	stderr := &testlog.Buffer{}
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, append([]string{"serve"}, flags...), env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: stderr, Getenv: envOf(envs)})
	}()
	re := regexp.MustCompile(`"addr":"(https?://[0-9.:]+)"`)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			return m[1], func() int { cancel(); return <-exit }, stderr
		}
		select {
		case code := <-exit:
			t.Fatalf("serve exited %d early; stderr:\n%s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("serve logged no address; stderr:\n%s", stderr.String())
	return "", nil, nil
}

func TestServeRefusesBadConfig(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	code := run(t.Context(), []string{"serve"}, env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr, Getenv: envOf(map[string]string{})})
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if lines := strings.Count(strings.TrimSpace(stderr.String()), "\n"); lines != 0 || !strings.Contains(stderr.String(), "apps") {
		t.Fatalf("stderr = %q, want one line naming the missing apps", stderr.String())
	}
}

// TestServeBadConfigWritesNothing checks that a setting auth would refuse
// stops serve before the store's folder or file is created.
func TestServeBadConfigWritesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "wxlogin.yaml")
	if err := os.WriteFile(cfg, []byte("limits:\n  login_per_ip: {rate: 5, burst: -1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := validEnv()
	vars["WXLOGIN_STORE"] = "sqlite://" + filepath.Join(dir, "data", "wx.db")
	var stderr bytes.Buffer
	code := run(t.Context(), []string{"serve", "--config", cfg},
		env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr, Getenv: envOf(vars)})
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", code, stderr.String())
	}
	if msg := strings.TrimSpace(stderr.String()); strings.Contains(msg, "\n") || !strings.Contains(msg, "limits.login_per_ip.burst") {
		t.Errorf("stderr = %q, want one line naming limits.login_per_ip.burst", msg)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("serve refused its config but left %s behind", e.Name())
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	store := "sqlite://" + filepath.Join(t.TempDir(), "wx.db")
	migrate := func() string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), []string{"migrate"}, env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
			Getenv: envOf(map[string]string{"WXLOGIN_STORE": store})})
		if code != 0 {
			t.Fatalf("migrate exited %d: %s", code, stderr.String())
		}
		return stdout.String()
	}
	if first := migrate(); !strings.Contains(first, "applied ") || !strings.Contains(first, "up to date") {
		t.Fatalf("first migrate printed %q, want the migrations it applied", first)
	}
	if second := migrate(); strings.Contains(second, "applied ") || !strings.Contains(second, "up to date") {
		t.Fatalf("second migrate printed %q, want nothing applied", second)
	}
}
