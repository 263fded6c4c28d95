package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// A write waits twice: in database/sql's queue for the single write
// connection, then, holding it, for SQLite's write lock when another
// process has it (SQLite's busy timeout). Were the two bounded apart, a
// write queued behind one stuck on another process's lock would wait out
// that write's busy timeout and then its own: 20 s for the second in line,
// the whole request deadline. Instead each write gets one budget, from the
// moment it asks: at most busyTimeout, and ending a little before its
// context's deadline so that its caller can still answer (503) in time.
// The queue wait is bounded by the budget, and the busy timeout is set to
// what is left of it once the connection is had.

// answerMargin is the part of a write's remaining time kept for its caller
// to answer after the store gave up: a twentieth, at most a second.
func answerMargin(left time.Duration) time.Duration {
	return min(max(left, 0)/20, time.Second)
}

// writeDeadline is when a write asked for now under ctx must stop waiting.
func writeDeadline(ctx context.Context, now time.Time) time.Time {
	end := now.Add(busyTimeout)
	if d, ok := ctx.Deadline(); ok {
		left := d.Sub(now)
		if e := d.Add(-answerMargin(left)); e.Before(end) {
			end = e
		}
	}
	return end
}

// writeConn takes the write connection within the write's budget and sets
// SQLite's busy timeout to the rest of it. The caller closes the
// connection, which returns it to the pool.
func (db *DB) writeConn(ctx context.Context) (*sql.Conn, error) {
	return db.writeConnUntil(ctx, writeDeadline(ctx, time.Now()))
}

// writeConnUntil is writeConn with the budget ending at end.
func (db *DB) writeConnUntil(ctx context.Context, end time.Time) (*sql.Conn, error) {
	qctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	conn, err := db.write.Conn(qctx)
	if err != nil {
		return nil, err
	}
	left := time.Until(end).Milliseconds()
	if left <= 0 {
		conn.Close()
		return nil, context.DeadlineExceeded
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", left)); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// writeTx is a write transaction holding the write connection until it
// ends.
type writeTx struct {
	*sql.Tx
	conn *sql.Conn
}

// Rollback ends the transaction (a no-op after Commit) and returns the
// connection.
func (t writeTx) Rollback() error {
	err := t.Tx.Rollback()
	t.conn.Close()
	if err == sql.ErrTxDone {
		return nil
	}
	return err
}
