package auth_test

import (
	"testing"

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
	l := &auth.LocalRateLimiter{}
	coordtest.RunRateLimiterTests(t, func(*testing.T) auth.RateLimiter { return l })
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
