package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
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
