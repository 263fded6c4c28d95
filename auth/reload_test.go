package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/keyring"
)

// live returns e's current settings with apps replaced by those of ids.
func (e *env) liveWith(ids ...string) auth.LiveSettings {
	ls := auth.LiveSettings{Keys: e.cfg.Keys, Limits: e.cfg.Limits}
	for _, a := range e.cfg.Apps {
		for _, id := range ids {
			if a.AppID == id {
				ls.Apps = append(ls.Apps, a)
			}
		}
	}
	return ls
}

// TestReloadRemovedAppEndsItsSessionsAtOnce: a cached session of an app a
// reload removes fails at once; the other app's sessions go on; adding the
// app back brings its stored sessions back.
func TestReloadRemovedAppEndsItsSessionsAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	a := e.login(ctx, app1, "alice")
	b := e.login(ctx, app2, "bob")
	e.verify(ctx, a.Token) // cached now
	e.verify(ctx, b.Token)

	if err := e.svc.Reload(ctx, e.liveWith(app2)); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Verify(ctx, a.Token.Reveal())
	wantCode(t, err, wxlogin.ESessionInvalid)
	e.verify(ctx, b.Token)
	_, err = e.svc.Login(ctx, app1, e.code(app1, "alice"), auth.Client{IP: "192.0.2.1"})
	wantCode(t, err, wxlogin.EUnknownApp)
	if got := len(e.svc.Apps()); got != 1 {
		t.Errorf("Apps() has %d apps after the reload, want 1", got)
	}

	if err := e.svc.Reload(ctx, e.liveWith(app1, app2)); err != nil {
		t.Fatal(err)
	}
	if p := e.verify(ctx, a.Token); p.AppID != app1 {
		t.Errorf("the re-added app's session verifies as %q", p.AppID)
	}
}

// TestReloadChangesTheAppSecret: WeChat is called with the secret of the
// latest reload.
func TestReloadChangesTheAppSecret(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	ls := e.liveWith(app1)
	right := ls.Apps[0].Secret
	ls.Apps[0].Secret = "not-the-secret-wechat-knows"
	if err := e.svc.Reload(ctx, ls); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Login(ctx, app1, e.code(app1, "alice"), auth.Client{IP: "192.0.2.1"})
	wantCode(t, err, wxlogin.EUpstreamRejected)

	ls.Apps[0].Secret = right
	if err := e.svc.Reload(ctx, ls); err != nil {
		t.Fatal(err)
	}
	e.login(ctx, app1, "alice")
}

// TestReloadKeepsRateLimitBuckets: a reload does not refill the buckets.
func TestReloadKeepsRateLimitBuckets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, func(_ *env, c *auth.Config) {
		c.Limits.LoginPerIP = auth.Limit{Rate: 0.001, Burst: 2}
	})
	e.login(ctx, app1, "alice")
	e.login(ctx, app1, "bob")
	if err := e.svc.Reload(ctx, e.liveWith(app1, app2, app3)); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Login(ctx, app1, e.code(app1, "carol"), auth.Client{IP: "192.0.2.1"})
	wantCode(t, err, wxlogin.ERateLimited)
}

// TestReloadMasterKeys: a new primary key may be added; a key still sealing
// stored values may not be dropped until rotate-key re-sealed them; the
// primary may not be dropped in the reload that replaces it. A refused
// reload changes nothing.
func TestReloadMasterKeys(t *testing.T) {
	t.Parallel()
	t.Run("count queries", func(t *testing.T) { t.Parallel(); testReloadMasterKeys(t, nil) })
	// A store without the count queries is asked through the re-seal
	// walks.
	t.Run("walks", func(t *testing.T) {
		t.Parallel()
		testReloadMasterKeys(t, func(e *env, c *auth.Config) {
			stores := struct {
				wxlogin.UserStore
				wxlogin.SessionStore
			}{e.db, e.db}
			c.Users, c.Sessions = stores, stores
		})
	})
}

func testReloadMasterKeys(t *testing.T, opt func(*env, *auth.Config)) {
	ctx := context.Background()
	var opts []func(*env, *auth.Config)
	if opt != nil {
		opts = append(opts, opt)
	}
	e := newEnv(t, opts...)
	tok := e.login(ctx, app1, "alice").Token
	k2 := keyring.Generate("k2")
	ring := func(keys ...keyring.Key) *keyring.Keyring {
		k, err := keyring.New(keys...)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ls := e.liveWith(app1, app2, app3)

	ls.Keys = ring(k2)
	err := e.svc.Reload(ctx, ls)
	var ce *auth.ConfigError
	if !errors.As(err, &ce) || ce.Setting != "Keys" || !strings.Contains(ce.Problem, "k1") {
		t.Fatalf("dropping the primary k1 for k2: %v, want a ConfigError on Keys naming k1", err)
	}

	ls.Keys = ring(k2, e.key)
	if err := e.svc.Reload(ctx, ls); err != nil {
		t.Fatalf("adding k2 before k1: %v", err)
	}
	bob := e.login(ctx, app1, "bob").Token // sealed under k2

	ls.Keys = ring(k2)
	err = e.svc.Reload(ctx, ls)
	if !errors.As(err, &ce) || ce.Setting != "Keys" || !strings.Contains(ce.Problem, "k1 still seals 1 session keys") {
		t.Fatalf("dropping k1 that seals alice's session key: %v, want a ConfigError counting 1 session key", err)
	}
	// Refused: both keys are still in force, so alice's key still opens.
	if _, err := e.svc.RotateKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Reload(ctx, ls); err != nil {
		t.Fatalf("dropping k1 after rotate-key: %v", err)
	}
	e.verify(ctx, tok)
	e.verify(ctx, bob)
}

// TestReloadRefusesBadSettings: settings New would refuse change nothing.
func TestReloadRefusesBadSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	for _, ls := range []auth.LiveSettings{
		{Keys: e.cfg.Keys},
		{Apps: []wxlogin.App{{AppID: app1}}, Keys: e.cfg.Keys},
		{Apps: e.cfg.Apps},
		{Apps: e.cfg.Apps, Keys: e.cfg.Keys, Limits: auth.Limits{LoginPerIP: auth.Limit{Rate: 1, Burst: -1}}},
	} {
		var ce *auth.ConfigError
		if err := e.svc.Reload(ctx, ls); !errors.As(err, &ce) {
			t.Errorf("Reload(%+v) = %v, want a *ConfigError", ls, err)
		}
	}
	if got := len(e.svc.Apps()); got != len(e.cfg.Apps) {
		t.Errorf("%d apps after refused reloads, want %d", got, len(e.cfg.Apps))
	}
	e.login(ctx, app1, "alice")
}
