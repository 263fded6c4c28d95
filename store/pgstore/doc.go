// Package pgstore keeps wxlogin's users, sessions and blobs (avatars) in
// PostgreSQL, through a pgx connection pool: one database can serve several
// wxlogin instances, which a SQLite file cannot.
//
// Open takes a postgres:// URL without a password (the password comes from
// Options, which the binary fills from WXLOGIN_STORE_PASSWORD or its _FILE
// form), applies the embedded migrations in order under an advisory lock so
// that two instances starting at once do not race, and records them in the
// schema_migrations table.
//
// Every operation is bounded: connecting by Options.ConnectTimeout and each
// statement by Options.StatementTimeout (sent to the server and enforced on
// the client too), so a stopped or hung server gives an error matching
// ErrUnavailable within those bounds rather than a request that waits.
//
// Errors are classified by SQLSTATE (errors.go): a server that is down,
// shutting down, out of connections, disk or time is wxlogin.ErrUnavailable;
// a transaction the server aborted as a serialization failure or deadlock
// is run again a few times, and one that lost every attempt, like a unique
// violation, is wxlogin.ErrConflict; every other error has no class, a bug
// that auth answers as 500 internal and logs.
//
// Sessions reference their user with ON DELETE CASCADE: DeleteUser deletes
// the user's sessions in the same statement, and CreateSession refuses a
// session of a missing user with an error matching wxlogin.ErrNotFound.
//
// RevocationLog is an auth.Revocations in the same database: a row per
// revocation, which every subscriber reads a few times a second. It is the
// path a revocation takes when its instance cannot reach Redis: the
// instance just deleted the session in this database, so it can nearly
// always write the row too.
package pgstore
