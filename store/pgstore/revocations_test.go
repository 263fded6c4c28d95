package pgstore

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/auth"
)

// A subscriber whose reads of the log fail reports live(false); once they
// work again it delivers what was logged meanwhile, then reports
// live(true). The failure here is the table moved away, so that no read
// can see it while a writer (this test, by hand) still logs revocations.
func TestRevocationLogCatchesUp(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	log := db.RevocationLog(RevocationLogOptions{Poll: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	var mu sync.Mutex
	var events []string // "live", "lost", or the session id heard
	stop := log.Subscribe(func(r auth.Revocation) {
		mu.Lock()
		events = append(events, r.SessionID)
		mu.Unlock()
	}, func(live bool) {
		mu.Lock()
		events = append(events, map[bool]string{true: "live", false: "lost"}[live])
		mu.Unlock()
	})
	defer stop()
	last := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(events) == 0 {
			return ""
		}
		return events[len(events)-1]
	}
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for last() != what {
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("waited 5 s for %q; events %v", what, events)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("live")
	if err := log.Publish(t.Context(), auth.Revocation{SessionID: "ses_before"}); err != nil {
		t.Fatal(err)
	}
	waitFor("ses_before")

	if _, err := db.pool.Exec(t.Context(), `ALTER TABLE revocation_log RENAME TO revocation_log_away`); err != nil {
		t.Fatal(err)
	}
	waitFor("lost")
	if _, err := db.pool.Exec(t.Context(), `INSERT INTO revocation_log_away (session_id) VALUES ('ses_missed_1'), ('ses_missed_2')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(t.Context(), `ALTER TABLE revocation_log_away RENAME TO revocation_log`); err != nil {
		t.Fatal(err)
	}
	waitFor("live")
	mu.Lock()
	got := append([]string(nil), events...)
	mu.Unlock()
	want := []string{"live", "ses_before", "lost", "ses_missed_1", "ses_missed_2", "live"}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
}
