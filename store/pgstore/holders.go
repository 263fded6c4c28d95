package pgstore

import (
	"context"
	"errors"

	"github.com/wxlogin/wxlogin"
)

var _ wxlogin.SessionHolderLister = (*DB)(nil)

// SessionHoldersWithOpenIDPrefix implements wxlogin.SessionHolderLister.
// The comparisons and the order are bytewise (COLLATE "C"), as in SQLite,
// whatever the database's collation: under a linguistic collation "/"
// does not sort where the prefix range needs it. The app_id half of the
// (app_id, open_id) index narrows the scan to the app.
func (db *DB) SessionHoldersWithOpenIDPrefix(ctx context.Context, appID, prefix, after string, limit int) ([]wxlogin.User, error) {
	if prefix == "" {
		return nil, errors.New("pgstore: SessionHoldersWithOpenIDPrefix: the prefix must be non-empty")
	}
	if limit <= 0 {
		limit = defaultUserLimit
	}
	return queryAll(ctx, db, "SessionHoldersWithOpenIDPrefix", scanUser, `SELECT `+userColumns+` FROM users
		WHERE app_id = $1 AND starts_with(open_id, $2) AND open_id COLLATE "C" > $3
			AND EXISTS (SELECT 1 FROM sessions WHERE sessions.user_id = users.id)
		ORDER BY open_id COLLATE "C" LIMIT $4`, appID, prefix, after, limit)
}
