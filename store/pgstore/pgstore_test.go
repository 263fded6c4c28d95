package pgstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/auth/coordtest"
	"github.com/wxlogin/wxlogin/store/storetest"
)

// testURL returns the test server's URL (scripts/testdb exports it). A
// test without it skips, but fails under WXLOGIN_TEST_REQUIRE_TOOLS (set by
// scripts/test) so that a CI run never passes without PostgreSQL.
func testURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("WXLOGIN_TEST_POSTGRES")
	if u == "" {
		if os.Getenv("WXLOGIN_TEST_REQUIRE_TOOLS") != "" {
			t.Fatal("WXLOGIN_TEST_POSTGRES is not set, and WXLOGIN_TEST_REQUIRE_TOOLS is set (run scripts/test, which starts PostgreSQL)")
		}
		t.Skip("WXLOGIN_TEST_POSTGRES is not set (scripts/test starts a PostgreSQL and sets it)")
	}
	return u
}

// newDB opens a migrated store in a schema of its own, dropped when the
// test ends.
func newDB(t testing.TB) *DB {
	t.Helper()
	return openSchema(t, "t_"+strings.ToLower(rand.Text()[:16]))
}

func openSchema(t testing.TB, schema string) *DB {
	t.Helper()
	url := testURL(t)
	db, err := Open(t.Context(), url, Options{Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := db.pool.Exec(ctx, fmt.Sprintf(`DROP SCHEMA %q CASCADE`, schema)); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		db.Close()
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

func TestBlobStore(t *testing.T) {
	t.Parallel()
	storetest.RunBlobStoreTests(t, func(t *testing.T) wxlogin.BlobStore { return newDB(t) })
}

// TestSharedStore runs every suite against one schema at once, as several
// tests share a production database: the suites' random ids keep them
// apart.
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
	t.Run("blobs", func(t *testing.T) {
		t.Parallel()
		storetest.RunBlobStoreTests(t, func(*testing.T) wxlogin.BlobStore { return db })
	})
}

// TestPasswordOnlyOutsideURL checks that a URL carrying a password is
// refused without repeating it.
func TestPasswordOnlyOutsideURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"postgres://wx:hunter2-secret@db/wx",
		"postgres://wx@db/wx?password=hunter2-secret",
	} {
		_, err := ParseURL(u)
		if err == nil || strings.Contains(err.Error(), "hunter2-secret") {
			t.Errorf("ParseURL(%q) = %v, want an error that does not repeat the password", u, err)
		}
	}
	if _, err := ParseURL("postgres://wx@db:5432/wx?sslmode=verify-full"); err != nil {
		t.Errorf("ParseURL of a URL without a password: %v", err)
	}
}

// TestConcurrentMigrate opens one schema from several stores at once:
// the advisory lock lets each migration run once, and none fails.
func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	schema := "t_" + strings.ToLower(rand.Text()[:16])
	url := testURL(t)
	all, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			db, err := Open(t.Context(), url, Options{Schema: schema, MaxConns: 2})
			if err == nil {
				var names []string
				names, err = db.AppliedMigrations(t.Context())
				if err == nil && len(names) != len(all) {
					err = fmt.Errorf("applied migrations %v, want %d", names, len(all))
				}
				db.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
	openSchema(t, schema) // drops the schema when the test ends
}

func TestRevocationLogConformance(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	coordtest.RunRevocationsTests(t, func(t *testing.T) auth.Revocations {
		return db.RevocationLog(RevocationLogOptions{Poll: 20 * time.Millisecond})
	})
}

func TestOutboxStore(t *testing.T) {
	t.Parallel()
	storetest.RunOutboxStoreTests(t, func(t *testing.T) storetest.OutboxStore { return newDB(t) })
}

// TestSharedOutboxStore runs the outbox suite on one schema, as instances
// share one database.
func TestSharedOutboxStore(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	storetest.RunOutboxStoreTests(t, func(*testing.T) storetest.OutboxStore { return db })
}
