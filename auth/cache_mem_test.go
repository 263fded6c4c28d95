package auth

import (
	"crypto/rand"
	"runtime"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/wxlogin/wxlogin"
)

// cacheBytesPerSession fills a verification cache with n sessions of
// realistic shape (ids from newID, a 28-character openid and unionid, one
// session per user, one app) and returns the heap it holds per session
// (runtime.MemStats, after a GC, before and after), the cache's own copies
// of the strings included: the sessions it was filled from are gone.
func cacheBytesPerSession(n int) (float64, *verifyCache) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := newVerifyCache(n + 1)
	exp := time.Now().Add(time.Hour)
	for i := range n {
		var h wxlogin.TokenHash
		rand.Read(h[:])
		s := wxlogin.Session{
			ID: newID("ses_"), UserID: newID("usr_"), TokenHash: h,
			AppID: "wxdec0de0000000001", OpenID: "o" + pad27(i), UnionID: "u" + pad27(i),
			ExpiresAt: exp, LastSeenAt: exp,
		}
		// Every verification caches the session's account, most often
		// the user's own (no other identity shares its unionid).
		e := newEntry(&s, false)
		e.principal.AccountID = soleAccount(s.UserID)
		c.add(e, c.generation())
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n), c
}

// TestCacheMemoryPerSession: a cached session costs at most 300 bytes of
// heap, its strings included (the packed slot, the string with the
// account id, three index entries). The figure the default cache size is chosen from.
func TestCacheMemoryPerSession(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a cache of 100,000 sessions")
	}
	if n := unsafe.Sizeof(slot{}); n != 96 {
		t.Errorf("a slot takes %d bytes, want 96", n)
	}
	perSession, c := cacheBytesPerSession(100_000)
	t.Logf("%.0f B per cached session", perSession)
	if perSession > 300 {
		t.Errorf("%.0f B per cached session, want at most 300", perSession)
	}
	if n := c.len(); n != 100_000 {
		t.Errorf("%d sessions cached, want 100000", n)
	}
	runtime.KeepAlive(c)
}

// BenchmarkCacheMemoryPerSession reports the same figure (B/session) for
// b.N sessions; run it with a fixed count, e.g. -benchtime 1000000x, so the
// maps' growth steps are averaged over many entries.
func BenchmarkCacheMemoryPerSession(b *testing.B) {
	perSession, c := cacheBytesPerSession(b.N)
	b.ReportMetric(perSession, "B/session")
	runtime.KeepAlive(c)
}

func pad27(i int) string {
	s := strconv.Itoa(i)
	for len(s) < 27 {
		s = "0" + s
	}
	return s
}
