package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/wechat"
)

// upstream stands between wxlogin and the emulator: it counts every call
// by WeChat path and, for the paths given an answer, sends that answer
// instead of asking the emulator. The emulator, being WeChat, never sends
// those shapes (a string errcode, a session_key that is no key); the stub
// does, so the catalogue can see what wxlogin makes of them.
type upstream struct {
	em *emulator.Emulator

	mu       sync.Mutex
	calls    map[string]int
	override map[string]string // path → the body answered with 200
}

func (u *upstream) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.calls[r.URL.Path]++
	body, ok := u.override[r.URL.Path]
	u.mu.Unlock()
	if !ok {
		u.em.ServeHTTP(rw, r)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.Write([]byte(body))
}

func (u *upstream) count(path string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[path]
}

// withUpstream puts an upstream between the world's WeChat client and its
// emulator.
func withUpstream(u **upstream) option {
	return func(w *world, a *auth.Config, _ *httpapi.Config) {
		s := &upstream{em: w.em, calls: map[string]int{}, override: map[string]string{}}
		srv := httptest.NewServer(s)
		w.t.Cleanup(srv.Close)
		wc := a.WeChat.(*wechat.Client)
		wc.BaseURL = srv.URL
		*u = s
	}
}

// The paths of the two calls the catalogue's requests spend a code at.
const (
	pathCode2Session = "/sns/jscode2session"
	pathPhoneNumber  = "/wxa/business/getuserphonenumber"
)

// TestCatalogueWeChatFaults makes WeChat misbehave in every way the
// emulator can (the errcodes that matter, 5xx, a stall past the request's
// deadline, mangled bodies) and, through a stub, in ways WeChat never
// does (no errcode, a string errcode, a session_key that is no key, ids
// that cannot be ids). Each must answer the status and code
// docs/openapi.yaml documents for it, after the number of upstream calls
// the retry rules allow (busy is retried, a spent code never is), and
// leave the database as it was.
func TestCatalogueWeChatFaults(t *testing.T) {
	t.Parallel()
	const goodKey = "AAECAwQFBgcICQoLDA0ODw==" // base64 of 16 bytes
	stubAnswer := func(fields map[string]any) string {
		b, err := json.Marshal(fields)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	type kase struct {
		name string
		// fault, when its API is set, is injected into the emulator;
		// stub, when set, is answered to jscode2session instead.
		fault emulator.Fault
		stub  string
		// phone sends another user's phone code to POST /v1/phone instead
		// of logging in: WeChat answers 40003 (the code is not of the
		// session's openid).
		phone bool
		// unissued logs in with a code WeChat never issued.
		unissued bool
		// timeout, when set, is the server's request deadline.
		timeout time.Duration

		status     int
		code       string
		retryAfter bool
		calls      int // upstream calls of the path the request spends a code at
	}
	c2s := func(f emulator.Fault) emulator.Fault { f.API = emulator.APIJSCode2Session; return f }
	cases := []kase{
		{name: "errcode -1 (busy), every attempt", fault: c2s(emulator.Fault{ErrCode: -1}),
			status: 503, code: "upstream_unavailable", retryAfter: true, calls: 1 + wechat.DefaultMaxBusyRetries},
		{name: "errcode 45011 (minute quota)", fault: c2s(emulator.Fault{ErrCode: 45011}),
			status: 503, code: "upstream_unavailable", retryAfter: true, calls: 1},
		{name: "errcode 40226 (blocked user)", fault: c2s(emulator.Fault{ErrCode: 40226}),
			status: 403, code: "code_blocked", calls: 1},
		{name: "errcode 40029 (invalid code), injected", fault: c2s(emulator.Fault{ErrCode: 40029}),
			status: 401, code: "invalid_code", calls: 1},
		{name: "errcode 40029 (invalid code), a code never issued", unissued: true,
			status: 401, code: "invalid_code", calls: 1},
		{name: "errcode 40163 (code been used)", fault: c2s(emulator.Fault{ErrCode: 40163}),
			status: 401, code: "invalid_code", calls: 1},
		{name: "errcode 40003 at getuserphonenumber (another user's phone code)", phone: true,
			status: 401, code: "invalid_code", calls: 1},
		{name: "HTTP 500", fault: c2s(emulator.Fault{HTTPStatus: 500}),
			status: 503, code: "upstream_unavailable", retryAfter: true, calls: 1},
		{name: "HTTP 502", fault: c2s(emulator.Fault{HTTPStatus: 502}),
			status: 503, code: "upstream_unavailable", retryAfter: true, calls: 1},
		{name: "HTTP 503", fault: c2s(emulator.Fault{HTTPStatus: 503}),
			status: 503, code: "upstream_unavailable", retryAfter: true, calls: 1},
		{name: "stall past the request deadline", fault: c2s(emulator.Fault{Delay: time.Hour}), timeout: time.Second,
			status: 503, code: "upstream_unavailable", retryAfter: true, calls: 1},
		{name: "truncated body", fault: c2s(emulator.Fault{Body: emulator.BodyTruncated}),
			status: 503, code: "upstream_unavailable", retryAfter: true, calls: 1},
		{name: "empty body", fault: c2s(emulator.Fault{Body: emulator.BodyEmpty}),
			status: 503, code: "upstream_unavailable", retryAfter: true, calls: 1},
		{name: "stub: errcode missing, nothing else", stub: `{"errmsg":"invalid code"}`,
			status: 502, code: "upstream_rejected", calls: 1},
		{name: "stub: errcode as a string", stub: `{"errcode":"40029","errmsg":"invalid code"}`,
			status: 503, code: "upstream_unavailable", retryAfter: true, calls: 1},
		{name: "stub: errcode 0 as a string with a session", stub: `{"errcode":"0","openid":"oStub","session_key":"` + goodKey + `"}`,
			status: 503, code: "upstream_unavailable", retryAfter: true, calls: 1},
		{name: "stub: JSON null", stub: `null`,
			status: 502, code: "upstream_rejected", calls: 1},
		{name: "stub: session_key not base64", stub: stubAnswer(map[string]any{"openid": "oStub", "session_key": "not base64 at all!!!!!!!"}),
			status: 502, code: "upstream_rejected", calls: 1},
		{name: "stub: session_key of 15 bytes", stub: stubAnswer(map[string]any{"openid": "oStub", "session_key": "AAECAwQFBgcICQoLDA0O"}),
			status: 502, code: "upstream_rejected", calls: 1},
		{name: "stub: session_key of 32 bytes", stub: stubAnswer(map[string]any{"openid": "oStub", "session_key": "AAECAwQFBgcICQoLDA0ODwABAgMEBQYHCAkKCwwNDg8="}),
			status: 502, code: "upstream_rejected", calls: 1},
		{name: "stub: session_key URL-safe base64", stub: stubAnswer(map[string]any{"openid": "oStub", "session_key": "-_8AAAAAAAAAAAAAAAAAAA=="}),
			status: 502, code: "upstream_rejected", calls: 1},
		{name: "stub: session_key missing", stub: stubAnswer(map[string]any{"openid": "oStub"}),
			status: 502, code: "upstream_rejected", calls: 1},
		{name: "stub: openid with NUL", stub: stubAnswer(map[string]any{"openid": "oStub\x00x", "session_key": goodKey}),
			status: 502, code: "upstream_rejected", calls: 1},
		{name: "stub: openid with a newline", stub: stubAnswer(map[string]any{"openid": "oStub\r\nX-Evil: 1", "session_key": goodKey}),
			status: 502, code: "upstream_rejected", calls: 1},
		{name: "stub: openid with an escape", stub: stubAnswer(map[string]any{"openid": "o\x1b[31mStub", "session_key": goodKey}),
			status: 502, code: "upstream_rejected", calls: 1},
		{name: "stub: openid empty", stub: stubAnswer(map[string]any{"openid": "", "session_key": goodKey}),
			status: 502, code: "upstream_rejected", calls: 1},
		{name: "stub: openid missing", stub: stubAnswer(map[string]any{"session_key": goodKey}),
			status: 502, code: "upstream_rejected", calls: 1},
		{name: "stub: openid of 129 bytes", stub: stubAnswer(map[string]any{"openid": strings.Repeat("o", 129), "session_key": goodKey}),
			status: 502, code: "upstream_rejected", calls: 1},
		{name: "stub: unionid with a control character", stub: stubAnswer(map[string]any{"openid": "oStub", "unionid": "u\x07", "session_key": goodKey}),
			status: 502, code: "upstream_rejected", calls: 1},
	}

	var mu sync.Mutex
	var asDocumented, written int
	names := map[string]bool{}
	for _, k := range cases {
		if names[k.name] {
			t.Fatalf("case %q twice", k.name)
		}
		names[k.name] = true
	}
	t.Run("cases", func(t *testing.T) {
		for _, k := range cases {
			t.Run(k.name, func(t *testing.T) {
				t.Parallel()
				var up *upstream
				w := newWorld(t, withUpstream(&up), func(_ *world, a *auth.Config, h *httpapi.Config) {
					h.RequestTimeout = k.timeout
					if k.timeout > 0 {
						// The exchange outlives the request that gave up on
						// it (other requests of the client may be waiting
						// for the same code) until the WeChat client's own
						// timeout, which is longer than the request's.
						wc := a.WeChat.(*wechat.Client)
						hc := *wc.HTTPClient
						hc.Timeout = 2 * k.timeout
						wc.HTTPClient = &hc
					}
				})
				var req sent
				path := pathCode2Session
				if k.phone {
					tok := w.login(app1, "alice").Token
					for _, u := range []string{"alice", "bob"} {
						if err := w.em.AgreePrivacy(app1, u); err != nil {
							t.Fatal(err)
						}
					}
					w.login(app1, "bob")
					bobs, err := w.em.Phone(app1, "bob")
					if err != nil {
						t.Fatal(err)
					}
					path = pathPhoneNumber
					req = sent{"POST", "/v1/phone", []string{"Authorization", "Bearer " + tok, "Content-Type", "application/json"},
						[]byte(`{"code":"` + bobs.Code + `"}`)}
				} else {
					code := "never-issued"
					if !k.unissued {
						code = w.code(app1, "f")
					}
					req = sent{"POST", "/v1/login", []string{"Content-Type", "application/json"},
						[]byte(`{"appid":"` + app1 + `","code":"` + code + `"}`)}
				}
				if k.fault.API != "" {
					if err := w.em.InjectFault(k.fault); err != nil {
						t.Fatal(err)
					}
				}
				if k.stub != "" {
					up.mu.Lock()
					up.override[pathCode2Session] = k.stub
					up.mu.Unlock()
				}
				before := w.dump()
				callsBefore := up.count(path)
				start := time.Now()
				a := w.send(noRedirects(w), req)
				took := time.Since(start)
				calls := up.count(path) - callsBefore
				ok := true
				switch {
				case a.documented != nil:
					ok = false
					t.Errorf("%d %s: %v", a.status, a.code, a.documented)
				case a.status != k.status || a.code != k.code:
					ok = false
					t.Errorf("answered %d %s, want %d %s (%s)", a.status, a.code, k.status, k.code, truncate(a.body))
				}
				if got := a.header.Get("Retry-After") != ""; got != k.retryAfter {
					ok = false
					t.Errorf("Retry-After %q, want present=%v", a.header.Get("Retry-After"), k.retryAfter)
				}
				if calls != k.calls {
					ok = false
					t.Errorf("%s called %d times, want %d", path, calls, k.calls)
				}
				if k.fault.API != "" && k.stub == "" {
					// The emulator saw every call the stub passed on; a
					// stalled one once the WeChat client gave up on it.
					deadline := time.Now().Add(time.Minute)
					for w.em.Stats().APIs[k.fault.API].Calls < calls && time.Now().Before(deadline) {
						time.Sleep(10 * time.Millisecond)
					}
					if got := w.em.Stats().APIs[k.fault.API].Calls; got != calls {
						ok = false
						t.Errorf("the emulator counted %d calls of %s, the stub %d", got, k.fault.API, calls)
					}
				}
				if k.phone {
					// The code was refused for being another user's, not
					// for being unknown.
					if got := w.em.Stats().APIs[emulator.APIGetUserPhoneNumber].ErrCodes["40003"]; got != 1 {
						ok = false
						t.Errorf("getuserphonenumber answered 40003 %d times, want 1", got)
					}
				}
				changed := 0
				if d := cmp.Diff(before, w.dump()); d != "" {
					changed = 1
					t.Errorf("the database changed (-before +after):\n%s", d)
				}
				mu.Lock()
				if ok {
					asDocumented++
				}
				written += changed
				mu.Unlock()
				t.Logf("%d %s after %d call(s) of %s, in %v", a.status, a.code, calls, path, took.Round(time.Millisecond))
			})
		}
	})
	httpapi.Summary("catalogue wechat-faults: tried %d, answered as documented %d, written %d", len(cases), asDocumented, written)
}
