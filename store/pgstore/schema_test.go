package pgstore

import (
	"crypto/rand"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOpenRefusesNewerSchema records a migration this build does not embed,
// as a newer wxlogin would have, and checks that Open refuses the schema,
// while a database never migrated reports no applied migrations.
func TestOpenRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	schema := "t_" + strings.ToLower(rand.Text()[:16])
	fresh, err := Connect(ctx, testURL(t), Options{Schema: schema, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if got, err := fresh.AppliedMigrations(ctx); err != nil || len(got) != 0 {
		t.Errorf("AppliedMigrations before Migrate: %v, %v; want none", got, err)
	}

	db := openSchema(t, schema)
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var embedded []string
	for _, f := range files {
		embedded = append(embedded, strings.TrimPrefix(f, "migrations/"))
	}
	slices.Sort(embedded)
	if diff := cmp.Diff(embedded, db.KnownMigrations()); diff != "" {
		t.Errorf("KnownMigrations (-embedded +got):\n%s", diff)
	}
	const future = "9999_from_a_newer_wxlogin.sql"
	if _, err := db.pool.Exec(ctx, `INSERT INTO schema_migrations (name) VALUES ($1)`, future); err != nil {
		t.Fatal(err)
	}
	if again, err := Open(ctx, testURL(t), Options{Schema: schema, MaxConns: 2}); err == nil {
		again.Close()
		t.Fatal("Open of a schema a newer wxlogin migrated: nil error")
	} else if !strings.Contains(err.Error(), future) || !strings.Contains(err.Error(), "newer wxlogin") {
		t.Errorf("Open: %v, want an error naming %s and a newer wxlogin", err, future)
	}
	got, err := db.AppliedMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(append(embedded, future), got); diff != "" {
		t.Errorf("AppliedMigrations (-want +got):\n%s", diff)
	}
}
