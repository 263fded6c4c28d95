package sqlitestore

import (
	"context"

	"github.com/wxlogin/wxlogin"
)

var (
	_ wxlogin.SealedSessionCounter = (*DB)(nil)
	_ wxlogin.SealedUserCounter    = (*DB)(nil)
)

// CountSealedSessions implements wxlogin.SealedSessionCounter.
func (db *DB) CountSealedSessions(ctx context.Context, prefix []byte) (int, error) {
	return db.countPrefix(ctx, "CountSealedSessions",
		`SELECT count(*) FROM sessions WHERE substr(sealed_session_key, 1, ?) = ?`, prefix)
}

// CountSealedUsers implements wxlogin.SealedUserCounter.
func (db *DB) CountSealedUsers(ctx context.Context, prefix []byte) (int, error) {
	return db.countPrefix(ctx, "CountSealedUsers",
		`SELECT count(*) FROM users WHERE substr(sealed_personal, 1, ?) = ?`, prefix)
}

// countPrefix runs a count of the rows whose blob begins with prefix;
// substr of a BLOB counts bytes, and a NULL blob matches nothing.
func (db *DB) countPrefix(ctx context.Context, op, query string, prefix []byte) (int, error) {
	var n int
	if err := db.queryRow(ctx, query, len(prefix), prefix).Scan(&n); err != nil {
		return 0, storeError(op, err)
	}
	return n, nil
}
