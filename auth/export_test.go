package auth

import (
	"context"
	"time"
)

// Sweep runs one round of the background sweep, for tests that move a fake
// clock instead of waiting for the ticker.
func Sweep(s *Service, ctx context.Context) { s.sweep(ctx) }

// OccupyDecodes takes every avatar decode slot, as that many uploads being
// decoded at once would, until the returned function is called.
func OccupyDecodes(s *Service) (release func()) {
	for range cap(s.decodes) {
		s.decodes <- struct{}{}
	}
	return func() {
		for range cap(s.decodes) {
			<-s.decodes
		}
	}
}

// CheckKeys runs one round of the session_key checker, for tests that move
// a fake clock instead of waiting for its ticker.
func CheckKeys(s *Service, ctx context.Context) { s.checkKeys(ctx) }

// CheckSuiteTickets runs one round of the stale suite_ticket check, for
// tests that move a fake clock.
func CheckSuiteTickets(s *Service, ctx context.Context) { s.checkSuiteTickets(ctx) }

// RevokeCorp ends the sessions of a corp's members in a suite app as a
// cancel_auth does, waiting for all of it (benchmarks).
func RevokeCorp(s *Service, ctx context.Context, appid, corpID string) {
	app, _ := s.app(appid)
	s.revokeCorp(ctx, app, corpID)
}

// SetUninstallWait sets how long a cancel_auth waits for its revocation
// before answering.
func SetUninstallWait(s *Service, d time.Duration) { s.uninstallWait = d }
