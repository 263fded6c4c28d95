package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/keyring"
)

// TestCrashDuringLoginStorm runs a few rounds of: `wxlogin serve` on SQLite
// in a child process, a storm of concurrent logins against it, SIGKILL in
// the middle of the storm. After each kill the database must pass
// PRAGMA integrity_check and every login answered 200, in this round or an
// earlier one, must still verify on a restarted server: an acknowledged
// login is never lost.
func TestCrashDuringLoginStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: several server processes and a storm of logins")
	}
	t.Parallel()
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	app := emulator.DevApps()[0]
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "wx.db")
	cfg := filepath.Join(dir, "wxlogin.yaml")
	// The storm comes from one address and one app: the limits that would
	// refuse it are lifted, so every login reaches the store.
	if err := os.WriteFile(cfg, []byte("limits:\n  login_per_ip: {rate: -1}\n  login_per_app: {rate: -1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	envs := map[string]string{
		"WXLOGIN_CONFIG":          cfg,
		"WXLOGIN_ADDR":            "127.0.0.1:0",
		"WXLOGIN_STORE":           "sqlite://" + dbPath,
		"WXLOGIN_WECHAT_BASE_URL": wechat.URL,
		"WXLOGIN_APPS":            app.AppID,
		appSecretVar(app.AppID):   app.Secret,
		"WXLOGIN_MASTER_KEY":      keyring.Format(keyring.Generate("k1")),
		"WXLOGIN_LOG_LEVEL":       "info", // the address is logged at info
	}
	const (
		rounds     = 3
		workers    = 16
		killAfter  = 120 // acknowledged logins of a round before the kill
		maxPerTurn = 2000
	)
	client := &http.Client{Timeout: 60 * time.Second}
	var acked []string // every token answered 200, over all rounds
	var attempted, refusedAfterKill int
	integrityOK, lost := 0, 0
	for round := range rounds {
		srv := startServeChild(t, envs)
		var (
			mu      sync.Mutex
			roundOK int
			tries   atomic.Int64
			killed  atomic.Bool
			wg      sync.WaitGroup
		)
		kill := sync.OnceFunc(func() { killed.Store(true); srv.kill() })
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					if killed.Load() || tries.Add(1) > maxPerTurn {
						return
					}
					code, err := em.Login(app.AppID, fmt.Sprintf("r%d-w%d-%d", round, w, i))
					if err != nil {
						t.Error(err)
						return
					}
					req, _ := http.NewRequest("POST", srv.URL+"/v1/login", strings.NewReader(`{"code":"`+code+`"}`))
					req.Header.Set("Content-Type", "application/json")
					res, err := client.Do(req)
					if err != nil {
						if !killed.Load() {
							t.Errorf("login before the kill: %v", err)
						}
						return // the server is gone
					}
					status, body := res.StatusCode, readAll(res.Body)
					res.Body.Close()
					tok := jsonString(body, "token")
					mu.Lock()
					switch {
					case status == 200 && tok != "":
						acked = append(acked, tok)
						roundOK++
						if roundOK == killAfter {
							go kill()
						}
					case killed.Load():
						refusedAfterKill++
					default:
						t.Errorf("login answered %d %s before the kill", status, body)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		kill()
		attempted += int(min(tries.Load(), maxPerTurn))
		if roundOK < killAfter {
			t.Fatalf("round %d: only %d logins acknowledged before the storm ended; stderr:\n%s", round+1, roundOK, srv.stderr.String())
		}

		// The database as the crash left it: SQLite recovers the WAL on
		// open, and the result must be whole. A killed server leaves its
		// WAL behind, so the recovery is what is checked.
		if fi, err := os.Stat(dbPath + "-wal"); err != nil || fi.Size() == 0 {
			t.Errorf("round %d: no WAL left by the killed server (%v)", round+1, err)
		}
		if res := integrityCheck(t, dbPath); res != "ok" {
			t.Errorf("round %d: integrity_check: %s", round+1, res)
		} else {
			integrityOK++
		}

		// A new server on the same file must know every acknowledged login.
		check := startServeChild(t, envs)
		lost = 0 // of every login acknowledged so far
		for _, tok := range acked {
			req, _ := http.NewRequest("GET", check.URL+"/v1/auth", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				lost++
			}
		}
		check.kill()
		if lost > 0 {
			t.Errorf("round %d: %d of %d acknowledged logins are gone after the restart", round+1, lost, len(acked))
		}
		t.Logf("round %d: %d logins acknowledged before SIGKILL (%d so far), %d lost", round+1, roundOK, len(acked), lost)
	}
	summary("catalogue crash-storm: rounds %d (SIGKILL mid-storm), logins tried %d, acknowledged %d, lost %d, integrity_check ok %d of %d",
		rounds, attempted, len(acked), lost, integrityOK, rounds)
}

func readAll(r io.Reader) string {
	b, _ := io.ReadAll(r)
	return string(b)
}

// jsonString returns the string field name of the JSON object body, or "".
func jsonString(body, name string) string {
	var m map[string]any
	json.Unmarshal([]byte(body), &m)
	s, _ := m[name].(string)
	return s
}

// integrityCheck runs PRAGMA integrity_check on the file at path with a
// connection of its own and returns its answer ("ok" when whole).
func integrityCheck(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var lines []string
	rows, err := db.Query(`PRAGMA integrity_check`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		rows.Scan(&s)
		lines = append(lines, s)
	}
	return strings.Join(lines, "; ")
}
