package adminclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Delivery is one webhook delivery of the server's outbox: one event for
// one endpoint. The payload is left out (the receiver has it), and no
// secret is ever part of a delivery.
type Delivery struct {
	ID      string // "dlv_…"
	EventID string // "evt_…": the X-Wxlogin-Event-Id header the receiver saw
	Event   string // wxlogin.EventUserRegistered, …
	URL     string // the endpoint
	// State is wxlogin.DeliveryPending, DeliveryDelivered or
	// DeliveryFailed.
	State     string
	Attempts  int
	CreatedAt time.Time
	// NextAttemptAt and GiveUpAt are set only while the delivery is
	// pending: when it is due, and when it is marked failed if it keeps
	// failing.
	NextAttemptAt time.Time
	GiveUpAt      time.Time
	LastAttemptAt time.Time // zero before the first attempt ended
	LastStatus    int       // the endpoint's last HTTP status; 0 when none came
	LastError     string    // why the last attempt failed
}

// Deliveries returns the outbox's deliveries matching f, newest first as
// the server lists them, up to f.Limit (the server's default 100, at
// most 1000). A server whose store keeps no outbox answers not_found.
func (c *Client) Deliveries(ctx context.Context, f wxlogin.DeliveryFilter) ([]Delivery, error) {
	q := url.Values{}
	for k, v := range map[string]string{"state": f.State, "event": f.Event, "url": f.URL} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	path := "/v1/admin/webhooks"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out struct {
		Deliveries []deliveryJSON `json:"deliveries"`
	}
	if err := c.do(ctx, http.MethodGet, path, &out); err != nil {
		return nil, err
	}
	list := make([]Delivery, 0, len(out.Deliveries))
	for _, d := range out.Deliveries {
		list = append(list, d.delivery())
	}
	return list, nil
}

// Redeliver makes the delivery pending and due now, with a fresh day of
// retries, whatever its state, and returns it so: a receiver that lost an
// event, or was down for longer than a day, gets it again. The receiver
// sees the same event id, by which it drops a duplicate.
func (c *Client) Redeliver(ctx context.Context, deliveryID string) (Delivery, error) {
	var d deliveryJSON
	if err := c.do(ctx, http.MethodPost, "/v1/admin/webhooks/"+url.PathEscape(deliveryID)+"/redeliver", &d); err != nil {
		return Delivery{}, err
	}
	return d.delivery(), nil
}

type deliveryJSON struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id"`
	Event         string     `json:"event"`
	URL           string     `json:"url"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	GiveUpAt      *time.Time `json:"give_up_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	LastStatus    int        `json:"last_status"`
	LastError     string     `json:"last_error"`
}

func (d deliveryJSON) delivery() Delivery {
	out := Delivery{ID: d.ID, EventID: d.EventID, Event: d.Event, URL: d.URL, State: d.State,
		Attempts: d.Attempts, CreatedAt: d.CreatedAt, LastStatus: d.LastStatus, LastError: d.LastError}
	for _, t := range []struct {
		dst *time.Time
		src *time.Time
	}{{&out.NextAttemptAt, d.NextAttemptAt}, {&out.GiveUpAt, d.GiveUpAt}, {&out.LastAttemptAt, d.LastAttemptAt}} {
		if t.src != nil {
			*t.dst = *t.src
		}
	}
	return out
}
