package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/keyring"
)

// reloadMarker begins the one line every SIGHUP logs.
const reloadMarker = `"msg":"configuration reload`

// hangup sends SIGHUP and returns the log lines written until the reload
// logged its line (that line last).
func (p *server) hangup() []string {
	p.t.Helper()
	before := p.stderr.String()
	n := strings.Count(before, reloadMarker)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		p.t.Fatal(err)
	}
	waitFor(p.t, "the reload's log line", func() bool { return strings.Count(p.stderr.String(), reloadMarker) > n })
	added := strings.TrimSuffix(p.stderr.String()[len(before):], "\n")
	return strings.Split(added, "\n")
}

// reloaded sends SIGHUP and fails unless the reload was applied.
func (p *server) reloaded() {
	p.t.Helper()
	lines := p.hangup()
	if last := lines[len(lines)-1]; !strings.Contains(last, `"msg":"configuration reloaded"`) {
		p.t.Fatalf("reload not applied: %s", last)
	}
}

// refused sends SIGHUP, fails unless the reload was refused with exactly
// one log line (an error mentioning want), and returns that line.
func (p *server) refused(want string) string {
	p.t.Helper()
	lines := p.hangup()
	var errs []string
	for _, l := range lines {
		if strings.Contains(l, `"level":"ERROR"`) {
			errs = append(errs, l)
		}
	}
	last := lines[len(lines)-1]
	if len(errs) != 1 || !strings.Contains(last, "configuration reload refused") || !strings.Contains(last, want) {
		p.t.Fatalf("reload wanted refused with one error line mentioning %q; logged:\n%s", want, strings.Join(lines, "\n"))
	}
	return last
}

// reloadFiles are the configuration and secret files of a served test.
type reloadFiles struct {
	t                          *testing.T
	dir, config, master, admin string
	store, wechat              string
	extra                      string // more YAML
}

func newReloadFiles(t *testing.T, wechatURL string) *reloadFiles {
	dir := t.TempDir()
	f := &reloadFiles{t: t, dir: dir, config: filepath.Join(dir, "wxlogin.yaml"),
		master: filepath.Join(dir, "master.key"), admin: filepath.Join(dir, "admin.token"),
		store: "sqlite://" + filepath.Join(dir, "wx.db"), wechat: wechatURL}
	f.write(f.master, keyring.Format(keyring.Generate("k1")))
	return f
}

func (f *reloadFiles) write(path, content string) {
	f.t.Helper()
	if err := os.WriteFile(path, []byte(content+"\n"), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

func (f *reloadFiles) secretFile(appid string) string { return filepath.Join(f.dir, appid+".secret") }

// configure writes the configuration file serving apps on addr.
func (f *reloadFiles) configure(addr string, apps ...string) {
	f.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "addr: %s\nstore: %s\nwechat_base_url: %s\nmaster_key_file: %s\nadmin_token_file: %s\napps:\n",
		addr, f.store, f.wechat, f.master, f.admin)
	for _, id := range apps {
		fmt.Fprintf(&b, "  - appid: %s\n    secret_file: %s\n", id, f.secretFile(id))
	}
	b.WriteString(f.extra)
	f.write(f.config, b.String())
}

// TestServeReloadOnSIGHUP runs wxlogin serve as a process and changes its
// configuration and secret files under it: each SIGHUP applies apps added
// and removed, app secrets, the admin token and master keys, while a bad
// file, a changed listen address or a dropped key still in use is refused
// with one line and the running configuration kept.
func TestServeReloadOnSIGHUP(t *testing.T) {
	t.Parallel()
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	one, two := emulator.DevApps()[0], emulator.DevApps()[1]
	f := newReloadFiles(t, wechat.URL)
	f.write(f.secretFile(one.AppID), one.Secret)
	f.write(f.secretFile(two.AppID), "not-the-secret-wechat-knows")
	f.write(f.admin, "first-admin-token-0123")
	f.configure("127.0.0.1:0", one.AppID)
	p := startServeChild(t, nil, "--config", f.config)
	t.Cleanup(p.stop) // a clean exit: a data race the child found fails the test
	api := p.URL

	loginAs := func(app emulator.App, user string) (int, map[string]any) {
		code, err := em.Login(app.AppID, user)
		if err != nil {
			t.Fatal(err)
		}
		return postJSON(t, api+"/v1/login", "", `{"appid":"`+app.AppID+`","code":"`+code+`"}`)
	}
	mustLogin := func(app emulator.App, user string) string {
		t.Helper()
		status, body := loginAs(app, user)
		if status != 200 {
			t.Fatalf("login %s/%s: %d %v", app.AppID, user, status, body)
		}
		return body["token"].(string)
	}
	session := func(token string) int {
		t.Helper()
		status, _ := get(t, api+"/v1/session", token)
		return status
	}
	alice := mustLogin(one, "alice")
	if s := session(alice); s != 200 {
		t.Fatalf("alice's session: %d", s)
	}
	if status, body := loginAs(two, "bob"); errCode(body) != "unknown_app" {
		t.Fatalf("login to an app not configured yet: %d %v", status, body)
	}

	// An app added, with a secret WeChat refuses, then the right secret.
	f.configure("127.0.0.1:0", one.AppID, two.AppID)
	p.reloaded()
	if status, body := loginAs(two, "bob"); errCode(body) != "upstream_rejected" {
		t.Fatalf("login with the wrong secret: %d %v, want upstream_rejected", status, body)
	}
	f.write(f.secretFile(two.AppID), two.Secret)
	p.reloaded()
	bob := mustLogin(two, "bob")

	// The admin token.
	admin := func(token string) int {
		t.Helper()
		status, _ := get(t, api+"/v1/admin/users?appid="+one.AppID, token)
		return status
	}
	if s := admin("first-admin-token-0123"); s != 200 {
		t.Fatalf("admin with the first token: %d", s)
	}
	f.write(f.admin, "second-admin-token-0123")
	p.reloaded()
	if s := admin("first-admin-token-0123"); s != 401 {
		t.Errorf("admin with the replaced token: %d, want 401", s)
	}
	if s := admin("second-admin-token-0123"); s != 200 {
		t.Errorf("admin with the new token: %d, want 200", s)
	}

	// An app removed: its cached session fails at once.
	f.configure("127.0.0.1:0", two.AppID)
	p.reloaded()
	if s := session(alice); s != 401 {
		t.Errorf("a session of the removed app answers %d, want 401", s)
	}
	if s := session(bob); s != 200 {
		t.Errorf("a session of the remaining app answers %d, want 200", s)
	}

	// Refused: a file that is not YAML, a changed listen address.
	f.write(f.config, "apps: [")
	p.refused("config " + f.config)
	f.configure("127.0.0.1:1", two.AppID)
	p.refused("addr: changed, and a reload cannot change it")
	if s := session(bob); s != 200 {
		t.Errorf("after refused reloads bob's session answers %d, want 200", s)
	}
	if status, body := loginAs(one, "alice"); errCode(body) != "unknown_app" {
		t.Errorf("after refused reloads a login to the removed app answers %d %v", status, body)
	}

	// Master keys: k2 added first; k1 dropped while it seals bob's key
	// is refused; after rotate-key it may go.
	f.configure("127.0.0.1:0", two.AppID)
	k1, err := os.ReadFile(f.master)
	if err != nil {
		t.Fatal(err)
	}
	k2 := keyring.Format(keyring.Generate("k2"))
	f.write(f.master, k2+","+strings.TrimSpace(string(k1)))
	p.reloaded()
	f.write(f.master, k2)
	line := p.refused("k1 still seals")
	if !strings.Contains(line, "master key") {
		t.Errorf("the refusal does not name the master key setting: %s", line)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, api+"/v1/admin/rotate-key", nil)
	req.Header.Set("Authorization", "Bearer second-admin-token-0123")
	if status, body := do(t, req); status != 200 {
		t.Fatalf("rotate-key: %d %v", status, body)
	}
	p.reloaded()
	if s := session(bob); s != 200 {
		t.Errorf("bob's session after the key rotation answers %d, want 200", s)
	}

	for _, secret := range []string{one.Secret, two.Secret, "second-admin-token-0123", k2[3:]} {
		if strings.Contains(p.stderr.String(), secret) {
			t.Errorf("a secret appears in the log")
		}
	}
}

// TestServeReloadKeepsRequestsAndBuckets sends SIGHUP while a login waits
// on WeChat: the login finishes with its 200, and the rate-limit buckets
// it and the next login drew from are not refilled by the reload.
func TestServeReloadKeepsRequestsAndBuckets(t *testing.T) {
	t.Parallel()
	em := emulator.New(emulator.DevApps()...)
	inExchange, release := make(chan struct{}, 1), make(chan struct{})
	var hold sync.Once
	wechat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sns/jscode2session" {
			hold.Do(func() { inExchange <- struct{}{}; <-release })
		}
		em.ServeHTTP(w, r)
	}))
	defer wechat.Close()
	letGo := sync.OnceFunc(func() { close(release) })
	defer letGo()
	one, two := emulator.DevApps()[0], emulator.DevApps()[1]
	f := newReloadFiles(t, wechat.URL)
	f.write(f.secretFile(one.AppID), one.Secret)
	f.write(f.secretFile(two.AppID), two.Secret)
	f.write(f.admin, "")
	f.extra = "metrics: true\nlimits:\n  login_per_ip: {rate: 0.001, burst: 2}\n"
	f.configure("127.0.0.1:0", one.AppID)
	p := startServeChild(t, nil, "--config", f.config)
	t.Cleanup(p.stop) // a clean exit: a data race the child found fails the test

	type answer struct {
		status int
		body   map[string]any
		err    error
	}
	login := func(app emulator.App, user string) answer {
		code, err := em.Login(app.AppID, user)
		if err != nil {
			return answer{err: err}
		}
		resp, err := http.Post(p.URL+"/v1/login", "application/json", strings.NewReader(`{"appid":"`+app.AppID+`","code":"`+code+`"}`))
		if err != nil {
			return answer{err: err}
		}
		defer resp.Body.Close()
		var body map[string]any
		err = json.NewDecoder(resp.Body).Decode(&body)
		return answer{resp.StatusCode, body, err}
	}
	inFlight := make(chan answer, 1)
	go func() { inFlight <- login(one, "alice") }()
	<-inExchange

	f.configure("127.0.0.1:0", one.AppID, two.AppID)
	p.reloaded()
	letGo()
	if a := <-inFlight; a.err != nil || a.status != 200 || a.body["token"] == nil {
		t.Fatalf("the login in flight during the reload answered %d %v (%v)", a.status, a.body, a.err)
	}
	if a := login(two, "bob"); a.status != 200 {
		t.Fatalf("login to the added app: %d %v (%v)", a.status, a.body, a.err)
	}
	// Two logins took the burst of 2; a reload with the same limit must
	// not give them back.
	p.reloaded()
	if a := login(two, "carol"); a.status != 429 || errCode(a.body) != "rate_limited" {
		t.Errorf("a third login after a reload answered %d %v, want 429 rate_limited", a.status, a.body)
	}
	// The rebuilt API counts on in the same metrics: both logins, before
	// and after the reloads.
	resp, err := http.Get(p.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `wxlogin_logins_total{result="ok",user="created"} 2`; resp.StatusCode != 200 || !strings.Contains(string(metrics), want) {
		t.Errorf("GET /metrics after reloads: %d, want %s in:\n%s", resp.StatusCode, want, grepLines(string(metrics), "wxlogin_logins_total"))
	}
}

// TestServeReloadCertificate: SIGHUP re-reads the TLS pair at once.
func TestServeReloadCertificate(t *testing.T) {
	t.Parallel()
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	one := emulator.DevApps()[0]
	f := newReloadFiles(t, wechat.URL)
	f.write(f.secretFile(one.AppID), one.Secret)
	f.write(f.admin, "")
	certFile, keyFile := filepath.Join(f.dir, "tls.crt"), filepath.Join(f.dir, "tls.key")
	first, second := newTestCert(t, 1), newTestCert(t, 2)
	first.install(t, certFile, keyFile)
	f.extra = "tls_cert_file: " + certFile + "\ntls_key_file: " + keyFile + "\n"
	f.configure("127.0.0.1:0", one.AppID)
	p := startServeChild(t, nil, "--config", f.config)
	t.Cleanup(p.stop) // a clean exit: a data race the child found fails the test
	u, err := url.Parse(p.URL)
	if err != nil || u.Scheme != "https" {
		t.Fatalf("serve's address %q is not https", p.URL)
	}
	if s := servedSerial(t, u.Host); s.Cmp(first.serialNo) != 0 {
		t.Fatalf("serving serial %v, want %v", s, first.serialNo)
	}
	second.install(t, certFile, keyFile)
	p.reloaded()
	if s := servedSerial(t, u.Host); s.Cmp(second.serialNo) != 0 {
		t.Errorf("after SIGHUP serving serial %v, want the new %v", s, second.serialNo)
	}
	// Turning TLS off needs a restart.
	f.extra = ""
	f.configure("127.0.0.1:0", one.AppID)
	p.refused("tls_cert_file: changed")
}
