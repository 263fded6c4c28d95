package main

import (
	"flag"
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
	done   chan struct{} // closed once the process has exited and been waited for
	URL    string
}

// startServer runs `bin serve args...` and waits until it logs its address.
// prepare, when not nil, adjusts the command first (a user to run as).
func startServer(t *testing.T, bin string, vars map[string]string, prepare func(*exec.Cmd), args ...string) *server {
	t.Helper()
	return startProcess(t, exec.Command(bin, append([]string{"serve"}, args...)...), vars, prepare)
}

// asWxloginVar makes this test binary run as wxlogin itself (see
// TestAsWxlogin): tests that signal or kill a server need a process of its
// own, and building the binary costs seconds.
const asWxloginVar = "WXLOGIN_TEST_AS_WXLOGIN"

// TestAsWxlogin is not a test: with asWxloginVar set, this test binary is
// `wxlogin` run with the arguments after "--" (see startServeChild).
func TestAsWxlogin(t *testing.T) {
	if os.Getenv(asWxloginVar) != "1" {
		t.Skip("the wxlogin child process of other tests; runs only as their child")
	}
	os.Exit(runProcess(flag.Args()))
}

// startServeChild runs `wxlogin serve args...` as a child process of this
// test binary (TestAsWxlogin) and waits until it logs its address.
func startServeChild(t *testing.T, vars map[string]string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestAsWxlogin$", "-test.count=1", "--", "serve"}, args...)...)
	all := map[string]string{asWxloginVar: "1"}
	for k, v := range vars {
		all[k] = v
	}
	return startProcess(t, cmd, all, nil)
}

func startProcess(t *testing.T, cmd *exec.Cmd, vars map[string]string, prepare func(*exec.Cmd)) *server {
	t.Helper()
	s := &server{t: t, cmd: cmd, stderr: &testlog.Buffer{}, exited: make(chan error, 1), done: make(chan struct{})}
	s.cmd.Env = processEnv(vars)
	s.cmd.Stdout = s.stderr
	s.cmd.Stderr = s.stderr
	if prepare != nil {
		prepare(s.cmd)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := s.cmd.Wait()
		close(s.done)
		s.exited <- err
	}()
	t.Cleanup(func() { s.kill() })
	re := regexp.MustCompile(`"addr":"(https?://[0-9.:]+)"`)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(s.stderr.String()); m != nil {
			s.URL = m[1]
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("serve exited early (%v); output:\n%s", <-s.exited, s.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("serve logged no address within 60s; output:\n%s", s.stderr.String())
	return nil
}

// kill sends SIGKILL (no shutdown, no close, no checkpoint) unless the
// process has exited already, and waits until it is gone.
func (s *server) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		s.t.Errorf("the killed server did not exit within a minute")
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	select {
	case <-s.done:
		if err := <-s.exited; err != nil {
			s.t.Fatalf("serve exited with %v after SIGTERM; output:\n%s", err, s.stderr.String())
		}
	case <-time.After(60 * time.Second):
		s.t.Fatalf("serve did not stop within 60s of SIGTERM; output:\n%s", s.stderr.String())
	}
}

// runBinary runs bin with args and vars and returns its exit code and
// combined output.
func runBinary(t *testing.T, bin string, vars map[string]string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = processEnv(vars)
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}
