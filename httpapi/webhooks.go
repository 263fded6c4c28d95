package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/wxlogin/wxlogin"
)

// deliveryJSON is one outbox row as GET /v1/admin/webhooks shows it. It
// leaves out the payload, which the receiver has, and holds no secret: the
// endpoint's secret is never stored with its deliveries.
type deliveryJSON struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id"`
	Event         string     `json:"event"`
	URL           string     `json:"url"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"` // pending only
	GiveUpAt      *time.Time `json:"give_up_at,omitempty"`      // pending only
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty"`
	LastStatus    int        `json:"last_status,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
}

type deliveriesResponse struct {
	Deliveries []deliveryJSON `json:"deliveries"`
}

func toDelivery(d wxlogin.Delivery) deliveryJSON {
	out := deliveryJSON{ID: d.ID, EventID: d.EventID, Event: d.Event, URL: d.URL, State: d.State,
		Attempts: d.Attempts, CreatedAt: d.CreatedAt.UTC(), LastStatus: d.LastStatus, LastError: d.LastError}
	if d.State == wxlogin.DeliveryPending {
		next, giveUp := d.NextAttemptAt.UTC(), d.GiveUpAt.UTC()
		out.NextAttemptAt, out.GiveUpAt = &next, &giveUp
	}
	if !d.LastAttemptAt.IsZero() {
		last := d.LastAttemptAt.UTC()
		out.LastAttemptAt = &last
	}
	return out
}

func (s *Server) adminWebhooks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := wxlogin.DeliveryFilter{State: q.Get("state"), Event: q.Get("event"), URL: q.Get("url")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxAdminLimit {
			s.writeError(w, r, wxlogin.Errorf(wxlogin.EInvalidRequest, "parameter \"limit\" must be a whole number from 1 to %d", maxAdminLimit))
			return
		}
		f.Limit = n
	}
	ds, err := s.svc.AdminDeliveries(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := deliveriesResponse{Deliveries: make([]deliveryJSON, 0, len(ds))}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, toDelivery(d))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) adminRedeliver(w http.ResponseWriter, r *http.Request) {
	d, err := s.svc.AdminRedeliver(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toDelivery(d))
}
