package sqlitestore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/wxlogin/wxlogin"
)

var _ wxlogin.LoginOutboxStore = (*DB)(nil)

const (
	userByOpenIDQuery = `SELECT ` + userColumns + ` FROM users WHERE app_id = ? AND open_id = ?`
	insertUserQuery   = `INSERT INTO users (` + userColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	setUnionIDQuery   = `UPDATE users SET union_id = ? WHERE id = ?`
)

// loginStmts are the prepared statements of EnsureUserWithSession.
type loginStmts struct {
	userByOpenID, insertUser, setUnionID, insertSession *sql.Stmt
}

func (db *DB) loginStmts(ctx context.Context) (loginStmts, error) {
	var (
		ls  loginStmts
		err error
	)
	for _, p := range []struct {
		st    **sql.Stmt
		query string
	}{
		{&ls.userByOpenID, userByOpenIDQuery},
		{&ls.insertUser, insertUserQuery},
		{&ls.setUnionID, setUnionIDQuery},
		{&ls.insertSession, insertSessionQuery},
	} {
		if *p.st, err = db.writeStmt(ctx, p.query); err != nil {
			return ls, err
		}
	}
	return ls, nil
}

// stmtExec runs a prepared write statement inside tx.
func stmtExec(ctx context.Context, tx *sql.Tx, st *sql.Stmt, args ...any) error {
	s := tx.StmtContext(ctx, st)
	_, err := s.ExecContext(ctx, args...)
	s.Close()
	return err
}

// EnsureUserWithSession implements wxlogin.LoginStore: the user's lookup,
// its insert when new (or its unionid's update when that changed) and the
// session's insert run in one savepoint of a group transaction (group.go),
// so a login costs a share of one fsync, and a returning user's login writes
// only its session. The write lock is held throughout, so no other writer
// can register the same user in between: the lookup inside the transaction
// decides.
func (db *DB) EnsureUserWithSession(ctx context.Context, u wxlogin.User, s wxlogin.Session) (wxlogin.User, bool, error) {
	return db.ensureUserWithSession(ctx, u, s, nil)
}

// EnsureUserWithSessionAndDeliveries implements wxlogin.LoginOutboxStore:
// EnsureUserWithSession's savepoint, the deliveries appended in it when
// the user is registered or its new unionid recorded.
func (db *DB) EnsureUserWithSessionAndDeliveries(ctx context.Context, u wxlogin.User, s wxlogin.Session, deliveries func(wxlogin.UserChange) []wxlogin.Delivery) (wxlogin.User, bool, error) {
	return db.ensureUserWithSession(ctx, u, s, deliveries)
}

// ensureUserWithSession is EnsureUserWithSession, appending what
// deliveries returns when it registers the user or records a unionid the
// user did not have, and deliveries is not nil.
func (db *DB) ensureUserWithSession(ctx context.Context, u wxlogin.User, s wxlogin.Session, deliveries func(wxlogin.UserChange) []wxlogin.Delivery) (wxlogin.User, bool, error) {
	if u.ID == "" || u.AppID == "" || u.OpenID == "" {
		return wxlogin.User{}, false, errors.New("sqlitestore: EnsureUserWithSession: ID, AppID and OpenID are required")
	}
	if s.ID == "" {
		return wxlogin.User{}, false, errors.New("sqlitestore: EnsureUserWithSession: the session's ID is required")
	}
	phone, err := phoneText(u.Phone)
	if err != nil {
		return wxlogin.User{}, false, storeError("EnsureUserWithSession", err)
	}
	stmts, err := db.loginStmts(ctx)
	if err != nil {
		return wxlogin.User{}, false, storeError("EnsureUserWithSession", err)
	}
	var (
		got     wxlogin.User
		created bool
	)
	err = db.groupWrite(ctx, func(ctx context.Context, tx *sql.Tx) error {
		q := tx.StmtContext(ctx, stmts.userByOpenID)
		existing, err := scanUser(q.QueryRowContext(ctx, u.AppID, u.OpenID))
		q.Close()
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if err := stmtExec(ctx, tx, stmts.insertUser,
				u.ID, u.AppID, u.OpenID, u.UnionID, micros(u.CreatedAt), micros(u.UpdatedAt),
				nullableText(u.UserInfo), phone, u.Profile.Nickname, u.Profile.AvatarID, micros(u.Profile.UpdatedAt),
				nullableBlob(u.Sealed)); err != nil {
				return err
			}
			got, created = normalized(u), true
			if deliveries != nil {
				if err := insertDeliveries(ctx, tx, deliveries(wxlogin.UserChange{Kind: wxlogin.UserRegistered, User: got})); err != nil {
					return err
				}
			}
		case err != nil:
			return err
		default:
			got, created = existing, false
			if u.UnionID != "" && u.UnionID != existing.UnionID {
				if err := stmtExec(ctx, tx, stmts.setUnionID, u.UnionID, existing.ID); err != nil {
					return err
				}
				got.UnionID = u.UnionID
				if deliveries != nil {
					change := wxlogin.UserChange{Kind: wxlogin.UnionIDRecorded, User: got, PreviousUnionID: existing.UnionID}
					if err := insertDeliveries(ctx, tx, deliveries(change)); err != nil {
						return err
					}
				}
			}
		}
		s.UserID, s.OpenID, s.UnionID = got.ID, got.OpenID, got.UnionID
		return stmtExec(ctx, tx, stmts.insertSession, sessionArgs(s)...)
	})
	if err != nil {
		return wxlogin.User{}, false, storeError("EnsureUserWithSession", err)
	}
	return got, created, nil
}
