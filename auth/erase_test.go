package auth_test

import (
	"context"
	"testing"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

// An erasure that lands between a two-step login's EnsureUser and its
// CreateSession (users and sessions apart) wins: the login fails with
// invalid_code, and no session of the erased user exists, in the store or
// for Verify.
func TestEraseDuringLogin(t *testing.T) {
	t.Parallel()
	var hs *hookedStore
	e := newEnv(t, withHookedStoreTwoSteps(&hs))
	ctx := t.Context()
	first := e.login(ctx, app1, "alice")
	p := e.verify(ctx, first.Token)

	pause, reached, release := pauseOnce()
	hook := func(context.Context) error { pause(); return nil }
	hs.beforeCreateSession.Store(&hook)
	type result struct {
		r   auth.LoginResult
		err error
	}
	done := make(chan result)
	code := e.code(app1, "alice")
	go func() {
		r, err := e.svc.Login(ctx, app1, code, auth.Client{IP: "192.0.2.1"})
		done <- result{r, err}
	}()
	<-reached // the login found alice and is about to store its session
	if err := e.svc.EraseMe(ctx, p); err != nil {
		t.Fatalf("EraseMe: %v", err)
	}
	close(release)
	res := <-done

	wantCode(t, res.err, wxlogin.EInvalidCode)
	if res.r.Token != "" {
		_, err := e.svc.Verify(ctx, res.r.Token.Reveal())
		t.Errorf("the racing login answered a token; Verify of it: %v", err)
	}
	if _, err := e.db.User(ctx, p.UserID); wxlogin.ErrorCode(err) != wxlogin.ENotFound {
		t.Errorf("the erased user: %v, want not found", err)
	}
	if ss, err := e.db.UserSessions(ctx, p.UserID); err != nil || len(ss) != 0 {
		t.Errorf("sessions of the erased user in the store: %d, %v; want none", len(ss), err)
	}
	_, err := e.svc.Verify(ctx, first.Token.Reveal())
	wantCode(t, err, wxlogin.ESessionInvalid)

	// The next login registers alice anew.
	again := e.login(ctx, app1, "alice")
	if !again.Created || again.User.ID == p.UserID {
		t.Errorf("login after the erasure: created=%v user %s (erased %s); want a new user", again.Created, again.User.ID, p.UserID)
	}
}

// With users and sessions in one store the login is one transaction, so an
// erasure lands wholly before or after it. Erased just before, the login
// registers the user anew; no session of the erased user exists.
func TestEraseJustBeforeOneTransactionLogin(t *testing.T) {
	t.Parallel()
	var hs *hookedStore
	e := newEnv(t, withHookedStore(&hs))
	ctx := t.Context()
	first := e.login(ctx, app1, "alice")
	p := e.verify(ctx, first.Token)

	pause, reached, release := pauseOnce()
	hook := func(context.Context) error { pause(); return nil }
	hs.beforeCreateSession.Store(&hook)
	type result struct {
		r   auth.LoginResult
		err error
	}
	done := make(chan result)
	code := e.code(app1, "alice")
	go func() {
		r, err := e.svc.Login(ctx, app1, code, auth.Client{IP: "192.0.2.1"})
		done <- result{r, err}
	}()
	<-reached // the login is about to run its transaction
	if err := e.svc.EraseMe(ctx, p); err != nil {
		t.Fatalf("EraseMe: %v", err)
	}
	close(release)
	res := <-done
	if res.err != nil {
		t.Fatalf("login after the erasure: %v", res.err)
	}
	if !res.r.Created || res.r.User.ID == p.UserID {
		t.Errorf("login after the erasure: created=%v user %s (erased %s); want a new user", res.r.Created, res.r.User.ID, p.UserID)
	}
	e.verify(ctx, res.r.Token)
	if ss, err := e.db.UserSessions(ctx, p.UserID); err != nil || len(ss) != 0 {
		t.Errorf("sessions of the erased user in the store: %d, %v; want none", len(ss), err)
	}
	_, err := e.svc.Verify(ctx, first.Token.Reveal())
	wantCode(t, err, wxlogin.ESessionInvalid)
}

// A login that completes while an erasure is deleting the avatar gets a
// session, but that session dies with the user: neither the store nor the
// verify cache keeps it once EraseMe returns.
func TestEraseTakesSessionsCreatedDuringIt(t *testing.T) {
	t.Parallel()
	var hs *hookedStore
	e := newEnv(t, withHookedStore(&hs))
	ctx := t.Context()
	first := e.login(ctx, app1, "alice")
	p := e.verify(ctx, first.Token)

	pause, reached, release := pauseOnce()
	hs.beforeDeleteUser.Store(&pause)
	done := make(chan error)
	go func() { done <- e.svc.EraseMe(ctx, p) }()
	<-reached // the erasure is about to delete the user

	during := e.login(ctx, app1, "alice")
	if during.User.ID != p.UserID {
		t.Fatalf("the login during the erasure found user %s, want %s", during.User.ID, p.UserID)
	}
	e.verify(ctx, during.Token) // now in the verify cache, as first is

	close(release)
	if err := <-done; err != nil {
		t.Fatalf("EraseMe: %v", err)
	}
	for name, tok := range map[string]wxlogin.Secret{"first": first.Token, "during": during.Token} {
		_, err := e.svc.Verify(ctx, tok.Reveal())
		if wxlogin.ErrorCode(err) != wxlogin.ESessionInvalid {
			t.Errorf("Verify(%s session) after the erasure: %v, want session_invalid", name, err)
		}
	}
	if ss, err := e.db.UserSessions(ctx, p.UserID); err != nil || len(ss) != 0 {
		t.Errorf("sessions of the erased user in the store: %d, %v; want none", len(ss), err)
	}
}
