package pgstore

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// The benchmarks mirror store/sqlitestore's, by the same names, so that
// one run of both packages compares the backends.

// benchSessions is how many sessions the benchmarks' schema holds, so
// that lookups go through an index of realistic depth.
const benchSessions = 100_000

// benchDB returns a store with benchSessions sessions (five per user) and
// their hashes.
func benchDB(b *testing.B) (*DB, []wxlogin.TokenHash) {
	b.Helper()
	db := newDB(b)
	ctx := b.Context()
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	users := make([]wxlogin.User, 0, copyBatch)
	for i := range benchSessions / 5 {
		users = append(users, wxlogin.User{ID: fmt.Sprintf("u-%d", i), AppID: "wx-bench", OpenID: fmt.Sprintf("o-%d", i),
			CreatedAt: now, UpdatedAt: now, Profile: wxlogin.Profile{UpdatedAt: now}})
		if len(users) == copyBatch {
			if err := db.ImportUsers(ctx, users); err != nil {
				b.Fatal(err)
			}
			users = users[:0]
		}
	}
	hashes := make([]wxlogin.TokenHash, benchSessions)
	sessions := make([]wxlogin.Session, 0, copyBatch)
	for i := range hashes {
		hashes[i] = sha256.Sum256(fmt.Appendf(nil, "token-%d", i))
		sessions = append(sessions, wxlogin.Session{
			ID: fmt.Sprintf("s-%d", i), TokenHash: hashes[i], UserID: fmt.Sprintf("u-%d", i%(benchSessions/5)),
			AppID: "wx-bench", OpenID: fmt.Sprintf("o-%d", i%(benchSessions/5)), SealedSessionKey: make([]byte, 61),
			CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(7 * 24 * time.Hour),
			ExpiresAt: now.Add(30 * 24 * time.Hour), UserAgent: "bench", IP: "192.0.2.1",
		})
		if len(sessions) == copyBatch {
			if err := db.ImportSessions(ctx, sessions); err != nil {
				b.Fatal(err)
			}
			sessions = sessions[:0]
		}
	}
	if _, err := db.pool.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	return db, hashes
}

const copyBatch = 1000

// BenchmarkSessionByToken is the verification hot path: one indexed point
// query, one round trip.
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
// requests, spread over the pool.
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

// BenchmarkCreateSession measures a committed insert.
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

// BenchmarkEnsureUserExisting is a returning user's login: one read.
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
