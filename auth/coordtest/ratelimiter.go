package coordtest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/auth"
)

// RunRateLimiterTests runs the suite of auth.RateLimiter. newLimiter may
// return the same limiter (one shared server) to every test: each uses keys
// of its own. Time is passed in, so the tests never sleep.
func RunRateLimiterTests(t *testing.T, newLimiter func(t *testing.T) auth.RateLimiter) {
	t.Helper()
	// Whole milliseconds: a shared backend may keep time no finer.
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

	allow := func(t *testing.T, l auth.RateLimiter, key string, lim auth.Limit, now time.Time) (bool, time.Duration) {
		t.Helper()
		ok, wait, err := l.Allow(t.Context(), key, lim, now)
		if err != nil {
			t.Fatalf("Allow(%s): %v", key, err)
		}
		return ok, wait
	}

	t.Run("burst, then refusal with the wait for one token", func(t *testing.T) {
		t.Parallel()
		l, key := newLimiter(t), randomID("ip:")
		lim := auth.Limit{Rate: 2, Burst: 5}
		for i := range 5 {
			if ok, _ := allow(t, l, key, lim, t0); !ok {
				t.Fatalf("request %d of a burst of 5 refused", i+1)
			}
		}
		ok, wait := allow(t, l, key, lim, t0)
		if ok || wait != 500*time.Millisecond {
			t.Errorf("6th request: ok=%v wait=%v, want refused with 500ms", ok, wait)
		}
		// A refused request takes nothing: after the wait, one token.
		if ok, _ := allow(t, l, key, lim, t0.Add(500*time.Millisecond)); !ok {
			t.Error("refused after waiting the wait it was told")
		}
		if ok, _ := allow(t, l, key, lim, t0.Add(500*time.Millisecond)); ok {
			t.Error("a second token appeared out of one refill")
		}
	})

	t.Run("refill up to the burst", func(t *testing.T) {
		t.Parallel()
		l, key := newLimiter(t), randomID("ip:")
		lim := auth.Limit{Rate: 10, Burst: 3}
		for range 3 {
			allow(t, l, key, lim, t0)
		}
		// An hour later the bucket holds its burst, not 36,000 tokens.
		later := t0.Add(time.Hour)
		n := 0
		for range 10 {
			if ok, _ := allow(t, l, key, lim, later); ok {
				n++
			}
		}
		if n != 3 {
			t.Errorf("%d admitted from a bucket refilled for an hour, want the burst 3", n)
		}
	})

	t.Run("a changed limit keeps the tokens and takes the new rate", func(t *testing.T) {
		// What a configuration reload does to a limit in use.
		t.Parallel()
		l, key := newLimiter(t), randomID("ip:")
		slow := auth.Limit{Rate: 0.001, Burst: 3}
		for i := range 3 {
			if ok, _ := allow(t, l, key, slow, t0); !ok {
				t.Fatalf("request %d of a burst of 3 refused", i+1)
			}
		}
		// A smaller burst does not refill an empty bucket.
		if ok, _ := allow(t, l, key, auth.Limit{Rate: 0.001, Burst: 1}, t0); ok {
			t.Error("an empty bucket admitted a request once its limit changed: the change refilled it")
		}
		// A faster rate refills at its own pace from the first request
		// that uses it.
		fast := auth.Limit{Rate: 100, Burst: 3}
		if ok, _ := allow(t, l, key, fast, t0); ok {
			t.Error("an empty bucket admitted a request once its rate was raised: the change refilled it")
		}
		if ok, _ := allow(t, l, key, fast, t0.Add(100*time.Millisecond)); !ok {
			t.Error("refused 100ms after the rate was raised to 100/s")
		}
	})

	t.Run("keys are separate", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(t)
		a, b := randomID("ip:"), randomID("ip:")
		lim := auth.Limit{Rate: 1, Burst: 1}
		if ok, _ := allow(t, l, a, lim, t0); !ok {
			t.Fatal("first request of a refused")
		}
		if ok, _ := allow(t, l, a, lim, t0); ok {
			t.Fatal("second request of a admitted")
		}
		if ok, _ := allow(t, l, b, lim, t0); !ok {
			t.Error("b refused because a is empty")
		}
	})

	t.Run("burst 0 admits nothing", func(t *testing.T) {
		t.Parallel()
		l, key := newLimiter(t), randomID("ip:")
		ok, wait := allow(t, l, key, auth.Limit{Rate: 1, Burst: 0}, t0)
		if ok || wait <= 0 {
			t.Errorf("burst 0: ok=%v wait=%v, want refused with a positive wait", ok, wait)
		}
	})

	t.Run("concurrent requests take exactly the burst", func(t *testing.T) {
		t.Parallel()
		l, key := newLimiter(t), randomID("ip:")
		lim := auth.Limit{Rate: 1, Burst: 7}
		var admitted atomic.Int32
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() {
				ok, _, err := l.Allow(t.Context(), key, lim, t0)
				if err != nil {
					t.Error(err)
				}
				if ok {
					admitted.Add(1)
				}
			})
		}
		wg.Wait()
		if n := admitted.Load(); n != 7 {
			t.Errorf("%d of 40 concurrent requests admitted, want the burst 7", n)
		}
	})
}
