package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/store/sqlitestore"
)

// writeFaultStore is the real SQLite store whose writes can be switched to
// fail as a full disk fails them, reads still working.
type writeFaultStore struct {
	*sqlitestore.DB
	full atomic.Bool
}

var errDiskFull = fmt.Errorf("%w: database or disk is full", wxlogin.ErrUnavailable)

func (w *writeFaultStore) TouchSession(ctx context.Context, id string, lastSeen, idle time.Time) error {
	if w.full.Load() {
		return errDiskFull
	}
	return w.DB.TouchSession(ctx, id, lastSeen, idle)
}

func (w *writeFaultStore) CheckWrite(ctx context.Context) error {
	if w.full.Load() {
		return errDiskFull
	}
	return w.DB.CheckWrite(ctx)
}

// TestVerifyWhileWritesFail: a store that can be read but not written
// (a full disk) makes /readyz fail naming the write, but verification keeps
// answering from reads, revocations included; it is not an outage.
func TestVerifyWhileWritesFail(t *testing.T) {
	t.Parallel()
	var store *writeFaultStore
	e := newEnv(t, func(e *env, c *auth.Config) {
		store = &writeFaultStore{DB: e.db}
		c.Sessions = store
		c.HealthInterval = -1 // the test runs the health checks itself
	})
	ctx := t.Context()
	alice := e.login(ctx, app1, "alice")
	bob := e.login(ctx, app1, "bob")
	e.verify(ctx, alice.Token)
	e.verify(ctx, bob.Token)

	store.full.Store(true)
	e.clock.Advance(2 * auth.DefaultTouchInterval) // a touch is due
	if _, err := e.svc.Verify(ctx, alice.Token.Reveal()); err != nil {
		t.Fatalf("Verify whose touch cannot be written: %v", err)
	}
	err := e.svc.Ready(ctx)
	if ae := wantCode(t, err, wxlogin.EStoreUnavailable); !strings.Contains(ae.Message, "cannot write") {
		t.Errorf("Ready message = %q, want it to say the store cannot write", ae.Message)
	}
	if _, err := e.svc.Verify(ctx, alice.Token.Reveal()); err != nil {
		t.Fatalf("Verify after the failed write check: %v", err)
	}
	// A session deleted behind the cache's back is still found out: the
	// recheck reads where the touch would have written.
	bp := e.verify(ctx, bob.Token)
	if err := e.db.DeleteSession(ctx, bp.SessionID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * auth.DefaultTouchInterval)
	_, err = e.svc.Verify(ctx, bob.Token.Reveal())
	wantCode(t, err, wxlogin.ESessionInvalid)

	store.full.Store(false)
	if err := e.svc.Ready(ctx); err != nil {
		t.Fatalf("Ready once writes work: %v", err)
	}
	e.verify(ctx, alice.Token)
}

// TestUnclassifiedStoreErrorIsInternal: a store error of no known class is
// a bug (500 internal, logged), not an outage; a classified one is 503.
func TestUnclassifiedStoreErrorIsInternal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"unclassified", errors.New("no such column: nickname"), wxlogin.EInternal},
		{"unavailable", fmt.Errorf("%w: disk I/O error", wxlogin.ErrUnavailable), wxlogin.EStoreUnavailable},
		{"deadline", fmt.Errorf("write: %w", context.DeadlineExceeded), wxlogin.EStoreUnavailable},
		{"unretried conflict", fmt.Errorf("%w: UNIQUE constraint failed", wxlogin.ErrConflict), wxlogin.EInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var hs *hookedStore
			e := newEnv(t, withHookedStore(&hs))
			fail := func(context.Context) error { return tc.err }
			hs.beforeCreateSession.Store(&fail)
			_, err := e.svc.Login(t.Context(), app1, e.code(app1, "alice"), auth.Client{})
			wantCode(t, err, tc.want)
		})
	}
}
