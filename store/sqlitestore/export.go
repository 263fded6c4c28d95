package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/wxlogin/wxlogin"
)

// ExportUsers returns up to limit users whose id is after the given one, in
// id order: a resumable walk of every user, for copying a store elsewhere.
func (db *DB) ExportUsers(ctx context.Context, after string, limit int) ([]wxlogin.User, error) {
	return queryAll(ctx, db, "ExportUsers", scanUser,
		`SELECT `+userColumns+` FROM users WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
}

// ExportSessions returns up to limit sessions whose id is after the given
// one, in id order, token hashes and sealed keys as stored.
func (db *DB) ExportSessions(ctx context.Context, after string, limit int) ([]wxlogin.Session, error) {
	return queryAll(ctx, db, "ExportSessions", scanSession,
		`SELECT `+sessionColumns+` FROM sessions WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
}

// Counts returns how many users and sessions the database holds.
func (db *DB) Counts(ctx context.Context) (users, sessions int, err error) {
	err = db.queryRow(ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM sessions)`).Scan(&users, &sessions)
	return users, sessions, err
}

// Snapshot describes a copy of the database written by SnapshotTo, read
// back from the copy itself.
type Snapshot struct {
	Users, Sessions int
	// AvatarIDs are the blob ids the copy's users reference, in order.
	AvatarIDs []string
	// Migrations are the copy's applied migrations.
	Migrations []string
}

// SnapshotTo writes a consistent copy of the database into a new file at
// path, which must not exist. It is one VACUUM INTO, a single read
// transaction: in WAL mode a server writing meanwhile neither waits for it
// nor is seen half-way. The copy is then checked and described.
func (db *DB) SnapshotTo(ctx context.Context, path string) (Snapshot, error) {
	if _, err := db.write.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return Snapshot{}, fmt.Errorf("sqlitestore: snapshot: %w", err)
	}
	return CheckSnapshot(ctx, path)
}

// CheckSnapshot checks the integrity of a database file nothing else has
// open (a snapshot, or one about to be restored) and describes it. It opens
// the file read-only and leaves no journal files behind.
func CheckSnapshot(ctx context.Context, path string) (_ Snapshot, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Snapshot{}, fmt.Errorf("sqlitestore: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return Snapshot{}, fmt.Errorf("sqlitestore: %w", err)
	}
	// immutable: the file cannot change while it is read, so SQLite takes
	// no locks and creates no -wal or -shm file beside it.
	q := url.Values{"mode": {"ro"}, "immutable": {"1"}}
	conn, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}).String())
	if err != nil {
		return Snapshot{}, fmt.Errorf("sqlitestore: %w", err)
	}
	defer conn.Close()
	fail := func(err error) (Snapshot, error) {
		return Snapshot{}, fmt.Errorf("sqlitestore: %s: %w", path, err)
	}
	var check string
	if err := conn.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil {
		return fail(err)
	}
	if check != "ok" {
		return fail(fmt.Errorf("integrity check: %s", check))
	}
	var s Snapshot
	if err := conn.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM sessions)`).Scan(&s.Users, &s.Sessions); err != nil {
		return fail(err)
	}
	for _, q := range []struct {
		sql string
		dst *[]string
	}{
		{`SELECT avatar_id FROM users WHERE avatar_id <> '' ORDER BY avatar_id`, &s.AvatarIDs},
		{`SELECT name FROM schema_migrations ORDER BY name`, &s.Migrations},
	} {
		rows, err := conn.QueryContext(ctx, q.sql)
		if err != nil {
			return fail(err)
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return fail(err)
			}
			*q.dst = append(*q.dst, v)
		}
		if err := rows.Close(); err != nil {
			return fail(err)
		}
		if err := rows.Err(); err != nil {
			return fail(err)
		}
	}
	return s, nil
}

// Import stores users, then sessions, as they are (token hashes included),
// in one write transaction: one fsync for the lot, so that a million
// sessions load in seconds. It is for loading benchmark and test data and
// for copying a store; an id already stored fails the whole import.
func (db *DB) Import(ctx context.Context, users []wxlogin.User, sessions []wxlogin.Session) error {
	if err := db.importTx(ctx, users, sessions); err != nil {
		return err
	}
	// A bulk load leaves a WAL of hundreds of megabytes: the import, not
	// the next login's wait for the checkpointer's turn, pays for copying
	// it, once its transaction has given the write connection back.
	if db.checkpoints() {
		db.checkpoint(ctx) // a failure is the next write's to report
	}
	return nil
}

// importTx is Import's transaction.
func (db *DB) importTx(ctx context.Context, users []wxlogin.User, sessions []wxlogin.Session) error {
	tx, err := db.begin(ctx, "Import")
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ust, err := tx.PrepareContext(ctx, insertUserQuery)
	if err != nil {
		return storeError("Import", err)
	}
	defer ust.Close()
	for _, u := range users {
		phone, err := phoneText(u.Phone)
		if err != nil {
			return storeError("Import", err)
		}
		if _, err := ust.ExecContext(ctx, u.ID, u.AppID, u.OpenID, u.UnionID, micros(u.CreatedAt), micros(u.UpdatedAt),
			nullableText(u.UserInfo), phone, u.Profile.Nickname, u.Profile.AvatarID, micros(u.Profile.UpdatedAt),
			nullableBlob(u.Sealed)); err != nil {
			return storeError("Import", fmt.Errorf("user %s: %w", u.ID, err))
		}
	}
	sst, err := tx.PrepareContext(ctx, insertSessionQuery)
	if err != nil {
		return storeError("Import", err)
	}
	defer sst.Close()
	for _, s := range sessions {
		if _, err := sst.ExecContext(ctx, sessionArgs(s)...); err != nil {
			return storeError("Import", fmt.Errorf("session %s: %w", s.ID, err))
		}
	}
	return db.commit(tx, "Import")
}
