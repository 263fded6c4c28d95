package wechat_test

// The client against the real emulator under httptest: WeChat's flows as
// the emulator reproduces them (as WeChat documents them), end to end over
// HTTP.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/internal/testlog"
	"github.com/wxlogin/wxlogin/wechat"
)

// The emulator's default dev apps: 1 and 2 bound to one Open Platform
// account, 3 not bound.
var (
	devApp1 = wxlogin.App{AppID: "wxdec0de0000000001", Secret: "0123456789abcdef0123456789abcdef"}
	devApp2 = wxlogin.App{AppID: "wxdec0de0000000002", Secret: "fedcba9876543210fedcba9876543210"}
	devApp3 = wxlogin.App{AppID: "wxdec0de0000000003", Secret: "00112233445566778899aabbccddeeff"}
	devOA   = wxlogin.App{AppID: "wxdec0de00000000a1", Secret: "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", Kind: wxlogin.KindOfficialAccount}
	devSite = wxlogin.App{AppID: "wxdec0de00000000b1", Secret: "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1", Kind: wxlogin.KindWebsite}
)

// emulated is a Client talking to a fresh emulator; both read one fake
// clock, so token expiry is seen alike on both sides.
type emulated struct {
	emu    *emulator.Emulator
	srv    *httptest.Server
	client *wechat.Client
	clock  *fakeClock
	log    *testlog.Buffer
}

func newEmulated(t testing.TB) *emulated {
	t.Helper()
	clock := newFakeClock()
	emu := &emulator.Emulator{Now: clock.Now, Logger: slog.New(slog.DiscardHandler),
		Apps: append(emulator.DevApps(), emulator.DevWebApps()...)}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	log := &testlog.Buffer{}
	return &emulated{
		emu:   emu,
		srv:   srv,
		clock: clock,
		log:   log,
		client: &wechat.Client{
			BaseURL:    srv.URL,
			HTTPClient: srv.Client(),
			Now:        clock.Now,
			Logger:     slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
			// Real waits, kept short: the emulator is real, so is its timing.
			BackoffBase: time.Millisecond,
			BackoffMax:  5 * time.Millisecond,
		},
	}
}

// device calls the emulator's device API as a mini program would and
// decodes its answer into out.
func (e *emulated) device(t testing.TB, method, path string, body, out any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.srv.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: HTTP %s", method, path, resp.Status)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// login is wx.login through the device API.
func (e *emulated) login(t testing.TB, app wxlogin.App, user string) string {
	t.Helper()
	var out struct{ Code string }
	e.device(t, http.MethodPost, "/emulator/v1/login", map[string]string{"appid": app.AppID, "user": user}, &out)
	if out.Code == "" {
		t.Fatal("emulator login gave no code")
	}
	return out.Code
}

func (e *emulated) fault(t testing.TB, f map[string]any) {
	t.Helper()
	e.device(t, http.MethodPost, "/emulator/v1/faults", f, nil)
}

func (e *emulated) calls(api string) int { return e.emu.Stats().APIs[api].Calls }

func (e *emulated) identity(t testing.TB, app wxlogin.App, user string) emulator.Identity {
	t.Helper()
	id, err := e.emu.Identity(app.AppID, user)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *emulated) sessionKey(t testing.TB, app wxlogin.App, user string) wxlogin.Secret {
	t.Helper()
	k, err := e.emu.SessionKey(app.AppID, user)
	if err != nil {
		t.Fatal(err)
	}
	return wxlogin.Secret(k)
}

func TestEmulatorCode2Session(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		app         wxlogin.App
		wantUnionID bool
	}{
		{"bound app", devApp1, true},
		{"second bound app", devApp2, true},
		{"unbound app", devApp3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEmulated(t)
			code := e.login(t, tt.app, "alice")
			got, err := e.client.Code2Session(t.Context(), tt.app, code)
			if err != nil {
				t.Fatalf("Code2Session: %v", err)
			}
			id := e.identity(t, tt.app, "alice")
			want := &wechat.Session{OpenID: id.OpenID, UnionID: id.UnionID, SessionKey: e.sessionKey(t, tt.app, "alice")}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("session (-want +got):\n%s", diff)
			}
			if (got.UnionID != "") != tt.wantUnionID {
				t.Errorf("unionid %q, want one: %v", got.UnionID, tt.wantUnionID)
			}
		})
	}
}

func TestEmulatorUnionIDAcrossBoundApps(t *testing.T) {
	t.Parallel()
	e := newEmulated(t)
	s1, err := e.client.Code2Session(t.Context(), devApp1, e.login(t, devApp1, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := e.client.Code2Session(t.Context(), devApp2, e.login(t, devApp2, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	if s1.UnionID == "" || s1.UnionID != s2.UnionID || s1.OpenID == s2.OpenID {
		t.Errorf("bob: app1 %s/%s, app2 %s/%s; want one unionid, two openids", s1.OpenID, s1.UnionID, s2.OpenID, s2.UnionID)
	}
	paid, err := e.client.PaidUnionID(t.Context(), devApp1, s1.OpenID, "")
	if err != nil || paid != s1.UnionID {
		t.Errorf("PaidUnionID = %q, %v; want %q", paid, err, s1.UnionID)
	}
	s3, err := e.client.Code2Session(t.Context(), devApp3, e.login(t, devApp3, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.PaidUnionID(t.Context(), devApp3, s3.OpenID, "")
	var we *wechat.Error
	if !errors.As(err, &we) || we.ErrCode != 89002 || wechat.Classify(err) != wechat.KindOther {
		t.Errorf("PaidUnionID in an unbound app: %v, want errcode 89002 (other)", err)
	}
}

func TestEmulatorCode2SessionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		prepare     func(t *testing.T, e *emulated) (wxlogin.App, string) // the app and code to exchange
		wantErrCode int
		wantKind    wechat.Kind
		wantCalls   int
	}{
		{
			name: "code reused",
			prepare: func(t *testing.T, e *emulated) (wxlogin.App, string) {
				code := e.login(t, devApp1, "alice")
				if _, err := e.client.Code2Session(t.Context(), devApp1, code); err != nil {
					t.Fatal(err)
				}
				return devApp1, code
			},
			wantErrCode: 40163, wantKind: wechat.KindCodeInvalid, wantCalls: 2,
		},
		{
			name: "code expired after 5 minutes",
			prepare: func(t *testing.T, e *emulated) (wxlogin.App, string) {
				code := e.login(t, devApp1, "alice")
				e.device(t, http.MethodPost, "/emulator/v1/clock", map[string]string{"advance": "6m"}, nil)
				return devApp1, code
			},
			wantErrCode: 40029, wantKind: wechat.KindCodeInvalid, wantCalls: 1,
		},
		{
			name:        "unknown code",
			prepare:     func(*testing.T, *emulated) (wxlogin.App, string) { return devApp1, "081nOTaREALcode" },
			wantErrCode: 40029, wantKind: wechat.KindCodeInvalid, wantCalls: 1,
		},
		{
			name: "phone code sent to code2session",
			prepare: func(t *testing.T, e *emulated) (wxlogin.App, string) {
				e.login(t, devApp1, "alice")
				if err := e.emu.AgreePrivacy(devApp1.AppID, "alice"); err != nil {
					t.Fatal(err)
				}
				p, err := e.emu.Phone(devApp1.AppID, "alice")
				if err != nil {
					t.Fatal(err)
				}
				return devApp1, p.Code
			},
			wantErrCode: 40029, wantKind: wechat.KindCodeInvalid, wantCalls: 1,
		},
		{
			name: "code of another app",
			prepare: func(t *testing.T, e *emulated) (wxlogin.App, string) {
				return devApp1, e.login(t, devApp2, "alice")
			},
			wantErrCode: 40029, wantKind: wechat.KindCodeInvalid, wantCalls: 1,
		},
		{
			name: "wrong secret",
			prepare: func(t *testing.T, e *emulated) (wxlogin.App, string) {
				return wxlogin.App{AppID: devApp1.AppID, Secret: "not-the-secret"}, e.login(t, devApp1, "alice")
			},
			wantErrCode: 40125, wantKind: wechat.KindConfig, wantCalls: 1,
		},
		{
			name: "unknown appid",
			prepare: func(t *testing.T, e *emulated) (wxlogin.App, string) {
				return wxlogin.App{AppID: "wxunknown0000000", Secret: devApp1.Secret}, e.login(t, devApp1, "alice")
			},
			wantErrCode: 40013, wantKind: wechat.KindConfig, wantCalls: 1,
		},
		{
			name: "high-risk user (injected)",
			prepare: func(t *testing.T, e *emulated) (wxlogin.App, string) {
				e.fault(t, map[string]any{"api": "jscode2session", "count": 1, "errcode": 40226})
				return devApp1, e.login(t, devApp1, "alice")
			},
			wantErrCode: 40226, wantKind: wechat.KindBlocked, wantCalls: 1,
		},
		{
			name: "minute quota (injected): not retried",
			prepare: func(t *testing.T, e *emulated) (wxlogin.App, string) {
				e.fault(t, map[string]any{"api": "jscode2session", "count": 1, "errcode": 45011})
				return devApp1, e.login(t, devApp1, "alice")
			},
			wantErrCode: 45011, wantKind: wechat.KindQuota, wantCalls: 1,
		},
		{
			name: "minute quota (the emulator's own limit)",
			prepare: func(t *testing.T, e *emulated) (wxlogin.App, string) {
				e.emu.Code2SessionPerMinute = 1
				if _, err := e.client.Code2Session(t.Context(), devApp1, e.login(t, devApp1, "alice")); err != nil {
					t.Fatal(err)
				}
				return devApp1, e.login(t, devApp1, "alice")
			},
			wantErrCode: 45011, wantKind: wechat.KindQuota, wantCalls: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEmulated(t)
			app, code := tt.prepare(t, e)
			_, err := e.client.Code2Session(t.Context(), app, code)
			var we *wechat.Error
			if !errors.As(err, &we) {
				t.Fatalf("error %v is not a *wechat.Error", err)
			}
			if we.ErrCode != tt.wantErrCode || we.API != "jscode2session" {
				t.Errorf("error %v, want errcode %d of jscode2session", err, tt.wantErrCode)
			}
			if got := wechat.Classify(err); got != tt.wantKind {
				t.Errorf("Classify = %v, want %v", got, tt.wantKind)
			}
			if got := e.calls(emulator.APIJSCode2Session); got != tt.wantCalls {
				t.Errorf("emulator saw %d jscode2session calls, want %d", got, tt.wantCalls)
			}
			assertNoSecrets(t, "error", err.Error(), string(app.Secret), code)
			assertNoSecrets(t, "log", e.log.String(), string(app.Secret), code)
		})
	}
}

func TestEmulatorStableToken(t *testing.T) {
	t.Parallel()
	e := newEmulated(t)
	ctx := t.Context()
	t1, err := e.client.GetStableAccessToken(ctx, devApp1, false)
	if err != nil {
		t.Fatal(err)
	}
	t2, err := e.client.GetStableAccessToken(ctx, devApp1, false)
	if err != nil {
		t.Fatal(err)
	}
	if t1.Value != t2.Value {
		t.Error("stable_token without force_refresh gave two different tokens")
	}
	cached, err := e.client.AccessToken(ctx, devApp1)
	if err != nil || cached.Value != t1.Value {
		t.Errorf("AccessToken = %v, want the stable token", err)
	}
	if got := e.calls(emulator.APIStableToken); got != 3 {
		t.Errorf("stable_token calls = %d, want 3", got)
	}
	if got := e.calls(emulator.APIToken); got != 0 {
		t.Errorf("cgi-bin/token calls = %d, want 0: stable_token is the default", got)
	}

	// Inside the last 5 minutes the emulator, like WeChat, hands out a new
	// stable token, and AccessToken asks for it.
	e.clock.Advance(7200*time.Second - 4*time.Minute)
	renewed, err := e.client.AccessToken(ctx, devApp1)
	if err != nil || renewed.Value == t1.Value {
		t.Errorf("AccessToken near expiry: %v; want a new token", err)
	}
	if got := e.calls(emulator.APIStableToken); got != 4 {
		t.Errorf("stable_token calls = %d, want 4", got)
	}

	forced, err := e.client.GetStableAccessToken(ctx, devApp1, true)
	if err != nil || forced.Value == renewed.Value {
		t.Errorf("force_refresh: %v; want a new token", err)
	}
	_, err = e.client.GetStableAccessToken(ctx, devApp1, true)
	if wechat.Classify(err) != wechat.KindQuota {
		t.Errorf("second force_refresh within 30 s: %v, want quota (45011)", err)
	}
}

// TestEmulatorClassicTokenGrace: cgi-bin/token replaces the previous token,
// which works for a grace period and then fails with 40001; the client then
// drops it, fetches a new one and repeats the call once.
func TestEmulatorClassicTokenGrace(t *testing.T) {
	t.Parallel()
	e := newEmulated(t)
	e.client.UseClassicToken = true
	ctx := t.Context()
	s, err := e.client.Code2Session(ctx, devApp1, e.login(t, devApp1, "carol"))
	if err != nil {
		t.Fatal(err)
	}
	key := s.SessionKey

	first, err := e.client.AccessToken(ctx, devApp1)
	if err != nil {
		t.Fatal(err)
	}
	// Another process fetches its own classic token: ours is now the
	// previous one, alive only for the grace period.
	other, err := e.client.GetAccessToken(ctx, devApp1)
	if err != nil || other.Value == first.Value {
		t.Fatalf("cgi-bin/token did not issue a new token: %v", err)
	}
	if err := e.client.CheckSessionKey(ctx, devApp1, s.OpenID, key); err != nil {
		t.Fatalf("CheckSessionKey within the grace period: %v", err)
	}
	e.clock.Advance(6 * time.Minute)
	if err := e.client.CheckSessionKey(ctx, devApp1, s.OpenID, key); err != nil {
		t.Fatalf("CheckSessionKey after the grace period: %v", err)
	}
	want := map[string]int{"0": 2, "40001": 1}
	if diff := cmp.Diff(want, e.emu.Stats().APIs[emulator.APICheckSession].ErrCodes); diff != "" {
		t.Errorf("checksession outcomes (-want +got):\n%s", diff)
	}
	if got := e.calls(emulator.APIToken); got != 3 {
		t.Errorf("cgi-bin/token calls = %d, want 3 (ours, the other's, the renewal)", got)
	}
	renewed, err := e.client.AccessToken(ctx, devApp1)
	if err != nil || renewed.Value == first.Value || renewed.Value == other.Value {
		t.Errorf("cached token after renewal: %v; want a third token", err)
	}
}

// TestEmulatorStableTokenForcedElsewhere: another process force-refreshes
// the stable token, which kills the one we cached at once (40001); the
// client drops it, stable_token hands out the new one, and the call is
// repeated once and succeeds.
func TestEmulatorStableTokenForcedElsewhere(t *testing.T) {
	t.Parallel()
	e := newEmulated(t)
	ctx := t.Context()
	s, err := e.client.Code2Session(ctx, devApp1, e.login(t, devApp1, "erin"))
	if err != nil {
		t.Fatal(err)
	}
	cached, err := e.client.AccessToken(ctx, devApp1)
	if err != nil {
		t.Fatal(err)
	}
	other := &wechat.Client{BaseURL: e.client.BaseURL, Logger: e.client.Logger}
	forced, err := other.GetStableAccessToken(ctx, devApp1, true)
	if err != nil || forced.Value == cached.Value {
		t.Fatalf("force_refresh elsewhere: %v", err)
	}
	if err := e.client.CheckSessionKey(ctx, devApp1, s.OpenID, s.SessionKey); err != nil {
		t.Fatalf("CheckSessionKey after our token was killed: %v", err)
	}
	want := map[string]int{"0": 1, "40001": 1}
	if diff := cmp.Diff(want, e.emu.Stats().APIs[emulator.APICheckSession].ErrCodes); diff != "" {
		t.Errorf("checksession outcomes (-want +got):\n%s", diff)
	}
	if now, err := e.client.AccessToken(ctx, devApp1); err != nil || now.Value != forced.Value {
		t.Errorf("cached token after the renewal: %v; want the force-refreshed one", err)
	}
}

func TestEmulatorSessionKeys(t *testing.T) {
	t.Parallel()
	e := newEmulated(t)
	ctx := t.Context()
	c := e.client
	s, err := c.Code2Session(ctx, devApp1, e.login(t, devApp1, "dave"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckSessionKey(ctx, devApp1, s.OpenID, s.SessionKey); err != nil {
		t.Errorf("CheckSessionKey with the current key: %v", err)
	}

	// A new wx.login rotates the key: the old one fails with 87009.
	s2, err := c.Code2Session(ctx, devApp1, e.login(t, devApp1, "dave"))
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckSessionKey(ctx, devApp1, s.OpenID, s.SessionKey)
	if wechat.Classify(err) != wechat.KindSignature {
		t.Errorf("CheckSessionKey with a rotated key: %v, want signature (87009)", err)
	}
	if err := c.CheckSessionKey(ctx, devApp1, s2.OpenID, s2.SessionKey); err != nil {
		t.Errorf("CheckSessionKey with the new key: %v", err)
	}

	// resetusersessionkey: proves the current key, gets a new one.
	reset, err := c.ResetUserSessionKey(ctx, devApp1, s2.OpenID, s2.SessionKey)
	if err != nil {
		t.Fatalf("ResetUserSessionKey: %v", err)
	}
	want := &wechat.Session{OpenID: s2.OpenID, SessionKey: e.sessionKey(t, devApp1, "dave")}
	if diff := cmp.Diff(want, reset); diff != "" {
		t.Errorf("reset session (-want +got):\n%s", diff)
	}
	if reset.SessionKey == s2.SessionKey {
		t.Error("reset kept the old key")
	}
	if err := c.CheckSessionKey(ctx, devApp1, s2.OpenID, s2.SessionKey); wechat.Classify(err) != wechat.KindSignature {
		t.Errorf("CheckSessionKey with the key before the reset: %v, want signature", err)
	}
	if _, err := c.ResetUserSessionKey(ctx, devApp1, s2.OpenID, s2.SessionKey); wechat.Classify(err) != wechat.KindSignature {
		t.Errorf("ResetUserSessionKey with a dead key: %v, want signature", err)
	}
	if err := c.CheckSessionKey(ctx, devApp1, reset.OpenID, reset.SessionKey); err != nil {
		t.Errorf("CheckSessionKey with the reset key: %v", err)
	}
	if got := e.calls(emulator.APIStableToken); got != 1 {
		t.Errorf("stable_token calls = %d, want 1: one cached token serves all", got)
	}
	secrets := []string{s.SessionKey.Reveal(), s2.SessionKey.Reveal(), reset.SessionKey.Reveal(), devApp1.Secret.Reveal()}
	assertNoSecrets(t, "log", e.log.String(), secrets...)
}

func TestEmulatorPhoneNumber(t *testing.T) {
	t.Parallel()
	e := newEmulated(t)
	ctx := t.Context()
	s, err := e.client.Code2Session(ctx, devApp1, e.login(t, devApp1, "erin"))
	if err != nil {
		t.Fatal(err)
	}
	user, err := e.emu.User("erin")
	if err != nil {
		t.Fatal(err)
	}
	// Today's WeChat asks for privacy agreement before the phone button.
	if err := e.emu.AgreePrivacy(devApp1.AppID, "erin"); err != nil {
		t.Fatal(err)
	}
	tap := func() string {
		t.Helper()
		p, err := e.emu.Phone(devApp1.AppID, "erin")
		if err != nil || p.Code == "" {
			t.Fatalf("emulator phone: %+v, %v", p, err)
		}
		return p.Code
	}

	code := tap()
	got, err := e.client.PhoneNumber(ctx, devApp1, code, s.OpenID)
	if err != nil {
		t.Fatalf("PhoneNumber: %v", err)
	}
	want := &wechat.PhoneInfo{
		PhoneNumber: user.PhoneNumber, PurePhoneNumber: user.PhoneNumber, CountryCode: user.CountryCode,
		Watermark: wechat.Watermark{AppID: devApp1.AppID, Timestamp: e.clock.Now().Unix()},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("phone (-want +got):\n%s", diff)
	}

	tests := []struct {
		name        string
		code        string
		openid      string
		wantErrCode int
		wantKind    wechat.Kind
	}{
		{"phone code reused", code, "", 40163, wechat.KindCodeInvalid},
		{"login code sent as a phone code", e.login(t, devApp1, "erin"), "", 40029, wechat.KindCodeInvalid},
		{"another user's openid", tap(), e.identity(t, devApp1, "frank").OpenID, 40003, wechat.KindCodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.PhoneNumber(ctx, devApp1, tt.code, tt.openid)
			var we *wechat.Error
			if !errors.As(err, &we) || we.ErrCode != tt.wantErrCode || wechat.Classify(err) != tt.wantKind {
				t.Errorf("PhoneNumber: %v, want errcode %d (%v)", err, tt.wantErrCode, tt.wantKind)
			}
			assertNoSecrets(t, "error", err.Error(), tt.code)
		})
	}
	if _, err := e.client.PhoneNumber(ctx, devApp1, tap(), ""); err != nil {
		t.Errorf("PhoneNumber without openid: %v", err)
	}
}

// TestEmulatorFaults injects the emulator's faults through its HTTP API.
func TestEmulatorFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     map[string]any
		call      string // "code2session" or "checksession"
		timeout   time.Duration
		wantKind  wechat.Kind
		wantCalls int // -1: not checked
	}{
		{"busy twice, then success", map[string]any{"api": "jscode2session", "count": 2, "errcode": -1}, "code2session", 0, wechat.KindNone, 3},
		{"busy thrice: gives up", map[string]any{"api": "jscode2session", "count": 3, "errcode": -1}, "code2session", 0, wechat.KindBusy, 3},
		{"502", map[string]any{"api": "jscode2session", "count": 1, "http_status": 502}, "code2session", 0, wechat.KindUnavailable, 1},
		{"truncated body", map[string]any{"api": "jscode2session", "count": 1, "body": "truncated"}, "code2session", 0, wechat.KindUnavailable, 1},
		{"empty body", map[string]any{"api": "jscode2session", "count": 1, "body": "empty"}, "code2session", 0, wechat.KindUnavailable, 1},
		{"delay beyond the deadline", map[string]any{"api": "jscode2session", "count": 1, "delay_ms": 5000}, "code2session", 100 * time.Millisecond, wechat.KindUnavailable, -1},
		{"checksession 502 once: repeated", map[string]any{"api": "checksession", "count": 1, "http_status": 502}, "checksession", 0, wechat.KindNone, 2},
		{"checksession truncated twice: one retry only", map[string]any{"api": "checksession", "count": 2, "body": "truncated"}, "checksession", 0, wechat.KindUnavailable, 2},
		{"stable_token busy once", map[string]any{"api": "stable_token", "count": 1, "errcode": -1}, "checksession", 0, wechat.KindNone, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEmulated(t)
			ctx := t.Context()
			code := e.login(t, devApp1, "grace")
			var s *wechat.Session
			if tt.call == "checksession" {
				var err error
				if s, err = e.client.Code2Session(ctx, devApp1, code); err != nil {
					t.Fatal(err)
				}
			}
			e.emu.ResetStats()
			e.fault(t, tt.fault)
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			start := time.Now()
			var err error
			api := emulator.APIJSCode2Session
			switch tt.call {
			case "code2session":
				_, err = e.client.Code2Session(ctx, devApp1, code)
			case "checksession":
				api = emulator.APICheckSession
				err = e.client.CheckSessionKey(ctx, devApp1, s.OpenID, s.SessionKey)
			}
			if got := wechat.Classify(err); got != tt.wantKind {
				t.Errorf("Classify(%v) = %v, want %v", err, got, tt.wantKind)
			}
			if tt.timeout > 0 {
				if elapsed := time.Since(start); elapsed > 2*time.Second {
					t.Errorf("took %v with a %v deadline", elapsed, tt.timeout)
				}
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("error %v does not match context.DeadlineExceeded", err)
				}
			}
			// The emulator records a call it gave up on only once it notices
			// the client left, which may be after we look.
			if got := e.calls(api); tt.wantCalls >= 0 && got != tt.wantCalls {
				t.Errorf("emulator saw %d %s calls, want %d", got, api, tt.wantCalls)
			}
			secrets := []string{devApp1.Secret.Reveal(), code}
			if s != nil {
				secrets = append(secrets, s.SessionKey.Reveal())
			}
			if err != nil {
				assertNoSecrets(t, "error", err.Error(), secrets...)
			}
			assertNoSecrets(t, "log", e.log.String(), secrets...)
		})
	}
}

// TestEmulatorTruncatedAnswerSpendsTheCode shows why code2session is not
// repeated after an unreadable answer: WeChat processed the request, so the
// code is spent and a repeat could only answer 40163.
func TestEmulatorTruncatedAnswerSpendsTheCode(t *testing.T) {
	t.Parallel()
	e := newEmulated(t)
	code := e.login(t, devApp1, "heidi")
	e.fault(t, map[string]any{"api": "jscode2session", "count": 1, "body": "truncated"})
	if _, err := e.client.Code2Session(t.Context(), devApp1, code); wechat.Classify(err) != wechat.KindUnavailable {
		t.Fatalf("truncated: %v, want unavailable", err)
	}
	_, err := e.client.Code2Session(t.Context(), devApp1, code)
	var we *wechat.Error
	if !errors.As(err, &we) || we.ErrCode != 40163 {
		t.Errorf("the same code again: %v, want 40163", err)
	}
}

func TestEmulatorNoUnknownRoutes(t *testing.T) {
	t.Parallel()
	e := newEmulated(t)
	ctx := t.Context()
	c := e.client
	s, err := c.Code2Session(ctx, devApp1, e.login(t, devApp1, "ivan"))
	if err != nil {
		t.Fatal(err)
	}
	c.GetAccessToken(ctx, devApp1)
	c.CheckSessionKey(ctx, devApp1, s.OpenID, s.SessionKey)
	c.ResetUserSessionKey(ctx, devApp1, s.OpenID, s.SessionKey)
	if err := e.emu.AgreePrivacy(devApp1.AppID, "ivan"); err != nil {
		t.Fatal(err)
	}
	p, err := e.emu.Phone(devApp1.AppID, "ivan")
	if err != nil {
		t.Fatal(err)
	}
	c.PhoneNumber(ctx, devApp1, p.Code, "")
	c.PaidUnionID(ctx, devApp1, s.OpenID, "")
	webCode, err := e.emu.WebCode(devOA.AppID, "ivan", "snsapi_userinfo", false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := c.WebAccessToken(ctx, devOA, webCode)
	if err != nil {
		t.Fatal(err)
	}
	c.WebUserInfo(ctx, wt.AccessToken, wt.OpenID)
	c.WebCheckToken(ctx, wt.AccessToken, wt.OpenID)
	c.WebRefreshToken(ctx, devOA, wt.RefreshToken)
	c.WeComBaseURL = e.srv.URL
	wc, err := e.emu.WeComLogin(devCorp1.CorpID, "ivan")
	if err != nil {
		t.Fatal(err)
	}
	c.WeComCode2Session(ctx, devCorp1, wc)
	e.emu.PushPoll = time.Hour
	t.Cleanup(e.emu.Close)
	cb := ticketReceiver(t, func(ticket string, issued time.Time) {
		c.PutSuiteTicket(ctx, suiteApp(devSuite.Secret), wxlogin.Secret(ticket), issued)
	})
	if err := e.emu.SetSuiteCallback(devSuite.SuiteID, cb.URL); err != nil {
		t.Fatal(err)
	}
	if _, err := e.emu.PushTicket(ctx, devSuite.SuiteID); err != nil {
		t.Fatal(err)
	}
	sc, err := e.emu.SuiteLogin(devSuite.SuiteID, devCorp1.CorpID, "ivan")
	if err != nil {
		t.Fatal(err)
	}
	c.SuiteCode2Session(ctx, suiteApp(devSuite.Secret), sc)
	stats := e.emu.Stats()
	if len(stats.UnknownRoutes) != 0 {
		t.Errorf("the client hit unknown routes: %v", stats.UnknownRoutes)
	}
	for _, api := range emulator.APIs() {
		if stats.APIs[api].Calls == 0 {
			t.Errorf("%s was never called", api)
		}
	}
}

// BenchmarkCode2Session measures one code exchange with the emulator over
// loopback HTTP: request building, the round trip, JSON decoding.
func BenchmarkCode2Session(b *testing.B) {
	e := newEmulated(b)
	e.client.Logger = slog.New(slog.DiscardHandler)
	codes := make([]string, b.N)
	for i := range codes {
		code, err := e.emu.Login(devApp1.AppID, "bench")
		if err != nil {
			b.Fatal(err)
		}
		codes[i] = code
	}
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.client.Code2Session(ctx, devApp1, codes[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// roundTripFunc answers requests without a network.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// BenchmarkCode2SessionClientOnly isolates the client's own cost (request
// building, retries bookkeeping, JSON decoding) from HTTP and the emulator:
// the transport answers a canned body in memory.
func BenchmarkCode2SessionClientOnly(b *testing.B) {
	body := []byte(`{"session_key":"HyVFkGl5F5OQWJZZaNzBBg==","openid":"oVBkZ0aYgDMDIywRdgPW8-joxXc4","unionid":"oGZUI0egBJY1zhBYw2KhdUfwVJJE"}`)
	client := &wechat.Client{
		BaseURL: "http://wechat.invalid",
		Logger:  slog.New(slog.DiscardHandler),
		HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
		})},
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.Code2Session(ctx, devApp1, "0a1b2c3d4e5f"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEmulatorTokenErrors walks the client's answers to a rejected access
// token against the emulator: an expired token (42001, which the emulator
// answers on its own once its clock passes the token's life) is replaced
// and the call retried; an injected 40014, after which stable_token hands
// back the same token, is returned rather than retried in vain.
func TestEmulatorTokenErrors(t *testing.T) {
	t.Parallel()
	e := newEmulated(t)
	ctx := t.Context()
	s, err := e.client.Code2Session(ctx, devApp1, e.login(t, devApp1, "judy"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.client.CheckSessionKey(ctx, devApp1, s.OpenID, s.SessionKey); err != nil {
		t.Fatal(err)
	}
	tokens := e.calls(emulator.APIStableToken)

	// Only WeChat's clock moves: the client still trusts its cached token.
	e.emu.Advance(2*time.Hour + time.Minute)
	if err := e.client.CheckSessionKey(ctx, devApp1, s.OpenID, s.SessionKey); err != nil {
		t.Fatalf("after the token expired at WeChat: %v, want a renewed token and success", err)
	}
	st := e.emu.Stats().APIs[emulator.APICheckSession]
	if st.ErrCodes["42001"] != 1 || st.ErrCodes["0"] != 2 || e.calls(emulator.APIStableToken) != tokens+1 {
		t.Errorf("checksession errcodes %v, stable_token calls %d→%d; want one 42001, a renewal and a retry",
			st.ErrCodes, tokens, e.calls(emulator.APIStableToken))
	}

	e.fault(t, map[string]any{"api": emulator.APICheckSession, "count": 1, "errcode": 40014})
	before := e.calls(emulator.APICheckSession)
	err = e.client.CheckSessionKey(ctx, devApp1, s.OpenID, s.SessionKey)
	var we *wechat.Error
	if !errors.As(err, &we) || we.ErrCode != 40014 || wechat.Classify(err) != wechat.KindToken {
		t.Fatalf("injected 40014: %v, want the 40014 token error", err)
	}
	if got := e.calls(emulator.APICheckSession) - before; got != 1 {
		t.Errorf("checksession called %d times after 40014, want 1: stable_token gave the same token back", got)
	}
	if got := e.calls(emulator.APIStableToken); got != tokens+2 {
		t.Errorf("stable_token calls = %d, want %d (one renewal attempt)", got, tokens+2)
	}
}
