package emulator_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/png"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

// open decrypts a payload as the server would, with the user's current key
// and a watermark check against the emulator's clock.
func open(t *testing.T, f *fixture, appid, user, data, iv string, p wxcrypt.Payload) {
	t.Helper()
	key, err := f.em.SessionKey(appid, user)
	if err != nil {
		t.Fatal(err)
	}
	o := wxcrypt.Opener{AppID: appid, MaxAge: time.Minute, Now: f.em.Time}
	if reason, err := o.Open(key, data, iv, p); err != nil {
		t.Fatalf("decrypt with the current key: %v (%s)", err, reason)
	}
}

func TestUserInfo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if err := f.em.SetUser("alice", emulator.User{NickName: "Alice", AvatarURL: "https://a.example/1.png", Gender: 2,
		City: "Hangzhou", Province: "Zhejiang", Country: "China", Language: "en", PhoneNumber: "13800000000", CountryCode: "86", BaseLibrary: "2.10.0"}); err != nil {
		t.Fatal(err)
	}
	req := map[string]string{"appid": app1, "user": "alice"}
	if status, env := f.device(t, "POST", "/emulator/v1/userinfo", req, nil); status != 401 || env.Error.Code != wxlogin.ESessionInvalid {
		t.Errorf("userinfo before login: %d %+v, want 401 session_invalid", status, env)
	}
	f.login(t, app1, "alice")
	var c emulator.Credentials
	if status, env := f.device(t, "POST", "/emulator/v1/userinfo", req, &c); status != 200 {
		t.Fatalf("userinfo: %d %+v", status, env)
	}
	// A 2018 device still gets the real nickname and avatar, but not
	// the gender and region Alice set: WeChat stopped sharing them in 2023.
	wantInfo := emulator.UserInfo{NickName: "Alice", Language: "en", AvatarURL: "https://a.example/1.png"}
	if diff := cmp.Diff(wantInfo, c.UserInfo); diff != "" {
		t.Errorf("userInfo (-want +got):\n%s", diff)
	}
	key, _ := f.em.SessionKey(app1, "alice")
	if !wxcrypt.VerifySignature(c.RawData, key, c.Signature) {
		t.Error("signature does not verify with the current session_key")
	}
	var raw emulator.UserInfo
	if err := json.Unmarshal([]byte(c.RawData), &raw); err != nil || raw != wantInfo {
		t.Errorf("rawData %s does not carry the user info", c.RawData)
	}
	var p wxcrypt.UserInfo
	open(t, f, app1, "alice", c.EncryptedData, c.IV, &p)
	id, _ := f.em.Identity(app1, "alice")
	if p.OpenID != id.OpenID || p.UnionID != id.UnionID || p.UnionID == "" || p.NickName != "Alice" || p.Watermark.Timestamp != t0.Unix() {
		t.Errorf("payload %+v, want alice's openId %q and unionId %q", p, id.OpenID, id.UnionID)
	}
	settings, _ := f.em.Settings(app1, "alice")
	if !settings["scope.userInfo"] {
		t.Errorf("settings after the getUserInfo button: %v, want scope.userInfo granted", settings)
	}

	// The payload is bound to the key of the login before it.
	f.login(t, app1, "alice")
	key2, _ := f.em.SessionKey(app1, "alice")
	var stale wxcrypt.UserInfo
	if _, err := (wxcrypt.Opener{AppID: app1}).Open(key2, c.EncryptedData, c.IV, &stale); err == nil {
		t.Error("user info of the previous login opens with the new session_key")
	}
	if wxcrypt.VerifySignature(c.RawData, key2, c.Signature) {
		t.Error("user info of the previous login verifies with the new session_key")
	}

	// An unbound app has no unionId inside.
	f.login(t, app3, "alice")
	c3, err := f.em.UserInfo(app3, "alice")
	if err != nil {
		t.Fatal(err)
	}
	var p3 wxcrypt.UserInfo
	open(t, f, app3, "alice", c3.EncryptedData, c3.IV, &p3)
	if p3.UnionID != "" || p3.OpenID == "" {
		t.Errorf("unbound app payload: openId %q unionId %q", p3.OpenID, p3.UnionID)
	}
}

func TestProfileByBaseLibrary(t *testing.T) {
	t.Parallel()
	named := emulator.UserInfo{NickName: "Bob", Language: "zh_CN", AvatarURL: "https://b.example/b.png"}
	anonymous := emulator.UserInfo{NickName: "微信用户", Language: "zh_CN", AvatarURL: emulator.AnonymousAvatarURL}
	tests := []struct {
		name, lib string
		want      emulator.UserInfo
	}{
		{"2018 device", "2.10.4", named},
		{"just before the recall", "2.27.0", named},
		{"the recall", "2.27.1", anonymous},
		{"default device", "", anonymous},
		{"current", "3.5.0", anonymous},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.em.UpdateUser("bob", func(u *emulator.User) {
				u.NickName, u.AvatarURL, u.BaseLibrary = "Bob", "https://b.example/b.png", tt.lib
			})
			f.login(t, app1, "bob")
			var c emulator.Credentials
			if status, env := f.device(t, "POST", "/emulator/v1/profile", map[string]string{"appid": app1, "user": "bob", "desc": "show it", "privacy": "agree"}, &c); status != 200 {
				t.Fatalf("profile: %d %+v", status, env)
			}
			if diff := cmp.Diff(tt.want, c.UserInfo); diff != "" {
				t.Errorf("userInfo (-want +got):\n%s", diff)
			}
			var p wxcrypt.Any
			open(t, f, app1, "bob", c.EncryptedData, c.IV, &p)
			var fields map[string]any
			json.Unmarshal(p.Raw, &fields)
			if _, ok := fields["openId"]; ok {
				t.Errorf("getUserProfile payload carries openId: %s", p.Raw)
			}
			if _, ok := fields["unionId"]; ok {
				t.Errorf("getUserProfile payload carries unionId: %s", p.Raw)
			}
			if fields["nickName"] != tt.want.NickName {
				t.Errorf("payload nickName %v, want %q", fields["nickName"], tt.want.NickName)
			}
		})
	}
	t.Run("before getUserProfile existed", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.em.UpdateUser("old", func(u *emulator.User) { u.BaseLibrary = "2.9.0" })
		f.login(t, app1, "old")
		if status, env := f.device(t, "POST", "/emulator/v1/profile", map[string]string{"appid": app1, "user": "old"}, nil); status != 501 || env.Error.Code != emulator.ENotSupported {
			t.Errorf("%d %+v, want 501 not_supported", status, env)
		}
	})
}

func TestScopes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	type step struct {
		name         string
		method, path string
		body         any
		wantStatus   int
		wantCode     string
		wantPrompted bool
		wantSettings map[string]bool
	}
	auth := func(scope string, accept bool) map[string]any {
		return map[string]any{"appid": app1, "user": "alice", "scope": scope, "accept": accept}
	}
	set := func(s map[string]bool) map[string]any {
		return map[string]any{"appid": app1, "user": "alice", "authSetting": s}
	}
	steps := []step{
		{"nothing asked yet", "GET", "", nil, 200, "", false, map[string]bool{}},
		{"prompt, accepted", "POST", "/emulator/v1/authorize", auth("scope.camera", true), 200, "", true, map[string]bool{"scope.camera": true}},
		{"granted: no prompt", "POST", "/emulator/v1/authorize", auth("scope.camera", false), 200, "", false, map[string]bool{"scope.camera": true}},
		{"prompt, refused", "POST", "/emulator/v1/authorize", auth("scope.werun", false), 403, emulator.EScopeDenied, false, map[string]bool{"scope.camera": true, "scope.werun": false}},
		{"refused: fails without prompt", "POST", "/emulator/v1/authorize", auth("scope.werun", true), 403, emulator.EScopeDenied, false, map[string]bool{"scope.camera": true, "scope.werun": false}},
		{"accept defaults to yes", "POST", "/emulator/v1/authorize", map[string]any{"appid": app1, "user": "alice", "scope": "scope.bluetooth"}, 200, "", true, map[string]bool{"scope.camera": true, "scope.werun": false, "scope.bluetooth": true}},
		{"userInfo cannot be authorized", "POST", "/emulator/v1/authorize", auth("scope.userInfo", true), 400, wxlogin.EInvalidRequest, false, map[string]bool{"scope.camera": true, "scope.werun": false, "scope.bluetooth": true}},
		{"unknown scope", "POST", "/emulator/v1/authorize", auth("scope.mind", true), 400, wxlogin.EInvalidRequest, false, map[string]bool{"scope.camera": true, "scope.werun": false, "scope.bluetooth": true}},
		{"openSetting cannot add a scope never asked", "POST", "/emulator/v1/settings", set(map[string]bool{"scope.werun": true, "scope.record": true}), 400, wxlogin.EInvalidRequest, false, map[string]bool{"scope.camera": true, "scope.werun": false, "scope.bluetooth": true}},
		{"openSetting flips a refused scope", "POST", "/emulator/v1/settings", set(map[string]bool{"scope.werun": true, "scope.camera": false}), 200, "", false, map[string]bool{"scope.camera": false, "scope.werun": true, "scope.bluetooth": true}},
		{"now granted", "POST", "/emulator/v1/authorize", auth("scope.werun", false), 200, "", false, map[string]bool{"scope.camera": false, "scope.werun": true, "scope.bluetooth": true}},
		{"unknown app", "POST", "/emulator/v1/authorize", map[string]any{"appid": "wxnope", "user": "alice", "scope": "scope.camera"}, 400, wxlogin.EUnknownApp, false, map[string]bool{"scope.camera": false, "scope.werun": true, "scope.bluetooth": true}},
	}
	for _, s := range steps {
		if s.path != "" {
			var out struct{ Prompted bool }
			status, env := f.device(t, s.method, s.path, s.body, &out)
			if status != s.wantStatus || env.Error.Code != s.wantCode || out.Prompted != s.wantPrompted {
				t.Errorf("%s: %d %+v prompted %v, want %d %q prompted %v", s.name, status, env, out.Prompted, s.wantStatus, s.wantCode, s.wantPrompted)
			}
		}
		var got struct {
			AuthSetting map[string]bool `json:"authSetting"`
		}
		f.device(t, "GET", "/emulator/v1/settings?"+url.Values{"appid": {app1}, "user": {"alice"}}.Encode(), nil, &got)
		if diff := cmp.Diff(s.wantSettings, got.AuthSetting); diff != "" {
			t.Errorf("%s: settings (-want +got):\n%s", s.name, diff)
		}
	}
	// The refusal of the popup itself reports the prompt.
	prompted, err := f.em.Authorize(app1, "bob", "scope.record", false)
	if !prompted || !errors.Is(err, &emulator.DeviceError{Code: emulator.EScopeDenied}) {
		t.Errorf("refused popup: prompted %v err %v", prompted, err)
	}
}

func TestWeRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login(t, app1, "alice")
	var enc emulator.Encrypted
	if status, env := f.device(t, "POST", "/emulator/v1/werun", map[string]string{"appid": app1, "user": "alice", "privacy": "agree"}, &enc); status != 200 {
		t.Fatalf("werun: %d %+v", status, env)
	}
	var w wxcrypt.WeRun
	open(t, f, app1, "alice", enc.EncryptedData, enc.IV, &w)
	if len(w.StepInfoList) != 30 {
		t.Fatalf("%d days of steps, want 30", len(w.StepInfoList))
	}
	// t0 is 18:00 in Beijing: the last entry is that day's midnight there.
	today := time.Date(2026, 3, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)).Unix()
	for i, s := range w.StepInfoList {
		if want := today - int64(29-i)*86400; s.Timestamp != want || s.Step < 0 {
			t.Errorf("day %d: %+v, want timestamp %d", i, s, want)
		}
	}
	settings, _ := f.em.Settings(app1, "alice")
	if diff := cmp.Diff(map[string]bool{"scope.werun": true}, settings); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}

	f.login(t, app1, "bob")
	for i, tc := range []struct {
		accept bool
		want   int
	}{{false, 403}, {true, 403}} {
		if status, env := f.device(t, "POST", "/emulator/v1/werun", map[string]any{"appid": app1, "user": "bob", "accept": tc.accept, "privacy": "agree"}, nil); status != tc.want || env.Error.Code != emulator.EScopeDenied {
			t.Errorf("bob's werun #%d: %d %+v, want %d scope_denied", i+1, status, env, tc.want)
		}
	}
	if _, err := f.em.OpenSetting(app1, "bob", map[string]bool{"scope.werun": true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.em.WeRun(app1, "bob", false); err != nil {
		t.Errorf("werun after openSetting: %v", err)
	}
}

func TestShare(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := f.em.Share(app1, "alice", "family"); !errors.Is(err, wxlogin.Errorf(wxlogin.ESessionInvalid, "")) {
		t.Errorf("share before login: %v, want session_invalid", err)
	}
	f.login(t, app1, "alice")
	var enc emulator.Encrypted
	if status, env := f.device(t, "POST", "/emulator/v1/share", map[string]string{"appid": app1, "user": "alice", "group": "family"}, &enc); status != 200 {
		t.Fatalf("share: %d %+v", status, env)
	}
	var s wxcrypt.ShareInfo
	open(t, f, app1, "alice", enc.EncryptedData, enc.IV, &s)
	if s.OpenGID != emulator.OpenGroupID(app1, "family") || s.OpenGID == emulator.OpenGroupID(app2, "family") || s.OpenGID == emulator.OpenGroupID(app1, "work") {
		t.Errorf("openGId %q is not per (app, group)", s.OpenGID)
	}
}

func TestPhoneLegacyAndOldDevices(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login(t, app1, "alice")
	if err := f.em.AgreePrivacy(app1, "alice"); err != nil { // today's WeChat asks first
		t.Fatal(err)
	}
	p, err := f.em.Phone(app1, "alice")
	if err != nil {
		t.Fatal(err)
	}
	var info wxcrypt.PhoneInfo
	open(t, f, app1, "alice", p.EncryptedData, p.IV, &info)
	u, _ := f.em.User("alice")
	if info.PurePhoneNumber != u.PhoneNumber || info.PhoneNumber != u.PhoneNumber || info.CountryCode != "86" || p.Code == "" {
		t.Errorf("phone %+v payload %+v, want alice's number %q and a code", p, info, u.PhoneNumber)
	}
	f.em.UpdateUser("old", func(u *emulator.User) { u.BaseLibrary = "2.21.1" })
	if _, err := f.em.Phone(app1, "old"); !errors.Is(err, &emulator.DeviceError{Code: wxlogin.ESessionInvalid}) {
		t.Errorf("phone on base library 2.21.1 before any login: %v, want session_invalid (no code, no key)", err)
	}
	f.login(t, app1, "old")
	old, err := f.em.Phone(app1, "old")
	if err != nil || old.Code != "" || old.EncryptedData == "" {
		t.Errorf("phone on base library 2.21.1: %+v, %v; want encryptedData and no code", old, err)
	}
}

func TestSessionEndpoint(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.em.SessionKeyLifetime = time.Hour
	valid := func() bool {
		var out struct{ Valid *bool }
		if status, env := f.device(t, "GET", "/emulator/v1/session?"+url.Values{"appid": {app1}, "user": {"alice"}}.Encode(), nil, &out); status != 200 || out.Valid == nil {
			t.Fatalf("session: %d %+v", status, env)
		}
		return *out.Valid
	}
	if valid() {
		t.Error("valid before any login")
	}
	f.login(t, app1, "alice")
	if !valid() {
		t.Error("not valid after login")
	}
	f.em.Advance(time.Hour)
	if valid() {
		t.Error("valid after SessionKeyLifetime")
	}
	if status, env := f.device(t, "GET", "/emulator/v1/session?appid="+app1, nil, nil); status != 400 || env.Error.Code != wxlogin.EInvalidRequest {
		t.Errorf("no user: %d %+v", status, env)
	}
}

func TestUsersEndpoint(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var before, after emulator.User
	f.device(t, "GET", "/emulator/v1/users/alice", nil, &before)
	if before.NickName != "alice" || before.BaseLibrary != emulator.DefaultBaseLibrary || len(before.PhoneNumber) != 11 {
		t.Errorf("default user %+v", before)
	}
	if status, env := f.device(t, "PUT", "/emulator/v1/users/alice", map[string]any{"nickName": "Alice", "baseLibrary": "2.20.0"}, &after); status != 200 {
		t.Fatalf("PUT: %d %+v", status, env)
	}
	want := before
	want.NickName, want.BaseLibrary = "Alice", "2.20.0"
	if diff := cmp.Diff(want, after); diff != "" {
		t.Errorf("PUT changes only the given fields (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		name string
		body any
	}{
		{"bad version", map[string]any{"baseLibrary": "latest"}},
		{"bad gender", map[string]any{"gender": 7}},
		{"wrong type", map[string]any{"gender": "male"}},
		{"not JSON", "nickName=x"},
	} {
		if status, env := f.device(t, "PUT", "/emulator/v1/users/alice", tc.body, nil); status != 400 || env.Error.Code != wxlogin.EInvalidRequest {
			t.Errorf("%s: %d %+v, want 400 invalid_request", tc.name, status, env)
		}
	}
	if got, _ := f.em.User("alice"); got != after {
		t.Errorf("a refused PUT changed the user: %+v", got)
	}
}

func TestPrivacyFlow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.em.NoPrivacyCheck = false
	f.login(t, app1, "alice")
	q := "?" + url.Values{"appid": {app1}, "user": {"alice"}}.Encode()
	req := map[string]string{"appid": app1, "user": "alice"}
	need := func() bool {
		var s emulator.PrivacySetting
		if status, env := f.device(t, "GET", "/emulator/v1/privacy"+q, nil, &s); status != 200 || s.PrivacyContractName == "" {
			t.Fatalf("privacy setting: %d %+v %+v", status, env, s)
		}
		return s.NeedAuthorization
	}
	if !need() {
		t.Fatal("needAuthorization false with the check on")
	}
	for _, path := range []string{"phone", "userinfo", "profile", "werun", "avatar", "nickname"} {
		status, env := f.device(t, "POST", "/emulator/v1/"+path, req, nil)
		if status != 403 || env.Error.Code != wxlogin.EPrivacyNotAuthorized || env.Error.Errno != 104 || env.Error.ErrMsg == "" {
			t.Errorf("%s before agreeing: %d %+v, want 403 privacy_not_authorized errno 104", path, status, env)
		}
	}
	if status, _ := f.device(t, "POST", "/emulator/v1/share", req, nil); status != 200 {
		t.Errorf("share is not a privacy API: %d", status)
	}

	decide := func(event string) (int, envelope, bool) {
		var out struct{ Prompted bool }
		status, env := f.device(t, "POST", "/emulator/v1/privacy", map[string]string{"appid": app1, "user": "alice", "event": event}, &out)
		return status, env, out.Prompted
	}
	if status, env, _ := decide("disagree"); status != 403 || env.Error.Errno != 104 {
		t.Errorf("disagree: %d %+v", status, env)
	}
	f.em.Advance(emulator.PrivacyRefusalPause - time.Second)
	// A simulated device learns of the pause without answering anything.
	var setting emulator.PrivacySetting
	f.device(t, "GET", "/emulator/v1/privacy"+q, nil, &setting)
	if !setting.NeedAuthorization || setting.RefusalPauseMs != 1000 {
		t.Errorf("privacy setting within the pause: %+v, want needAuthorization and 1000 ms left", setting)
	}
	if status, env, _ := decide("agree"); status != 403 || env.Error.Errno != 104 {
		t.Errorf("a new request within the pause: %d %+v, want refused", status, env)
	}
	f.em.Advance(time.Second)
	setting = emulator.PrivacySetting{}
	f.device(t, "GET", "/emulator/v1/privacy"+q, nil, &setting)
	if setting.RefusalPauseMs != 0 {
		t.Errorf("privacy setting after the pause: %+v, want no pause", setting)
	}
	if status, env, prompted := decide("agree"); status != 200 || !prompted {
		t.Errorf("agree after the pause: %d %+v prompted %v", status, env, prompted)
	}
	if need() {
		t.Error("needAuthorization after agreeing")
	}
	if status, env, prompted := decide("disagree"); status != 200 || prompted {
		t.Errorf("once agreed, no popup: %d %+v prompted %v", status, env, prompted)
	}
	var p emulator.PhoneNumber
	if status, env := f.device(t, "POST", "/emulator/v1/phone", req, &p); status != 200 || p.Code == "" {
		t.Errorf("phone after agreeing: %d %+v", status, env)
	}

	// DELETE forgets the decision; the agree button works even in the pause.
	f.device(t, "DELETE", "/emulator/v1/privacy"+q, nil, nil)
	decide("disagree")
	if status, env := f.device(t, "POST", "/emulator/v1/privacy/agree", req, nil); status != 200 {
		t.Errorf("agree button: %d %+v", status, env)
	}
	if need() {
		t.Error("needAuthorization after the agree button")
	}
	if status, env, _ := decide("maybe"); status != 400 {
		t.Errorf("unknown event: %d %+v", status, env)
	}
}

func TestPrivacyApplicability(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		check bool
		lib   string
		want  bool
	}{
		{"knob off", false, "3.5.0", false},
		{"knob on, current device", true, "3.5.0", true},
		{"knob on, first version with the check", true, "2.32.3", true},
		{"knob on, older device", true, "2.32.2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.em.NoPrivacyCheck = !tt.check
			f.em.UpdateUser("alice", func(u *emulator.User) { u.BaseLibrary = tt.lib })
			s, err := f.em.PrivacySetting(app1, "alice")
			if err != nil || s.NeedAuthorization != tt.want {
				t.Errorf("PrivacySetting %+v, %v; want needAuthorization %v", s, err, tt.want)
			}
			_, err = f.em.Nickname(app1, "alice")
			if got := errors.Is(err, wxlogin.Errorf(wxlogin.EPrivacyNotAuthorized, "")); got != tt.want {
				t.Errorf("nickname error %v; want privacy refusal %v", err, tt.want)
			}
		})
	}
}

func TestAvatarAndNickname(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.em.UpdateUser("alice", func(u *emulator.User) { u.NickName = "小红" })
	req := map[string]string{"appid": app1, "user": "alice", "privacy": "agree"}
	var a struct {
		AvatarURL, Path, ContentType, Data string
		Size                               int
	}
	if status, env := f.device(t, "POST", "/emulator/v1/avatar", req, &a); status != 200 {
		t.Fatalf("avatar: %d %+v", status, env)
	}
	data, err := base64.StdEncoding.DecodeString(a.Data)
	if err != nil || len(data) != a.Size || a.ContentType != "image/png" {
		t.Fatalf("avatar answer %+v", a)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width != 132 || cfg.Height != 132 {
		t.Errorf("avatar is not a 132×132 PNG: %+v %v", cfg, err)
	}
	resp, err := f.srv.Client().Get(a.AvatarURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got bytes.Buffer
	got.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !bytes.Equal(got.Bytes(), data) {
		t.Errorf("GET %s: %d %s, %d bytes; want the same PNG", a.AvatarURL, resp.StatusCode, resp.Header.Get("Content-Type"), got.Len())
	}
	if status, env := f.device(t, "GET", "/emulator/v1/tmp/nope.png", nil, nil); status != 404 || env.Error.Code != wxlogin.ENotFound {
		t.Errorf("unknown tmp file: %d %+v", status, env)
	}

	var n struct{ Nickname string }
	if status, env := f.device(t, "POST", "/emulator/v1/nickname", req, &n); status != 200 || n.Nickname != "小红" {
		t.Errorf("nickname: %d %+v %q", status, env, n.Nickname)
	}
	f.em.UpdateUser("old", func(u *emulator.User) { u.BaseLibrary = "2.21.1" })
	for _, path := range []string{"avatar", "nickname"} {
		if status, env := f.device(t, "POST", "/emulator/v1/"+path, map[string]string{"appid": app1, "user": "old"}, nil); status != 501 || env.Error.Code != emulator.ENotSupported {
			t.Errorf("%s on base library 2.21.1: %d %+v, want 501 not_supported", path, status, env)
		}
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, origin string
	}{{"off", ""}, {"on", "*"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.em.CORSOrigin = tc.origin
			req, _ := http.NewRequestWithContext(t.Context(), "OPTIONS", f.srv.URL+"/emulator/v1/login", nil)
			req.Header.Set("Origin", "http://page.example")
			req.Header.Set("Access-Control-Request-Method", "POST")
			resp, err := f.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			wantStatus := 404 // no CORS: an unknown route like any other
			if tc.origin != "" {
				wantStatus = 204
			}
			if resp.StatusCode != wantStatus || resp.Header.Get("Access-Control-Allow-Origin") != tc.origin {
				t.Errorf("preflight: %d, allow-origin %q; want %d %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), wantStatus, tc.origin)
			}
		})
	}
}

func TestPrivacyAnsweredInline(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.em.NoPrivacyCheck = false
	tests := []struct {
		name, user, privacy string
		wantStatus          int
		wantCode            string
	}{
		{"agree in the popup", "alice", "agree", 200, ""},
		{"already agreed: no popup", "alice", "disagree", 200, ""},
		{"disagree in the popup", "bob", "disagree", 403, wxlogin.EPrivacyNotAuthorized},
		{"within the pause", "bob", "agree", 403, wxlogin.EPrivacyNotAuthorized},
		{"no answer", "carol", "", 403, wxlogin.EPrivacyNotAuthorized},
		{"bad answer", "carol", "maybe", 400, wxlogin.EInvalidRequest},
	}
	for _, tt := range tests { // in order: the steps build on each other
		status, env := f.device(t, "POST", "/emulator/v1/nickname", map[string]string{"appid": app1, "user": tt.user, "privacy": tt.privacy}, nil)
		if status != tt.wantStatus || env.Error.Code != tt.wantCode {
			t.Errorf("%s: %d %+v, want %d %q", tt.name, status, env, tt.wantStatus, tt.wantCode)
		}
	}
}
