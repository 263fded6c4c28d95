package auth

import (
	"context"
	"sync"
	"time"
)

// Bounds of unfinished registrations. A registering login fails after
// EnsureUser only when the session store fails, and its client retries
// within seconds or minutes; a day covers a long outage, and the cap keeps
// a store failing under a flood of first logins from growing memory.
const (
	UnfinishedTTL = 24 * time.Hour
	unfinishedMax = 10_000
)

// UnfinishedRegistrations remembers users whose registering login failed
// after the user was stored (the session could not be), so that the first
// login of theirs that completes still answers created: true. LoginResult's
// Created means "this is the user's first completed login": a client that
// got a 503 for its first login must not miss the new user on its retry,
// which may reach another instance when the record is shared. auth/coordtest
// is the suite every implementation passes.
type UnfinishedRegistrations interface {
	// Add records that userID was registered at now by a login that then
	// failed.
	Add(ctx context.Context, userID string, now time.Time) error
	// Take reports whether userID has a record younger than UnfinishedTTL
	// at now, and forgets it: of concurrent Takes at most one reports true,
	// since only one login completes the registration.
	Take(ctx context.Context, userID string, now time.Time) (bool, error)
}

// LocalUnfinishedRegistrations is the in-process UnfinishedRegistrations:
// a restart or another instance in between answers created: false, as
// before the record existed. It keeps at most 10,000 records. The zero
// value is ready to use.
type LocalUnfinishedRegistrations struct {
	mu sync.Mutex
	m  map[string]time.Time // user id → when its registering login failed
}

var _ UnfinishedRegistrations = (*LocalUnfinishedRegistrations)(nil)

// Add implements UnfinishedRegistrations.
func (u *LocalUnfinishedRegistrations) Add(_ context.Context, userID string, now time.Time) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		u.m = make(map[string]time.Time)
	}
	if len(u.m) < unfinishedMax {
		u.m[userID] = now
	}
	return nil
}

// Take implements UnfinishedRegistrations.
func (u *LocalUnfinishedRegistrations) Take(_ context.Context, userID string, now time.Time) (bool, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	at, ok := u.m[userID]
	if !ok {
		return false, nil
	}
	delete(u.m, userID)
	return now.Sub(at) < UnfinishedTTL, nil
}

// Sweep forgets the records older than UnfinishedTTL; the Service calls it
// with its other sweeps.
func (u *LocalUnfinishedRegistrations) Sweep(now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for id, at := range u.m {
		if now.Sub(at) >= UnfinishedTTL {
			delete(u.m, id)
		}
	}
}
