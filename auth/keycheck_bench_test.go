package auth

import (
	"crypto/rand"
	"strconv"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// BenchmarkKeyCheckScan measures the key checker's walk for due sessions
// when nothing is due: a snapshot of the verification cache (the read lock
// held to copy a slice header) and the due test of each entry, outside any
// lock. The baseline walks a plain map of the same entries with the same
// test, in the same run. "lock" is the snapshot alone: how long the walk
// holds the cache's lock.
//
//	go test -run '^$' -bench KeyCheckScan -benchmem -count 5 ./auth/
func BenchmarkKeyCheckScan(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		c := newVerifyCache(n + 1)
		plain := make(map[wxlogin.TokenHash]*entry, n)
		now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
		policies := map[string]SessionPolicy{"wxapp": {Mode: PolicyWeChat, CheckInterval: 30 * time.Minute}}
		for i := range n {
			s := wxlogin.Session{ID: "ses_" + strconv.Itoa(i), UserID: "usr_" + strconv.Itoa(i), AppID: "wxapp",
				CreatedAt: now.Add(-time.Minute), LastSeenAt: now.Add(-time.Minute)}
			rand.Read(s.TokenHash[:])
			e := newEntry(&s, false)
			c.add(e, c.generation())
			plain[e.hash] = e
		}
		due := func(e *entry) bool {
			p, ok := policies[e.principal.AppID]
			return ok && now.Sub(time.Unix(0, e.keyChecked.Load())) >= p.CheckInterval
		}
		b.Run("cache-"+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var got []*entry
				for _, e := range c.snapshot() {
					if !e.removed.Load() && due(e) {
						got = append(got, e)
					}
				}
				if len(got) != 0 {
					b.Fatalf("%d due", len(got))
				}
			}
		})
		b.Run("lock-"+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				if len(c.snapshot()) != n {
					b.Fatal("snapshot misses entries")
				}
			}
		})
		b.Run("plain-map-"+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var got []*entry
				for _, e := range plain {
					if due(e) {
						got = append(got, e)
					}
				}
				if len(got) != 0 {
					b.Fatalf("%d due", len(got))
				}
			}
		})
	}
}
