package auth

import (
	"crypto/rand"
	"strconv"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// BenchmarkKeyCheckScan measures the key checker's walk for due sessions
// when nothing is due: keyScan over the packed verification cache (the read
// lock held for keyScanChunk slots at a time) with the due test of each
// session. The baseline walks a plain map of entries with the same test,
// in the same run. "lock" is one hold of the read lock: the longest the
// walk holds up a revocation.
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
		due := func(appid string, keyChecked int64) bool {
			p, ok := policies[appid]
			return ok && now.Sub(time.Unix(0, keyChecked)) >= p.CheckInterval
		}
		b.Run("cache-"+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got := c.keyScan(nil, due); len(got) != 0 {
					b.Fatalf("%d due", len(got))
				}
			}
		})
		b.Run("lock-"+strconv.Itoa(n), func(b *testing.B) {
			// One chunk of the walk, as keyScan holds the lock for it.
			never := func(string, int64) bool { return false }
			for b.Loop() {
				c.mu.RLock()
				for i := int32(0); i < keyScanChunk; i++ {
					sl := c.slot(i)
					if sl.text != "" && never(c.apps[sl.app], int64(sl.keyChecked.Load())*1e9) {
						b.Fatal("due")
					}
				}
				c.mu.RUnlock()
			}
		})
		b.Run("plain-map-"+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var got []*entry
				for _, e := range plain {
					if due(e.principal.AppID, e.keyChecked) {
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
