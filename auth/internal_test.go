package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/wechat"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func TestLimiterEvictsIdleBuckets(t *testing.T) {
	t.Parallel()
	l := &LocalRateLimiter{}
	lim := Limit{Rate: 10, Burst: 20} // refills in 2 s
	allow := func(key string, now time.Time) (bool, time.Duration) {
		ok, wait, err := l.Allow(t.Context(), key, lim, now)
		if err != nil {
			t.Fatal(err)
		}
		return ok, wait
	}
	for i := range 1000 {
		if ok, _ := allow("192.0.2."+strconv.Itoa(i), t0); !ok {
			t.Fatal("a first request was limited")
		}
	}
	if n := l.size(); n != 1000 {
		t.Fatalf("%d buckets, want 1000", n)
	}
	allow("busy", t0.Add(2*time.Second))
	allow("busy", t0.Add(3*time.Second)) // sweeps: the others have refilled
	if n := l.size(); n != 1 {
		t.Errorf("%d buckets after the idle ones refilled, want 1 (the busy one)", n)
	}
	// An evicted bucket comes back full: eviction changed nothing visible.
	for range 20 {
		if ok, _ := allow("192.0.2.1", t0.Add(4*time.Second)); !ok {
			t.Fatal("a re-created bucket is not full")
		}
	}
	if ok, wait := allow("192.0.2.1", t0.Add(4*time.Second)); ok || wait != 100*time.Millisecond {
		t.Errorf("21st request: ok=%v wait=%v, want refused with 100ms", ok, wait)
	}
}

func TestExchangeSurvivesLeaderLeaving(t *testing.T) {
	t.Parallel()
	x := newTestExchanges(time.Minute)
	now := func() time.Time { return t0 }
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	call := func(ctx context.Context) (*wechat.Session, error) {
		if calls.Add(1) == 1 {
			close(entered)
		}
		<-release
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return &wechat.Session{OpenID: "o1", SessionKey: "k"}, nil
	}
	leaderCtx, cancel := context.WithCancel(t.Context())
	leaderDone := make(chan error)
	go func() {
		_, _, err := x.do(leaderCtx, "app", "code", phone, now, call)
		leaderDone <- err
	}()
	<-entered // the exchange is in flight
	cancel()
	if err := <-leaderDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: %v, want its own cancellation", err)
	}
	followerDone := make(chan wechat.Session)
	go func() {
		s, shared, err := x.do(t.Context(), "app", "code", phone, now, call)
		if err != nil || !shared {
			t.Errorf("follower: shared=%v err=%v", shared, err)
		}
		followerDone <- s
	}()
	close(release)
	if s := <-followerDone; s.OpenID != "o1" {
		t.Errorf("follower got %+v", s)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestExchangeForgetsKeysAndCodes(t *testing.T) {
	t.Parallel()
	x := newTestExchanges(time.Minute)
	clock := t0
	now := func() time.Time { return clock }
	ok := func(context.Context) (*wechat.Session, error) {
		return &wechat.Session{OpenID: "o1", SessionKey: "k"}, nil
	}
	if _, _, err := x.do(t.Context(), "app", "code", phone, now, ok); err != nil {
		t.Fatal(err)
	}
	clock = t0.Add(time.Minute)
	x.local().Sweep(clock)
	x.local().mu.Lock()
	for _, e := range x.local().m {
		if e.rec.Answer != nil {
			t.Error("session_key kept in memory past the reuse window")
		}
	}
	x.local().mu.Unlock()
	if _, _, err := x.do(t.Context(), "app", "code", phone, now, ok); !errors.Is(err, errCodeUsed) {
		t.Errorf("reuse after the window: %v, want errCodeUsed", err)
	}
	clock = t0.Add(codeLifetime + 2*time.Minute)
	x.local().Sweep(clock)
	if n := x.size(); n != 0 {
		t.Errorf("%d codes remembered after WeChat would have expired them", n)
	}
}

// TestExchangeReuseWindow checks the window on every reuse, not only in the
// once-a-minute sweep: a sweep that ran just before the window closed must
// not let the code be shared after it. Codes are per app, so the same code
// string of another app is a separate exchange.
func TestExchangeReuseWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		appid      string        // of the second request; "app" is the first's
		after      time.Duration // between the first exchange and the second request
		sweepFirst bool          // sweep one second before the second request
		wantErr    error
		wantCalls  int32
	}{
		{"inside the window", "app", time.Minute - time.Nanosecond, false, nil, 1},
		{"inside the window, after a sweep", "app", time.Minute - time.Nanosecond, true, nil, 1},
		{"window closed, sweep a second earlier", "app", time.Minute, true, errCodeUsed, 1},
		{"window closed, no sweep", "app", time.Minute + time.Second, false, errCodeUsed, 1},
		{"another app's code of the same text", "other", time.Second, false, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x := newTestExchanges(time.Minute)
			clock := t0
			now := func() time.Time { return clock }
			var calls atomic.Int32
			call := func(context.Context) (*wechat.Session, error) {
				calls.Add(1)
				return &wechat.Session{OpenID: "o1", SessionKey: "k"}, nil
			}
			if _, _, err := x.do(t.Context(), "app", "code", phone, now, call); err != nil {
				t.Fatal(err)
			}
			// A sweep one second before the reuse resets the sweep timer,
			// so the reuse itself does not sweep.
			if tt.sweepFirst {
				x.local().Sweep(t0.Add(tt.after - time.Second))
			}
			clock = t0.Add(tt.after)
			s, _, err := x.do(t.Context(), tt.appid, "code", phone, now, call)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("second request: %v, want %v", err, tt.wantErr)
			}
			if err == nil && s.OpenID != "o1" {
				t.Errorf("second request got %+v", s)
			}
			if n := calls.Load(); n != tt.wantCalls {
				t.Errorf("%d calls to WeChat, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestCacheBoundedAndGenerationGuard(t *testing.T) {
	t.Parallel()
	c := newVerifyCache(3)
	mk := func(i int, user string) *entry {
		return newEntry(&wxlogin.Session{
			ID: "ses_" + strconv.Itoa(i), UserID: user, TokenHash: wxlogin.TokenHash{byte(i)},
			LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour),
		}, false)
	}
	for i := range 5 {
		c.add(mk(i, "usr_a"), c.generation())
	}
	if n := c.len(); n != 3 {
		t.Fatalf("%d entries in a cache of 3", n)
	}
	c.forgetUser("usr_a")
	if n := c.len(); n != 0 {
		t.Fatalf("%d entries after forgetting their user", n)
	}
	// An add whose store read began before a revocation is refused.
	gen := c.generation()
	c.forgetSession("ses_9")
	c.add(mk(9, "usr_b"), gen)
	var e entry
	if c.get(wxlogin.TokenHash{9}, &e) {
		t.Error("a stale read was cached after a revocation")
	}
	c.add(mk(9, "usr_b"), c.generation())
	if !c.get(wxlogin.TokenHash{9}, &e) {
		t.Error("a fresh read was not cached")
	}
	if len(c.bySession) != 1 || len(c.byUser) != 1 {
		t.Errorf("indexes hold %d sessions and %d users, want 1 and 1", len(c.bySession), len(c.byUser))
	}
}

func TestIPKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"::ffff:192.0.2.1", "::ffff:192.0.2.1"},
		{"not an address", "not an address"},
	}
	for _, tt := range tests {
		if got := ipKey(tt.in); got != tt.want {
			t.Errorf("ipKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Sizes of the in-memory tables, for the tests of their bounds.

// len returns how many sessions are cached.
func (c *verifyCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.used
}

// size returns how many codes are remembered.
func (x *exchanges) size() int {
	l := x.local()
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// local returns the in-process record of exchanges made by newTestExchanges.
func (x *exchanges) local() *LocalCodeExchanges { return x.rec.(*LocalCodeExchanges) }

// size returns how many buckets are kept.
func (l *LocalRateLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// TestLocalUnfinishedRegistrationsBounded checks what the suite does not:
// the in-process record's cap and its sweep.
func TestLocalUnfinishedRegistrationsBounded(t *testing.T) {
	t.Parallel()
	u := &LocalUnfinishedRegistrations{}
	ctx := t.Context()
	u.Add(ctx, "usr_c", t0.Add(time.Hour))
	u.Sweep(t0.Add(UnfinishedTTL + time.Minute))
	if ok, _ := u.Take(ctx, "usr_c", t0.Add(UnfinishedTTL+time.Minute)); !ok {
		t.Error("sweep forgot a record inside its TTL")
	}
	for i := range unfinishedMax + 10 {
		u.Add(ctx, strconv.Itoa(i), t0)
	}
	if n := len(u.m); n != unfinishedMax {
		t.Errorf("%d records after a flood, want the cap %d", n, unfinishedMax)
	}
	u.Sweep(t0.Add(UnfinishedTTL))
	if n := len(u.m); n != 0 {
		t.Errorf("%d records after sweeping past their TTL, want 0", n)
	}
}

func TestLimitOrDefault(t *testing.T) {
	t.Parallel()
	def := Limit{Rate: 10, Burst: 20}
	tests := []struct {
		name string
		in   Limit
		want Limit
	}{
		{"unset", Limit{}, def},
		{"burst alone keeps the default rate", Limit{Burst: 50}, Limit{Rate: 10, Burst: 50}},
		{"rate alone gets a second's worth", Limit{Rate: 2.5}, Limit{Rate: 2.5, Burst: 3}},
		{"slow rate alone gets a burst of 1", Limit{Rate: 0.1}, Limit{Rate: 0.1, Burst: 1}},
		{"both", Limit{Rate: 3, Burst: 4}, Limit{Rate: 3, Burst: 4}},
		{"off", Limit{Rate: -1}, Limit{Rate: -1}},
	}
	for _, tt := range tests {
		if got := limitOrDefault(tt.in, def); got != tt.want {
			t.Errorf("%s: limitOrDefault(%+v) = %+v, want %+v", tt.name, tt.in, got, tt.want)
		}
	}
}

// phone is the client of the exchange tests' requests.
var phone = Client{IP: "192.0.2.7", UserAgent: "WeChat/8.0 MiniProgramEnv"}

func newTestExchanges(window time.Duration) *exchanges {
	k, err := keyring.New(keyring.Key{ID: "t", Secret: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		panic(err)
	}
	return newExchanges(window, k.Seal, k.Open, nil, nil)
}

// TestExchangeSameClientOnly checks that an exchange, in flight or after
// it, is shared only with the client that started it: a replay of a seen
// code by anyone else must not mint another session for its user.
func TestExchangeSameClientOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		second  Client
		inFight bool // the second request arrives while the exchange is in flight
		window  time.Duration
		after   time.Duration
		wantErr error
	}{
		{"same client after", phone, false, 10 * time.Second, time.Second, nil},
		{"same client in flight", phone, true, 10 * time.Second, 0, nil},
		{"same client in flight, window 0", phone, true, 0, 0, nil},
		{"same client after, window 0", phone, false, 0, 0, errCodeUsed},
		{"other address after", Client{IP: "198.51.100.1", UserAgent: phone.UserAgent}, false, 10 * time.Second, time.Second, errCodeUsed},
		{"other User-Agent after", Client{IP: phone.IP, UserAgent: "curl/8"}, false, 10 * time.Second, time.Second, errCodeUsed},
		{"other client in flight", Client{IP: "198.51.100.1"}, true, 10 * time.Second, 0, errCodeUsed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x := newTestExchanges(tt.window)
			clock := t0
			var mu sync.Mutex
			now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
			var calls atomic.Int32
			entered, release := make(chan struct{}), make(chan struct{})
			call := func(context.Context) (*wechat.Session, error) {
				calls.Add(1)
				close(entered)
				<-release
				return &wechat.Session{OpenID: "o1", SessionKey: "a2V5"}, nil
			}
			first := make(chan error, 1)
			go func() {
				s, _, err := x.do(t.Context(), "app", "code", phone, now, call)
				if err == nil && s.SessionKey != "a2V5" {
					err = fmt.Errorf("first request got session_key %q", s.SessionKey.Reveal())
				}
				first <- err
			}()
			<-entered
			if !tt.inFight {
				close(release)
				if err := <-first; err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				clock = clock.Add(tt.after)
				mu.Unlock()
			} else {
				// Release the exchange once the second request waits on it.
				x.onWait = func() { close(release) }
			}
			s, shared, err := x.do(t.Context(), "app", "code", tt.second, now, call)
			if tt.inFight && err != nil {
				close(release) // turned away without waiting
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("second request: %v, want %v", err, tt.wantErr)
			}
			if err == nil && (!shared || s.OpenID != "o1" || s.SessionKey != "a2V5") {
				t.Errorf("second request: shared=%v session %q key %q", shared, s.OpenID, s.SessionKey.Reveal())
			}
			if tt.inFight {
				if err := <-first; err != nil {
					t.Fatal(err)
				}
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("%d calls to WeChat, want 1", n)
			}
			x.local().mu.Lock()
			for _, e := range x.local().m {
				if a := e.rec.Answer; a != nil && bytes.Contains(a.SealedKey, []byte("a2V5")) {
					t.Error("the exchange record holds the session_key in clear")
				}
			}
			x.local().mu.Unlock()
		})
	}
}

// TestCacheSlotsReused: a freed slot is reused by the next session, and a
// copy of the entry that held it before neither sees nor touches the new
// occupant; forgetting a user takes all of its sessions and no other's.
func TestCacheSlotsReused(t *testing.T) {
	t.Parallel()
	c := newVerifyCache(10)
	mk := func(i int, user string) *entry {
		return newEntry(&wxlogin.Session{
			ID: "ses_" + strconv.Itoa(i), UserID: user, AppID: "wx" + user, OpenID: "o" + strconv.Itoa(i),
			UnionID: "un" + strconv.Itoa(i), TokenHash: wxlogin.TokenHash{byte(i)},
			LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour),
		}, false)
	}
	for i := range 3 {
		c.add(mk(i, "usr_a"), c.generation())
	}
	c.add(mk(3, "usr_b"), c.generation())
	var old entry
	if !c.get(wxlogin.TokenHash{1}, &old) {
		t.Fatal("session 1 not cached")
	}
	want := wxlogin.Principal{SessionID: "ses_1", UserID: "usr_a", AppID: "wxusr_a", OpenID: "o1", UnionID: "un1"}
	if old.principal != want {
		t.Errorf("cached principal %+v, want %+v", old.principal, want)
	}
	c.forgetSession("ses_1")
	c.add(mk(7, "usr_b"), c.generation()) // takes the freed slot
	var e entry
	if c.get(wxlogin.TokenHash{1}, &e) {
		t.Error("a forgotten session is still cached")
	}
	if !c.get(wxlogin.TokenHash{7}, &e) || e.idx != old.idx {
		t.Fatalf("session 7 in slot %d, want the freed slot %d", e.idx, old.idx)
	}
	// The stale copy's touch must not move session 7's last touch.
	if c.casLastSeen(&old, old.lastSeen, t0.Add(time.Minute).UnixNano()) {
		c.get(wxlogin.TokenHash{7}, &e)
		if e.lastSeen != t0.UnixNano() {
			t.Errorf("a stale entry's touch moved another session's last touch")
		}
	}
	c.forgetUser("usr_a")
	for i, cached := range []bool{false, false, false, true, false, false, false, true} {
		if got := c.get(wxlogin.TokenHash{byte(i)}, &e); got != cached {
			t.Errorf("session %d cached = %v after forgetting usr_a, want %v", i, got, cached)
		}
	}
	if n := c.len(); n != 2 {
		t.Errorf("%d cached, want 2", n)
	}
	c.forgetAll()
	if n := c.len(); n != 0 {
		t.Errorf("%d cached after forgetAll, want 0", n)
	}
	c.add(mk(5, "usr_c"), c.generation())
	if !c.get(wxlogin.TokenHash{5}, &e) || e.principal.UserID != "usr_c" {
		t.Errorf("add after forgetAll: %+v", e.principal)
	}
}

// TestCacheKeyCollisions: token hashes that share their index key (the
// first eight bytes) are told apart, and removing one keeps the others.
func TestCacheKeyCollisions(t *testing.T) {
	t.Parallel()
	c := newVerifyCache(10)
	h := func(i int) wxlogin.TokenHash { return wxlogin.TokenHash{1, 2, 3, 4, 31: byte(i)} }
	for i := range 4 {
		c.add(newEntry(&wxlogin.Session{ID: "ses_" + strconv.Itoa(i), UserID: "usr_x", TokenHash: h(i),
			LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}, false), c.generation())
	}
	c.forgetSession("ses_2")
	var e entry
	for i, cached := range []bool{true, true, false, true} {
		got := c.get(h(i), &e)
		if got != cached || got && e.principal.SessionID != "ses_"+strconv.Itoa(i) {
			t.Errorf("hash %d: cached %v (%s), want %v", i, got, e.principal.SessionID, cached)
		}
	}
	if len(c.byHash) != 1 {
		t.Errorf("%d index keys, want 1", len(c.byHash))
	}
}
