package auth

import (
	"context"
	"errors"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Verify checks a login token: the hot path. No store write except a
// throttled touch; a revoked token fails at once. Errors: ESessionInvalid,
// EStoreUnavailable.
func (s *Service) Verify(ctx context.Context, token string) (wxlogin.Principal, error) {
	h, ok := parseToken(token)
	if !ok {
		return wxlogin.Principal{}, errSessionInvalid()
	}
	// The raw clock: comparing with deadlines needs no stamping, and this
	// is the hot path. touch stamps the times it writes.
	now := s.clock()
	if s.storeDown.Load() {
		return wxlogin.Principal{}, errStoreDown()
	}
	// Without a live revocation subscription the cache cannot learn of
	// other instances' revocations, so the store answers.
	bypass := s.busDown.Load()
	var cached entry
	if e := &cached; !bypass && s.cache.get(h, e) {
		if _, ok := s.live().appByID[e.principal.AppID]; !ok {
			// The app was removed by a reload after this session was
			// cached: its sessions end at once, not at their next touch.
			s.cache.drop(e)
			return wxlogin.Principal{}, errSessionInvalid()
		}
		if now.Before(e.expiresAt) && now.Before(time.Unix(0, e.lastSeen).Add(s.idle)) {
			s.cacheCount.hits.Add(1)
			return s.touch(ctx, e, now)
		}
		// Past a deadline as far as this instance knows; another instance
		// may have touched it since, so the store decides.
		s.cache.drop(e)
	}

	s.cacheCount.misses.Add(1)
	gen := s.cache.generation()
	sess, err := s.sessions.SessionByToken(ctx, h)
	if errors.Is(err, wxlogin.ErrNotFound) {
		return wxlogin.Principal{}, errSessionInvalid()
	}
	if err != nil {
		s.log.WarnContext(ctx, "auth: verify: session store failed", "err", err)
		s.noteStoreFailure(err)
		return wxlogin.Principal{}, s.storeFailed(err)
	}
	app, ok := s.live().appByID[sess.AppID]
	if !ok || sess.Expired(now) {
		// An app removed from the configuration takes its sessions along.
		return wxlogin.Principal{}, errSessionInvalid()
	}
	account, err := s.accountOfSession(ctx, &sess)
	if errors.Is(err, wxlogin.ErrNotFound) {
		return wxlogin.Principal{}, errSessionInvalid() // the user is being erased
	}
	if err != nil {
		s.log.WarnContext(ctx, "auth: verify: reading the session's account failed", "err", err)
		s.noteStoreFailure(err)
		return wxlogin.Principal{}, s.storeFailed(err)
	}
	e := newEntry(&sess, app.WeComUsers())
	e.principal.AccountID = account
	if !bypass {
		s.cache.add(e, gen)
	}
	return s.touch(ctx, e, now)
}

// touch returns the principal of a live entry, writing the sliding renewal
// to the store when the last write is TouchInterval old. Of concurrent
// Verifies of one session only the one that wins the compare-and-swap
// writes; the others answer from memory.
func (s *Service) touch(ctx context.Context, e *entry, now time.Time) (wxlogin.Principal, error) {
	if last := e.lastSeen; now.Sub(time.Unix(0, last)) >= s.touchEvery {
		if err := s.writeTouch(ctx, e, last, stamp(now)); err != nil {
			return wxlogin.Principal{}, err
		}
	}
	// The idle deadline is the one the store holds, counted from the last
	// touch written, not from now: between two writes a session really
	// dies at lastSeen+idle, and a client told now+idle could be refused
	// up to TouchInterval before the time it was given.
	p := e.principal
	p.ExpiresAt = time.Unix(0, e.lastSeen).UTC().Add(s.idle)
	if e.expiresAt.Before(p.ExpiresAt) {
		p.ExpiresAt = e.expiresAt
	}
	return p, nil
}

// touchTimeout bounds the write of a touch.
const touchTimeout = time.Second

// writeTouch writes the sliding renewal of e, last written at last, as of
// now (stamped). Of concurrent callers only the one that wins the
// compare-and-swap writes; the others return nil at once.
func (s *Service) writeTouch(ctx context.Context, e *entry, last int64, now time.Time) error {
	if s.writesDown.Load() {
		// The store cannot write now; the touch's other job, the recheck,
		// can still be done by a read. The next touch is due at once, so
		// this session is re-read until writes are back.
		return s.recheck(ctx, e)
	}
	if !s.cache.casLastSeen(e, last, now.UnixNano()) {
		return nil
	}
	// A touch is bounded on its own: forward-auth requests carry no
	// deadline, and a verification must not queue behind a write lock for
	// as long as a login may.
	tctx, cancel := context.WithTimeout(ctx, touchTimeout)
	err := s.sessions.TouchSession(tctx, e.principal.SessionID, now, now.Add(s.idle))
	cancel()
	if err == nil {
		return nil
	}
	s.cache.casLastSeen(e, now.UnixNano(), last) // let the next Verify try again
	if errors.Is(err, wxlogin.ErrNotFound) {
		// Revoked by someone who could not tell this instance (another
		// instance without a Revocations bus): the touch doubles as a
		// periodic recheck.
		s.cache.drop(e)
		return errSessionInvalid()
	}
	s.log.WarnContext(ctx, "auth: verify: touching the session failed", "session_id", e.principal.SessionID, "err", err)
	if errors.Is(err, wxlogin.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		// Writes fail (a full disk, a held write lock, a deleted file):
		// until a write check passes, verify from reads.
		s.writesDown.Store(true)
		return s.recheck(ctx, e)
	}
	s.noteStoreFailure(err)
	return s.storeFailed(err)
}

// recheck reads e's session in place of a touch: a session revoked
// elsewhere fails, and a store that cannot be read raises the outage flag.
func (s *Service) recheck(ctx context.Context, e *entry) error {
	_, err := s.sessions.Session(ctx, e.principal.SessionID)
	if errors.Is(err, wxlogin.ErrNotFound) {
		s.cache.drop(e)
		return errSessionInvalid()
	}
	if err != nil {
		s.log.WarnContext(ctx, "auth: verify: re-reading the session failed", "session_id", e.principal.SessionID, "err", err)
		s.noteStoreFailure(err)
		return storeErr(err)
	}
	return nil
}

// noteStoreFailure raises the outage flag for a store error that is not a
// caller's mistake (a context the client canceled is not an outage); the
// next successful health check lowers it.
func (s *Service) noteStoreFailure(err error) {
	if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		s.storeDown.Store(true)
	}
}
