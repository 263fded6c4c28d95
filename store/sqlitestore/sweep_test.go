package sqlitestore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// importExpired stores n sessions of one user (created for the purpose),
// all expired an hour before now, in one transaction.
func importExpired(t *testing.T, db *DB, prefix string, n int, now time.Time) {
	t.Helper()
	u := wxlogin.User{ID: "usr_" + prefix, AppID: "wxsweep", OpenID: "o_" + prefix, CreatedAt: now, UpdatedAt: now}
	sessions := make([]wxlogin.Session, n)
	for i := range sessions {
		s := wxlogin.Session{ID: fmt.Sprintf("ses_%s_%d", prefix, i), UserID: u.ID, AppID: u.AppID, OpenID: u.OpenID,
			SealedSessionKey: make([]byte, 61), CreatedAt: now.Add(-48 * time.Hour), LastSeenAt: now.Add(-48 * time.Hour),
			IdleExpiresAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Hour), UserAgent: "sweep test", IP: "192.0.2.1"}
		copy(s.TokenHash[:], fmt.Sprintf("%s-%d________________________________", prefix, i))
		sessions[i] = s
	}
	if err := db.Import(t.Context(), []wxlogin.User{u}, sessions); err != nil {
		t.Fatal(err)
	}
}

// login stores the i-th test login: a new user and its live session.
func login(ctx context.Context, db *DB, prefix string, i int, now time.Time) error {
	u := wxlogin.User{ID: fmt.Sprintf("usr_%s_l%d", prefix, i), AppID: "wxsweep", OpenID: fmt.Sprintf("o_%s_l%d", prefix, i),
		CreatedAt: now, UpdatedAt: now}
	s := wxlogin.Session{ID: fmt.Sprintf("ses_%s_l%d", prefix, i), AppID: u.AppID, CreatedAt: now, LastSeenAt: now,
		IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(24 * time.Hour)}
	copy(s.TokenHash[:], fmt.Sprintf("%s-login-%d________________________________", prefix, i))
	_, _, err := db.EnsureUserWithSession(ctx, u, s)
	return err
}

// TestSweepYieldsToQueuedLogin: a login that queues while the sweep is
// deleting is committed before the sweep deletes anything more. The sweep
// commits what it has deleted so far (one chunk, not a whole batch), the
// login's group goes next, and only then the sweep's next transaction.
// Counted, not timed: a hook at each chunk of the sweep records how many
// sessions the transaction has deleted and how many logins are committed.
func TestSweepYieldsToQueuedLogin(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	importExpired(t, db, "y", 2*sweepBatch, now)
	// One login first, so that its statements are prepared: preparing needs
	// the write connection, which the sweep holds when the next one comes.
	if err := login(t.Context(), db, "y", 0, now); err != nil {
		t.Fatal(err)
	}
	_, writes0 := db.GroupStats()

	type chunk struct {
		deleted int   // by the transaction so far
		logins  int64 // committed since the sweep began
	}
	var (
		chunks []chunk // appended on the committer goroutine only
		queued = make(chan error, 1)
	)
	db.sweepChunkDone = func(deleted int) {
		_, writes := db.GroupStats()
		chunks = append(chunks, chunk{deleted, writes - writes0})
		if len(chunks) > 1 {
			return
		}
		go func() {
			err := login(context.Background(), db, "y", 1, now)
			queued <- err
		}()
		// The sweep holds the committer, so the login stays in its queue.
		for len(db.group.queue) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	n, err := db.DeleteExpiredSessions(t.Context(), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-queued; err != nil {
		t.Fatalf("the login queued during the sweep: %v", err)
	}
	if n != 2*sweepBatch {
		t.Errorf("swept %d sessions, want %d", n, 2*sweepBatch)
	}
	if len(chunks) < 2 {
		t.Fatalf("chunks %+v: want at least two", chunks)
	}
	if want := (chunk{sweepChunk, 0}); chunks[0] != want {
		t.Errorf("first chunk %+v, want %+v", chunks[0], want)
	}
	// The next chunk starts a new transaction (it has deleted one chunk),
	// and the login is committed by then.
	if want := (chunk{sweepChunk, 1}); chunks[1] != want {
		t.Errorf("chunk after the login queued: %+v, want %+v (the sweep's next transaction, after the login's commit)", chunks[1], want)
	}
}

// TestCommitsDoNotCheckpoint: a write transaction never copies the WAL into
// the database file, however long the WAL (SQLite's default does so in the
// commit that takes it past 1,000 pages, and the logins queued behind that
// commit wait for the copy and the database file's fsync). The
// checkpointer does it, in a turn of its own.
func TestCommitsDoNotCheckpoint(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "w.db")
	db, err := OpenOptions(t.Context(), path, Options{checkpoints: checkpointPolicy{every: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before := fileSize(t, path)
	// Several thousand pages of WAL, in one commit and in many small ones.
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	importExpired(t, db, "c", 20_000, now)
	for i := range 50 {
		if err := login(t.Context(), db, "c", i, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.DeleteExpiredSessions(t.Context(), now); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, path); got != before {
		t.Errorf("the database file went from %d to %d bytes while only writes ran; want no checkpoint in a write", before, got)
	}
	if wal := fileSize(t, path+"-wal"); wal < 4096*1000 {
		t.Fatalf("the WAL has %d bytes; want the test to write more than 1,000 pages", wal)
	}
	// The checkpointer's checkpoint copies it all.
	wal, copied, err := db.checkpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if wal == 0 || copied != wal {
		t.Errorf("checkpoint copied %d of %d pages; want all", copied, wal)
	}
	if got := fileSize(t, path); got <= before {
		t.Errorf("the database file has %d bytes after the checkpoint, %d before; want it to have grown", got, before)
	}
}

// TestWALStaysBounded: a long sweep beside a steady stream of logins never
// leaves the WAL a moment without a writer, so it never starts again from
// its beginning unless a checkpoint is given a turn of its own (a
// checkpoint beside the writers would leave it growing with every page the
// sweep writes). The -wal file must stay within a few times its size
// limit, where the same sweep without checkpoints grows it past that bound,
// and be cut back to the limit afterwards.
func TestWALStaysBounded(t *testing.T) {
	t.Parallel()
	policy := checkpointPolicy{every: 5 * time.Millisecond, walLimitPages: 128} // 512 KiB of WAL
	bound := 4 * policy.sizeLimit()
	unchecked := sweepBesideLogins(t, checkpointPolicy{every: -1}, func(string) {})
	if unchecked < bound {
		t.Fatalf("without checkpoints the sweep grows the -wal file to %d bytes; want more than the bound (%d) for the test to mean something", unchecked, bound)
	}
	got := sweepBesideLogins(t, policy, func(path string) {
		waitFor(t, "the WAL to be truncated after the sweep", func() bool {
			return fileSize(t, path+"-wal") <= policy.sizeLimit()
		})
	})
	t.Logf("the -wal file at most %d bytes with checkpoints (bound %d), %d without", got, bound, unchecked)
	if got > bound {
		t.Errorf("the -wal file reached %d bytes during the sweep; want at most %d", got, bound)
	}
}

// sweepBesideLogins sweeps 10,000 expired sessions of a store opened with
// the policy while logins go on, one after another, and returns the largest
// size of the -wal file seen during the sweep. after runs with the store
// still open and the logins still going.
func sweepBesideLogins(t *testing.T, policy checkpointPolicy, after func(path string)) int64 {
	t.Helper()
	path := filepath.Join(t.TempDir(), "w.db")
	db, err := OpenOptions(t.Context(), path, Options{checkpoints: policy})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	const sessions = 10_000
	importExpired(t, db, "b", sessions, now)
	if policy.every >= 0 {
		// The import is one transaction; the sweep starts once the WAL
		// has been restarted after it.
		i := 0
		waitFor(t, "the WAL to be truncated after the import", func() bool {
			i++
			if err := login(t.Context(), db, "pre", i, now); err != nil {
				t.Fatal(err)
			}
			return fileSize(t, path+"-wal") <= policy.sizeLimit()
		})
	}
	start := fileSize(t, path+"-wal")

	var (
		stop   = make(chan struct{})
		swept  = make(chan struct{})
		wg     sync.WaitGroup
		maxWAL atomic.Int64
	)
	wg.Add(2)
	go func() { // logins, one after another, until after has run
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := login(context.Background(), db, "b", i, now); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() { // the -wal file's size, as often as it can be read
		defer wg.Done()
		for {
			select {
			case <-swept:
				return
			default:
			}
			if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > maxWAL.Load() {
				maxWAL.Store(fi.Size())
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	n, err := db.DeleteExpiredSessions(t.Context(), now)
	close(swept)
	if err == nil {
		after(path)
	}
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if n != sessions {
		t.Errorf("swept %d sessions, want %d", n, sessions)
	}
	return max(maxWAL.Load(), start)
}

// fileSize returns the size of the file at path, 0 if there is none.
func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// waitFor polls cond until it holds, failing the test after a generous
// while: what it waits for is the checkpointer's next turns.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
