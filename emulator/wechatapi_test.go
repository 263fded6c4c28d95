package emulator_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

func TestJSCode2SessionErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if err := f.em.AgreePrivacy(app1, "alice"); err != nil { // today's WeChat asks first
		t.Fatal(err)
	}
	phone, err := f.em.Phone(app1, "alice")
	if err != nil {
		t.Fatal(err)
	}
	otherApp := f.login(t, app2, "alice")
	tests := []struct {
		name string
		q    url.Values
		want int
	}{
		{"missing appid", url.Values{"secret": {secret1}, "js_code": {"x"}, "grant_type": {"authorization_code"}}, 41002},
		{"missing secret", url.Values{"appid": {app1}, "js_code": {"x"}, "grant_type": {"authorization_code"}}, 41004},
		{"unknown appid", url.Values{"appid": {"wx0000000000000000"}, "secret": {secret1}, "js_code": {"x"}, "grant_type": {"authorization_code"}}, 40013},
		{"wrong secret", url.Values{"appid": {app1}, "secret": {secret2}, "js_code": {"x"}, "grant_type": {"authorization_code"}}, 40125},
		{"wrong grant_type", url.Values{"appid": {app1}, "secret": {secret1}, "js_code": {"x"}, "grant_type": {"client_credential"}}, 40002},
		{"missing code", url.Values{"appid": {app1}, "secret": {secret1}, "grant_type": {"authorization_code"}}, 41008},
		{"unknown code", url.Values{"appid": {app1}, "secret": {secret1}, "js_code": {"nope"}, "grant_type": {"authorization_code"}}, 40029},
		{"phone code", url.Values{"appid": {app1}, "secret": {secret1}, "js_code": {phone.Code}, "grant_type": {"authorization_code"}}, 40029},
		{"code of another app", url.Values{"appid": {app1}, "secret": {secret1}, "js_code": {otherApp}, "grant_type": {"authorization_code"}}, 40029},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := f.wx(t, "GET", "/sns/jscode2session", tt.q, nil)
			if a.ErrCode != tt.want || a.SessionKey != "" || a.OpenID != "" {
				t.Errorf("answer %+v, want errcode %d and no session", a, tt.want)
			}
		})
	}
}

func TestCodeSingleUseAndExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		advance time.Duration
		want    int
	}{
		{"fresh", 0, 0},
		{"just before five minutes", 5*time.Minute - time.Second, 0},
		{"at five minutes", 5 * time.Minute, 40029},
		{"an hour later", time.Hour, 40029},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			code := f.login(t, app1, "alice")
			f.em.Advance(tt.advance)
			if got := f.session(t, app1, secret1, code).ErrCode; got != tt.want {
				t.Fatalf("first use: errcode %d, want %d", got, tt.want)
			}
			if tt.want != 0 {
				return
			}
			if got := f.session(t, app1, secret1, code).ErrCode; got != 40163 {
				t.Errorf("second use: errcode %d, want 40163", got)
			}
		})
	}
}

func TestLoginRotatesSessionKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := f.session(t, app1, secret1, f.login(t, app1, "alice"))
	second := f.session(t, app1, secret1, f.login(t, app1, "alice"))
	if first.SessionKey == "" || first.SessionKey == second.SessionKey {
		t.Fatalf("session keys %q then %q: want two different keys", first.SessionKey, second.SessionKey)
	}
	if first.OpenID != second.OpenID {
		t.Errorf("openid changed across logins: %q then %q", first.OpenID, second.OpenID)
	}
	if cur, _ := f.em.SessionKey(app1, "alice"); cur != second.SessionKey {
		t.Errorf("current key is not the latest login's")
	}
	tok := f.token(t, app1, secret1)
	for _, tc := range []struct {
		name string
		key  string
		want int
	}{
		{"previous key is dead", first.SessionKey, 87009},
		{"latest key works", second.SessionKey, 0},
	} {
		a := f.wx(t, "GET", "/wxa/checksession", url.Values{"access_token": {tok}, "openid": {second.OpenID},
			"signature": {wxcrypt.LoginStateSignature(tc.key, "")}, "sig_method": {"hmac_sha256"}}, nil)
		if a.ErrCode != tc.want {
			t.Errorf("%s: errcode %d, want %d", tc.name, a.ErrCode, tc.want)
		}
	}
}

func TestIdentities(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	got := map[string]wxAnswer{}
	for _, c := range []struct{ app, secret, user string }{
		{app1, secret1, "alice"}, {app2, secret2, "alice"}, {app3, secret3, "alice"}, {app1, secret1, "bob"},
	} {
		a := f.session(t, c.app, c.secret, f.login(t, c.app, c.user))
		if a.ErrCode != 0 || a.OpenID == "" || a.SessionKey == "" {
			t.Fatalf("%s/%s: %+v", c.app, c.user, a)
		}
		got[c.app+"/"+c.user] = a
	}
	a1, a2, a3, b1 := got[app1+"/alice"], got[app2+"/alice"], got[app3+"/alice"], got[app1+"/bob"]
	if a1.UnionID == "" || a1.UnionID != a2.UnionID {
		t.Errorf("alice's unionids in the two bound apps: %q, %q; want one non-empty value", a1.UnionID, a2.UnionID)
	}
	if a3.UnionID != "" {
		t.Errorf("unbound app gave unionid %q", a3.UnionID)
	}
	if b1.UnionID == a1.UnionID {
		t.Errorf("alice and bob share unionid %q", a1.UnionID)
	}
	if a1.OpenID == a2.OpenID || a1.OpenID == a3.OpenID || a1.OpenID == b1.OpenID {
		t.Errorf("openids are not per (app, user): %q %q %q %q", a1.OpenID, a2.OpenID, a3.OpenID, b1.OpenID)
	}
	id, err := f.em.Identity(app1, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(emulator.Identity{OpenID: a1.OpenID, UnionID: a1.UnionID}, id); diff != "" {
		t.Errorf("Identity (-want +got):\n%s", diff)
	}
	// A second emulator derives the same identities: a dev database stays
	// meaningful across restarts.
	id2, _ := emulator.New().Identity(app1, "alice")
	if id2 != id {
		t.Errorf("identity not stable across emulators: %+v vs %+v", id2, id)
	}
}

func TestCgiBinToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	paid := func(tok string) int {
		id, _ := f.em.Identity(app1, "alice")
		return f.wx(t, "GET", "/wxa/getpaidunionid", url.Values{"access_token": {tok}, "openid": {id.OpenID}}, nil).ErrCode
	}
	f.login(t, app1, "alice")

	errs := []struct {
		name string
		q    url.Values
		want int
	}{
		{"wrong grant_type", url.Values{"grant_type": {"authorization_code"}, "appid": {app1}, "secret": {secret1}}, 40002},
		{"wrong secret", url.Values{"grant_type": {"client_credential"}, "appid": {app1}, "secret": {"x"}}, 40125},
		{"unknown appid", url.Values{"grant_type": {"client_credential"}, "appid": {"wxnope"}, "secret": {secret1}}, 40013},
	}
	for _, tt := range errs {
		if a := f.wx(t, "GET", "/cgi-bin/token", tt.q, nil); a.ErrCode != tt.want || a.AccessToken != "" {
			t.Errorf("%s: %+v, want errcode %d", tt.name, a, tt.want)
		}
	}

	a := f.wx(t, "GET", "/cgi-bin/token", url.Values{"grant_type": {"client_credential"}, "appid": {app1}, "secret": {secret1}}, nil)
	if a.ExpiresIn != 7200 {
		t.Errorf("expires_in %d, want 7200", a.ExpiresIn)
	}
	old := a.AccessToken
	f.em.Advance(time.Minute)
	fresh := f.token(t, app1, secret1)
	if fresh == old {
		t.Fatal("cgi-bin/token returned the same token twice")
	}
	if got := paid(old); got != 0 {
		t.Errorf("old token within the grace period: errcode %d, want 0", got)
	}
	f.em.Advance(5 * time.Minute)
	if got := paid(old); got != 40001 {
		t.Errorf("old token after the grace period: errcode %d, want 40001", got)
	}
	if got := paid(fresh); got != 0 {
		t.Errorf("latest token: errcode %d, want 0", got)
	}
	f.em.Advance(7200*time.Second - 5*time.Minute)
	if got := paid(fresh); got != 42001 {
		t.Errorf("token after 7200 s: errcode %d, want 42001", got)
	}
	for name, q := range map[string]url.Values{
		"missing": {"openid": {"x"}},
		"unknown": {"access_token": {"nope"}, "openid": {"x"}},
	} {
		want := map[string]int{"missing": 41001, "unknown": 40001}[name]
		if a := f.wx(t, "GET", "/wxa/getpaidunionid", q, nil); a.ErrCode != want {
			t.Errorf("%s access_token: errcode %d, want %d", name, a.ErrCode, want)
		}
	}
	// A token of one app does not work for another app's users.
	id3, _ := f.em.Identity(app3, "alice")
	f.login(t, app3, "alice")
	if a := f.wx(t, "GET", "/wxa/getpaidunionid", url.Values{"access_token": {f.token(t, app1, secret1)}, "openid": {id3.OpenID}}, nil); a.ErrCode != 40003 {
		t.Errorf("openid of another app: errcode %d, want 40003", a.ErrCode)
	}
}

func TestStableToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	valid := func(tok string) int {
		return f.wx(t, "POST", "/wxa/business/getuserphonenumber", url.Values{"access_token": {tok}}, map[string]string{"code": "none"}).ErrCode
	}
	const unknownCode = 40029 // a valid token gets as far as the code

	first := f.stable(t, app1, secret1, false)
	if first.ErrCode != 0 || first.AccessToken == "" || first.ExpiresIn != 7200 {
		t.Fatalf("stable_token: %+v", first)
	}
	f.em.Advance(time.Hour)
	again := f.stable(t, app1, secret1, false)
	if again.AccessToken != first.AccessToken || again.ExpiresIn != 7200-3600 {
		t.Errorf("stable_token an hour later: %+v, want the same token expiring in 3600 s", again)
	}
	// cgi-bin/token does not touch the stable token.
	cgi := f.token(t, app1, secret1)
	f.token(t, app1, secret1)
	if cgi == first.AccessToken {
		t.Fatal("cgi-bin/token returned the stable token")
	}
	if got := valid(first.AccessToken); got != unknownCode {
		t.Errorf("stable token after cgi-bin/token calls: errcode %d", got)
	}

	// Within 5 minutes of expiry a new token comes; the old one lives on.
	f.em.Advance(3600*time.Second - 4*time.Minute)
	renewed := f.stable(t, app1, secret1, false)
	if renewed.AccessToken == first.AccessToken || renewed.ExpiresIn != 7200 {
		t.Errorf("stable_token near expiry: %+v, want a new token", renewed)
	}
	if got := valid(first.AccessToken); got != unknownCode {
		t.Errorf("old stable token before its expiry: errcode %d", got)
	}
	f.em.Advance(4 * time.Minute)
	if got := valid(first.AccessToken); got != 42001 {
		t.Errorf("old stable token after its expiry: errcode %d, want 42001", got)
	}

	// force_refresh: a new token, the previous one dead at once, 30 s apart.
	forced := f.stable(t, app1, secret1, true)
	if forced.ErrCode != 0 || forced.AccessToken == renewed.AccessToken {
		t.Fatalf("force_refresh: %+v", forced)
	}
	if got := valid(renewed.AccessToken); got != 40001 {
		t.Errorf("token replaced by force_refresh: errcode %d, want 40001", got)
	}
	f.em.Advance(29 * time.Second)
	if got := f.stable(t, app1, secret1, true).ErrCode; got != 45011 {
		t.Errorf("force_refresh 29 s later: errcode %d, want 45011", got)
	}
	if got := f.stable(t, app1, secret1, false).AccessToken; got != forced.AccessToken {
		t.Errorf("plain call after force_refresh returned another token")
	}
	for i := 2; i <= 20; i++ {
		f.em.Advance(30 * time.Second)
		if a := f.stable(t, app1, secret1, true); a.ErrCode != 0 {
			t.Fatalf("force_refresh #%d: %+v", i, a)
		}
	}
	f.em.Advance(30 * time.Second)
	if got := f.stable(t, app1, secret1, true).ErrCode; got != 45009 {
		t.Errorf("21st force_refresh of the day: errcode %d, want 45009", got)
	}
	f.em.Advance(24 * time.Hour)
	if got := f.stable(t, app1, secret1, true).ErrCode; got != 0 {
		t.Errorf("force_refresh the next day: errcode %d, want 0", got)
	}
}

func TestStableTokenRequestErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name string
		body any
		want int
	}{
		{"empty body", "", 44002},
		{"not JSON", "appid=x", 47001},
		{"wrong grant_type", map[string]any{"grant_type": "x", "appid": app1, "secret": secret1}, 40002},
		{"missing appid", map[string]any{"grant_type": "client_credential", "secret": secret1}, 41002},
		{"wrong secret", map[string]any{"grant_type": "client_credential", "appid": app1, "secret": secret2}, 40125},
		{"unknown appid", map[string]any{"grant_type": "client_credential", "appid": "wxnope", "secret": secret1}, 40013},
		{"force_refresh not a bool", map[string]any{"grant_type": "client_credential", "appid": app1, "secret": secret1, "force_refresh": "yes"}, 47001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if a := f.wx(t, "POST", "/cgi-bin/stable_token", nil, tt.body); a.ErrCode != tt.want {
				t.Errorf("errcode %d, want %d (%s)", a.ErrCode, tt.want, a.ErrMsg)
			}
		})
	}
}

func TestCheckSessionAndReset(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.session(t, app1, secret1, f.login(t, app1, "alice"))
	tok := f.token(t, app1, secret1)
	raw, _ := base64.StdEncoding.DecodeString(s.SessionKey)
	m := hmac.New(sha256.New, raw)
	decodedKeySig := hex.EncodeToString(m.Sum(nil))
	right := wxcrypt.LoginStateSignature(s.SessionKey, "")
	id3, _ := f.em.Identity(app3, "alice")
	f.login(t, app3, "alice")

	tests := []struct {
		name string
		q    url.Values
		want int
	}{
		{"right key form", url.Values{"openid": {s.OpenID}, "signature": {right}, "sig_method": {"hmac_sha256"}}, 0},
		{"upper-case hex", url.Values{"openid": {s.OpenID}, "signature": {strings.ToUpper(right)}, "sig_method": {"hmac_sha256"}}, 0},
		{"decoded key bytes (the SDK bug)", url.Values{"openid": {s.OpenID}, "signature": {decodedKeySig}, "sig_method": {"hmac_sha256"}}, 87009},
		{"no signature", url.Values{"openid": {s.OpenID}, "sig_method": {"hmac_sha256"}}, 87009},
		{"bad sig_method", url.Values{"openid": {s.OpenID}, "signature": {right}, "sig_method": {"sha1"}}, 87008},
		{"missing openid", url.Values{"signature": {right}, "sig_method": {"hmac_sha256"}}, 41009},
		{"unknown openid", url.Values{"openid": {"onope"}, "signature": {right}, "sig_method": {"hmac_sha256"}}, 40003},
		{"openid of another app", url.Values{"openid": {id3.OpenID}, "signature": {right}, "sig_method": {"hmac_sha256"}}, 40003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.q.Set("access_token", tok)
			if a := f.wx(t, "GET", "/wxa/checksession", tt.q, nil); a.ErrCode != tt.want {
				t.Errorf("errcode %d, want %d (%s)", a.ErrCode, tt.want, a.ErrMsg)
			}
		})
	}
	t.Run("reset", func(t *testing.T) {
		f := newFixture(t)
		s := f.session(t, app1, secret1, f.login(t, app1, "bob"))
		tok := f.token(t, app1, secret1)
		q := url.Values{"access_token": {tok}, "openid": {s.OpenID}, "sig_method": {"hmac_sha256"},
			"signature": {wxcrypt.LoginStateSignature(s.SessionKey, "")}}
		r := f.wx(t, "GET", "/wxa/resetusersessionkey", q, nil)
		if r.ErrCode != 0 || r.OpenID != s.OpenID || r.SessionKey == "" || r.SessionKey == s.SessionKey {
			t.Fatalf("reset: %+v", r)
		}
		if got := f.wx(t, "GET", "/wxa/checksession", q, nil).ErrCode; got != 87009 {
			t.Errorf("checksession with the key before reset: %d, want 87009", got)
		}
		q.Set("signature", wxcrypt.LoginStateSignature(r.SessionKey, ""))
		if got := f.wx(t, "GET", "/wxa/checksession", q, nil).ErrCode; got != 0 {
			t.Errorf("checksession with the reset key: %d, want 0", got)
		}
		if valid, _ := f.em.SessionKeyValid(app1, "bob"); !valid {
			t.Error("device login state lost by a reset")
		}
	})
}

func TestGetUserPhoneNumber(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// The server API is the subject; the privacy popup on the devices of
	// the several users below is tested in device_test.go.
	f.em.Configure(func(e *emulator.Emulator) { e.NoPrivacyCheck = true })
	if err := f.em.UpdateUser("alice", func(u *emulator.User) { u.PhoneNumber, u.CountryCode = "2025550123", "1" }); err != nil {
		t.Fatal(err)
	}
	tok := f.token(t, app1, secret1)
	call := func(body any) wxAnswer {
		return f.wx(t, "POST", "/wxa/business/getuserphonenumber", url.Values{"access_token": {tok}}, body)
	}
	p, err := f.em.Phone(app1, "alice")
	if err != nil || p.Code == "" {
		t.Fatalf("Phone: %+v, %v", p, err)
	}
	id, _ := f.em.Identity(app1, "alice")

	got := call(map[string]string{"code": p.Code, "openid": id.OpenID})
	if got.ErrCode != 0 || got.PhoneInfo == nil {
		t.Fatalf("getuserphonenumber: %+v", got)
	}
	want := *got.PhoneInfo
	want.PhoneNumber, want.PurePhoneNumber, want.CountryCode = "+1 2025550123", "2025550123", "1"
	want.Watermark.AppID, want.Watermark.Timestamp = app1, t0.Unix()
	if diff := cmp.Diff(want, *got.PhoneInfo); diff != "" {
		t.Errorf("phone_info (-want +got):\n%s", diff)
	}

	other, _ := f.em.Phone(app1, "bob")
	expiring, _ := f.em.Phone(app1, "carol")
	tests := []struct {
		name string
		body any
		want int
	}{
		{"reused code", map[string]string{"code": p.Code}, 40163},
		{"login code", map[string]string{"code": f.login(t, app1, "alice")}, 40029},
		{"unknown code", map[string]string{"code": "x"}, 40029},
		{"missing code", map[string]string{}, 41008},
		{"empty body", "", 44002},
		{"not JSON", "code=x", 47001},
		{"openid of someone else", map[string]string{"code": other.Code, "openid": id.OpenID}, 40003},
	}
	for _, tt := range tests {
		if a := call(tt.body); a.ErrCode != tt.want {
			t.Errorf("%s: errcode %d, want %d", tt.name, a.ErrCode, tt.want)
		}
	}
	f.em.Advance(5 * time.Minute)
	if a := call(map[string]string{"code": expiring.Code}); a.ErrCode != 40029 {
		t.Errorf("expired phone code: errcode %d, want 40029", a.ErrCode)
	}
	otherTok := f.token(t, app2, secret2)
	p2, _ := f.em.Phone(app1, "dave")
	if a := f.wx(t, "POST", "/wxa/business/getuserphonenumber", url.Values{"access_token": {otherTok}}, map[string]string{"code": p2.Code}); a.ErrCode != 40029 {
		t.Errorf("phone code of another app: errcode %d, want 40029", a.ErrCode)
	}
}

func TestGetPaidUnionID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct {
		app, secret string
		want        int
	}{{app1, secret1, 0}, {app3, secret3, 89002}} {
		f.login(t, tc.app, "alice")
		id, _ := f.em.Identity(tc.app, "alice")
		a := f.wx(t, "GET", "/wxa/getpaidunionid", url.Values{"access_token": {f.token(t, tc.app, tc.secret)}, "openid": {id.OpenID}}, nil)
		if a.ErrCode != tc.want || a.UnionID != id.UnionID {
			t.Errorf("%s: %+v, want errcode %d unionid %q", tc.app, a, tc.want, id.UnionID)
		}
	}
}

func TestRateLimitKnobs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.em.LoginsPerSecond = 4
	f.em.Code2SessionPerMinute = 2
	var codes []string
	for range 4 {
		codes = append(codes, f.login(t, app1, "alice"))
	}
	status, env := f.device(t, "POST", "/emulator/v1/login", map[string]string{"appid": app1, "user": "alice"}, nil)
	if status != 429 || env.Error.Code != "rate_limited" {
		t.Errorf("fifth login in a second: %d %+v, want 429 rate_limited", status, env)
	}
	f.login(t, app1, "bob") // per user
	f.em.Advance(time.Second)
	codes = append(codes, f.login(t, app1, "alice"))

	for i, want := range []int{0, 0, 45011} {
		if got := f.session(t, app1, secret1, codes[i]).ErrCode; got != want {
			t.Errorf("jscode2session #%d: errcode %d, want %d", i+1, got, want)
		}
	}
	f.em.Advance(time.Minute)
	if got := f.session(t, app1, secret1, codes[2]).ErrCode; got != 0 {
		t.Errorf("a refused code works the next minute: errcode %d, want 0", got)
	}
}

// TestRateLimitsOffByDefault checks that WeChat's own limits (wx.login 4/s,
// jscode2session 100 per user and minute) stay off unless switched on: the
// frozen clock puts every call in the same second.
func TestRateLimitsOffByDefault(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const n = 120
	codes := make([]string, n)
	for i := range codes {
		codes[i] = f.login(t, app1, "alice")
	}
	for i, code := range codes {
		if a := f.session(t, app1, secret1, code); a.ErrCode != 0 {
			t.Fatalf("jscode2session #%d in the same second: errcode %d, want 0", i+1, a.ErrCode)
		}
	}
}

// TestZeroValueServes runs the login flow against a zero Emulator behind
// httptest: no constructor, no knob, the dev apps and the real clock.
func TestZeroValueServes(t *testing.T) {
	t.Parallel()
	em := &emulator.Emulator{}
	f := &fixture{em: em, srv: httptest.NewServer(em)}
	t.Cleanup(f.srv.Close)

	var apps []emulator.App
	if status, env := f.device(t, "GET", "/emulator/v1/apps", nil, &apps); status != 200 {
		t.Fatalf("apps: %d %+v", status, env)
	}
	if diff := cmp.Diff(emulator.DevApps(), apps); diff != "" {
		t.Errorf("apps (-want +got):\n%s", diff)
	}
	s := f.session(t, app1, secret1, f.login(t, app1, "alice"))
	id, _ := em.Identity(app1, "alice")
	if s.ErrCode != 0 || s.OpenID != id.OpenID || s.UnionID != id.UnionID || s.UnionID == "" || s.SessionKey == "" {
		t.Errorf("jscode2session: %+v, want alice's ids %+v and a session_key", s, id)
	}
	var session struct{ Valid bool }
	f.device(t, "GET", "/emulator/v1/session?appid="+app1+"&user=alice", nil, &session)
	if !session.Valid {
		t.Error("checkSession after a login: not valid")
	}
	if unknown := em.Stats().UnknownRoutes; len(unknown) != 0 {
		t.Errorf("unknown routes hit: %v", unknown)
	}
}

func TestPhoneOverHTTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var p emulator.PhoneNumber
	// "privacy": "agree" answers today's privacy popup on the way.
	if status, env := f.device(t, "POST", "/emulator/v1/phone", map[string]string{"appid": app1, "user": "alice", "privacy": "agree"}, &p); status != 200 {
		t.Fatalf("phone: %d %+v", status, env)
	}
	if p.Code == "" || p.EncryptedData != "" {
		t.Errorf("phone before any login: %+v, want a code and no encryptedData", p)
	}
	a := f.wx(t, "POST", "/wxa/business/getuserphonenumber", url.Values{"access_token": {f.token(t, app1, secret1)}}, map[string]string{"code": p.Code})
	u, _ := f.em.User("alice")
	if a.ErrCode != 0 || a.PhoneInfo.PurePhoneNumber != u.PhoneNumber || len(u.PhoneNumber) != 11 || a.PhoneInfo.CountryCode != "86" {
		t.Errorf("getuserphonenumber: %+v, want alice's number %q", a, u.PhoneNumber)
	}
}

func TestBlockedUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if status, env := f.device(t, "PUT", "/emulator/v1/users/mallory", map[string]any{"blocked": true}, nil); status != 200 {
		t.Fatalf("PUT: %d %+v", status, env)
	}
	code := f.login(t, app1, "mallory")
	if a := f.session(t, app1, secret1, code); a.ErrCode != 40226 || a.SessionKey != "" {
		t.Errorf("blocked user: %+v, want 40226", a)
	}
	f.em.UpdateUser("mallory", func(u *emulator.User) { u.Blocked = false })
	if a := f.session(t, app1, secret1, code); a.ErrCode != 0 {
		t.Errorf("unblocked user: %+v, want success", a)
	}
}
