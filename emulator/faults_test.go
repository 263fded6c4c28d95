package emulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/internal/testlog"
)

func TestFaultCountConsumed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if status, env := f.device(t, "POST", "/emulator/v1/faults", map[string]any{"api": "jscode2session", "count": 2, "errcode": -1}, nil); status != 200 {
		t.Fatalf("inject: %d %+v", status, env)
	}
	code := f.login(t, app1, "alice")
	for i, want := range []int{-1, -1, 0, 40163} {
		if got := f.session(t, app1, secret1, code).ErrCode; got != want {
			t.Errorf("call %d: errcode %d, want %d", i+1, got, want)
		}
	}
	want := emulator.APIStats{Calls: 4, ErrCodes: map[string]int{"-1": 2, "0": 1, "40163": 1}}
	if diff := cmp.Diff(want, f.em.Stats().APIs["jscode2session"]); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	var stats emulator.Stats
	f.device(t, "GET", "/emulator/v1/stats", nil, &stats)
	if diff := cmp.Diff(emulator.Stats{APIs: map[string]emulator.APIStats{"jscode2session": want}, UnknownRoutes: []string{}}, stats); diff != "" {
		t.Errorf("GET stats (-want +got):\n%s", diff)
	}
	if got := f.em.Faults(); len(got) != 0 {
		t.Errorf("faults left after their count: %+v", got)
	}
}

func TestFaultUntilCleared(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if err := f.em.InjectFault(emulator.Fault{API: emulator.APIToken, ErrCode: 45009}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if a := f.wx(t, "GET", "/cgi-bin/token", url.Values{"grant_type": {"client_credential"}, "appid": {app1}, "secret": {secret1}}, nil); a.ErrCode != 45009 || !strings.HasPrefix(a.ErrMsg, "reach max api daily quota limit rid: ") {
			t.Errorf("answer %+v, want 45009 with WeChat's text", a)
		}
	}
	if status, _ := f.device(t, "DELETE", "/emulator/v1/faults", nil, nil); status != 200 {
		t.Fatalf("DELETE faults: %d", status)
	}
	f.token(t, app1, secret1)
}

func TestFaultHTTPStatusAndBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// fault is the body of POST /emulator/v1/faults.
		fault      map[string]any
		wantStatus int
		// after is the errcode of a retry with the same code: a fault that
		// let the request through consumed the code.
		after int
	}{
		{"http 502", map[string]any{"api": "jscode2session", "count": 1, "http_status": 502}, 502, 0},
		{"truncated", map[string]any{"api": "jscode2session", "count": 1, "body": "truncated"}, 200, 40163},
		{"empty", map[string]any{"api": "jscode2session", "count": 1, "body": "empty"}, 200, 40163},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if status, env := f.device(t, "POST", "/emulator/v1/faults", tt.fault, nil); status != 200 {
				t.Fatalf("inject: %d %+v", status, env)
			}
			code := f.login(t, app1, "alice")
			status, body := f.do(t, "GET", "/sns/jscode2session?"+url.Values{"appid": {app1}, "secret": {secret1}, "js_code": {code}, "grant_type": {"authorization_code"}}.Encode(), nil)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d", status, tt.wantStatus)
			}
			var v map[string]any
			if err := json.Unmarshal(body, &v); err == nil {
				t.Errorf("body %q is valid JSON; the fault should break it", body)
			}
			if got := f.session(t, app1, secret1, code).ErrCode; got != tt.after {
				t.Errorf("retry: errcode %d, want %d", got, tt.after)
			}
		})
	}
}

func TestFaultDelayHonoursContext(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// An hour: if the emulator ignored the client giving up, the test
	// would time out and srv.Close would hang.
	if err := f.em.InjectFault(emulator.Fault{API: "token", Count: 1, Delay: time.Hour}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/cgi-bin/token?grant_type=client_credential&appid="+app1+"&secret="+secret1, nil)
	_, err := f.srv.Client().Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("request error %v, want the client's deadline", err)
	}

	// Directly: ServeHTTP returns once the request context is done.
	if err := f.em.InjectFault(emulator.Fault{API: "token", Count: 1, Delay: time.Hour}); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(t.Context())
	rcancel()
	rec := httptest.NewRecorder()
	f.em.ServeHTTP(rec, httptest.NewRequestWithContext(rctx, "GET", "/cgi-bin/token", nil))

	// The direct call has returned; the HTTP one may still be noticing its
	// client went away (srv.Close in the cleanup waits for it).
	if st := f.em.Stats().APIs["token"]; st.ErrCodes["canceled"] < 1 || st.ErrCodes["0"] != 0 {
		t.Errorf("stats %+v, want canceled calls only", st)
	}
	if rec.Body.Len() != 0 {
		t.Errorf("a canceled call answered %q", rec.Body)
	}
	f.token(t, app1, secret1) // the faults are used up
}

func TestFaultDelayThenAnswer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var faults struct{ Faults []emulator.Fault }
	if status, env := f.device(t, "POST", "/emulator/v1/faults", map[string]any{"api": "token", "count": 1, "delay_ms": 1, "errcode": -1}, &faults); status != 200 {
		t.Fatalf("inject: %d %+v", status, env)
	}
	if len(faults.Faults) != 1 || faults.Faults[0].DelayMS != 1 {
		t.Fatalf("pending faults %+v, want the one with delay_ms 1", faults.Faults)
	}
	if a := f.wx(t, "GET", "/cgi-bin/token", url.Values{"grant_type": {"client_credential"}, "appid": {app1}, "secret": {secret1}}, nil); a.ErrCode != -1 {
		t.Errorf("errcode %d, want -1 after the delay", a.ErrCode)
	}
}

func TestFaultValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name string
		body any
	}{
		{"unknown api", map[string]any{"api": "nope", "errcode": -1}},
		{"nothing to do", map[string]any{"api": "token"}},
		{"negative count", map[string]any{"api": "token", "count": -1, "errcode": -1}},
		{"bad status", map[string]any{"api": "token", "http_status": 42}},
		{"bad body", map[string]any{"api": "token", "body": "garbage"}},
		{"negative delay", map[string]any{"api": "token", "delay_ms": -5}},
		{"not JSON", "api=token"},
		{"wrong type", map[string]any{"api": "token", "count": "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, env := f.device(t, "POST", "/emulator/v1/faults", tt.body, nil)
			if status != 400 || env.Error.Code != "invalid_request" {
				t.Errorf("%d %+v, want 400 invalid_request", status, env)
			}
		})
	}
	if got := f.em.Faults(); len(got) != 0 {
		t.Errorf("invalid faults were queued: %+v", got)
	}
}

// TestUnknownRoutes: a request no route matches is answered with an error
// that names it (in WeChat's format on WeChat's paths, in wxlogin's
// envelope under /emulator/v1/), logged, and listed in the stats.
func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	var log testlog.Buffer // the server's goroutines write, the test reads
	em := &emulator.Emulator{Now: func() time.Time { return t0 }, Logger: slog.New(slog.NewTextHandler(&log, nil))}
	f := &fixture{em: em, srv: httptest.NewServer(em)}
	t.Cleanup(f.srv.Close)
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantInBody         string
	}{
		{"wechat path", "GET", "/sns/nope", 404, `"errcode":40066`},
		{"wrong method", "POST", "/sns/jscode2session", 404, `"errcode":40066`},
		{"device path", "GET", "/emulator/v1/nope", 404, `"code":"not_found"`},
		{"device wrong method", "DELETE", "/emulator/v1/login", 404, `"code":"not_found"`},
	}
	var want []string
	for _, tt := range tests {
		route := tt.method + " " + tt.path
		want = append(want, route)
		status, body := f.do(t, tt.method, tt.path, nil)
		if status != tt.wantStatus || !strings.Contains(string(body), tt.wantInBody) || !strings.Contains(string(body), route) {
			t.Errorf("%s: %d %s, want %d containing %q and the route %q", tt.name, status, body, tt.wantStatus, tt.wantInBody, route)
		}
		if !strings.Contains(log.String(), "route=\""+route+"\"") {
			t.Errorf("%s: the log does not name the route %q:\n%s", tt.name, route, log.String())
		}
	}
	if diff := cmp.Diff(want, f.em.Stats().UnknownRoutes); diff != "" {
		t.Errorf("unknown routes (-want +got):\n%s", diff)
	}
	f.device(t, "DELETE", "/emulator/v1/stats", nil, nil)
	if got := f.em.Stats().UnknownRoutes; len(got) != 0 {
		t.Errorf("after reset: %v", got)
	}
}

func TestClockOverHTTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	code := f.login(t, app1, "alice")
	var clock struct {
		Now    time.Time
		Unix   int64
		Offset string
	}
	if status, env := f.device(t, "POST", "/emulator/v1/clock", map[string]string{"advance": "6m"}, &clock); status != 200 {
		t.Fatalf("advance: %d %+v", status, env)
	}
	if !clock.Now.Equal(t0.Add(6*time.Minute)) || clock.Unix != t0.Add(6*time.Minute).Unix() || clock.Offset != "6m0s" {
		t.Errorf("clock %+v, want t0+6m", clock)
	}
	if got := f.session(t, app1, secret1, code).ErrCode; got != 40029 {
		t.Errorf("code after 6 emulated minutes: errcode %d, want 40029", got)
	}
	if status, env := f.device(t, "POST", "/emulator/v1/clock", map[string]string{"advance": "soon"}, nil); status != 400 {
		t.Errorf("bad duration: %d %+v", status, env)
	}
}

func TestMountedOnAnotherMux(t *testing.T) {
	t.Parallel()
	em := &emulator.Emulator{Now: func() time.Time { return t0 }}
	mux := http.NewServeMux()
	mux.Handle(emulator.DevicePrefix, em)
	mux.HandleFunc("/v1/hello", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f := &fixture{em: em, srv: srv}
	var apps []emulator.App
	if status, env := f.device(t, "GET", "/emulator/v1/apps", nil, &apps); status != 200 {
		t.Fatalf("apps: %d %+v", status, env)
	}
	if diff := cmp.Diff(emulator.DevApps(), apps); diff != "" {
		t.Errorf("apps (-want +got):\n%s", diff)
	}
	f.login(t, app1, "alice")
	if _, body := f.do(t, "GET", "/v1/hello", nil); string(body) != "hello" {
		t.Errorf("the host's own route: %q", body)
	}
}

func TestNewServesGivenApps(t *testing.T) {
	t.Parallel()
	apps := []emulator.App{{AppID: "wx1111111111111111", Secret: "s"}}
	em := emulator.New(apps...)
	if diff := cmp.Diff(apps, em.AppList()); diff != "" {
		t.Errorf("apps (-want +got):\n%s", diff)
	}
	if _, err := em.Login(app1, "alice"); !errors.Is(err, &emulator.DeviceError{Code: "unknown_app"}) {
		t.Errorf("login to a dev app on a custom emulator: %v, want unknown_app", err)
	}
	if got := emulator.New().AppList(); len(got) != 3 {
		t.Errorf("New() serves %d apps, want the 3 dev apps", len(got))
	}
}
