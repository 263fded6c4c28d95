package rediscoord_test

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/coord/rediscoord"
	"github.com/wxlogin/wxlogin/coord/rediscoord/redistest"
	"github.com/wxlogin/wxlogin/internal/testlog"
)

// Short timeouts, so that an outage is found and fallen back from quickly.
var outageOptions = rediscoord.Options{Heartbeat: 100 * time.Millisecond, Timeout: 300 * time.Millisecond, RetryAfter: 300 * time.Millisecond}

// TestRedisOutage takes Redis away from two instances, by stopping the
// server (connections refused) and by pausing it (connections open, nothing
// answers: only the heartbeat finds that), and checks that nobody is logged
// out, logins go on, no revoked token is accepted, and that everything is
// shared again once Redis is back.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		down, backUp func(*redistest.Server)
	}{
		{"stopped and restarted", (*redistest.Server).Stop, (*redistest.Server).Restart},
		{"paused and resumed", (*redistest.Server).Pause, (*redistest.Server).Resume},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.Start(t)
			d := newDeployment(t, 2, srv.URL(), redistest.Prefix(), outageOptions)
			a, b := d.instances[0], d.instances[1]
			login := func(in *instance, user string) auth.LoginResult {
				t.Helper()
				code, err := d.em.Login(app1, user)
				if err != nil {
					t.Fatal(err)
				}
				r, err := in.svc.Login(t.Context(), app1, code, phone)
				if err != nil {
					t.Fatalf("login of %s: %v", user, err)
				}
				return r
			}
			alice, bob := login(a, "alice"), login(a, "bob")
			waitVerified(t, b, alice.Token)
			waitVerified(t, b, bob.Token)

			tt.down(srv)
			waitBypassing(t, b, alice.Token)

			// Nobody is logged out; logins go on.
			for _, in := range d.instances {
				for _, tok := range []wxlogin.Secret{alice.Token, bob.Token} {
					if _, err := in.svc.Verify(t.Context(), tok.Reveal()); err != nil {
						t.Fatalf("a good token refused while Redis is down: %v", err)
					}
				}
			}
			carol := login(b, "carol")
			// Code sharing falls back per instance: a double tap on one
			// instance is still one exchange.
			calls := d.em.Stats().APIs["jscode2session"].Calls
			code, err := d.em.Login(app1, "dave")
			if err != nil {
				t.Fatal(err)
			}
			one := &deployment{em: d.em, instances: []*instance{a, a}}
			one.loginBoth(t, code)
			if n := d.em.Stats().APIs["jscode2session"].Calls - calls; n != 1 {
				t.Errorf("a double tap on one instance while Redis is down cost %d exchanges, want 1", n)
			}

			// A logout on A while the bus is down: the session is gone from
			// the store, and B, which cached it, verifies against the store.
			p, err := a.svc.Verify(t.Context(), bob.Token.Reveal())
			if err != nil {
				t.Fatal(err)
			}
			a.svc.Logout(t.Context(), p) // its publication fails; the store forgot the session
			for _, in := range d.instances {
				if _, err := in.svc.Verify(t.Context(), bob.Token.Reveal()); wxlogin.ErrorCode(err) != wxlogin.ESessionInvalid {
					t.Errorf("a token logged out while Redis was down verifies: %v", err)
				}
			}

			tt.backUp(srv)
			// Back: B caches again, hears A's logouts, and codes are shared
			// between the instances again.
			waitVerified(t, b, carol.Token)
			p, err = a.svc.Verify(t.Context(), carol.Token.Reveal())
			if err != nil {
				t.Fatal(err)
			}
			waitLogout(t, a, p)
			waitInvalid(t, b, carol.Token, 5*time.Second)
			if _, err := b.svc.Verify(t.Context(), alice.Token.Reveal()); err != nil {
				t.Errorf("after the outage: %v", err)
			}
			waitShared(t, d)
		})
	}
}

// waitBypassing verifies token on in until in reads the store for it: its
// subscription is then known lost.
func waitBypassing(t *testing.T, in *instance, token wxlogin.Secret) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		before := in.svc.CacheStats()
		if _, err := in.svc.Verify(t.Context(), token.Reveal()); err != nil {
			t.Fatal(err)
		}
		if in.svc.CacheStats().Misses > before.Misses {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the instance still serves from its cache 10s into the outage")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitLogout logs p out, retrying while the bus cannot take the
// publication yet (just after Redis came back).
func waitLogout(t *testing.T, in *instance, p wxlogin.Principal) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := in.svc.Logout(t.Context(), p)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("logout after the outage: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitShared sends codes to both instances at once until one costs a single
// exchange (the instances' clients stop falling back RetryAfter after their
// last failure).
func waitShared(t *testing.T, d *deployment) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		calls := d.em.Stats().APIs["jscode2session"].Calls
		code, err := d.em.Login(app1, "erin")
		if err != nil {
			t.Fatal(err)
		}
		res, errs := d.tryBoth(t, code)
		n := d.em.Stats().APIs["jscode2session"].Calls - calls
		if n == 1 && errs[0] == nil && errs[1] == nil && res[0].User.ID == res[1].User.ID {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the outage a code sent to both instances still costs %d exchanges (errors %v)", n, errs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFallbacksHoldPerInstance: with Redis gone, limits and unfinished
// registrations are this process's, not switched off.
func TestFallbacksHoldPerInstance(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := newClient(t, srv.URL(), redistest.Prefix(), newKeys(t), outageOptions)
	srv.Stop()
	ctx, now := t.Context(), time.Now()
	l := c.RateLimiter()
	lim := auth.Limit{Rate: 1, Burst: 1}
	if ok, _, err := l.Allow(ctx, "login_ip:192.0.2.1", lim, now); !ok || err != nil {
		t.Fatalf("first request with Redis down: %v, %v; want admitted", ok, err)
	}
	if ok, wait, err := l.Allow(ctx, "login_ip:192.0.2.1", lim, now); ok || err != nil || wait != time.Second {
		t.Errorf("second request with Redis down: %v, %v, %v; want refused for 1s by the fallback", ok, wait, err)
	}
	u := c.UnfinishedRegistrations()
	if err := u.Add(ctx, "usr_1", now); err != nil {
		t.Fatal(err)
	}
	if ok, err := u.Take(ctx, "usr_1", now); !ok || err != nil {
		t.Errorf("an unfinished registration recorded while Redis was down: %v, %v; want taken", ok, err)
	}
	if _, _, err := c.TokenCache().Get(ctx, "wxapp"); err == nil {
		t.Error("the token cache read a stopped Redis without an error")
	}
}

// When the subscription's heartbeat finds Redis silent (paused: the
// connections stay open), the Client's other calls fall back at once
// (ErrDown) rather than each waiting out its timeout on the same dead
// server.
func TestSilentSubscriptionRestsTheClient(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	o := outageOptions
	o.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	c := newClient(t, srv.URL(), redistest.Prefix(), newKeys(t), o)
	states := make(chan bool, 16)
	stop := c.Revocations().Subscribe(func(auth.Revocation) {}, func(live bool) { states <- live })
	defer stop()
	wait := func(want bool) {
		t.Helper()
		select {
		case got := <-states:
			if got != want {
				t.Fatalf("live(%v), want live(%v)", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no live(%v) within 5 s", want)
		}
	}
	wait(true)
	if err := c.Ping(t.Context()); err != nil {
		t.Fatalf("Ping before the pause: %v", err)
	}
	srv.Pause()
	defer srv.Resume()
	wait(false)
	if err := c.Ping(t.Context()); !errors.Is(err, rediscoord.ErrDown) {
		t.Errorf("Ping right after the heartbeat found Redis silent = %v, want ErrDown (no wait on the dead server)", err)
	}
}

// A subscription that is (re)subscribing when Redis falls silent, as after
// an outage while it waits between attempts, finds it silent too: its
// connection is made but never answers, and the Client's other calls fall
// back at once as they do when a live subscription's heartbeat goes
// unanswered.
func TestSubscribingToSilentRedisRestsTheClient(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	var logs testlog.Buffer
	o := outageOptions
	o.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(&logs, testWriter{t}), nil))
	c := newClient(t, srv.URL(), redistest.Prefix(), newKeys(t), o)
	srv.Pause()
	defer srv.Resume()
	stop := c.Revocations().Subscribe(func(auth.Revocation) {}, func(bool) {})
	defer stop()
	// Only the subscription talks to Redis here: the Client rests once it
	// took the silence for what it is (errSilent's words in the log).
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "did not answer a ping") {
		if time.Now().After(deadline) {
			t.Fatalf("10 s subscribing to a paused Redis, and the Client was never told to fall back; log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.Ping(t.Context()); !errors.Is(err, rediscoord.ErrDown) {
		t.Errorf("Ping once the subscription found Redis silent = %v, want ErrDown", err)
	}
}
