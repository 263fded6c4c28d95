package auth_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/auth/coordtest"
)

func TestLocalRevocations(t *testing.T) {
	t.Parallel()
	// One bus for the whole run: the suite's tests share it, as they would
	// share one Redis.
	bus := &auth.LocalRevocations{}
	coordtest.RunRevocationsTests(t, func(*testing.T) auth.Revocations { return bus })
}

func TestLocalRateLimiter(t *testing.T) {
	t.Parallel()
	// A limiter per subtest: they run in parallel, each with a clock of
	// its own, and one that jumps hours ahead would sweep another's bucket
	// in the middle of its burst (a real clock never runs back, so a swept
	// bucket is a full one).
	coordtest.RunRateLimiterTests(t, func(*testing.T) auth.RateLimiter { return &auth.LocalRateLimiter{} })
}

// Two instances given one RateLimiter admit together what one would: a
// client alternating between them gets the per-IP burst, not twice it.
func TestRateLimiterSharedByInstances(t *testing.T) {
	t.Parallel()
	shared := &auth.LocalRateLimiter{}
	e := newEnv(t, func(_ *env, c *auth.Config) {
		c.RateLimiter = shared
		c.Limits.LoginPerIP = auth.Limit{Rate: 0.001, Burst: 2}
	})
	other, err := auth.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := t.Context()
	c := auth.Client{IP: "192.0.2.44", UserAgent: "test"}
	for i, svc := range []*auth.Service{e.svc, other} {
		if _, err := svc.Login(ctx, app1, e.code(app1, "alice"), c); err != nil {
			t.Fatalf("login %d: %v", i+1, err)
		}
	}
	_, err = e.svc.Login(ctx, app1, e.code(app1, "alice"), c)
	wantCode(t, err, wxlogin.ERateLimited)
}

func TestLocalUnfinishedRegistrations(t *testing.T) {
	t.Parallel()
	u := &auth.LocalUnfinishedRegistrations{}
	coordtest.RunUnfinishedRegistrationsTests(t, func(*testing.T) auth.UnfinishedRegistrations { return u })
}

func TestLocalCodeExchanges(t *testing.T) {
	t.Parallel()
	x := &auth.LocalCodeExchanges{}
	coordtest.RunCodeExchangesTests(t, func(*testing.T) auth.CodeExchanges { return x })
}

func TestJoinedRevocations(t *testing.T) {
	t.Parallel()
	a, b := &auth.LocalRevocations{}, &auth.LocalRevocations{}
	joined := auth.JoinRevocations(a, b)
	coordtest.RunRevocationsTests(t, func(*testing.T) auth.Revocations { return joined })
}

// switchBus is a Revocations whose one subscription's liveness and
// publications the test drives.
type switchBus struct {
	mu      sync.Mutex
	revoked func(auth.Revocation)
	live    func(bool)
	fail    error
}

func (s *switchBus) Publish(_ context.Context, r auth.Revocation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if s.revoked != nil {
		s.revoked(r)
	}
	return nil
}

func (s *switchBus) Subscribe(revoked func(auth.Revocation), live func(bool)) func() {
	s.mu.Lock()
	s.revoked, s.live = revoked, live
	s.mu.Unlock()
	return func() {}
}

func (s *switchBus) setLive(l bool) { s.live(l) }

// A joined subscription is live while either bus is, empties the cache
// (false then true) whenever one of them changes while the other stays
// live, and a publication one bus refuses still arrives over the other.
func TestJoinedRevocationsLiveness(t *testing.T) {
	t.Parallel()
	fast, log := &switchBus{}, &switchBus{}
	var reports []bool
	var heard []auth.Revocation
	stop := auth.JoinRevocations(fast, log).Subscribe(
		func(r auth.Revocation) { heard = append(heard, r) },
		func(l bool) { reports = append(reports, l) })
	defer stop()
	steps := []struct {
		bus  *switchBus
		live bool
		want []bool
	}{
		{fast, true, []bool{true}},
		{log, true, []bool{false, true}},
		{fast, false, []bool{false, true}},
		{fast, true, []bool{false, true}},
		{fast, false, []bool{false, true}},
		{log, false, []bool{false}},
		{log, true, []bool{true}},
	}
	for i, st := range steps {
		reports = nil
		st.bus.setLive(st.live)
		if diff := cmp.Diff(st.want, reports); diff != "" {
			t.Errorf("step %d: live reports (-want +got):\n%s", i, diff)
		}
	}
	fast.fail = errors.New("redis down")
	r := auth.Revocation{SessionID: "ses_x"}
	if err := auth.JoinRevocations(fast, log).Publish(t.Context(), r); err == nil {
		t.Error("Publish with one bus failing answered nil; want its error, so that the caller retries")
	}
	if diff := cmp.Diff([]auth.Revocation{r}, heard); diff != "" {
		t.Errorf("heard (-want +got):\n%s", diff)
	}
}
