package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/internal/testlog"
)

// buildWxlogin builds the wxlogin binary as the Dockerfile does (static,
// no cgo) into a temporary folder and returns its path.
func buildWxlogin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wxlogin")
	// go test puts its own GOROOT/bin first on the PATH: this is the go
	// command running the test.
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// processEnv is the environment of a child wxlogin: this process's, without
// any WXLOGIN_ setting of its own, plus vars.
func processEnv(vars map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WXLOGIN_") {
			out = append(out, kv)
		}
	}
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

// server is a wxlogin serve running as its own process.
type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *testlog.Buffer
	exited chan error
	URL    string
}

// startServer runs `bin serve args...` and waits until it logs its address.
// prepare, when not nil, adjusts the command first (a user to run as).
func startServer(t *testing.T, bin string, vars map[string]string, prepare func(*exec.Cmd), args ...string) *server {
	t.Helper()
	s := &server{t: t, stderr: &testlog.Buffer{}, exited: make(chan error, 1)}
	s.cmd = exec.Command(bin, append([]string{"serve"}, args...)...)
	s.cmd.Env = processEnv(vars)
	s.cmd.Stdout = s.stderr
	s.cmd.Stderr = s.stderr
	if prepare != nil {
		prepare(s.cmd)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
	re := regexp.MustCompile(`"addr":"(http://[0-9.:]+)"`)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(s.stderr.String()); m != nil {
			s.URL = m[1]
			return s
		}
		select {
		case err := <-s.exited:
			t.Fatalf("serve exited early (%v); output:\n%s", err, s.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("serve logged no address within 60s; output:\n%s", s.stderr.String())
	return nil
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	select {
	case err := <-s.exited:
		if err != nil {
			s.t.Fatalf("serve exited with %v after SIGTERM; output:\n%s", err, s.stderr.String())
		}
	case <-time.After(60 * time.Second):
		s.t.Fatalf("serve did not stop within 60s of SIGTERM; output:\n%s", s.stderr.String())
	}
}

// runProcess runs bin with args and vars and returns its exit code and
// combined output.
func runProcess(t *testing.T, bin string, vars map[string]string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = processEnv(vars)
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}
