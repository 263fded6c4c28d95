package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

// sealed is a payload as WeChat's client hands it over, encrypted under a
// user's current session_key.
type sealed struct {
	rawData, signature string
	enc                auth.Encrypted
}

// seal encrypts v (plus a watermark for appid, dated now) under user's
// current session_key in appid, as WeChat's client does; rawData and its
// signature come along for user info.
func (e *env) seal(appid, user string, v map[string]any) sealed {
	e.t.Helper()
	key, err := e.em.SessionKey(appid, user)
	if err != nil || key == "" {
		e.t.Fatalf("no session_key for %s/%s: %v", appid, user, err)
	}
	if _, ok := v["watermark"]; !ok {
		v["watermark"] = map[string]any{"appid": appid, "timestamp": e.clock.Now().Unix()}
	}
	plain, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.sealBytes(key, plain, v)
}

func (e *env) sealBytes(key string, plain []byte, v map[string]any) sealed {
	e.t.Helper()
	iv := wxcrypt.NewIV()
	data, err := wxcrypt.Encrypt(key, iv, plain)
	if err != nil {
		e.t.Fatal(err)
	}
	raw := map[string]any{}
	for k, x := range v {
		if k != "watermark" && k != "openId" && k != "unionId" {
			raw[k] = x
		}
	}
	rawData, _ := json.Marshal(raw)
	return sealed{
		rawData:   string(rawData),
		signature: wxcrypt.Signature(string(rawData), key),
		enc:       auth.Encrypted{EncryptedData: data, IV: iv},
	}
}

// userInfo is getUserInfo's payload for user.
func (e *env) userInfo(appid, user, nick string) map[string]any {
	id := e.identity(appid, user)
	m := map[string]any{
		"openId": id.OpenID, "nickName": nick, "gender": 0, "city": "", "province": "", "country": "",
		"avatarUrl": "https://thirdwx.qlogo.cn/mmopen/vi_32/x/132", "language": "zh_CN",
	}
	if id.UnionID != "" {
		m["unionId"] = id.UnionID
	}
	return m
}

func TestSaveUserInfo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	r := e.login(ctx, app1, "alice")
	p := e.verify(ctx, r.Token)

	s := e.seal(app1, "alice", e.userInfo(app1, "alice", "Alice"))
	got, err := e.svc.SaveUserInfo(ctx, p, s.rawData, s.signature, s.enc)
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	if err := json.Unmarshal(got, &info); err != nil {
		t.Fatal(err)
	}
	if _, ok := info["watermark"]; ok || info["nickName"] != "Alice" {
		t.Errorf("returned user info %s: want Alice without watermark", got)
	}
	u, err := e.svc.User(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "stored user info", string(got), string(u.UserInfo))

	// A wx.login on the device rotates the key: data made after it no
	// longer matches the session's key...
	code := e.code(app1, "alice")
	s = e.seal(app1, "alice", e.userInfo(app1, "alice", "Alice 2"))
	_, err = e.svc.SaveUserInfo(ctx, p, s.rawData, s.signature, s.enc)
	wantCode(t, err, wxlogin.EInvalidSignature)

	// ...until the client sends the fresh code along.
	s.enc.LoginCode = code
	if _, err := e.svc.SaveUserInfo(ctx, p, s.rawData, s.signature, s.enc); err != nil {
		t.Fatalf("with login_code: %v", err)
	}
	// The new key is kept on the session for later requests.
	s = e.seal(app1, "alice", e.userInfo(app1, "alice", "Alice 3"))
	if _, err := e.svc.SaveUserInfo(ctx, p, s.rawData, s.signature, s.enc); err != nil {
		t.Fatalf("after login_code, without one: %v", err)
	}
	// The same login_code again within its window is the same exchange.
	if n := e.calls(emulator.APIJSCode2Session); n != 2 {
		t.Errorf("jscode2session calls = %d, want 2 (login and login_code)", n)
	}

	// A login_code of somebody else is refused.
	bobCode := e.code(app1, "bob")
	s = e.seal(app1, "alice", e.userInfo(app1, "alice", "Alice 4"))
	s.enc.LoginCode = bobCode
	_, err = e.svc.SaveUserInfo(ctx, p, s.rawData, s.signature, s.enc)
	wantCode(t, err, wxlogin.EInvalidRequest)

	// A spent login_code is an invalid code.
	e.clock.Advance(2 * time.Minute)
	s.enc.LoginCode = code
	_, err = e.svc.SaveUserInfo(ctx, p, s.rawData, s.signature, s.enc)
	wantCode(t, err, wxlogin.EInvalidCode)

	// Missing fields.
	_, err = e.svc.SaveUserInfo(ctx, p, "", s.signature, s.enc)
	wantCode(t, err, wxlogin.EInvalidRequest)
	_, err = e.svc.SaveUserInfo(ctx, p, s.rawData, s.signature, auth.Encrypted{EncryptedData: s.enc.EncryptedData})
	wantCode(t, err, wxlogin.EInvalidRequest)
}

// An anonymised getUserProfile ("微信用户") must not replace real user info
// or touch the filled-in profile.
func TestSaveUserInfoAnonymised(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	p := e.verify(ctx, e.login(ctx, app1, "alice").Token)

	// With nothing stored yet, the anonymised profile is stored: it is all
	// there is.
	anon := e.userInfo(app1, "alice", "微信用户")
	delete(anon, "openId")
	delete(anon, "unionId")
	s := e.seal(app1, "alice", anon)
	if _, err := e.svc.SaveUserInfo(ctx, p, s.rawData, s.signature, s.enc); err != nil {
		t.Fatal(err)
	}
	real := e.seal(app1, "alice", e.userInfo(app1, "alice", "Alice"))
	want, err := e.svc.SaveUserInfo(ctx, p, real.rawData, real.signature, real.enc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetNickname(ctx, p, "Ali"); err != nil {
		t.Fatal(err)
	}
	before, _ := e.svc.User(ctx, p)

	s = e.seal(app1, "alice", anon)
	got, err := e.svc.SaveUserInfo(ctx, p, s.rawData, s.signature, s.enc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "微信用户") {
		t.Errorf("SaveUserInfo returned %s, want what was decrypted", got)
	}
	after, _ := e.svc.User(ctx, p)
	diff(t, "stored user info", string(want), string(after.UserInfo))
	diff(t, "profile", before.Profile, after.Profile)
}

// Every decrypt failure answers the same code and message, so that the
// answer tells a client nothing about why: no padding oracle.
func TestDecryptFailuresLookAlike(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env, c *auth.Config) { c.Limits.DecryptPerSession = auth.Limit{Rate: -1} })
	ctx := t.Context()
	p := e.verify(ctx, e.login(ctx, app1, "alice").Token)
	key, _ := e.em.SessionKey(app1, "alice")
	now := e.clock.Now().Unix()
	bob := e.identity(app1, "bob")

	good := e.seal(app1, "alice", e.userInfo(app1, "alice", "Alice"))
	// Flipping a bit in the second-to-last ciphertext block flips the same
	// bit of the last plaintext block: the padding byte becomes > 16.
	ct, _ := base64.StdEncoding.DecodeString(good.enc.EncryptedData)
	ct[len(ct)-17] ^= 0x20
	badPadding := base64.StdEncoding.EncodeToString(ct)

	withInfo := func(mod func(m map[string]any)) sealed {
		m := e.userInfo(app1, "alice", "Alice")
		mod(m)
		return e.seal(app1, "alice", m)
	}
	tests := []struct {
		name string
		s    sealed
	}{
		{"bad padding", sealed{good.rawData, good.signature, auth.Encrypted{EncryptedData: badPadding, IV: good.enc.IV}}},
		{"bad JSON", e.sealBytes(key, []byte("this is not JSON at all"), e.userInfo(app1, "alice", "Alice"))},
		{"watermark of another app", withInfo(func(m map[string]any) {
			m["watermark"] = map[string]any{"appid": app2, "timestamp": now}
		})},
		{"stale watermark", withInfo(func(m map[string]any) {
			m["watermark"] = map[string]any{"appid": app1, "timestamp": now - 7200}
		})},
		{"openId of another user", withInfo(func(m map[string]any) { m["openId"] = bob.OpenID })},
		{"unionId of another user", withInfo(func(m map[string]any) { m["unionId"] = bob.UnionID })},
		{"bad base64", sealed{good.rawData, good.signature, auth.Encrypted{EncryptedData: "%%%%", IV: good.enc.IV}}},
		{"not whole blocks", sealed{good.rawData, good.signature, auth.Encrypted{EncryptedData: base64.StdEncoding.EncodeToString(ct[:20]), IV: good.enc.IV}}},
		{"short iv", sealed{good.rawData, good.signature, auth.Encrypted{EncryptedData: good.enc.EncryptedData, IV: "AAAA"}}},
	}
	var first *wxlogin.Error
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.SaveUserInfo(ctx, p, tt.s.rawData, tt.s.signature, tt.s.enc)
			we := wantCode(t, err, wxlogin.EInvalidEncryptedData)
			_, err = e.svc.Decrypt(ctx, p, auth.KindWeRun, tt.s.enc)
			we2 := wantCode(t, err, wxlogin.EInvalidEncryptedData)
			if first == nil {
				first = we
			}
			diff(t, "error (code, message)", [2]string{first.Code, first.Message}, [2]string{we.Code, we.Message})
			diff(t, "Decrypt's error (code, message)", [2]string{first.Code, first.Message}, [2]string{we2.Code, we2.Message})
		})
	}
	// The reasons are in the server log, not in the answers.
	for _, reason := range []string{wxcrypt.ReasonPadding, wxcrypt.ReasonJSON, wxcrypt.ReasonAppID, wxcrypt.ReasonStale} {
		if !strings.Contains(e.logs.String(), reason) {
			t.Errorf("reason %q not logged", reason)
		}
		if strings.Contains(first.Message, reason) {
			t.Errorf("reason %q in the client message", reason)
		}
	}
}

func TestSavePhone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	p := e.verify(ctx, e.login(ctx, app1, "alice").Token)
	eu, err := e.em.User("alice")
	if err != nil {
		t.Fatal(err)
	}
	want := wxlogin.Phone{PurePhoneNumber: eu.PhoneNumber, CountryCode: eu.CountryCode}

	// Today's WeChat asks for privacy agreement first.
	if err := e.em.AgreePrivacy(app1, "alice"); err != nil {
		t.Fatal(err)
	}
	button, err := e.em.Phone(app1, "alice")
	if err != nil || button.Code == "" || button.EncryptedData == "" {
		t.Fatalf("emulator phone button: %+v, %v", button, err)
	}
	tests := []struct {
		name    string
		code    string
		enc     auth.Encrypted
		want    string // error code; "" for success
		message string // part of the error message
	}{
		{name: "phone code", code: button.Code},
		{name: "phone code again", code: button.Code, want: wxlogin.EInvalidCode, message: "phone code"},
		{name: "login code as phone code", code: e.code(app1, "carol"), want: wxlogin.EInvalidCode, message: "phone code"},
		{name: "legacy encrypted data", enc: auth.Encrypted{EncryptedData: button.EncryptedData, IV: button.IV}},
		{name: "neither", want: wxlogin.EInvalidRequest},
		{name: "iv only", enc: auth.Encrypted{IV: button.IV}, want: wxlogin.EInvalidRequest},
		{name: "oversized code", code: strings.Repeat("9", 200), want: wxlogin.EInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.svc.SavePhone(ctx, p, tt.code, tt.enc)
			if tt.want != "" {
				we := wantCode(t, err, tt.want)
				if !strings.Contains(we.Message, tt.message) {
					t.Errorf("message %q does not mention %q", we.Message, tt.message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			diff(t, "phone", want.PurePhoneNumber, got.PurePhoneNumber)
			diff(t, "country code", want.CountryCode, got.CountryCode)
			u, _ := e.svc.User(ctx, p)
			diff(t, "stored phone", &got, u.Phone)
		})
	}
}

func TestDecryptKinds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env, c *auth.Config) { c.Limits.DecryptPerSession = auth.Limit{Rate: -1} })
	ctx := t.Context()
	p := e.verify(ctx, e.login(ctx, app1, "alice").Token)
	tests := []struct {
		name, kind string
		payload    map[string]any
		want       string // JSON; "" when an error is wanted
	}{
		{"werun", auth.KindWeRun, map[string]any{"stepInfoList": []any{map[string]any{"timestamp": 1763683200, "step": 4321}}},
			`{"stepInfoList":[{"step":4321,"timestamp":1763683200}]}`},
		{"share", auth.KindShare, map[string]any{"openGId": "tGabc123"}, `{"openGId":"tGabc123"}`},
		{"unknown kind", "location", map[string]any{"x": 1}, ""},
		// A payload of one kind named as another opens under the session's
		// key but is refused like any decrypt failure.
		{"werun sent as share", auth.KindShare, map[string]any{"stepInfoList": []any{map[string]any{"timestamp": 1763683200, "step": 1}}}, "!"},
		{"share sent as werun", auth.KindWeRun, map[string]any{"openGId": "tGabc123"}, "!"},
		{"user info sent as share", auth.KindShare, map[string]any{"nickName": "a"}, "!"},
		{"phone sent as werun", auth.KindWeRun, map[string]any{"phoneNumber": "13800138000"}, "!"},
		{"empty openGId as share", auth.KindShare, map[string]any{"openGId": ""}, "!"},
		{"stepInfoList not a list", auth.KindWeRun, map[string]any{"stepInfoList": "x"}, "!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.seal(app1, "alice", tt.payload)
			got, err := e.svc.Decrypt(ctx, p, tt.kind, s.enc)
			if tt.want == "" {
				wantCode(t, err, wxlogin.EInvalidRequest)
				return
			}
			if tt.want == "!" {
				if we := wantCode(t, err, wxlogin.EInvalidEncryptedData); we != nil && we.Message != wxlogin.ErrorMessage(errOfGarbage(t, e, p)) {
					t.Errorf("message %q differs from a garbled payload's", we.Message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gotV, wantV any
			json.Unmarshal(got, &gotV)
			json.Unmarshal([]byte(tt.want), &wantV)
			diff(t, "decrypted", wantV, gotV)
		})
	}
}

// errOfGarbage is Decrypt's error for a ciphertext that does not decrypt.
func errOfGarbage(t *testing.T, e *env, p wxlogin.Principal) error {
	t.Helper()
	_, err := e.svc.Decrypt(t.Context(), p, auth.KindWeRun, auth.Encrypted{EncryptedData: "AAAAAAAAAAAAAAAAAAAAAA==", IV: "AAAAAAAAAAAAAAAAAAAAAA=="})
	return err
}

func TestDecryptRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env, c *auth.Config) { c.Limits.DecryptPerSession = auth.Limit{Rate: 1, Burst: 2} })
	ctx := t.Context()
	p := e.verify(ctx, e.login(ctx, app1, "alice").Token)
	other := e.verify(ctx, e.login(ctx, app1, "bob").Token)
	s := e.seal(app1, "alice", map[string]any{"openGId": "g"})
	bobs := e.seal(app1, "bob", map[string]any{"openGId": "g"})
	for i := range 2 {
		if _, err := e.svc.Decrypt(ctx, p, auth.KindShare, s.enc); err != nil {
			t.Fatalf("decrypt %d: %v", i, err)
		}
	}
	_, err := e.svc.Decrypt(ctx, p, auth.KindShare, s.enc)
	if we := wantCode(t, err, wxlogin.ERateLimited); we.RetryAfter != time.Second {
		t.Errorf("RetryAfter = %v, want 1s", we.RetryAfter)
	}
	if _, err := e.svc.Decrypt(ctx, other, auth.KindShare, bobs.enc); err != nil {
		t.Errorf("another session is limited too: %v", err)
	}
	// A phone code draws on the same bucket: each one costs a call to
	// WeChat's getuserphonenumber, whose quota is the app's.
	// Today's WeChat asks for privacy agreement first.
	if err := e.em.AgreePrivacy(app1, "alice"); err != nil {
		t.Fatal(err)
	}
	button, err := e.em.Phone(app1, "alice")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.SavePhone(ctx, p, button.Code, auth.Encrypted{})
	wantCode(t, err, wxlogin.ERateLimited)
	if n := e.calls(emulator.APIGetUserPhoneNumber); n != 0 {
		t.Errorf("a limited phone request called WeChat %d times", n)
	}
	e.clock.Advance(time.Second)
	if _, err := e.svc.Decrypt(ctx, p, auth.KindShare, s.enc); err != nil {
		t.Errorf("after a second: %v", err)
	}
}

// RotateKeys re-seals every session_key under the new primary key, after
// which the old master key can be dropped.
func TestRotateKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	r1 := e.login(ctx, app1, "alice")
	e.login(ctx, app1, "bob")

	newKey := keyring.Generate("k2")
	cfg := e.cfg
	rotated, err := keyring.New(newKey, e.key)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Keys = rotated
	svc, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	n, err := svc.RotateKeys(ctx)
	if err != nil || n != 2 {
		t.Fatalf("RotateKeys = %d, %v; want 2", n, err)
	}
	if n, _ := svc.RotateKeys(ctx); n != 0 {
		t.Errorf("second RotateKeys changed %d, want 0", n)
	}
	stored, _ := e.db.Session(ctx, r1.Session.ID)
	if id, _ := keyring.SealedWith(stored.SealedSessionKey); id != "k2" {
		t.Errorf("sealed with %q after rotation, want k2", id)
	}

	// With only the new key, the session's key still opens.
	only, _ := keyring.New(newKey)
	cfg.Keys = only
	svc2, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer svc2.Close()
	p, err := svc2.Verify(ctx, r1.Token.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	s := e.seal(app1, "alice", e.userInfo(app1, "alice", "Alice"))
	if _, err := svc2.SaveUserInfo(ctx, p, s.rawData, s.signature, s.enc); err != nil {
		t.Fatalf("decrypt after rotation with only the new key: %v", err)
	}
}
