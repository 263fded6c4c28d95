package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// seedSession stores a user and a session of it and returns the session.
func seedSession(t *testing.T, db *DB, id string) wxlogin.Session {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	u, _, err := db.EnsureUser(t.Context(), wxlogin.User{ID: "usr_" + id, AppID: "wxapp", OpenID: "o_" + id, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatalf("EnsureUser: %v", err)
	}
	s := wxlogin.Session{ID: "ses_" + id, UserID: u.ID, AppID: "wxapp", OpenID: u.OpenID,
		CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
	copy(s.TokenHash[:], id+"________________________________")
	if err := db.CreateSession(t.Context(), s); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return s
}

// TestFileGone: once the database file is deleted or replaced under the
// store, every write fails as unavailable (none is acknowledged into the
// unlinked file) and CheckWrite names the file, while reads keep working.
func TestFileGone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, path string)
	}{
		{"deleted", func(t *testing.T, path string) {
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					t.Fatal(err)
				}
			}
		}},
		{"replaced", func(t *testing.T, path string) {
			other := filepath.Join(filepath.Dir(path), "other.db")
			if err := os.WriteFile(other, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(other, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"wal deleted", func(t *testing.T, path string) {
			if err := os.Remove(path + "-wal"); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := newDB(t)
			s := seedSession(t, db, "a")
			if err := db.CheckWrite(t.Context()); err != nil {
				t.Fatalf("CheckWrite before: %v", err)
			}
			tc.break_(t, db.Path())

			err := db.CheckWrite(t.Context())
			if !errors.Is(err, wxlogin.ErrUnavailable) {
				t.Fatalf("CheckWrite = %v, want ErrUnavailable", err)
			}
			t.Logf("CheckWrite: %v", err)
			now := time.Now()
			writes := map[string]error{
				"TouchSession":  db.TouchSession(t.Context(), s.ID, now, now.Add(time.Hour)),
				"DeleteSession": db.DeleteSession(t.Context(), s.ID),
				"DeleteUser":    db.DeleteUser(t.Context(), s.UserID),
			}
			_, _, writes["EnsureUser"] = db.EnsureUser(t.Context(), wxlogin.User{ID: "usr_b", AppID: "wxapp", OpenID: "o_b"})
			for op, err := range writes {
				if !errors.Is(err, wxlogin.ErrUnavailable) {
					t.Errorf("%s = %v, want ErrUnavailable", op, err)
				}
			}
		})
	}
}

// TestWriteLockHeld: another process holding the write lock makes
// CheckWrite and writes fail as unavailable by their context's deadline,
// not after the busy timeout.
func TestWriteLockHeld(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	s := seedSession(t, db, "a")
	other, err := sql.Open("sqlite", dsn(db.Path(), true))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetMaxOpenConns(1)
	tx, err := other.BeginTx(t.Context(), nil) // BEGIN IMMEDIATE
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := db.CheckWrite(ctx); !errors.Is(err, wxlogin.ErrUnavailable) {
		t.Fatalf("CheckWrite = %v, want ErrUnavailable", err)
	}
	// The deadline, not the busy timeout, must end the wait.
	if elapsed := time.Since(start); elapsed >= busyTimeout {
		t.Fatalf("CheckWrite waited %v, the whole busy timeout", elapsed)
	}
	ctx2, cancel2 := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel2()
	if err := db.DeleteSession(ctx2, s.ID); !errors.Is(err, wxlogin.ErrUnavailable) {
		t.Fatalf("DeleteSession = %v, want ErrUnavailable", err)
	}
	if _, err := db.SessionByToken(t.Context(), s.TokenHash); err != nil {
		t.Fatalf("SessionByToken while locked: %v", err)
	}
	tx.Rollback()
	if err := db.CheckWrite(t.Context()); err != nil {
		t.Fatalf("CheckWrite after the lock is released: %v", err)
	}
}

// TestErrorClasses: a constraint violation is a conflict.
func TestErrorClasses(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	s := seedSession(t, db, "a")
	s.TokenHash[0] ^= 1 // same id, another token
	if err := db.CreateSession(t.Context(), s); !errors.Is(err, wxlogin.ErrConflict) {
		t.Fatalf("CreateSession of a stored id = %v, want ErrConflict", err)
	}
}

// TestWriteDeadline: a write's budget is the busy timeout, cut short so
// that a context's deadline leaves its caller a margin to answer in.
func TestWriteDeadline(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		deadline time.Duration // 0: none
		want     time.Duration
	}{
		{"no deadline", 0, busyTimeout},
		{"request deadline (20 s)", 20 * time.Second, busyTimeout},
		{"just over the busy timeout", busyTimeout + time.Second, busyTimeout},
		{"4 s left", 4 * time.Second, 4*time.Second - 200*time.Millisecond},
		{"1 s left (the write check)", time.Second, 950 * time.Millisecond},
		{"deadline passed", -time.Second, -time.Second},
	} {
		ctx := context.Background()
		if tc.deadline != 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, now.Add(tc.deadline))
			defer cancel()
		}
		if got := writeDeadline(ctx, now).Sub(now); got != tc.want {
			t.Errorf("%s: budget %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestQueuedWritesAnswerInTime: while another process holds the write lock,
// writes queued behind each other for the one write connection each give up
// within their own budget: before their context's deadline, and within one
// busy timeout of asking, never after the busy timeout of the write ahead
// of them and then their own.
func TestQueuedWritesAnswerInTime(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits out the busy timeout")
	}
	t.Parallel()
	db := newDB(t)
	s := seedSession(t, db, "q")
	other, err := sql.Open("sqlite", dsn(db.Path(), true))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetMaxOpenConns(1)
	tx, err := other.BeginTx(t.Context(), nil) // BEGIN IMMEDIATE
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()

	type write struct {
		name    string
		timeout time.Duration // the caller's deadline
		do      func(ctx context.Context) error
	}
	now := time.Now().UTC()
	writes := []write{
		{"delete, 25 s deadline", 25 * time.Second, func(ctx context.Context) error { return db.DeleteSession(ctx, s.ID) }},
		{"touch, 25 s deadline", 25 * time.Second, func(ctx context.Context) error {
			return db.TouchSession(ctx, s.ID, now, now.Add(time.Hour))
		}},
		{"ensure user, 25 s deadline", 25 * time.Second, func(ctx context.Context) error {
			_, _, err := db.EnsureUser(ctx, wxlogin.User{ID: "usr_new", AppID: "wxapp", OpenID: "o_new", CreatedAt: now, UpdatedAt: now})
			return err
		}},
		{"delete, 4 s deadline", 4 * time.Second, func(ctx context.Context) error { return db.DeleteSession(ctx, s.ID) }},
		{"delete user's sessions, 4 s deadline", 4 * time.Second, func(ctx context.Context) error {
			_, err := db.DeleteUserSessions(ctx, s.UserID)
			return err
		}},
	}
	errs := make(chan error, len(writes))
	for i, w := range writes {
		go func() {
			// One after the other, so that they queue.
			time.Sleep(time.Duration(i) * 50 * time.Millisecond)
			start := time.Now()
			ctx, cancel := context.WithTimeout(t.Context(), w.timeout)
			defer cancel()
			deadline, _ := ctx.Deadline()
			err := w.do(ctx)
			took, at := time.Since(start), time.Now()
			switch {
			case !errors.Is(err, wxlogin.ErrUnavailable):
				errs <- fmt.Errorf("%s: %v, want ErrUnavailable", w.name, err)
			case !at.Before(deadline):
				errs <- fmt.Errorf("%s: gave up after %v, at its deadline (%v) or later", w.name, took, w.timeout)
			case took > busyTimeout+3*time.Second:
				// The slack is for a loaded machine; two busy timeouts
				// in turn would be twice as long.
				errs <- fmt.Errorf("%s: gave up after %v, more than one busy timeout (%v)", w.name, took, busyTimeout)
			default:
				errs <- nil
			}
		}()
	}
	for range writes {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	tx.Rollback()
	if err := db.DeleteSession(t.Context(), s.ID); err != nil {
		t.Fatalf("a write after the lock is released: %v", err)
	}
}
