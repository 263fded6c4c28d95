package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/webhook"
	"github.com/wxlogin/wxlogin/webhooksig"
)

type deliveryBody struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id"`
	Event         string     `json:"event"`
	URL           string     `json:"url"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	LastStatus    int        `json:"last_status"`
	LastError     string     `json:"last_error"`
}

type deliveriesBody struct {
	Deliveries []deliveryBody `json:"deliveries"`
}

// hookSink is a webhook endpoint that counts what it got by event id and
// answers 204, or 500 while failing is set.
type hookSink struct {
	secret  string
	failing atomic.Bool
	mu      sync.Mutex
	byEvent map[string]int
	bad     int      // requests whose signature did not verify
	bodies  [][]byte // every request's body, in order
	srv     *httptest.Server
	now     func() time.Time
}

func newHookSink(t *testing.T, secret string, now func() time.Time) *hookSink {
	s := &hookSink{secret: secret, byEvent: map[string]int{}, now: now}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		err := webhooksig.Verify([]byte(s.secret), r.Header.Get(webhooksig.SignatureHeader), b, s.now(), 0)
		var p struct{ ID string }
		json.Unmarshal(b, &p)
		s.mu.Lock()
		if err != nil || p.ID != r.Header.Get(webhooksig.EventIDHeader) {
			s.bad++
		}
		s.byEvent[p.ID]++
		s.bodies = append(s.bodies, b)
		s.mu.Unlock()
		if s.failing.Load() {
			w.WriteHeader(500)
			return
		}
		w.WriteHeader(204)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *hookSink) count(eventID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byEvent[eventID]
}

// withWebhooks sends every event to sink through dispatchers the test runs
// by hand (RunOnce), two of them as two instances on one store.
func withWebhooks(sink *hookSink, dispatchers *[2]*webhook.Dispatcher) option {
	return func(w *world, a *auth.Config, _ *httpapi.Config) {
		ob := w.db.(wxlogin.OutboxStore)
		for i := range dispatchers {
			d, err := webhook.New(webhook.Config{
				Endpoints: []webhook.Endpoint{{URL: sink.srv.URL, Secret: wxlogin.Secret(sink.secret), Events: wxlogin.EventTypes()}},
				Store:     ob, Now: w.clock.Now,
			})
			if err != nil {
				w.t.Fatal(err)
			}
			dispatchers[i] = d
		}
		a.Webhooks = dispatchers[0]
	}
}

// TestE2EWebhooks checks the admin routes of the outbox, and that two
// instances' dispatchers on one store send each delivery once.
func TestE2EWebhooks(t *testing.T) { eachStore(t, testE2EWebhooks) }

func testE2EWebhooks(t *testing.T, kind storeKind) {
	var ds [2]*webhook.Dispatcher
	var w *world
	sink := newHookSink(t, "whsec-httpapi-e2e-secret", func() time.Time { return w.clock.Now() })
	w = newWorldOn(t, kind, withWebhooks(sink, &ds))
	list := func(query string) []deliveryBody {
		t.Helper()
		var b deliveriesBody
		w.request("GET", "/v1/admin/webhooks"+query, adminToken, nil).ok(t, 200, &b)
		return b.Deliveries
	}

	// Six registrations, then both instances send at once.
	for _, u := range []string{"u1", "u2", "u3", "u4", "u5", "u6"} {
		w.login(app1, u)
	}
	pending := list("?state=pending")
	if len(pending) != 6 {
		t.Fatalf("pending deliveries after six registrations: %d, want 6", len(pending))
	}
	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.RunOnce(t.Context()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, d := range pending {
		if n := sink.count(d.EventID); n != 1 {
			t.Errorf("event %s received %d times from two instances, want once", d.EventID, n)
		}
	}
	if got := list("?state=delivered&event=user.registered"); len(got) != 6 || got[0].Attempts != 1 || got[0].NextAttemptAt != nil {
		t.Errorf("delivered: %+v, want six, one attempt each, no next attempt", got)
	}

	// A failing endpoint: the delivery stays pending with the status.
	sink.failing.Store(true)
	tok := w.login(app1, "u1").Token
	w.request("DELETE", "/v1/sessions", tok, nil).ok(t, 204, nil)
	if _, err := ds[1].RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	revoked := list("?event=sessions.revoked")
	if len(revoked) != 1 || revoked[0].State != "pending" || revoked[0].LastStatus != 500 || revoked[0].LastError != "HTTP 500" || revoked[0].NextAttemptAt == nil {
		t.Fatalf("after a 500: %+v", revoked)
	}
	sink.failing.Store(false)
	var again deliveryBody
	w.request("POST", "/v1/admin/webhooks/"+revoked[0].ID+"/redeliver", adminToken, nil).ok(t, 200, &again)
	if again.State != "pending" || again.ID != revoked[0].ID {
		t.Errorf("redeliver: %+v", again)
	}
	if _, err := ds[0].RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := list("?event=sessions.revoked"); got[0].State != "delivered" || got[0].Attempts != 2 || sink.count(got[0].EventID) != 2 {
		t.Errorf("after the redelivery: %+v, received %d times", got, sink.count(got[0].EventID))
	}
	if len(list("?limit=2")) != 2 {
		t.Error("limit=2 did not limit")
	}
	sink.mu.Lock()
	if sink.bad != 0 {
		t.Errorf("%d requests failed signature verification", sink.bad)
	}
	sink.mu.Unlock()

	w.request("GET", "/v1/admin/webhooks?state=lost", adminToken, nil).fails(t, 400, "invalid_request")
	w.request("GET", "/v1/admin/webhooks?event=user.created", adminToken, nil).fails(t, 400, "invalid_request")
	w.request("GET", "/v1/admin/webhooks?limit=1001", adminToken, nil).fails(t, 400, "invalid_request")
	w.request("POST", "/v1/admin/webhooks/dlv_unknown/redeliver", adminToken, nil).fails(t, 404, "not_found")
	w.request("POST", "/v1/admin/webhooks/x/redeliver", adminToken, nil).fails(t, 404, "not_found")
	w.request("GET", "/v1/admin/webhooks", "", nil).fails(t, 401, "unauthorized")
}

// TestWebhooksNeedAnOutbox checks auth's refusal of webhooks on split
// stores, where an event cannot share its change's transaction.
func TestWebhooksNeedAnOutbox(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	d, err := webhook.New(webhook.Config{
		Endpoints: []webhook.Endpoint{{URL: "https://h.example/x", Secret: "whsec-0123456789abcdef", Events: wxlogin.EventTypes()}},
		Store:     w.db.(wxlogin.OutboxStore),
	})
	if err != nil {
		t.Fatal(err)
	}
	other := newWorld(t)
	cfg := w.acfg
	cfg.Webhooks, cfg.Sessions = d, other.db
	if _, err := auth.New(cfg); err == nil {
		t.Error("auth.New accepted webhooks with users and sessions in different stores")
	}
}
