package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/keyring"
)

// storeFault is one way the SQLite store can fail under a running server:
// inject breaks it, repair (optional) undoes what can be undone before the
// restart that looks for lost writes.
type storeFault struct {
	name   string
	tmpfs  bool // the data folder must be a small filesystem of its own
	inject func(t *testing.T, dbPath string) (repair func())
	// wantReady503 is whether /readyz must turn 503.
	wantReady503 bool
	// wantWrites503 is whether every write after the fault must be
	// refused (503 store_unavailable), none acknowledged.
	wantWrites503 bool
}

// TestStoreFaultCatalogue runs wxlogin serve, breaks its store in each way
// an operator can, and records what /readyz, /v1/auth, /v1/login and
// logout answer and how soon. Every request must be answered (200 or 503
// store_unavailable) before the server's own 30 s write timeout, and a
// restart must find every login acknowledged after the fault: a write the
// store could not make is never acknowledged. It prints its table on
// stderr.
func TestStoreFaultCatalogue(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits out SQLite's busy timeout")
	}
	t.Parallel()
	faults := []storeFault{
		{name: "write lock held", wantReady503: true, inject: func(t *testing.T, path string) func() {
			// Another process's writer, as `sqlite3 wx.db 'BEGIN IMMEDIATE'`
			// would be: a connection of its own on the file.
			other, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
			if err != nil {
				t.Fatal(err)
			}
			tx, err := other.Begin()
			if err != nil {
				t.Fatal(err)
			}
			return func() { tx.Rollback(); other.Close() }
		}},
		{name: "file deleted", wantReady503: true, inject: func(t *testing.T, path string) func() {
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					t.Fatal(err)
				}
			}
			return nil
		}},
		{name: "file replaced", wantReady503: true, inject: func(t *testing.T, path string) func() {
			// An operator restoring an old copy over the live file.
			tmp := path + ".restore"
			if out, err := exec.Command("cp", path, tmp).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v %s", err, out)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
			return nil
		}},
		{name: "read-only filesystem", wantReady503: true, wantWrites503: true, inject: func(t *testing.T, path string) func() {
			// Linux refuses to remount a filesystem read-only while a
			// file on it is open for writing, as SQLite's are; a bind
			// mount of the data folder onto itself can be made read-only
			// under open files. Its statfs says read-only, new opens for
			// writing fail, and (unlike a filesystem gone read-only on
			// its own) writes through the files already open still land.
			dir := filepath.Dir(path)
			mountReadOnly(t, dir)
			return func() {
				// Detached, not a plain unmount: the server still runs
				// here, and any file it opened through the read-only
				// bind keeps that mount busy until it exits.
				if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
					t.Errorf("unmount %s: %v", dir, err)
				}
			}
		}},
		{name: "disk full", tmpfs: true, wantReady503: true, inject: func(t *testing.T, path string) func() {
			filler := filepath.Join(filepath.Dir(path), "filler")
			f, err := os.Create(filler)
			if err != nil {
				t.Fatal(err)
			}
			chunk := make([]byte, 64<<10)
			for {
				if _, err := f.Write(chunk); err != nil {
					break // ENOSPC
				}
			}
			f.Close()
			return func() { os.Remove(filler) }
		}},
	}
	var mu sync.Mutex
	var rows []string
	var asDocumented, skipped, lost int
	var wg sync.WaitGroup
	for _, fault := range faults {
		t.Run(fault.name, func(t *testing.T) {
			// Added here, not before t.Run: a case -run filters out never
			// runs and would never be done.
			wg.Add(1)
			defer wg.Done()
			t.Parallel()
			defer func() {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case t.Skipped():
					skipped++
				case !t.Failed():
					asDocumented++
				}
			}()
			row, n := runStoreFault(t, fault)
			mu.Lock()
			rows = append(rows, row)
			lost += n
			mu.Unlock()
		})
	}
	t.Cleanup(func() {
		wg.Wait()
		fmt.Fprintf(os.Stderr, "store fault catalogue (%d faults; status after how long; lost = acknowledged logins missing after restart):\n", len(rows))
		for _, r := range rows {
			fmt.Fprintln(os.Stderr, "  "+r)
		}
		summary("catalogue store-faults: tried %d, answered as documented %d, skipped %d (no mount), acknowledged logins lost %d",
			len(faults), asDocumented, skipped, lost)
	})
}

// mountTmpfs mounts a small tmpfs at a new temporary folder. It skips the
// test where mounting is not permitted, unless WXLOGIN_TEST_REQUIRE_TOOLS
// is set and the test runs as root, where mounting is expected to work.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		msg := fmt.Sprintf("cannot mount a %s tmpfs to fill (%v: %s)", size, err, strings.TrimSpace(string(out)))
		if os.Getenv("WXLOGIN_TEST_REQUIRE_TOOLS") != "" && os.Geteuid() == 0 {
			t.Fatal(msg + ", and WXLOGIN_TEST_REQUIRE_TOOLS is set as root")
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// mountReadOnly bind-mounts dir onto itself and makes the bind read-only.
// It skips the test where mounting is not permitted, unless
// WXLOGIN_TEST_REQUIRE_TOOLS is set and the test runs as root.
func mountReadOnly(t *testing.T, dir string) {
	t.Helper()
	for _, args := range [][]string{{"--bind", dir, dir}, {"-o", "remount,bind,ro", dir}} {
		if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
			msg := fmt.Sprintf("cannot make %s read-only with mount %v (%v: %s)", dir, args, err, strings.TrimSpace(string(out)))
			if args[0] != "--bind" {
				syscall.Unmount(dir, syscall.MNT_DETACH)
			}
			if os.Getenv("WXLOGIN_TEST_REQUIRE_TOOLS") != "" && os.Geteuid() == 0 {
				t.Fatal(msg + ", and WXLOGIN_TEST_REQUIRE_TOOLS is set as root")
			}
			t.Skip(msg)
		}
	}
}

type answer struct {
	status int
	code   string
	took   time.Duration
	msg    string // the error's message
	retry  string // Retry-After
	token  string // a login's
}

// send sends req and records its answer, begun at start.
func send(t *testing.T, req *http.Request, start time.Time) answer {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m struct {
		Token string `json:"token"`
		Error struct{ Code, Message string }
	}
	json.NewDecoder(res.Body).Decode(&m)
	return answer{status: res.StatusCode, code: m.Error.Code, took: time.Since(start), msg: m.Error.Message,
		retry: res.Header.Get("Retry-After"), token: m.Token}
}

func (a answer) String() string {
	if a.code != "" {
		return fmt.Sprintf("%d %s in %.1fs", a.status, a.code, a.took.Seconds())
	}
	return fmt.Sprintf("%d in %.1fs", a.status, a.took.Seconds())
}

// runStoreFault runs one fault and returns its row of the table and how
// many acknowledged logins the restart did not find.
func runStoreFault(t *testing.T, fault storeFault) (string, int) {
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	app := emulator.DevApps()[1]
	dir := t.TempDir()
	if fault.tmpfs {
		dir = mountTmpfs(t, "8m")
	}
	dbPath := filepath.Join(dir, "wx.db")
	envs := map[string]string{
		"WXLOGIN_ADDR":            "127.0.0.1:0",
		"WXLOGIN_STORE":           "sqlite://" + dbPath,
		"WXLOGIN_WECHAT_BASE_URL": wechat.URL,
		"WXLOGIN_APPS":            app.AppID,
		appSecretVar(app.AppID):   app.Secret,
		"WXLOGIN_MASTER_KEY":      keyring.Format(keyring.Generate("k1")),
	}
	api, stop, stderr := startServe(t, envs)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()

	call := func(method, path, token, body string) answer {
		start := time.Now()
		req, _ := http.NewRequestWithContext(t.Context(), method, api+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return send(t, req, start)
	}
	login := func(user string) (answer, string) {
		code, err := em.Login(app.AppID, user)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		req, _ := http.NewRequestWithContext(t.Context(), "POST", api+"/v1/login", strings.NewReader(`{"code":"`+code+`"}`))
		a := send(t, req, start)
		return a, a.token
	}
	if a, _ := login("alice"); a.status != 200 {
		t.Fatalf("login before the fault: %v", a)
	}
	_, alice := login("alice")
	_, bob := login("bob")

	repair := fault.inject(t, dbPath)
	injected := time.Now()

	// /readyz: how soon it notices.
	var ready answer
	for {
		ready = call("GET", "/readyz", "", "")
		if ready.status != 200 || time.Since(injected) > 5*time.Second {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	ready.took = time.Since(injected)

	verify := call("GET", "/v1/auth", alice, "")

	// A burst of writes at once: logins and a logout, all queued behind
	// whatever the store is stuck on.
	const logins = 4
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		answers []answer
		acked   []string // tokens of logins answered 200 after the fault
	)
	for i := range logins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, tok := login(fmt.Sprintf("user%d", i))
			mu.Lock()
			defer mu.Unlock()
			answers = append(answers, a)
			if a.status == 200 {
				acked = append(acked, tok)
			}
		}()
	}
	var logout answer
	wg.Add(1)
	go func() { defer wg.Done(); logout = call("DELETE", "/v1/session", bob, "") }()
	wg.Wait()

	var slowest time.Duration
	counts := map[string]int{}
	for _, a := range answers {
		counts[strings.TrimSpace(fmt.Sprintf("%d %s", a.status, a.code))]++
	}
	for _, a := range append(answers, logout, verify) {
		slowest = max(slowest, a.took)
		if a.status != 200 && a.status != 204 && !(a.status == 503 && a.code == "store_unavailable") {
			t.Errorf("answer %v: want 200/204 or 503 store_unavailable; log:\n%s", a, grepLines(stderr.String(), `"level":"ERROR"`))
		}
		if a.status == 503 && a.retry == "" {
			t.Errorf("answer %v without Retry-After", a)
		}
	}
	// Every store call gives up within its request's deadline, which is
	// shorter than the server's write timeout: each request is answered.
	if slowest >= httpapi.DefaultRequestTimeout {
		t.Errorf("slowest answer took %v, past the request deadline (%v)", slowest, httpapi.DefaultRequestTimeout)
	}
	if fault.wantWrites503 {
		for _, a := range append(answers, logout) {
			if a.status != 503 {
				t.Errorf("a write after the fault answered %v, want 503 store_unavailable", a)
			}
		}
	}
	if fault.wantReady503 && ready.status != 503 {
		t.Errorf("/readyz = %v after the fault, want 503", ready)
	}
	if strings.Contains(ready.msg, dir) {
		// /readyz answers anyone who can reach it: where the data lives,
		// and the driver's words, are for the log.
		t.Errorf("/readyz message %q names the database's folder", ready.msg)
	}
	if fault.wantReady503 && ready.took > 3*time.Second {
		// The health check runs every 2 s; a poll every 100 ms.
		t.Errorf("/readyz noticed only after %v", ready.took)
	}
	if logout.status == 503 {
		// A logout that failed says so; the token is still good, and the
		// client knows to retry.
		if a := call("GET", "/v1/auth", bob, ""); a.status == 401 {
			t.Errorf("logout answered 503 but the token is revoked")
		}
	}

	// Restart on the same path (after undoing what can be undone) and look
	// for every login acknowledged after the fault.
	if repair != nil {
		repair()
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d; stderr:\n%s", code, stderr.String())
	}
	stopped = true
	api2, stop2, _ := startServe(t, envs)
	defer stop2()
	lost := 0
	for _, tok := range acked {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", api2+"/v1/auth", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if status, _ := do(t, req); status != 200 {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d logins acknowledged after the fault are gone after a restart", lost, len(acked))
	}
	return fmt.Sprintf("%-20s readyz %v (%q) | auth (cached) %v | logins %v | logout %v | slowest %.1fs | acked %d lost %d",
		fault.name, ready, ready.msg, verify, counts, logout, slowest.Seconds(), len(acked), lost), lost
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
