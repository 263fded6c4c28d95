package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/auth"
)

// TestSuiteTicketAgeAndStaleWarning: the ticket's age follows WeCom's
// issue time; past 20 minutes the check logs one WARN per stale ticket,
// and an INFO when a fresh push ends it; a suite that never got a ticket
// is warned about once the service has waited as long.
func TestSuiteTicketAgeAndStaleWarning(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSuite)
	ages := func() auth.SuiteTicketAge {
		t.Helper()
		a := e.svc.SuiteTicketAges(t.Context())
		if len(a) != 1 || a[0].AppID != suiteApp || a[0].SuiteID != devSuite.SuiteID {
			t.Fatalf("SuiteTicketAges = %+v, want the one suite app", a)
		}
		return a[0]
	}
	warns := func(substr string) int {
		n := 0
		for _, l := range strings.Split(e.logs.String(), "\n") {
			if strings.Contains(l, "level=WARN") && strings.Contains(l, substr) {
				n++
			}
		}
		return n
	}
	check := func() {
		e.clock.Advance(time.Minute) // the check runs at most once a minute
		auth.CheckSuiteTickets(e.svc, t.Context())
	}

	if a := ages(); a.Known {
		t.Fatalf("before any push: %+v, want no ticket known", a)
	}
	check()
	if n := warns("no suite_ticket has arrived"); n != 0 {
		t.Errorf("a missing ticket warned about a minute after the start")
	}
	e.pushTicket()
	e.clock.Advance(4 * time.Minute)
	check()
	if a := ages(); !a.Known || a.Age != 5*time.Minute {
		t.Errorf("five minutes after the push: %+v, want age 5m", a)
	}
	if n := warns("stale"); n != 0 {
		t.Errorf("a 5-minute-old ticket was warned about")
	}
	e.clock.Advance(15 * time.Minute)
	check() // 21 minutes
	check()
	if n := warns("suite_ticket is stale"); n != 1 {
		t.Errorf("%d stale warnings over two checks of one stale ticket, want 1:\n%s", n, e.logs.String())
	}
	if _, err := e.em.PushTicket(t.Context(), devSuite.SuiteID); err != nil {
		t.Fatal(err)
	}
	check()
	if !strings.Contains(e.logs.String(), "fresh again") {
		t.Error("no line when a fresh ticket ended the stale episode")
	}
	if a := ages(); !a.Known || a.Age != time.Minute {
		t.Errorf("after the new push: %+v, want age 1m", a)
	}
	if strings.Contains(e.logs.String(), e.em.LatestSuiteTicket(devSuite.SuiteID)) {
		t.Error("the log holds the suite_ticket")
	}

	never := newEnv(t, withSuite)
	never.clock.Advance(21 * time.Minute)
	auth.CheckSuiteTickets(never.svc, t.Context())
	if !strings.Contains(never.logs.String(), "no suite_ticket has arrived") {
		t.Errorf("no warning for a suite without a ticket after 21 minutes:\n%s", never.logs.String())
	}
}
