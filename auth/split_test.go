package auth_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

// sessionsApart is a session store kept apart from the users, as a
// Redis or a second database would be: it knows nothing of users, so it
// neither refuses a session of a missing user nor deletes a user's
// sessions with the user. auth must make erasure correct on its own.
type sessionsApart struct {
	mu           sync.Mutex
	m            map[string]wxlogin.Session
	beforeCreate func() // run before CreateSession stores, outside mu
}

var _ wxlogin.SessionStore = (*sessionsApart)(nil)

func notFound() error { return wxlogin.Errorf(wxlogin.ENotFound, "no such session") }

func (a *sessionsApart) CreateSession(_ context.Context, s wxlogin.Session) error {
	a.mu.Lock()
	hook := a.beforeCreate
	a.mu.Unlock()
	if hook != nil {
		hook()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[string]wxlogin.Session{}
	}
	if _, ok := a.m[s.ID]; ok {
		return fmt.Errorf("session %s exists", s.ID)
	}
	a.m[s.ID] = s
	return nil
}

func (a *sessionsApart) SessionByToken(_ context.Context, h wxlogin.TokenHash) (wxlogin.Session, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range a.m {
		if s.TokenHash == h {
			return s, nil
		}
	}
	return wxlogin.Session{}, notFound()
}

func (a *sessionsApart) Session(_ context.Context, id string) (wxlogin.Session, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.m[id]
	if !ok {
		return wxlogin.Session{}, notFound()
	}
	return s, nil
}

func (a *sessionsApart) UserSessions(_ context.Context, userID string) ([]wxlogin.Session, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []wxlogin.Session
	for _, s := range a.m {
		if s.UserID == userID {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(x, y wxlogin.Session) int { return x.CreatedAt.Compare(y.CreatedAt) })
	return out, nil
}

func (a *sessionsApart) update(id string, f func(*wxlogin.Session)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.m[id]
	if !ok {
		return notFound()
	}
	f(&s)
	a.m[id] = s
	return nil
}

func (a *sessionsApart) TouchSession(_ context.Context, id string, lastSeen, idle time.Time) error {
	return a.update(id, func(s *wxlogin.Session) { s.LastSeenAt, s.IdleExpiresAt = lastSeen, idle })
}

func (a *sessionsApart) SetSessionKey(_ context.Context, id string, sealed []byte) error {
	return a.update(id, func(s *wxlogin.Session) { s.SealedSessionKey = sealed })
}

func (a *sessionsApart) DeleteSession(_ context.Context, id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, id)
	return nil
}

func (a *sessionsApart) DeleteUserSessions(_ context.Context, userID string) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for id, s := range a.m {
		if s.UserID == userID {
			delete(a.m, id)
			n++
		}
	}
	return n, nil
}

func (a *sessionsApart) ResealSessionKeys(_ context.Context, reseal func([]byte) ([]byte, error)) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for id, s := range a.m {
		b, err := reseal(s.SealedSessionKey)
		if err != nil {
			return n, err
		}
		s.SealedSessionKey = b
		a.m[id] = s
		n++
	}
	return n, nil
}

func (a *sessionsApart) DeleteExpiredSessions(_ context.Context, now time.Time) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for id, s := range a.m {
		if s.Expired(now) {
			delete(a.m, id)
			n++
		}
	}
	return n, nil
}

// withSplitStores keeps the users in SQLite and the sessions apart.
func withSplitStores(sa **sessionsApart) func(*env, *auth.Config) {
	return func(e *env, c *auth.Config) {
		*sa = &sessionsApart{}
		c.Users, c.Sessions = e.db, *sa
	}
}

// TestEraseLoginRacesOnSplitStores runs erasures and logins of the same
// users against each other with users and sessions in different stores
// (no cascade, no reference from session to user). Afterwards no session
// of an erased user is left in the session store, and no token any login
// answered verifies as an erased user.
func TestEraseLoginRacesOnSplitStores(t *testing.T) {
	t.Parallel()
	var sa *sessionsApart
	e := newEnv(t, withSplitStores(&sa), func(_ *env, c *auth.Config) {
		c.Limits.LoginPerIP = auth.Limit{Rate: -1} // every login here comes from one address
	})
	ctx := t.Context()
	const users, rounds = 4, 8

	var mu sync.Mutex
	var tokens []wxlogin.Secret
	erased := map[string]bool{}
	var wg sync.WaitGroup
	for u := range users {
		name := fmt.Sprintf("racer%d", u)
		for range rounds {
			p := e.verify(ctx, e.login(ctx, app1, name).Token)
			code := e.code(app1, name)
			wg.Add(2)
			go func() {
				defer wg.Done()
				r, err := e.svc.Login(ctx, app1, code, auth.Client{IP: "192.0.2.1"})
				switch wxlogin.ErrorCode(err) {
				case "":
					mu.Lock()
					tokens = append(tokens, r.Token)
					mu.Unlock()
				case wxlogin.EInvalidCode: // lost the race with the erasure
				default:
					t.Errorf("racing login: %v", err)
				}
			}()
			go func() {
				defer wg.Done()
				if err := e.svc.EraseMe(ctx, p); err != nil {
					t.Errorf("EraseMe: %v", err)
				}
				mu.Lock()
				erased[p.UserID] = true
				mu.Unlock()
			}()
			wg.Wait()
		}
	}

	sa.mu.Lock()
	for _, s := range sa.m {
		if erased[s.UserID] {
			t.Errorf("session %s of erased user %s left in the session store", s.ID, s.UserID)
		}
	}
	sa.mu.Unlock()
	for _, tok := range tokens {
		p, err := e.svc.Verify(ctx, tok.Reveal())
		if err == nil && erased[p.UserID] {
			t.Errorf("a token of erased user %s verifies", p.UserID)
		}
	}
}

// TestEraseDuringLoginOnSplitStores holds a login between EnsureUser and
// CreateSession while its user is erased: with no store to refuse the
// session, the login's own check of its user must fail it.
func TestEraseDuringLoginOnSplitStores(t *testing.T) {
	t.Parallel()
	var sa *sessionsApart
	e := newEnv(t, withSplitStores(&sa))
	ctx := t.Context()
	p := e.verify(ctx, e.login(ctx, app1, "alice").Token)

	pause, reached, release := pauseOnce()
	sa.mu.Lock()
	sa.beforeCreate = pause
	sa.mu.Unlock()
	done := make(chan error)
	code := e.code(app1, "alice")
	go func() {
		_, err := e.svc.Login(ctx, app1, code, auth.Client{IP: "192.0.2.1"})
		done <- err
	}()
	<-reached
	if err := e.svc.EraseMe(ctx, p); err != nil {
		t.Fatalf("EraseMe: %v", err)
	}
	close(release)
	wantCode(t, <-done, wxlogin.EInvalidCode)
	if ss, _ := sa.UserSessions(ctx, p.UserID); len(ss) != 0 {
		t.Errorf("%d sessions of the erased user left in the session store", len(ss))
	}
}
