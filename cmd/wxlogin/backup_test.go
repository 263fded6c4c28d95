package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/keyring"
)

// TestBackupRestoreLive runs the whole story with real processes: serve on
// SQLite takes logins and avatar uploads from several clients while
// `wxlogin backup` copies it; restore refuses the folder the live server
// holds; after the server stops, the archive is restored into a fresh
// folder and a server started there accepts the tokens issued before the
// backup (also one logged out after it: a restore brings it back) and
// serves the avatar byte for byte.
func TestBackupRestoreLive(t *testing.T) {
	t.Parallel()
	bin := buildWxlogin(t)
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	app := emulator.DevApps()[1]
	mk := keyring.Format(keyring.Generate("k1"))
	cfg := filepath.Join(t.TempDir(), "wxlogin.yaml")
	// The load comes from one address: lift the per-IP login limit.
	if err := os.WriteFile(cfg, []byte("limits:\n  login_per_ip: {rate: 10000, burst: 10000}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	liveDir := t.TempDir()
	vars := serveEnv("sqlite://"+filepath.Join(liveDir, "wx.db"), wechat.URL, app, mk)
	vars["WXLOGIN_CONFIG"] = cfg
	live := startServer(t, bin, vars, nil)

	kept := login(t, em, live.URL, app, "alice")
	avatar := uploadAvatar(t, live.URL, kept)
	before := fetch(t, live.URL+avatar)
	loggedOutLater := login(t, em, live.URL, app, "bob")

	// Load: new users logging in, each uploading an avatar and replacing
	// it, and verifications, until the backup is done.
	var (
		stop     atomic.Bool
		requests atomic.Int64
		wg       sync.WaitGroup
		failMu   sync.Mutex
		failures []string
	)
	fail := func(format string, args ...any) {
		failMu.Lock()
		defer failMu.Unlock()
		if len(failures) < 5 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				code, err := em.Login(app.AppID, fmt.Sprintf("load-%d-%d", w, i))
				if err != nil {
					fail("emulator login: %v", err)
					return
				}
				resp, err := http.Post(live.URL+"/v1/login", "application/json", strings.NewReader(`{"code":"`+code+`"}`))
				if err != nil {
					fail("login: %v", err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					fail("login during the backup: %d %s", resp.StatusCode, body)
					return
				}
				token := between(string(body), `"token":"`, `"`)
				for range 2 {
					// The server decodes as many images at once as it has
					// cores and answers 429 with Retry-After beyond that
					// (three clients, two cores here): a client waits and
					// retries, as a mini program should. Anything else is a
					// failure.
					status := 0
					for range 10 {
						req, _ := http.NewRequest(http.MethodPost, live.URL+"/v1/me/avatar", bytes.NewReader(noisePNG(t, 8)))
						req.Header.Set("Authorization", "Bearer "+token)
						req.Header.Set("Content-Type", "image/png")
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							fail("avatar: %v", err)
							return
						}
						resp.Body.Close()
						status = resp.StatusCode
						wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
						if status != http.StatusTooManyRequests || err != nil {
							break
						}
						time.Sleep(time.Duration(wait) * time.Second)
					}
					if status != 200 {
						fail("avatar upload during the backup: %d", status)
						return
					}
				}
				requests.Add(3)
			}
		}()
	}
	// The backup starts once the load is writing (a liveness bound only).
	for deadline := time.Now().Add(60 * time.Second); requests.Load() < 30 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	started := requests.Load()
	archive := filepath.Join(t.TempDir(), "wxlogin-backup.tar.gz")
	code, out := runBinary(t, bin, vars, "backup", "--to", archive)
	during := requests.Load() - started
	stop.Store(true)
	wg.Wait()
	if started < 30 {
		t.Fatalf("the load answered only %d requests within 60s; failures: %v", started, failures)
	}
	if code != 0 || !strings.Contains(out, "wrote "+archive) || !strings.Contains(out, "master key") {
		t.Fatalf("backup: exit %d:\n%s", code, out)
	}
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("backup under load: %d requests answered 200 while it ran; %s", during, strings.TrimSpace(out))
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(archive), ".wxlogin-backup-*")); len(leftovers) > 0 {
		t.Errorf("backup left %v behind", leftovers)
	}
	checkArchive(t, archive)

	req, _ := http.NewRequest(http.MethodDelete, live.URL+"/v1/session", nil)
	req.Header.Set("Authorization", "Bearer "+loggedOutLater)
	if status, body := do(t, req); status >= 300 {
		t.Fatalf("logout: %d %v", status, body)
	}

	// The live folder is held by the server.
	if code, out := runBinary(t, bin, vars, "restore", "--from", archive, "--force"); code != 1 || !strings.Contains(out, "in use") {
		t.Errorf("restore into a running server's folder: exit %d, %q; want 1 and \"in use\"", code, out)
	}
	live.stop()

	freshDir := t.TempDir()
	restoredVars := serveEnv("sqlite://"+filepath.Join(freshDir, "wx.db"), wechat.URL, app, mk)
	if code, out := runBinary(t, bin, restoredVars, "restore", "--from", archive); code != 0 || !strings.Contains(out, "restored ") {
		t.Fatalf("restore: exit %d:\n%s", code, out)
	}
	if code, out := runBinary(t, bin, restoredVars, "restore", "--from", archive); code != 1 || !strings.Contains(out, "--force") {
		t.Errorf("restore over a restored folder without --force: exit %d, %q; want 1 and a hint at --force", code, out)
	}
	if code, out := runBinary(t, bin, restoredVars, "restore", "--from", archive, "--force"); code != 0 {
		t.Errorf("restore --force: exit %d:\n%s", code, out)
	}
	restored := startServer(t, bin, restoredVars, nil)
	defer restored.stop()
	if status, body := get(t, restored.URL+"/v1/session", kept); status != 200 {
		t.Errorf("a token issued before the backup, on the restored server: %d %v", status, body)
	}
	if status, _ := get(t, restored.URL+"/v1/auth", loggedOutLater); status != 200 {
		t.Errorf("a token logged out after the backup, on the restored server: %d, want 200 (a restore brings it back)", status)
	}
	if after := fetch(t, restored.URL+avatar); !bytes.Equal(after, before) {
		t.Errorf("avatar on the restored server: %d bytes, want the %d served before", len(after), len(before))
	}
	if again := login(t, em, restored.URL, app, "alice"); again == "" {
		t.Error("no login on the restored server")
	}
}

// checkArchive opens an archive as restore does and checks its entries:
// the manifest first, the database, and only avatar files.
func checkArchive(t *testing.T, archive string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi, _ := f.Stat(); fi.Mode().Perm() != 0o600 {
		t.Errorf("archive mode %v, want 0600: it holds sealed keys and phone numbers", fi.Mode().Perm())
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	if len(names) < 3 || names[0] != manifestName || names[1] != databaseName {
		t.Fatalf("archive entries %v, want the manifest, the database, then avatars", names)
	}
	for _, n := range names[2:] {
		if !strings.HasPrefix(n, avatarsPrefix) || !strings.HasSuffix(n, blobSuffix) {
			t.Errorf("unexpected archive entry %q", n)
		}
	}
}

func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}

// TestBackupRefusals checks what backup and restore refuse, each with one
// line saying why: a PostgreSQL store (with the pg_dump advice), a missing
// database, and an archive that is not one.
func TestBackupRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pg := map[string]string{"WXLOGIN_STORE": "postgres://wx@127.0.0.1:1/wx"}
	for _, verb := range []string{"backup", "restore"} {
		flag := map[string]string{"backup": "--to", "restore": "--from"}[verb]
		code, _, msg := runCmd(t, pg, verb, flag, filepath.Join(dir, "x.tar.gz"))
		if line := strings.TrimSpace(msg); code != 1 || strings.Contains(line, "\n") || !strings.Contains(line, "pg_dump") {
			t.Errorf("%s of a postgres store: exit %d, %q; want 1 and one line advising pg_dump", verb, code, line)
		}
	}
	missing := map[string]string{"WXLOGIN_STORE": "sqlite://" + filepath.Join(dir, "none", "wx.db")}
	if code, _, msg := runCmd(t, missing, "backup", "--to", filepath.Join(dir, "x.tar.gz")); code != 1 || !strings.Contains(msg, "no such file") {
		t.Errorf("backup of a missing database: exit %d, %q", code, msg)
	}
	if _, err := os.Stat(filepath.Join(dir, "none")); !os.IsNotExist(err) {
		t.Errorf("backup of a missing database created its folder (stat: %v)", err)
	}
	junk := filepath.Join(dir, "junk.tar.gz")
	if err := os.WriteFile(junk, []byte("this is no archive"), 0o600); err != nil {
		t.Fatal(err)
	}
	target := map[string]string{"WXLOGIN_STORE": "sqlite://" + filepath.Join(dir, "target", "wx.db")}
	if code, _, msg := runCmd(t, target, "restore", "--from", junk); code != 1 || !strings.Contains(msg, "not a wxlogin backup") {
		t.Errorf("restore of a file that is no archive: exit %d, %q", code, msg)
	}
	if _, err := os.Stat(filepath.Join(dir, "target", "wx.db")); !os.IsNotExist(err) {
		t.Errorf("a refused restore left a database behind (stat: %v)", err)
	}
	if code, _, _ := runCmd(t, target, "backup"); code != 2 {
		t.Errorf("backup without --to: exit %d, want 2", code)
	}
}
