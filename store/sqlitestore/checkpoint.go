package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
// So the write connection never checkpoints (wal_autocheckpoint=0). The
// checkpointer, a goroutine with a connection of its own, runs a PASSIVE
// checkpoint every policy.every (one with nothing to copy costs a few
// microseconds and no fsync). PASSIVE takes no write lock: writers go on
// while it copies.
//
// A PASSIVE checkpoint alone does not bound the WAL. It copies up to the
// last commit it saw, and the next writer starts the WAL afresh only if
// nothing was appended meanwhile, which a steady stream of writes (a long
// sweep beside logins) never allows. So once the WAL is longer than
// policy.restartPages, the checkpointer asks the committer for an idle turn
// (no login queued, see idleWrite) and copies the rest on the write
// connection, where no writer can append: little, since the background
// checkpoint has just copied the bulk. The next write then starts the WAL
// from its beginning, and journal_size_limit truncates the file back to
// policy.sizeLimit.
//
// Durability is unchanged: every commit still fsyncs the WAL
// (synchronous=FULL), and the checkpoint connection, also FULL, fsyncs the
// database file before any copied page of the WAL can be overwritten.

// errCheckpointBusy: a checkpoint found another one under way.
var errCheckpointBusy = errors.New("sqlitestore: checkpoint: another checkpoint is under way")

// checkpointPolicy sets when the checkpointer runs.
type checkpointPolicy struct {
	// every is how often it checkpoints; negative: never (tests).
	every time.Duration
	// restartPages is the WAL length, in pages, past which it copies the
	// rest on the write connection so that the WAL starts afresh.
	restartPages int
}

// defaultCheckpoints: at most a fifth of a second of writes between
// checkpoints; a WAL of 4,096 pages (16 MiB) is restarted. A longer WAL
// between restarts means fewer copies of the pages a sweep touches again
// and again (a session's index pages), and costs only disk space.
var defaultCheckpoints = checkpointPolicy{every: 200 * time.Millisecond, restartPages: 4096}

// walFrameBytes is the size of one page in the WAL: SQLite's default page
// size, which wxlogin never changes, and the frame's 24-byte header.
const walFrameBytes = 4096 + 24

// sizeLimit is the -wal file's journal_size_limit: the restart length.
func (p checkpointPolicy) sizeLimit() int64 { return int64(p.restartPages) * walFrameBytes }

// orDefault returns p, or the default policy if p is the zero value.
func (p checkpointPolicy) orDefault() checkpointPolicy {
	if p == (checkpointPolicy{}) {
		return defaultCheckpoints
	}
	return p
}

// checkpointer is the goroutine that checkpoints (see above).
type checkpointer struct {
	policy checkpointPolicy
	conn   *sql.DB // one connection, of its own
	stop   context.CancelFunc
	done   chan struct{}
}

// startCheckpointer opens the checkpointer's connection and, unless the
// policy says never, starts its goroutine.
func (db *DB) startCheckpointer(policy checkpointPolicy) error {
	conn, err := sql.Open("sqlite", dsn(db.path, false)) // query-only may checkpoint
	if err != nil {
		return err
	}
	conn.SetMaxOpenConns(1)
	conn.SetMaxIdleConns(1)
	conn.SetConnMaxLifetime(0)
	conn.SetConnMaxIdleTime(0)
	ctx, stop := context.WithCancel(context.Background())
	db.ckpt = &checkpointer{policy: policy, conn: conn, stop: stop, done: make(chan struct{})}
	if policy.every < 0 {
		close(db.ckpt.done)
		return nil
	}
	go db.checkpointLoop(ctx)
	return nil
}

// stopCheckpointer ends the goroutine and closes its connection.
func (db *DB) stopCheckpointer() error {
	if db.ckpt == nil {
		return nil
	}
	db.ckpt.stop()
	<-db.ckpt.done
	return db.ckpt.conn.Close()
}

func (db *DB) checkpointLoop(ctx context.Context) {
	defer close(db.ckpt.done)
	t := time.NewTicker(db.ckpt.policy.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		db.checkpointAndRestart(ctx)
	}
}

// checkpointAndRestart copies the WAL into the database file and, when it
// is longer than policy.restartPages, makes it start afresh (see above).
// Failures are left to the write path to report (a full disk, a read-only
// filesystem, a file deleted under the server: writes fail and say why);
// the next call tries again.
func (db *DB) checkpointAndRestart(ctx context.Context) {
	if db.file.check() != nil {
		return
	}
	wal, copied, err := db.checkpoint(ctx)
	if err != nil || wal <= db.ckpt.policy.restartPages {
		return
	}
	// What the idle turn copies, with logins waiting, is what was appended
	// since the last background checkpoint began. A long one (megabytes
	// and an fsync, on a busy disk) leaves much: run another at once while
	// the last had more than a little to copy.
	for range maxCatchUp {
		w, c, err := db.checkpoint(ctx)
		if err != nil || w < wal || w-copied < catchUpPages {
			wal = w // a restart meanwhile makes w shorter than wal
			break
		}
		wal, copied = w, c
	}
	if wal <= db.ckpt.policy.restartPages {
		return
	}
	// Even a WAL copied to its end restarts only at a write transaction
	// that began after the copy, and the sweep's transactions follow one
	// another without a gap. The idle turn makes that gap.
	wctx, cancel := context.WithTimeout(ctx, busyTimeout)
	defer cancel()
	db.idleWrite(wctx, func(ctx context.Context, conn *sql.Conn) error {
		_, _, err := walCheckpoint(ctx, conn)
		return err
	})
}

// catchUpPages: a background checkpoint that had fewer pages than this to
// copy leaves the idle turn about as few (a few tens of milliseconds of
// copying and the database file's fsync, on a slow disk).
const catchUpPages = 256

// maxCatchUp bounds the background checkpoints run back to back before an
// idle turn: with writes faster than checkpoints, the WAL must still
// restart.
const maxCatchUp = 4

// checkpoint runs one PASSIVE checkpoint on the checkpointer's connection
// and returns the WAL's length and how much of it is now copied, in pages.
func (db *DB) checkpoint(ctx context.Context) (wal, copied int, err error) {
	conn, err := db.ckpt.conn.Conn(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	return walCheckpoint(ctx, conn)
}

// walCheckpoint runs a PASSIVE checkpoint on conn: it copies what no
// reader still needs from the WAL, waiting for nothing.
func walCheckpoint(ctx context.Context, conn *sql.Conn) (wal, copied int, err error) {
	var busy int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &wal, &copied); err != nil {
		return 0, 0, fmt.Errorf("sqlitestore: checkpoint: %w", err)
	}
	if busy != 0 {
		// Another connection (another process) is checkpointing; its
		// figures are not this one's.
		return 0, 0, errCheckpointBusy
	}
	return wal, copied, nil
}
