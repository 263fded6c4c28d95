package auth

// This file holds how operators learn of a suite whose suite_ticket is
// going stale: its age at scrape time (SuiteTicketAges, the metric) and a
// WARN line from the background check. WeCom pushes a ticket every 10
// minutes and a ticket lasts 30: past 20 minutes, two pushes in a row did
// not arrive, and logins of the suite fail once the last ticket expires.

import (
	"context"
	"sync"
	"time"

	"github.com/wxlogin/wxlogin"
)

// StaleSuiteTicketAge is the age past which a suite's latest suite_ticket
// is logged as stale: two missed pushes.
const StaleSuiteTicketAge = 20 * time.Minute

// suiteTicketCheckEvery is how often the background loop looks at the
// suites' tickets (a read of the shared cache per suite).
const suiteTicketCheckEvery = time.Minute

// suiteTicketReader is what the ticket's age needs of the WeCom suite
// client; *wechat.Client implements it.
type suiteTicketReader interface {
	SuiteTicketIssued(ctx context.Context, app wxlogin.App) (time.Time, bool, error)
}

// SuiteTicketAge is how old one suite app's latest suite_ticket is.
type SuiteTicketAge struct {
	AppID, SuiteID string
	// Known reports whether a ticket is kept at all; Age is meaningless
	// without one.
	Known  bool
	Issued time.Time // when WeCom issued it
	Age    time.Duration
}

// SuiteTicketAges returns the age of each suite app's latest
// suite_ticket, read from the shared cache now; nil without suite apps.
func (s *Service) SuiteTicketAges(ctx context.Context) []SuiteTicketAge {
	r, ok := s.suite.(suiteTicketReader)
	if !ok {
		return nil
	}
	var out []SuiteTicketAge
	now := s.now()
	for _, a := range s.live().apps {
		if !a.IsWeComSuite() {
			continue
		}
		age := SuiteTicketAge{AppID: a.AppID, SuiteID: a.Suite.SuiteID}
		issued, known, err := r.SuiteTicketIssued(ctx, a)
		if err == nil && known {
			age.Known, age.Issued, age.Age = true, issued, max(0, now.Sub(issued))
		}
		out = append(out, age)
	}
	return out
}

// suiteTicketWatch is the state of the stale-ticket warnings: when the
// service started (a missing ticket is normal for the first minutes) and
// the suites warned about, so that one stale episode logs once.
type suiteTicketWatch struct {
	mu      sync.Mutex
	started time.Time
	last    time.Time            // the latest check
	warned  map[string]time.Time // suite id → the issue time warned about (zero: none kept)
}

// checkSuiteTickets logs a WARN for each suite app whose latest ticket is
// older than StaleSuiteTicketAge (or of which none arrived in that long
// since the start), once per stale ticket, and an INFO when a fresh one
// ends the episode. It runs from the background loop, at most once per
// suiteTicketCheckEvery.
func (s *Service) checkSuiteTickets(ctx context.Context) {
	w := &s.ticketWatch
	w.mu.Lock()
	defer w.mu.Unlock()
	now := s.now()
	if !w.last.IsZero() && now.Sub(w.last) < suiteTicketCheckEvery {
		return
	}
	w.last = now
	for _, a := range s.SuiteTicketAges(ctx) {
		stale := a.Known && a.Age > StaleSuiteTicketAge || !a.Known && now.Sub(w.started) > StaleSuiteTicketAge
		issued := a.Issued // zero when none is kept
		prev, was := w.warned[a.SuiteID]
		switch {
		case stale && (!was || !prev.Equal(issued)):
			if w.warned == nil {
				w.warned = map[string]time.Time{}
			}
			w.warned[a.SuiteID] = issued
			if a.Known {
				s.log.WarnContext(ctx, "auth: the WeCom suite's latest suite_ticket is stale: WeCom's pushes (every 10 minutes) are not arriving; its logins fail once the ticket is 30 minutes old",
					"appid", a.AppID, "suite_id", a.SuiteID, "age_seconds", int64(a.Age/time.Second))
			} else {
				s.log.WarnContext(ctx, "auth: no suite_ticket has arrived for the WeCom suite: check its callback URL in WeCom's console; its logins fail until one does",
					"appid", a.AppID, "suite_id", a.SuiteID)
			}
		case !stale && was:
			delete(w.warned, a.SuiteID)
			s.log.InfoContext(ctx, "auth: the WeCom suite's suite_ticket is fresh again", "appid", a.AppID, "suite_id", a.SuiteID)
		}
	}
}
