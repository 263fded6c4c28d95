package main

import (
	"context"
	"database/sql"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/keyring"
)

// TestMigrationsUnderControl walks a deployment that migrates as its own
// step, on each store: migrate --status on a new store lists every
// migration as pending (exit 3), serve --no-migrate refuses it with one
// line, migrate applies them, --status then says up to date (exit 0),
// serve --no-migrate serves; and once a newer wxlogin has recorded a
// migration this build does not know, status (exit 1), migrate and serve
// with or without --no-migrate all refuse the store.
func TestMigrationsUnderControl(t *testing.T) {
	t.Parallel()
	type store struct {
		url    string
		future string
		// record writes a migration row as a newer wxlogin would.
		record func(t *testing.T)
	}
	stores := map[string]func(t *testing.T) store{
		"sqlite": func(t *testing.T) store {
			path := filepath.Join(t.TempDir(), "wx.db")
			const future = "9999_from_a_newer_wxlogin"
			return store{"sqlite://" + path, future, func(t *testing.T) {
				db, err := sql.Open("sqlite", path)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				if _, err := db.ExecContext(t.Context(), `INSERT INTO schema_migrations (name, applied_at) VALUES (?, 0)`, future); err != nil {
					t.Fatal(err)
				}
			}}
		},
		"postgres": func(t *testing.T) store {
			u := newPostgresDB(t, testPostgresURL(t))
			const future = "9999_from_a_newer_wxlogin.sql"
			return store{u, future, func(t *testing.T) {
				conn, err := pgx.Connect(t.Context(), u)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(context.Background())
				if _, err := conn.Exec(t.Context(), `INSERT INTO schema_migrations (name) VALUES ($1)`, future); err != nil {
					t.Fatal(err)
				}
			}}
		},
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := newStore(t)
			em := emulator.New(emulator.DevApps()...)
			wechat := httptest.NewServer(em)
			defer wechat.Close()
			app := emulator.DevApps()[1]
			vars := serveEnv(st.url, wechat.URL, app, keyring.Format(keyring.Generate("k1")))

			code, out, msg := runCmd(t, vars, "migrate", "--status")
			if code != statusPending || strings.Contains(out, "applied  ") || !strings.Contains(out, "pending  0001_initial") {
				t.Errorf("status of a new store: exit %d, %q, %q; want %d and every migration pending", code, out, msg, statusPending)
			}
			if name == "sqlite" {
				if _, err := os.Stat(strings.TrimPrefix(st.url, "sqlite://")); !os.IsNotExist(err) {
					t.Errorf("migrate --status created the database file (stat: %v)", err)
				}
			}
			code, _, msg = runCmd(t, vars, "serve", "--no-migrate")
			if line := strings.TrimSpace(msg); code != 1 || strings.Contains(line, "\n") || !strings.Contains(line, "pending") || !strings.Contains(line, "wxlogin migrate") {
				t.Errorf("serve --no-migrate on a new store: exit %d, %q; want 1 and one line saying to run wxlogin migrate", code, line)
			}

			if code, out, msg := runCmd(t, vars, "migrate"); code != 0 || !strings.Contains(out, "applied 0001_initial") {
				t.Fatalf("migrate: exit %d, %q, %q", code, out, msg)
			}
			code, out, msg = runCmd(t, vars, "migrate", "--status")
			if code != statusUpToDate || strings.Contains(out, "pending  ") || !strings.Contains(out, "applied  0001_initial") || !strings.Contains(out, "up to date") {
				t.Errorf("status after migrate: exit %d, %q, %q; want 0 and every migration applied", code, out, msg)
			}

			api, stop, stderr := startServe(t, vars, "--no-migrate")
			token := login(t, em, api, app, "alice")
			if status, body := get(t, api+"/v1/session", token); status != 200 {
				t.Errorf("session on a server started with --no-migrate: %d %v", status, body)
			}
			if code := stop(); code != 0 {
				t.Fatalf("serve exited %d; stderr:\n%s", code, stderr.String())
			}

			st.record(t)
			code, out, _ = runCmd(t, vars, "migrate", "--status")
			if code != statusNewer || !strings.Contains(out, "unknown  "+st.future) {
				t.Errorf("status of a newer schema: exit %d, %q; want %d and %s unknown", code, out, statusNewer, st.future)
			}
			if code, _, msg := runCmd(t, vars, "migrate"); code != 1 || !strings.Contains(msg, st.future) {
				t.Errorf("migrate on a newer schema: exit %d, %q; want 1 naming %s", code, msg, st.future)
			}
			for _, flags := range [][]string{nil, {"--no-migrate"}} {
				code, _, msg := runCmd(t, vars, append([]string{"serve"}, flags...)...)
				if line := strings.TrimSpace(msg); code != 1 || strings.Contains(line, "\n") || !strings.Contains(line, st.future) || !strings.Contains(line, "newer") {
					t.Errorf("serve %v on a newer schema: exit %d, %q; want 1 and one line naming %s", flags, code, line, st.future)
				}
			}
		})
	}
}
