package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/internal/testlog"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/webhooksig"
)

// fakeClock is the server's clock in the webhook tests: retries are due
// when the test moves it, so no test sleeps through a backoff.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// hook is one request a receiver got.
type hook struct {
	header  http.Header
	body    string
	payload map[string]any
	sigErr  error // the signature checked against the server's clock
}

// receiver is the business system's webhook endpoint: it verifies each
// request's signature, records it and answers 204, or 500 while failing
// is set. Close and Open stop and restart it on the same address, so a
// delivery meets a closed port in between.
type receiver struct {
	t       *testing.T
	secret  []byte
	clock   *fakeClock
	failing atomic.Bool

	mu   sync.Mutex
	got  []hook
	addr string
	srv  *httptest.Server
}

func newReceiver(t *testing.T, secret string, clock *fakeClock) *receiver {
	r := &receiver{t: t, secret: []byte(secret), clock: clock, addr: "127.0.0.1:0"}
	r.Open()
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) URL() string { return "http://" + r.addr + "/hooks/wxlogin" }

func (r *receiver) Open() {
	r.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port was ours a moment ago; retry while the kernel lets go of it
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("receiver listen: %v", err)
	}
	r.addr = ln.Addr().String()
	r.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(r.serve)}}
	r.srv.Start()
}

func (r *receiver) Close() {
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	h := hook{header: req.Header.Clone(), body: string(b),
		sigErr: webhooksig.Verify(r.secret, req.Header.Get(webhooksig.SignatureHeader), b, r.clock.Now(), 0)}
	json.Unmarshal(b, &h.payload)
	r.mu.Lock()
	r.got = append(r.got, h)
	r.mu.Unlock()
	if r.failing.Load() {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// hooks returns the requests got so far of one event type for one user.
func (r *receiver) hooks(event, userID string) []hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []hook
	for _, h := range r.got {
		if h.payload["type"] == event && h.payload["user_id"] == userID {
			out = append(out, h)
		}
	}
	return out
}

// webhookServer is one in-process wxlogin serve with webhooks.
type webhookServer struct {
	t     *testing.T
	m     *Main
	api   string
	admin string
	log   *testlog.Buffer
}

// startWebhookServer starts serve on store, configured by the YAML at
// config and the environment, with clock as its clock.
func startWebhookServer(t *testing.T, store, wechatURL string, app emulator.App, masterKey, config string, clock *fakeClock) *webhookServer {
	t.Helper()
	const admin = "admin-token-for-the-webhook-test"
	vars := serveEnv(store, wechatURL, app, masterKey)
	vars["WXLOGIN_ADMIN_TOKEN"] = admin
	c, err := loadConfig(config, envOf(vars))
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	buf := &testlog.Buffer{}
	m := &Main{Config: c, Logger: slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), Now: clock.Now}
	if err := m.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	s := &webhookServer{t: t, m: m, api: m.APIURL, admin: admin, log: buf}
	t.Cleanup(s.stop)
	return s
}

func (s *webhookServer) stop() {
	if s.m == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.m.Close(ctx); err != nil {
		s.t.Errorf("Close: %v", err)
	}
	s.m = nil
}

func (s *webhookServer) send(method, path, token, body string) (int, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequestWithContext(s.t.Context(), method, s.api+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(s.t, req)
}

// deliveries lists the outbox through the admin API.
func (s *webhookServer) deliveries(query string) []map[string]any {
	s.t.Helper()
	status, body := s.send("GET", "/v1/admin/webhooks?"+query, s.admin, "")
	if status != 200 {
		s.t.Fatalf("GET /v1/admin/webhooks?%s: %d %v", query, status, body)
	}
	var out []map[string]any
	list, _ := body["deliveries"].([]any)
	for _, d := range list {
		out = append(out, d.(map[string]any))
	}
	return out
}

// waitFor waits up to 15 s for ok, waking the dispatcher at each try so
// that a retry the clock made due is sent without waiting for a poll.
func (s *webhookServer) waitFor(what string, ok func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s; server log:\n%s", what, s.log.String())
		}
		s.m.webhooks.Wake()
		time.Sleep(20 * time.Millisecond)
	}
}

// deliveryOf returns the one delivery of event for userID to url, found
// by its event id in the receiver's payloads or the admin list.
func (s *webhookServer) deliveryOf(url, event, eventID string) map[string]any {
	s.t.Helper()
	for _, d := range s.deliveries("url=" + url + "&event=" + event + "&limit=1000") {
		if d["event_id"] == eventID {
			return d
		}
	}
	return nil
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWebhooksEndToEnd runs the webhook flow against wxlogin serve (in
// process, with its own clock), the emulator and real receivers, on SQLite
// and on PostgreSQL (skipped without a test server).
func TestWebhooksEndToEnd(t *testing.T) { eachServeStore(t, webhookFlow) }

func webhookFlow(t *testing.T, store string) {
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	app := emulator.DevApps()[1]
	clock := &fakeClock{now: time.Now().UTC()}
	const secret, auditSecret = "whsec-main-endpoint-secret-0001", "whsec-audit-endpoint-secret-002"
	main, audit := newReceiver(t, secret, clock), newReceiver(t, auditSecret, clock)
	dir := t.TempDir()
	config := writeFile(t, dir, "wxlogin.yaml", fmt.Sprintf(`metrics: true
webhooks:
  - url: %s
    secret_file: %s
    events: [user.registered, user.erased, sessions.revoked, phone.bound]
  - url: %s
    secret_file: %s
    events: [user.erased]
`, main.URL(), writeFile(t, dir, "main.secret", secret+"\n"), audit.URL(), writeFile(t, dir, "audit.secret", auditSecret)))
	masterKey := keyring.Format(keyring.Generate("k1"))
	srv := startWebhookServer(t, store, wechat.URL, app, masterKey, config, clock)

	// A new user's login delivers user.registered, signed.
	token := login(t, em, srv.api, app, "alice")
	status, me := srv.send("GET", "/v1/me", token, "")
	if status != 200 {
		t.Fatalf("me: %d %v", status, me)
	}
	alice := me["id"].(string)
	srv.waitFor("alice's user.registered", func() bool { return len(main.hooks("user.registered", alice)) == 1 })
	reg := main.hooks("user.registered", alice)[0]
	if reg.sigErr != nil {
		t.Errorf("user.registered: signature: %v", reg.sigErr)
	}
	if reg.payload["openid"] != me["openid"] || reg.payload["appid"] != app.AppID || reg.payload["id"] != reg.header.Get(webhooksig.EventIDHeader) ||
		reg.header.Get(webhooksig.EventHeader) != "user.registered" || !strings.HasPrefix(reg.payload["id"].(string), "evt_") {
		t.Errorf("user.registered: headers %v, payload %v", reg.header, reg.payload)
	}
	if strings.Contains(reg.body, token) || strings.Contains(reg.body, "session_key") {
		t.Errorf("user.registered carries a token or a session key: %s", reg.body)
	}
	// The receiver answered before the outcome was recorded.
	srv.waitFor("the registration recorded as delivered", func() bool {
		d := srv.deliveryOf(main.URL(), "user.registered", reg.payload["id"].(string))
		return d != nil && d["state"] != "pending"
	})
	if d := srv.deliveryOf(main.URL(), "user.registered", reg.payload["id"].(string)); d["state"] != "delivered" || d["attempts"] != 1.0 || d["last_status"] != 204.0 {
		t.Errorf("admin view of the delivered registration: %v", d)
	}
	if len(audit.hooks("user.registered", alice)) != 0 {
		t.Error("the audit endpoint, subscribed to user.erased only, got user.registered")
	}
	// A returning login registers nothing.
	second := login(t, em, srv.api, app, "alice")
	if n := len(srv.deliveries("url=" + main.URL() + "&event=user.registered")); n != 1 {
		t.Errorf("after a returning login: %d user.registered deliveries, want 1", n)
	}

	// The receiver answers 500: the delivery waits, and survives a restart.
	main.failing.Store(true)
	_, bobMe := srv.send("GET", "/v1/me", login(t, em, srv.api, app, "bob"), "")
	bob, _ := bobMe["id"].(string)
	var bobEvent string
	srv.waitFor("bob's first failed attempt", func() bool {
		hs := main.hooks("user.registered", bob)
		if len(hs) == 0 {
			return false
		}
		bobEvent = hs[0].payload["id"].(string)
		d := srv.deliveryOf(main.URL(), "user.registered", bobEvent)
		return d != nil && d["last_status"] == 500.0
	})
	d := srv.deliveryOf(main.URL(), "user.registered", bobEvent)
	if d["state"] != "pending" || d["attempts"] != 1.0 || d["last_error"] != "HTTP 500" || d["next_attempt_at"] == nil {
		t.Errorf("after a 500: %v, want pending with a next attempt", d)
	}
	// Operators see both outcomes so far: alice's delivery, bob's retry.
	res, err := http.Get(srv.api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	scraped, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`wxlogin_webhook_attempts_total{event="user.registered",result="delivered"} 1`,
		`wxlogin_webhook_attempts_total{event="user.registered",result="retry"} 1`,
	} {
		if !strings.Contains(string(scraped), want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	srv.stop()
	main.failing.Store(false)
	srv = startWebhookServer(t, store, wechat.URL, app, masterKey, config, clock)
	clock.Advance(2 * time.Minute) // past any backoff of the first retries
	srv.waitFor("bob's delivery after the restart", func() bool {
		d := srv.deliveryOf(main.URL(), "user.registered", bobEvent)
		return d != nil && d["state"] == "delivered"
	})
	if d := srv.deliveryOf(main.URL(), "user.registered", bobEvent); d["attempts"] != 2.0 || len(main.hooks("user.registered", bob)) != 2 {
		t.Errorf("bob's delivery: %v, want delivered at the second attempt", d)
	}

	// The receiver is down (connection refused), then up again.
	main.Close()
	login(t, em, srv.api, app, "carol")
	var carol map[string]any
	srv.waitFor("carol's failed attempt", func() bool {
		for _, d := range srv.deliveries("url=" + main.URL() + "&event=user.registered") {
			if d["attempts"] == 1.0 && d["state"] == "pending" {
				carol = d
				return d["last_attempt_at"] != nil
			}
		}
		return false
	})
	if !strings.Contains(carol["last_error"].(string), "refused") || carol["last_status"] != nil {
		t.Errorf("carol's delivery after a refused connection: %v", carol)
	}
	main.Open()
	clock.Advance(2 * time.Minute)
	srv.waitFor("carol's delivery once the receiver is up", func() bool {
		d := srv.deliveryOf(main.URL(), "user.registered", carol["event_id"].(string))
		return d["state"] == "delivered"
	})

	// phone.bound, without the number.
	if err := em.AgreePrivacy(app.AppID, "alice"); err != nil {
		t.Fatal(err)
	}
	ph, err := em.Phone(app.AppID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if status, body := srv.send("POST", "/v1/phone", token, `{"code":"`+ph.Code+`"}`); status != 200 {
		t.Fatalf("phone: %d %v", status, body)
	}
	srv.waitFor("phone.bound", func() bool { return len(main.hooks("phone.bound", alice)) == 1 })
	user, _ := em.User("alice")
	if h := main.hooks("phone.bound", alice)[0]; h.sigErr != nil || strings.Contains(h.body, user.PhoneNumber) || h.payload["by"] != "user" {
		t.Errorf("phone.bound: %v %s; want signed, by the user, without the number", h.sigErr, h.body)
	}

	// Logout of one session, then of all.
	if status, body := srv.send("DELETE", "/v1/session", second, ""); status >= 300 {
		t.Fatalf("logout: %d %v", status, body)
	}
	srv.waitFor("sessions.revoked of the logout", func() bool { return len(main.hooks("sessions.revoked", alice)) == 1 })
	if h := main.hooks("sessions.revoked", alice)[0]; h.sigErr != nil || fmt.Sprint(h.payload["session_ids"]) == "<nil>" || h.payload["all_sessions"] != nil {
		t.Errorf("sessions.revoked of one logout: %v %s", h.sigErr, h.body)
	}
	third := login(t, em, srv.api, app, "alice")
	if status, body := srv.send("DELETE", "/v1/sessions", third, ""); status >= 300 {
		t.Fatalf("revoke all: %d %v", status, body)
	}
	srv.waitFor("sessions.revoked of revoke-all", func() bool { return len(main.hooks("sessions.revoked", alice)) == 2 })
	if h := main.hooks("sessions.revoked", alice)[1]; h.sigErr != nil || h.payload["all_sessions"] != true || h.payload["by"] != "user" {
		t.Errorf("sessions.revoked of revoke-all: %v %s", h.sigErr, h.body)
	}

	// Erasure reaches both endpoints with one event id.
	fourth := login(t, em, srv.api, app, "alice")
	if status, body := srv.send("DELETE", "/v1/me", fourth, ""); status >= 300 {
		t.Fatalf("erase: %d %v", status, body)
	}
	srv.waitFor("user.erased at both endpoints", func() bool {
		return len(main.hooks("user.erased", alice)) == 1 && len(audit.hooks("user.erased", alice)) == 1
	})
	a, b := main.hooks("user.erased", alice)[0], audit.hooks("user.erased", alice)[0]
	if a.sigErr != nil || b.sigErr != nil || a.payload["id"] != b.payload["id"] || a.body != b.body {
		t.Errorf("user.erased: signatures %v, %v; bodies %s and %s, want one event", a.sigErr, b.sigErr, a.body, b.body)
	}
	if bad := webhooksig.Verify([]byte(secret), b.header.Get(webhooksig.SignatureHeader), []byte(b.body), clock.Now(), 0); !errors.Is(bad, webhooksig.ErrInvalid) {
		t.Errorf("the audit endpoint's signature verifies with the main endpoint's secret: %v", bad)
	}

	// A receiver failing for more than a day: the delivery gives up, the
	// admin redelivers it.
	main.failing.Store(true)
	login(t, em, srv.api, app, "dave")
	var dave map[string]any
	srv.waitFor("dave's first attempt", func() bool {
		for _, d := range srv.deliveries("url=" + main.URL() + "&event=user.registered&state=pending") {
			if d["last_status"] == 500.0 {
				dave = d
				return true
			}
		}
		return false
	})
	for day := time.Duration(0); day <= 25*time.Hour; day += 2 * time.Hour {
		prev := srv.deliveryOf(main.URL(), "user.registered", dave["event_id"].(string))
		if prev["state"] == "failed" {
			break
		}
		clock.Advance(2 * time.Hour)
		srv.waitFor("one more attempt of dave's delivery", func() bool {
			d := srv.deliveryOf(main.URL(), "user.registered", dave["event_id"].(string))
			return d["attempts"].(float64) > prev["attempts"].(float64) && d["last_attempt_at"] != prev["last_attempt_at"]
		})
	}
	failed := srv.deliveryOf(main.URL(), "user.registered", dave["event_id"].(string))
	if failed["state"] != "failed" || failed["next_attempt_at"] != nil {
		t.Fatalf("after a day of 500s: %v, want failed", failed)
	}
	if got := srv.deliveries("state=failed&url=" + main.URL()); len(got) != 1 {
		t.Errorf("failed deliveries listed: %d, want 1", len(got))
	}
	main.failing.Store(false)
	status, redo := srv.send("POST", "/v1/admin/webhooks/"+failed["id"].(string)+"/redeliver", srv.admin, "")
	if status != 200 || redo["state"] != "pending" {
		t.Fatalf("redeliver: %d %v", status, redo)
	}
	srv.waitFor("dave's redelivery", func() bool {
		return srv.deliveryOf(main.URL(), "user.registered", dave["event_id"].(string))["state"] == "delivered"
	})

	// Admin errors, and no secret anywhere.
	for _, tc := range []struct{ method, path, code string }{
		{"GET", "/v1/admin/webhooks?state=lost", "invalid_request"},
		{"GET", "/v1/admin/webhooks?event=user.created", "invalid_request"},
		{"GET", "/v1/admin/webhooks?limit=0", "invalid_request"},
		{"POST", "/v1/admin/webhooks/dlv_nope/redeliver", "not_found"},
		{"POST", "/v1/admin/webhooks/..%2Fx/redeliver", "not_found"},
	} {
		if status, body := srv.send(tc.method, tc.path, srv.admin, ""); errCode(body) != tc.code {
			t.Errorf("%s %s: %d %v, want %s", tc.method, tc.path, status, body, tc.code)
		}
	}
	if status, _ := srv.send("GET", "/v1/admin/webhooks", "", ""); status != 401 {
		t.Errorf("GET /v1/admin/webhooks without the admin token: %d, want 401", status)
	}
	all := srv.deliveries("limit=1000")
	raw, _ := json.Marshal(all)
	for _, s := range []string{secret, auditSecret} {
		if strings.Contains(string(raw), s) || strings.Contains(srv.log.String(), s) {
			t.Errorf("a webhook secret appears in the admin list or the log")
		}
	}
}

// TestWebhookConfigErrors checks that each bad webhook setting is refused
// at start with one line naming it.
func TestWebhookConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writeFile(t, dir, "good.secret", "whsec-a-secret-long-enough")
	short := writeFile(t, dir, "short.secret", "short")
	tests := []struct {
		name, yaml, want string
	}{
		{"bad URL", "webhooks: [{url: 'ftp://hooks.example/x', secret_file: " + good + ", events: [user.registered]}]", `webhooks[0].url: "ftp://hooks.example/x" is not an http(s) URL`},
		{"relative URL", "webhooks: [{url: '/hooks', secret_file: " + good + ", events: [user.registered]}]", `webhooks[0].url: "/hooks" is not an http(s) URL`},
		{"URL with a password", "webhooks: [{url: 'https://u:p@hooks.example/x', secret_file: " + good + ", events: [user.registered]}]", "webhooks[0].url: must not carry a user or password"},
		{"duplicate URL", "webhooks: [{url: 'https://h.example/x', secret_file: " + good + ", events: [user.registered]}, {url: 'https://h.example/x', secret_file: " + good + ", events: [user.erased]}]", `webhooks[1].url: "https://h.example/x" is configured twice`},
		{"unknown event", "webhooks: [{url: 'https://h.example/x', secret_file: " + good + ", events: [user.created]}]", `webhooks[0].events: "user.created" is not an event (user.registered, user.erased, sessions.revoked, phone.bound, account.merged)`},
		{"no events", "webhooks: [{url: 'https://h.example/x', secret_file: " + good + "}]", "webhooks[0].events: no events named"},
		{"missing secret_file", "webhooks: [{url: 'https://h.example/x', events: [user.erased]}]", "webhooks[0].secret_file: required: the signing secret is read only from a file"},
		{"unreadable secret_file", "webhooks: [{url: 'https://h.example/x', secret_file: " + filepath.Join(dir, "nope") + ", events: [user.erased]}]", "webhooks[0].secret_file: open " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"short secret", "webhooks: [{url: 'https://h.example/x', secret_file: " + short + ", events: [user.erased]}]", "webhooks[0].secret_file: must be at least 16 characters"},
		{"secret in the YAML", "webhooks: [{url: 'https://h.example/x', secret: abcdefabcdefabcdef, events: [user.erased]}]", "field secret not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, t.TempDir(), "wxlogin.yaml", tc.yaml)
			_, err := loadConfig(path, envOf(validEnv()))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("loadConfig = %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "whsec-a-secret") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
	// And a good one loads.
	path := writeFile(t, t.TempDir(), "wxlogin.yaml", "webhooks: [{url: 'https://h.example/x', secret_file: "+good+", events: [user.erased, phone.bound]}]")
	c, err := loadConfig(path, envOf(validEnv()))
	if err != nil || len(c.webhooks) != 1 || c.webhooks[0].Secret.Reveal() != "whsec-a-secret-long-enough" {
		t.Fatalf("loadConfig of a good webhook = %+v, %v", c.webhooks, err)
	}
}

// TestWebhooksSurviveMigrate moves a store with an undelivered event from
// SQLite to PostgreSQL (wxlogin migrate): the event is delivered from
// there.
func TestWebhooksSurviveMigrate(t *testing.T) {
	t.Parallel()
	target := newPostgresDB(t, testPostgresURL(t))
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	app := emulator.DevApps()[1]
	clock := &fakeClock{now: time.Now().UTC()}
	const secret = "whsec-migrate-endpoint-secret-01"
	hooks := newReceiver(t, secret, clock)
	hooks.failing.Store(true)
	dir := t.TempDir()
	config := writeFile(t, dir, "wxlogin.yaml", fmt.Sprintf("webhooks: [{url: '%s', secret_file: '%s', events: [user.registered]}]\n",
		hooks.URL(), writeFile(t, dir, "hook.secret", secret)))
	mk := keyring.Format(keyring.Generate("k1"))
	source := "sqlite://" + filepath.Join(dir, "wx.db")

	srv := startWebhookServer(t, source, wechat.URL, app, mk, config, clock)
	_, me := srv.send("GET", "/v1/me", login(t, em, srv.api, app, "alice"), "")
	alice, _ := me["id"].(string)
	srv.waitFor("the failed first attempt", func() bool {
		d := srv.deliveries("state=pending")
		return len(d) == 1 && d[0]["last_status"] == 500.0
	})
	srv.stop()

	code, out, msg := runCmd(t, nil, "migrate", "--from", source, "--to", target)
	if code != 0 || !strings.Contains(out, "copied 1 webhook deliveries") {
		t.Fatalf("migrate: exit %d, stdout %q, stderr %q", code, out, msg)
	}
	hooks.failing.Store(false)
	srv = startWebhookServer(t, target, wechat.URL, app, mk, config, clock)
	clock.Advance(2 * time.Minute)
	srv.waitFor("the delivery from PostgreSQL", func() bool {
		d := srv.deliveries("")
		return len(d) == 1 && d[0]["state"] == "delivered" && d[0]["attempts"] == 2.0
	})
	if got := hooks.hooks("user.registered", alice); len(got) != 2 || got[1].sigErr != nil || got[0].payload["id"] != got[1].payload["id"] {
		t.Errorf("the receiver got %d requests for alice, want the failed one and the delivered one of one event", len(got))
	}
}

// TestReloadRefusesWebhookChanges checks that SIGHUP's reload keeps the
// webhooks it started with: the dispatcher is built at start.
func TestReloadRefusesWebhookChanges(t *testing.T) {
	t.Parallel()
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	app := emulator.DevApps()[1]
	clock := &fakeClock{now: time.Now().UTC()}
	dir := t.TempDir()
	secretFile := writeFile(t, dir, "hook.secret", "whsec-reload-endpoint-secret-1")
	yaml := func(events string) string {
		return fmt.Sprintf("webhooks: [{url: 'https://biz.example/hook', secret_file: '%s', events: [%s]}]\n", secretFile, events)
	}
	cfgPath := writeFile(t, dir, "wxlogin.yaml", yaml("user.registered"))
	mk := keyring.Format(keyring.Generate("k1"))
	srv := startWebhookServer(t, "sqlite://"+filepath.Join(dir, "wx.db"), wechat.URL, app, mk, cfgPath, clock)
	vars := serveEnv("sqlite://"+filepath.Join(dir, "wx.db"), wechat.URL, app, mk)
	vars["WXLOGIN_ADMIN_TOKEN"] = srv.admin
	next := func() config {
		t.Helper()
		c, err := loadConfig(cfgPath, envOf(vars))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := srv.m.Reload(t.Context(), next()); err != nil {
		t.Errorf("reload with the same webhooks: %v", err)
	}
	for name, change := range map[string]func(){
		"events": func() { writeFile(t, dir, "wxlogin.yaml", yaml("user.registered, user.erased")) },
		"secret": func() {
			writeFile(t, dir, "wxlogin.yaml", yaml("user.registered"))
			writeFile(t, dir, "hook.secret", "whsec-reload-endpoint-secret-2")
		},
	} {
		change()
		err := srv.m.Reload(t.Context(), next())
		if err == nil || !strings.Contains(err.Error(), "webhooks: changed") || strings.Contains(err.Error(), "whsec-") {
			t.Errorf("reload with changed %s: %v, want a refusal naming webhooks and no secret", name, err)
		}
	}
}
