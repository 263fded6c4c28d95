package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"time"
)

// Group commit. With synchronous=FULL every commit waits for an fsync, and
// SQLite commits one transaction at a time, so logins written one per
// transaction are bounded by one fsync each, however many arrive together.
// Logins instead go to one committer goroutine, which takes every login
// queued by the time it holds the write connection, runs each inside its own
// SAVEPOINT of one transaction, and commits them with one COMMIT: one fsync
// for the whole group. A login whose statements fail is rolled back to its
// savepoint alone; the others still commit. Each caller is answered only
// after the COMMIT returned, so an acknowledged login is on disk exactly as
// with a transaction of its own.

// maxGroup bounds how many writes share one transaction, so that one
// commit's WAL append (a few pages per login) stays small.
const maxGroup = 128

// Where a queued write stands. A caller may give up only while its write is
// queued; once the committer has taken it, the caller waits for the commit.
const (
	writeQueued int32 = iota
	writeTaken
	writeAbandoned
)

// errClosed answers a group write submitted to a closed DB.
var errClosed = errors.New("sql: database is closed")

// groupWrite is one write waiting for the committer.
type groupWrite struct {
	run func(ctx context.Context, tx *sql.Tx) error
	// alone, instead of run, is an idle write: it runs by itself on the
	// write connection, when no login is queued (see idleWrite).
	alone func(ctx context.Context, conn *sql.Conn) error
	end   time.Time // when its caller stops waiting while it is queued
	state atomic.Int32
	done  chan error // buffered: the committer never blocks on a caller
	// failed is set by the committer when run failed: the write was rolled
	// back to its savepoint and will not be in the commit.
	failed error
}

// committer runs group writes.
type committer struct {
	queue chan *groupWrite
	idle  chan *groupWrite // idle writes; logins go first
	stop  chan struct{}    // closed by DB.Close
	done  chan struct{}    // closed when the loop has returned

	// Counters, for tests and benchmarks: transactions committed and the
	// writes they carried.
	commits, writes atomic.Int64
}

func (db *DB) startCommitter() {
	db.group = &committer{
		queue: make(chan *groupWrite, 4*maxGroup),
		idle:  make(chan *groupWrite, 4),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go db.commitLoop()
}

// stopCommitter ends the loop once the group it is running is answered.
func (db *DB) stopCommitter() {
	if db.group == nil {
		return
	}
	db.closeOnce.Do(func() { close(db.group.stop) })
	<-db.group.done
}

// groupWrite runs run inside the committer's next transaction and returns
// once that transaction committed (nil) or run's error, or the commit's.
// run must use only tx and ctx (the transaction's, not the caller's: a
// canceled caller must not interrupt a statement other writes share).
func (db *DB) groupWrite(ctx context.Context, run func(ctx context.Context, tx *sql.Tx) error) error {
	return db.submit(ctx, db.group.queue, &groupWrite{run: run})
}

// submit queues w and waits for its result, as groupWrite describes.
func (db *DB) submit(ctx context.Context, queue chan<- *groupWrite, w *groupWrite) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.end, w.done = writeDeadline(ctx, time.Now()), make(chan error, 1)
	select {
	case queue <- w:
	case <-db.group.stop:
		return errClosed
	}
	t := time.NewTimer(time.Until(w.end))
	defer t.Stop()
	select {
	case err := <-w.done:
		return err
	case <-t.C:
	case <-ctx.Done():
	case <-db.group.done:
	}
	if w.state.CompareAndSwap(writeQueued, writeAbandoned) {
		select {
		case <-db.group.done:
			return errClosed
		default:
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return context.DeadlineExceeded
	}
	return <-w.done // taken: the group's transaction bounds the wait
}

func (db *DB) commitLoop() {
	defer close(db.group.done)
	batch := make([]*groupWrite, 0, maxGroup)
	group := func(w *groupWrite) {
		batch = db.runGroup(append(batch[:0], w))
		clear(batch)
	}
	passed := 0 // groups of logins run while an idle write waited
	for {
		// Logins go first. An idle write runs when none is queued, or
		// after idleEvery groups of logins went before it, so that a
		// steady stream of logins cannot starve the sweep.
		if passed >= idleEvery {
			passed = 0
			select {
			case w := <-db.group.idle:
				db.runIdle(w)
				continue
			default:
			}
		}
		select {
		case w := <-db.group.queue:
			if len(db.group.idle) > 0 {
				passed++
			}
			group(w)
			continue
		default:
		}
		select {
		case w := <-db.group.queue:
			group(w)
		case w := <-db.group.idle:
			passed = 0
			db.runIdle(w)
		case <-db.group.stop:
			for {
				select {
				case w := <-db.group.queue:
					answer(w, errClosed)
				case w := <-db.group.idle:
					answer(w, errClosed)
				default:
					return
				}
			}
		}
	}
}

// answer gives a write its result if its caller is still waiting.
func answer(w *groupWrite, err error) {
	if w.state.CompareAndSwap(writeQueued, writeTaken) {
		w.done <- err
	}
}

// runGroup takes the write connection for the first write of batch, adds
// every write queued meanwhile, and runs them in one transaction. It
// returns the batch for reuse.
func (db *DB) runGroup(batch []*groupWrite) []*groupWrite {
	first := batch[0]
	if first.state.Load() != writeQueued {
		return batch // abandoned while queued
	}
	if err := db.writable(); err != nil {
		answer(first, err)
		return batch
	}
	conn, err := db.writeConnUntil(context.Background(), first.end)
	if err != nil {
		answer(first, err)
		return batch
	}
	defer conn.Close()
	// Everything that queued while the connection was busy joins: that is
	// the group. The transaction is bounded by the latest caller's budget.
	end := first.end
collect:
	for len(batch) < maxGroup {
		select {
		case w := <-db.group.queue:
			batch = append(batch, w)
			if w.end.After(end) {
				end = w.end
			}
		default:
			break collect
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE (see dsn)
	if err != nil {
		for _, w := range batch {
			answer(w, err)
		}
		return batch
	}
	defer tx.Rollback()
	// The writes' statements run under a context that cannot end. The
	// deadline bounds the waits (for the connection above, for another
	// process's lock in BEGIN) and the transaction itself (database/sql
	// rolls it back when ctx ends); a statement of a login is a few
	// B-tree steps that no deadline shortens. The driver starts a watcher
	// goroutine for every statement whose context can end: four or five
	// per login, which this spares.
	stmtCtx := context.WithoutCancel(ctx)

	taken := batch[:0:0]
	for i, w := range batch {
		if !w.state.CompareAndSwap(writeQueued, writeTaken) {
			continue // its caller gave up before it started
		}
		taken = append(taken, w)
		if err := db.runSavepoint(stmtCtx, tx, w); err != nil {
			// The transaction is gone (SQLite rolls back the whole of it
			// on some errors, such as a full disk): nothing of the group
			// will be committed, and what is still queued runs in the
			// next group.
			for _, w := range taken {
				w.done <- err
			}
			for _, w := range batch[i+1:] {
				select {
				case db.group.queue <- w:
				default:
					answer(w, err)
				}
			}
			return batch
		}
	}
	if len(taken) == 0 {
		return batch
	}
	err = db.file.check()
	if err == nil {
		err = tx.Commit()
	}
	if err == nil {
		err = db.file.check()
	}
	if err == nil {
		db.group.commits.Add(1)
		db.group.writes.Add(int64(len(taken)))
	}
	for _, w := range taken {
		switch {
		case w.failed != nil:
			w.done <- w.failed
		default:
			w.done <- err
		}
	}
	return batch
}

// runSavepoint runs one write inside a savepoint of tx. A write that fails
// is rolled back to its savepoint and records its error in w.failed; the
// error returned is only that of the savepoint statements themselves, after
// which the transaction cannot be trusted.
func (db *DB) runSavepoint(ctx context.Context, tx *sql.Tx, w *groupWrite) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
		return err
	}
	if err := w.run(ctx, tx); err != nil {
		w.failed = err
		if _, err := tx.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, "RELEASE w")
	return err
}

// GroupStats reports how many group transactions committed and how many
// writes they carried: writes/commits is the average group size.
func (db *DB) GroupStats() (commits, writes int64) {
	return db.group.commits.Load(), db.group.writes.Load()
}
