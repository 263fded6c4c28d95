package sqlitestore

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOpenRefusesNewerSchema records a migration this build does not embed,
// as a newer wxlogin would have, and checks that Open and Migrate refuse
// the database while KnownMigrations still lists only what is embedded.
func TestOpenRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "wx.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	names, err := migrationNames()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(names, db.KnownMigrations()); diff != "" {
		t.Errorf("KnownMigrations (-embedded +got):\n%s", diff)
	}
	const future = "9999_from_a_newer_wxlogin"
	if _, err := db.write.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, 0)`, future); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err == nil || !strings.Contains(err.Error(), future) || !strings.Contains(err.Error(), "newer wxlogin") {
		t.Errorf("Migrate on a newer schema: %v, want an error naming %s and a newer wxlogin", err, future)
	}
	db.Close()
	if db, err := Open(ctx, path); err == nil {
		db.Close()
		t.Fatal("Open of a database a newer wxlogin migrated: nil error")
	} else if !strings.Contains(err.Error(), future) {
		t.Errorf("Open: %v, want the unknown migration named", err)
	}
	// Without migrating, the database opens and reports what it holds.
	db, err = OpenOptions(ctx, path, Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.AppliedMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(append(names, future), got); diff != "" {
		t.Errorf("AppliedMigrations (-want +got):\n%s", diff)
	}
}
