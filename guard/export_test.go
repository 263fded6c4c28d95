package guard

import "time"

// SetNow sets the clock of a Remote guard's cache.
func SetNow(g *Guard, now func() time.Time) { g.remote.now = now }

// CacheLen is the number of tokens a Remote guard's cache holds.
func CacheLen(g *Guard) int { return g.remote.cache.len() }
