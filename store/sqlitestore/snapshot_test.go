package sqlitestore

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin"
)

// TestSnapshotTo copies a database while another goroutine keeps
// registering users in it: the copy passes the integrity check, holds at
// least what was committed before it began, describes itself (counts,
// avatar ids, migrations), leaves no journal files and opens as a store.
func TestSnapshotTo(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "wx.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i := range 3 {
		u := wxlogin.User{ID: fmt.Sprintf("u%d", i), AppID: "wx", OpenID: fmt.Sprintf("o%d", i), CreatedAt: now}
		if _, _, err := db.EnsureUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateSession(ctx, wxlogin.Session{ID: fmt.Sprintf("s%d", i), UserID: u.ID, TokenHash: wxlogin.TokenHash{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.UpdateUser(ctx, "u1", func(u *wxlogin.User) error { u.Profile.AvatarID = "avt_one"; return nil }); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			u := wxlogin.User{ID: fmt.Sprintf("w%06d", i), AppID: "wx", OpenID: fmt.Sprintf("w%d", i), CreatedAt: now}
			if _, _, err := db.EnsureUser(ctx, u); err != nil {
				t.Errorf("a write during the snapshot: %v", err)
				return
			}
		}
	}()
	dir := t.TempDir()
	copyPath := filepath.Join(dir, "copy.db")
	snap, err := db.SnapshotTo(ctx, copyPath)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if snap.Users < 3 || snap.Sessions != 3 {
		t.Errorf("snapshot holds %d users and %d sessions, want at least 3 and exactly 3", snap.Users, snap.Sessions)
	}
	if diff := cmp.Diff([]string{"avt_one"}, snap.AvatarIDs); diff != "" {
		t.Errorf("AvatarIDs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(KnownMigrations(), snap.Migrations); diff != "" {
		t.Errorf("Migrations (-want +got):\n%s", diff)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the snapshot's folder holds %v, want only copy.db", names)
	}
	if _, err := db.SnapshotTo(ctx, copyPath); err == nil {
		t.Error("SnapshotTo over an existing file: nil error")
	}
	again, err := CheckSnapshot(ctx, copyPath)
	if err != nil || again.Users != snap.Users {
		t.Errorf("CheckSnapshot of the copy: %+v, %v; want %d users", again, err, snap.Users)
	}

	copied, err := Open(ctx, copyPath)
	if err != nil {
		t.Fatal(err)
	}
	defer copied.Close()
	if u, err := copied.User(ctx, "u1"); err != nil || u.Profile.AvatarID != "avt_one" {
		t.Errorf("the copy's u1: %+v, %v", u, err)
	}

	if err := os.WriteFile(filepath.Join(dir, "junk.db"), []byte("not a database at all, not even close to one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckSnapshot(ctx, filepath.Join(dir, "junk.db")); err == nil {
		t.Error("CheckSnapshot of a file that is no database: nil error")
	}
}
