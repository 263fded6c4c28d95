package auth

import (
	"crypto/rand"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// TestCacheKeyScan: the key checker's walk of the verification cache names
// the due sessions of the apps it asks about, keyChecked starts at the
// session's creation and moves when set, and a session removed after the
// walk (revoked, its user forgotten, the whole cache emptied, its slot
// reused by another session) is no longer found by its name.
func TestCacheKeyScan(t *testing.T) {
	t.Parallel()
	c := newVerifyCache(10_000)
	created := t0.Add(-time.Hour)
	add := func(i int, appid string) *entry {
		s := wxlogin.Session{ID: "ses_" + strconv.Itoa(i), UserID: "usr_" + strconv.Itoa(i%7), AppID: appid,
			CreatedAt: created, LastSeenAt: t0.Add(time.Duration(i) * time.Second), ExpiresAt: t0.Add(time.Hour)}
		rand.Read(s.TokenHash[:])
		e := newEntry(&s, false)
		c.add(e, c.generation())
		return e
	}
	for i := range 5000 {
		add(i, "wxchecked")
		if i%2 == 0 {
			add(100_000+i, "wxother")
		}
	}
	for i := range 1000 {
		c.forgetSession("ses_" + strconv.Itoa(i)) // freed before the walk
	}
	due := func(appid string, keyChecked int64) bool {
		return appid == "wxchecked" && keyChecked <= created.UnixNano()
	}
	refs := c.keyScan(nil, due)
	if len(refs) != 4000 {
		t.Fatalf("%d sessions due, want 4000", len(refs))
	}
	var e entry
	seen := make(map[string]bool)
	for _, r := range refs {
		if !c.keyEntry(r, &e) {
			t.Fatal("a session named by the walk is not found")
		}
		if e.principal.AppID != "wxchecked" || e.keyChecked != created.UnixNano() || e.lastSeen != r.lastSeen {
			t.Fatalf("walked %+v: app %s, keyChecked %d", r, e.principal.AppID, e.keyChecked)
		}
		seen[e.principal.SessionID] = true
	}
	if len(seen) != 4000 || seen["ses_999"] || !seen["ses_1000"] {
		t.Fatalf("the walk named %d distinct sessions (ses_999 %v, ses_1000 %v)", len(seen), seen["ses_999"], seen["ses_1000"])
	}

	// Checked: no longer due, in the slot itself.
	c.keyEntry(refs[0], &e)
	c.setKeyChecked(&e, t0.UnixNano())
	if again := c.keyScan(nil, due); len(again) != 3999 {
		t.Errorf("%d due after one was checked, want 3999", len(again))
	}
	var e2 entry
	if !c.keyEntry(refs[0], &e2) || e2.keyChecked != t0.UnixNano() {
		t.Errorf("keyChecked %d after setting %d", e2.keyChecked, t0.UnixNano())
	}

	// Removed after the walk: the name goes stale, also once its slot holds
	// another session.
	c.forgetSession(e.principal.SessionID)
	if c.keyEntry(refs[0], &e2) {
		t.Error("a revoked session is still found by the walk's name")
	}
	add(200_000, "wxchecked")
	if c.keyEntry(refs[0], &e2) {
		t.Errorf("a reused slot is taken for the session walked before (%s)", e2.principal.SessionID)
	}
	c.forgetUser("usr_3")
	for _, r := range refs {
		if c.keyEntry(r, &e2) && e2.principal.UserID == "usr_3" {
			t.Fatal("a forgotten user's session is still found")
		}
	}
	c.forgetAll()
	for _, r := range refs {
		if c.keyEntry(r, &e2) {
			t.Fatal("a session is found after forgetAll")
		}
	}
	if got := c.keyScan(nil, func(string, int64) bool { return true }); len(got) != 0 {
		t.Errorf("the walk after forgetAll names %d sessions", len(got))
	}
}

// TestCachePrincipal: the packed cache gives back every field of the
// principal it was given: a WeChat user's openid and account, a WeCom
// member's corp and userid (and no openid), without an allocation.
func TestCachePrincipal(t *testing.T) {
	// Not parallel: AllocsPerRun counts the whole process's allocations.
	c := newVerifyCache(10)
	wx := newEntry(&wxlogin.Session{ID: "ses_wx", UserID: "usr_wx", AppID: "wxapp", OpenID: "o_wx", UnionID: "u_wx",
		TokenHash: wxlogin.TokenHash{1}, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}, false)
	wx.principal.AccountID = "acc_other"
	wc := newEntry(&wxlogin.Session{ID: "ses_wc", UserID: "usr_wc", AppID: "wwapp", OpenID: "wwcorp/zhangsan",
		TokenHash: wxlogin.TokenHash{2}, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}, true)
	wc.principal.AccountID = soleAccount("usr_wc")
	if wc.principal.OpenID != "" || wc.principal.CorpID != "wwcorp" || wc.principal.WeComUserID != "zhangsan" {
		t.Fatalf("newEntry of a WeCom member: %+v", wc.principal)
	}
	for _, want := range []*entry{wx, wc} {
		c.add(want, c.generation())
		var got entry
		if !c.get(want.hash, &got) {
			t.Fatalf("%s not cached", want.principal.SessionID)
		}
		if got.principal != want.principal {
			t.Errorf("cached principal %+v, want %+v", got.principal, want.principal)
		}
		// Verify's hit copies the principal out of the slot's string.
		if n := testing.AllocsPerRun(100, func() { c.get(want.hash, &got) }); n != 0 {
			t.Errorf("get of %s: %v allocations, want 0", want.principal.SessionID, n)
		}
	}
	// A part longer than a slot records is not cached (the store answers).
	long := newEntry(&wxlogin.Session{ID: "ses_long", UserID: "usr_long", AppID: "wxapp", OpenID: strings.Repeat("o", 256),
		TokenHash: wxlogin.TokenHash{3}, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}, false)
	c.add(long, c.generation())
	var got entry
	if c.get(long.hash, &got) {
		t.Error("a session with a 256-byte openid was cached")
	}
}
