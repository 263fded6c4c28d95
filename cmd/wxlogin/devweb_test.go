package main

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/internal/testlog"
)

// TestDevWebFlags: `dev --web-redirect-uri` lets the dev web apps return to
// a developer's own page (here one on another port, as a frontend dev
// server that proxies /v1/ to wxlogin would serve it), and
// `--web-auto-approve` makes WeChat's authorize page approve at once as
// that user: authorize → WeChat's page → callback → the page, with the
// session cookie, and no phone step.
func TestDevWebFlags(t *testing.T) {
	t.Parallel()
	const page = "http://localhost:5173/after-login"
	api, stop, stderr := startCommand(t, []string{"dev", "--addr", "127.0.0.1:0", "--emulator-addr", "127.0.0.1:0", "--data", t.TempDir(),
		"--web-redirect-uri", page, "--web-redirect-uri", "https://dev.example.com/h5/", "--web-auto-approve", "rita"},
		func(string) string { return "" }, "api listening on")
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("dev exited %d; stderr:\n%s", code, stderr.String())
		}
	}()
	oa := emulator.DevWebApps()[0].AppID

	// Each step by hand: the Secure cookies would not pass Go's cookie jar
	// over http, and the last redirect goes to a page nobody serves here.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	step := func(rawURL string, cookies ...*http.Cookie) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	cookie := func(res *http.Response, name string) *http.Cookie {
		t.Helper()
		for _, c := range res.Cookies() {
			if c.Name == name && c.Value != "" {
				return c
			}
		}
		t.Fatalf("%s answered %d without the cookie %s", res.Request.URL.Path, res.StatusCode, name)
		return nil
	}

	authorize := api + "/v1/web/authorize?appid=" + oa + "&scope=snsapi_userinfo&redirect_uri=" + url.QueryEscape(page)
	res := step(authorize)
	if res.StatusCode != http.StatusFound {
		t.Fatalf("authorize with the flagged page: %d, want 302", res.StatusCode)
	}
	state := cookie(res, "wxlogin_web_state")
	wechatPage, err := res.Location()
	if err != nil {
		t.Fatal(err)
	}
	res = step(wechatPage.String())
	callback, err := res.Location()
	if res.StatusCode != http.StatusFound || err != nil || callback.Path != "/v1/web/callback" || callback.Query().Get("code") == "" {
		t.Fatalf("WeChat's authorize page with --web-auto-approve: %d to %v, want 302 at once to the callback with a code", res.StatusCode, callback)
	}
	res = step(callback.String(), state)
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusFound || loc != page {
		t.Fatalf("callback: %d to %q, want 302 to %s", res.StatusCode, loc, page)
	}
	session := cookie(res, "wxlogin_session")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, api+"/v1/me", nil)
	req.AddCookie(session)
	status, me := do(t, req)
	if status != 200 {
		t.Fatalf("GET /v1/me by the session cookie: %d %v", status, me)
	}
	if me["appid"] != oa || me["openid"] == nil {
		t.Errorf("GET /v1/me: %v, want a user of %s", me, oa)
	}

	// The playground's pages stay allowed beside the flagged ones; an
	// unlisted page is still refused.
	for _, tc := range []struct {
		page string
		want int
	}{
		{api + "/playground/web-done.html", http.StatusFound},
		{"https://dev.example.com/h5/", http.StatusFound},
		{"http://localhost:5173/other", http.StatusBadRequest},
	} {
		if res := step(api + "/v1/web/authorize?appid=" + oa + "&redirect_uri=" + url.QueryEscape(tc.page)); res.StatusCode != tc.want {
			t.Errorf("authorize returning to %s: %d, want %d", tc.page, res.StatusCode, tc.want)
		}
	}
}

// TestDevWebRedirectURIRefused: a page the session cookie could not reach
// (plain http on a host that is not loopback) stops dev before it listens,
// naming the flag.
func TestDevWebRedirectURIRefused(t *testing.T) {
	t.Parallel()
	var stdout bytes.Buffer
	stderr := &testlog.Buffer{}
	code := run(t.Context(), []string{"dev", "--addr", "127.0.0.1:0", "--emulator-addr", "127.0.0.1:0", "--data", t.TempDir(),
		"--web-redirect-uri", "http://dev.example.com/h5/"},
		env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: stderr, Getenv: func(string) string { return "" }})
	if code == 0 {
		t.Fatalf("dev with an http page on a public host exited 0; stdout:\n%s", stdout.String())
	}
	if msg := stderr.String(); !strings.Contains(msg, "--web-redirect-uri") || !strings.Contains(msg, "http://dev.example.com/h5/") {
		t.Errorf("stderr %q does not name the flag and the page", msg)
	}
}
