package sqlitestore

import (
	"path/filepath"
	"testing"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/store/storetest"
)

// newDB opens a migrated database in a fresh temporary directory, closed
// when the test ends.
func newDB(t testing.TB) *DB {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "wxlogin.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestUserStore(t *testing.T) {
	t.Parallel()
	storetest.RunUserStoreTests(t, func(t *testing.T) wxlogin.UserStore { return newDB(t) })
}

func TestSessionStore(t *testing.T) {
	t.Parallel()
	storetest.RunSessionStoreTests(t, func(t *testing.T) wxlogin.SessionStore { return newDB(t) })
}

// TestSharedStore runs both suites against one database, as a shared
// PostgreSQL server would be used: it checks that the suites' tests do not
// depend on an empty store or on each other.
func TestSharedStore(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	t.Run("users", func(t *testing.T) {
		t.Parallel()
		storetest.RunUserStoreTests(t, func(*testing.T) wxlogin.UserStore { return db })
	})
	t.Run("sessions", func(t *testing.T) {
		t.Parallel()
		storetest.RunSessionStoreTests(t, func(*testing.T) wxlogin.SessionStore { return db })
	})
}

func TestOutboxStore(t *testing.T) {
	t.Parallel()
	storetest.RunOutboxStoreTests(t, func(t *testing.T) storetest.OutboxStore { return newDB(t) })
}

// TestSharedOutboxStore runs the outbox suite on one database, as
// instances share one.
func TestSharedOutboxStore(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	storetest.RunOutboxStoreTests(t, func(*testing.T) storetest.OutboxStore { return db })
}
