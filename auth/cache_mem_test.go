package auth

import (
	"crypto/rand"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// BenchmarkCacheMemoryPerSession reports the heap a cached session costs
// (B/session): b.N sessions of realistic shape (ids from newID, a 28-character
// openid and unionid, one session per user) are added to a verification
// cache, and the heap is compared before and after with runtime.MemStats.
// Run it with a fixed count, e.g. -benchtime 100000x, so the maps' growth
// steps are averaged over many entries.
func BenchmarkCacheMemoryPerSession(b *testing.B) {
	n := b.N
	sessions := make([]wxlogin.Session, n)
	exp := time.Now().Add(time.Hour)
	for i := range sessions {
		var h wxlogin.TokenHash
		rand.Read(h[:])
		sessions[i] = wxlogin.Session{
			ID: newID("ses_"), UserID: newID("usr_"), TokenHash: h,
			AppID: "wxdec0de0000000001", OpenID: "o" + pad27(i), UnionID: "u" + pad27(i),
			ExpiresAt: exp, LastSeenAt: exp,
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	c := newVerifyCache(n + 1)
	for i := range sessions {
		c.add(newEntry(&sessions[i], false), c.generation())
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	// The sessions' own strings are shared with the entries (the cache
	// keeps the store's strings), so they are counted in neither; a cache
	// filled from store reads holds strings of its own, measured apart.
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "B/session")
	runtime.KeepAlive(c)
	runtime.KeepAlive(sessions)
}

func pad27(i int) string {
	s := strconv.Itoa(i)
	for len(s) < 27 {
		s = "0" + s
	}
	return s
}
