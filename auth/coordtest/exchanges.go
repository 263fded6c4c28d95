package coordtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/auth"
)

// RunCodeExchangesTests runs the suite of auth.CodeExchanges. newRecord
// may return the same record (one shared server) to every test: each uses
// keys of its own. Time is passed in, so the tests never sleep.
func RunCodeExchangesTests(t *testing.T, newRecord func(t *testing.T) auth.CodeExchanges) {
	t.Helper()
	// Whole milliseconds: a shared backend may keep time no finer.
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	const lease = 30 * time.Second
	phone := sha256.Sum256([]byte("192.0.2.7\x00WeChat/8.0"))
	answer := auth.ExchangeAnswer{OpenID: randomID("o_"), UnionID: randomID("u_"), OpenUserID: randomID("w_"), SealedKey: []byte("sealed\x00key")}

	claim := func(t *testing.T, x auth.CodeExchanges, k auth.ExchangeKey, at time.Time) (auth.ExchangeClaim, auth.ExchangeRecord, bool) {
		t.Helper()
		c := auth.ExchangeClaim{ID: randomID("c_"), Client: phone, At: at, Lease: lease}
		rec, ok, err := x.Claim(t.Context(), k, c)
		if err != nil {
			t.Fatalf("Claim at %v: %v", at.Sub(t0), err)
		}
		return c, rec, ok
	}
	sameAnswer := func(a *auth.ExchangeAnswer) bool {
		return a != nil && a.OpenID == answer.OpenID && a.UnionID == answer.UnionID && a.OpenUserID == answer.OpenUserID && bytes.Equal(a.SealedKey, answer.SealedKey)
	}

	t.Run("of concurrent claims one wins; the others see it in flight", func(t *testing.T) {
		t.Parallel()
		x, k := newRecord(t), randomKey()
		var won atomic.Int32
		var winner atomic.Value
		recs := make([]auth.ExchangeRecord, 16)
		var wg sync.WaitGroup
		for i := range recs {
			wg.Go(func() {
				c := auth.ExchangeClaim{ID: randomID("c_"), Client: sha256.Sum256([]byte{byte(i)}), At: t0, Lease: lease}
				rec, ok, err := x.Claim(t.Context(), k, c)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					won.Add(1)
					winner.Store(c)
				}
				recs[i] = rec
			})
		}
		wg.Wait()
		if n := won.Load(); n != 1 {
			t.Fatalf("%d of 16 concurrent Claims claimed, want 1", n)
		}
		w := winner.Load().(auth.ExchangeClaim)
		for i, rec := range recs {
			if rec.ClaimID != w.ID || rec.Client != w.Client || rec.Done || rec.Answer != nil || !rec.At.Equal(t0) {
				t.Errorf("claim %d got %+v, want the winner's claim in flight", i, rec)
			}
		}
	})

	t.Run("finished: the answer for the window, the record until remembered", func(t *testing.T) {
		t.Parallel()
		x, k := newRecord(t), randomKey()
		c, _, _ := claim(t, x, k, t0)
		done := t0.Add(time.Second)
		if err := x.Finish(t.Context(), k, c.ID, answer, done, 10*time.Second, time.Minute); err != nil {
			t.Fatalf("Finish: %v", err)
		}
		tests := []struct {
			name       string
			at         time.Duration // after done
			wantClaim  bool
			wantAnswer bool
		}{
			{"at once", 0, false, true},
			{"inside the window", 10*time.Second - time.Millisecond, false, true},
			{"at the window", 10 * time.Second, false, false},
			{"after the window", 30 * time.Second, false, false},
			{"remembered no more", time.Minute, true, false},
		}
		for _, tt := range tests {
			_, rec, ok := claim(t, x, k, done.Add(tt.at))
			if ok != tt.wantClaim {
				t.Fatalf("%s: claimed %v, want %v", tt.name, ok, tt.wantClaim)
			}
			if ok {
				continue
			}
			if !rec.Done || rec.ClaimID != c.ID || rec.Client != c.Client || !rec.At.Equal(done) {
				t.Errorf("%s: record %+v, want the finished claim %s at %v", tt.name, rec, c.ID, done)
			}
			if got := rec.Answer != nil; got != tt.wantAnswer {
				t.Errorf("%s: answer present %v, want %v", tt.name, got, tt.wantAnswer)
			} else if got && !sameAnswer(rec.Answer) {
				t.Errorf("%s: answer %+v, want %+v", tt.name, *rec.Answer, answer)
			}
		}
	})

	t.Run("waiters get the answer, even with window 0", func(t *testing.T) {
		t.Parallel()
		x, k := newRecord(t), randomKey()
		c, _, _ := claim(t, x, k, t0)
		recs, errs := make([]auth.ExchangeRecord, 4), make([]error, 4)
		var wg sync.WaitGroup
		for i := range recs {
			wg.Go(func() { recs[i], errs[i] = x.Wait(t.Context(), k) })
		}
		if err := x.Finish(t.Context(), k, c.ID, answer, t0.Add(time.Second), 0, time.Minute); err != nil {
			t.Fatalf("Finish: %v", err)
		}
		wg.Wait()
		for i := range recs {
			if errs[i] != nil || !recs[i].Done || !sameAnswer(recs[i].Answer) {
				t.Errorf("waiter %d: %+v, %v; want the answer", i, recs[i], errs[i])
			}
		}
	})

	t.Run("abandoned: waiters told, the code claimable again", func(t *testing.T) {
		t.Parallel()
		x, k := newRecord(t), randomKey()
		c, _, _ := claim(t, x, k, t0)
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { _, errs[i] = x.Wait(t.Context(), k) })
		}
		if err := x.Abandon(t.Context(), k, c.ID, errors.New("WeChat busy")); err != nil {
			t.Fatalf("Abandon: %v", err)
		}
		wg.Wait()
		for i, err := range errs {
			if !errors.Is(err, auth.ErrExchangeAbandoned) {
				t.Errorf("waiter %d: %v, want ErrExchangeAbandoned", i, err)
			}
		}
		if _, _, ok := claim(t, x, k, t0.Add(time.Second)); !ok {
			t.Error("an abandoned code cannot be claimed again")
		}
	})

	t.Run("a claim past its lease is taken over; the old claim changes nothing", func(t *testing.T) {
		t.Parallel()
		x, k := newRecord(t), randomKey()
		old, _, _ := claim(t, x, k, t0)
		if _, rec, ok := claim(t, x, k, t0.Add(lease-time.Millisecond)); ok || rec.ClaimID != old.ID {
			t.Fatalf("inside the lease: claimed %v, record %+v; want the first claim in flight", ok, rec)
		}
		cur, _, ok := claim(t, x, k, t0.Add(lease))
		if !ok {
			t.Fatal("a claim past its lease was not taken over")
		}
		if err := x.Finish(t.Context(), k, old.ID, answer, t0.Add(lease+time.Second), time.Minute, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := x.Abandon(t.Context(), k, old.ID, errors.New("late")); err != nil {
			t.Fatal(err)
		}
		if _, rec, ok := claim(t, x, k, t0.Add(lease+2*time.Second)); ok || rec.ClaimID != cur.ID || rec.Done {
			t.Errorf("after the old claim's Finish and Abandon: claimed %v, record %+v; want the new claim in flight", ok, rec)
		}
	})

	t.Run("keys are separate: the same code of another app", func(t *testing.T) {
		t.Parallel()
		x, a := newRecord(t), randomKey()
		b := a
		b.AppID = randomID("wx")
		for _, k := range []auth.ExchangeKey{a, b} {
			if _, _, ok := claim(t, x, k, t0); !ok {
				t.Errorf("%s: not claimed", k.AppID)
			}
		}
	})

	t.Run("Wait ends with its context, and on no record", func(t *testing.T) {
		t.Parallel()
		x, k := newRecord(t), randomKey()
		if _, err := x.Wait(t.Context(), k); !errors.Is(err, auth.ErrExchangeAbandoned) {
			t.Errorf("Wait on no record: %v, want ErrExchangeAbandoned", err)
		}
		claim(t, x, k, t0)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := x.Wait(ctx, k); !errors.Is(err, context.Canceled) {
			t.Errorf("Wait with a canceled context on an exchange in flight: %v, want context.Canceled", err)
		}
	})
}

func randomKey() auth.ExchangeKey {
	return auth.ExchangeKey{AppID: randomID("wx"), CodeHash: sha256.Sum256([]byte(randomID("code")))}
}
