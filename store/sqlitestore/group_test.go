package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// TestGroupCommitFailingLoginKeepsOthers holds the write connection so that
// logins queue, releases it, and checks that they were committed together
// (fewer commits than logins), that the one whose session repeats a stored
// token hash failed alone, and that every other login and its new user is
// stored.
func TestGroupCommitFailingLoginKeepsOthers(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	now := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)
	taken := seedSession(t, db, "taken")
	// Prepared before the connection is held: preparing needs it.
	if _, err := db.loginStmts(t.Context()); err != nil {
		t.Fatal(err)
	}

	hold, err := db.write.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	commits0, writes0 := db.GroupStats()

	const n = 12
	const bad = 5
	type result struct {
		i   int
		err error
	}
	results := make(chan result, n)
	users := make([]wxlogin.User, n)
	sessions := make([]wxlogin.Session, n)
	for i := range n {
		users[i] = wxlogin.User{ID: fmt.Sprintf("usr_g%d", i), AppID: "wxgroup", OpenID: fmt.Sprintf("o_g%d", i), CreatedAt: now, UpdatedAt: now}
		sessions[i] = wxlogin.Session{ID: fmt.Sprintf("ses_g%d", i), TokenHash: wxlogin.TokenHash{0xee, byte(i)}, AppID: "wxgroup",
			CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(24 * time.Hour)}
		if i == bad {
			sessions[i].TokenHash = taken.TokenHash
		}
		go func() {
			_, _, err := db.EnsureUserWithSession(t.Context(), users[i], sessions[i])
			results <- result{i, err}
		}()
	}
	// The committer holds the first login while it waits for the
	// connection; the others wait in its queue.
	deadline := time.Now().Add(5 * time.Second)
	for len(db.group.queue) < n-1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d logins queued, want %d", len(db.group.queue), n-1)
		}
		time.Sleep(time.Millisecond)
	}
	hold.Close()

	for range n {
		r := <-results
		switch {
		case r.i == bad && r.err == nil:
			t.Errorf("login %d (taken token hash): err = nil, want an error", r.i)
		case r.i == bad && !errors.Is(r.err, wxlogin.ErrConflict):
			t.Errorf("login %d (taken token hash): %v, want ErrConflict", r.i, r.err)
		case r.i != bad && r.err != nil:
			t.Errorf("login %d: %v", r.i, r.err)
		}
	}
	commits, writes := db.GroupStats()
	commits, writes = commits-commits0, writes-writes0
	if writes != n || commits >= writes {
		t.Errorf("%d logins in %d commits; want %d logins in fewer commits", writes, commits, n)
	}
	t.Logf("%d logins in %d commits", writes, commits)
	for i := range n {
		_, uerr := db.User(t.Context(), users[i].ID)
		_, serr := db.Session(t.Context(), sessions[i].ID)
		if i == bad {
			if !errors.Is(uerr, wxlogin.ErrNotFound) || !errors.Is(serr, wxlogin.ErrNotFound) {
				t.Errorf("refused login %d: user %v, session %v; want neither stored", i, uerr, serr)
			}
			continue
		}
		if uerr != nil || serr != nil {
			t.Errorf("login %d: user %v, session %v; want both stored", i, uerr, serr)
		}
	}
}

// TestGroupWriteGivesUpWhileQueued: a login queued behind a held write
// connection answers ErrUnavailable within its budget, and nothing of it is
// stored once the connection is free.
func TestGroupWriteGivesUpWhileQueued(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	if _, err := db.loginStmts(t.Context()); err != nil {
		t.Fatal(err)
	}
	hold, err := db.write.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = db.EnsureUserWithSession(ctx,
		wxlogin.User{ID: "usr_late", AppID: "wxlate", OpenID: "o_late", CreatedAt: now, UpdatedAt: now},
		wxlogin.Session{ID: "ses_late", TokenHash: wxlogin.TokenHash{9}, AppID: "wxlate", CreatedAt: now, LastSeenAt: now,
			IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)})
	if !errors.Is(err, wxlogin.ErrUnavailable) {
		t.Errorf("queued login past its budget: %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("gave up after %v", took)
	}
	hold.Close()
	// A later write goes through the committer, which meets the abandoned
	// one first and skips it.
	if _, _, err := db.EnsureUser(t.Context(), wxlogin.User{ID: "usr_next", AppID: "wxlate", OpenID: "o_next", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := db.User(t.Context(), "usr_late"); !errors.Is(err, wxlogin.ErrNotFound) {
		t.Errorf("user of the abandoned login: %v, want not found", err)
	}
}
