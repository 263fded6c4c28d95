package auth_test

import (
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
