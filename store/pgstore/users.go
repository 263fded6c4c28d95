package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/wxlogin/wxlogin"
)

const userColumns = `id, app_id, open_id, union_id, created_at, updated_at,
	user_info, phone, nickname, avatar_id, profile_updated_at, sealed_personal`

// defaultUserLimit is FindUsers' limit when the filter gives none
// (wxlogin.UserFilter documents 100).
const defaultUserLimit = 100

func scanUser(r pgx.Row) (wxlogin.User, error) {
	var (
		u               wxlogin.User
		userInfo, phone []byte
	)
	if err := r.Scan(&u.ID, &u.AppID, &u.OpenID, &u.UnionID, &u.CreatedAt, &u.UpdatedAt,
		&userInfo, &phone, &u.Profile.Nickname, &u.Profile.AvatarID, &u.Profile.UpdatedAt, &u.Sealed); err != nil {
		return wxlogin.User{}, err
	}
	u.CreatedAt, u.UpdatedAt, u.Profile.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC(), u.Profile.UpdatedAt.UTC()
	if len(userInfo) > 0 {
		u.UserInfo = json.RawMessage(userInfo)
	}
	if phone != nil {
		u.Phone = new(wxlogin.Phone)
		if err := json.Unmarshal(phone, u.Phone); err != nil {
			return wxlogin.User{}, fmt.Errorf("user %s: phone: %w", u.ID, err)
		}
	}
	return u, nil
}

// bytesArg binds b as bytea, or NULL when empty.
func bytesArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// jsonArg binds b as jsonb text, or NULL when empty.
func jsonArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func phoneArg(p *wxlogin.Phone) (any, error) {
	if p == nil {
		return nil, nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// EnsureUser implements wxlogin.UserStore. A new user is inserted with ON
// CONFLICT DO NOTHING, so of two concurrent first logins one inserts and
// the other finds its row; a non-empty unionid the user did not have is
// recorded in the same transaction, the row locked first.
func (db *DB) EnsureUser(ctx context.Context, u wxlogin.User) (wxlogin.User, bool, error) {
	return db.ensureUser(ctx, u, nil)
}

// ensureUser is EnsureUser appending what deliveries returns to the webhook
// outbox when it registers the user or records a unionid the user did not
// have.
func (db *DB) ensureUser(ctx context.Context, u wxlogin.User, deliveries func(wxlogin.UserChange) []wxlogin.Delivery) (wxlogin.User, bool, error) {
	if u.ID == "" || u.AppID == "" || u.OpenID == "" {
		return wxlogin.User{}, false, errors.New("pgstore: EnsureUser: ID, AppID and OpenID are required")
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	existing, err := scanUser(db.pool.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE app_id = $1 AND open_id = $2`, u.AppID, u.OpenID))
	switch {
	case err == nil && (u.UnionID == "" || u.UnionID == existing.UnionID):
		return existing, false, nil
	case err != nil && !errors.Is(err, pgx.ErrNoRows):
		return wxlogin.User{}, false, storeError("EnsureUser", err)
	}
	phone, err := phoneArg(u.Phone)
	if err != nil {
		return wxlogin.User{}, false, fmt.Errorf("pgstore: EnsureUser: %w", err)
	}
	var (
		got     wxlogin.User
		created bool
	)
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO users (`+userColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (app_id, open_id) DO NOTHING`,
			u.ID, u.AppID, u.OpenID, u.UnionID, u.CreatedAt, u.UpdatedAt,
			jsonArg(u.UserInfo), phone, u.Profile.Nickname, u.Profile.AvatarID, u.Profile.UpdatedAt, bytesArg(u.Sealed))
		if err != nil {
			return err
		}
		created = tag.RowsAffected() == 1
		got, err = scanUser(tx.QueryRow(ctx,
			`SELECT `+userColumns+` FROM users WHERE app_id = $1 AND open_id = $2`, u.AppID, u.OpenID))
		switch {
		case err != nil:
			return err
		case created && deliveries != nil:
			return insertDeliveries(ctx, tx, deliveries(wxlogin.UserChange{Kind: wxlogin.UserRegistered, User: got}))
		case !created && u.UnionID != "" && u.UnionID != got.UnionID:
			return recordUnionID(ctx, tx, &got, u.UnionID, deliveries)
		}
		return nil
	})
	if err != nil {
		return wxlogin.User{}, false, storeError("EnsureUser", err)
	}
	return got, created, nil
}

// User implements wxlogin.UserStore.
func (db *DB) User(ctx context.Context, id string) (wxlogin.User, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return wxlogin.User{}, notFound("user")
	}
	if err != nil {
		return wxlogin.User{}, storeError("User", err)
	}
	return u, nil
}

// FindUsers implements wxlogin.UserStore.
func (db *DB) FindUsers(ctx context.Context, f wxlogin.UserFilter) ([]wxlogin.User, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.AppID != "" {
		where = append(where, "app_id = "+arg(f.AppID))
	}
	if f.OpenID != "" {
		where = append(where, "open_id = "+arg(f.OpenID))
	}
	if f.UnionID != "" {
		// Spelled to match the partial index users_union_id.
		where = append(where, "union_id = "+arg(f.UnionID)+" AND union_id <> ''")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultUserLimit
	}
	q := `SELECT ` + userColumns + ` FROM users`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY created_at, id LIMIT ` + arg(limit)
	return queryAll(ctx, db, "FindUsers", scanUser, q, args...)
}

// UpdateUser implements wxlogin.UserStore. The row is read with SELECT …
// FOR UPDATE inside the transaction that writes it, so concurrent updates
// of one user wait for each other and none is lost. update runs while the
// row lock is held: it must be quick and must not call the store for the
// same user. After a deadlock the transaction runs again, and update with
// it, on the user as it is then.
func (db *DB) UpdateUser(ctx context.Context, id string, update func(*wxlogin.User) error) (wxlogin.User, error) {
	return db.updateUser(ctx, id, update, nil)
}

// updateUser is UpdateUser appending ds to the webhook outbox when it
// writes the user.
func (db *DB) updateUser(ctx context.Context, id string, update func(*wxlogin.User) error, ds []wxlogin.Delivery) (wxlogin.User, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var (
		u         wxlogin.User
		updateErr error
	)
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		updateErr = nil // a transaction run again after a deadlock sees the user anew
		old, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		u = old // scanUser made fresh slices and pointers: update may keep or change them
		if err := update(&u); err != nil {
			updateErr = err
			return err
		}
		u.ID, u.AppID, u.OpenID, u.CreatedAt = old.ID, old.AppID, old.OpenID, old.CreatedAt
		phone, err := phoneArg(u.Phone)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE users SET union_id = $1, updated_at = $2, user_info = $3,
			phone = $4, nickname = $5, avatar_id = $6, profile_updated_at = $7, sealed_personal = $8 WHERE id = $9`,
			u.UnionID, u.UpdatedAt, jsonArg(u.UserInfo), phone,
			u.Profile.Nickname, u.Profile.AvatarID, u.Profile.UpdatedAt, bytesArg(u.Sealed), id)
		if err != nil {
			return err
		}
		return insertDeliveries(ctx, tx, ds)
	})
	switch {
	case updateErr != nil:
		return wxlogin.User{}, updateErr
	case errors.Is(err, pgx.ErrNoRows):
		return wxlogin.User{}, notFound("user")
	case err != nil:
		return wxlogin.User{}, storeError("UpdateUser", err)
	}
	u.UpdatedAt, u.Profile.UpdatedAt = utc(u.UpdatedAt), utc(u.Profile.UpdatedAt)
	if len(u.UserInfo) == 0 {
		u.UserInfo = nil
	}
	if len(u.Sealed) == 0 {
		u.Sealed = nil
	}
	return u, nil
}

// errUnchanged ends an UpdateUser whose reseal changed nothing: nothing is
// written.
var errUnchanged = errors.New("pgstore: unchanged")

// ResealUsers implements wxlogin.UserStore. It walks the users holding
// personal data in id order, a page at a time, and runs reseal on each in
// its own UpdateUser (the row locked), so a concurrent update is neither
// lost nor overwritten, and a walk cut short has committed every user it
// finished: running it again resumes.
func (db *DB) ResealUsers(ctx context.Context, reseal func(u *wxlogin.User) (bool, error)) (int, error) {
	var (
		changed, failed int
		firstErr        error
		after           string
	)
	for {
		ids, err := queryAll(ctx, db, "ResealUsers", func(r pgx.Row) (string, error) {
			var id string
			return id, r.Scan(&id)
		}, `SELECT id FROM users WHERE id > $1
			AND (sealed_personal IS NOT NULL OR user_info IS NOT NULL OR phone IS NOT NULL)
			ORDER BY id LIMIT $2`, after, resealPage)
		if err != nil {
			return changed, err
		}
		if len(ids) == 0 {
			break
		}
		after = ids[len(ids)-1]
		for _, id := range ids {
			var resealErr error
			_, err := db.UpdateUser(ctx, id, func(u *wxlogin.User) error {
				ok, err := reseal(u)
				switch {
				case err != nil:
					resealErr = err
					return err
				case !ok:
					return errUnchanged
				}
				return nil
			})
			switch {
			case err == nil:
				changed++
			case errors.Is(err, errUnchanged) || errors.Is(err, wxlogin.ErrNotFound):
				// Left as it was, or erased since the page was read.
			case resealErr != nil:
				if failed == 0 {
					firstErr = fmt.Errorf("user %s: %w", id, resealErr)
				}
				failed++
			default:
				return changed, err
			}
		}
	}
	if failed > 0 {
		return changed, fmt.Errorf("pgstore: ResealUsers: %d users left as they were, first %w", failed, firstErr)
	}
	return changed, nil
}

// DeleteUser implements wxlogin.UserStore. The foreign key of sessions
// deletes the user's sessions in the same statement, so no session of the
// user outlives it, not even one a concurrent login was storing.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	if _, err := db.pool.Exec(ctx, `DELETE FROM users WHERE id = $1`, id); err != nil {
		return storeError("DeleteUser", err)
	}
	return nil
}

// queryAll runs a query and scans every row.
func queryAll[T any](ctx context.Context, db *DB, op string, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, storeError(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, storeError(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, storeError(op, err)
	}
	return out, nil
}
