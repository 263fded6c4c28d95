package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin"
)

// RunSessionStoreTests runs the SessionStore conformance suite. newStore is
// called once per test, from that test's goroutine, and may return a store
// shared with other tests; see the package comment for what the suite
// assumes of shared stores. Tests run in parallel.
func RunSessionStoreTests(t *testing.T, newStore func(t *testing.T) wxlogin.SessionStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s wxlogin.SessionStore)
	}{
		{"CreateAndGet", testCreateAndGetSession},
		{"CreateCopiesInput", testCreateSessionCopies},
		{"DuplicateRejected", testDuplicateSession},
		{"NotFound", testSessionNotFound},
		{"UserSessions", testUserSessions},
		{"TouchSession", testTouchSession},
		{"SetSessionKey", testSetSessionKey},
		{"DeleteSession", testDeleteSession},
		{"DeleteUserSessions", testDeleteUserSessions},
		{"DeleteExpiredSessions", testDeleteExpiredSessions},
		{"ResealSessionKeys", testResealSessionKeys},
		{"ResealSessionKeysError", testResealSessionKeysError},
		{"CountSealedSessions", testCountSealedSessions},
		// What a store that keeps users as well must add (see keptUsers).
		{"SessionOfMissingUser", testSessionOfMissingUser},
		{"DeleteUserDeletesSessions", testDeleteUserDeletesSessions},
		{"CreateSessionRacesDeleteUser", testCreateSessionRacesDeleteUser},
		// What a store implementing wxlogin.LoginStore must add.
		{"LoginNewUser", testLoginNewUser},
		{"LoginReturningUser", testLoginReturningUser},
		{"LoginRefusedSessionRegistersNoUser", testLoginRefusedSessionRegistersNoUser},
		{"LoginWritesItsChangesDeliveries", testLoginWithDeliveries},
		{"LoginConcurrentNewUnionIDWritesOnce", testLoginConcurrentUnionID},
		{"LoginConcurrentFirstLogins", testLoginConcurrentFirstLogins},
		// What a store implementing wxlogin.SessionHolderLister must add.
		{"SessionHoldersWithOpenIDPrefix", testSessionHolders},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newStore(t))
		})
	}
}

// newSession returns a session of userID created at created, with every
// field set, a random token hash and a random sealed key.
func newSession(userID string, created time.Time) wxlogin.Session {
	var h wxlogin.TokenHash
	copy(h[:], randomBytes(len(h)))
	return wxlogin.Session{
		ID:               uniqueID("s-"),
		TokenHash:        h,
		UserID:           userID,
		AppID:            "wx-app-of-" + userID,
		OpenID:           "openid-of-" + userID,
		UnionID:          "unionid-of-" + userID,
		SealedSessionKey: randomBytes(61),
		CreatedAt:        created,
		LastSeenAt:       created.Add(time.Minute),
		IdleExpiresAt:    created.Add(7 * 24 * time.Hour),
		ExpiresAt:        created.Add(30 * 24 * time.Hour),
		UserAgent:        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) MicroMessenger/8.0.40 小程序",
		IP:               "2001:db8::1",
	}
}

// keptUsers returns s as a UserStore when it keeps users too: one database
// for both, as SQLite and PostgreSQL are. Such a store must refuse a
// session whose user it does not hold and delete a user's sessions with the
// user, atomically, so that a login racing an erasure cannot leave a live
// session of an erased user. A store of sessions alone (Redis beside a
// PostgreSQL user store) cannot see users; the suite skips those tests for
// it, and the deployment must close that race another way.
func keptUsers(s wxlogin.SessionStore) (wxlogin.UserStore, bool) {
	us, ok := s.(wxlogin.UserStore)
	return us, ok
}

// registerUserOf registers the user of sess when s keeps users, so that s
// accepts the session.
func registerUserOf(t *testing.T, s wxlogin.SessionStore, sess wxlogin.Session) {
	t.Helper()
	us, ok := keptUsers(s)
	if !ok {
		return
	}
	u, _, err := us.EnsureUser(t.Context(), wxlogin.User{ID: sess.UserID, AppID: sess.AppID, OpenID: sess.OpenID,
		CreatedAt: userEra, UpdatedAt: userEra})
	if err != nil {
		t.Fatalf("EnsureUser(user of session %s): %v", sess.ID, err)
	}
	if u.ID != sess.UserID {
		t.Fatalf("EnsureUser(user of session %s) = user %s, want %s", sess.ID, u.ID, sess.UserID)
	}
}

// mustCreateSession stores sess, registering its user first when the
// store keeps users.
func mustCreateSession(t *testing.T, s wxlogin.SessionStore, sess wxlogin.Session) {
	t.Helper()
	registerUserOf(t, s, sess)
	if err := s.CreateSession(t.Context(), sess); err != nil {
		t.Fatalf("CreateSession(%s): %v", sess.ID, err)
	}
}

// checkSession reports a test error unless the store gives want both by id
// and by token hash.
func checkSession(t *testing.T, s wxlogin.SessionStore, want wxlogin.Session) {
	t.Helper()
	got, err := s.Session(t.Context(), want.ID)
	if err != nil {
		t.Errorf("Session(%s): %v", want.ID, err)
	} else {
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("Session(%s) mismatch (-want +got):\n%s", want.ID, diff)
		}
		checkSessionUTC(t, "Session", got)
	}
	got, err = s.SessionByToken(t.Context(), want.TokenHash)
	if err != nil {
		t.Errorf("SessionByToken(hash of %s): %v", want.ID, err)
	} else {
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("SessionByToken(hash of %s) mismatch (-want +got):\n%s", want.ID, diff)
		}
		checkSessionUTC(t, "SessionByToken", got)
	}
}

// checkSessionGone reports a test error unless the session is found neither
// by id nor by token hash.
func checkSessionGone(t *testing.T, s wxlogin.SessionStore, sess wxlogin.Session) {
	t.Helper()
	_, err := s.Session(t.Context(), sess.ID)
	checkNotFound(t, "Session("+sess.ID+")", err)
	_, err = s.SessionByToken(t.Context(), sess.TokenHash)
	checkNotFound(t, "SessionByToken(hash of "+sess.ID+")", err)
}

// checkUserSessions reports a test error unless the user's sessions are want,
// in that order.
func checkUserSessions(t *testing.T, s wxlogin.SessionStore, userID string, want []wxlogin.Session) {
	t.Helper()
	got, err := s.UserSessions(t.Context(), userID)
	if err != nil {
		t.Errorf("UserSessions(%s): %v", userID, err)
		return
	}
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("UserSessions(%s) mismatch (-want +got):\n%s", userID, diff)
	}
}

func testCreateAndGetSession(t *testing.T, s wxlogin.SessionStore) {
	tests := []struct {
		name    string
		session func() wxlogin.Session
	}{
		{"every field", func() wxlogin.Session { return newSession(uniqueID("u-"), sessionEra) }},
		{"no unionid, user agent or ip", func() wxlogin.Session {
			sess := newSession(uniqueID("u-"), sessionEra)
			sess.UnionID, sess.UserAgent, sess.IP = "", "", ""
			return sess
		}},
		{"idle deadline after absolute", func() wxlogin.Session {
			sess := newSession(uniqueID("u-"), sessionEra)
			sess.IdleExpiresAt = sess.ExpiresAt.Add(time.Hour)
			return sess
		}},
		{"times in other zones", func() wxlogin.Session {
			sess := newSession(uniqueID("u-"), sessionEra.In(time.FixedZone("CST", 8*3600)))
			sess.ExpiresAt = sess.ExpiresAt.In(time.FixedZone("X", -7*3600))
			return sess
		}},
		{"token hash with zero bytes", func() wxlogin.Session {
			sess := newSession(uniqueID("u-"), sessionEra)
			copy(sess.TokenHash[:16], make([]byte, 16))
			sess.TokenHash[31] = 0
			return sess
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sess := tt.session()
			mustCreateSession(t, s, sess)
			checkSession(t, s, storedSession(sess))
		})
	}
}

func testCreateSessionCopies(t *testing.T, s wxlogin.SessionStore) {
	sess := newSession(uniqueID("u-"), sessionEra)
	want := storedSession(sess)
	want.SealedSessionKey = bytes.Clone(sess.SealedSessionKey)
	mustCreateSession(t, s, sess)
	// The caller reuses its buffer: the store must have kept its own copy.
	sess.SealedSessionKey[0] ^= 0xff
	checkSession(t, s, want)
}

func testDuplicateSession(t *testing.T, s wxlogin.SessionStore) {
	ctx := t.Context()
	first := newSession(uniqueID("u-"), sessionEra)
	mustCreateSession(t, s, first)

	sameHash := newSession(uniqueID("u-"), sessionEra.Add(time.Hour))
	sameHash.TokenHash = first.TokenHash
	registerUserOf(t, s, sameHash) // so that only the duplicate can be refused
	if err := s.CreateSession(ctx, sameHash); err == nil {
		t.Errorf("CreateSession with a stored token hash: err = nil, want an error")
	}
	_, err := s.Session(ctx, sameHash.ID)
	checkNotFound(t, "Session(rejected duplicate hash)", err)

	sameID := newSession(uniqueID("u-"), sessionEra.Add(time.Hour))
	sameID.ID = first.ID
	registerUserOf(t, s, sameID)
	if err := s.CreateSession(ctx, sameID); err == nil {
		t.Errorf("CreateSession with a stored id: err = nil, want an error")
	}
	_, err = s.SessionByToken(ctx, sameID.TokenHash)
	checkNotFound(t, "SessionByToken(rejected duplicate id)", err)

	checkSession(t, s, storedSession(first))
}

func testSessionNotFound(t *testing.T, s wxlogin.SessionStore) {
	ctx := t.Context()
	// A stored session, so that a store answering "not found" only when it
	// is empty does not pass.
	mustCreateSession(t, s, newSession(uniqueID("u-"), sessionEra))
	missing := newSession(uniqueID("u-"), sessionEra)

	tests := []struct {
		name string
		call func() error
	}{
		{"Session", func() error { _, err := s.Session(ctx, missing.ID); return err }},
		{"SessionByToken", func() error { _, err := s.SessionByToken(ctx, missing.TokenHash); return err }},
		{"TouchSession", func() error {
			return s.TouchSession(ctx, missing.ID, sessionEra, sessionEra.Add(time.Hour))
		}},
		{"SetSessionKey", func() error { return s.SetSessionKey(ctx, missing.ID, []byte("sealed")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkNotFound(t, tt.name, tt.call())
		})
	}
	// The calls above must not have created it.
	checkSessionGone(t, s, missing)

	t.Run("empty lists", func(t *testing.T) {
		t.Parallel()
		checkUserSessions(t, s, missing.UserID, nil)
		n, err := s.DeleteUserSessions(ctx, missing.UserID)
		if err != nil || n != 0 {
			t.Errorf("DeleteUserSessions(user without sessions) = %d, %v; want 0, nil", n, err)
		}
	})
}

func testUserSessions(t *testing.T, s wxlogin.SessionStore) {
	alice, bob := uniqueID("u-"), uniqueID("u-")
	var aliceWant []wxlogin.Session
	for i := range 3 {
		aliceWant = append(aliceWant, newSession(alice, sessionEra.Add(time.Duration(i)*time.Hour)))
	}
	bobs := newSession(bob, sessionEra.Add(30*time.Minute))
	// Stored out of order: the store orders by CreatedAt, not by insertion.
	for _, sess := range []wxlogin.Session{aliceWant[1], bobs, aliceWant[2], aliceWant[0]} {
		mustCreateSession(t, s, sess)
	}
	for i := range aliceWant {
		aliceWant[i] = storedSession(aliceWant[i])
	}
	checkUserSessions(t, s, alice, aliceWant)
	checkUserSessions(t, s, bob, []wxlogin.Session{storedSession(bobs)})
	checkUserSessions(t, s, uniqueID("u-"), nil)
}

func testTouchSession(t *testing.T, s wxlogin.SessionStore) {
	ctx := t.Context()
	sess := newSession(uniqueID("u-"), sessionEra)
	other := newSession(sess.UserID, sessionEra.Add(time.Second))
	mustCreateSession(t, s, sess)
	mustCreateSession(t, s, other)

	steps := []struct {
		name           string
		lastSeen, idle time.Time
	}{
		{"forward", sessionEra.Add(3*time.Hour + 1), sessionEra.Add(3*time.Hour + 7*24*time.Hour + 1)},
		{"again", sessionEra.Add(5 * time.Hour), sessionEra.Add(5*time.Hour + 7*24*time.Hour)},
		// Stores do not judge: a touch with older times is recorded as given
		// (the caller decides whether to touch at all).
		{"backward", sessionEra.Add(2 * time.Hour), sessionEra.Add(2*time.Hour + time.Minute)},
	}
	want := storedSession(sess)
	for _, st := range steps {
		if err := s.TouchSession(ctx, sess.ID, st.lastSeen, st.idle); err != nil {
			t.Fatalf("%s: TouchSession: %v", st.name, err)
		}
		want.LastSeenAt, want.IdleExpiresAt = stored(st.lastSeen), stored(st.idle)
		checkSession(t, s, want)
	}
	checkSession(t, s, storedSession(other))
}

func testSetSessionKey(t *testing.T, s wxlogin.SessionStore) {
	ctx := t.Context()
	sess := newSession(uniqueID("u-"), sessionEra)
	other := newSession(sess.UserID, sessionEra.Add(time.Second))
	mustCreateSession(t, s, sess)
	mustCreateSession(t, s, other)

	want := storedSession(sess)
	for i, sealed := range [][]byte{randomBytes(61), randomBytes(200), {0, 1, 0}} {
		arg := bytes.Clone(sealed)
		if err := s.SetSessionKey(ctx, sess.ID, arg); err != nil {
			t.Fatalf("SetSessionKey %d: %v", i, err)
		}
		arg[0] ^= 0xff // the store must not keep the caller's buffer
		want.SealedSessionKey = sealed
		checkSession(t, s, want)
	}
	checkSession(t, s, storedSession(other))
}

func testDeleteSession(t *testing.T, s wxlogin.SessionStore) {
	ctx := t.Context()
	gone := newSession(uniqueID("u-"), sessionEra)
	kept := newSession(gone.UserID, sessionEra.Add(time.Second))
	mustCreateSession(t, s, gone)
	mustCreateSession(t, s, kept)

	if err := s.DeleteSession(ctx, gone.ID); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	checkSessionGone(t, s, gone)
	checkSession(t, s, storedSession(kept))
	checkUserSessions(t, s, gone.UserID, []wxlogin.Session{storedSession(kept)})
	err := s.TouchSession(ctx, gone.ID, sessionEra, sessionEra.Add(time.Hour))
	checkNotFound(t, "TouchSession after DeleteSession", err)

	if err := s.DeleteSession(ctx, gone.ID); err != nil {
		t.Errorf("DeleteSession again: %v, want nil", err)
	}
	if err := s.DeleteSession(ctx, uniqueID("s-")); err != nil {
		t.Errorf("DeleteSession(never stored): %v, want nil", err)
	}

	// The token hash is free again once its session is gone.
	reuse := newSession(gone.UserID, sessionEra.Add(time.Hour))
	reuse.TokenHash = gone.TokenHash
	mustCreateSession(t, s, reuse)
	checkSession(t, s, storedSession(reuse))
}

func testDeleteUserSessions(t *testing.T, s wxlogin.SessionStore) {
	ctx := t.Context()
	alice, bob := uniqueID("u-"), uniqueID("u-")
	var alices []wxlogin.Session
	for i := range 3 {
		sess := newSession(alice, sessionEra.Add(time.Duration(i)*time.Minute))
		mustCreateSession(t, s, sess)
		alices = append(alices, sess)
	}
	bobs := newSession(bob, sessionEra)
	mustCreateSession(t, s, bobs)

	n, err := s.DeleteUserSessions(ctx, alice)
	if err != nil {
		t.Fatalf("DeleteUserSessions: %v", err)
	}
	if n != len(alices) {
		t.Errorf("DeleteUserSessions = %d, want %d", n, len(alices))
	}
	for _, sess := range alices {
		checkSessionGone(t, s, sess)
	}
	checkUserSessions(t, s, alice, nil)
	checkSession(t, s, storedSession(bobs))

	n, err = s.DeleteUserSessions(ctx, alice)
	if err != nil || n != 0 {
		t.Errorf("DeleteUserSessions again = %d, %v; want 0, nil", n, err)
	}
}

func testDeleteExpiredSessions(t *testing.T, s wxlogin.SessionStore) {
	ctx := t.Context()
	// Sessions left in this era by an earlier, interrupted run on the same
	// server would inflate the counts below: sweep them first. Nothing of
	// this run is in the era yet, and no other test works in it.
	if _, err := s.DeleteExpiredSessions(ctx, expiryEra); err != nil {
		t.Fatalf("DeleteExpiredSessions(start of era): %v", err)
	}

	e := expiryEra
	at := func(name string, idle, abs time.Duration) wxlogin.Session {
		sess := newSession(uniqueID("u-"), e)
		sess.LastSeenAt = e
		sess.IdleExpiresAt = e.Add(idle)
		sess.ExpiresAt = e.Add(abs)
		sess.UserAgent = name
		return sess
	}
	var (
		idleFirst = at("idle deadline first", 1*time.Hour, 10*time.Hour)
		absFirst  = at("absolute deadline first", 10*time.Hour, 2*time.Hour)
		idleAtNow = at("idle deadline exactly now", 2*time.Hour, 9*time.Hour)
		justAfter = at("deadline a microsecond after now", 2*time.Hour+time.Microsecond, 9*time.Hour)
		later     = at("deadline later", 5*time.Hour, 6*time.Hour)
		muchLater = at("deadline much later", 8*time.Hour, 7*time.Hour)
		all       = []wxlogin.Session{idleFirst, absFirst, idleAtNow, justAfter, later, muchLater}
	)
	for _, sess := range all {
		mustCreateSession(t, s, sess)
	}

	steps := []struct {
		name      string
		now       time.Time
		want      int
		remaining []wxlogin.Session
	}{
		{"before every deadline", e.Add(time.Hour - time.Microsecond), 0, all},
		{"earlier deadline counts", e.Add(2 * time.Hour), 3, []wxlogin.Session{justAfter, later, muchLater}},
		{"same now again", e.Add(2 * time.Hour), 0, []wxlogin.Session{justAfter, later, muchLater}},
		{"later", e.Add(6 * time.Hour), 2, []wxlogin.Session{muchLater}},
		{"all", e.Add(24 * time.Hour), 1, nil},
	}
	for _, st := range steps {
		n, err := s.DeleteExpiredSessions(ctx, st.now)
		if err != nil {
			t.Fatalf("%s: DeleteExpiredSessions: %v", st.name, err)
		}
		if n != st.want {
			t.Errorf("%s: DeleteExpiredSessions = %d, want %d", st.name, n, st.want)
		}
		for _, sess := range all {
			if contains(st.remaining, sess.ID) {
				checkSession(t, s, storedSession(sess))
			} else {
				checkSessionGone(t, s, sess)
			}
		}
	}
}

func contains(sessions []wxlogin.Session, id string) bool {
	for _, s := range sessions {
		if s.ID == id {
			return true
		}
	}
	return false
}

func testResealSessionKeys(t *testing.T, s wxlogin.SessionStore) {
	ctx := t.Context()
	// Sealed values of this test start with a random tag; reseal changes
	// "old" to "new" behind it and hands every other value back as it came.
	tag := uniqueID("reseal-") + ":"
	sealed := func(state string) []byte { return []byte(tag + state) }
	reseal := func(b []byte) ([]byte, error) {
		if string(b) == tag+"old" {
			return sealed("new"), nil
		}
		return b, nil
	}

	user := uniqueID("u-")
	var sessions []wxlogin.Session
	for i, state := range []string{"old", "old", "new", "old"} {
		sess := newSession(user, sessionEra.Add(time.Duration(i)*time.Minute))
		sess.SealedSessionKey = sealed(state)
		mustCreateSession(t, s, sess)
		sessions = append(sessions, sess)
	}
	bystander := newSession(uniqueID("u-"), sessionEra)
	mustCreateSession(t, s, bystander)

	n, err := s.ResealSessionKeys(ctx, reseal)
	if err != nil {
		t.Fatalf("ResealSessionKeys: %v", err)
	}
	if n != 3 {
		t.Errorf("ResealSessionKeys = %d, want 3 (the sessions sealed %q)", n, "old")
	}
	for _, sess := range sessions {
		want := storedSession(sess)
		want.SealedSessionKey = sealed("new")
		checkSession(t, s, want)
	}
	checkSession(t, s, storedSession(bystander))

	n, err = s.ResealSessionKeys(ctx, reseal)
	if err != nil || n != 0 {
		t.Errorf("ResealSessionKeys again = %d, %v; want 0, nil", n, err)
	}
}

func testResealSessionKeysError(t *testing.T, s wxlogin.SessionStore) {
	ctx := t.Context()
	tag := uniqueID("reseal-") + ":"
	errCorrupt := errors.New("sealed value is corrupt")
	reseal := func(b []byte) ([]byte, error) {
		switch string(b) {
		case tag + "corrupt":
			return nil, fmt.Errorf("open: %w", errCorrupt)
		case tag + "old":
			return []byte(tag + "new"), nil
		}
		return b, nil
	}
	corrupt := newSession(uniqueID("u-"), sessionEra)
	corrupt.SealedSessionKey = []byte(tag + "corrupt")
	mustCreateSession(t, s, corrupt)
	for i := range 3 {
		sess := newSession(uniqueID("u-"), sessionEra.Add(time.Duration(i)*time.Minute))
		sess.SealedSessionKey = []byte(tag + "old")
		mustCreateSession(t, s, sess)
	}

	if _, err := s.ResealSessionKeys(ctx, reseal); !errors.Is(err, errCorrupt) {
		t.Errorf("ResealSessionKeys: err = %v, want the reseal error", err)
	}
	checkSession(t, s, storedSession(corrupt))
}

func testSessionOfMissingUser(t *testing.T, s wxlogin.SessionStore) {
	if _, ok := keptUsers(s); !ok {
		t.Skip("the store keeps no users")
	}
	// Another user's session is stored, so that a store refusing every
	// session does not pass.
	mustCreateSession(t, s, newSession(uniqueID("u-"), sessionEra))

	orphan := newSession(uniqueID("u-"), sessionEra)
	checkNotFound(t, "CreateSession(session of a user never registered)", s.CreateSession(t.Context(), orphan))
	checkSessionGone(t, s, orphan)
	checkUserSessions(t, s, orphan.UserID, nil)
}

func testDeleteUserDeletesSessions(t *testing.T, s wxlogin.SessionStore) {
	us, ok := keptUsers(s)
	if !ok {
		t.Skip("the store keeps no users")
	}
	ctx := t.Context()
	alice := uniqueID("u-")
	var alices []wxlogin.Session
	for i := range 2 {
		sess := newSession(alice, sessionEra.Add(time.Duration(i)*time.Minute))
		mustCreateSession(t, s, sess)
		alices = append(alices, sess)
	}
	bobs := newSession(uniqueID("u-"), sessionEra)
	mustCreateSession(t, s, bobs)

	if err := us.DeleteUser(ctx, alice); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	for _, sess := range alices {
		checkSessionGone(t, s, sess)
		checkNotFound(t, "TouchSession(session of a deleted user)",
			s.TouchSession(ctx, sess.ID, sessionEra, sessionEra.Add(time.Hour)))
	}
	checkUserSessions(t, s, alice, nil)
	checkSession(t, s, storedSession(bobs))

	// A login that found the user before the deletion cannot store its
	// session after it.
	late := newSession(alice, sessionEra.Add(time.Hour))
	checkNotFound(t, "CreateSession(session of a deleted user)", s.CreateSession(ctx, late))
	checkSessionGone(t, s, late)
}

// testCreateSessionRacesDeleteUser stores sessions of a user from several
// goroutines while the user is deleted: each store either lands before the
// deletion (and is deleted with the user) or fails as not found, and no
// session of the user is left.
func testCreateSessionRacesDeleteUser(t *testing.T, s wxlogin.SessionStore) {
	us, ok := keptUsers(s)
	if !ok {
		t.Skip("the store keeps no users")
	}
	ctx := t.Context()
	user := uniqueID("u-")
	first := newSession(user, sessionEra)
	mustCreateSession(t, s, first)

	const n = 8
	sessions := make([]wxlogin.Session, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		sessions[i] = newSession(user, sessionEra.Add(time.Duration(i+1)*time.Second))
		wg.Go(func() {
			<-start
			errs[i] = s.CreateSession(ctx, sessions[i])
		})
	}
	var deleteErr error
	wg.Go(func() {
		<-start
		deleteErr = us.DeleteUser(ctx, user)
	})
	close(start)
	wg.Wait()
	if deleteErr != nil {
		t.Fatalf("DeleteUser: %v", deleteErr)
	}
	for i, err := range errs {
		if err != nil && !errors.Is(err, wxlogin.ErrNotFound) {
			t.Errorf("CreateSession %d racing DeleteUser: %v, want nil or not found", i, err)
		}
	}
	for _, sess := range append(sessions, first) {
		checkSessionGone(t, s, sess)
	}
	checkUserSessions(t, s, user, nil)
}
