// Package storetest holds the conformance suites every wxlogin store backend
// runs: RunUserStoreTests, RunSessionStoreTests and RunBlobStoreTests. A
// backend's own test file is a few lines that hand the suite a factory.
//
// The suites are written so that a backend on a shared server (PostgreSQL,
// Redis) passes them unchanged and with tests running in parallel:
//
//   - every test asks the factory for its store and cleans up nothing; it
//     never assumes an empty database, and uses ids, appids, openids,
//     unionids and token hashes that are random per test;
//   - time is passed in: stores are handed fixed instants and never judge
//     expiry with the wall clock;
//   - session tests live in a far-future era (see sessionEra) and the one
//     test that calls DeleteExpiredSessions works in an earlier era
//     (expiryEra), so deleting expired sessions never removes another test's
//     sessions; both eras are after today so that a backend that also sets a
//     wall-clock TTL (Redis EXPIREAT) keeps every session alive;
//   - the ResealSessionKeys test reseals only the sealed values it made and
//     hands every other value back unchanged, so a concurrent test's sessions
//     are untouched and "changed" counts only its own.
//
// What the suites pin down beyond the interface comments in package wxlogin:
//
//   - Times are kept to the microsecond (what PostgreSQL keeps) and come back
//     in UTC. The suites hand stores instants with nanoseconds and expect them
//     back truncated to microseconds; a zero time comes back zero.
//   - UserInfo is compared as JSON, not as bytes, so a backend may store it as
//     jsonb and give back a different spelling of the same document. Empty
//     and nil byte slices are equal.
//   - EnsureUser on an existing user changes nothing but a non-empty UnionID:
//     the caller's other fields, including UpdatedAt, are ignored.
//   - UpdateUser stores what the callback leaves, except ID, AppID, OpenID and
//     CreatedAt, which keep their stored values whatever the callback does;
//     it sets no time itself (the callback sets UpdatedAt from its clock).
//   - ResealSessionKeys counts the sessions whose sealed value reseal
//     actually changed; a reseal answer equal to the stored value is not a
//     change. A failing reseal leaves that session as it was and its error is
//     returned (errors.Is matches it); other sessions may or may not have
//     been resealed.
//   - UserSessions and DeleteUserSessions of a user with no sessions give an
//     empty list and 0, not ErrNotFound.
//   - A session whose token hash or id is already stored is rejected.
//   - A store that keeps users as well as sessions (it implements both
//     interfaces, as one SQLite or PostgreSQL database does) refuses a session
//     whose user it does not hold with an error matching ErrNotFound, and
//     DeleteUser deletes the user's sessions with the user, atomically: a
//     login that found the user just before an erasure cannot store a
//     session that outlives it. RunSessionStoreTests registers each session's
//     user first in such a store, and checks this; it skips those checks for
//     a store of sessions alone.
package storetest
