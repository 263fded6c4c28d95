package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin"
)

// loginStore returns s as a wxlogin.LoginStore that keeps users, or skips
// the test.
func loginStore(t *testing.T, s wxlogin.SessionStore) (wxlogin.LoginStore, wxlogin.UserStore) {
	t.Helper()
	ls, ok := s.(wxlogin.LoginStore)
	if !ok {
		t.Skip("the store does not implement wxlogin.LoginStore")
	}
	us, ok := keptUsers(s)
	if !ok {
		t.Skip("a LoginStore keeps users too")
	}
	return ls, us
}

// loginSession is a session the way auth passes it to EnsureUserWithSession:
// the user's fields are left for the store to fill in.
func loginSession(app string, created time.Time) wxlogin.Session {
	s := newSession("", created)
	s.AppID = app
	s.UserID, s.OpenID, s.UnionID = "", "", ""
	return s
}

// testLoginNewUser: a first login registers the user and stores its session
// with the user's id, openid and unionid.
func testLoginNewUser(t *testing.T, s wxlogin.SessionStore) {
	ls, us := loginStore(t, s)
	app := uniqueID("wx")
	u := newUser(app, userEra)
	u.UnionID = uniqueID("un-")
	sess := loginSession(app, sessionEra)
	got, created, err := ls.EnsureUserWithSession(t.Context(), u, sess)
	if err != nil || !created {
		t.Fatalf("EnsureUserWithSession(new user) = created %v, %v; want true, nil", created, err)
	}
	if diff := cmp.Diff(storedUser(u), got, cmpOpts); diff != "" {
		t.Errorf("returned user (-want +got):\n%s", diff)
	}
	checkUser(t, us, storedUser(u))
	sess.UserID, sess.OpenID, sess.UnionID = u.ID, u.OpenID, u.UnionID
	checkSession(t, s, storedSession(sess))
}

// testLoginReturningUser: a returning user's login finds the stored user
// (not the id offered), records a new unionid, and adds a session.
func testLoginReturningUser(t *testing.T, s wxlogin.SessionStore) {
	ls, us := loginStore(t, s)
	app := uniqueID("wx")
	first := mustEnsureUser(t, us, newUser(app, userEra))

	again := newUser(app, userEra.Add(time.Hour))
	again.OpenID = first.OpenID
	sess := loginSession(app, sessionEra)
	got, created, err := ls.EnsureUserWithSession(t.Context(), again, sess)
	if err != nil || created {
		t.Fatalf("EnsureUserWithSession(returning user) = created %v, %v; want false, nil", created, err)
	}
	if diff := cmp.Diff(first, got, cmpOpts); diff != "" {
		t.Errorf("returned user (-want +got):\n%s", diff)
	}
	sess.UserID, sess.OpenID = first.ID, first.OpenID
	checkSession(t, s, storedSession(sess))

	// Now with a unionid: recorded on the user and the new session.
	again.UnionID = uniqueID("un-")
	sess2 := loginSession(app, sessionEra.Add(time.Minute))
	got, created, err = ls.EnsureUserWithSession(t.Context(), again, sess2)
	if err != nil || created || got.UnionID != again.UnionID || got.ID != first.ID {
		t.Fatalf("EnsureUserWithSession(unionid) = user %s unionid %q created %v, %v; want %s, %q, false, nil",
			got.ID, got.UnionID, created, err, first.ID, again.UnionID)
	}
	want := first
	want.UnionID = again.UnionID
	checkUser(t, us, want)
	sess2.UserID, sess2.OpenID, sess2.UnionID = first.ID, first.OpenID, again.UnionID
	checkSession(t, s, storedSession(sess2))
	sessions, err := s.UserSessions(t.Context(), first.ID)
	if err != nil || len(sessions) != 2 {
		t.Errorf("UserSessions = %d sessions, %v; want 2", len(sessions), err)
	}
}

// testLoginRefusedSessionRegistersNoUser: when the session cannot be stored
// (its token hash is taken), the new user is not registered either.
func testLoginRefusedSessionRegistersNoUser(t *testing.T, s wxlogin.SessionStore) {
	ls, us := loginStore(t, s)
	taken := newSession(uniqueID("u-"), sessionEra)
	mustCreateSession(t, s, taken)

	app := uniqueID("wx")
	u := newUser(app, userEra)
	sess := loginSession(app, sessionEra)
	sess.TokenHash = taken.TokenHash
	if _, _, err := ls.EnsureUserWithSession(t.Context(), u, sess); err == nil {
		t.Fatal("EnsureUserWithSession with a stored token hash: err = nil, want an error")
	}
	_, err := us.User(t.Context(), u.ID)
	checkNotFound(t, "User(user of a refused login)", err)
	found, err := us.FindUsers(t.Context(), wxlogin.UserFilter{AppID: app, OpenID: u.OpenID})
	if err != nil || len(found) != 0 {
		t.Errorf("FindUsers(user of a refused login) = %d users, %v; want none", len(found), err)
	}
	_, err = s.Session(t.Context(), sess.ID)
	checkNotFound(t, "Session(refused)", err)
	checkSession(t, s, storedSession(taken))
}

// testLoginConcurrentFirstLogins: concurrent first logins of one user
// register it once and all keep their sessions.
func testLoginConcurrentFirstLogins(t *testing.T, s wxlogin.SessionStore) {
	ls, _ := loginStore(t, s)
	app := uniqueID("wx")
	openID := uniqueID("o-")
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ids     = map[string]bool{}
		creates int
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := newUser(app, userEra.Add(time.Duration(i)*time.Second))
			u.OpenID = openID
			got, created, err := ls.EnsureUserWithSession(t.Context(), u, loginSession(app, sessionEra))
			if err != nil {
				t.Errorf("EnsureUserWithSession: %v", err)
				return
			}
			mu.Lock()
			ids[got.ID] = true
			if created {
				creates++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(ids) != 1 || creates != 1 {
		t.Fatalf("%d concurrent first logins: users %v, %d created; want one user, created once", n, ids, creates)
	}
	for id := range ids {
		sessions, err := s.UserSessions(t.Context(), id)
		if err != nil || len(sessions) != n {
			t.Errorf("UserSessions = %d sessions, %v; want %d", len(sessions), err, n)
		}
	}
}

// testLoginWithDeliveries: a login that registers its user, or records a
// unionid its user did not have, appends its deliveries in its transaction;
// a returning user's login that changes nothing builds none, and a refused
// session appends nothing.
func testLoginWithDeliveries(t *testing.T, s wxlogin.SessionStore) {
	ls, us := loginStore(t, s)
	lo, ok := ls.(wxlogin.LoginOutboxStore)
	ob, ok2 := s.(wxlogin.OutboxStore)
	if !ok || !ok2 {
		t.Skip("the store does not implement wxlogin.LoginOutboxStore")
	}
	url := newURL()
	app := uniqueID("wx")
	u := newUser(app, userEra)
	ds := newDeliveries(url, wxlogin.EventUserRegistered, outboxEra, 2)
	sess := loginSession(app, sessionEra)
	var change wxlogin.UserChange
	got, created, err := lo.EnsureUserWithSessionAndDeliveries(t.Context(), u, sess, func(c wxlogin.UserChange) []wxlogin.Delivery { change = c; return ds })
	if err != nil || !created || got.ID != u.ID {
		t.Fatalf("EnsureUserWithSessionAndDeliveries(new user) = %s, created %v, %v; want %s, true, nil", got.ID, created, err, u.ID)
	}
	checkChange(t, change, wxlogin.UserChange{Kind: wxlogin.UserRegistered, User: storedUser(u)})
	checkDeliveries(t, ob, url, ds)
	sess.UserID, sess.OpenID, sess.UnionID = u.ID, u.OpenID, u.UnionID
	checkSession(t, s, storedSession(sess))

	// Returning, nothing new: the callback is not called.
	again := newUser(app, userEra.Add(time.Hour))
	again.OpenID = u.OpenID
	if _, created, err := lo.EnsureUserWithSessionAndDeliveries(t.Context(), again, loginSession(app, sessionEra),
		noDeliveries(t, url)); err != nil || created {
		t.Fatalf("returning user: created %v, %v; want false, nil", created, err)
	}
	checkDeliveries(t, ob, url, ds)

	// Returning with a unionid the user did not have: its deliveries, told
	// so, in the login's transaction; the session carries the unionid.
	learned := again
	learned.UnionID = uniqueID("un-")
	lds := newDeliveries(url, wxlogin.EventAccountMerged, outboxEra.Add(time.Second), 1)
	lsess := loginSession(app, sessionEra)
	got, created, err = lo.EnsureUserWithSessionAndDeliveries(t.Context(), learned, lsess, func(c wxlogin.UserChange) []wxlogin.Delivery { change = c; return lds })
	if err != nil || created || got.ID != u.ID || got.UnionID != learned.UnionID {
		t.Fatalf("returning user with a new unionid = %s %q, created %v, %v; want %s %q, false, nil",
			got.ID, got.UnionID, created, err, u.ID, learned.UnionID)
	}
	withUnion := storedUser(u)
	withUnion.UnionID = learned.UnionID
	checkChange(t, change, wxlogin.UserChange{Kind: wxlogin.UnionIDRecorded, User: withUnion})
	checkUser(t, us, withUnion)
	lsess.UserID, lsess.OpenID, lsess.UnionID = u.ID, u.OpenID, learned.UnionID
	checkSession(t, s, storedSession(lsess))
	checkDeliveries(t, ob, url, append(slices.Clone(ds), lds...))
	// The same unionid again: nothing.
	if _, _, err := lo.EnsureUserWithSessionAndDeliveries(t.Context(), learned, loginSession(app, sessionEra), noDeliveries(t, url)); err != nil {
		t.Fatalf("returning user with its recorded unionid: %v", err)
	}
	checkDeliveries(t, ob, url, append(slices.Clone(ds), lds...))

	// A refused session of a returning user bringing a unionid: the
	// unionid is not recorded, no deliveries.
	plain := mustEnsureUser(t, us, newUser(app, userEra))
	late := plain
	late.ID, late.UnionID = uniqueID("u-"), uniqueID("un-")
	refusedUnion := newURL()
	taken0 := newSession(uniqueID("u-"), sessionEra)
	mustCreateSession(t, s, taken0)
	rsess := loginSession(app, sessionEra)
	rsess.TokenHash = taken0.TokenHash
	if _, _, err := lo.EnsureUserWithSessionAndDeliveries(t.Context(), late, rsess, func(wxlogin.UserChange) []wxlogin.Delivery {
		return newDeliveries(refusedUnion, wxlogin.EventAccountMerged, outboxEra, 1)
	}); err == nil {
		t.Fatal("EnsureUserWithSessionAndDeliveries(new unionid) with a stored token hash: err = nil, want an error")
	}
	checkUser(t, us, storedUser(plain))
	checkDeliveries(t, ob, refusedUnion, nil)

	// A refused session (its token hash taken): no user, no deliveries.
	taken := newSession(uniqueID("u-"), sessionEra)
	mustCreateSession(t, s, taken)
	refusedURL := newURL()
	nu := newUser(app, userEra)
	bad := loginSession(app, sessionEra)
	bad.TokenHash = taken.TokenHash
	if _, _, err := lo.EnsureUserWithSessionAndDeliveries(t.Context(), nu, bad, func(wxlogin.UserChange) []wxlogin.Delivery {
		return newDeliveries(refusedURL, wxlogin.EventUserRegistered, outboxEra, 1)
	}); err == nil {
		t.Fatal("EnsureUserWithSessionAndDeliveries with a stored token hash: err = nil, want an error")
	}
	_, err = us.User(t.Context(), nu.ID)
	checkNotFound(t, "User(user of a refused login)", err)
	checkDeliveries(t, ob, refusedURL, nil)

	// A delivery that cannot be written (a duplicate id) fails the login:
	// neither the user nor the session is stored.
	failURL := newURL()
	fu := newUser(app, userEra)
	fds := newDeliveries(failURL, wxlogin.EventUserRegistered, outboxEra, 2)
	fds[1].ID = fds[0].ID
	fsess := loginSession(app, sessionEra)
	if _, _, err := lo.EnsureUserWithSessionAndDeliveries(t.Context(), fu, fsess, func(wxlogin.UserChange) []wxlogin.Delivery { return fds }); err == nil {
		t.Fatal("EnsureUserWithSessionAndDeliveries with a duplicate delivery id succeeded")
	}
	_, err = us.User(t.Context(), fu.ID)
	checkNotFound(t, "User(user of a login whose event failed)", err)
	_, err = s.Session(t.Context(), fsess.ID)
	checkNotFound(t, "Session(login whose event failed)", err)
	checkDeliveries(t, ob, failURL, nil)
}

// testLoginConcurrentUnionID: logins of one user racing to record the same
// new unionid, each in its one transaction, record it once and append one
// call's deliveries; every session carries the unionid.
func testLoginConcurrentUnionID(t *testing.T, s wxlogin.SessionStore) {
	_, us := loginStore(t, s)
	lo, ok := s.(wxlogin.LoginOutboxStore)
	ob, ok2 := s.(wxlogin.OutboxStore)
	if !ok || !ok2 {
		t.Skip("the store does not implement wxlogin.LoginOutboxStore")
	}
	url := newURL()
	app := uniqueID("wx")
	u := mustEnsureUser(t, us, newUser(app, userEra))
	unionid := uniqueID("un-")
	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		last = map[int][]wxlogin.Delivery{} // what each call's callback last returned
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			learned := u
			learned.ID, learned.UnionID = uniqueID("u-"), unionid
			got, _, err := lo.EnsureUserWithSessionAndDeliveries(t.Context(), learned, loginSession(app, sessionEra),
				func(wxlogin.UserChange) []wxlogin.Delivery {
					ds := newDeliveries(url, wxlogin.EventAccountMerged, outboxEra, 1)
					mu.Lock()
					last[i] = ds
					mu.Unlock()
					return ds
				})
			if err != nil || got.UnionID != unionid {
				t.Errorf("EnsureUserWithSessionAndDeliveries = %q, %v; want %q", got.UnionID, err, unionid)
			}
		}()
	}
	wg.Wait()
	if len(last) != 1 {
		t.Fatalf("%d racing logins with one new unionid: %d built deliveries, want 1", n, len(last))
	}
	for _, ds := range last {
		checkDeliveries(t, ob, url, ds)
	}
	sessions, err := s.UserSessions(t.Context(), u.ID)
	if err != nil || len(sessions) != n {
		t.Fatalf("UserSessions = %d, %v; want %d", len(sessions), err, n)
	}
	for _, x := range sessions {
		if x.UnionID != unionid {
			t.Errorf("session %s has unionid %q, want %q", x.ID, x.UnionID, unionid)
		}
	}
}
