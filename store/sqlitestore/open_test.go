package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		url     string
		want    string
		wantErr bool
	}{
		{"absolute", "sqlite:///var/lib/wxlogin/wxlogin.db", "/var/lib/wxlogin/wxlogin.db", false},
		{"relative with slashes", "sqlite://data/wxlogin.db", "data/wxlogin.db", false},
		{"relative opaque", "sqlite:wxlogin.db", "wxlogin.db", false},
		{"dot relative", "sqlite://./.wxlogin/wxlogin.db", "./.wxlogin/wxlogin.db", false},
		{"escaped space", "sqlite:///srv/my%20data/w.db", "/srv/my data/w.db", false},
		{"other scheme", "postgres://localhost/wxlogin", "", true},
		{"no scheme", "/var/lib/wxlogin.db", "", true},
		{"empty path", "sqlite://", "", true},
		{"root only", "sqlite:///", "", true},
		{"directory", "sqlite:///var/lib/", "", true},
		{"query", "sqlite:///x.db?_pragma=synchronous(OFF)", "", true},
		{"fragment", "sqlite:///x.db#frag", "", true},
		{"bad escape", "sqlite:///x%zz.db", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseURL(tt.url)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseURL(%q) = %q, %v; want error %v", tt.url, got, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseURL(%q) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}

func TestOpenURL(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "dir with ? and #", "w.db")
	db, err := OpenURL(t.Context(), "sqlite://"+strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(path, " ", "%20"), "?", "%3F"), "#", "%23"))
	if err != nil {
		t.Fatalf("OpenURL: %v", err)
	}
	defer db.Close()
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file: %v", err)
	}
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		if db, err := Open(t.Context(), path); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

// TestPragmas checks the settings the package comment promises, on a
// connection of each pool.
func TestPragmas(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	tests := []struct {
		pool   string
		db     *sql.DB
		pragma string
		want   string
	}{
		{"write", db.write, "journal_mode", "wal"},
		{"write", db.write, "synchronous", "2"}, // FULL
		{"write", db.write, "foreign_keys", "1"},
		{"write", db.write, "query_only", "0"},
		{"read", db.read, "journal_mode", "wal"},
		{"read", db.read, "synchronous", "2"},
		{"read", db.read, "foreign_keys", "1"},
		{"read", db.read, "busy_timeout", "10000"},
		{"read", db.read, "query_only", "1"},
	}
	for _, tt := range tests {
		var got string
		if err := tt.db.QueryRowContext(t.Context(), "PRAGMA "+tt.pragma).Scan(&got); err != nil {
			t.Fatalf("%s pool: PRAGMA %s: %v", tt.pool, tt.pragma, err)
		}
		if got != tt.want {
			t.Errorf("%s pool: PRAGMA %s = %q, want %q", tt.pool, tt.pragma, got, tt.want)
		}
	}
	if _, err := db.read.ExecContext(t.Context(), `DELETE FROM users`); err == nil {
		t.Errorf("a write through the read pool succeeded; want query_only to refuse it")
	}
}

// TestWriteBusyTimeout checks that a write's busy timeout is what is left of
// its budget when it gets the write connection. The write pool's setting
// is not read bare: each write (the committer's idle turns too) leaves its
// own remainder there.
func TestWriteBusyTimeout(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	for _, budget := range []time.Duration{busyTimeout, 2 * time.Second} {
		conn, err := db.writeConnUntil(t.Context(), time.Now().Add(budget))
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		err = conn.QueryRowContext(t.Context(), "PRAGMA busy_timeout").Scan(&got)
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		// The connection was had at once, so at most a few ms of the
		// budget went before the pragma was set; allow a loaded machine a
		// second.
		if most := budget.Milliseconds(); got > most || got < most-1000 {
			t.Errorf("budget %v: busy_timeout = %d ms, want within a second under %d", budget, got, most)
		}
	}
}

func TestFileMode(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	// A write creates the -wal file, which must not be more open than the
	// database itself.
	if _, _, err := db.EnsureUser(t.Context(), wxlogin.User{ID: "u1", AppID: "wx", OpenID: "o"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{db.Path(), db.Path() + "-wal"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(name), perm)
		}
	}
}

// TestQueryPlans checks that the queries that must scale use an index.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	tests := []struct {
		name  string
		query string
		args  []any
		want  string // in the plan
	}{
		{"SessionByToken", `SELECT ` + sessionColumns + ` FROM sessions WHERE token_hash = ?`,
			[]any{make([]byte, 32)}, "SEARCH sessions USING INDEX sqlite_autoindex_sessions_2 (token_hash=?)"},
		{"DeleteExpiredSessions", deleteExpiredQuery,
			// Covering: the index holds the rowids the DELETE goes by.
			[]any{int64(0), sweepChunk}, "SEARCH sessions USING COVERING INDEX sessions_deadline (<expr><?)"},
		{"UserSessions", `SELECT ` + sessionColumns + ` FROM sessions WHERE user_id = ? ORDER BY created_at, id`,
			[]any{"u"}, "SEARCH sessions USING INDEX sessions_user (user_id=?)"},
		{"EnsureUser", `SELECT ` + userColumns + ` FROM users WHERE app_id = ? AND open_id = ?`,
			[]any{"a", "o"}, "SEARCH users USING INDEX sqlite_autoindex_users_2 (app_id=? AND open_id=?)"},
		{"FindUsers by unionid", `SELECT ` + userColumns + ` FROM users WHERE union_id = ? AND union_id <> '' ORDER BY created_at, id LIMIT ?`,
			[]any{"x", 100}, "SEARCH users USING INDEX users_union_id (union_id=?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rows, err := db.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tt.query, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(plan, "\n"), tt.want) {
				t.Errorf("plan:\n%s\nwant it to contain %q", strings.Join(plan, "\n"), tt.want)
			}
		})
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "w.db")

	db, err := OpenOptions(ctx, path, Options{NoMigrate: true})
	if err != nil {
		t.Fatalf("OpenOptions(NoMigrate): %v", err)
	}
	defer func() { db.Close() }()
	if err := db.Ping(ctx); err == nil {
		t.Errorf("Ping before Migrate: nil, want an error (no schema)")
	}
	if _, err := db.SessionByToken(ctx, wxlogin.TokenHash{}); err == nil || errors.Is(err, wxlogin.ErrNotFound) {
		t.Errorf("SessionByToken before Migrate: %v, want a schema error", err)
	}

	names, err := migrationNames()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // the second run must change nothing
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("Migrate %d: %v", i, err)
		}
		got, err := db.AppliedMigrations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(names, got); diff != "" {
			t.Errorf("Migrate %d: applied migrations (-want +got):\n%s", i, diff)
		}
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping after Migrate: %v", err)
	}
	// The statement prepared lazily now works.
	if _, err := db.SessionByToken(ctx, wxlogin.TokenHash{}); !errors.Is(err, wxlogin.ErrNotFound) {
		t.Errorf("SessionByToken after Migrate: %v, want not found", err)
	}
	if _, _, err := db.EnsureUser(ctx, wxlogin.User{ID: "u", AppID: "wx", OpenID: "o"}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(ctx, wxlogin.Session{ID: "kept", UserID: "u"}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// Reopening, which migrates again, keeps the data.
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if _, err := db.Session(ctx, "kept"); err != nil {
		t.Errorf("Session after reopen: %v", err)
	}
}

// TestMigrateSessionsReferenceUsers upgrades a database that 0001 left with
// a session of an erased user (what the login/erase race could leave):
// 0002 drops that orphan, keeps the others, and from then on the database
// refuses orphans and deletes a user's sessions with the user.
func TestMigrateSessionsReferenceUsers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := OpenOptions(ctx, filepath.Join(t.TempDir(), "w.db"), Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	if err := db.createMigrationsTable(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.migrate(ctx, "migrations/0001_initial.sql"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	// Raw SQL: the store's own methods speak the latest schema.
	if _, err := db.write.ExecContext(ctx, `INSERT INTO users (id, app_id, open_id, created_at, updated_at, profile_updated_at)
		VALUES ('u', 'wx', 'o', ?, ?, 0)`, now.UnixMicro(), now.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	for _, s := range []wxlogin.Session{
		{ID: "kept", TokenHash: wxlogin.TokenHash{1}, UserID: "u", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		{ID: "orphan", TokenHash: wxlogin.TokenHash{2}, UserID: "erased", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
	} {
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatalf("CreateSession(%s) under 0001: %v", s.ID, err)
		}
	}

	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if _, err := db.Session(ctx, "kept"); err != nil {
		t.Errorf("the session of an existing user after 0002: %v", err)
	}
	if _, err := db.Session(ctx, "orphan"); !errors.Is(err, wxlogin.ErrNotFound) {
		t.Errorf("the session of a missing user after 0002: %v, want not found", err)
	}
	orphan := wxlogin.Session{ID: "orphan2", TokenHash: wxlogin.TokenHash{3}, UserID: "erased"}
	if err := db.CreateSession(ctx, orphan); !errors.Is(err, wxlogin.ErrNotFound) {
		t.Errorf("CreateSession(session of a missing user) after 0002: %v, want not found", err)
	}
	if err := db.DeleteUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Session(ctx, "kept"); !errors.Is(err, wxlogin.ErrNotFound) {
		t.Errorf("the session of a deleted user: %v, want not found", err)
	}
}

// TestConcurrentMigrate opens one new file from several handles at once, as
// several server processes starting together would.
func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "w.db")
	const n = 4
	dbs := make([]*DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = Open(t.Context(), path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		defer dbs[i].Close()
	}
	if t.Failed() {
		return
	}
	names, err := migrationNames()
	if err != nil {
		t.Fatal(err)
	}
	got, err := dbs[0].AppliedMigrations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("applied migrations (-want +got):\n%s", diff)
	}
}

// TestTwoHandlesWrite writes through two *DB on one file at once: their
// write pools are separate, so busy_timeout must absorb the contention
// instead of failing with SQLITE_BUSY.
func TestTwoHandlesWrite(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "w.db")
	a, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	u := wxlogin.User{ID: "u", AppID: "wx", OpenID: "o", CreatedAt: time.Unix(0, 0)}
	if _, _, err := a.EnsureUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	const perHandle = 20
	errs := make(chan error, 2*perHandle)
	var wg sync.WaitGroup
	for _, db := range []*DB{a, b} {
		for range perHandle {
			wg.Go(func() {
				_, err := db.UpdateUser(ctx, "u", func(u *wxlogin.User) error {
					u.Profile.Nickname += "x"
					return nil
				})
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("UpdateUser: %v", err)
		}
	}
	got, err := b.User(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Profile.Nickname) != 2*perHandle {
		t.Errorf("nickname has %d updates, want %d", len(got.Profile.Nickname), 2*perHandle)
	}
}

// TestUpdateUserContextWhileQueued checks that a writer queued behind a
// busy write connection gives up when its context ends.
func TestUpdateUserContextWhileQueued(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	ctx := t.Context()
	if _, _, err := db.EnsureUser(ctx, wxlogin.User{ID: "u", AppID: "wx", OpenID: "o"}); err != nil {
		t.Fatal(err)
	}
	inside := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := db.UpdateUser(ctx, "u", func(*wxlogin.User) error {
			close(inside)
			<-release
			return nil
		})
		done <- err
	}()
	<-inside
	queued, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.DeleteSession(queued, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("DeleteSession with a cancelled context while the writer is busy: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("UpdateUser: %v", err)
	}
}

func migrationNames() ([]string, error) {
	entries, err := migrations.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".sql"))
	}
	return names, nil
}

// FuzzParseURL checks that ParseURL never panics and that what it accepts
// is a usable file path: not empty, not a directory, and what follows the
// scheme once percent-escapes are decoded.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"sqlite:///var/lib/w.db", "sqlite://rel/w.db", "sqlite:w.db", "sqlite:///a%2Fb", "sqlite://%", "postgres://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		path, err := ParseURL(raw)
		if err != nil {
			return
		}
		if !strings.HasPrefix(raw, "sqlite:") {
			t.Errorf("ParseURL(%q) accepted another scheme", raw)
		}
		if path == "" || strings.HasSuffix(path, "/") {
			t.Errorf("ParseURL(%q) = %q, not a file", raw, path)
		}
		if strings.ContainsAny(raw, "?#") {
			t.Errorf("ParseURL(%q) accepted a query or fragment", raw)
		}
	})
}
