package auth

import (
	"crypto/rand"
	"strconv"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// TestCacheSnapshot: the key checker's list of cached entries marks the
// removed ones, and compaction keeps it within twice the live entries (plus
// a little) however many come and go, without changing a snapshot taken
// before.
func TestCacheSnapshot(t *testing.T) {
	t.Parallel()
	c := newVerifyCache(1000)
	add := func(i int) *entry {
		s := wxlogin.Session{ID: "ses_" + strconv.Itoa(i), UserID: "usr_" + strconv.Itoa(i%7), CreatedAt: time.Now()}
		rand.Read(s.TokenHash[:])
		e := newEntry(&s, false)
		c.add(e, c.generation())
		return e
	}
	for i := range 50 {
		add(i)
	}
	before := c.snapshot()
	for i := range 5000 {
		e := add(100 + i)
		c.forgetSession(e.principal.SessionID)
	}
	if len(before) != 50 {
		t.Fatalf("an old snapshot changed: %d entries", len(before))
	}
	for _, e := range before {
		if e.removed.Load() {
			t.Fatal("a live entry is marked removed")
		}
	}
	snap := c.snapshot()
	live := 0
	for _, e := range snap {
		if !e.removed.Load() {
			live++
		}
	}
	if live != 50 || len(snap) > 2*50+64+1 {
		t.Errorf("snapshot: %d entries, %d live; want 50 live within %d", len(snap), live, 2*50+64+1)
	}
	c.forgetUser("usr_3")
	c.forgetAll()
	for _, e := range before {
		if !e.removed.Load() {
			t.Fatal("forgetAll left an entry unmarked")
		}
	}
	if len(c.snapshot()) != 0 {
		t.Error("snapshot after forgetAll is not empty")
	}
}
