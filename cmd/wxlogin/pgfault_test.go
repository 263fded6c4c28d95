package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/keyring"
)

// ownPostgres is a PostgreSQL server of one test's own, so that stopping
// or freezing it breaks no other test.
type ownPostgres struct {
	t    *testing.T
	bin  string
	data string
	port int
	// asPostgres runs PostgreSQL's programs as the postgres user when the
	// test runs as root (initdb and postgres refuse root).
	asPostgres bool
}

func postgresBin(t *testing.T) string {
	t.Helper()
	testPostgresURL(t) // skips or fails as the suites do without PostgreSQL
	if b := os.Getenv("WXLOGIN_TEST_POSTGRES_BIN"); b != "" {
		return b
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(matches) == 0 {
		t.Fatal("no PostgreSQL binaries: set WXLOGIN_TEST_POSTGRES_BIN")
	}
	return filepath.Dir(matches[len(matches)-1])
}

func startOwnPostgres(t *testing.T) *ownPostgres {
	t.Helper()
	p := &ownPostgres{t: t, bin: postgresBin(t), asPostgres: os.Geteuid() == 0}
	dir, err := os.MkdirTemp("", "wxlogin-pgfault-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if p.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		if err := os.Chown(dir, uid, -1); err != nil {
			t.Fatal(err)
		}
	}
	p.data = filepath.Join(dir, "data")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	p.run("initdb", "-D", p.data, "-U", "postgres", "-A", "trust", "--no-sync")
	opts := "-c listen_addresses=127.0.0.1 -p " + strconv.Itoa(p.port) + " -k " + dir + " -c fsync=off"
	if err := os.WriteFile(filepath.Join(dir, "opts"), []byte(opts), 0o644); err != nil {
		t.Fatal(err)
	}
	p.start()
	t.Cleanup(func() {
		p.cont()
		p.pgctl("stop", "-m", "immediate")
	})
	return p
}

func (p *ownPostgres) run(prog string, args ...string) {
	p.t.Helper()
	cmd := exec.Command(filepath.Join(p.bin, prog), args...)
	if p.asPostgres {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.bin, prog)}, args...)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
	}
}

func (p *ownPostgres) pgctl(args ...string) {
	p.t.Helper()
	p.run("pg_ctl", append([]string{"-D", p.data, "-w"}, args...)...)
}

func (p *ownPostgres) start() {
	p.t.Helper()
	opts, err := os.ReadFile(filepath.Join(filepath.Dir(p.data), "opts"))
	if err != nil {
		p.t.Fatal(err)
	}
	p.pgctl("-l", filepath.Join(filepath.Dir(p.data), "log"), "-o", string(opts), "start")
}

func (p *ownPostgres) url() string {
	return "postgres://postgres@127.0.0.1:" + strconv.Itoa(p.port) + "/postgres?sslmode=disable"
}

// pids returns the postmaster's process id and its children's (the
// backends and background workers).
func (p *ownPostgres) pids() []int {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.data, "postmaster.pid"))
	if err != nil {
		p.t.Fatal(err)
	}
	master, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		p.t.Fatal(err)
	}
	pids := []int{master}
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range procs {
		stat, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so cut after ')'.
		_, rest, ok := strings.Cut(string(stat), ") ")
		fields := strings.Fields(rest)
		if !ok || len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == master {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			pids = append(pids, pid)
		}
	}
	return pids
}

func (p *ownPostgres) signal(sig syscall.Signal) {
	for _, pid := range p.pids() {
		syscall.Kill(pid, sig)
	}
}

func (p *ownPostgres) stop() { p.pgctl("stop", "-m", "fast") }
func (p *ownPostgres) hang() { p.signal(syscall.SIGSTOP) }
func (p *ownPostgres) cont() {
	if _, err := os.Stat(filepath.Join(p.data, "postmaster.pid")); err == nil {
		p.signal(syscall.SIGCONT)
	}
}

// TestServeWhenPostgresFails stops, then freezes (SIGSTOP) the server's
// PostgreSQL: forward-auth answers 503 within a second and never lets a
// logged-out token through, /readyz answers 503, a login 503 with
// Retry-After; when PostgreSQL is back, everything works again within five
// seconds without a restart.
func TestServeWhenPostgresFails(t *testing.T) {
	t.Parallel()
	pg := startOwnPostgres(t)
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	app := emulator.DevApps()[1]
	vars := serveEnv(pg.url(), wechat.URL, app, keyring.Format(keyring.Generate("k1")))
	vars["WXLOGIN_POSTGRES_CONNECT_TIMEOUT"] = "300ms"
	vars["WXLOGIN_POSTGRES_STATEMENT_TIMEOUT"] = "300ms"
	api, stop, stderr := startServe(t, vars)
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d; stderr:\n%s", code, stderr.String())
		}
	}()

	valid := login(t, em, api, app, "alice")
	loggedOut := login(t, em, api, app, "bob")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodDelete, api+"/v1/session", nil)
	req.Header.Set("Authorization", "Bearer "+loggedOut)
	if status, body := do(t, req); status >= 300 {
		t.Fatalf("logout: %d %v", status, body)
	}
	unseen := "wxl_" + strings.Repeat("A", 43) // well-formed, never issued, in no cache

	client := &http.Client{Timeout: 5 * time.Second}
	timed := func(method, url, token, body string) (*http.Response, time.Duration) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		resp.Body.Close()
		return resp, time.Since(start)
	}
	checkDown := func(how string) {
		t.Helper()
		if resp, took := timed("GET", api+"/v1/auth", unseen, ""); resp.StatusCode != 503 || took > time.Second {
			t.Errorf("%s: /v1/auth of an unseen token: %d after %v, want 503 within 1s", how, resp.StatusCode, took)
		}
		if resp, _ := timed("GET", api+"/v1/auth", loggedOut, ""); resp.StatusCode == 200 {
			t.Errorf("%s: /v1/auth let a logged-out token through", how)
		}
		if resp, took := timed("GET", api+"/readyz", "", ""); resp.StatusCode != 503 || took > 2*time.Second {
			t.Errorf("%s: /readyz: %d after %v, want 503", how, resp.StatusCode, took)
		}
		code, err := em.Login(app.AppID, "carol")
		if err != nil {
			t.Fatal(err)
		}
		resp, _ := timed("POST", api+"/v1/login", "", `{"code":"`+code+`"}`)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s: login: %d Retry-After %q, want 503 with Retry-After", how, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	checkBack := func(how string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			a, _ := timed("GET", api+"/v1/auth", valid, "")
			r, _ := timed("GET", api+"/readyz", "", "")
			if a.StatusCode == 200 && r.StatusCode == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not recovered within 5s: /v1/auth %d, /readyz %d", how, a.StatusCode, r.StatusCode)
			}
			time.Sleep(100 * time.Millisecond)
		}
		code, err := em.Login(app.AppID, "dave")
		if err != nil {
			t.Fatal(err)
		}
		if resp, _ := timed("POST", api+"/v1/login", "", `{"code":"`+code+`"}`); resp.StatusCode != 200 {
			t.Errorf("%s: login after recovery: %d", how, resp.StatusCode)
		}
		if resp, _ := timed("GET", api+"/v1/auth", loggedOut, ""); resp.StatusCode != 401 {
			t.Errorf("%s: logged-out token after recovery: %d, want 401", how, resp.StatusCode)
		}
	}

	pg.stop()
	checkDown("stopped")
	pg.start()
	checkBack("restarted")

	pg.hang()
	checkDown("hung")
	pg.cont()
	checkBack("resumed")
}
