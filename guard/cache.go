package guard

import (
	"sync"
	"time"

	"github.com/wxlogin/wxlogin"
)

// tokenKey is the SHA-256 of a token: the cache and the single flight
// never hold a token in clear.
type tokenKey [32]byte

// tokenCache remembers verified tokens for a fixed time. Its TTL is the
// revocation bound of a Remote guard, so an entry is never extended: it
// dies ttl after wxlogin last said yes.
type tokenCache struct {
	ttl  time.Duration
	size int

	mu      sync.Mutex
	entries map[tokenKey]cacheEntry
}

type cacheEntry struct {
	p     wxlogin.Principal
	until time.Time
}

func newTokenCache(ttl time.Duration, size int) *tokenCache {
	return &tokenCache{ttl: ttl, size: size, entries: make(map[tokenKey]cacheEntry)}
}

func (c *tokenCache) get(k tokenKey, now time.Time) (wxlogin.Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return wxlogin.Principal{}, false
	}
	if !now.Before(e.until) {
		delete(c.entries, k)
		return wxlogin.Principal{}, false
	}
	return e.p, true
}

func (c *tokenCache) put(k tokenKey, p wxlogin.Principal, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.size {
		c.makeRoomLocked(now)
	}
	c.entries[k] = cacheEntry{p: p, until: now.Add(c.ttl)}
}

// makeRoomLocked drops the expired entries, and when none was, a
// sixteenth of the cache, so that the sweep of a full cache runs once per
// many puts rather than on each. Go's map iteration starts at a random
// place, so the entries dropped are arbitrary.
func (c *tokenCache) makeRoomLocked(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.until) {
			delete(c.entries, k)
		}
	}
	drop := len(c.entries) - c.size + max(1, c.size/16)
	for k := range c.entries {
		if drop <= 0 {
			return
		}
		delete(c.entries, k)
		drop--
	}
}

func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
