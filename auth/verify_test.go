package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/store/sqlitestore"
)

// countingStore wraps the real session store to count the calls Verify
// makes and, for the race test, to pause right after a SessionByToken read.
// The real store cannot be asked to pause; that is all this double adds.
type countingStore struct {
	wxlogin.SessionStore
	reads, touches atomic.Int64
	afterRead      atomic.Pointer[func()]
}

func (c *countingStore) SessionByToken(ctx context.Context, h wxlogin.TokenHash) (wxlogin.Session, error) {
	c.reads.Add(1)
	s, err := c.SessionStore.SessionByToken(ctx, h)
	if f := c.afterRead.Load(); f != nil {
		(*f)()
	}
	return s, err
}

func (c *countingStore) TouchSession(ctx context.Context, id string, lastSeen, idle time.Time) error {
	c.touches.Add(1)
	return c.SessionStore.TouchSession(ctx, id, lastSeen, idle)
}

func withCountingStore(cs **countingStore) func(*env, *auth.Config) {
	return func(e *env, c *auth.Config) {
		*cs = &countingStore{SessionStore: c.Sessions}
		c.Sessions = *cs
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	var cs *countingStore
	e := newEnv(t, withCountingStore(&cs))
	ctx := t.Context()
	r := e.login(ctx, app1, "alice")
	id := e.identity(app1, "alice")

	p := e.verify(ctx, r.Token)
	diff(t, "principal", wxlogin.Principal{
		SessionID: r.Session.ID, UserID: r.User.ID, AppID: app1, OpenID: id.OpenID, UnionID: id.UnionID,
		AccountID: "acc_" + r.User.ID[len("usr_"):], // an app of no Open Platform account: the user alone
		ExpiresAt: e.clock.Now().Add(auth.DefaultIdleTimeout),
	}, p)
	if r.AccountID != p.AccountID {
		t.Errorf("login's account %q, verify's %q", r.AccountID, p.AccountID)
	}
	if n := cs.reads.Load(); n != 1 {
		t.Fatalf("first verify: %d store reads, want 1", n)
	}
	// Hits: no store round trip and no write.
	for range 100 {
		e.verify(ctx, r.Token)
	}
	if reads, touches := cs.reads.Load(), cs.touches.Load(); reads != 1 || touches != 0 {
		t.Errorf("100 cached verifies: %d reads, %d touches; want 1 read in all and no touch", reads, touches)
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.login(t.Context(), app1, "alice")
	tok := r.Token.Reveal()
	tests := []struct{ name, token string }{
		{"empty", ""},
		{"garbage", "hello"},
		{"bearer left on", "Bearer " + tok},
		{"truncated", tok[:len(tok)-1]},
		{"unknown", "wxl_" + strings.Repeat("A", 43)},
		{"one character changed", tok[:10] + string(rune(tok[10]^1)) + tok[11:]},
		{"session id instead", r.Session.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.Verify(t.Context(), tt.token)
			wantCode(t, err, wxlogin.ESessionInvalid)
		})
	}
}

func TestVerifyExpiry(t *testing.T) {
	t.Parallel()
	const idle, absolute = 7 * 24 * time.Hour, 30 * 24 * time.Hour
	tests := []struct {
		name  string
		steps []time.Duration // clock advances, each followed by a verify
		valid []bool          // whether each verify succeeds
	}{
		{"idle timeout", []time.Duration{idle - time.Second, idle}, []bool{true, false}},
		{"idle timeout to the nanosecond", []time.Duration{idle}, []bool{false}},
		{"sliding renewal", []time.Duration{6 * 24 * time.Hour, 6 * 24 * time.Hour, 6 * 24 * time.Hour}, []bool{true, true, true}},
		{"absolute lifetime despite activity", []time.Duration{
			6 * 24 * time.Hour, 6 * 24 * time.Hour, 6 * 24 * time.Hour, 6 * 24 * time.Hour, 6*24*time.Hour - time.Second, time.Second,
		}, []bool{true, true, true, true, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := t.Context()
			r := e.login(ctx, app1, "alice")
			e.verify(ctx, r.Token) // cached from here on
			start := e.clock.Now()
			for i, d := range tt.steps {
				e.clock.Advance(d)
				p, err := e.svc.Verify(ctx, r.Token.Reveal())
				if !tt.valid[i] {
					wantCode(t, err, wxlogin.ESessionInvalid)
					continue
				}
				if err != nil {
					t.Fatalf("step %d (%v after login): %v", i, e.clock.Now().Sub(start), err)
				}
				want := e.clock.Now().Add(idle)
				if abs := start.Add(absolute); abs.Before(want) {
					want = abs
				}
				if !p.ExpiresAt.Equal(want) {
					t.Errorf("step %d: ExpiresAt = %v, want %v", i, p.ExpiresAt, want)
				}
			}
		})
	}
}

// The expires_at a client is given is a promise: until that instant the
// token works (unless revoked). Between two throttled touches the store's
// idle deadline does not move, so neither may the promise.
func TestVerifyExpiresAtIsKept(t *testing.T) {
	t.Parallel()
	const idle = auth.DefaultIdleTimeout
	tests := []struct {
		name    string
		advance time.Duration // from login to the verify whose ExpiresAt is promised
		want    time.Duration // that ExpiresAt, after login
	}{
		{"right after login", 0, idle},
		{"between touches: the last touch counts", 30 * time.Second, idle},
		{"a touch is written", auth.DefaultTouchInterval, auth.DefaultTouchInterval + idle},
	}
	// Each case is probed in a fresh service, with no request between the
	// promise and the probe: just before the promised instant the token
	// works, at it the token is refused.
	probes := []struct {
		at    time.Duration // relative to the promised ExpiresAt
		valid bool
	}{{-time.Nanosecond, true}, {0, false}}
	for _, tt := range tests {
		for _, pr := range probes {
			t.Run(fmt.Sprintf("%s/probe %v", tt.name, pr.at), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				ctx := t.Context()
				r := e.login(ctx, app1, "alice")
				login := e.clock.Now()
				e.clock.Advance(tt.advance)
				p := e.verify(ctx, r.Token)
				if want := login.Add(tt.want); !p.ExpiresAt.Equal(want) {
					t.Errorf("ExpiresAt = %v, want %v", p.ExpiresAt, want)
				}
				e.clock.Advance(p.ExpiresAt.Add(pr.at).Sub(e.clock.Now()))
				_, err := e.svc.Verify(ctx, r.Token.Reveal())
				if pr.valid && err != nil {
					t.Fatalf("verify %v before the promised %v: %v", -pr.at, p.ExpiresAt, err)
				}
				if !pr.valid {
					wantCode(t, err, wxlogin.ESessionInvalid)
				}
			})
		}
	}
}

func TestVerifyTouchThrottled(t *testing.T) {
	t.Parallel()
	var cs *countingStore
	e := newEnv(t, withCountingStore(&cs))
	ctx := t.Context()
	r := e.login(ctx, app1, "alice")
	login := e.clock.Now()
	lastSeen := func() time.Time {
		t.Helper()
		s, err := e.db.Session(ctx, r.Session.ID)
		if err != nil {
			t.Fatal(err)
		}
		return s.LastSeenAt
	}
	steps := []struct {
		advance     time.Duration
		wantSeen    time.Duration // LastSeenAt in the store, after login
		wantTouches int64
	}{
		{0, 0, 0},
		{30 * time.Second, 0, 0},
		{29 * time.Second, 0, 0},
		{time.Second, time.Minute, 1}, // a minute since the last write
		{59 * time.Second, time.Minute, 1},
		{time.Second, 2 * time.Minute, 2},
	}
	for i, st := range steps {
		e.clock.Advance(st.advance)
		// Several concurrent verifies write at most one touch.
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() { e.verify(ctx, r.Token) })
		}
		wg.Wait()
		if got, want := lastSeen(), login.Add(st.wantSeen); !got.Equal(want) {
			t.Errorf("step %d: stored LastSeenAt = %v, want %v", i, got, want)
		}
		if got := cs.touches.Load(); got != st.wantTouches {
			t.Errorf("step %d: %d touches written, want %d", i, got, st.wantTouches)
		}
	}
}

// Every way of ending a session makes its token fail at once, even while
// the session sits in the verify cache.
func TestRevocationIsImmediate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		revoke func(ctx context.Context, e *env, p wxlogin.Principal) error
		other  bool // whether the user's other session dies too
	}{
		{"logout", func(ctx context.Context, e *env, p wxlogin.Principal) error {
			return e.svc.Logout(ctx, p)
		}, false},
		{"revoke own session", func(ctx context.Context, e *env, p wxlogin.Principal) error {
			return e.svc.RevokeSession(ctx, p, p.SessionID)
		}, false},
		{"revoke all sessions", func(ctx context.Context, e *env, p wxlogin.Principal) error {
			return e.svc.RevokeAllSessions(ctx, p)
		}, true},
		{"admin revokes the session", func(ctx context.Context, e *env, p wxlogin.Principal) error {
			return e.svc.AdminRevokeSession(ctx, p.SessionID)
		}, false},
		{"admin revokes the user's sessions", func(ctx context.Context, e *env, p wxlogin.Principal) error {
			return e.svc.AdminRevokeUserSessions(ctx, p.UserID)
		}, true},
		{"erase me", func(ctx context.Context, e *env, p wxlogin.Principal) error {
			return e.svc.EraseMe(ctx, p)
		}, true},
		{"admin erases the user", func(ctx context.Context, e *env, p wxlogin.Principal) error {
			return e.svc.AdminEraseUser(ctx, p.UserID)
		}, true},
		{"dev expires the session", func(ctx context.Context, e *env, p wxlogin.Principal) error {
			return e.svc.ExpireSession(ctx, p.SessionID)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := t.Context()
			r := e.login(ctx, app1, "alice")
			other := e.login(ctx, app1, "alice")
			p := e.verify(ctx, r.Token)
			e.verify(ctx, other.Token)
			if err := tt.revoke(ctx, e, p); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.Verify(ctx, r.Token.Reveal())
			wantCode(t, err, wxlogin.ESessionInvalid)
			_, err = e.svc.Verify(ctx, other.Token.Reveal())
			if tt.other {
				wantCode(t, err, wxlogin.ESessionInvalid)
			} else if err != nil {
				t.Errorf("the user's other session died too: %v", err)
			}
		})
	}
}

// A Verify that read the session from the store just before a Logout
// deleted it must not put it into the cache afterwards.
func TestRevocationRaceWithVerify(t *testing.T) {
	t.Parallel()
	var cs *countingStore
	e := newEnv(t, withCountingStore(&cs))
	ctx := t.Context()
	r := e.login(ctx, app1, "alice")
	p := wxlogin.Principal{SessionID: r.Session.ID, UserID: r.User.ID, AppID: app1}

	read, resume := make(chan struct{}), make(chan struct{})
	pause := func() {
		close(read)
		<-resume
	}
	cs.afterRead.Store(&pause)
	done := make(chan error)
	go func() {
		_, err := e.svc.Verify(ctx, r.Token.Reveal()) // misses, reads, pauses
		done <- err
	}()
	<-read
	cs.afterRead.Store(nil)
	if err := e.svc.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	close(resume)
	<-done // either answer is right for a Verify concurrent with the Logout

	_, err := e.svc.Verify(ctx, r.Token.Reveal())
	wantCode(t, err, wxlogin.ESessionInvalid)
}

func TestVerifyStoreDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	r := e.login(ctx, app1, "alice")
	e.db.Close()
	_, err := e.svc.Verify(ctx, r.Token.Reveal())
	wantCode(t, err, wxlogin.EStoreUnavailable)
	wantCode(t, e.svc.Ready(ctx), wxlogin.EStoreUnavailable)
}

func TestSessionsList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	a := e.login(ctx, app1, "alice")
	e.clock.Advance(time.Minute)
	b, err := e.svc.Login(ctx, app1, e.code(app1, "alice"), auth.Client{IP: "198.51.100.9", UserAgent: strings.Repeat("x", 1000)})
	if err != nil {
		t.Fatal(err)
	}
	bob := e.login(ctx, app1, "bob")
	pa := e.verify(ctx, a.Token)

	list, err := e.svc.Sessions(ctx, pa)
	if err != nil {
		t.Fatal(err)
	}
	// Verifying a a minute after its login wrote a touch.
	touched := a.Session.CreatedAt.Add(time.Minute)
	diff(t, "sessions", []auth.SessionInfo{
		{ID: a.Session.ID, CreatedAt: a.Session.CreatedAt, LastSeenAt: touched,
			ExpiresAt: touched.Add(auth.DefaultIdleTimeout), UserAgent: "test", IP: "192.0.2.1", Current: true},
		{ID: b.Session.ID, CreatedAt: b.Session.CreatedAt, LastSeenAt: b.Session.LastSeenAt,
			ExpiresAt: b.Session.Deadline(), UserAgent: strings.Repeat("x", 256), IP: "198.51.100.9"},
	}, list)

	// Another user's session is not found, and stays alive.
	wantCode(t, e.svc.RevokeSession(ctx, pa, bob.Session.ID), wxlogin.ENotFound)
	wantCode(t, e.svc.RevokeSession(ctx, pa, "ses_nope"), wxlogin.ENotFound)
	e.verify(ctx, bob.Token)

	// Revoking b leaves a; expired sessions are not listed.
	if err := e.svc.RevokeSession(ctx, pa, b.Session.ID); err != nil {
		t.Fatal(err)
	}
	list, _ = e.svc.Sessions(ctx, pa)
	if len(list) != 1 || list[0].ID != a.Session.ID {
		t.Errorf("after revoking b: %+v", list)
	}
	if err := e.svc.ExpireSession(ctx, a.Session.ID); err != nil {
		t.Fatal(err)
	}
	list, _ = e.svc.Sessions(ctx, pa)
	if len(list) != 0 {
		t.Errorf("expired session listed: %+v", list)
	}
	admin, err := e.svc.AdminUserSessions(ctx, bob.User.ID)
	if err != nil || len(admin) != 1 || admin[0].ID != bob.Session.ID || admin[0].Current {
		t.Errorf("admin list of bob: %+v, %v", admin, err)
	}
}

func TestSweepDeletesExpiredSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	old := e.login(ctx, app1, "alice")
	e.clock.Advance(6 * 24 * time.Hour)
	fresh := e.login(ctx, app1, "alice")
	e.clock.Advance(2 * 24 * time.Hour)
	auth.Sweep(e.svc, ctx)
	if _, err := e.db.Session(ctx, old.Session.ID); !errors.Is(err, wxlogin.ErrNotFound) {
		t.Errorf("expired session still stored: %v", err)
	}
	if _, err := e.db.Session(ctx, fresh.Session.ID); err != nil {
		t.Errorf("live session swept: %v", err)
	}
}

// A session of an app taken out of the configuration no longer verifies.
func TestVerifyAppRemoved(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	r1 := e.login(ctx, app1, "alice")
	r2 := e.login(ctx, app2, "alice")
	cfg := e.cfg
	cfg.Apps = cfg.Apps[:1]
	svc, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.Verify(ctx, r1.Token.Reveal()); err != nil {
		t.Errorf("session of a configured app: %v", err)
	}
	_, err = svc.Verify(ctx, r2.Token.Reveal())
	wantCode(t, err, wxlogin.ESessionInvalid)
}

// recordingBus is a LocalRevocations that also records what was published.
type recordingBus struct {
	auth.LocalRevocations
	mu        sync.Mutex
	published []auth.Revocation
}

func (b *recordingBus) Publish(ctx context.Context, r auth.Revocation) error {
	b.mu.Lock()
	b.published = append(b.published, r)
	b.mu.Unlock()
	return b.LocalRevocations.Publish(ctx, r)
}

// Two instances on one store: a revocation on one reaches the other's
// cache at once through the bus; without a bus the touch bounds the delay.
func TestRevocationAcrossInstances(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		withBus bool
	}{
		{"with a revocation bus", true},
		{"without a bus", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := &recordingBus{}
			e := newEnv(t, func(e *env, c *auth.Config) {
				if tt.withBus {
					c.Revocations = b
				}
			})
			other, err := auth.New(e.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			ctx := t.Context()

			r := e.login(ctx, app1, "alice")
			p := e.verify(ctx, r.Token)
			if _, err := other.Verify(ctx, r.Token.Reveal()); err != nil { // cached there too
				t.Fatal(err)
			}
			if err := e.svc.Logout(ctx, p); err != nil {
				t.Fatal(err)
			}
			_, err = other.Verify(ctx, r.Token.Reveal())
			if tt.withBus {
				wantCode(t, err, wxlogin.ESessionInvalid)
				b.mu.Lock()
				diff(t, "published", []auth.Revocation{{SessionID: r.Session.ID}}, b.published)
				b.mu.Unlock()
				return
			}
			if err != nil {
				t.Fatalf("without a bus the other instance still has it cached, yet: %v", err)
			}
			e.clock.Advance(auth.DefaultTouchInterval) // the touch rechecks
			_, err = other.Verify(ctx, r.Token.Reveal())
			wantCode(t, err, wxlogin.ESessionInvalid)
		})
	}
}

// outageStore is the real SQLite store with an outage switch: while down,
// Ping and token lookups fail as an unreachable database would.
type outageStore struct {
	*sqlitestore.DB
	down atomic.Bool
}

var errOutage = fmt.Errorf("%w: connection refused", wxlogin.ErrUnavailable)

func (o *outageStore) Ping(ctx context.Context) error {
	if o.down.Load() {
		return errOutage
	}
	return o.DB.Ping(ctx)
}

func (o *outageStore) SessionByToken(ctx context.Context, h wxlogin.TokenHash) (wxlogin.Session, error) {
	if o.down.Load() {
		return wxlogin.Session{}, errOutage
	}
	return o.DB.SessionByToken(ctx, h)
}

// TestVerifyFailsClosedDuringOutage: a cached session must not verify while
// the store is known to be down (forward-auth answers 503, never 200), and
// verifies again once a health check sees the store back.
func TestVerifyFailsClosedDuringOutage(t *testing.T) {
	t.Parallel()
	var store *outageStore
	e := newEnv(t, func(e *env, c *auth.Config) {
		store = &outageStore{DB: e.db}
		c.Sessions = store
		c.HealthInterval = -1 // the test runs the health checks itself
	})
	ctx := t.Context()
	r := e.login(ctx, app1, "alice")
	e.verify(ctx, r.Token) // now cached

	store.down.Store(true)
	wantCode(t, e.svc.Ready(ctx), wxlogin.EStoreUnavailable)
	_, err := e.svc.Verify(ctx, r.Token.Reveal())
	wantCode(t, err, wxlogin.EStoreUnavailable)

	store.down.Store(false)
	if err := e.svc.Ready(ctx); err != nil {
		t.Fatalf("Ready after the outage: %v", err)
	}
	if _, err := e.svc.Verify(ctx, r.Token.Reveal()); err != nil {
		t.Fatalf("Verify after the outage: %v", err)
	}
}

// TestVerifyMissDuringOutageRaisesTheFlag: a failed lookup is itself news of
// an outage, so the cached sessions fail too until a health check passes.
func TestVerifyMissDuringOutageRaisesTheFlag(t *testing.T) {
	t.Parallel()
	var store *outageStore
	e := newEnv(t, func(e *env, c *auth.Config) {
		store = &outageStore{DB: e.db}
		c.Sessions = store
		c.HealthInterval = -1
	})
	ctx := t.Context()
	cached := e.login(ctx, app1, "alice")
	e.verify(ctx, cached.Token)
	uncached := e.login(ctx, app1, "bob")

	store.down.Store(true)
	_, err := e.svc.Verify(ctx, uncached.Token.Reveal())
	wantCode(t, err, wxlogin.EStoreUnavailable)
	_, err = e.svc.Verify(ctx, cached.Token.Reveal())
	wantCode(t, err, wxlogin.EStoreUnavailable)
}

// flakyBus is a revocation bus whose subscription the test loses and
// restores by hand; it delivers nothing, as a bus that lost its connection.
type flakyBus struct {
	mu   sync.Mutex
	live func(bool)
}

func (b *flakyBus) Publish(context.Context, auth.Revocation) error { return nil }

func (b *flakyBus) Subscribe(_ func(auth.Revocation), live func(bool)) func() {
	b.mu.Lock()
	b.live = live
	b.mu.Unlock()
	return func() {}
}

func (b *flakyBus) set(live bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.live(live)
}

// TestVerifyWithoutLiveSubscription: until the revocation subscription is
// live, and while it is lost, a cached session is not trusted: a session
// another instance deleted (here: deleted in the store behind the
// service's back) fails at once instead of at the next touch. Once live
// again, the cache is used, and was emptied on the way.
func TestVerifyWithoutLiveSubscription(t *testing.T) {
	t.Parallel()
	b := &flakyBus{}
	e := newEnv(t, func(e *env, c *auth.Config) { c.Revocations = b })
	ctx := t.Context()

	// Not live yet: nothing is cached.
	r1 := e.login(ctx, app1, "alice")
	e.verify(ctx, r1.Token)
	if err := e.db.DeleteSession(ctx, r1.Session.ID); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Verify(ctx, r1.Token.Reveal())
	wantCode(t, err, wxlogin.ESessionInvalid)

	// Live: cached as usual (a deletion behind its back goes unseen until
	// the touch, which is what the bus is there for).
	b.set(true)
	r2 := e.login(ctx, app1, "bob")
	e.verify(ctx, r2.Token)
	r3 := e.login(ctx, app1, "carol")
	e.verify(ctx, r3.Token)
	if err := e.db.DeleteSession(ctx, r2.Session.ID); err != nil {
		t.Fatal(err)
	}
	e.verify(ctx, r2.Token)

	// Lost: the cache is dropped and bypassed.
	b.set(false)
	_, err = e.svc.Verify(ctx, r2.Token.Reveal())
	wantCode(t, err, wxlogin.ESessionInvalid)
	e.verify(ctx, r3.Token) // read from the store, not cached
	if err := e.db.DeleteSession(ctx, r3.Session.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Verify(ctx, r3.Token.Reveal())
	wantCode(t, err, wxlogin.ESessionInvalid)
}

// failingBus is a LocalRevocations whose first fails publications fail, as a
// bus that cannot reach its server for a moment.
type failingBus struct {
	auth.LocalRevocations
	mu        sync.Mutex
	fails     int
	attempts  int
	delivered chan auth.Revocation
}

func (b *failingBus) Publish(ctx context.Context, r auth.Revocation) error {
	b.mu.Lock()
	b.attempts++
	fail := b.attempts <= b.fails
	b.mu.Unlock()
	if fail {
		return errors.New("bus: connection refused")
	}
	b.delivered <- r
	return b.LocalRevocations.Publish(ctx, r)
}

// A logout whose revocation cannot be published at once still succeeds: the
// session is already gone from the store, and an error would send the
// client to retry a logout that worked. The publication is retried in the
// background until it gets through.
func TestLogoutSucceedsWhenPublishFails(t *testing.T) {
	t.Parallel()
	b := &failingBus{fails: 2, delivered: make(chan auth.Revocation, 1)}
	e := newEnv(t, func(e *env, c *auth.Config) { c.Revocations = b })
	ctx := t.Context()

	r := e.login(ctx, app1, "alice")
	p := e.verify(ctx, r.Token)
	if err := e.svc.Logout(ctx, p); err != nil {
		t.Fatalf("logout answered %v after deleting the session", err)
	}
	_, err := e.svc.Verify(ctx, r.Token.Reveal())
	wantCode(t, err, wxlogin.ESessionInvalid)
	select {
	case got := <-b.delivered:
		diff(t, "republished", auth.Revocation{SessionID: r.Session.ID}, got)
	case <-time.After(30 * time.Second):
		t.Fatal("the revocation was never published after its first attempts failed")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.attempts != 3 {
		t.Errorf("%d publish attempts, want 3 (two failures, then the one that got through)", b.attempts)
	}
}
