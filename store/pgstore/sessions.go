package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wxlogin/wxlogin"
)

const sessionColumns = `id, token_hash, user_id, app_id, open_id, union_id, sealed_session_key,
	created_at, last_seen_at, idle_expires_at, expires_at, user_agent, ip`

const (
	// sweepBatch bounds how many expired sessions one statement deletes,
	// so that a large sweep holds no long locks and fits the statement
	// timeout.
	sweepBatch = 1000
	// resealPage is how many sessions ResealSessionKeys reads and rewrites
	// per transaction, for the same reason.
	resealPage = 500
)

func scanSession(r pgx.Row) (wxlogin.Session, error) {
	var (
		s    wxlogin.Session
		hash []byte
	)
	if err := r.Scan(&s.ID, &hash, &s.UserID, &s.AppID, &s.OpenID, &s.UnionID, &s.SealedSessionKey,
		&s.CreatedAt, &s.LastSeenAt, &s.IdleExpiresAt, &s.ExpiresAt, &s.UserAgent, &s.IP); err != nil {
		return wxlogin.Session{}, err
	}
	if len(hash) != len(s.TokenHash) {
		return wxlogin.Session{}, fmt.Errorf("session %s: token hash of %d bytes", s.ID, len(hash))
	}
	copy(s.TokenHash[:], hash)
	s.CreatedAt, s.LastSeenAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC()
	s.IdleExpiresAt, s.ExpiresAt = s.IdleExpiresAt.UTC(), s.ExpiresAt.UTC()
	return s, nil
}

// CreateSession implements wxlogin.SessionStore. A session whose id or
// token hash is already stored is rejected by the table's constraints, and
// a session of a user that does not exist (never registered, or erased
// while its login was under way) by the foreign key: that error matches
// wxlogin.ErrNotFound.
func (db *DB) CreateSession(ctx context.Context, s wxlogin.Session) error {
	if s.ID == "" {
		return errors.New("pgstore: CreateSession: ID is required")
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	_, err := db.pool.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		s.ID, s.TokenHash[:], s.UserID, s.AppID, s.OpenID, s.UnionID, s.SealedSessionKey,
		s.CreatedAt, s.LastSeenAt, s.IdleExpiresAt, s.ExpiresAt, s.UserAgent, s.IP)
	if isForeignKeyViolation(err) {
		return notFound("user " + s.UserID)
	}
	return storeError("CreateSession", err)
}

// SessionByToken implements wxlogin.SessionStore: a point query on the
// unique index of token_hash (pgx prepares and caches the statement per
// connection).
func (db *DB) SessionByToken(ctx context.Context, h wxlogin.TokenHash) (wxlogin.Session, error) {
	return db.oneSession(ctx, "SessionByToken", `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = $1`, h[:])
}

// Session implements wxlogin.SessionStore.
func (db *DB) Session(ctx context.Context, id string) (wxlogin.Session, error) {
	return db.oneSession(ctx, "Session", `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id)
}

func (db *DB) oneSession(ctx context.Context, op, query string, arg any) (wxlogin.Session, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	s, err := scanSession(db.pool.QueryRow(ctx, query, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return wxlogin.Session{}, notFound("session")
	}
	if err != nil {
		return wxlogin.Session{}, storeError(op, err)
	}
	return s, nil
}

// UserSessions implements wxlogin.SessionStore.
func (db *DB) UserSessions(ctx context.Context, userID string) ([]wxlogin.Session, error) {
	return queryAll(ctx, db, "UserSessions", scanSession, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = $1 ORDER BY created_at, id`, userID)
}

// updateSession runs an UPDATE of one session and maps "no row" to not
// found.
func (db *DB) updateSession(ctx context.Context, op, query string, args ...any) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	tag, err := db.pool.Exec(ctx, query, args...)
	if err != nil {
		return storeError(op, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("session")
	}
	return nil
}

// TouchSession implements wxlogin.SessionStore.
func (db *DB) TouchSession(ctx context.Context, id string, lastSeen, idleExpiresAt time.Time) error {
	return db.updateSession(ctx, "TouchSession",
		`UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id = $3`, lastSeen, idleExpiresAt, id)
}

// SetSessionKey implements wxlogin.SessionStore.
func (db *DB) SetSessionKey(ctx context.Context, id string, sealed []byte) error {
	return db.updateSession(ctx, "SetSessionKey",
		`UPDATE sessions SET sealed_session_key = $1 WHERE id = $2`, sealed, id)
}

// DeleteSession implements wxlogin.SessionStore.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	_, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id)
	return storeError("DeleteSession", err)
}

// DeleteUserSessions implements wxlogin.SessionStore.
func (db *DB) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	tag, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, storeError("DeleteUserSessions", err)
	}
	return int(tag.RowsAffected()), nil
}

// DeleteExpiredSessions implements wxlogin.SessionStore. A session expires
// when now reaches the earlier of its two deadlines (wxlogin.Session.Expired).
// It deletes in batches, each its own statement and deadline.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		n, err := func() (int64, error) {
			ctx, cancel := db.bound(ctx)
			defer cancel()
			tag, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE id IN (
				SELECT id FROM sessions WHERE least(idle_expires_at, expires_at) <= $1 LIMIT $2)`,
				now, sweepBatch)
			return tag.RowsAffected(), err
		}()
		if err != nil {
			return total, storeError("DeleteExpiredSessions", err)
		}
		total += int(n)
		if n < sweepBatch {
			return total, nil
		}
	}
}

// change is a session's sealed session_key before and after resealing.
type change struct {
	id       string
	old, new []byte
}

// ResealSessionKeys implements wxlogin.SessionStore. It walks the sessions
// in id order a page at a time: reseal runs outside any transaction, and
// each page's changes are written in one transaction with a compare-and-set
// on the old value, so a SetSessionKey that lands in between is not
// overwritten. A session whose reseal fails is skipped and the walk goes
// on: one unreadable value must not keep every other session under a
// retired key. The error returned names how many failed and wraps the
// first failure.
func (db *DB) ResealSessionKeys(ctx context.Context, reseal func(sealed []byte) ([]byte, error)) (int, error) {
	var (
		changed, failed int
		firstErr        error
		after           string
	)
	for {
		page, err := queryAll(ctx, db, "ResealSessionKeys", func(r pgx.Row) (change, error) {
			var c change
			err := r.Scan(&c.id, &c.old)
			return c, err
		}, `SELECT id, sealed_session_key FROM sessions WHERE id > $1 ORDER BY id LIMIT $2`, after, resealPage)
		if err != nil {
			return changed, err
		}
		if len(page) == 0 {
			break
		}
		after = page[len(page)-1].id
		var changes []change
		for _, c := range page {
			c.new, err = reseal(bytes.Clone(c.old))
			if err != nil {
				if failed == 0 {
					firstErr = fmt.Errorf("session %s: %w", c.id, err)
				}
				failed++
				continue
			}
			if !bytes.Equal(c.new, c.old) {
				changes = append(changes, c)
			}
		}
		n, err := db.writeResealed(ctx, changes)
		changed += n
		if err != nil {
			return changed, storeError("ResealSessionKeys", err)
		}
	}
	if failed > 0 {
		return changed, fmt.Errorf("pgstore: ResealSessionKeys: %d sessions left as they were, first %w", failed, firstErr)
	}
	return changed, nil
}

// writeResealed stores resealed values in one transaction, each only if the
// session still holds the value that was resealed.
func (db *DB) writeResealed(ctx context.Context, changes []change) (int, error) {
	if len(changes) == 0 {
		return 0, nil
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	total := 0
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		total = 0 // counted anew if the transaction runs again
		batch := &pgx.Batch{}
		for _, c := range changes {
			batch.Queue(`UPDATE sessions SET sealed_session_key = $1
				WHERE id = $2 AND sealed_session_key IS NOT DISTINCT FROM $3`, c.new, c.id, c.old)
		}
		res := tx.SendBatch(ctx, batch)
		for range changes {
			tag, err := res.Exec()
			if err != nil {
				res.Close()
				return err
			}
			total += int(tag.RowsAffected())
		}
		return res.Close()
	})
	if err != nil {
		return 0, err
	}
	return total, nil
}
