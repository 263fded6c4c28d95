package pgstore

import (
	"context"
	"errors"

	"github.com/wxlogin/wxlogin"
)

var _ wxlogin.SessionHolderLister = (*DB)(nil)

// SessionHoldersWithOpenIDPrefix implements wxlogin.SessionHolderLister.
// The comparisons and the order are bytewise (COLLATE "C"), as in SQLite,
// whatever the database's collation: under a linguistic one a prefix need
// not be a contiguous range. The prefix becomes a range of the bytewise
// index users_app_open_id_bytewise, so a page reads only the prefix's rows.
func (db *DB) SessionHoldersWithOpenIDPrefix(ctx context.Context, appID, prefix, after string, limit int) ([]wxlogin.User, error) {
	end, ok := wxlogin.OpenIDPrefixEnd(prefix)
	if !ok {
		return nil, errors.New("pgstore: SessionHoldersWithOpenIDPrefix: the prefix must be non-empty and end in an ASCII character")
	}
	if limit <= 0 {
		limit = defaultUserLimit
	}
	from, op := prefix, ">="
	if after > prefix {
		from, op = after, ">"
	}
	return queryAll(ctx, db, "SessionHoldersWithOpenIDPrefix", scanUser, `SELECT `+userColumns+` FROM users
		WHERE app_id = $1 AND open_id COLLATE "C" `+op+` $2 AND open_id COLLATE "C" < $3
			AND EXISTS (SELECT 1 FROM sessions WHERE sessions.user_id = users.id)
		ORDER BY open_id COLLATE "C" LIMIT $4`, appID, from, end, limit)
}
