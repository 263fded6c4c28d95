package auth_test

import (
	"context"
	"fmt"
	mrand "math/rand"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/store/sqlitestore"
)

// The million-session figures of docs/BENCHMARKS.md: verification with a
// million sessions in the store and in the cache beside a thousand, start-up
// on a million sessions, the sweep of a million expired sessions beside
// logins, and revoking a user's 10,000 sessions. The store is loaded with
// sqlitestore.Import (one transaction).

// fakeTokens returns n login tokens of wxlogin's form and their hashes.
func fakeTokens(n int) ([]string, []wxlogin.TokenHash) {
	toks := make([]string, n)
	hashes := make([]wxlogin.TokenHash, n)
	for i := range n {
		var tok wxlogin.Secret
		tok, hashes[i], _ = auth.NewImportedSession()
		toks[i] = tok.Reveal()
	}
	return toks, hashes
}

// loadSessions imports n sessions of app1 into db, ten per user (the
// user named owner, when not empty, gets all of them), created at now and
// expiring at expires; it returns their tokens.
func loadSessions(tb testing.TB, db *sqlitestore.DB, n int, owner string, now, expires time.Time) []string {
	tb.Helper()
	toks, hashes := fakeTokens(n)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var users []wxlogin.User
	sessions := make([]wxlogin.Session, n)
	for i := range n {
		uid := owner
		if uid == "" {
			uid = fmt.Sprintf("usr_%s_%d", run, i/10)
		}
		if i == 0 || owner == "" && i%10 == 0 {
			users = append(users, wxlogin.User{ID: uid, AppID: app1, OpenID: "o" + uid, CreatedAt: now, UpdatedAt: now})
		}
		sessions[i] = wxlogin.Session{
			ID: fmt.Sprintf("ses_%s_%d", run, i), TokenHash: hashes[i], UserID: uid, AppID: app1, OpenID: "o" + uid,
			UnionID: "un" + uid, SealedSessionKey: make([]byte, 61), CreatedAt: now, LastSeenAt: now,
			IdleExpiresAt: expires, ExpiresAt: expires, UserAgent: "bench", IP: "192.0.2.1",
		}
	}
	if err := db.Import(context.Background(), users, sessions); err != nil {
		tb.Fatal(err)
	}
	return toks
}

// openStore opens a fresh SQLite store for a benchmark.
func openStore(tb testing.TB) *sqlitestore.DB {
	tb.Helper()
	db, err := sqlitestore.Open(context.Background(), filepath.Join(tb.TempDir(), "million.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// withStore makes the env's service use db, with a cache of cacheSize.
func withStore(db *sqlitestore.DB, cacheSize int) func(*env, *auth.Config) {
	return func(e *env, c *auth.Config) {
		c.Users, c.Sessions, c.CacheSize = db, db, cacheSize
	}
}

// BenchmarkVerifyCachedSessions: Verify from parallel goroutines with n
// sessions in the store and all of them in the cache, tokens drawn
// uniformly or with a Zipf popularity (s = 1.1). The clock stands still,
// so no touch is written: the cost measured is the cache's.
func BenchmarkVerifyCachedSessions(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		db := openStore(b)
		e := newEnv(b, withStore(db, n+1))
		now := e.clock.Now()
		toks := loadSessions(b, db, n, "", now, now.Add(30*24*time.Hour))
		for _, tok := range toks {
			if _, err := e.svc.Verify(context.Background(), tok); err != nil {
				b.Fatal(err)
			}
		}
		for _, dist := range []string{"uniform", "zipf"} {
			// The draw is made beforehand, so that both distributions pay
			// the same for it (nothing) during the measurement.
			seq := make([]int32, 1<<20)
			r := mrand.New(mrand.NewSource(1))
			z := mrand.NewZipf(r, 1.1, 1, uint64(n-1))
			for i := range seq {
				if dist == "uniform" {
					seq[i] = int32(r.Intn(n))
				} else {
					seq[i] = int32(z.Uint64())
				}
			}
			b.Run(fmt.Sprintf("sessions=%d/%s", n, dist), func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					i := mrand.Intn(len(seq))
					for pb.Next() {
						if _, err := e.svc.Verify(context.Background(), toks[seq[i%len(seq)]]); err != nil {
							b.Error(err)
							return
						}
						i++
					}
				})
			})
		}
	}
}

// BenchmarkStartupMillionSessions: open a store holding a million
// sessions, build the service, answer a first verification (from the
// store): what a restart costs before the first request is served.
func BenchmarkStartupMillionSessions(b *testing.B) {
	db := openStore(b)
	e := newEnv(b, withStore(db, 0))
	now := e.clock.Now()
	toks := loadSessions(b, db, 1_000_000, "", now, now.Add(30*24*time.Hour))
	path := db.Path()
	db.Close()
	b.ResetTimer()
	for b.Loop() {
		db, err := sqlitestore.Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		cfg := e.cfg
		cfg.Users, cfg.Sessions = db, db
		svc, err := auth.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Verify(context.Background(), toks[len(toks)/2]); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		svc.Close()
		db.Close()
		b.StartTimer()
	}
}

// BenchmarkSweepDuringLogins: the sweep deletes a million expired
// sessions while logins (through the emulator, one after another) go on;
// it reports the sweep's duration, the logins' slowest and 99th percentile
// latency during it and how many took over 100 ms (the goal: none), beside
// their median before it.
func BenchmarkSweepDuringLogins(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		db := openStore(b)
		// The clock stands still, so the per-app bucket would never refill.
		e := newEnv(b, withStore(db, 0), func(_ *env, c *auth.Config) {
			c.Limits.LoginPerApp = auth.Limit{Rate: 1e9, Burst: 1e9}
		})
		now := e.clock.Now()
		loadSessions(b, db, 1_000_000, "", now.Add(-60*24*time.Hour), now.Add(-time.Hour))
		ctx := context.Background()
		login := func(i int) time.Duration {
			code := e.code(app1, "sweep-"+strconv.Itoa(i))
			start := time.Now()
			if _, err := e.svc.Login(ctx, app1, code, auth.Client{}); err != nil {
				b.Fatal(err)
			}
			return time.Since(start)
		}
		var before []time.Duration
		for i := range 200 {
			before = append(before, login(i))
		}
		b.StartTimer()
		var (
			wg    sync.WaitGroup
			took  time.Duration
			swept = make(chan struct{})
		)
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			auth.Sweep(e.svc, ctx)
			took = time.Since(start)
			close(swept)
		}()
		var during []time.Duration
	loop:
		for i := 1000; ; i++ {
			select {
			case <-swept:
				break loop
			default:
			}
			during = append(during, login(i))
		}
		wg.Wait()
		b.StopTimer()
		if _, n, err := db.Counts(ctx); err != nil || n != len(before)+len(during) {
			b.Fatalf("%d sessions left after the sweep, %v; want the %d logins'", n, err, len(before)+len(during))
		}
		slices.Sort(before)
		slices.Sort(during)
		b.ReportMetric(took.Seconds(), "sweep-s")
		b.ReportMetric(float64(len(during)), "logins-during")
		b.ReportMetric(ms(before[len(before)/2]), "login-p50-before-ms")
		b.ReportMetric(ms(during[len(during)*99/100]), "login-p99-during-ms")
		b.ReportMetric(ms(during[len(during)-1]), "login-max-during-ms")
		slow := len(during) - sort.Search(len(during), func(i int) bool { return during[i] > 100*time.Millisecond })
		b.ReportMetric(float64(slow), "logins-over-100ms-during")
		b.StartTimer()
	}
}

// BenchmarkRevokeAllTenThousand: revoking every session of a user who has
// 10,000, all of them in the verification cache.
func BenchmarkRevokeAllTenThousand(b *testing.B) {
	db := openStore(b)
	e := newEnv(b, withStore(db, 0))
	now := e.clock.Now()
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		owner := "usr_many" + strconv.Itoa(i)
		toks := loadSessions(b, db, 10_000, owner, now, now.Add(24*time.Hour))
		for _, tok := range toks {
			if _, err := e.svc.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if err := e.svc.AdminRevokeUserSessions(ctx, owner); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if _, err := e.svc.Verify(ctx, toks[0]); wxlogin.ErrorCode(err) != wxlogin.ESessionInvalid {
			b.Fatalf("a revoked token verifies: %v", err)
		}
		b.StartTimer()
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
