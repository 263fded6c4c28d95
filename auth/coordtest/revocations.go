package coordtest

import (
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/auth"
)

// wait bounds how long a suite waits for an asynchronous delivery.
const wait = 5 * time.Second

// RunRevocationsTests runs the suite of auth.Revocations. newBus returns a
// bus connected to the same channel as every other bus it returns during
// the test run (two instances of one deployment); it may return the same
// value every time.
func RunRevocationsTests(t *testing.T, newBus func(t *testing.T) auth.Revocations) {
	t.Helper()

	t.Run("every subscriber hears every publication", func(t *testing.T) {
		t.Parallel()
		a, b := newBus(t), newBus(t)
		sa, sb := subscribe(t, a), subscribe(t, b)
		sa.waitLive(t)
		sb.waitLive(t)
		id := randomID("ses_")
		r1 := auth.Revocation{SessionID: id}
		r2 := auth.Revocation{UserID: randomID("usr_")}
		r3 := auth.Revocation{SessionID: randomID("ses_"), UserID: randomID("usr_")}
		for _, r := range []auth.Revocation{r1, r2, r3} {
			if err := a.Publish(t.Context(), r); err != nil {
				t.Fatalf("Publish(%+v): %v", r, err)
			}
		}
		for name, s := range map[string]*subscriber{"the publisher's own": sa, "the other instance's": sb} {
			for _, r := range []auth.Revocation{r1, r2, r3} {
				if !s.waitFor(r) {
					t.Errorf("%s subscriber did not hear %+v within %v", name, r, wait)
				}
			}
		}
	})

	t.Run("concurrent publications all arrive", func(t *testing.T) {
		t.Parallel()
		a, b := newBus(t), newBus(t)
		s := subscribe(t, b)
		s.waitLive(t)
		var want []auth.Revocation
		for range 40 {
			want = append(want, auth.Revocation{SessionID: randomID("ses_")})
		}
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				for _, r := range want[i*10 : (i+1)*10] {
					if err := a.Publish(t.Context(), r); err != nil {
						t.Errorf("Publish: %v", err)
					}
				}
			})
		}
		wg.Wait()
		for _, r := range want {
			if !s.waitFor(r) {
				t.Fatalf("%+v not heard within %v", r, wait)
			}
		}
	})

	t.Run("no delivery after stop", func(t *testing.T) {
		t.Parallel()
		a, b := newBus(t), newBus(t)
		stopped, kept := subscribe(t, b), subscribe(t, b)
		stopped.waitLive(t)
		kept.waitLive(t)
		stopped.stop()
		r1 := auth.Revocation{SessionID: randomID("ses_")}
		r2 := auth.Revocation{SessionID: randomID("ses_")}
		for _, r := range []auth.Revocation{r1, r2} {
			if err := a.Publish(t.Context(), r); err != nil {
				t.Fatal(err)
			}
		}
		// Once the kept subscriber heard both, the stopped one would have
		// too, had it not been stopped.
		if !kept.waitFor(r1) || !kept.waitFor(r2) {
			t.Fatal("the subscriber that was not stopped missed a publication")
		}
		if stopped.heard(r1) || stopped.heard(r2) {
			t.Error("a stopped subscriber was still delivered to")
		}
		stopped.stop() // stopping twice is harmless
	})
}

// subscriber records what one subscription heard.
type subscriber struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	got     map[auth.Revocation]bool
	live    bool
	stop    func()
}

func subscribe(t *testing.T, b auth.Revocations) *subscriber {
	t.Helper()
	s := &subscriber{changed: make(chan struct{}), got: map[auth.Revocation]bool{}}
	var once sync.Once
	stop := b.Subscribe(func(r auth.Revocation) {
		s.update(func() { s.got[r] = true })
	}, func(live bool) {
		s.update(func() { s.live = live })
	})
	s.stop = func() { once.Do(stop) }
	t.Cleanup(s.stop)
	return s
}

func (s *subscriber) update(f func()) {
	s.mu.Lock()
	f()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// until waits until cond holds (checked under mu) or wait passes.
func (s *subscriber) until(cond func() bool) bool {
	deadline := time.After(wait)
	for {
		s.mu.Lock()
		ok, ch := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-deadline:
			return false
		}
	}
}

func (s *subscriber) waitLive(t *testing.T) {
	t.Helper()
	if !s.until(func() bool { return s.live }) {
		t.Fatalf("the subscription was not reported live within %v", wait)
	}
}

func (s *subscriber) waitFor(r auth.Revocation) bool {
	return s.until(func() bool { return s.got[r] })
}

func (s *subscriber) heard(r auth.Revocation) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[r]
}

func randomID(prefix string) string {
	return fmt.Sprintf("%s%s", prefix, rand.Text())
}
