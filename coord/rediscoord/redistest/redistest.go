// Package redistest gives tests a Redis: the one scripts/test starts
// (WXLOGIN_TEST_REDIS) with a key prefix of each test's own, or a private
// redis-server (WXLOGIN_TEST_REDIS_BIN) that a test may stop, restart and
// pause to see what an outage does. Without them a test skips, and fails
// under WXLOGIN_TEST_REQUIRE_TOOLS (set by scripts/test).
package redistest

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// missing skips t, or fails it when scripts/test promised the tool.
func missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("WXLOGIN_TEST_REQUIRE_TOOLS") != "" {
		t.Fatalf("%s is not set, and WXLOGIN_TEST_REQUIRE_TOOLS is set (run scripts/test, which starts Redis)", what)
	}
	t.Skipf("%s is not set (scripts/test starts a Redis and sets it)", what)
}

// URL returns the shared test Redis' URL.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("WXLOGIN_TEST_REDIS")
	if u == "" {
		missing(t, "WXLOGIN_TEST_REDIS")
	}
	return u
}

// Prefix returns a key prefix no other test uses.
func Prefix() string { return "test:" + rand.Text()[:12] + ":" }

// Server is a redis-server of one test's own.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Start starts a private redis-server on a free loopback port; it is
// killed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := os.Getenv("WXLOGIN_TEST_REDIS_BIN")
	if bin == "" {
		missing(t, "WXLOGIN_TEST_REDIS_BIN")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &Server{t: t, bin: bin, dir: t.TempDir(), port: port}
	s.Restart()
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.killLocked()
	})
	return s
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

// Restart starts the server again on the same port (it must be stopped).
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(s.bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--dir", s.dir, "--save", "", "--appendonly", "no", "--logfile", filepath.Join(s.dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.t.Fatalf("redis-server did not listen on port %d within 30s:\n%s", s.port, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (its data is gone: nothing is persisted).
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
}

func (s *Server) killLocked() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGCONT) // a paused server dies too
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// Pause stops the server's process (SIGSTOP): its connections stay open
// and nothing answers, as over a half-open connection.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume lets a paused server go on (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatal("redis-server is not running")
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
}
