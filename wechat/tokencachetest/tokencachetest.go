package tokencachetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// Run runs the suite. newCache returns an empty cache private to the test
// that called it (a fresh key prefix, say), so that tests run in parallel.
func Run(t *testing.T, newCache func(t *testing.T) wechat.TokenCache) {
	t.Helper()
	// A whole second: shared backends may store expiry with that precision.
	expires := time.Date(2026, 11, 21, 14, 0, 0, 0, time.UTC)
	token := func(v string) wechat.Token { return wechat.Token{Value: wxlogin.Secret(v), ExpiresAt: expires} }

	t.Run("missing", func(t *testing.T) {
		t.Parallel()
		c := newCache(t)
		if got, ok, err := c.Get(t.Context(), "wxapp"); err != nil || ok {
			t.Errorf("Get of an empty cache = %v, %v, %v; want not found", got.Value.Reveal(), ok, err)
		}
		if err := c.Delete(t.Context(), "wxapp", "anything"); err != nil {
			t.Errorf("Delete of a missing token: %v", err)
		}
	})

	t.Run("put, get, replace", func(t *testing.T) {
		t.Parallel()
		c := newCache(t)
		ctx := t.Context()
		for _, v := range []string{"first", "second"} {
			if err := c.Put(ctx, "wxapp", token(v)); err != nil {
				t.Fatalf("Put(%s): %v", v, err)
			}
			got, ok, err := c.Get(ctx, "wxapp")
			if err != nil || !ok {
				t.Fatalf("Get after Put(%s): ok %v, err %v", v, ok, err)
			}
			if got.Value.Reveal() != v || !got.ExpiresAt.Equal(expires) {
				t.Errorf("Get = %q expiring %v, want %q expiring %v", got.Value.Reveal(), got.ExpiresAt, v, expires)
			}
		}
	})

	t.Run("apps are separate", func(t *testing.T) {
		t.Parallel()
		c := newCache(t)
		ctx := t.Context()
		if err := c.Put(ctx, "wxapp1", token("one")); err != nil {
			t.Fatal(err)
		}
		if err := c.Put(ctx, "wxapp2", token("two")); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx, "wxapp2", "two"); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := c.Get(ctx, "wxapp1"); err != nil || !ok || got.Value.Reveal() != "one" {
			t.Errorf("wxapp1 = %q, %v, %v after deleting wxapp2's token; want one", got.Value.Reveal(), ok, err)
		}
		if _, ok, err := c.Get(ctx, "wxapp2"); err != nil || ok {
			t.Errorf("wxapp2 still found (err %v) after its Delete", err)
		}
	})

	// A slow fetch must not replace a token fetched since: the cache keeps
	// whichever expires later, whatever order the Puts arrive in.
	t.Run("put if newer", func(t *testing.T) {
		t.Parallel()
		older := wechat.Token{Value: "older", ExpiresAt: expires.Add(-time.Hour)}
		newer := wechat.Token{Value: "newer", ExpiresAt: expires}
		for _, order := range [][]wechat.Token{{older, newer}, {newer, older}} {
			c := newCache(t)
			ctx := t.Context()
			for _, tok := range order {
				if err := c.Put(ctx, "wxapp", tok); err != nil {
					t.Fatalf("Put(%s): %v", tok.Value.Reveal(), err)
				}
			}
			got, ok, err := c.Get(ctx, "wxapp")
			if err != nil || !ok || got.Value.Reveal() != "newer" || !got.ExpiresAt.Equal(expires) {
				t.Errorf("Put %s then %s: Get = %q expiring %v, %v, %v; want newer",
					order[0].Value.Reveal(), order[1].Value.Reveal(), got.Value.Reveal(), got.ExpiresAt, ok, err)
			}
		}
	})

	t.Run("concurrent puts keep the newest", func(t *testing.T) {
		t.Parallel()
		c := newCache(t)
		ctx := t.Context()
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				tok := wechat.Token{Value: wxlogin.Secret(fmt.Sprint("t", i)), ExpiresAt: expires.Add(time.Duration(i-15) * time.Second)}
				if err := c.Put(ctx, "wxapp", tok); err != nil {
					t.Errorf("Put %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if got, ok, err := c.Get(ctx, "wxapp"); err != nil || !ok || got.Value.Reveal() != "t15" {
			t.Errorf("after concurrent Puts: %q, %v, %v; want t15 (the latest expiry)", got.Value.Reveal(), ok, err)
		}
	})

	t.Run("delete only the failed token", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name     string
			failed   string
			wantKept bool
		}{
			{"still cached", "current", false},
			{"already replaced", "previous", true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				c := newCache(t)
				ctx := t.Context()
				if err := c.Put(ctx, "wxapp", token("current")); err != nil {
					t.Fatal(err)
				}
				if err := c.Delete(ctx, "wxapp", wxlogin.Secret(tt.failed)); err != nil {
					t.Fatalf("Delete: %v", err)
				}
				got, ok, err := c.Get(ctx, "wxapp")
				if err != nil || ok != tt.wantKept || ok && got.Value.Reveal() != "current" {
					t.Errorf("after Delete(%q): %q, %v, %v; want kept: %v", tt.failed, got.Value.Reveal(), ok, err, tt.wantKept)
				}
			})
		}
	})

	// Callers that failed with one token race a caller storing its
	// replacement: whatever the order, the replacement must survive.
	t.Run("concurrent deletes spare the replacement", func(t *testing.T) {
		t.Parallel()
		c := newCache(t)
		ctx := t.Context()
		if err := c.Put(ctx, "wxapp", token("old")); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 16 {
			wg.Go(func() {
				if err := c.Delete(ctx, "wxapp", "old"); err != nil {
					errs <- fmt.Errorf("delete %d: %w", i, err)
				}
			})
		}
		wg.Go(func() {
			if err := c.Put(ctx, "wxapp", token("new")); err != nil {
				errs <- err
			}
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		// Either the Put came last, or it came first and no Delete of "old"
		// may have removed "new"; in both cases "new" is there.
		if got, ok, err := c.Get(ctx, "wxapp"); err != nil || !ok || got.Value.Reveal() != "new" {
			t.Errorf("after the race: %q, %v, %v; want new", got.Value.Reveal(), ok, err)
		}
	})

	// A cache several processes share offers a fetch lock (FetchLocker);
	// one private to a process needs none.
	t.Run("fetch lock", func(t *testing.T) {
		t.Parallel()
		locker, ok := newCache(t).(wechat.FetchLocker)
		if !ok {
			t.Skip("the cache has no fetch lock (wechat.FetchLocker)")
		}
		ctx := t.Context()
		unlock, locked, err := locker.LockFetch(ctx, "wxapp", time.Minute)
		if err != nil || !locked {
			t.Fatalf("first LockFetch = %v, %v; want the lock", locked, err)
		}
		if _, locked, err := locker.LockFetch(ctx, "wxapp", time.Minute); err != nil || locked {
			t.Errorf("LockFetch while held = %v, %v; want refused", locked, err)
		}
		if u, locked, err := locker.LockFetch(ctx, "wxother", time.Minute); err != nil || !locked {
			t.Errorf("LockFetch of another app = %v, %v; want the lock", locked, err)
		} else {
			u()
		}
		unlock()
		u2, locked, err := locker.LockFetch(ctx, "wxapp", 50*time.Millisecond)
		if err != nil || !locked {
			t.Fatalf("LockFetch after unlock = %v, %v; want the lock", locked, err)
		}
		// The lock runs out by itself (a holder that died), and the late
		// unlock of the holder it ran out on frees nobody else's lock.
		time.Sleep(150 * time.Millisecond)
		u3, locked, err := locker.LockFetch(ctx, "wxapp", time.Minute)
		if err != nil || !locked {
			t.Fatalf("LockFetch after the expiry = %v, %v; want the lock", locked, err)
		}
		u2()
		if _, locked, err := locker.LockFetch(ctx, "wxapp", time.Minute); err != nil || locked {
			t.Errorf("LockFetch after a stale unlock = %v, %v; want refused (the lock is the third holder's)", locked, err)
		}
		u3()
	})
}
