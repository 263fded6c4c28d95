package sqlitestore

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin"
)

// durabilityEnv carries the database path to the child process of
// TestDurability; the child test does nothing without it.
const durabilityEnv = "WXLOGIN_SQLITESTORE_DURABILITY_DB"

var (
	durableUser = wxlogin.User{
		ID: "u-durable", AppID: "wx-durable", OpenID: "o-durable", UnionID: "un-durable",
		CreatedAt: time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC),
		UpdatedAt: time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC),
	}
	durableSession = wxlogin.Session{
		ID: "s-durable", TokenHash: wxlogin.TokenHash{1, 2, 3}, UserID: "u-durable",
		AppID: "wx-durable", OpenID: "o-durable", UnionID: "un-durable",
		SealedSessionKey: []byte("sealed"),
		CreatedAt:        time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC),
		LastSeenAt:       time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC),
		IdleExpiresAt:    time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC),
		ExpiresAt:        time.Date(2026, 12, 21, 20, 0, 0, 0, time.UTC),
	}
	// groupUser and groupSession are stored the way auth stores a login
	// (EnsureUserWithSession: one savepoint of a group commit).
	groupUser = wxlogin.User{
		ID: "u-group", AppID: "wx-durable", OpenID: "o-group",
		CreatedAt: time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC),
		UpdatedAt: time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC),
	}
	groupSession = wxlogin.Session{
		ID: "s-group", TokenHash: wxlogin.TokenHash{4, 5, 6}, UserID: "u-group",
		AppID: "wx-durable", OpenID: "o-group",
		SealedSessionKey: []byte("sealed"),
		CreatedAt:        time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC),
		LastSeenAt:       time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC),
		IdleExpiresAt:    time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC),
		ExpiresAt:        time.Date(2026, 12, 21, 20, 0, 0, 0, time.UTC),
	}
)

// TestDurability runs a child process that stores a user and a session the
// way a login does, prints "ok" (the moment a login would answer 200), and
// is then killed with SIGKILL before it can close anything. The data must
// be in the database when it is opened again.
func TestDurability(t *testing.T) {
	t.Parallel()
	if os.Getenv(durabilityEnv) != "" {
		t.Skip("in the child process")
	}
	path := filepath.Join(t.TempDir(), "w.db")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), exe, "-test.run=^TestDurabilityChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), durabilityEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // the child blocks reading it until killed
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if killErr := cmd.Process.Kill(); killErr != nil { // SIGKILL on Unix
		t.Fatalf("kill: %v", killErr)
	}
	cmd.Wait()
	if err != nil || line != "ok\n" {
		t.Fatalf("child said %q, %v; want \"ok\"", line, err)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		// The write-ahead log was left behind: the child never closed or
		// checkpointed, so recovery from it is what is being tested.
		t.Errorf("no WAL left by the killed child: %v", err)
	}

	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	u, err := db.User(t.Context(), durableUser.ID)
	if err != nil {
		t.Fatalf("user after kill: %v", err)
	}
	if diff := cmp.Diff(durableUser, u); diff != "" {
		t.Errorf("user after kill (-want +got):\n%s", diff)
	}
	s, err := db.SessionByToken(t.Context(), durableSession.TokenHash)
	if err != nil {
		t.Fatalf("session after kill: %v", err)
	}
	if diff := cmp.Diff(durableSession, s); diff != "" {
		t.Errorf("session after kill (-want +got):\n%s", diff)
	}
	if u, err := db.User(t.Context(), groupUser.ID); err != nil {
		t.Errorf("group-committed user after kill: %v", err)
	} else if diff := cmp.Diff(groupUser, u); diff != "" {
		t.Errorf("group-committed user after kill (-want +got):\n%s", diff)
	}
	if s, err := db.SessionByToken(t.Context(), groupSession.TokenHash); err != nil {
		t.Errorf("group-committed session after kill: %v", err)
	} else if diff := cmp.Diff(groupSession, s); diff != "" {
		t.Errorf("group-committed session after kill (-want +got):\n%s", diff)
	}
}

// TestDurabilityChild is the child of TestDurability.
func TestDurabilityChild(t *testing.T) {
	path := os.Getenv(durabilityEnv)
	if path == "" {
		t.Skip("run by TestDurability")
	}
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.EnsureUser(t.Context(), durableUser); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(t.Context(), durableSession); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.EnsureUserWithSession(t.Context(), groupUser, groupSession); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ok")
	os.Stdin.Read(make([]byte, 1)) // wait for SIGKILL
	t.Fatal("not killed")
}
