package auth

// This file holds the background loop: store health checks (Ready, which
// GET /readyz also calls) and the sweeps of expired state.

import (
	"context"
	"time"

	"github.com/wxlogin/wxlogin"
)

// writeCheckTimeout bounds the write check of Ready: a store whose write
// lock cannot be had within it cannot take logins either.
const writeCheckTimeout = time.Second

// Ready reports whether the stores can be read and written (GET /readyz),
// saying which of the two fails. The store's own error is wrapped, not
// put in the message: /readyz answers whoever reaches it, and the error
// may name the database's path or host; the server logs the cause. A failed read check raises the outage flag Verify
// honours; a failed write check only marks writes down, since forward-auth
// can keep answering from reads. Passing checks lower them.
func (s *Service) Ready(ctx context.Context) error {
	stores := []any{s.users, s.sessions, s.blobs}
	for _, st := range stores {
		if p, ok := st.(wxlogin.Pinger); ok {
			if err := p.Ping(ctx); err != nil {
				s.storeDown.Store(true)
				return wxlogin.Wrap(err, wxlogin.EStoreUnavailable, "a store cannot be read")
			}
		}
	}
	s.storeDown.Store(false)
	for _, st := range stores {
		w, ok := st.(wxlogin.WriteChecker)
		if !ok {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, writeCheckTimeout)
		err := w.CheckWrite(wctx)
		cancel()
		if err != nil {
			s.writesDown.Store(true)
			return wxlogin.Wrap(err, wxlogin.EStoreUnavailable, "a store cannot write")
		}
	}
	s.writesDown.Store(false)
	return nil
}

// sweepLoop deletes expired sessions, idle rate-limit buckets and
// remembered codes every interval, and checks the stores' health every
// health interval, until Close. A negative interval turns its job off.
func (s *Service) sweepLoop(every time.Duration) {
	defer close(s.stopped)
	sweeps, stopSweeps := ticker(every)
	defer stopSweeps()
	checks, stopChecks := ticker(s.healthEvery)
	defer stopChecks()
	for {
		select {
		case <-s.stop:
			return
		case <-sweeps:
			ctx, cancel := context.WithTimeout(s.sweepCtx, every)
			s.sweep(ctx)
			cancel()
		case <-checks:
			ctx, cancel := context.WithTimeout(s.sweepCtx, s.healthEvery)
			s.Ready(ctx)
			s.checkSuiteTickets(ctx)
			cancel()
		}
	}
}

// ticker returns the channel of a ticker, or a nil channel (never ready)
// for a negative interval.
func ticker(every time.Duration) (<-chan time.Time, func()) {
	if every < 0 {
		return nil, func() {}
	}
	t := time.NewTicker(every)
	return t.C, t.Stop
}

// sweep is one round of sweepLoop.
func (s *Service) sweep(ctx context.Context) {
	now := s.now()
	n, err := s.sessions.DeleteExpiredSessions(ctx, now)
	if err != nil {
		s.log.WarnContext(ctx, "auth: sweeping expired sessions failed", "err", err)
	} else if n > 0 {
		s.log.InfoContext(ctx, "auth: swept expired sessions", "count", n)
	}
	if b, ok := s.buckets.(interface{ Sweep(time.Time) }); ok {
		b.Sweep(now)
	}
	if x, ok := s.codes.rec.(interface{ Sweep(time.Time) }); ok {
		x.Sweep(now)
	}
	if u, ok := s.unfinished.(interface{ Sweep(time.Time) }); ok {
		u.Sweep(now)
	}
}
