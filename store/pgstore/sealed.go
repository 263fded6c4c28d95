package pgstore

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
		`SELECT count(*) FROM sessions WHERE substring(sealed_session_key FROM 1 FOR $1::int) = $2`, prefix)
}

// CountSealedUsers implements wxlogin.SealedUserCounter.
func (db *DB) CountSealedUsers(ctx context.Context, prefix []byte) (int, error) {
	return db.countPrefix(ctx, "CountSealedUsers",
		`SELECT count(*) FROM users WHERE substring(sealed_personal FROM 1 FOR $1::int) = $2`, prefix)
}

// countPrefix counts the rows whose bytea begins with prefix (a NULL
// matches nothing), within the statement timeout like every operation.
func (db *DB) countPrefix(ctx context.Context, op, query string, prefix []byte) (int, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var n int
	if err := db.pool.QueryRow(ctx, query, len(prefix), prefix).Scan(&n); err != nil {
		return 0, storeError(op, err)
	}
	return n, nil
}
