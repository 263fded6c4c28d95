package storetest

import (
	"testing"

	"github.com/wxlogin/wxlogin"
)

// testSessionHolders: SessionHoldersWithOpenIDPrefix pages through the
// users of one app whose OpenID begins with the prefix and who hold a
// session, in bytewise OpenID order, and nobody else: not a user without
// sessions, not a user of another app, not a user whose OpenID merely
// shares the prefix's letters ("corpX/..." against "corpXY/..." or
// "corpX0...").
func testSessionHolders(t *testing.T, s wxlogin.SessionStore) {
	l, ok := s.(wxlogin.SessionHolderLister)
	if !ok {
		t.Skip("the store does not implement wxlogin.SessionHolderLister")
	}
	us, ok := keptUsers(s)
	if !ok {
		t.Skip("a SessionHolderLister keeps users too")
	}
	ctx := t.Context()
	app, other := uniqueID("wx"), uniqueID("wx")
	corp := uniqueID("corp")
	withSessions := func(app, openID string, n int) wxlogin.User {
		t.Helper()
		u := newUser(app, userEra)
		u.OpenID = openID
		mustEnsureUser(t, us, u)
		for range n {
			sess := newSession(u.ID, sessionEra)
			sess.AppID, sess.OpenID = app, openID
			if err := s.CreateSession(ctx, sess); err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
		}
		return u
	}
	// Inserted out of order; "Z" sorts before "a" bytewise but after it in
	// a linguistic collation.
	b := withSessions(app, corp+"/a", 1)
	a := withSessions(app, corp+"/Z", 2)
	c := withSessions(app, corp+"/b-c", 1)
	withSessions(app, corp+"/none", 0)
	withSessions(app, corp+"Y/a", 1)
	withSessions(app, corp+"0a", 1)
	withSessions(app, corp, 1)
	withSessions(other, corp+"/a", 1)

	var got []string
	after := ""
	for page := 0; page < 10; page++ {
		us, err := l.SessionHoldersWithOpenIDPrefix(ctx, app, corp+"/", after, 2)
		if err != nil {
			t.Fatalf("SessionHoldersWithOpenIDPrefix: %v", err)
		}
		if len(us) > 2 {
			t.Fatalf("a page of %d users, want at most the limit 2", len(us))
		}
		if len(us) == 0 {
			break
		}
		for _, u := range us {
			if u.AppID != app {
				t.Errorf("user %s of app %s, want %s", u.ID, u.AppID, app)
			}
			got = append(got, u.ID)
		}
		after = us[len(us)-1].OpenID
	}
	want := []string{a.ID, b.ID, c.ID}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("pages gave users %v, want %v (Z, a, b-c)", got, want)
	}

	// A user whose sessions were deleted is no longer a holder, and a
	// walk that deletes as it goes still ends.
	if _, err := s.DeleteUserSessions(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	first, err := l.SessionHoldersWithOpenIDPrefix(ctx, app, corp+"/", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || first[0].ID != b.ID || first[1].ID != c.ID {
		t.Errorf("after deleting %s's sessions: holders %v, want [%s %s]", a.ID, ids(first), b.ID, c.ID)
	}
	if _, err := l.SessionHoldersWithOpenIDPrefix(ctx, app, "", "", 10); err == nil {
		t.Error("an empty prefix was accepted: it would select every user of the app")
	}
}

func ids(us []wxlogin.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}
