package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/wxlogin/wxlogin"
)

var (
	_ wxlogin.LoginStore       = (*DB)(nil)
	_ wxlogin.LoginOutboxStore = (*DB)(nil)
)

// EnsureUserWithSession implements wxlogin.LoginStore: the user's lookup,
// its insert when new (ON CONFLICT DO NOTHING, then a second lookup, so of
// two concurrent first logins one inserts and the other finds its row once
// the first commits), a changed unionid's update and the session's insert
// run in one transaction: one commit, and a returning user's login writes
// only its session.
func (db *DB) EnsureUserWithSession(ctx context.Context, u wxlogin.User, s wxlogin.Session) (wxlogin.User, bool, error) {
	return db.ensureUserWithSession(ctx, u, s, nil)
}

// EnsureUserWithSessionAndDeliveries implements wxlogin.LoginOutboxStore:
// EnsureUserWithSession's transaction, the deliveries appended in it when
// the user is registered or its new unionid recorded.
func (db *DB) EnsureUserWithSessionAndDeliveries(ctx context.Context, u wxlogin.User, s wxlogin.Session, deliveries func(wxlogin.UserChange) []wxlogin.Delivery) (wxlogin.User, bool, error) {
	return db.ensureUserWithSession(ctx, u, s, deliveries)
}

// ensureUserWithSession is EnsureUserWithSession, appending what
// deliveries returns when it registers the user or records a unionid the
// user did not have, and deliveries is not nil.
func (db *DB) ensureUserWithSession(ctx context.Context, u wxlogin.User, s wxlogin.Session, deliveries func(wxlogin.UserChange) []wxlogin.Delivery) (wxlogin.User, bool, error) {
	if u.ID == "" || u.AppID == "" || u.OpenID == "" {
		return wxlogin.User{}, false, errors.New("pgstore: EnsureUserWithSession: ID, AppID and OpenID are required")
	}
	if s.ID == "" {
		return wxlogin.User{}, false, errors.New("pgstore: EnsureUserWithSession: the session's ID is required")
	}
	phone, err := phoneArg(u.Phone)
	if err != nil {
		return wxlogin.User{}, false, fmt.Errorf("pgstore: EnsureUserWithSession: %w", err)
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	const byOpenID = `SELECT ` + userColumns + ` FROM users WHERE app_id = $1 AND open_id = $2`
	var (
		got     wxlogin.User
		created bool
	)
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		created = false
		var err error
		got, err = scanUser(tx.QueryRow(ctx, byOpenID, u.AppID, u.OpenID))
		if errors.Is(err, pgx.ErrNoRows) {
			tag, ierr := tx.Exec(ctx, `INSERT INTO users (`+userColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
				ON CONFLICT (app_id, open_id) DO NOTHING`,
				u.ID, u.AppID, u.OpenID, u.UnionID, u.CreatedAt, u.UpdatedAt,
				jsonArg(u.UserInfo), phone, u.Profile.Nickname, u.Profile.AvatarID, u.Profile.UpdatedAt, bytesArg(u.Sealed))
			if ierr != nil {
				return ierr
			}
			created = tag.RowsAffected() == 1
			got, err = scanUser(tx.QueryRow(ctx, byOpenID, u.AppID, u.OpenID))
			if err == nil && created && deliveries != nil {
				err = insertDeliveries(ctx, tx, deliveries(wxlogin.UserChange{Kind: wxlogin.UserRegistered, User: got}))
			}
		}
		if err != nil {
			return err
		}
		if !created && u.UnionID != "" && u.UnionID != got.UnionID {
			if err := recordUnionID(ctx, tx, &got, u.UnionID, deliveries); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			s.ID, s.TokenHash[:], got.ID, s.AppID, got.OpenID, got.UnionID, s.SealedSessionKey,
			s.CreatedAt, s.LastSeenAt, s.IdleExpiresAt, s.ExpiresAt, s.UserAgent, s.IP)
		return err
	})
	if isForeignKeyViolation(err) {
		// The user was erased between its lookup and the session's insert.
		return wxlogin.User{}, false, notFound("user " + u.ID)
	}
	if err != nil {
		return wxlogin.User{}, false, storeError("EnsureUserWithSession", err)
	}
	return got, created, nil
}

// recordUnionID records unionid for got, an existing user whose unionid
// read differently, and appends what deliveries returns (when not nil).
// The row is locked and read again first: of two logins recording the same
// unionid at once, the second finds it recorded, so the change and its
// event are written once.
func recordUnionID(ctx context.Context, tx pgx.Tx, got *wxlogin.User, unionid string, deliveries func(wxlogin.UserChange) []wxlogin.Delivery) error {
	var prev string
	err := tx.QueryRow(ctx, `SELECT union_id FROM users WHERE id = $1 FOR UPDATE`, got.ID).Scan(&prev)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound("user " + got.ID) // erased since it was read
	}
	if err != nil {
		return err
	}
	got.UnionID = unionid
	if prev == unionid {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE users SET union_id = $1 WHERE id = $2`, unionid, got.ID); err != nil {
		return err
	}
	if deliveries == nil {
		return nil
	}
	return insertDeliveries(ctx, tx, deliveries(wxlogin.UserChange{Kind: wxlogin.UnionIDRecorded, User: *got, PreviousUnionID: prev}))
}
