package sqlitestore

import (
	"context"
	"database/sql"
)

// Idle writes: background work on the write connection (the sweep's
// batches, the checkpointer's restart of the WAL) that runs on the
// committer's goroutine, when no login is queued. A login waiting behind one
// waits only for what the idle write is doing at that moment: the sweep
// checks between its statements whether a login has queued (loginsWaiting)
// and then commits what it has and returns, so the login's group runs next.

// idleEvery is how many groups of logins in a row may go before a waiting
// idle write: with logins arriving all the time, a sweep still moves on.
const idleEvery = 8

// idleWrite runs run alone on the write connection in an idle turn of the
// committer, and returns run's error. run manages its own transaction and
// must use only conn and ctx (the write's budget, as with groupWrite).
func (db *DB) idleWrite(ctx context.Context, run func(ctx context.Context, conn *sql.Conn) error) error {
	return db.submit(ctx, db.group.idle, &groupWrite{alone: run})
}

// runIdle runs an idle write on the committer's goroutine.
func (db *DB) runIdle(w *groupWrite) {
	if !w.state.CompareAndSwap(writeQueued, writeTaken) {
		return // abandoned while queued
	}
	if err := db.writable(); err != nil {
		w.done <- err
		return
	}
	conn, err := db.writeConnUntil(context.Background(), w.end)
	if err != nil {
		w.done <- err
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithDeadline(context.Background(), w.end)
	defer cancel()
	w.done <- w.alone(ctx, conn)
}

// loginsWaiting reports whether a login is queued for the committer. An
// idle write calls it between its statements: it runs on the committer's
// goroutine, so nothing takes from the queue meanwhile and the answer
// stays true until the idle write returns.
func (db *DB) loginsWaiting() bool { return len(db.group.queue) > 0 }
