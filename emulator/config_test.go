package emulator_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin/emulator"
)

func TestConfigEndpoint(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	type config struct {
		PrivacyCheck          bool   `json:"privacy_check"`
		LoginsPerSecond       int    `json:"logins_per_second"`
		Code2SessionPerMinute int    `json:"code2session_per_minute"`
		SessionKeyLifetime    string `json:"session_key_lifetime"`
		CodeLifetime          string `json:"code_lifetime"`
		TokenGrace            string `json:"token_grace"`
		TokenLifetime         string `json:"token_lifetime"`
	}
	var got config
	f.device(t, "GET", "/emulator/v1/config", nil, &got)
	want := config{PrivacyCheck: true, SessionKeyLifetime: "0s", CodeLifetime: "5m0s", TokenGrace: "5m0s", TokenLifetime: "2h0m0s"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}

	if status, env := f.device(t, "PUT", "/emulator/v1/config", map[string]any{"privacy_check": false, "code_lifetime": "1m"}, &got); status != 200 {
		t.Fatalf("PUT: %d %+v", status, env)
	}
	want.PrivacyCheck, want.CodeLifetime = false, "1m0s"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after PUT (-want +got):\n%s", diff)
	}
	if s, _ := f.em.PrivacySetting(app1, "alice"); s.NeedAuthorization {
		t.Error("privacy_check did not take effect")
	}
	code := f.login(t, app1, "alice")
	f.em.Advance(time.Minute)
	if got := f.session(t, app1, secret1, code).ErrCode; got != 40029 {
		t.Errorf("code after the configured minute: errcode %d, want 40029", got)
	}

	for _, bad := range []map[string]any{
		{"code_lifetime": "soon", "privacy_check": false},
		{"token_grace": "-1s"},
		{"logins_per_second": -1},
		{"privacy_check": "yes"},
	} {
		if status, env := f.device(t, "PUT", "/emulator/v1/config", bad, nil); status != 400 {
			t.Errorf("PUT %v: %d %+v, want 400", bad, status, env)
		}
	}
	f.device(t, "GET", "/emulator/v1/config", nil, &got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("refused PUTs changed the config (-want +got):\n%s", diff)
	}
}

func TestConfigureWhileServing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login(t, app1, "alice")
	f.em.Configure(func(e *emulator.Emulator) { e.SessionKeyLifetime = time.Minute })
	f.em.Advance(time.Minute)
	if valid, _ := f.em.SessionKeyValid(app1, "alice"); valid {
		t.Error("session key valid past the lifetime set with Configure")
	}
}
