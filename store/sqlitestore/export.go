package sqlitestore

import (
	"context"

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
