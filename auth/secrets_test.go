package auth_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
)

// TestNoSecretsInLogs runs a whole flow, failures included, and looks for
// every secret in the log output and in the text of every error: login
// tokens, codes, session keys, app secrets, the access token.
func TestNoSecretsInLogs(t *testing.T) {
	t.Parallel()
	const wrongSecret = "badbadbadbadbadbadbadbadbadbad00"
	e := newEnv(t, func(e *env, c *auth.Config) {
		c.Apps[2].Secret = wrongSecret // app3: a misconfigured secret
	})
	ctx := t.Context()
	var secrets []string
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	sessionKey := func(appid, user string) {
		k, _ := e.em.SessionKey(appid, user)
		secrets = append(secrets, k)
	}
	for _, a := range e.cfg.Apps {
		secrets = append(secrets, a.Secret.Reveal())
	}

	// Login, verify, user info with a login_code, phone both ways, WeRun.
	code := e.code(app1, "alice")
	secrets = append(secrets, code)
	r, err := e.svc.Login(ctx, app1, code, auth.Client{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, r.Token.Reveal(), strings.TrimPrefix(r.Token.Reveal(), "wxl_"))
	sessionKey(app1, "alice")
	p := e.verify(ctx, r.Token)

	fresh := e.code(app1, "alice")
	secrets = append(secrets, fresh)
	sessionKey(app1, "alice")
	s := e.seal(app1, "alice", e.userInfo(app1, "alice", "Alice"))
	s.enc.LoginCode = fresh
	if _, err := e.svc.SaveUserInfo(ctx, p, s.rawData, s.signature, s.enc); err != nil {
		t.Fatal(err)
	}
	// Today's WeChat asks for privacy agreement first.
	if err := e.em.AgreePrivacy(app1, "alice"); err != nil {
		t.Fatal(err)
	}
	button, err := e.em.Phone(app1, "alice")
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, button.Code)
	if _, err := e.svc.SavePhone(ctx, p, button.Code, auth.Encrypted{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SavePhone(ctx, p, "", auth.Encrypted{EncryptedData: button.EncryptedData, IV: button.IV}); err != nil {
		t.Fatal(err)
	}
	w := e.seal(app1, "alice", map[string]any{"stepInfoList": []any{}})
	if _, err := e.svc.Decrypt(ctx, p, auth.KindWeRun, w.enc); err != nil {
		t.Fatal(err)
	}
	tok, err := e.svc.AccessToken(ctx, app1)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, tok.Value.Reveal())

	// Failures: a reused phone code, bad encrypted data, a bad signature,
	// a wrong secret, WeChat down, a spent login code, a dead token.
	_, err = e.svc.SavePhone(ctx, p, button.Code, auth.Encrypted{})
	keep(err)
	bad := w.enc
	bad.EncryptedData = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 32)))
	_, err = e.svc.Decrypt(ctx, p, auth.KindWeRun, bad)
	keep(err)
	_, err = e.svc.SaveUserInfo(ctx, p, s.rawData, strings.Repeat("0", 40), auth.Encrypted{EncryptedData: w.enc.EncryptedData, IV: w.enc.IV})
	keep(err)
	c3 := e.code(app3, "alice")
	secrets = append(secrets, c3)
	_, err = e.svc.Login(ctx, app3, c3, auth.Client{})
	keep(err)
	if err := e.em.InjectFault(emulator.Fault{API: emulator.APIJSCode2Session, HTTPStatus: 502, Count: 1}); err != nil {
		t.Fatal(err)
	}
	c502 := e.code(app1, "bob")
	secrets = append(secrets, c502)
	_, err = e.svc.Login(ctx, app1, c502, auth.Client{})
	keep(err)
	e.clock.Advance(2 * time.Minute)
	_, err = e.svc.Login(ctx, app1, code, auth.Client{})
	keep(err)
	if err := e.svc.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Verify(ctx, r.Token.Reveal())
	keep(err)

	if len(errs) != 7 {
		t.Fatalf("%d failures, want 7 (the flow changed?): %v", len(errs), errs)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "auth: login") || !strings.Contains(logs, "level=ERROR") {
		t.Fatalf("the log does not show the flow:\n%s", logs)
	}
	for _, secret := range secrets {
		if secret == "" {
			t.Fatal("empty secret collected")
		}
		if strings.Contains(logs, secret) {
			t.Errorf("secret %.6s… is in the log", secret)
		}
		for _, err := range errs {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("secret %.6s… is in the error text %q", secret, err)
			}
			if strings.Contains(wxlogin.ErrorMessage(err), secret) {
				t.Errorf("secret %.6s… is in the client message", secret)
			}
		}
	}
}
