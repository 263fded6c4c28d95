package httpapi_test

// The stores an end-to-end world runs on: the end-to-end tests run once on
// SQLite and once on PostgreSQL (each world in a schema of its own), and the
// helpers here read what each store holds underneath the store's methods.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/store/pgstore"
	"github.com/wxlogin/wxlogin/store/sqlitestore"
)

// storeKind names the store of record a world runs on.
type storeKind string

const (
	onSQLite   storeKind = "sqlite"
	onPostgres storeKind = "postgres"
)

// testStore is what a world needs of its store: users and sessions, and
// Close to make it fail as a store that went away.
type testStore interface {
	wxlogin.UserStore
	wxlogin.SessionStore
	Close() error
}

// eachStore runs test on SQLite and on PostgreSQL, as parallel subtests
// named after the store.
func eachStore(t *testing.T, test func(t *testing.T, kind storeKind)) {
	t.Parallel()
	for _, kind := range []storeKind{onSQLite, onPostgres} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			test(t, kind)
		})
	}
}

// postgresURL returns the test server's URL (scripts/testdb exports it). A
// test without it skips, but fails under WXLOGIN_TEST_REQUIRE_TOOLS (set by
// scripts/test), so that a run that claims to test PostgreSQL does.
func postgresURL(t testing.TB) string {
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

// openStore opens the world's store: a SQLite file in a temp dir with a
// read-only connection of its own, or a fresh schema on the test PostgreSQL
// with a pool of its own, dropped when the test ends. The raw connections
// see every row, whatever the store's methods would show.
func (w *world) openStore(kind storeKind) {
	t := w.t
	t.Helper()
	w.kind = kind
	switch kind {
	case onSQLite:
		w.dbDir = t.TempDir()
		db, err := sqlitestore.Open(context.Background(), filepath.Join(w.dbDir, "wxlogin.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		w.db = db
		w.raw, err = sql.Open("sqlite", "file:"+filepath.ToSlash(filepath.Join(w.dbDir, "wxlogin.db"))+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.raw.Close() })
	case onPostgres:
		url := postgresURL(t)
		schema := "e2e_" + strings.ToLower(rand.Text()[:16])
		db, err := pgstore.Open(context.Background(), url, pgstore.Options{Schema: schema, MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		w.db, w.pg = db, db
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		cfg.MaxConns = 2
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
		w.pgRaw, err = pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			db.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := w.pgRaw.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
				t.Errorf("drop schema %s: %v", schema, err)
			}
			w.pgRaw.Close()
		})
	default:
		t.Fatalf("unknown store %q", kind)
	}
}

// sessionRows returns every row of the sessions table, by id, times as
// Unix microseconds.
func (w *world) sessionRows() []sessionRow {
	w.t.Helper()
	if w.kind == onPostgres {
		rows, err := w.pgRaw.Query(context.Background(), `SELECT id, user_id, app_id, open_id, union_id,
			sealed_session_key, `+micros("created_at")+`, `+micros("last_seen_at")+`,
			`+micros("idle_expires_at")+`, `+micros("expires_at")+`, user_agent, ip FROM sessions ORDER BY id`)
		if err != nil {
			w.t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sessionRow, error) {
			var s sessionRow
			err := r.Scan(&s.ID, &s.UserID, &s.AppID, &s.OpenID, &s.UnionID, &s.SealedSessionKey,
				&s.CreatedAt, &s.LastSeenAt, &s.IdleExpiresAt, &s.ExpiresAt, &s.UserAgent, &s.IP)
			return s, err
		})
		if err != nil {
			w.t.Fatal(err)
		}
		return out
	}
	rows, err := w.raw.Query(`SELECT id, user_id, app_id, open_id, union_id, sealed_session_key,
		created_at, last_seen_at, idle_expires_at, expires_at, user_agent, ip FROM sessions ORDER BY id`)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var out []sessionRow
	for rows.Next() {
		var r sessionRow
		if err := rows.Scan(&r.ID, &r.UserID, &r.AppID, &r.OpenID, &r.UnionID, &r.SealedSessionKey,
			&r.CreatedAt, &r.LastSeenAt, &r.IdleExpiresAt, &r.ExpiresAt, &r.UserAgent, &r.IP); err != nil {
			w.t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// micros is the SQL of a timestamptz column as Unix microseconds, SQLite's
// encoding of times.
func micros(col string) string {
	return fmt.Sprintf("(extract(epoch FROM %s) * 1000000)::bigint", col)
}

// rawQueryRow runs a one-row query on the raw connection; query uses ? for
// its arguments, as SQLite does.
func (w *world) rawQueryRow(query string, args ...any) interface{ Scan(...any) error } {
	w.t.Helper()
	if w.kind == onPostgres {
		n := 0
		var b strings.Builder
		for _, r := range query {
			if r == '?' {
				n++
				fmt.Fprintf(&b, "$%d", n)
				continue
			}
			b.WriteRune(r)
		}
		return w.pgRaw.QueryRow(context.Background(), b.String(), args...)
	}
	return w.raw.QueryRow(query, args...)
}

// storedData returns, by name, everything the store keeps underneath its
// methods, to search for secrets: with SQLite the bytes of its files (the
// main file, the WAL and its index); with PostgreSQL, whose files belong to
// the server, every row of every table of the world's schema in the
// server's text form (bytea as hex).
func (w *world) storedData() map[string][]byte {
	w.t.Helper()
	out := map[string][]byte{}
	if w.kind == onPostgres {
		ctx := context.Background()
		rows, err := w.pgRaw.Query(ctx, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() ORDER BY table_name`)
		if err != nil {
			w.t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(tables) == 0 {
			w.t.Fatalf("the schema has no tables (%v)", err)
		}
		for _, table := range tables {
			rows, err := w.pgRaw.Query(ctx, `SELECT t::text FROM `+pgx.Identifier{table}.Sanitize()+` t`)
			if err != nil {
				w.t.Fatal(err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				w.t.Fatal(err)
			}
			out["table "+table] = []byte(strings.Join(lines, "\n"))
		}
		return out
	}
	files, err := filepath.Glob(filepath.Join(w.dbDir, "*"))
	if err != nil || len(files) == 0 {
		w.t.Fatalf("no database files in %s (%v)", w.dbDir, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			w.t.Fatal(err)
		}
		out[filepath.Base(f)] = data
	}
	return out
}

// blobCount is how many avatars the world's blob store holds: files in the
// folder withBlobs made, or rows of the blobs table.
func (w *world) blobCount() int {
	w.t.Helper()
	if w.kind == onPostgres {
		var n int
		if err := w.pgRaw.QueryRow(context.Background(), `SELECT count(*) FROM blobs`).Scan(&n); err != nil {
			w.t.Fatal(err)
		}
		return n
	}
	entries, err := os.ReadDir(w.blobDir)
	if err != nil {
		w.t.Fatal(err)
	}
	return len(entries)
}
