package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/wxlogin/wxlogin"
)

const userColumns = `id, app_id, open_id, union_id, created_at, updated_at,
	user_info, phone, nickname, avatar_id, profile_updated_at, sealed_personal`

// defaultUserLimit is FindUsers' limit when the filter gives none
// (wxlogin.UserFilter documents 100).
const defaultUserLimit = 100

func scanUser(r rowScanner) (wxlogin.User, error) {
	var (
		u                            wxlogin.User
		created, updated, profileUpd int64
		userInfo, phone              sql.NullString
	)
	if err := r.Scan(&u.ID, &u.AppID, &u.OpenID, &u.UnionID, &created, &updated,
		&userInfo, &phone, &u.Profile.Nickname, &u.Profile.AvatarID, &profileUpd, &u.Sealed); err != nil {
		return wxlogin.User{}, err
	}
	u.CreatedAt, u.UpdatedAt, u.Profile.UpdatedAt = fromMicros(created), fromMicros(updated), fromMicros(profileUpd)
	if userInfo.Valid {
		u.UserInfo = json.RawMessage(userInfo.String)
	}
	if phone.Valid {
		u.Phone = new(wxlogin.Phone)
		if err := json.Unmarshal([]byte(phone.String), u.Phone); err != nil {
			return wxlogin.User{}, fmt.Errorf("user %s: phone: %w", u.ID, err)
		}
	}
	return u, nil
}

// nullableText returns b as a string, or nil (NULL) when empty. The columns
// are TEXT in STRICT tables, which refuse the BLOB a []byte would bind as.
func nullableText(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// nullableBlob returns b, or nil (NULL) when empty.
func nullableBlob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func phoneText(p *wxlogin.Phone) (any, error) {
	if p == nil {
		return nil, nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// normalized returns u as the database gives it back, so that what a write
// returns equals what a later read returns.
func normalized(u wxlogin.User) wxlogin.User {
	u.CreatedAt = fromMicros(micros(u.CreatedAt))
	u.UpdatedAt = fromMicros(micros(u.UpdatedAt))
	u.Profile.UpdatedAt = fromMicros(micros(u.Profile.UpdatedAt))
	if len(u.UserInfo) == 0 {
		u.UserInfo = nil
	}
	if len(u.Sealed) == 0 {
		u.Sealed = nil
	}
	return u
}

// EnsureUser implements wxlogin.UserStore. A returning user is answered from
// the read pool without taking the write lock, unless a new unionid must be
// recorded; a new user is inserted with ON CONFLICT DO NOTHING inside one
// write transaction, so of two concurrent first logins one inserts and the
// other finds its row.
func (db *DB) EnsureUser(ctx context.Context, u wxlogin.User) (wxlogin.User, bool, error) {
	return db.ensureUser(ctx, u, nil)
}

// ensureUser is EnsureUser appending what deliveries returns to the webhook
// outbox when it registers the user or records a unionid the user did not
// have.
func (db *DB) ensureUser(ctx context.Context, u wxlogin.User, deliveries func(wxlogin.UserChange) []wxlogin.Delivery) (wxlogin.User, bool, error) {
	if u.ID == "" || u.AppID == "" || u.OpenID == "" {
		return wxlogin.User{}, false, errors.New("sqlitestore: EnsureUser: ID, AppID and OpenID are required")
	}
	existing, err := scanUser(db.queryRow(ctx, userByOpenIDQuery, u.AppID, u.OpenID))
	switch {
	case err == nil && (u.UnionID == "" || u.UnionID == existing.UnionID):
		return existing, false, nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return wxlogin.User{}, false, storeError("EnsureUser", err)
	}

	phone, err := phoneText(u.Phone)
	if err != nil {
		return wxlogin.User{}, false, storeError("EnsureUser", err)
	}
	tx, err := db.begin(ctx, "EnsureUser")
	if err != nil {
		return wxlogin.User{}, false, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO users (`+userColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (app_id, open_id) DO NOTHING`,
		u.ID, u.AppID, u.OpenID, u.UnionID, micros(u.CreatedAt), micros(u.UpdatedAt),
		nullableText(u.UserInfo), phone, u.Profile.Nickname, u.Profile.AvatarID, micros(u.Profile.UpdatedAt),
		nullableBlob(u.Sealed))
	if err != nil {
		return wxlogin.User{}, false, storeError("EnsureUser", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wxlogin.User{}, false, storeError("EnsureUser", err)
	}
	created := n == 1
	var change wxlogin.UserChange
	if created {
		change.Kind = wxlogin.UserRegistered
	} else if u.UnionID != "" {
		// The read above was outside the write lock: what the user holds
		// now is read again under it, so that the unionid's change (and
		// its event) is recorded by exactly one of two racing logins.
		prev, err := scanUser(tx.QueryRowContext(ctx, userByOpenIDQuery, u.AppID, u.OpenID))
		if err != nil {
			return wxlogin.User{}, false, storeError("EnsureUser", err)
		}
		if prev.UnionID != u.UnionID {
			if _, err := tx.ExecContext(ctx, setUnionIDQuery, u.UnionID, prev.ID); err != nil {
				return wxlogin.User{}, false, storeError("EnsureUser", err)
			}
			change = wxlogin.UserChange{Kind: wxlogin.UnionIDRecorded, PreviousUnionID: prev.UnionID}
		}
	}
	got, err := scanUser(tx.QueryRowContext(ctx, userByOpenIDQuery, u.AppID, u.OpenID))
	if err != nil {
		return wxlogin.User{}, false, storeError("EnsureUser", err)
	}
	if change.Kind != 0 && deliveries != nil {
		change.User = got
		if err := insertDeliveries(ctx, tx, deliveries(change)); err != nil {
			return wxlogin.User{}, false, storeError("EnsureUser", err)
		}
	}
	if err := db.commit(tx, "EnsureUser"); err != nil {
		return wxlogin.User{}, false, err
	}
	return got, created, nil
}

// User implements wxlogin.UserStore.
func (db *DB) User(ctx context.Context, id string) (wxlogin.User, error) {
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
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
	if f.AppID != "" {
		where, args = append(where, "app_id = ?"), append(args, f.AppID)
	}
	if f.OpenID != "" {
		where, args = append(where, "open_id = ?"), append(args, f.OpenID)
	}
	if f.UnionID != "" {
		// Spelled to match the partial index users_union_id.
		where, args = append(where, "union_id = ? AND union_id <> ''"), append(args, f.UnionID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultUserLimit
	}
	q := `SELECT ` + userColumns + ` FROM users`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY created_at, id LIMIT ?`
	args = append(args, limit)

	return queryAll(ctx, db, "FindUsers", scanUser, q, args...)
}

// UpdateUser implements wxlogin.UserStore. The read, update and write happen
// in one write transaction, so concurrent updates are serialised and none is
// lost. update runs while this DB's write lock is held: it must be quick and
// must not call the store (it would wait for itself).
func (db *DB) UpdateUser(ctx context.Context, id string, update func(*wxlogin.User) error) (wxlogin.User, error) {
	return db.updateUser(ctx, id, update, nil)
}

// updateUser is UpdateUser appending ds to the webhook outbox when it
// writes the user.
func (db *DB) updateUser(ctx context.Context, id string, update func(*wxlogin.User) error, ds []wxlogin.Delivery) (wxlogin.User, error) {
	tx, err := db.begin(ctx, "UpdateUser")
	if err != nil {
		return wxlogin.User{}, err
	}
	defer tx.Rollback()
	old, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return wxlogin.User{}, notFound("user")
	}
	if err != nil {
		return wxlogin.User{}, storeError("UpdateUser", err)
	}
	u := old // scanUser made fresh slices and pointers: update may keep or change them
	if err := update(&u); err != nil {
		return wxlogin.User{}, err
	}
	u.ID, u.AppID, u.OpenID, u.CreatedAt = old.ID, old.AppID, old.OpenID, old.CreatedAt
	phone, err := phoneText(u.Phone)
	if err != nil {
		return wxlogin.User{}, storeError("UpdateUser", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET union_id = ?, updated_at = ?, user_info = ?,
		phone = ?, nickname = ?, avatar_id = ?, profile_updated_at = ?, sealed_personal = ? WHERE id = ?`,
		u.UnionID, micros(u.UpdatedAt), nullableText(u.UserInfo), phone,
		u.Profile.Nickname, u.Profile.AvatarID, micros(u.Profile.UpdatedAt), nullableBlob(u.Sealed), id); err != nil {
		return wxlogin.User{}, storeError("UpdateUser", err)
	}
	if err := insertDeliveries(ctx, tx, ds); err != nil {
		return wxlogin.User{}, storeError("UpdateUser", err)
	}
	if err := db.commit(tx, "UpdateUser"); err != nil {
		return wxlogin.User{}, err
	}
	return normalized(u), nil
}

// DeleteUser implements wxlogin.UserStore. The foreign key of sessions
// deletes the user's sessions in the same statement (migration 0002), so
// no session of the user outlives it, not even one a concurrent login was
// storing.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	if _, err := db.exec(ctx, "DeleteUser", `DELETE FROM users WHERE id = ?`, id); err != nil {
		return err
	}
	return nil
}

// errUnchanged ends an UpdateUser that ResealUsers runs for a user its
// reseal left as it was: nothing is written.
var errUnchanged = errors.New("unchanged")

// ResealUsers implements wxlogin.UserStore. It walks the users with
// personal data in id order a page at a time and runs reseal on each inside
// its own UpdateUser, so a concurrent update is neither lost nor
// overwritten, and a walk cut short (a crash, a deadline) has committed
// every user it finished: running it again resumes.
func (db *DB) ResealUsers(ctx context.Context, reseal func(u *wxlogin.User) (bool, error)) (int, error) {
	var (
		changed, failed int
		firstErr        error
		after           string
	)
	for {
		rows, err := db.query(ctx, `SELECT id FROM users WHERE id > ?
			AND (sealed_personal IS NOT NULL OR user_info IS NOT NULL OR phone IS NOT NULL)
			ORDER BY id LIMIT ?`, after, resealPage)
		if err != nil {
			return changed, fmt.Errorf("sqlitestore: ResealUsers: %w", err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return changed, fmt.Errorf("sqlitestore: ResealUsers: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return changed, fmt.Errorf("sqlitestore: ResealUsers: %w", err)
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
				return changed, fmt.Errorf("sqlitestore: ResealUsers: %w", err)
			}
		}
	}
	if failed > 0 {
		return changed, fmt.Errorf("sqlitestore: ResealUsers: %d users left as they were, first %w", failed, firstErr)
	}
	return changed, nil
}
