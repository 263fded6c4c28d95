package auth_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
)

// TestCorpUninstallPagesAndOutlivesTheAnswer: a corp larger than one page
// of the walk loses every member's sessions, those that end after WeCom
// got its answer included; the other corp's member and an openid of
// another app that looks like a member keep theirs, and the users stay.
func TestCorpUninstallPagesAndOutlivesTheAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSuite)
	ctx := context.Background()
	gone, other := emulator.DevCorps()[0].CorpID, emulator.DevCorps()[1].CorpID
	now := e.clock.Now()
	seed := func(app, openID string) string {
		t.Helper()
		var h wxlogin.TokenHash
		rand.Read(h[:])
		u := wxlogin.User{ID: "usr_" + strings.NewReplacer("/", "_").Replace(app+openID), AppID: app, OpenID: openID, CreatedAt: now, UpdatedAt: now}
		s := wxlogin.Session{ID: fmt.Sprintf("ses_%x", h[:8]), TokenHash: h, AppID: app, CreatedAt: now, LastSeenAt: now,
			IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
		got, _, err := e.db.EnsureUserWithSession(ctx, u, s)
		if err != nil {
			t.Fatal(err)
		}
		return got.ID
	}
	const members = 450 // three pages of the walk
	ids := make([]string, members)
	for i := range ids {
		ids[i] = seed(suiteApp, wxlogin.WeComKey(gone, fmt.Sprintf("m%04d", i)))
	}
	stays := []string{
		seed(suiteApp, wxlogin.WeComKey(other, "m0000")),
		seed(app1, wxlogin.WeComKey(gone, "m0000")), // an openid that merely looks like one (another app)
	}
	e.pushTicket()
	// The answer goes back at once, long before 450 members are done.
	auth.SetUninstallWait(e.svc, time.Nanosecond)
	res, err := e.em.UninstallSuite(ctx, devSuite.SuiteID, gone)
	if err != nil || !res.Delivered {
		t.Fatalf("uninstall: %+v %v", res, err)
	}
	// The answer came first; the walk ends on its own shortly after.
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(e.logs.String(), "its members' sessions ended"); {
		if time.Now().After(deadline) {
			t.Fatal("the uninstall's walk did not end")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, id := range ids {
		if ss, err := e.db.UserSessions(ctx, id); err != nil || len(ss) != 0 {
			t.Fatalf("member %s: %d sessions (%v) after the uninstall, want none", id, len(ss), err)
		}
		if _, err := e.db.User(ctx, id); err != nil {
			t.Fatalf("member %s is gone: %v", id, err)
		}
	}
	for _, id := range stays {
		if ss, err := e.db.UserSessions(ctx, id); err != nil || len(ss) != 1 {
			t.Errorf("user %s: %d sessions (%v), want its one", id, len(ss), err)
		}
	}
	logs := e.logs.String()
	if want := fmt.Sprintf("members=%d sessions=%d", members, members); !strings.Contains(logs, want) {
		t.Errorf("no log line with %q", want)
	}
	if !strings.Contains(logs, "still ending its members' sessions; answering WeCom meanwhile") {
		t.Error("the callback did not answer before the revocation ended")
	}
}
