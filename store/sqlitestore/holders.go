package sqlitestore

import (
	"context"
	"errors"

	"github.com/wxlogin/wxlogin"
)

var _ wxlogin.SessionHolderLister = (*DB)(nil)

// SessionHoldersWithOpenIDPrefix implements wxlogin.SessionHolderLister.
// The prefix becomes a range of open_id, so the page is a range scan of
// the (app_id, open_id) index that stops at the prefix's end; TEXT compares
// bytewise here, which is the order the range relies on.
func (db *DB) SessionHoldersWithOpenIDPrefix(ctx context.Context, appID, prefix, after string, limit int) ([]wxlogin.User, error) {
	end, ok := wxlogin.OpenIDPrefixEnd(prefix)
	if !ok {
		return nil, errors.New("sqlitestore: SessionHoldersWithOpenIDPrefix: the prefix must be non-empty and end in an ASCII character")
	}
	if limit <= 0 {
		limit = defaultUserLimit
	}
	from, op := prefix, ">="
	if after > prefix {
		from, op = after, ">"
	}
	return queryAll(ctx, db, "SessionHoldersWithOpenIDPrefix", scanUser, `SELECT `+userColumns+` FROM users
		WHERE app_id = ? AND open_id `+op+` ? AND open_id < ?
			AND EXISTS (SELECT 1 FROM sessions WHERE sessions.user_id = users.id)
		ORDER BY open_id LIMIT ?`, appID, from, end, limit)
}
