package auth

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxlogin/wxlogin"
)

// verifyCache remembers verified sessions by token hash so that Verify needs
// no store round trip for a token it has seen. It is the only state Verify
// keeps, and every revocation goes through forgetSession or forgetUser; see
// doc.go for why that keeps "a revoked token fails at once".
//
// The race it guards against: a Verify that missed reads the session from
// the store, a revocation deletes it from the store and forgets the (absent)
// entry, and then the Verify inserts what it read: a revoked session cached
// for good. So every forget bumps gen, a Verify notes gen before its store
// read, and add refuses to insert when gen moved in between. A store read
// that began after a revocation's bump sees the store after its delete
// (revocations delete first, then drop the cache entries), so nothing stale gets in.
type verifyCache struct {
	mu        sync.RWMutex
	gen       atomic.Uint64 // bumped by every forget, under mu
	max       int
	byHash    map[wxlogin.TokenHash]*entry
	bySession map[string]*entry
	byUser    map[string]map[*entry]struct{}
	// all lists the entries in the order they were added, for the key
	// checker, which walks a copy of its header outside the lock (see
	// snapshot). It is append-only between compactions, and a compaction
	// makes a new array, so a snapshot's elements never change under it;
	// removed entries are marked and skipped until a compaction drops them.
	all []*entry
}

// entry is a cached session. Everything but lastSeen is immutable; lastSeen
// moves when a touch is written, by compare-and-swap so that one Verify
// writes it.
type entry struct {
	hash      wxlogin.TokenHash
	principal wxlogin.Principal // ExpiresAt is filled in per verification
	expiresAt time.Time         // absolute deadline
	lastSeen  atomic.Int64      // Unix nanoseconds of the last touch the store has
	// keyChecked is when this instance last claimed the check of the
	// session's session_key with WeChat (Unix nanoseconds), first the
	// session's creation: its key was valid then. Only the key checker
	// reads and writes it, never Verify.
	keyChecked atomic.Int64
	removed    atomic.Bool // no longer cached: the key checker skips it
}

func newVerifyCache(max int) *verifyCache {
	return &verifyCache{
		max:       max,
		byHash:    make(map[wxlogin.TokenHash]*entry),
		bySession: make(map[string]*entry),
		byUser:    make(map[string]map[*entry]struct{}),
	}
}

// newEntry caches s; weCom reports whether its app is a WeCom app, whose
// users have a (corpid, userid) in the place of an openid.
func newEntry(s *wxlogin.Session, weCom bool) *entry {
	e := &entry{
		hash: s.TokenHash,
		principal: wxlogin.Principal{
			SessionID: s.ID,
			UserID:    s.UserID,
			AppID:     s.AppID,
			OpenID:    s.OpenID,
			UnionID:   s.UnionID,
		},
		expiresAt: s.ExpiresAt,
	}
	if weCom {
		e.principal.CorpID, e.principal.WeComUserID, _ = wxlogin.SplitWeComKey(s.OpenID)
		e.principal.OpenID = ""
	}
	e.lastSeen.Store(s.LastSeenAt.UnixNano())
	e.keyChecked.Store(s.CreatedAt.UnixNano())
	return e
}

// snapshot returns the entries cached so far, some of them since removed
// (entry.removed), for the key checker to walk without the lock: the read
// lock is held only to copy a slice header, so a walk of any length never
// holds up Verify or a revocation.
func (c *verifyCache) snapshot() []*entry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.all
}

// get returns the entry for h, or nil.
func (c *verifyCache) get(h wxlogin.TokenHash) *entry {
	if c.max <= 0 {
		return nil
	}
	c.mu.RLock()
	e := c.byHash[h]
	c.mu.RUnlock()
	return e
}

// generation returns the revocation counter; pass it to add.
func (c *verifyCache) generation() uint64 { return c.gen.Load() }

// add caches e unless a revocation happened since gen was read.
func (c *verifyCache) add(e *entry, gen uint64) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if old, ok := c.byHash[e.hash]; ok {
		c.removeLocked(old)
	}
	for len(c.byHash) >= c.max {
		// Map iteration order is random: this evicts an arbitrary entry,
		// which costs it one store read later. Cheaper to keep than an LRU
		// list whose upkeep would need the write lock on every hit.
		for _, victim := range c.byHash {
			c.removeLocked(victim)
			break
		}
	}
	c.byHash[e.hash] = e
	if len(c.all) >= 2*len(c.byHash)+64 {
		// More removed entries than live ones: keep the live ones, in a
		// new array (snapshots being walked keep the old one).
		live := make([]*entry, 0, 2*len(c.byHash)+64)
		for _, old := range c.all {
			if !old.removed.Load() {
				live = append(live, old)
			}
		}
		c.all = live
	}
	c.all = append(c.all, e)
	c.bySession[e.principal.SessionID] = e
	u := c.byUser[e.principal.UserID]
	if u == nil {
		u = make(map[*entry]struct{})
		c.byUser[e.principal.UserID] = u
	}
	u[e] = struct{}{}
}

// drop removes e if it is still cached; it is not a revocation (an expired
// or evicted entry) and leaves gen alone.
func (c *verifyCache) drop(e *entry) {
	c.mu.Lock()
	if c.byHash[e.hash] == e {
		c.removeLocked(e)
	}
	c.mu.Unlock()
}

// forgetSession removes the session's entry and fences off concurrent adds.
func (c *verifyCache) forgetSession(id string) {
	c.mu.Lock()
	c.bumpLocked()
	if e, ok := c.bySession[id]; ok {
		c.removeLocked(e)
	}
	c.mu.Unlock()
}

// forgetUser removes every entry of the user and fences off concurrent adds.
func (c *verifyCache) forgetUser(userID string) {
	c.mu.Lock()
	c.bumpLocked()
	for e := range c.byUser[userID] {
		c.removeLocked(e)
	}
	c.mu.Unlock()
}

// forgetAll empties the cache and fences off concurrent adds.
func (c *verifyCache) forgetAll() {
	c.mu.Lock()
	c.bumpLocked()
	clear(c.byHash)
	clear(c.bySession)
	clear(c.byUser)
	for _, e := range c.all {
		e.removed.Store(true)
	}
	c.all = nil
	c.mu.Unlock()
}

func (c *verifyCache) bumpLocked() { c.gen.Add(1) }

func (c *verifyCache) removeLocked(e *entry) {
	e.removed.Store(true)
	delete(c.byHash, e.hash)
	if c.bySession[e.principal.SessionID] == e {
		delete(c.bySession, e.principal.SessionID)
	}
	if u := c.byUser[e.principal.UserID]; u != nil {
		delete(u, e)
		if len(u) == 0 {
			delete(c.byUser, e.principal.UserID)
		}
	}
}
