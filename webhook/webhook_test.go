package webhook_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/store/sqlitestore"
	"github.com/wxlogin/wxlogin/webhook"
)

func newStore(t *testing.T) *sqlitestore.DB {
	t.Helper()
	db, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "wx.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	for attempt := 1; attempt <= 40; attempt++ {
		ceiling := min(10*time.Second<<min(attempt-1, 20), time.Hour)
		seen := map[time.Duration]bool{}
		for range 200 {
			d := webhook.Backoff(attempt)
			if d < ceiling/2 || d > ceiling {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", attempt, d, ceiling/2, ceiling)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("Backoff(%d) gave %d distinct waits in 200 draws: no jitter", attempt, len(seen))
		}
	}
}

func TestDeliveriesFollowSubscriptions(t *testing.T) {
	t.Parallel()
	d, err := webhook.New(webhook.Config{Store: newStore(t), Endpoints: []webhook.Endpoint{
		{URL: "https://a.example/hook", Secret: "whsec-a-0123456789", Events: wxlogin.EventTypes()},
		{URL: "https://b.example/hook", Secret: "whsec-b-0123456789", Events: []string{wxlogin.EventUserErased}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 10, 0, 0, 123456789, time.UTC)
	reg := d.Deliveries(wxlogin.Event{ID: "evt_1", Type: wxlogin.EventUserRegistered, At: at, AppID: "wx1", UserID: "usr_1", OpenID: "o1"})
	if len(reg) != 1 || reg[0].URL != "https://a.example/hook" {
		t.Fatalf("user.registered deliveries: %+v, want one, to a", reg)
	}
	if !reg[0].GiveUpAt.Equal(at.Add(24*time.Hour)) || !reg[0].NextAttemptAt.Equal(at) || reg[0].State != wxlogin.DeliveryPending {
		t.Errorf("user.registered delivery: %+v", reg[0])
	}
	var got map[string]any
	if err := json.Unmarshal(reg[0].Payload, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": "evt_1", "type": "user.registered", "created_at": "2026-12-06T10:00:00.123456Z",
		"appid": "wx1", "user_id": "usr_1", "openid": "o1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("payload (-want +got):\n%s", diff)
	}
	erased := d.Deliveries(wxlogin.Event{Type: wxlogin.EventUserErased, At: at, UserID: "usr_1", By: "admin"})
	if len(erased) != 2 || erased[0].EventID != erased[1].EventID || erased[0].EventID == "" || erased[0].ID == erased[1].ID ||
		string(erased[0].Payload) != string(erased[1].Payload) {
		t.Errorf("user.erased deliveries: %+v, want two of one event", erased)
	}
}

// TestRedirectIsAFailure checks that a 3xx is not followed: the signed
// request is meant for the configured URL only.
func TestRedirectIsAFailure(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer target.Close()
	hook := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	defer hook.Close()
	db := newStore(t)
	now := time.Now().UTC()
	d, err := webhook.New(webhook.Config{Store: db, Now: func() time.Time { return now },
		Endpoints: []webhook.Endpoint{{URL: hook.URL, Secret: "whsec-0123456789abc", Events: wxlogin.EventTypes()}}})
	if err != nil {
		t.Fatal(err)
	}
	ds := d.Deliveries(wxlogin.Event{Type: wxlogin.EventUserRegistered, At: now, UserID: "usr_1"})
	if _, _, err := db.EnsureUserWithDeliveries(t.Context(), wxlogin.User{ID: "usr_1", AppID: "wx1", OpenID: "o1", CreatedAt: now}, func(wxlogin.UserChange) []wxlogin.Delivery { return ds }); err != nil {
		t.Fatal(err)
	}
	if n, err := d.RunOnce(t.Context()); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	got, err := db.Delivery(t.Context(), ds[0].ID)
	if err != nil || got.State != wxlogin.DeliveryPending || got.LastStatus != http.StatusFound || got.LastError != "HTTP 302" {
		t.Errorf("after a redirect: %+v, %v; want pending, last status 302", got, err)
	}
	if elsewhere.Load() != 0 {
		t.Error("the redirect was followed")
	}
}

// TestPruneFinished checks that the running dispatcher deletes deliveries
// finished more than KeepFinished ago and keeps the rest.
func TestPruneFinished(t *testing.T) {
	t.Parallel()
	db := newStore(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer hook.Close()
	var clock atomic.Int64
	start := time.Now().UTC()
	clock.Store(start.UnixMicro())
	now := func() time.Time { return time.UnixMicro(clock.Load()).UTC() }
	d, err := webhook.New(webhook.Config{Store: db, Now: now, PollInterval: 10 * time.Millisecond,
		Endpoints: []webhook.Endpoint{{URL: hook.URL, Secret: "whsec-0123456789abc", Events: wxlogin.EventTypes()}}})
	if err != nil {
		t.Fatal(err)
	}
	ds := d.Deliveries(wxlogin.Event{Type: wxlogin.EventUserRegistered, At: start, UserID: "usr_1"})
	if _, _, err := db.EnsureUserWithDeliveries(t.Context(), wxlogin.User{ID: "usr_1", AppID: "wx1", OpenID: "o1", CreatedAt: start}, func(wxlogin.UserChange) []wxlogin.Delivery { return ds }); err != nil {
		t.Fatal(err)
	}
	if _, err := d.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Delivery(t.Context(), ds[0].ID); err != nil || got.State != wxlogin.DeliveryDelivered {
		t.Fatalf("delivery: %+v, %v", got, err)
	}
	d.Start()
	defer d.Close()
	clock.Store(start.Add(webhook.KeepFinished - time.Minute).UnixMicro())
	time.Sleep(50 * time.Millisecond)
	if _, err := db.Delivery(t.Context(), ds[0].ID); err != nil {
		t.Fatalf("a delivery finished less than KeepFinished ago was deleted: %v", err)
	}
	clock.Store(start.Add(webhook.KeepFinished + 2*time.Hour).UnixMicro())
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := db.Delivery(t.Context(), ds[0].ID); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the delivery finished more than KeepFinished ago is still there")
		}
		d.Wake()
		time.Sleep(10 * time.Millisecond)
	}
}

// countingMetrics records WebhookAttempt's reports.
type countingMetrics struct {
	mu  sync.Mutex
	got map[string]int // "event result"
}

func (m *countingMetrics) WebhookAttempt(event, result string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.got == nil {
		m.got = map[string]int{}
	}
	m.got[event+" "+result]++
}

// TestAttemptMetrics: each attempt reports how it ended: a failure to be
// retried, a delivery, and a failure past the day that gives up.
func TestAttemptMetrics(t *testing.T) {
	t.Parallel()
	var fail atomic.Bool
	fail.Store(true)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer hook.Close()
	db := newStore(t)
	var mu sync.Mutex
	now := time.Now().UTC()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	m := &countingMetrics{}
	d, err := webhook.New(webhook.Config{Store: db, Now: clock, Metrics: m,
		Endpoints: []webhook.Endpoint{{URL: hook.URL, Secret: "whsec-0123456789abc", Events: wxlogin.EventTypes()}}})
	if err != nil {
		t.Fatal(err)
	}
	register := func(id string) {
		ds := d.Deliveries(wxlogin.Event{Type: wxlogin.EventUserRegistered, At: clock(), UserID: id})
		if _, _, err := db.EnsureUserWithDeliveries(t.Context(), wxlogin.User{ID: id, AppID: "wx1", OpenID: "o" + id, CreatedAt: clock()},
			func(wxlogin.UserChange) []wxlogin.Delivery { return ds }); err != nil {
			t.Fatal(err)
		}
	}
	run := func() {
		t.Helper()
		if n, err := d.RunOnce(t.Context()); err != nil || n != 1 {
			t.Fatalf("RunOnce = %d, %v; want one attempt", n, err)
		}
	}
	register("usr_1")
	run() // 503: retried later
	fail.Store(false)
	advance(time.Hour) // past its backoff
	run()              // delivered
	fail.Store(true)
	register("usr_2")
	advance(webhook.GiveUpAfter) // its day is over before its first attempt
	run()                        // 503, and no time left: failed
	want := map[string]int{"user.registered retry": 1, "user.registered delivered": 1, "user.registered failed": 1}
	if diff := cmp.Diff(want, m.got); diff != "" {
		t.Errorf("attempts reported (-want +got):\n%s", diff)
	}
}
