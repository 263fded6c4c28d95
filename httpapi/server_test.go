package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/internal/testlog"
)

func newLogger(b *testlog.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// do sends one request straight to the handler (no service behind it: these
// tests cover what the server answers before it calls auth).
func do(t *testing.T, h http.Handler, method, target, body string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), method, target, strings.NewReader(body))
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// errorOf decodes the error envelope and fails when the body is anything
// else.
func errorOf(t *testing.T, w *httptest.ResponseRecorder) errorDetail {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json; body %q", ct, w.Body.String())
	}
	var e errorBody
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("body %q is not the error envelope: %v", w.Body.String(), err)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error envelope without code or message: %q", w.Body.String())
	}
	return e.Error
}

func TestRoutingErrorsAreJSON(t *testing.T) {
	t.Parallel()
	s := New(Config{Logger: slog.New(slog.DiscardHandler)})
	tests := []struct {
		name, method, path string
		status             int
		code               string
		allow              string
	}{
		{"unknown path", "GET", "/nope", 404, wxlogin.ENotFound, ""},
		{"unknown v1 path", "POST", "/v1/logins", 404, wxlogin.ENotFound, ""},
		{"wrong method on login", "GET", "/v1/login", 405, wxlogin.EMethodNotAllowed, "POST"},
		{"wrong method on session", "PUT", "/v1/session", 405, wxlogin.EMethodNotAllowed, "DELETE, GET, HEAD"},
		{"wrong method on profile", "POST", "/v1/me/profile", 405, wxlogin.EMethodNotAllowed, "PUT"},
		{"admin off: users", "GET", "/v1/admin/users", 404, wxlogin.ENotFound, ""},
		{"admin off: rotate", "POST", "/v1/admin/rotate-key", 404, wxlogin.ENotFound, ""},
		{"admin off: wrong method too", "PUT", "/v1/admin/users/u1", 404, wxlogin.ENotFound, ""},
		{"dev off: clock", "POST", "/dev/v1/clock", 404, wxlogin.ENotFound, ""},
		{"dev off: emulator", "GET", "/emulator/v1/apps", 404, wxlogin.ENotFound, ""},
		{"dev off: playground", "GET", "/playground/", 404, wxlogin.ENotFound, ""},
		{"metrics off", "GET", "/metrics", 404, wxlogin.ENotFound, ""},
		// Paths the mux would redirect to their clean form: a JSON 404,
		// never its redirect with an HTML body.
		{"dot-dot out of avatars", "GET", "/v1/avatars/../x", 404, wxlogin.ENotFound, ""},
		{"dot-dot onto a route", "GET", "/v1/avatars/../session", 404, wxlogin.ENotFound, ""},
		{"dot segment", "GET", "/v1/avatars/./x", 404, wxlogin.ENotFound, ""},
		{"double slash", "GET", "//v1/session", 404, wxlogin.ENotFound, ""},
		{"empty segment", "DELETE", "/v1/sessions//x", 404, wxlogin.ENotFound, ""},
		{"trailing dot-dot", "POST", "/v1/login/..", 404, wxlogin.ENotFound, ""},
		{"healthz via dot", "GET", "/./healthz", 404, wxlogin.ENotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := do(t, s, tt.method, tt.path, "", nil)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %q", w.Code, tt.status, w.Body.String())
			}
			if got := errorOf(t, w).Code; got != tt.code {
				t.Errorf("code = %q, want %q", got, tt.code)
			}
			if got := w.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
			if w.Header().Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			if loc := w.Header().Get("Location"); loc != "" {
				t.Errorf("Location = %q on a %d", loc, w.Code)
			}
			if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
		})
	}
}

// TestStatusMap checks the one error map against the statuses documented
// beside the codes in the root package's error.go, so the two cannot drift.
func TestStatusMap(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "../error.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	statusComment := regexp.MustCompile(`^(\d{3})(:|$)`)
	documented := map[string]int{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if vs.Comment == nil || len(vs.Values) != 1 {
				continue
			}
			lit, ok := vs.Values[0].(*ast.BasicLit)
			if !ok {
				continue
			}
			m := statusComment.FindStringSubmatch(strings.TrimSpace(vs.Comment.Text()))
			if m == nil {
				continue
			}
			code, _ := strconv.Unquote(lit.Value)
			documented[code], _ = strconv.Atoi(m[1])
		}
	}
	if len(documented) < 15 {
		t.Fatalf("found only %d documented codes in ../error.go; did its comment format change?", len(documented))
	}
	got := map[string]int{}
	for code := range documented {
		got[code] = statusOf(code)
	}
	if diff := cmp.Diff(documented, got); diff != "" {
		t.Errorf("statusOf disagrees with error.go (-documented +statusOf):\n%s", diff)
	}
	if len(statuses) != len(documented) {
		t.Errorf("the map has %d codes, error.go documents %d", len(statuses), len(documented))
	}
	if got := statusOf("no_such_code"); got != 500 {
		t.Errorf("unknown code -> %d, want 500", got)
	}
}

func TestWriteErrorHidesInternals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		err         error
		status      int
		code        string
		message     string
		retryAfter  string
		wwwAuth     bool
		logContains string
	}{
		{"plain error", errors.New("db password is hunter2"), 500, "internal", internalMessage, "", false, "hunter2"},
		{"internal with text", wxlogin.Wrap(errors.New("disk full"), wxlogin.EInternal, "secret detail"), 500, "internal", internalMessage, "", false, "disk full"},
		{"unknown code", wxlogin.Errorf("made_up", "whatever"), 500, "internal", internalMessage, "", false, "made_up"},
		{"rate limited rounds up", &wxlogin.Error{Code: wxlogin.ERateLimited, Message: "slow down", RetryAfter: 1500 * time.Millisecond}, 429, "rate_limited", "slow down", "2", false, ""},
		{"rate limited without duration", wxlogin.Errorf(wxlogin.ERateLimited, "slow down"), 429, "rate_limited", "slow down", "1", false, ""},
		{"upstream tiny duration", &wxlogin.Error{Code: wxlogin.EUpstreamUnavailable, Message: "busy", RetryAfter: time.Millisecond}, 503, "upstream_unavailable", "busy", "1", false, ""},
		{"store unavailable", wxlogin.Wrap(errors.New("dial tcp: refused"), wxlogin.EStoreUnavailable, "the store is unavailable"), 503, "store_unavailable", "the store is unavailable", "1", false, "refused"},
		{"session invalid", wxlogin.Errorf(wxlogin.ESessionInvalid, "log in again"), 401, "session_invalid", "log in again", "", true, ""},
		{"wrapped keeps code", errors.Join(errors.New("ctx"), wxlogin.Errorf(wxlogin.ECodeBlocked, "blocked")), 403, "code_blocked", "blocked", "", false, ""},
		{"upstream rejected logged", wxlogin.Wrap(errors.New("errcode 40125"), wxlogin.EUpstreamRejected, "WeChat rejected the app's credentials"), 502, "upstream_rejected", "WeChat rejected the app's credentials", "", false, "40125"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs testlog.Buffer
			s := New(Config{Logger: newLogger(&logs)})
			w := httptest.NewRecorder()
			r := httptest.NewRequestWithContext(t.Context(), "GET", "/x", nil)
			s.writeError(w, r, tt.err)
			if w.Code != tt.status {
				t.Errorf("status = %d, want %d", w.Code, tt.status)
			}
			e := errorOf(t, w)
			if e.Code != tt.code || e.Message != tt.message {
				t.Errorf("error = %+v, want %s %q", e, tt.code, tt.message)
			}
			if got := w.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			if got := w.Header().Get("WWW-Authenticate") != ""; got != tt.wwwAuth {
				t.Errorf("WWW-Authenticate present = %v, want %v", got, tt.wwwAuth)
			}
			if tt.logContains != "" && !strings.Contains(logs.String(), tt.logContains) {
				t.Errorf("log %q lacks the cause %q", logs.String(), tt.logContains)
			}
			if strings.Contains(w.Body.String(), "hunter2") || strings.Contains(w.Body.String(), "disk full") {
				t.Errorf("body leaks the cause: %s", w.Body.String())
			}
		})
	}
}

func TestRequestsRefusedBeforeTheService(t *testing.T) {
	t.Parallel()
	// No Service: every case here must be answered without one.
	s := New(Config{Logger: slog.New(slog.DiscardHandler), MaxBodyBytes: 1024})
	tests := []struct {
		name, method, path, body string
		header                   http.Header
		status                   int
		code                     string
		msgContains              string
	}{
		{"login: empty body", "POST", "/v1/login", "", nil, 400, "invalid_request", "empty"},
		{"login: null", "POST", "/v1/login", "null", nil, 400, "invalid_request", "object"},
		{"login: array", "POST", "/v1/login", `[1]`, nil, 400, "invalid_request", "object"},
		{"login: malformed", "POST", "/v1/login", `{"code":`, nil, 400, "invalid_request", "JSON"},
		{"login: trailing garbage", "POST", "/v1/login", `{"code":"a"} x`, nil, 400, "invalid_request", "JSON"},
		{"login: two objects", "POST", "/v1/login", `{"code":"a"}{"code":"b"}`, nil, 400, "invalid_request", "JSON"},
		{"login: code wrong type", "POST", "/v1/login", `{"code":123}`, nil, 400, "invalid_request", `"code"`},
		{"login: appid wrong type", "POST", "/v1/login", `{"code":"a","appid":true}`, nil, 400, "invalid_request", `"appid"`},
		{"login: code missing", "POST", "/v1/login", `{"appid":"wx1"}`, nil, 400, "invalid_request", `"code"`},
		{"login: code empty", "POST", "/v1/login", `{"code":""}`, nil, 400, "invalid_request", `"code"`},
		{"login: code huge", "POST", "/v1/login", `{"code":"` + strings.Repeat("a", 300) + `"}`, nil, 400, "invalid_request", `"code"`},
		{"login: too large", "POST", "/v1/login", `{"code":"a","pad":"` + strings.Repeat("x", 2000) + `"}`, nil, 413, "request_too_large", "1024"},
		{"login: form encoded", "POST", "/v1/login", `code=abc`, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, 415, "unsupported_media_type", "JSON"},
		{"session: no token", "GET", "/v1/session", "", nil, 401, "session_invalid", "Bearer"},
		{"session: basic auth", "GET", "/v1/session", "", http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, 401, "session_invalid", "Bearer"},
		{"session: empty bearer", "GET", "/v1/session", "", http.Header{"Authorization": {"Bearer "}}, 401, "session_invalid", "Bearer"},
		{"userinfo: no token", "POST", "/v1/userinfo", `{}`, nil, 401, "session_invalid", "Bearer"},
		{"forward auth: no token", "GET", "/v1/auth", "", nil, 401, "session_invalid", "Bearer"},
		{"forward auth: no token, POST", "POST", "/v1/auth", "", nil, 401, "session_invalid", "Bearer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := do(t, s, tt.method, tt.path, tt.body, tt.header)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %q", w.Code, tt.status, w.Body.String())
			}
			e := errorOf(t, w)
			if e.Code != tt.code {
				t.Errorf("code = %q, want %q", e.Code, tt.code)
			}
			if !strings.Contains(e.Message, tt.msgContains) {
				t.Errorf("message %q does not contain %q", e.Message, tt.msgContains)
			}
			if w.Code == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestParseJSONNamesTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		body  string
		dst   interface{ validate() error }
		field string // "" means success
	}{
		{"userinfo ok", `{"rawData":"{}","signature":"s","encryptedData":"e","iv":"i","extra":1}`, &userInfoRequest{}, ""},
		{"userinfo missing signature", `{"rawData":"{}","encryptedData":"e","iv":"i"}`, &userInfoRequest{}, `"signature"`},
		{"userinfo missing iv", `{"rawData":"{}","signature":"s","encryptedData":"e"}`, &userInfoRequest{}, `"iv"`},
		{"userinfo iv wrong type", `{"rawData":"{}","signature":"s","encryptedData":"e","iv":5}`, &userInfoRequest{}, `"iv"`},
		{"userinfo login_code wrong type", `{"rawData":"{}","signature":"s","encryptedData":"e","iv":"i","login_code":[]}`, &userInfoRequest{}, `"login_code"`},
		{"phone code ok", `{"code":"c"}`, &phoneRequest{}, ""},
		{"phone legacy ok", `{"encryptedData":"e","iv":"i"}`, &phoneRequest{}, ""},
		{"phone nothing", `{}`, &phoneRequest{}, `"code"`},
		{"phone legacy without iv", `{"encryptedData":"e"}`, &phoneRequest{}, `"iv"`},
		{"decrypt bad kind", `{"kind":"phone","encryptedData":"e","iv":"i"}`, &decryptRequest{}, `"kind"`},
		{"decrypt missing kind", `{"encryptedData":"e","iv":"i"}`, &decryptRequest{}, `"kind"`},
		{"decrypt werun ok", `{"kind":"werun","encryptedData":"e","iv":"i"}`, &decryptRequest{}, ""},
		{"profile missing nickname", `{}`, &profileRequest{}, `"nickname"`},
		{"profile nickname null", `{"nickname":null}`, &profileRequest{}, `"nickname"`},
		{"profile nickname wrong type", `{"nickname":{}}`, &profileRequest{}, `"nickname"`},
		{"profile empty nickname passes to auth", `{"nickname":""}`, &profileRequest{}, ""},
		{"clock negative", `{"advance":"-1h"}`, &clockRequest{}, `"advance"`},
		{"clock nonsense", `{"advance":"soon"}`, &clockRequest{}, `"advance"`},
		{"clock ok", `{"advance":"25h"}`, &clockRequest{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := parseJSON([]byte(tt.body), tt.dst)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("parseJSON: %v", err)
				}
				return
			}
			if got := wxlogin.ErrorCode(err); got != wxlogin.EInvalidRequest {
				t.Fatalf("code = %q (%v), want invalid_request", got, err)
			}
			if msg := wxlogin.ErrorMessage(err); !strings.Contains(msg, tt.field) {
				t.Errorf("message %q does not name %s", msg, tt.field)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	s := New(Config{Logger: slog.New(slog.DiscardHandler), TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("::1/128"),
	}})
	tests := []struct {
		name   string
		remote string
		xff    []string
		realIP string
		want   string
	}{
		{"direct client", "203.0.113.9:5555", nil, "", "203.0.113.9"},
		{"untrusted peer's header ignored", "203.0.113.9:5555", []string{"1.2.3.4"}, "5.6.7.8", "203.0.113.9"},
		{"trusted proxy", "10.1.2.3:80", []string{"198.51.100.7"}, "", "198.51.100.7"},
		{"forged left entry skipped", "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.7"}, "", "198.51.100.7"},
		{"chain of trusted proxies", "10.1.2.3:80", []string{"198.51.100.7, 10.9.9.9"}, "", "198.51.100.7"},
		{"two header lines", "10.1.2.3:80", []string{"198.51.100.7", "10.9.9.9"}, "", "198.51.100.7"},
		{"garbage stops the walk", "10.1.2.3:80", []string{"198.51.100.7, nonsense, 10.9.9.9"}, "", "10.9.9.9"},
		{"real ip from trusted proxy", "10.1.2.3:80", nil, "198.51.100.8", "198.51.100.8"},
		{"ipv6 loopback proxy", "[::1]:80", []string{"2001:db8::1"}, "", "2001:db8::1"},
		{"mapped v4 peer", "[::ffff:203.0.113.9]:1", nil, "", "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequestWithContext(t.Context(), "GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tt.realIP != "" {
				r.Header.Set("X-Real-IP", tt.realIP)
			}
			if got := s.clientIP(r); got != tt.want {
				t.Errorf("clientIP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	s := New(Config{Logger: slog.New(slog.DiscardHandler)})
	tests := []struct {
		name, in string
		keep     bool
	}{
		{"kept", "abc-123_X.y", true},
		{"generated", "", false},
		{"newline refused", "a\nb", false},
		{"too long refused", strings.Repeat("a", 65), false},
		{"quote refused", `a"b`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := do(t, s, "GET", "/healthz", "", http.Header{"X-Request-Id": {tt.in}})
			got := w.Header().Get("X-Request-Id")
			if tt.keep && got != tt.in {
				t.Errorf("X-Request-Id = %q, want %q echoed", got, tt.in)
			}
			if !tt.keep && (got == tt.in || !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(got)) {
				t.Errorf("X-Request-Id = %q, want a fresh id", got)
			}
		})
	}
	t.Run("unique", func(t *testing.T) {
		t.Parallel()
		seen := map[string]bool{}
		for range 10000 {
			id := newRequestID()
			if seen[id] {
				t.Fatalf("request id %s given twice", id)
			}
			seen[id] = true
		}
	})
}

func TestDevRoutes(t *testing.T) {
	t.Parallel()
	var clock = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var mu sync.Mutex
	var emulatorPaths []string
	s := New(Config{
		Logger: slog.New(slog.DiscardHandler),
		Dev: &DevConfig{
			Emulator: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				emulatorPaths = append(emulatorPaths, r.URL.Path+"?"+r.URL.RawQuery)
				mu.Unlock()
				io.WriteString(w, "emulator")
			}),
			Playground: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/playground/boom" {
					panic("playground bug")
				}
				io.WriteString(w, "page "+r.URL.Path)
			}),
			AdvanceClock: func(d time.Duration) time.Time {
				mu.Lock()
				defer mu.Unlock()
				clock = clock.Add(d)
				return clock
			},
		},
	})

	w := do(t, s, "POST", "/emulator/v1/login?appid=wx1&user=alice", "", nil)
	if w.Code != 200 || w.Body.String() != "emulator" {
		t.Fatalf("emulator: %d %q", w.Code, w.Body.String())
	}
	if diff := cmp.Diff([]string{"/emulator/v1/login?appid=wx1&user=alice"}, emulatorPaths); diff != "" {
		t.Errorf("emulator saw (-want +got):\n%s", diff)
	}

	w = do(t, s, "GET", "/", "", nil)
	if w.Code != http.StatusFound || w.Header().Get("Location") != "/playground/" {
		t.Errorf("GET / = %d Location %q, want a redirect to /playground/", w.Code, w.Header().Get("Location"))
	}
	w = do(t, s, "GET", "/playground", "", nil)
	if w.Code != http.StatusFound || w.Header().Get("Location") != "/playground/" {
		t.Errorf("GET /playground = %d Location %q, want a redirect to /playground/", w.Code, w.Header().Get("Location"))
	}
	// The mux's own trailing-slash redirect is a JSON 404 like its others.
	w = do(t, s, "GET", "/emulator/v1", "", nil)
	if w.Code != http.StatusNotFound || errorOf(t, w).Code != wxlogin.ENotFound || w.Header().Get("Location") != "" {
		t.Errorf("GET /emulator/v1 = %d %q Location %q, want a JSON 404", w.Code, w.Body.String(), w.Header().Get("Location"))
	}
	w = do(t, s, "GET", "/playground/app.js", "", nil)
	if w.Body.String() != "page /playground/app.js" {
		t.Errorf("playground got %q", w.Body.String())
	}

	w = do(t, s, "POST", "/dev/v1/clock", `{"advance":"25h"}`, nil)
	if w.Code != 200 {
		t.Fatalf("clock: %d %s", w.Code, w.Body.String())
	}
	var c clockResponse
	json.Unmarshal(w.Body.Bytes(), &c)
	if c.Now != "2026-01-03T04:04:05Z" {
		t.Errorf("now = %q, want 2026-01-03T04:04:05Z", c.Now)
	}
	w = do(t, s, "POST", "/dev/v1/clock", `{"advance":"yesterday"}`, nil)
	if w.Code != 400 || errorOf(t, w).Code != "invalid_request" {
		t.Errorf("bad advance: %d %s", w.Code, w.Body.String())
	}
	w = do(t, s, "POST", "/dev/v1/session/expire", "", nil)
	if w.Code != 401 {
		t.Errorf("expire without token: %d", w.Code)
	}

	w = do(t, s, "GET", "/playground/boom", "", nil)
	if w.Code != 500 || errorOf(t, w).Code != "internal" {
		t.Errorf("panic: %d %s", w.Code, w.Body.String())
	}
	if strings.Contains(w.Body.String(), "playground bug") {
		t.Errorf("panic value leaked: %s", w.Body.String())
	}
}

// TestNoSecretsInLogsOrMetrics sends tokens and codes every way a client
// might and checks that neither the log nor the metrics repeat them.
func TestNoSecretsInLogsOrMetrics(t *testing.T) {
	t.Parallel()
	var logs testlog.Buffer
	reg := prometheus.NewRegistry()
	s := New(Config{Logger: newLogger(&logs), Metrics: reg, AdminToken: "admin-secret-token"})
	const token, code = "wxl_secret_token_value", "secret_login_code_value"
	reqs := []struct{ method, path, body string }{
		{"GET", "/v1/session?code=" + code, ""},
		{"POST", "/v1/login?code=" + code, `{"code":` + code + `}`},
		{"POST", "/v1/login", `{"code":"` + code + `"} trailing`},
		{"GET", "/v1/auth?token=" + token, ""},
		{"GET", "/v1/admin/users?openid=" + code, ""},
		{"GET", "/no/such/" + token, ""},
		{"DELETE", "/v1/login/" + code, ""},
	}
	for _, q := range reqs {
		w := do(t, s, q.method, q.path, q.body, http.Header{"Authorization": {"Bearer " + token}})
		if strings.Contains(w.Body.String(), token) || strings.Contains(w.Body.String(), code) {
			t.Errorf("%s %s: response repeats a secret: %s", q.method, q.path, w.Body.String())
		}
	}
	w := do(t, s, "GET", "/metrics", "", nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `wxlogin_http_requests_total{code="401",route="GET /v1/admin/users"} 1`) {
		t.Errorf("metrics lack the admin 401:\n%s", w.Body.String())
	}
	if !strings.Contains(w.Body.String(), `route="unmatched"`) {
		t.Errorf("metrics lack the unmatched route:\n%s", w.Body.String())
	}
	for name, text := range map[string]string{"log": logs.String(), "metrics": w.Body.String()} {
		for _, secret := range []string{token, code, "admin-secret-token", "Bearer"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contains %q:\n%s", name, secret, text)
			}
		}
	}
	if !strings.Contains(logs.String(), `"route":"POST /v1/login"`) {
		t.Errorf("access log lacks the route pattern:\n%s", logs.String())
	}
}

func TestAdminToken(t *testing.T) {
	t.Parallel()
	s := New(Config{Logger: slog.New(slog.DiscardHandler), AdminToken: "right-token"})
	tests := []struct {
		name, auth string
	}{
		{"none", ""},
		{"wrong", "Bearer wrong-token"},
		{"prefix of right", "Bearer right-toke"},
		{"right plus more", "Bearer right-token2"},
		{"wrong scheme", "Basic right-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := do(t, s, "GET", "/v1/admin/users/u1", "", http.Header{"Authorization": {tt.auth}})
			if w.Code != 401 || errorOf(t, w).Code != wxlogin.EUnauthorized {
				t.Errorf("status %d body %s, want 401 unauthorized", w.Code, w.Body.String())
			}
		})
	}
	w := do(t, s, "PATCH", "/v1/admin/users/u1", "", nil)
	if w.Code != 405 || !strings.Contains(w.Header().Get("Allow"), "DELETE") {
		t.Errorf("admin on, wrong method: %d Allow %q", w.Code, w.Header().Get("Allow"))
	}
}
