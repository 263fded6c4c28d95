package sqlitestore

import (
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// benchSessions is how many sessions the benchmarks' database holds, so
// that lookups go through a B-tree of realistic depth.
const benchSessions = 100_000

// benchDB returns a database with benchSessions sessions, inserted in one
// transaction (one fsync instead of a hundred thousand), and their hashes.
func benchDB(b *testing.B) (*DB, []wxlogin.TokenHash) {
	b.Helper()
	db := newDB(b)
	ctx := b.Context()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	// Sessions reference their users (five sessions each).
	for i := range benchSessions / 5 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, app_id, open_id, created_at, updated_at, profile_updated_at)
			VALUES (?, 'wx-bench', ?, ?, ?, ?)`, fmt.Sprintf("u-%d", i), fmt.Sprintf("o-%d", i),
			micros(now), micros(now), micros(now)); err != nil {
			b.Fatal(err)
		}
	}
	hashes := make([]wxlogin.TokenHash, benchSessions)
	for i := range hashes {
		hashes[i] = sha256.Sum256(fmt.Appendf(nil, "token-%d", i))
		s := wxlogin.Session{
			ID: fmt.Sprintf("s-%d", i), TokenHash: hashes[i], UserID: fmt.Sprintf("u-%d", i%(benchSessions/5)),
			AppID: "wx-bench", OpenID: fmt.Sprintf("o-%d", i%(benchSessions/5)), SealedSessionKey: make([]byte, 61),
			CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(7 * 24 * time.Hour),
			ExpiresAt: now.Add(30 * 24 * time.Hour), UserAgent: "bench", IP: "192.0.2.1",
		}
		if err := insertSession(ctx, tx, s); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return db, hashes
}

// BenchmarkSessionByToken is the verification hot path: one indexed point
// query through the prepared statement.
func BenchmarkSessionByToken(b *testing.B) {
	db, hashes := benchDB(b)
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := db.SessionByToken(ctx, hashes[i%len(hashes)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSessionByTokenParallel is the same lookup from concurrent
// requests, spread over the read pool.
func BenchmarkSessionByTokenParallel(b *testing.B) {
	db, hashes := benchDB(b)
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := db.SessionByToken(ctx, hashes[i%len(hashes)]); err != nil {
				b.Error(err)
				return
			}
			i += 7
		}
	})
}

// BenchmarkCreateSession measures a durable write: one transaction, one
// fsync of the WAL (synchronous=FULL).
func BenchmarkCreateSession(b *testing.B) {
	db := newDB(b)
	ctx := b.Context()
	if _, _, err := db.EnsureUser(ctx, wxlogin.User{ID: "u", AppID: "wx", OpenID: "o"}); err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s := wxlogin.Session{
			ID: fmt.Sprintf("s-%d", i), TokenHash: sha256.Sum256(fmt.Appendf(nil, "%d", i)),
			UserID: "u", AppID: "wx", OpenID: "o", SealedSessionKey: make([]byte, 61),
			CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour),
		}
		if err := db.CreateSession(ctx, s); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkEnsureUserExisting is a returning user's login: answered from
// the read pool, no write.
func BenchmarkEnsureUserExisting(b *testing.B) {
	db := newDB(b)
	ctx := b.Context()
	u := wxlogin.User{ID: "u", AppID: "wx", OpenID: "o", UnionID: "un"}
	if _, _, err := db.EnsureUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, created, err := db.EnsureUser(ctx, u); err != nil || created {
			b.Fatal(created, err)
		}
	}
}

// BenchmarkNewUserLogin compares a new user's login stored in two steps
// (EnsureUser, then CreateSession: two transactions, two fsyncs) with one
// EnsureUserWithSession (a savepoint of a group commit), serially and
// from 16 concurrent logins: the figure group commit changes is the
// concurrent one, where logins that arrive together share one fsync.
func BenchmarkNewUserLogin(b *testing.B) {
	for _, mode := range []string{"two-steps", "one-transaction"} {
		for _, par := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/clients=%d", mode, par), func(b *testing.B) {
				db := newDB(b)
				ctx := b.Context()
				now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
				var n atomic.Int64
				login := func() error {
					i := n.Add(1)
					u := wxlogin.User{ID: fmt.Sprintf("u-%d", i), AppID: "wx", OpenID: fmt.Sprintf("o-%d", i), CreatedAt: now, UpdatedAt: now}
					s := wxlogin.Session{
						ID: fmt.Sprintf("s-%d", i), TokenHash: sha256.Sum256(fmt.Appendf(nil, "%d", i)),
						AppID: "wx", SealedSessionKey: make([]byte, 61),
						CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour),
					}
					if mode == "one-transaction" {
						_, _, err := db.EnsureUserWithSession(ctx, u, s)
						return err
					}
					got, _, err := db.EnsureUser(ctx, u)
					if err != nil {
						return err
					}
					s.UserID, s.OpenID = got.ID, got.OpenID
					return db.CreateSession(ctx, s)
				}
				c0, w0 := db.GroupStats()
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := processCPU()
				if par == 1 {
					for b.Loop() {
						if err := login(); err != nil {
							b.Fatal(err)
						}
					}
				} else {
					b.SetParallelism((par + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := login(); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				b.StopTimer()
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/1e3, "cpu-µs/op")
				if c, w := db.GroupStats(); c > c0 {
					b.ReportMetric(float64(w-w0)/float64(c-c0), "logins/commit")
				}
			})
		}
	}
}

// BenchmarkReturningUserLogin is the most common login with webhooks on: a
// returning user whose unionid WeChat gives as before. EnsureUserWithDeliveries
// answers from the read pool and writes nothing; the one-transaction login
// writes only its session. Neither calls the deliveries callback.
func BenchmarkReturningUserLogin(b *testing.B) {
	db := newDB(b)
	ctx := b.Context()
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	u := wxlogin.User{ID: "u", AppID: "wx", OpenID: "o", UnionID: "un", CreatedAt: now, UpdatedAt: now}
	if _, _, err := db.EnsureUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	again := u
	again.ID = "u-again"
	deliveries := func(wxlogin.UserChange) []wxlogin.Delivery {
		b.Fatal("a returning user's login built deliveries")
		return nil
	}
	b.Run("two-steps-ensure", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, created, err := db.EnsureUserWithDeliveries(ctx, again, deliveries); err != nil || created {
				b.Fatal(created, err)
			}
		}
	})
	i := 0 // across runs: every session needs a token hash of its own
	b.Run("one-transaction", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			i++
			s := wxlogin.Session{
				ID: fmt.Sprintf("s-%d", i), TokenHash: sha256.Sum256(fmt.Appendf(nil, "%d", i)),
				AppID: "wx", SealedSessionKey: make([]byte, 61),
				CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour),
			}
			if _, created, err := db.EnsureUserWithSessionAndDeliveries(ctx, again, s, deliveries); err != nil || created {
				b.Fatal(created, err)
			}
		}
	})
}
