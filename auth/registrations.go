package auth

import (
	"sync"
	"time"
)

// Bounds of unfinishedRegistrations. A registering login fails after
// EnsureUser only when the session store fails, and its client retries
// within seconds or minutes; a day covers a long outage, and the cap keeps
// a store failing under a flood of first logins from growing memory.
const (
	unfinishedTTL = 24 * time.Hour
	unfinishedMax = 10_000
)

// unfinishedRegistrations remembers users whose registering login failed
// after the user was stored (the session could not be), so that the first
// login of theirs that completes still answers created: true. LoginResult's
// Created means "this is the user's first completed login": a client that
// got a 503 for its first login must not miss the new user on its retry.
//
// The record lives in this process, like the code exchanges it goes with:
// a restart or another instance in between answers created: false, as
// before this existed.
type unfinishedRegistrations struct {
	mu sync.Mutex
	m  map[string]time.Time // user id → when its registering login failed
}

func newUnfinishedRegistrations() *unfinishedRegistrations {
	return &unfinishedRegistrations{m: make(map[string]time.Time)}
}

// add records that userID was registered by a login that then failed.
func (u *unfinishedRegistrations) add(userID string, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.m) < unfinishedMax {
		u.m[userID] = now
	}
}

// take reports whether userID's registration is unfinished as of now, and
// forgets it: only one login completes it.
func (u *unfinishedRegistrations) take(userID string, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	at, ok := u.m[userID]
	if !ok {
		return false
	}
	delete(u.m, userID)
	return now.Sub(at) < unfinishedTTL
}

// sweep forgets the records older than unfinishedTTL.
func (u *unfinishedRegistrations) sweep(now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for id, at := range u.m {
		if now.Sub(at) >= unfinishedTTL {
			delete(u.m, id)
		}
	}
}
