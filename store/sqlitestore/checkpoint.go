package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"
)

// Checkpoints. In WAL mode a commit appends pages to the -wal file; a
// checkpoint copies them into the database file and fsyncs it, and the WAL
// starts again from its beginning only once all of it was copied. SQLite's
// default runs that checkpoint inside whichever commit takes the WAL past
// 1,000 pages. During a sweep of many expired sessions that is every few
// batches, and such a commit copies megabytes and waits for the database
// file's fsync while the logins queued behind it wait too (the slowest
// logins measured beside a sweep of a million sessions were all waiting on
// one; docs/BENCHMARKS.md has the figures).
//
// So no commit checkpoints (wal_autocheckpoint=0 on the write connection).
// The checkpointer, a goroutine, asks the committer every policy.every for
// an idle turn (no login queued, see idleWrite) once the WAL has changed,
// and runs a PASSIVE checkpoint on the write connection. The sweep asks for
// one after every sweepBatch sessions it deleted, so what a checkpoint
// copies stays a few hundred pages: a login that queues meanwhile waits for
// that much, never for a commit of its own that copies megabytes.
//
// Why on the write connection, in a turn of its own, rather than beside the
// writers on a connection of another (PASSIVE takes no write lock): measured
// beside a sweep, the database file's fsync of a background checkpoint held
// up the WAL fsyncs of the commits running meanwhile (same disk) for as long
// as it lasted, up to hundreds of milliseconds, and a WAL that writers
// append to without pause is never wholly copied, so it never starts
// afresh. In the idle turn no writer appends: the checkpoint copies all
// that no reader still needs, the next write starts the WAL from its
// beginning (which bounds it), and journal_size_limit cuts the file back to
// policy.walLimitPages.
//
// Durability is unchanged: every commit still fsyncs the WAL
// (synchronous=FULL), and the checkpoint fsyncs the database file before
// any copied page of the WAL can be overwritten.

// checkpointPolicy sets when the checkpointer runs.
type checkpointPolicy struct {
	// every is how often it checkpoints a WAL that changed; negative:
	// never, and the sweep and Import do not either (tests).
	every time.Duration
	// walLimitPages is the -wal file's journal_size_limit, in pages: the
	// size it is cut back to when the WAL starts afresh after a burst.
	walLimitPages int
}

// defaultCheckpoints: at most a fifth of a second of logins between
// checkpoints; the -wal file kept at no more than 16 MiB once a burst (a
// sweep, an import) is over.
var defaultCheckpoints = checkpointPolicy{every: 200 * time.Millisecond, walLimitPages: 4096}

// walFrameBytes is the size of one page in the WAL: SQLite's default page
// size, which wxlogin never changes, and the frame's 24-byte header.
const walFrameBytes = 4096 + 24

// sizeLimit is the -wal file's journal_size_limit in bytes.
func (p checkpointPolicy) sizeLimit() int64 { return int64(p.walLimitPages) * walFrameBytes }

// orDefault returns p, or the default policy if p is the zero value.
func (p checkpointPolicy) orDefault() checkpointPolicy {
	if p == (checkpointPolicy{}) {
		return defaultCheckpoints
	}
	return p
}

// errCheckpointBusy: a checkpoint found another one under way.
var errCheckpointBusy = errors.New("sqlitestore: checkpoint: another checkpoint is under way")

// checkpointer is the goroutine that checkpoints (see above).
type checkpointer struct {
	policy checkpointPolicy
	stop   context.CancelFunc
	done   chan struct{}
}

// startCheckpointer starts the checkpointer's goroutine unless the policy
// says never.
func (db *DB) startCheckpointer(policy checkpointPolicy) {
	ctx, stop := context.WithCancel(context.Background())
	db.ckpt = &checkpointer{policy: policy, stop: stop, done: make(chan struct{})}
	if policy.every < 0 {
		close(db.ckpt.done)
		return
	}
	go db.checkpointLoop(ctx)
}

// stopCheckpointer ends the goroutine.
func (db *DB) stopCheckpointer() {
	if db.ckpt == nil {
		return
	}
	db.ckpt.stop()
	<-db.ckpt.done
}

// checkpoints reports whether anything but tests' writes checkpoints.
func (db *DB) checkpoints() bool { return db.ckpt.policy.every >= 0 }

func (db *DB) checkpointLoop(ctx context.Context) {
	defer close(db.ckpt.done)
	t := time.NewTicker(db.ckpt.policy.every)
	defer t.Stop()
	var seen time.Time // the -wal file's modification time at the last checkpoint
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Every commit writes the -wal file: an unchanged one has nothing
		// to copy, and an idle server does not take the write connection.
		fi, err := os.Stat(db.file.walPath)
		if err != nil || fi.ModTime().Equal(seen) {
			continue
		}
		// Failures are left to the write path to report (a full disk, a
		// read-only filesystem, a file deleted under the server: writes
		// fail and say why); the next tick tries again.
		if _, _, err := db.checkpoint(ctx); err == nil {
			seen = fi.ModTime()
		}
	}
}

// checkpoint runs a PASSIVE checkpoint in an idle turn of the committer,
// on the write connection, and returns the WAL's length and how much of it
// is now copied, in pages.
func (db *DB) checkpoint(ctx context.Context) (wal, copied int, err error) {
	if err := db.file.check(); err != nil {
		return 0, 0, err // nothing to save into a file no longer in place
	}
	ctx, cancel := context.WithTimeout(ctx, busyTimeout)
	defer cancel()
	err = db.idleWrite(ctx, func(ctx context.Context, conn *sql.Conn) error {
		var err error
		wal, copied, err = walCheckpoint(ctx, conn)
		return err
	})
	return wal, copied, err
}

// walCheckpoint runs a PASSIVE checkpoint on conn: it copies what no
// reader still needs from the WAL, waiting for nothing.
func walCheckpoint(ctx context.Context, conn *sql.Conn) (wal, copied int, err error) {
	var busy int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &wal, &copied); err != nil {
		return 0, 0, fmt.Errorf("sqlitestore: checkpoint: %w", err)
	}
	if busy != 0 {
		// Another process is checkpointing; its figures are not ours.
		return 0, 0, errCheckpointBusy
	}
	return wal, copied, nil
}
