package sqlitestore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wxlogin/wxlogin"
)

const sessionColumns = `id, token_hash, user_id, app_id, open_id, union_id, sealed_session_key,
	created_at, last_seen_at, idle_expires_at, expires_at, user_agent, ip`

// sessionByTokenQuery is the verification hot path: a point query on the
// unique index of token_hash.
const sessionByTokenQuery = `SELECT ` + sessionColumns + ` FROM sessions WHERE token_hash = ?`

const (
	// sweepBatch bounds how many expired sessions one of the sweep's
	// transactions deletes: its commit appends every page the deletes
	// touched to the WAL (about one a session, for the random token-hash
	// index) and fsyncs it, and a login that queues during the commit
	// waits for it.
	sweepBatch = 250
	// sweepChunk is how many the sweep deletes per statement. Between
	// statements it gives way to a queued login (see idle.go), so a login
	// waits for at most one chunk and the commit of what was deleted.
	sweepChunk = 25
	// resealPage is how many sessions ResealSessionKeys reads and rewrites
	// per write transaction, so that a large rewrite does not hold logins
	// back.
	resealPage = 500
)

// deleteExpiredQuery deletes up to ? sessions expired at ?. A session
// expires when now reaches the earlier of its two deadlines
// (wxlogin.Session.Expired); the sessions_deadline index is on exactly that
// expression, so finding them is a range scan whatever the number of live
// sessions. Deadlines are whole microseconds, so comparing with now
// truncated to the microsecond gives the same answer as with now.
const deleteExpiredQuery = `DELETE FROM sessions WHERE rowid IN (
	SELECT rowid FROM sessions WHERE min(idle_expires_at, expires_at) <= ? LIMIT ?)`

// change is a session's sealed session_key before and after resealing.
type change struct {
	id       string
	old, new []byte
}

func scanSession(r rowScanner) (wxlogin.Session, error) {
	var (
		s                                wxlogin.Session
		hash                             []byte
		created, lastSeen, idleExp, absE int64
	)
	if err := r.Scan(&s.ID, &hash, &s.UserID, &s.AppID, &s.OpenID, &s.UnionID, &s.SealedSessionKey,
		&created, &lastSeen, &idleExp, &absE, &s.UserAgent, &s.IP); err != nil {
		return wxlogin.Session{}, err
	}
	if len(hash) != len(s.TokenHash) {
		return wxlogin.Session{}, fmt.Errorf("session %s: token hash of %d bytes", s.ID, len(hash))
	}
	copy(s.TokenHash[:], hash)
	s.CreatedAt, s.LastSeenAt = fromMicros(created), fromMicros(lastSeen)
	s.IdleExpiresAt, s.ExpiresAt = fromMicros(idleExp), fromMicros(absE)
	return s, nil
}

// execer is a *sql.DB or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

const insertSessionQuery = `INSERT INTO sessions (` + sessionColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// sessionArgs are the arguments of insertSessionQuery.
func sessionArgs(s wxlogin.Session) []any {
	return []any{s.ID, s.TokenHash[:], s.UserID, s.AppID, s.OpenID, s.UnionID, s.SealedSessionKey,
		micros(s.CreatedAt), micros(s.LastSeenAt), micros(s.IdleExpiresAt), micros(s.ExpiresAt),
		s.UserAgent, s.IP}
}

func insertSession(ctx context.Context, e execer, s wxlogin.Session) error {
	_, err := e.ExecContext(ctx, insertSessionQuery, sessionArgs(s)...)
	return err
}

// CreateSession implements wxlogin.SessionStore. A session whose id or
// token hash is already stored is rejected by the table's constraints, and
// a session of a user that does not exist (never registered, or erased
// while its login was under way) by the foreign key: that error matches
// wxlogin.ErrNotFound.
func (db *DB) CreateSession(ctx context.Context, s wxlogin.Session) error {
	if s.ID == "" {
		return errors.New("sqlitestore: CreateSession: ID is required")
	}
	err := insertSession(ctx, db.write, s)
	if isForeignKeyViolation(err) {
		return notFound("user " + s.UserID)
	}
	if err != nil {
		return storeError("CreateSession", err)
	}
	return nil
}

// SessionByToken implements wxlogin.SessionStore: one point query on the
// unique index of token_hash, through a statement prepared once, on the
// read pool (it never waits for a writer).
func (db *DB) SessionByToken(ctx context.Context, h wxlogin.TokenHash) (wxlogin.Session, error) {
	s, err := scanSession(db.queryRow(ctx, sessionByTokenQuery, h[:]))
	if errors.Is(err, sql.ErrNoRows) {
		return wxlogin.Session{}, notFound("session")
	}
	if err != nil {
		return wxlogin.Session{}, storeError("SessionByToken", err)
	}
	return s, nil
}

// Session implements wxlogin.SessionStore.
func (db *DB) Session(ctx context.Context, id string) (wxlogin.Session, error) {
	s, err := scanSession(db.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return wxlogin.Session{}, notFound("session")
	}
	if err != nil {
		return wxlogin.Session{}, storeError("Session", err)
	}
	return s, nil
}

// UserSessions implements wxlogin.SessionStore.
func (db *DB) UserSessions(ctx context.Context, userID string) ([]wxlogin.Session, error) {
	return queryAll(ctx, db, "UserSessions", scanSession, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = ? ORDER BY created_at, id`, userID)
}

// updateSession runs an UPDATE of one session by id and maps "no row" to
// not found.
func (db *DB) updateSession(ctx context.Context, op, query string, args ...any) error {
	res, err := db.exec(ctx, op, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return storeError(op, err)
	}
	if n == 0 {
		return notFound("session")
	}
	return nil
}

// TouchSession implements wxlogin.SessionStore.
func (db *DB) TouchSession(ctx context.Context, id string, lastSeen, idleExpiresAt time.Time) error {
	return db.updateSession(ctx, "TouchSession",
		`UPDATE sessions SET last_seen_at = ?, idle_expires_at = ? WHERE id = ?`,
		micros(lastSeen), micros(idleExpiresAt), id)
}

// SetSessionKey implements wxlogin.SessionStore.
func (db *DB) SetSessionKey(ctx context.Context, id string, sealed []byte) error {
	return db.updateSession(ctx, "SetSessionKey",
		`UPDATE sessions SET sealed_session_key = ? WHERE id = ?`, sealed, id)
}

// DeleteSession implements wxlogin.SessionStore.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	if _, err := db.exec(ctx, "DeleteSession", `DELETE FROM sessions WHERE id = ?`, id); err != nil {
		return err
	}
	return nil
}

// DeleteUserSessions implements wxlogin.SessionStore.
func (db *DB) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	res, err := db.exec(ctx, "DeleteUserSessions", `DELETE FROM sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, storeError("DeleteUserSessions", err)
	}
	return int(n), nil
}

// DeleteExpiredSessions implements wxlogin.SessionStore. It deletes in
// transactions of at most sweepBatch sessions, each an idle write of the
// committer: one runs only when no login is queued, and one gives way to a
// login that queues while it runs (committing what it deleted so far). So
// a sweep of a million sessions holds a login back for one chunk of deletes
// and a commit at most, and the sweep's transactions never carry a
// checkpoint (checkpoint.go). After every sweepBatch sessions the sweep has
// what it wrote checkpointed, in an idle turn of its own: it appends to the
// WAL about a page a session, and left to run ahead it would make the next
// checkpoint copy (and fsync) megabytes while logins wait.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	st, err := db.writeStmt(ctx, deleteExpiredQuery)
	if err != nil {
		return 0, storeError("DeleteExpiredSessions", err)
	}
	total, sinceCheckpoint := 0, 0
	for {
		var (
			n    int
			more bool
		)
		err := db.idleWrite(ctx, func(ctx context.Context, conn *sql.Conn) error {
			var err error
			n, more, err = db.sweepOnce(ctx, conn, st, micros(now))
			return err
		})
		if err != nil {
			return total, storeError("DeleteExpiredSessions", err)
		}
		total += n
		if !more {
			return total, nil
		}
		if sinceCheckpoint += n; sinceCheckpoint >= sweepBatch && db.checkpoints() {
			sinceCheckpoint = 0
			db.checkpoint(ctx) // a failure is the next write's to report
		}
	}
}

// sweepOnce deletes expired sessions in one transaction on conn, a chunk
// at a time, until it has deleted sweepBatch, none is left, or a login is
// waiting. more reports whether expired sessions may be left.
func (db *DB) sweepOnce(ctx context.Context, conn *sql.Conn, st *sql.Stmt, cutoff int64) (deleted int, more bool, err error) {
	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE (see dsn)
	if err != nil {
		return 0, false, err
	}
	defer tx.Rollback()
	del := tx.StmtContext(ctx, st)
	defer del.Close()
	for {
		res, err := del.ExecContext(ctx, cutoff, sweepChunk)
		if err != nil {
			return 0, false, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, false, err
		}
		deleted += int(n)
		more = n == sweepChunk
		if db.sweepChunkDone != nil {
			db.sweepChunkDone(deleted)
		}
		if !more || deleted >= sweepBatch || db.loginsWaiting() {
			break
		}
	}
	if err := db.file.check(); err != nil {
		return 0, false, err
	}
	if err := tx.Commit(); err != nil {
		return 0, false, err
	}
	if err := db.file.check(); err != nil {
		return 0, false, err
	}
	return deleted, more, nil
}

// ResealSessionKeys implements wxlogin.SessionStore. It walks the sessions
// in id order a page at a time: reseal runs outside any transaction, and each
// page's changes are written in one write transaction with a compare-and-set
// on the old value, so a SetSessionKey that lands in between is not
// overwritten. A session whose reseal fails is skipped and the walk goes on:
// one unreadable value must not keep every other session under a retired
// key. The error returned names how many failed and wraps the first failure.
func (db *DB) ResealSessionKeys(ctx context.Context, reseal func(sealed []byte) ([]byte, error)) (int, error) {
	var (
		changed, failed int
		firstErr        error
		after           string
	)
	for {
		rows, err := db.query(ctx, `SELECT id, sealed_session_key FROM sessions
			WHERE id > ? ORDER BY id LIMIT ?`, after, resealPage)
		if err != nil {
			return changed, storeError("ResealSessionKeys", err)
		}
		var page []change
		for rows.Next() {
			var c change
			if err := rows.Scan(&c.id, &c.old); err != nil {
				rows.Close()
				return changed, storeError("ResealSessionKeys", err)
			}
			page = append(page, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return changed, storeError("ResealSessionKeys", err)
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
		return changed, fmt.Errorf("sqlitestore: ResealSessionKeys: %d sessions left as they were, first %w", failed, firstErr)
	}
	return changed, nil
}

// writeResealed stores resealed values in one transaction, each only if the
// session still holds the value that was resealed.
func (db *DB) writeResealed(ctx context.Context, changes []change) (int, error) {
	if len(changes) == 0 {
		return 0, nil
	}
	tx, err := db.begin(ctx, "ResealSessionKeys")
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `UPDATE sessions SET sealed_session_key = ?
		WHERE id = ? AND sealed_session_key IS ?`)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	total := 0
	for _, c := range changes {
		res, err := st.ExecContext(ctx, c.new, c.id, c.old)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		total += int(n)
	}
	if err := db.commit(tx, "ResealSessionKeys"); err != nil {
		return 0, err
	}
	return total, nil
}
