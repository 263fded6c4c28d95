package coordtest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/auth"
)

// RunUnfinishedRegistrationsTests runs the suite of
// auth.UnfinishedRegistrations. newRecord may return the same record (one
// shared server) to every test: each uses user ids of its own.
func RunUnfinishedRegistrationsTests(t *testing.T, newRecord func(t *testing.T) auth.UnfinishedRegistrations) {
	t.Helper()
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

	t.Run("taken once, inside the TTL", func(t *testing.T) {
		t.Parallel()
		u, ctx := newRecord(t), t.Context()
		a, b, never := randomID("usr_"), randomID("usr_"), randomID("usr_")
		for _, id := range []string{a, b} {
			if err := u.Add(ctx, id, t0); err != nil {
				t.Fatalf("Add: %v", err)
			}
		}
		tests := []struct {
			name string
			id   string
			at   time.Time
			want bool
		}{
			{"never added", never, t0, false},
			{"inside the TTL", a, t0.Add(auth.UnfinishedTTL - time.Second), true},
			{"taken already", a, t0.Add(time.Minute), false},
			{"at the TTL", b, t0.Add(auth.UnfinishedTTL), false},
			{"taken past its TTL, so gone", b, t0.Add(time.Minute), false},
		}
		for _, tt := range tests {
			got, err := u.Take(ctx, tt.id, tt.at)
			if err != nil || got != tt.want {
				t.Errorf("%s: Take = %v, %v; want %v", tt.name, got, err, tt.want)
			}
		}
	})

	t.Run("concurrent takes: one wins", func(t *testing.T) {
		t.Parallel()
		u, ctx := newRecord(t), t.Context()
		id := randomID("usr_")
		if err := u.Add(ctx, id, t0); err != nil {
			t.Fatal(err)
		}
		var won atomic.Int32
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				ok, err := u.Take(ctx, id, t0.Add(time.Second))
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			})
		}
		wg.Wait()
		if n := won.Load(); n != 1 {
			t.Errorf("%d of 16 concurrent Takes reported the registration, want 1", n)
		}
	})

	t.Run("a later failure records again", func(t *testing.T) {
		t.Parallel()
		u, ctx := newRecord(t), t.Context()
		id := randomID("usr_")
		for _, at := range []time.Time{t0, t0.Add(time.Hour)} {
			if err := u.Add(ctx, id, at); err != nil {
				t.Fatal(err)
			}
		}
		if ok, err := u.Take(ctx, id, t0.Add(auth.UnfinishedTTL+time.Minute)); err != nil || !ok {
			t.Errorf("Take after a second Add: %v, %v; want true (counted from the second)", ok, err)
		}
	})
}
