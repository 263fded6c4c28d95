package auth_test

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/store/sqlitestore"
)

// hookedStore is the real SQLite store with a hook run before CreateSession
// and one before DeleteUser, so that a test can hold a login or an erasure
// at the exact point where the other races it. The store cannot be asked
// to pause; that is all this double adds.
type hookedStore struct {
	*sqlitestore.DB
	beforeCreateSession atomic.Pointer[func(context.Context) error]
	beforeDeleteUser    atomic.Pointer[func()]
}

func (h *hookedStore) CreateSession(ctx context.Context, s wxlogin.Session) error {
	if f := h.beforeCreateSession.Load(); f != nil {
		if err := (*f)(ctx); err != nil {
			return err
		}
	}
	return h.DB.CreateSession(ctx, s)
}

// EnsureUserWithSession runs the CreateSession hook before the login's one
// transaction: what CreateSession's hook pauses or fails in a two-step
// login, it pauses or fails here.
func (h *hookedStore) EnsureUserWithSession(ctx context.Context, u wxlogin.User, s wxlogin.Session) (wxlogin.User, bool, error) {
	if f := h.beforeCreateSession.Load(); f != nil {
		if err := (*f)(ctx); err != nil {
			return wxlogin.User{}, false, err
		}
	}
	return h.DB.EnsureUserWithSession(ctx, u, s)
}

func (h *hookedStore) DeleteUser(ctx context.Context, id string) error {
	if f := h.beforeDeleteUser.Load(); f != nil {
		(*f)()
	}
	return h.DB.DeleteUser(ctx, id)
}

func withHookedStore(hs **hookedStore) func(*env, *auth.Config) {
	return func(e *env, c *auth.Config) {
		*hs = &hookedStore{DB: e.db}
		c.Users, c.Sessions = *hs, *hs
	}
}

// sessionsOf is a hookedStore seen only as its sessions: a service given it
// beside the same hookedStore as users stores a login in two steps
// (EnsureUser, then CreateSession), as with users and sessions apart.
type sessionsOf struct{ wxlogin.SessionStore }

// withHookedStoreTwoSteps is withHookedStore for the two-step login.
func withHookedStoreTwoSteps(hs **hookedStore) func(*env, *auth.Config) {
	return func(e *env, c *auth.Config) {
		*hs = &hookedStore{DB: e.db}
		c.Users, c.Sessions = *hs, sessionsOf{*hs}
	}
}

// pauseOnce returns a hook that, on its first call only, reports that it
// was reached and waits for release to be closed.
func pauseOnce() (hook func(), reached, release chan struct{}) {
	reached, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	return func() {
		once.Do(func() {
			close(reached)
			<-release
		})
	}, reached, release
}
