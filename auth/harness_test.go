package auth_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/internal/testlog"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/store/sqlitestore"
	"github.com/wxlogin/wxlogin/wechat"
)

// The dev apps of the emulator: two bound to one Open Platform account (so
// they give unionids), one not.
const (
	app1 = "wxdec0de0000000001"
	app2 = "wxdec0de0000000002"
	app3 = "wxdec0de0000000003"
)

// clock is a fake clock shared by the service, the WeChat client and the
// emulator. Tests advance it; nothing sleeps. It is lock-free so that it
// does not serialise parallel benchmarks.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// env is one test's world: the emulator under httptest, the real WeChat
// client pointed at it, SQLite in a temp dir, a fresh master key, and the
// service under test, all on one fake clock.
type env struct {
	t     testing.TB
	clock *clock
	em    *emulator.Emulator
	wc    *wechat.Client
	db    *sqlitestore.DB
	key   keyring.Key // the one master key
	keys  *keyring.Keyring
	logs  *testlog.Buffer
	cfg   auth.Config
	svc   *auth.Service
}

// newEnv builds an env; opts adjust the service's Config before New.
func newEnv(t testing.TB, opts ...func(*env, *auth.Config)) *env {
	t.Helper()
	e := &env{t: t, clock: newClock(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)), logs: &testlog.Buffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	e.em = &emulator.Emulator{Now: e.clock.Now, Logger: log}
	srv := httptest.NewServer(e.em)
	t.Cleanup(srv.Close)
	e.wc = &wechat.Client{
		BaseURL:    srv.URL,
		HTTPClient: srv.Client(),
		Logger:     log,
		Now:        e.clock.Now,
		// Retries back off without sleeping: the clock is fake.
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	}

	db, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "wxlogin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db

	e.key = keyring.Generate("k1")
	e.keys, err = keyring.New(e.key)
	if err != nil {
		t.Fatal(err)
	}
	var apps []wxlogin.App
	for _, a := range emulator.DevApps() {
		apps = append(apps, wxlogin.App{AppID: a.AppID, Secret: wxlogin.Secret(a.Secret)})
	}
	e.cfg = auth.Config{
		Apps:          apps,
		Users:         db,
		Sessions:      db,
		WeChat:        e.wc,
		Keys:          e.keys,
		Now:           e.clock.Now,
		Logger:        log,
		SweepInterval: -1, // tests sweep by hand
	}
	for _, o := range opts {
		o(e, &e.cfg)
	}
	e.svc, err = auth.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.svc.Close() })
	return e
}

// code is wx.login on the emulator.
func (e *env) code(appid, user string) string {
	e.t.Helper()
	c, err := e.em.Login(appid, user)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// login logs user in to appid with a fresh code.
func (e *env) login(ctx context.Context, appid, user string) auth.LoginResult {
	e.t.Helper()
	r, err := e.svc.Login(ctx, appid, e.code(appid, user), auth.Client{IP: "192.0.2.1", UserAgent: "test"})
	if err != nil {
		e.t.Fatalf("login %s/%s: %v", appid, user, err)
	}
	return r
}

// verify verifies a token that must be good.
func (e *env) verify(ctx context.Context, tok wxlogin.Secret) wxlogin.Principal {
	e.t.Helper()
	p, err := e.svc.Verify(ctx, tok.Reveal())
	if err != nil {
		e.t.Fatalf("verify: %v", err)
	}
	return p
}

// calls returns how many times the emulator served api.
func (e *env) calls(api string) int { return e.em.Stats().APIs[api].Calls }

// identity is the emulator's openid/unionid of a user.
func (e *env) identity(appid, user string) emulator.Identity {
	e.t.Helper()
	id, err := e.em.Identity(appid, user)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// wantCode fails unless err carries the application code want.
func wantCode(t testing.TB, err error, want string) *wxlogin.Error {
	t.Helper()
	if got := wxlogin.ErrorCode(err); got != want {
		t.Fatalf("error code = %q, want %q (err: %v)", got, want, err)
	}
	var we *wxlogin.Error
	errors.As(err, &we)
	return we
}

// diff fails with a (-want +got) diff when want and got differ.
func diff(t testing.TB, what string, want, got any, opts ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, opts...); d != "" {
		t.Fatalf("%s mismatch (-want +got):\n%s", what, d)
	}
}
