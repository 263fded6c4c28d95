package auth_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	base := newEnv(t).cfg
	tests := []struct {
		name   string
		modify func(c *auth.Config)
		want   string // part of the error; "" for success
	}{
		{"defaults", func(c *auth.Config) {}, ""},
		{"no apps", func(c *auth.Config) { c.Apps = nil }, "Apps"},
		{"empty appid", func(c *auth.Config) { c.Apps = []wxlogin.App{{Secret: "s"}} }, "Apps[0].AppID"},
		{"duplicate appid", func(c *auth.Config) { c.Apps = []wxlogin.App{c.Apps[0], c.Apps[0]} }, "Apps[1].AppID"},
		{"no secret", func(c *auth.Config) { c.Apps = []wxlogin.App{{AppID: app1}} }, "Apps[0].Secret"},
		{"no user store", func(c *auth.Config) { c.Users = nil }, "Users"},
		{"no session store", func(c *auth.Config) { c.Sessions = nil }, "Sessions"},
		{"no WeChat", func(c *auth.Config) { c.WeChat = nil }, "WeChat"},
		{"no keys", func(c *auth.Config) { c.Keys = nil }, "Keys"},
		{"negative idle", func(c *auth.Config) { c.IdleTimeout = -1 }, "IdleTimeout"},
		{"negative burst", func(c *auth.Config) { c.Limits.LoginPerIP = auth.Limit{Rate: 1, Burst: -1} }, "Limits.LoginPerIP"},
		{"WeCom app", func(c *auth.Config) {
			c.Apps = append(c.Apps, wxlogin.App{AppID: "wecom", Kind: wxlogin.KindWeCom, CorpID: "ww1", Secret: "s"})
		}, ""},
		{"WeCom app without corpid", func(c *auth.Config) {
			c.Apps = append(c.Apps, wxlogin.App{AppID: "wecom", Kind: wxlogin.KindWeCom, Secret: "s"})
		}, ".CorpID: is empty"},
		{"corpid with a slash", func(c *auth.Config) {
			c.Apps = append(c.Apps, wxlogin.App{AppID: "wecom", Kind: wxlogin.KindWeCom, CorpID: "ww/1", Secret: "s"})
		}, "holds a slash"},
		{"corpid on a WeChat app", func(c *auth.Config) { c.Apps[0].CorpID = "ww1" }, "Apps[0].CorpID"},
		{"unknown kind", func(c *auth.Config) { c.Apps[0].Kind = "alipay" }, "Apps[0].Kind"},
		{"WeCom app, WeChat client without WeCom", func(c *auth.Config) {
			c.WeChat = struct{ auth.WeChat }{c.WeChat}
			c.Apps = append(c.Apps, wxlogin.App{AppID: "wecom", Kind: wxlogin.KindWeCom, CorpID: "ww1", Secret: "s"})
		}, "WeCom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := base
			c.Apps = append([]wxlogin.App(nil), base.Apps...)
			tt.modify(&c)
			s, err := auth.New(c)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("New accepted a config with %s", tt.name)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %q", err, tt.want)
			}
			for _, a := range base.Apps {
				if strings.Contains(err.Error(), a.Secret.Reveal()) {
					t.Errorf("error %q reveals a secret", err)
				}
			}
		})
	}
}

// Validate checks the settings alone, before any store exists, and names
// the bad one by its path in Config.
func TestConfigValidate(t *testing.T) {
	t.Parallel()
	apps := []wxlogin.App{{AppID: app1, Secret: "s1"}}
	tests := []struct {
		name    string
		modify  func(c *auth.Config)
		setting string // "" for valid
	}{
		{"settings only, no stores", func(c *auth.Config) {}, ""},
		{"touch shorter than idle", func(c *auth.Config) { c.TouchInterval, c.IdleTimeout = 59*time.Second, time.Minute }, ""},
		{"touch equal to idle", func(c *auth.Config) { c.TouchInterval, c.IdleTimeout = time.Hour, time.Hour }, "TouchInterval"},
		{"touch longer than idle", func(c *auth.Config) { c.TouchInterval, c.IdleTimeout = time.Hour, 30*time.Minute }, "TouchInterval"},
		{"default touch, idle shorter", func(c *auth.Config) { c.IdleTimeout = 30 * time.Second }, "TouchInterval"},
		{"touch longer than default idle", func(c *auth.Config) { c.TouchInterval = 8 * 24 * time.Hour }, "TouchInterval"},
		{"negative touch", func(c *auth.Config) { c.TouchInterval = -time.Second }, "TouchInterval"},
		{"negative absolute", func(c *auth.Config) { c.AbsoluteLifetime = -time.Second }, "AbsoluteLifetime"},
		{"NaN rate", func(c *auth.Config) { c.Limits.LoginPerApp.Rate = math.NaN() }, "Limits.LoginPerApp.Rate"},
		{"infinite rate", func(c *auth.Config) { c.Limits.DecryptPerSession.Rate = math.Inf(1) }, "Limits.DecryptPerSession.Rate"},
		{"negative burst with a rate", func(c *auth.Config) { c.Limits.LoginPerIP = auth.Limit{Rate: 1, Burst: -1} }, "Limits.LoginPerIP.Burst"},
		{"negative burst with the default rate", func(c *auth.Config) { c.Limits.LoginPerIP.Burst = -1 }, "Limits.LoginPerIP.Burst"},
		{"limit off", func(c *auth.Config) { c.Limits.LoginPerIP = auth.Limit{Rate: -1, Burst: -1} }, ""},
		{"empty appid", func(c *auth.Config) { c.Apps = []wxlogin.App{{Secret: "s"}} }, "Apps[0].AppID"},
		{"negative avatar size", func(c *auth.Config) { c.MaxAvatarBytes = -1 }, "MaxAvatarBytes"},
		{"negative avatar limit burst", func(c *auth.Config) { c.Limits.AvatarPerUser.Burst = -1 }, "Limits.AvatarPerUser.Burst"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := auth.Config{Apps: apps}
			tt.modify(&c)
			err := c.Validate()
			if tt.setting == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ce *auth.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Validate = %v, want a *auth.ConfigError", err)
			}
			if ce.Setting != tt.setting || ce.Problem == "" || strings.Contains(ce.Problem, "\n") {
				t.Errorf("Validate = %#v, want setting %q and a one-line problem", ce, tt.setting)
			}
		})
	}
}

func TestApps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	apps := e.svc.Apps()
	apps[0].AppID = "changed"
	if e.svc.Apps()[0].AppID != app1 {
		t.Error("Apps returns the service's own slice")
	}
	for i := range 2 {
		if err := e.svc.Close(); err != nil {
			t.Errorf("Close #%d: %v; want it idempotent", i+1, err)
		}
	}
}

func TestAccessToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	tok, err := e.svc.AccessToken(ctx, app2)
	if err != nil || tok.Value.Reveal() == "" || !tok.ExpiresAt.After(e.clock.Now()) {
		t.Fatalf("AccessToken = %+v, %v", tok, err)
	}
	again, err := e.svc.AccessToken(ctx, app2)
	if err != nil || again.Value.Reveal() != tok.Value.Reveal() {
		t.Errorf("second AccessToken is not the cached one: %v", err)
	}
	_, err = e.svc.AccessToken(ctx, "wx0000000000000000")
	wantCode(t, err, wxlogin.EUnknownApp)

	if err := e.em.InjectFault(emulator.Fault{API: emulator.APIStableToken, ErrCode: 40125}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.AccessToken(ctx, app3)
	wantCode(t, err, wxlogin.EUpstreamRejected)
}

func TestAdminUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	a1 := e.login(ctx, app1, "alice")
	e.clock.Advance(time.Second) // oldest first: break the tie
	a2 := e.login(ctx, app2, "alice")
	e.login(ctx, app1, "bob")

	// One person in two bound apps: two users, one unionid.
	id := e.identity(app1, "alice")
	got, err := e.svc.AdminFindUsers(ctx, wxlogin.UserFilter{UnionID: id.UnionID})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range got {
		ids = append(ids, u.ID)
	}
	diff(t, "users by unionid", []string{a1.User.ID, a2.User.ID}, ids)

	u, err := e.svc.AdminUser(ctx, a1.User.ID)
	if err != nil || u.OpenID != id.OpenID {
		t.Errorf("AdminUser = %+v, %v", u, err)
	}
	_, err = e.svc.AdminUser(ctx, "usr_missing")
	wantCode(t, err, wxlogin.ENotFound)
	wantCode(t, e.svc.AdminEraseUser(ctx, "usr_missing"), wxlogin.ENotFound)
	_, err = e.svc.AdminUserSessions(ctx, "usr_missing")
	wantCode(t, err, wxlogin.ENotFound)
	wantCode(t, e.svc.AdminRevokeSession(ctx, "ses_missing"), wxlogin.ENotFound)
}

func TestReady(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.svc.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
}
