package storetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin"
)

var (
	// sessionEra is the base instant of every session test except the expiry
	// one. Its nanoseconds check that stores keep microseconds and drop the
	// rest.
	sessionEra = time.Date(2100, 1, 1, 8, 0, 0, 123_456_789, time.UTC)
	// expiryEra is where the DeleteExpiredSessions test works: after the
	// wall clock (see the package comment) and before sessionEra, so that its
	// calls never reach another test's sessions.
	expiryEra = time.Date(2090, 1, 1, 8, 0, 0, 987_654_321, time.UTC)
	// userEra is the base instant of user records. Users never expire, so
	// any instant will do; nanoseconds again check truncation.
	userEra = time.Date(2024, 3, 1, 9, 30, 0, 555_555_555, time.UTC)
)

// uniqueID returns prefix followed by 16 random hex digits: ids, appids and
// openids that no other test, and no earlier run on the same server, uses.
// Only [A-Za-z0-9_-] appear, so the ids suit every backend's key syntax.
func uniqueID(prefix string) string {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return prefix + hex.EncodeToString(b[:])
}

// randomBytes returns n random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// stored returns t as the suites expect a store to give it back: in UTC,
// truncated to the microsecond; the zero time stays zero.
func stored(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

func storedUser(u wxlogin.User) wxlogin.User {
	u.CreatedAt = stored(u.CreatedAt)
	u.UpdatedAt = stored(u.UpdatedAt)
	u.Profile.UpdatedAt = stored(u.Profile.UpdatedAt)
	return u
}

func storedSession(s wxlogin.Session) wxlogin.Session {
	s.CreatedAt = stored(s.CreatedAt)
	s.LastSeenAt = stored(s.LastSeenAt)
	s.IdleExpiresAt = stored(s.IdleExpiresAt)
	s.ExpiresAt = stored(s.ExpiresAt)
	return s
}

func storedBlob(b wxlogin.Blob) wxlogin.Blob {
	b.CreatedAt = stored(b.CreatedAt)
	return b
}

// cmpOpts compares records the way the package comment promises: byte
// slices nil or empty alike, UserInfo as JSON, times with Equal (go-cmp uses
// time.Time's Equal method) and in UTC (checked by checkUTC).
var cmpOpts = cmp.Options{
	// Each comparer is restricted to its exact type: a Comparer alone also
	// applies to types assignable to its own, and []byte and json.RawMessage
	// are assignable to each other.
	cmp.FilterPath(isType[[]byte], cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })),
	cmp.FilterPath(isType[json.RawMessage], cmp.Comparer(jsonEqual)),
}

func isType[T any](p cmp.Path) bool { return p.Last().Type() == reflect.TypeFor[T]() }

// jsonEqual reports whether a and b hold the same JSON document; two empty
// values are equal, and invalid JSON is compared byte for byte.
func jsonEqual(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(va, vb)
}

// checkUTC reports a test error for each non-zero time not in UTC: callers
// format these times for clients and logs, where a local zone would leak.
func checkUTC(t *testing.T, what string, times ...time.Time) {
	t.Helper()
	for i, tm := range times {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s: time %d is in %v, want UTC", what, i, tm.Location())
		}
	}
}

func checkUserUTC(t *testing.T, what string, u wxlogin.User) {
	t.Helper()
	checkUTC(t, what, u.CreatedAt, u.UpdatedAt, u.Profile.UpdatedAt)
}

func checkSessionUTC(t *testing.T, what string, s wxlogin.Session) {
	t.Helper()
	checkUTC(t, what, s.CreatedAt, s.LastSeenAt, s.IdleExpiresAt, s.ExpiresAt)
}

// checkNotFound reports a test error unless err matches wxlogin.ErrNotFound.
func checkNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, wxlogin.ErrNotFound) {
		t.Errorf("%s: err = %v, want one matching wxlogin.ErrNotFound", what, err)
	}
}
