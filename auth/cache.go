package auth

import (
	"hash/maphash"
	"strings"
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
//
// # Memory
//
// A cache of a million sessions must stay small, so sessions are packed:
// each is one slot in a chunked array (no object of its own), its strings
// in one string, its app an index into a short table of appids, and the
// three indexes map 32-bit keys to slot numbers: the token hash's first
// four bytes, and a hash of the session id and of the user id. Each key
// leads to a list of the slots that share it (a few hundred keys of a
// million are shared), and each slot is compared in full before it is
// taken. Keys of 32 bits rather than 64 save about 30 bytes a session. BenchmarkCacheMemory
// measures the bytes per session.
//
// Slots are reused once freed, so a Verify holding a copy of a slot (an
// entry) names it by number and generation: the slot's gen changes on every
// reuse, and a touch of a slot whose gen moved is dropped. The key checker
// names the sessions it will check the same way (keyRef), so a session
// removed since its walk is told by its slot's gen, with no flag or object
// per session.
type verifyCache struct {
	mu  sync.RWMutex
	gen atomic.Uint64 // bumped by every forget, under mu
	max int

	chunks [][]slot // slotsPerChunk each; never moved once made
	free   int32    // first free slot, chained by next; -1: none
	used   int

	byHash    map[uint32]int32 // by hashKey, head of a list chained by hashNext
	bySession map[uint32]int32 // head of a list chained by sessNext
	byUser    map[uint32]int32 // head of a list chained by userNext/userPrev
	apps      []string         // appids by index; few, never removed
	seed      maphash.Seed
}

const slotsPerChunk = 4096

// slot is a cached session. Everything but lastSeen and keyChecked changes
// only under the write lock; lastSeen moves when a touch is written, by
// compare-and-swap so that one Verify writes it.
//
// Its fields are laid out to make 96 bytes: lens and keyChecked are
// narrow for that (TestCacheMemoryPerSession checks the size).
type slot struct {
	hash      wxlogin.TokenHash
	expiresAt int64        // absolute deadline, Unix nanoseconds
	lastSeen  atomic.Int64 // Unix nanoseconds of the last touch the store has
	// text is SessionID, UserID, OpenID, UnionID and AccountID, one after
	// the other; lens holds the lengths of the first four (add caches no
	// session with a longer one: ids are 26 bytes, an openid 28, a WeCom
	// key at most 129). A WeCom member's OpenID part is its corpid/userid
	// key (weCom set), split by get.
	text  string
	lens  [4]uint8
	app   uint16
	weCom bool
	gen   uint32
	// keyChecked is when this instance last claimed the check of the
	// session's session_key with WeChat, in Unix seconds (the checker's
	// intervals are minutes), first the session's creation: its key was
	// valid then. Only the key checker reads and writes it (under the
	// read lock), never Verify.
	keyChecked atomic.Uint32
	hashNext   int32 // next slot of the same hashKey, or -1
	// sessNext is the next slot of the same session-id hash, or -1; while
	// the slot is free, the next free slot.
	sessNext int32
	userNext int32 // next and previous slot of the same user-id hash
	userPrev int32
}

// ends returns where the slot's SessionID, UserID, OpenID and UnionID end
// in its text.
func (sl *slot) ends() (sess, user, open, union int) {
	sess = int(sl.lens[0])
	user = sess + int(sl.lens[1])
	open = user + int(sl.lens[2])
	union = open + int(sl.lens[3])
	return
}

func (sl *slot) sessionID() string { return sl.text[:sl.lens[0]] }

func (sl *slot) userID() string { return sl.text[sl.lens[0] : int(sl.lens[0])+int(sl.lens[1])] }

// checkedSeconds is t (Unix nanoseconds) as slot.keyChecked holds it:
// whole seconds, rounded down, so a check is due no later than it was.
func checkedSeconds(t int64) uint32 {
	if t <= 0 {
		return 0
	}
	return uint32(min(t/1e9, 1<<32-1))
}

// hashKey is the index key of a token hash: SHA-256 output is uniform, so
// its first bytes spread as well as any hash of it would. A client cannot
// aim at a key: the hash is of a token only wxlogin issues.
func hashKey(h *wxlogin.TokenHash) uint32 {
	return uint32(h[0]) | uint32(h[1])<<8 | uint32(h[2])<<16 | uint32(h[3])<<24
}

// lookupLocked returns the slot of h, or -1.
func (c *verifyCache) lookupLocked(h *wxlogin.TokenHash) int32 {
	i, ok := c.byHash[hashKey(h)]
	for ok && i >= 0 {
		sl := c.slot(i)
		if sl.hash == *h {
			return i
		}
		i = sl.hashNext
	}
	return -1
}

// entry is a copy of a cached session (or of one just read from the
// store), the form Verify works with.
type entry struct {
	idx       int32 // the slot, or -1 when the session is not cached
	gen       uint32
	hash      wxlogin.TokenHash
	principal wxlogin.Principal // ExpiresAt is filled in per verification
	expiresAt time.Time         // absolute deadline
	lastSeen  int64             // Unix nanoseconds, as of the copy
	// keyChecked is the slot's keyChecked as of the copy; for an entry
	// not yet cached, the session's creation, which add stores.
	keyChecked int64
}

func newVerifyCache(max int) *verifyCache {
	return &verifyCache{
		max:       max,
		free:      -1,
		byHash:    make(map[uint32]int32),
		bySession: make(map[uint32]int32),
		byUser:    make(map[uint32]int32),
		seed:      maphash.MakeSeed(),
	}
}

// newEntry is the entry of s; weCom reports whether its app is a WeCom
// app, whose users have a (corpid, userid) in the place of an openid. The
// caller fills in the account (Principal.AccountID).
func newEntry(s *wxlogin.Session, weCom bool) *entry {
	e := &entry{
		idx:  -1,
		hash: s.TokenHash,
		principal: wxlogin.Principal{
			SessionID: s.ID,
			UserID:    s.UserID,
			AppID:     s.AppID,
			OpenID:    s.OpenID,
			UnionID:   s.UnionID,
		},
		expiresAt:  s.ExpiresAt,
		lastSeen:   s.LastSeenAt.UnixNano(),
		keyChecked: s.CreatedAt.UnixNano(),
	}
	if weCom {
		e.principal.CorpID, e.principal.WeComUserID, _ = wxlogin.SplitWeComKey(s.OpenID)
		e.principal.OpenID = ""
	}
	return e
}

func (c *verifyCache) slot(i int32) *slot {
	return &c.chunks[i/slotsPerChunk][i%slotsPerChunk]
}

func (c *verifyCache) idHash(id string) uint32 { return uint32(maphash.String(c.seed, id)) }

// get fills e with the entry for h and reports whether there is one.
func (c *verifyCache) get(h wxlogin.TokenHash, e *entry) bool {
	if c.max <= 0 {
		return false
	}
	c.mu.RLock()
	i := c.lookupLocked(&h)
	ok := i >= 0
	if ok {
		c.copyLocked(i, e)
	}
	c.mu.RUnlock()
	return ok
}

// copyLocked fills e with slot i, which is in use. The strings are parts
// of the slot's one string: no allocation.
func (c *verifyCache) copyLocked(i int32, e *entry) {
	sl := c.slot(i)
	t := sl.text
	sess, user, open, union := sl.ends()
	*e = entry{
		idx:  i,
		gen:  sl.gen,
		hash: sl.hash,
		principal: wxlogin.Principal{
			SessionID: t[:sess],
			UserID:    t[sess:user],
			AppID:     c.apps[sl.app],
			OpenID:    t[user:open],
			UnionID:   t[open:union],
			AccountID: t[union:],
		},
		expiresAt:  time.Unix(0, sl.expiresAt),
		lastSeen:   sl.lastSeen.Load(),
		keyChecked: int64(sl.keyChecked.Load()) * 1e9,
	}
	if sl.weCom {
		p := &e.principal
		p.CorpID, p.WeComUserID, _ = strings.Cut(p.OpenID, "/")
		p.OpenID = ""
	}
}

// casLastSeen moves the last touch of e from old to new, in its slot when
// it is still cached; it reports whether this caller moved it.
func (c *verifyCache) casLastSeen(e *entry, old, new int64) bool {
	if e.idx >= 0 {
		c.mu.RLock()
		sl := c.slot(e.idx)
		if sl.gen == e.gen {
			ok := sl.lastSeen.CompareAndSwap(old, new)
			if ok {
				e.lastSeen = new
			} else {
				// Another Verify touched it since e was copied: take its
				// time, so that e answers the deadline the store holds.
				e.lastSeen = sl.lastSeen.Load()
			}
			c.mu.RUnlock()
			return ok
		}
		c.mu.RUnlock()
		e.idx = -1 // the slot was freed or reused since: e is the caller's alone
	}
	if e.lastSeen != old {
		return false
	}
	e.lastSeen = new
	return true
}

// generation returns the revocation counter; pass it to add.
func (c *verifyCache) generation() uint64 { return c.gen.Load() }

// add caches e unless a revocation happened since gen was read, and then
// records in e the slot it took.
func (c *verifyCache) add(e *entry, gen uint64) {
	p := &e.principal
	// A WeCom member is kept by its corpid/userid key, the form the store
	// has, and split again by get.
	openid, weCom := p.OpenID, p.CorpID != ""
	if weCom {
		openid = p.CorpID + "/" + p.WeComUserID
	}
	if c.max <= 0 || max(len(p.SessionID), len(p.UserID), len(openid), len(p.UnionID)) > 0xff {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if old := c.lookupLocked(&e.hash); old >= 0 {
		c.removeLocked(old)
	}
	for c.used >= c.max {
		// Map iteration order is random: this evicts an arbitrary entry,
		// which costs it one store read later. Cheaper to keep than an LRU
		// list whose upkeep would need the write lock on every hit.
		for _, victim := range c.byHash {
			c.removeLocked(victim)
			break
		}
	}
	i := c.allocLocked()
	sl := c.slot(i)
	sl.hash = e.hash
	sl.expiresAt = e.expiresAt.UnixNano()
	sl.lastSeen.Store(e.lastSeen)
	sl.keyChecked.Store(checkedSeconds(e.keyChecked))
	sl.text = p.SessionID + p.UserID + openid + p.UnionID + p.AccountID
	sl.lens = [4]uint8{uint8(len(p.SessionID)), uint8(len(p.UserID)), uint8(len(openid)), uint8(len(p.UnionID))}
	sl.app = c.appLocked(p.AppID)
	sl.weCom = weCom
	sl.gen++
	hk := hashKey(&e.hash)
	sl.hashNext = -1
	if head, ok := c.byHash[hk]; ok {
		sl.hashNext = head
	}
	c.byHash[hk] = i

	sh := c.idHash(p.SessionID)
	sl.sessNext = -1
	if head, ok := c.bySession[sh]; ok {
		sl.sessNext = head
	}
	c.bySession[sh] = i

	uh := c.idHash(p.UserID)
	sl.userPrev, sl.userNext = -1, -1
	if head, ok := c.byUser[uh]; ok {
		sl.userNext = head
		c.slot(head).userPrev = i
	}
	c.byUser[uh] = i
	e.idx, e.gen = i, sl.gen
}

// allocLocked returns a free slot, growing the array by a chunk when none is.
func (c *verifyCache) allocLocked() int32 {
	if c.free < 0 {
		base := int32(len(c.chunks) * slotsPerChunk)
		chunk := make([]slot, slotsPerChunk)
		for j := range chunk {
			chunk[j].sessNext = base + int32(j) + 1
		}
		chunk[slotsPerChunk-1].sessNext = -1
		c.chunks = append(c.chunks, chunk)
		c.free = base
	}
	i := c.free
	c.free = c.slot(i).sessNext
	c.used++
	return i
}

// appLocked returns the index of appid in the table of appids.
func (c *verifyCache) appLocked(appid string) uint16 {
	for i, a := range c.apps {
		if a == appid {
			return uint16(i)
		}
	}
	c.apps = append(c.apps, appid)
	return uint16(len(c.apps) - 1)
}

// keyRef names a cached session for the key checker: its slot and the
// slot's gen when it was walked (a different gen: removed since), and its
// last touch then, by which the checker orders its list.
type keyRef struct {
	idx      int32
	gen      uint32
	lastSeen int64
}

// keyScanChunk is how many slots keyScan looks at per hold of the read
// lock: short enough that a revocation waiting for the write lock waits
// tens of microseconds, not the whole walk.
const keyScanChunk = 1024

// keyScan appends to refs the cached sessions of which due(appid,
// keyChecked) is true. The read lock is taken for keyScanChunk slots at a
// time, so a walk of a million never holds up a revocation (and with it,
// new Verifies behind it) for long; a session added or removed meanwhile
// may be missed or named stale, which keyEntry tells.
func (c *verifyCache) keyScan(refs []keyRef, due func(appid string, keyChecked int64) bool) []keyRef {
	for base := int32(0); ; base += keyScanChunk {
		c.mu.RLock()
		end := min(int32(len(c.chunks)*slotsPerChunk), base+keyScanChunk)
		if base >= end {
			c.mu.RUnlock()
			return refs
		}
		for i := base; i < end; i++ {
			sl := c.slot(i)
			if sl.text != "" && due(c.apps[sl.app], int64(sl.keyChecked.Load())*1e9) {
				refs = append(refs, keyRef{idx: i, gen: sl.gen, lastSeen: sl.lastSeen.Load()})
			}
		}
		c.mu.RUnlock()
	}
}

// keyEntry fills e with the session r names and reports whether it is
// still cached.
func (c *verifyCache) keyEntry(r keyRef, e *entry) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if int(r.idx) >= len(c.chunks)*slotsPerChunk {
		return false
	}
	if sl := c.slot(r.idx); sl.gen != r.gen || sl.text == "" {
		return false
	}
	c.copyLocked(r.idx, e)
	return true
}

// setKeyChecked records at (Unix nanoseconds) as the last key check of
// e's session, if it is still cached.
func (c *verifyCache) setKeyChecked(e *entry, at int64) {
	e.keyChecked = at
	if e.idx < 0 {
		return
	}
	c.mu.RLock()
	if sl := c.slot(e.idx); sl.gen == e.gen {
		sl.keyChecked.Store(checkedSeconds(at))
	}
	c.mu.RUnlock()
}

// drop removes e if it is still cached; it is not a revocation (an expired
// or evicted entry) and leaves gen alone.
func (c *verifyCache) drop(e *entry) {
	if e.idx < 0 {
		return
	}
	c.mu.Lock()
	if i := c.lookupLocked(&e.hash); i >= 0 && i == e.idx && c.slot(i).gen == e.gen {
		c.removeLocked(i)
	}
	c.mu.Unlock()
}

// forgetSession removes the session's entry and fences off concurrent adds.
func (c *verifyCache) forgetSession(id string) {
	c.mu.Lock()
	c.bumpLocked()
	head, ok := c.bySession[c.idHash(id)]
	for i := head; ok && i >= 0; i = c.slot(i).sessNext {
		if sl := c.slot(i); sl.sessionID() == id {
			c.removeLocked(i)
			break
		}
	}
	c.mu.Unlock()
}

// forgetUser removes every entry of the user and fences off concurrent adds.
func (c *verifyCache) forgetUser(userID string) {
	c.mu.Lock()
	c.bumpLocked()
	head, ok := c.byUser[c.idHash(userID)]
	for i := head; ok && i >= 0; {
		sl := c.slot(i)
		next := sl.userNext
		if sl.userID() == userID {
			c.removeLocked(i)
		}
		i = next
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
	// Every slot's gen moves on, so no entry copied out before can touch
	// the slot's next occupant; the chunks are kept for reuse.
	c.free, c.used = -1, 0
	for k := len(c.chunks)*slotsPerChunk - 1; k >= 0; k-- {
		sl := c.slot(int32(k))
		sl.gen++
		sl.text = ""
		sl.sessNext = c.free
		c.free = int32(k)
	}
	c.mu.Unlock()
}

func (c *verifyCache) bumpLocked() { c.gen.Add(1) }

// removeLocked unlinks slot i from the three indexes and frees it.
func (c *verifyCache) removeLocked(i int32) {
	sl := c.slot(i)
	hk := hashKey(&sl.hash)
	if head := c.byHash[hk]; head == i {
		if sl.hashNext < 0 {
			delete(c.byHash, hk)
		} else {
			c.byHash[hk] = sl.hashNext
		}
	} else {
		for j := head; j >= 0; j = c.slot(j).hashNext {
			if c.slot(j).hashNext == i {
				c.slot(j).hashNext = sl.hashNext
				break
			}
		}
	}

	sh := c.idHash(sl.sessionID())
	if head := c.bySession[sh]; head == i {
		if sl.sessNext < 0 {
			delete(c.bySession, sh)
		} else {
			c.bySession[sh] = sl.sessNext
		}
	} else {
		for j := head; j >= 0; j = c.slot(j).sessNext {
			if c.slot(j).sessNext == i {
				c.slot(j).sessNext = sl.sessNext
				break
			}
		}
	}

	uh := c.idHash(sl.userID())
	if sl.userPrev >= 0 {
		c.slot(sl.userPrev).userNext = sl.userNext
	} else if sl.userNext < 0 {
		delete(c.byUser, uh)
	} else {
		c.byUser[uh] = sl.userNext
	}
	if sl.userNext >= 0 {
		c.slot(sl.userNext).userPrev = sl.userPrev
	}

	sl.gen++
	sl.text = ""
	sl.sessNext = c.free
	c.free = i
	c.used--
}
