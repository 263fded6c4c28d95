package storetest

import (
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// sealedPrefixes returns two prefixes no other test writes, holding bytes a
// LIKE pattern or a C string would get wrong.
func sealedPrefixes() (a, b []byte) {
	return []byte("\x01\x00%_" + uniqueID("a")), []byte("\x01\x00%_" + uniqueID("b"))
}

func testCountSealedSessions(t *testing.T, s wxlogin.SessionStore) {
	c, ok := s.(wxlogin.SealedSessionCounter)
	if !ok {
		t.Skip("the store does not implement wxlogin.SealedSessionCounter")
	}
	a, b := sealedPrefixes()
	user := uniqueID("u-")
	for i, key := range [][]byte{append(a, 1, 2), append(a, 3), append(b, 4), nil} {
		sess := newSession(user, sessionEra.Add(time.Duration(i)*time.Minute))
		sess.SealedSessionKey = key
		mustCreateSession(t, s, sess)
	}
	for _, tc := range []struct {
		prefix []byte
		want   int
	}{{a, 2}, {b, 1}, {append(a, 9), 0}} {
		if n, err := c.CountSealedSessions(t.Context(), tc.prefix); err != nil || n != tc.want {
			t.Errorf("CountSealedSessions(%q) = %d, %v; want %d", tc.prefix, n, err, tc.want)
		}
	}
}

func testCountSealedUsers(t *testing.T, s wxlogin.UserStore) {
	c, ok := s.(wxlogin.SealedUserCounter)
	if !ok {
		t.Skip("the store does not implement wxlogin.SealedUserCounter")
	}
	a, b := sealedPrefixes()
	app := uniqueID("wx")
	for _, sealed := range [][]byte{append(a, 1, 2), append(a, 3), append(b, 4), nil} {
		u := newUser(app, userEra)
		u.Sealed = sealed
		mustEnsureUser(t, s, u)
	}
	for _, tc := range []struct {
		prefix []byte
		want   int
	}{{a, 2}, {b, 1}, {append(a, 9), 0}} {
		if n, err := c.CountSealedUsers(t.Context(), tc.prefix); err != nil || n != tc.want {
			t.Errorf("CountSealedUsers(%q) = %d, %v; want %d", tc.prefix, n, err, tc.want)
		}
	}
}
