package auth

import (
	"context"
	"errors"
	"sync"
)

// Revocations carries revocations between the instances of a scaled-out
// server (for example over Redis pub/sub); auth/coordtest is the suite every
// implementation passes. LocalRevocations is the in-process one.
type Revocations interface {
	// Publish tells every subscriber of the bus, on every instance, of r.
	// The Service calls it after the store forgot the sessions and before
	// the revoking call returns.
	Publish(ctx context.Context, r Revocation) error

	// Subscribe delivers every revocation published from now on, by any
	// instance (the subscriber's own included), to revoked, until stop is
	// called; no call of revoked or live begins after stop returns. revoked
	// may be called concurrently.
	//
	// live reports whether delivery works: live(true) once the
	// subscription is in place (it may be called before Subscribe
	// returns), live(false) when it is lost, and live(true) again when it
	// is back, in that order and never concurrently. Between a
	// live(false) and the next live(true) revocations may be missed, and
	// the subscriber cannot know which: the Service then verifies every
	// token against the store rather than its cache.
	Subscribe(revoked func(Revocation), live func(bool)) (stop func())
}

// Revocation names what a revocation ended: one session (SessionID) or
// every session of a user (UserID).
type Revocation struct {
	SessionID string `json:"session_id,omitempty"`
	UserID    string `json:"user_id,omitempty"`
}

// LocalRevocations is the in-process Revocations: every Service of this
// process given the same LocalRevocations hears the others' revocations,
// before Publish returns. Its subscriptions are never lost. The zero value
// is ready to use.
type LocalRevocations struct {
	mu   sync.Mutex
	subs map[*localSub]struct{}
}

var _ Revocations = (*LocalRevocations)(nil)

type localSub struct {
	mu      sync.RWMutex // held for reading by a delivery, for writing by stop
	stopped bool
	revoked func(Revocation)
}

// Publish delivers r to every subscriber and returns when they all have it.
func (b *LocalRevocations) Publish(_ context.Context, r Revocation) error {
	b.mu.Lock()
	subs := make([]*localSub, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		s.mu.RLock()
		if !s.stopped {
			s.revoked(r)
		}
		s.mu.RUnlock()
	}
	return nil
}

// Subscribe implements Revocations; live(true) is called before it returns.
func (b *LocalRevocations) Subscribe(revoked func(Revocation), live func(bool)) (stop func()) {
	s := &localSub{revoked: revoked}
	b.mu.Lock()
	if b.subs == nil {
		b.subs = make(map[*localSub]struct{})
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	live(true)
	return func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
		s.mu.Lock()
		s.stopped = true
		s.mu.Unlock()
	}
}

// subscribe starts the Service's subscription to its bus, if it has one.
// Until the bus reports the subscription live the cache is bypassed.
func (s *Service) subscribe() {
	if s.revoked == nil {
		return
	}
	s.busDown.Store(true)
	s.stopBus = s.revoked.Subscribe(s.dropCached, s.busLive)
}

// busLive follows the state of the revocation subscription. Both ways the
// cache is emptied: when the subscription is lost, because a revocation
// may now be missed (Verify reads the store until it is back); when it is
// back, because one may have been missed while it was down, and a Verify
// that read the store just before may still be adding what it read (the
// generation bump of its emptying fences it off).
func (s *Service) busLive(live bool) {
	if live {
		s.busDown.Store(false)
		s.cache.forgetAll()
		s.log.Info("auth: revocation subscription live; caching verified sessions")
		return
	}
	s.busDown.Store(true)
	s.cache.forgetAll()
	s.log.Warn("auth: revocation subscription lost; verifying every token against the store until it is back")
}

// JoinRevocations returns one Revocations over several buses (a fast
// pub/sub bus and a slower log, say), so that a revocation still travels
// when one of them fails for the publisher or for a subscriber.
//
// Publish publishes on every bus at once; it fails if any bus failed (the caller's
// retry then publishes again on all of them, and a revocation heard twice
// is harmless), but a revocation that one bus took is already on its way.
//
// A subscription is live while any of its buses is: a revocation is
// published on all of them, so a subscriber that hears one of them hears
// it. Whenever one of the buses is lost or comes back while another stays
// live, the subscription reports live(false) and at once live(true) again,
// so that the subscriber still empties its cache: in the moment before a
// loss is noticed, a revocation sent only on that bus may have been missed.
func JoinRevocations(buses ...Revocations) Revocations {
	if len(buses) == 1 {
		return buses[0]
	}
	return joinedRevocations(buses)
}

type joinedRevocations []Revocations

// Publish publishes on every bus at once: a bus that hangs until its
// timeout must not hold back the others.
func (j joinedRevocations) Publish(ctx context.Context, r Revocation) error {
	errs := make([]error, len(j))
	var wg sync.WaitGroup
	for i, b := range j {
		wg.Go(func() { errs[i] = b.Publish(ctx, r) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (j joinedRevocations) Subscribe(revoked func(Revocation), live func(bool)) (stop func()) {
	var mu sync.Mutex // serialises live reports from the buses' goroutines
	up := make([]bool, len(j))
	anyUp := func() bool {
		for _, u := range up {
			if u {
				return true
			}
		}
		return false
	}
	stops := make([]func(), len(j))
	for i, b := range j {
		stops[i] = b.Subscribe(revoked, func(l bool) {
			mu.Lock()
			defer mu.Unlock()
			was := anyUp()
			up[i] = l
			switch now := anyUp(); {
			case was != now:
				live(now)
			case now:
				live(false)
				live(true)
			}
		})
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
