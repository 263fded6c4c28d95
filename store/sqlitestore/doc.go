// Package sqlitestore is wxlogin's embedded store: users and sessions in one
// SQLite file, through modernc.org/sqlite (pure Go, no cgo), so that
// `wxlogin dev` and small deployments need nothing installed. *DB implements
// wxlogin.UserStore, wxlogin.SessionStore and wxlogin.Pinger and passes the
// storetest suites.
//
// # Durability
//
// A login answered 200 must still be there after the process is killed
// right after, and after a power loss. The database runs in WAL mode with
// synchronous=FULL: every commit appends to the write-ahead log and fsyncs
// it before returning. With synchronous=NORMAL a WAL commit survives a
// process crash (the OS still holds the write) but the last commits can be
// lost on power loss, because the log is only fsynced at checkpoints.
//
// The cost is one fsync per write transaction, from well under a
// millisecond on NVMe to several milliseconds on network or spinning disks,
// and writes are serialised. A login (EnsureUserWithSession, the
// wxlogin.LoginStore method) is therefore group-committed (group.go): the
// logins queued while the write connection is busy run in one transaction,
// each in its own SAVEPOINT (a failing one is rolled back alone), and share
// one COMMIT and its fsync; each is answered only after that COMMIT
// returned, so an acknowledged login is as durable as before. A returning
// user's login writes only its session. Reads (verification) pay nothing: they do not
// fsync and, in WAL mode, do not wait for writers. TestDurability checks the
// process-kill half by SIGKILLing a child right after it reports success.
//
// # Concurrency
//
// SQLite admits one writer at a time. *DB has a write pool of exactly one
// connection whose transactions begin with BEGIN IMMEDIATE, so its writers
// queue in database/sql instead of failing with SQLITE_BUSY, and a pool of
// query-only connections for reads. busy_timeout covers writers from other
// processes on the same file (wxlogin migrate, a second server).
//
// Background writes that may be long, the sweep of expired sessions and
// the WAL checkpoints, run in idle turns of the committer (idle.go): only
// when no login is queued, and the sweep gives way between statements to a
// login that queues. No commit checkpoints (wal_autocheckpoint=0): the
// checkpointer does, in such a turn, every fifth of a second of writes and
// after every 250 swept sessions, so a checkpoint copies a few hundred pages
// and the WAL starts afresh after each (checkpoint.go).
//
// UpdateUser calls its update function inside the write transaction: the
// function must be quick and must not use the store, or it waits for itself.
//
// # Schema
//
// Migrations are SQL files embedded from migrations/, applied in name order,
// each in one transaction with its row in schema_migrations. Open applies
// them unless Options.NoMigrate is set; Migrate applies them explicitly and
// is idempotent, and refuses a database that records a migration this build
// does not embed (a newer wxlogin migrated it). SnapshotTo copies a live
// database in one read transaction (VACUUM INTO), for backups. Tables are STRICT. Times are INTEGER Unix microseconds in
// UTC (the precision the storetest suites require). Token hashes and sealed
// session keys are BLOBs; no token or session_key is ever stored in clear.
// The database file is created with mode 0600. A session references its
// user with ON DELETE CASCADE (foreign_keys is on in every connection): a
// session of a missing user cannot be stored, and deleting a user deletes
// its sessions atomically, so a login racing an erasure cannot leave a live
// session of an erased user (migrations/0002_sessions_reference_users.sql).
package sqlitestore
