package wechat_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

func TestCode2Session(t *testing.T) {
	t.Parallel()
	// Characters that break an unescaped query: + turns into a space, &
	// and = start new parameters.
	const code = "0a1+b/c=d&e f%"
	tests := []struct {
		name   string
		answer map[string]any
		want   *wechat.Session
	}{
		{
			name:   "bound app gets a unionid",
			answer: map[string]any{"openid": "oABC", "session_key": "a2V5a2V5a2V5a2V5a2V5aw==", "unionid": "uXYZ"},
			want:   &wechat.Session{OpenID: "oABC", UnionID: "uXYZ", SessionKey: "a2V5a2V5a2V5a2V5a2V5aw=="},
		},
		{
			name:   "unbound app gets none; errcode 0 is success",
			answer: map[string]any{"openid": "oABC", "session_key": "a2V5a2V5a2V5a2V5a2V5aw==", "errcode": 0, "errmsg": "ok"},
			want:   &wechat.Session{OpenID: "oABC", SessionKey: "a2V5a2V5a2V5a2V5a2V5aw=="},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]script{"/sns/jscode2session": answer(tt.answer)})
			got, err := f.client.Code2Session(t.Context(), testApp, code)
			if err != nil {
				t.Fatalf("Code2Session: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("session (-want +got):\n%s", diff)
			}
			req := f.wechat.request("/sns/jscode2session", 0)
			wantQuery := map[string][]string{
				"appid":      {testApp.AppID},
				"secret":     {testApp.Secret.Reveal()},
				"js_code":    {code},
				"grant_type": {"authorization_code"},
			}
			if diff := cmp.Diff(wantQuery, req.query); diff != "" {
				t.Errorf("query as WeChat parsed it (-want +got):\n%s", diff)
			}
			if req.method != http.MethodGet {
				t.Errorf("method = %s, want GET", req.method)
			}
		})
	}
}

func TestEmptyCodeIsNotSent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]script{})
	_, err := f.client.Code2Session(t.Context(), testApp, "")
	if got := wechat.Classify(err); got != wechat.KindCodeInvalid {
		t.Errorf("Code2Session(\"\"): kind %v (%v), want code_invalid", got, err)
	}
	_, err = f.client.PhoneNumber(t.Context(), testApp, "", "")
	if got := wechat.Classify(err); got != wechat.KindCodeInvalid {
		t.Errorf("PhoneNumber(\"\"): kind %v (%v), want code_invalid", got, err)
	}
	// fakeWeChat fails the test on any request: none was made.
}

// TestErrcodes checks that every errcode comes back as a typed *Error with
// its classification, and that only busy is retried.
func TestErrcodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		errcode   int
		wantKind  wechat.Kind
		wantCalls int
	}{
		{"invalid code", 40029, wechat.KindCodeInvalid, 1},
		{"code been used", 40163, wechat.KindCodeInvalid, 1},
		{"high-risk user", 40226, wechat.KindBlocked, 1},
		{"minute quota", 45011, wechat.KindQuota, 1},
		{"daily quota", 45009, wechat.KindQuota, 1},
		{"invalid appid", 40013, wechat.KindConfig, 1},
		{"invalid secret", 40125, wechat.KindConfig, 1},
		{"busy, retried twice", -1, wechat.KindBusy, 3},
		{"unknown errcode", 61024, wechat.KindOther, 1},
		// The most negative int once sent Error's hand-made itoa into an
		// endless recursion (a crash no recover catches).
		{"most negative errcode", math.MinInt64, wechat.KindOther, 1},
		{"largest errcode", math.MaxInt64, wechat.KindOther, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]script{
				"/sns/jscode2session": answer(errcode(tt.errcode, "some error")),
			})
			_, err := f.client.Code2Session(t.Context(), testApp, "code")
			var we *wechat.Error
			if !errors.As(err, &we) {
				t.Fatalf("error %v (%T) is not a *wechat.Error", err, err)
			}
			want := &wechat.Error{API: "jscode2session", ErrCode: tt.errcode, ErrMsg: "some error rid: 6541a1b2-0c0ffee0-12345678"}
			if diff := cmp.Diff(want, we); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if got := wechat.Classify(err); got != tt.wantKind {
				t.Errorf("Classify = %v, want %v", got, tt.wantKind)
			}
			if text, code := err.Error(), strconv.Itoa(tt.errcode); !strings.Contains(text, "errcode "+code+": ") {
				t.Errorf("error text %q does not name errcode %s", text, code)
			}
			if got := f.wechat.count("/sns/jscode2session"); got != tt.wantCalls {
				t.Errorf("WeChat saw %d calls, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestBusyRetries(t *testing.T) {
	t.Parallel()
	busy := answer(errcode(-1, "system error"))
	ok := answer(map[string]any{"openid": "o1", "session_key": "azFrMWsxazFrMWsxazFrMQ=="})
	tests := []struct {
		name       string
		script     script
		maxRetries int
		deadline   time.Duration // 0: none
		wantErr    wechat.Kind
		wantCalls  int
	}{
		{name: "busy twice then success", script: sequence(busy, busy, ok), wantErr: wechat.KindNone, wantCalls: 3},
		{name: "busy thrice gives up after two retries", script: busy, wantErr: wechat.KindBusy, wantCalls: 3},
		{name: "retries configured off", script: sequence(busy, ok), maxRetries: -1, wantErr: wechat.KindBusy, wantCalls: 1},
		{name: "one retry configured", script: busy, maxRetries: 1, wantErr: wechat.KindBusy, wantCalls: 2},
		// The deadline is long enough for a call on a loaded machine but not
		// for the wait: base 2s gives at least 1s of backoff (set below).
		{name: "no retry the deadline cannot fit", script: sequence(busy, ok), deadline: 900 * time.Millisecond, wantErr: wechat.KindBusy, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]script{"/sns/jscode2session": tt.script})
			f.client.MaxBusyRetries = tt.maxRetries
			f.client.BackoffBase = 200 * time.Millisecond
			f.client.BackoffMax = time.Second
			if tt.deadline > 0 {
				f.client.BackoffBase, f.client.BackoffMax = 2*time.Second, 4*time.Second
			}
			ctx := t.Context()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			_, err := f.client.Code2Session(ctx, testApp, "code")
			if got := wechat.Classify(err); got != tt.wantErr {
				t.Errorf("Classify(%v) = %v, want %v", err, got, tt.wantErr)
			}
			if got := f.wechat.count("/sns/jscode2session"); got != tt.wantCalls {
				t.Errorf("WeChat saw %d calls, want %d", got, tt.wantCalls)
			}
			sleeps := f.recordedSleeps()
			if len(sleeps) != tt.wantCalls-1 {
				t.Fatalf("slept %d times, want %d", len(sleeps), tt.wantCalls-1)
			}
			// Exponential with jitter: retry n waits in [d/2, d], d = 200ms·2^n.
			for i, d := range sleeps {
				hi := 200 * time.Millisecond << i
				if d < hi/2 || d > hi {
					t.Errorf("sleep %d = %v, want within [%v, %v]", i, d, hi/2, hi)
				}
			}
		})
	}
}

func TestBackoffIsCapped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]script{"/sns/jscode2session": answer(errcode(-1, "busy"))})
	f.client.MaxBusyRetries = 6
	f.client.BackoffBase = 100 * time.Millisecond
	f.client.BackoffMax = 300 * time.Millisecond
	f.client.Code2Session(t.Context(), testApp, "code")
	sleeps := f.recordedSleeps()
	if len(sleeps) != 6 {
		t.Fatalf("slept %d times, want 6", len(sleeps))
	}
	for i, d := range sleeps {
		if d > 300*time.Millisecond {
			t.Errorf("sleep %d = %v, above BackoffMax 300ms", i, d)
		}
	}
	if last := sleeps[5]; last < 150*time.Millisecond {
		t.Errorf("last sleep %v, want at least BackoffMax/2", last)
	}
}

// TestUnavailable covers the ways WeChat can fail without an errcode, and
// the one retry that only repeatable calls get.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	status := func(code int) script {
		return func(_ int, w http.ResponseWriter, _ *http.Request) { http.Error(w, "upstream down", code) }
	}
	raw := func(body string) script {
		return func(_ int, w http.ResponseWriter, _ *http.Request) { w.Write([]byte(body)) }
	}
	truncated := func(_ int, w http.ResponseWriter, _ *http.Request) {
		// Promise more than is sent: the client sees an unexpected EOF.
		w.Header().Set("Content-Length", "100")
		w.Write([]byte(`{"openid":"o1","sess`))
	}
	session := map[string]any{"openid": "o1", "session_key": "azFrMWsxazFrMWsxazFrMQ=="}
	tests := []struct {
		name      string
		script    script
		wantCalls int
		wantIn    string // in the error text
	}{
		{"502", status(http.StatusBadGateway), 1, "HTTP 502"},
		{"503", status(http.StatusServiceUnavailable), 1, "HTTP 503"},
		{"404 from a misrouted proxy", status(http.StatusNotFound), 1, "HTTP 404"},
		{"redirect is not followed", func(_ int, w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}, 1, "HTTP 302"},
		{"html error page", raw("<html>bad gateway</html>"), 1, "not the expected JSON"},
		{"truncated body", truncated, 1, "reading the answer"},
		{"truncated JSON with a correct length", raw(`{"openid":"o1","sess`), 1, "not the expected JSON"},
		{"wrong field types", raw(`{"errcode":"zero"}`), 1, "not the expected JSON"},
		{"empty body", raw(""), 1, "not the expected JSON"},
		{"503 then success is not retried: the code may be spent", sequence(status(503), answer(session)), 1, "HTTP 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]script{"/sns/jscode2session": tt.script})
			f.client.HTTPClient = nil // the default client: it must not follow redirects
			_, err := f.client.Code2Session(t.Context(), testApp, "code")
			if got := wechat.Classify(err); got != wechat.KindUnavailable {
				t.Fatalf("Classify(%v) = %v, want unavailable", err, got)
			}
			var ue *wechat.UnavailableError
			if !errors.As(err, &ue) || ue.API != "jscode2session" {
				t.Errorf("error %#v is not an *UnavailableError of jscode2session", err)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error %q does not say %q", err, tt.wantIn)
			}
			if got := f.wechat.count("/sns/jscode2session"); got != tt.wantCalls {
				t.Errorf("WeChat saw %d calls, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestUnavailableRetriedOnceWhenRepeatable(t *testing.T) {
	t.Parallel()
	down := func(_ int, w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusBadGateway) }
	ok := answer(map[string]any{"errcode": 0, "errmsg": "ok"})
	tests := []struct {
		name      string
		script    script
		disabled  bool
		wantKind  wechat.Kind
		wantCalls int
	}{
		{"502 then ok", sequence(down, ok), false, wechat.KindNone, 2},
		{"502 twice: only one retry", down, false, wechat.KindUnavailable, 2},
		{"retry switched off", sequence(down, ok), true, wechat.KindUnavailable, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]script{
				"/cgi-bin/stable_token": stableTokens(true),
				"/wxa/checksession":     tt.script,
			})
			f.client.NoUnavailableRetry = tt.disabled
			err := f.client.CheckSessionKey(t.Context(), testApp, "o1", "a2V5")
			if got := wechat.Classify(err); got != tt.wantKind {
				t.Errorf("Classify(%v) = %v, want %v", err, got, tt.wantKind)
			}
			if got := f.wechat.count("/wxa/checksession"); got != tt.wantCalls {
				t.Errorf("checksession calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

// TestSlowWeChatFailsAtTheDeadline: a WeChat that never answers costs the
// caller its deadline and no more, and the error says why.
func TestSlowWeChatFailsAtTheDeadline(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]script{
		"/sns/jscode2session": func(_ int, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
	})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.client.Code2Session(ctx, testApp, "code")
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("took %v after a 50ms deadline", elapsed)
	}
	if got := wechat.Classify(err); got != wechat.KindUnavailable {
		t.Errorf("Classify(%v) = %v, want unavailable", err, got)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not match context.DeadlineExceeded", err)
	}
}

func TestCheckSessionKey(t *testing.T) {
	t.Parallel()
	const sessionKey = "HyVFkGl5F5OQWJZZaNzBBg=="
	// Computed here with the standard library rather than through wxcrypt:
	// the key is the base64 text, not the 16 decoded bytes.
	mac := hmac.New(sha256.New, []byte(sessionKey))
	wantSignature := hex.EncodeToString(mac.Sum(nil))

	tests := []struct {
		name     string
		answer   map[string]any
		wantKind wechat.Kind
	}{
		{"valid", map[string]any{"errcode": 0, "errmsg": "ok"}, wechat.KindNone},
		{"rotated", errcode(87009, "invalid signature"), wechat.KindSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]script{
				"/cgi-bin/stable_token": stableTokens(true),
				"/wxa/checksession":     answer(tt.answer),
			})
			err := f.client.CheckSessionKey(t.Context(), testApp, "o/1+2", sessionKey)
			if got := wechat.Classify(err); got != tt.wantKind {
				t.Errorf("Classify(%v) = %v, want %v", err, got, tt.wantKind)
			}
			want := map[string][]string{
				"access_token": {tokenName(1)},
				"openid":       {"o/1+2"},
				"signature":    {wantSignature},
				"sig_method":   {"hmac_sha256"},
			}
			if diff := cmp.Diff(want, f.wechat.request("/wxa/checksession", 0).query); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResetUserSessionKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]script{
		"/cgi-bin/stable_token":    stableTokens(true),
		"/wxa/resetusersessionkey": answer(map[string]any{"errcode": 0, "errmsg": "ok", "openid": "o1", "session_key": "bmV3a2V5bmV3a2V5bmV3aw=="}),
	})
	got, err := f.client.ResetUserSessionKey(t.Context(), testApp, "o1", "b2xka2V5")
	if err != nil {
		t.Fatalf("ResetUserSessionKey: %v", err)
	}
	if diff := cmp.Diff(&wechat.Session{OpenID: "o1", SessionKey: "bmV3a2V5bmV3a2V5bmV3aw=="}, got); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}
	mac := hmac.New(sha256.New, []byte("b2xka2V5"))
	q := f.wechat.request("/wxa/resetusersessionkey", 0).query
	if got, want := q["signature"][0], hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("signature = %q, want %q (hmac under the old key's text)", got, want)
	}
}

func TestPhoneNumber(t *testing.T) {
	t.Parallel()
	phone := map[string]any{"errcode": 0, "errmsg": "ok", "phone_info": map[string]any{
		"phoneNumber": "+86 13800138000", "purePhoneNumber": "13800138000", "countryCode": "86",
		"watermark": map[string]any{"timestamp": 1700000000, "appid": testApp.AppID},
	}}
	tests := []struct {
		name     string
		openid   string
		wantBody map[string]any
	}{
		{"without openid", "", map[string]any{"code": "phone+code"}},
		{"with openid", "o1", map[string]any{"code": "phone+code", "openid": "o1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]script{
				"/cgi-bin/stable_token":            stableTokens(true),
				"/wxa/business/getuserphonenumber": answer(phone),
			})
			got, err := f.client.PhoneNumber(t.Context(), testApp, "phone+code", tt.openid)
			if err != nil {
				t.Fatalf("PhoneNumber: %v", err)
			}
			want := &wechat.PhoneInfo{
				PhoneNumber: "+86 13800138000", PurePhoneNumber: "13800138000", CountryCode: "86",
				Watermark: wechat.Watermark{AppID: testApp.AppID, Timestamp: 1700000000},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("phone (-want +got):\n%s", diff)
			}
			req := f.wechat.request("/wxa/business/getuserphonenumber", 0)
			if diff := cmp.Diff(tt.wantBody, req.body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string][]string{"access_token": {tokenName(1)}}, req.query); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
			if req.method != http.MethodPost {
				t.Errorf("method = %s, want POST", req.method)
			}
		})
	}
}

func TestPaidUnionID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		transactionID string
		wantQuery     map[string][]string
	}{
		{"latest payment", "", map[string][]string{"access_token": {tokenName(1)}, "openid": {"o1"}}},
		{"one transaction", "4200001", map[string][]string{"access_token": {tokenName(1)}, "openid": {"o1"}, "transaction_id": {"4200001"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]script{
				"/cgi-bin/stable_token": stableTokens(true),
				"/wxa/getpaidunionid":   answer(map[string]any{"errcode": 0, "errmsg": "ok", "unionid": "u1"}),
			})
			got, err := f.client.PaidUnionID(t.Context(), testApp, "o1", tt.transactionID)
			if err != nil || got != "u1" {
				t.Fatalf("PaidUnionID = %q, %v; want u1", got, err)
			}
			if diff := cmp.Diff(tt.wantQuery, f.wechat.request("/wxa/getpaidunionid", 0).query); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSecretsNeverLeak drives every API into every kind of failure with a
// debug log, then searches each error text and the whole log for the
// secrets the calls carried.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const (
		code       = "CODE-0123456789"
		sessionKey = wxlogin.Secret("U0VTU0lPTktFWS0wMTIz")
		token      = "ACCESS-TOKEN-0123456789"
	)
	mac := hmac.New(sha256.New, []byte(sessionKey))
	signature := hex.EncodeToString(mac.Sum(nil))
	secrets := []string{testApp.Secret.Reveal(), code, sessionKey.Reveal(), token, signature}
	// An errmsg that echoes the whole request back, raw and decoded, as a
	// careless proxy might.
	echo := func(_ int, w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		msg := []string{"invalid", r.URL.RawQuery, string(body)}
		for _, v := range r.URL.Query() {
			msg = append(msg, v...)
		}
		writeJSON(w, errcode(40029, strings.Join(msg, " ")))
	}
	tests := []struct {
		name   string
		script script
		closed bool // WeChat unreachable
	}{
		{name: "unreachable", closed: true},
		{name: "errmsg echoes the request", script: echo},
		{name: "502", script: func(_ int, w http.ResponseWriter, _ *http.Request) { http.Error(w, "bad", http.StatusBadGateway) }},
		{name: "garbage", script: func(_ int, w http.ResponseWriter, _ *http.Request) { w.Write([]byte("<" + code)) }},
		{name: "busy", script: answer(errcode(-1, "busy"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			all := map[string]script{}
			for _, p := range []string{"/sns/jscode2session", "/cgi-bin/token", "/wxa/checksession",
				"/wxa/resetusersessionkey", "/wxa/business/getuserphonenumber", "/wxa/getpaidunionid"} {
				all[p] = tt.script
			}
			// Token-taking calls need a token first; it is one of the secrets.
			all["/cgi-bin/stable_token"] = answer(map[string]any{"access_token": token, "expires_in": 7200})
			f := newFixture(t, all)
			if tt.closed {
				// Point at a port nothing listens on: a refused connection.
				f.client.BaseURL = "http://127.0.0.1:1"
			}
			ctx := t.Context()
			c, app := f.client, testApp
			var errs []error
			_, err := c.Code2Session(ctx, app, code)
			errs = append(errs, err)
			_, err = c.GetAccessToken(ctx, app)
			errs = append(errs, err)
			errs = append(errs, c.CheckSessionKey(ctx, app, "o1", sessionKey))
			_, err = c.ResetUserSessionKey(ctx, app, "o1", sessionKey)
			errs = append(errs, err)
			_, err = c.PhoneNumber(ctx, app, code, "o1")
			errs = append(errs, err)
			_, err = c.PaidUnionID(ctx, app, "o1", "")
			errs = append(errs, err)
			for i, err := range errs {
				if err == nil {
					t.Errorf("call %d succeeded; every call should fail here", i)
					continue
				}
				for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
					assertNoSecrets(t, "error "+format, fmt.Sprintf(format, err), secrets...)
				}
			}
			assertNoSecrets(t, "log", f.log.String(), secrets...)
			if f.log.String() == "" {
				t.Error("nothing was logged; the log check proves nothing")
			}
		})
	}
}
