package guard

import "time"

// SetNow sets the clock of a Remote guard's cache.
func SetNow(g *Guard, now func() time.Time) { g.remote.now = now }

// OnJoin makes a Remote guard call f each time a request has joined the
// verification call of its token.
func OnJoin(g *Guard, f func()) { g.remote.joined = f }

// CacheLen is the number of tokens a Remote guard's cache holds.
func CacheLen(g *Guard) int { return g.remote.cache.len() }
