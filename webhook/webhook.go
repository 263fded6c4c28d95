package webhook

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/webhooksig"
)

// Endpoint is one webhook receiver of the business system.
type Endpoint struct {
	URL    string
	Secret wxlogin.Secret // signs every delivery; from a file, never logged
	Events []string       // the event types it receives (wxlogin.EventTypes)
}

// Defaults of Config.
const (
	DefaultPollInterval   = time.Second
	DefaultAttemptTimeout = 10 * time.Second
	// GiveUpAfter is how long a delivery is retried: a receiver down for
	// most of a day still gets every event.
	GiveUpAfter = 24 * time.Hour
	// KeepFinished is how long delivered and failed deliveries stay in the
	// outbox, for the admin list, before they are deleted.
	KeepFinished = 7 * 24 * time.Hour
	// firstRetry and maxRetry bound the backoff: 10 s after the first
	// failure, doubling, at most an hour apart.
	firstRetry = 10 * time.Second
	maxRetry   = time.Hour
	// batch is how many deliveries one claim takes and sends at once.
	batch = 16
	// maxErrorLen bounds the last_error kept for the admin list.
	maxErrorLen = 200
)

// Config configures a Dispatcher.
type Config struct {
	Endpoints []Endpoint
	Store     wxlogin.OutboxStore
	// Now is the service's clock (auth's): due times, leases, signatures'
	// timestamps and give-up times follow it. Default time.Now.
	Now func() time.Time
	// Client sends the deliveries; default one that follows no redirect (a
	// 3xx is a failure: the signed request is for the configured URL).
	Client *http.Client
	// AttemptTimeout bounds one attempt; the lease is four times as long.
	AttemptTimeout time.Duration
	// PollInterval is how often the outbox is checked for due deliveries
	// besides the wake-ups after each change; default 1 s.
	PollInterval time.Duration
	Logger       *slog.Logger
	// Metrics is told how each attempt ended; nil: nobody.
	Metrics Metrics
}

// Metrics is told of each attempt's outcome, for monitoring: a receiver
// that is down shows as retries long before its deliveries fail.
type Metrics interface {
	// WebhookAttempt reports an attempt at a delivery of event (one of
	// wxlogin.EventTypes, or "other") and how it ended: Delivered, Retry
	// or Failed.
	WebhookAttempt(event, result string)
}

// The results WebhookAttempt reports.
const (
	Delivered = "delivered" // the endpoint answered 2xx
	Retry     = "retry"     // it failed; the delivery is tried again later
	Failed    = "failed"    // it failed, and the delivery gave up after a day of failures
)

type noMetrics struct{}

func (noMetrics) WebhookAttempt(string, string) {}

// ConfigError is an invalid endpoint: Field is "url", "secret" or "events"
// of Endpoints[Index], Problem says what is wrong without naming it.
type ConfigError struct {
	Index   int
	Field   string
	Problem string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("webhook: endpoint %d: %s: %s", e.Index, e.Field, e.Problem)
}

// CheckEndpoints reports the first invalid endpoint as a *ConfigError.
func CheckEndpoints(eps []Endpoint) error {
	seen := map[string]bool{}
	for i, ep := range eps {
		bad := func(field, format string, args ...any) error {
			return &ConfigError{Index: i, Field: field, Problem: fmt.Sprintf(format, args...)}
		}
		u, err := url.Parse(ep.URL)
		switch {
		case ep.URL == "":
			return bad("url", "is empty")
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			return bad("url", "%q is not an http(s) URL", clip(ep.URL, 100))
		case u.User != nil:
			return bad("url", "must not carry a user or password (the signature authenticates wxlogin)")
		case u.Fragment != "":
			return bad("url", "must not have a #fragment")
		case seen[ep.URL]:
			return bad("url", "%q is configured twice", ep.URL)
		}
		seen[ep.URL] = true
		if len(ep.Secret.Reveal()) < 16 {
			return bad("secret", "must be at least 16 characters")
		}
		if len(ep.Events) == 0 {
			return bad("events", "no events named (%s)", strings.Join(wxlogin.EventTypes(), ", "))
		}
		for _, e := range ep.Events {
			if !slices.Contains(wxlogin.EventTypes(), e) {
				return bad("events", "%q is not an event (%s)", clip(e, 64), strings.Join(wxlogin.EventTypes(), ", "))
			}
		}
	}
	return nil
}

// Dispatcher sends the outbox's deliveries. Start it with Start, stop it
// with Close.
type Dispatcher struct {
	endpoints map[string]Endpoint
	urls      []string
	store     wxlogin.OutboxStore
	now       func() time.Time
	client    *http.Client
	timeout   time.Duration
	poll      time.Duration
	log       *slog.Logger
	metrics   Metrics

	lastPrune time.Time // loop's own

	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// New returns a Dispatcher, or a *ConfigError for an invalid endpoint.
func New(cfg Config) (*Dispatcher, error) {
	if err := CheckEndpoints(cfg.Endpoints); err != nil {
		return nil, err
	}
	if cfg.Store == nil {
		return nil, errors.New("webhook: an outbox store is required")
	}
	d := &Dispatcher{
		endpoints: map[string]Endpoint{},
		store:     cfg.Store,
		now:       cfg.Now,
		client:    cfg.Client,
		timeout:   cfg.AttemptTimeout,
		poll:      cfg.PollInterval,
		log:       cfg.Logger,
		metrics:   cfg.Metrics,
		wake:      make(chan struct{}, 1),
	}
	if d.metrics == nil {
		d.metrics = noMetrics{}
	}
	for _, ep := range cfg.Endpoints {
		ep.Events = slices.Clone(ep.Events)
		d.endpoints[ep.URL] = ep
		d.urls = append(d.urls, ep.URL)
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.timeout <= 0 {
		d.timeout = DefaultAttemptTimeout
	}
	if d.poll <= 0 {
		d.poll = DefaultPollInterval
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.client == nil {
		d.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return d, nil
}

// payload is the JSON body of every delivery; docs/openapi.yaml documents
// it (WebhookEvent). It carries identifiers only: no session_key, token or
// secret, and no phone number, which wxlogin keeps sealed at rest while an
// outbox row would keep it in clear for a day; a receiver that wants the
// number asks GET /v1/admin/users/{id}.
type payload struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	CreatedAt   time.Time `json:"created_at"`
	AppID       string    `json:"appid"`
	UserID      string    `json:"user_id"`
	OpenID      string    `json:"openid"`
	UnionID     string    `json:"unionid,omitempty"`
	SessionIDs  []string  `json:"session_ids,omitempty"`
	AllSessions bool      `json:"all_sessions,omitempty"`
	By          string    `json:"by,omitempty"`
	// AccountID is the user's account (user.registered: the one it is in
	// or joined; account.merged: the one that stays).
	AccountID string `json:"account_id,omitempty"`
	// MergedAccountID is the account id account.merged says no longer
	// exists: the business system moves what it keeps under it to
	// AccountID.
	MergedAccountID string `json:"merged_account_id,omitempty"`
}

// Deliveries returns the outbox rows of e: one per endpoint subscribed to
// its type, due at once. auth hands them to the store with the change.
func (d *Dispatcher) Deliveries(e wxlogin.Event) []wxlogin.Delivery {
	var out []wxlogin.Delivery
	var body []byte
	for _, u := range d.urls {
		if !slices.Contains(d.endpoints[u].Events, e.Type) {
			continue
		}
		if body == nil {
			if e.ID == "" {
				e.ID = newID("evt_")
			}
			// Marshal cannot fail on these field types.
			body, _ = json.Marshal(payload{ID: e.ID, Type: e.Type, CreatedAt: e.At.UTC().Truncate(time.Microsecond),
				AppID: e.AppID, UserID: e.UserID, OpenID: e.OpenID, UnionID: e.UnionID,
				SessionIDs: e.SessionIDs, AllSessions: e.AllSessions, By: e.By,
				AccountID: e.AccountID, MergedAccountID: e.MergedAccountID})
		}
		out = append(out, wxlogin.Delivery{
			ID: newID("dlv_"), EventID: e.ID, Event: e.Type, URL: u, Payload: body,
			State: wxlogin.DeliveryPending, CreatedAt: e.At, NextAttemptAt: e.At, GiveUpAt: e.At.Add(GiveUpAfter),
		})
	}
	return out
}

// Wake makes the dispatcher look for due deliveries now rather than at its
// next poll; it never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Start runs the dispatcher in the background until Close.
func (d *Dispatcher) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done = cancel, make(chan struct{})
	go d.loop(ctx)
}

// Close stops the dispatcher and waits for attempts under way, which it
// cancels: a canceled attempt is sent again once its lease ends.
func (d *Dispatcher) Close() error {
	d.once.Do(func() {
		if d.cancel != nil {
			d.cancel()
			<-d.done
		}
	})
	return nil
}

func (d *Dispatcher) loop(ctx context.Context) {
	defer close(d.done)
	t := time.NewTicker(d.poll)
	defer t.Stop()
	for {
		d.prune(ctx)
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("webhook: claiming due deliveries failed; retrying at the next poll", "err", err)
		}
		if n == batch {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-t.C:
		}
	}
}

// prune deletes the deliveries finished KeepFinished ago, at most once an
// hour of the service's clock.
func (d *Dispatcher) prune(ctx context.Context) {
	now := d.now()
	if now.Sub(d.lastPrune) < time.Hour {
		return
	}
	d.lastPrune = now
	n, err := d.store.DeleteFinishedDeliveries(ctx, now.Add(-KeepFinished))
	switch {
	case err != nil && ctx.Err() == nil:
		d.log.Warn("webhook: deleting old finished deliveries failed; trying again in an hour", "err", err)
	case n > 0:
		d.log.Info("webhook: deleted old finished deliveries", "count", n, "older_than", KeepFinished.String())
	}
}

// RunOnce claims one batch of due deliveries, sends them and records the
// outcomes; it returns how many it claimed.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	now := d.now()
	ds, err := d.store.ClaimDeliveries(ctx, d.urls, now, now.Add(4*d.timeout), batch)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, dl := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.attempt(ctx, dl)
		}()
	}
	wg.Wait()
	return len(ds), nil
}

// attempt sends one claimed delivery and records how it went.
func (d *Dispatcher) attempt(ctx context.Context, dl wxlogin.Delivery) {
	status, sendErr := d.send(ctx, dl)
	if ctx.Err() != nil {
		return // shutting down: the lease runs out and the delivery is sent again
	}
	at := d.now()
	r := wxlogin.DeliveryResult{ID: dl.ID, Attempt: dl.Attempts, At: at, Status: status}
	log := d.log.With("delivery_id", dl.ID, "event_id", dl.EventID, "event", dl.Event, "url", dl.URL, "attempt", dl.Attempts, "status", status)
	event := dl.Event
	if !slices.Contains(wxlogin.EventTypes(), event) {
		event = "other" // a metric label comes from a fixed set
	}
	switch {
	case sendErr == nil:
		r.State = wxlogin.DeliveryDelivered
		log.Info("webhook: delivered")
		d.metrics.WebhookAttempt(event, Delivered)
	case !at.Before(dl.GiveUpAt):
		r.State, r.Error = wxlogin.DeliveryFailed, clip(sendErr.Error(), maxErrorLen)
		log.Error("webhook: gave up on a delivery after a day of failures; POST /v1/admin/webhooks/{id}/redeliver sends it again", "err", r.Error)
		d.metrics.WebhookAttempt(event, Failed)
	default:
		r.State, r.Error = wxlogin.DeliveryPending, clip(sendErr.Error(), maxErrorLen)
		r.NextAttemptAt = at.Add(Backoff(dl.Attempts))
		if r.NextAttemptAt.After(dl.GiveUpAt) {
			r.NextAttemptAt = dl.GiveUpAt // one last attempt when the day ends
		}
		log.Warn("webhook: delivery failed; will retry", "err", r.Error, "next_attempt_at", r.NextAttemptAt)
		d.metrics.WebhookAttempt(event, Retry)
	}
	// The outcome is recorded even if the dispatcher is closing now, but
	// not for longer than an attempt may take.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.timeout)
	defer cancel()
	if ok, err := d.store.FinishDelivery(rctx, r); err != nil {
		log.Warn("webhook: recording a delivery's outcome failed; it is sent again when its lease ends", "err", err)
	} else if !ok {
		log.Info("webhook: the outcome of an attempt whose lease ran out was not recorded: another attempt superseded it")
	}
}

// send POSTs a delivery, signed now, and returns the endpoint's status.
func (d *Dispatcher) send(ctx context.Context, dl wxlogin.Delivery) (int, error) {
	ep, ok := d.endpoints[dl.URL]
	if !ok {
		return 0, errors.New("endpoint not configured") // claims name only configured ones
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.URL, strings.NewReader(string(dl.Payload)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "wxlogin-webhook/1")
	req.Header.Set(webhooksig.EventIDHeader, dl.EventID)
	req.Header.Set(webhooksig.EventHeader, dl.Event)
	req.Header.Set("X-Wxlogin-Delivery-Id", dl.ID)
	req.Header.Set(webhooksig.SignatureHeader, webhooksig.Sign([]byte(ep.Secret.Reveal()), d.now(), dl.Payload))
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, sendError(err)
	}
	// Drain a little so the connection can be reused; the body itself is
	// the receiver's business and never recorded.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// sendError is a transport failure without the request URL, which the
// delivery names already.
func sendError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Backoff is the wait after the attempt-th failed attempt: 10 s doubling
// to at most an hour, each wait drawn from its upper half so that the
// deliveries of one outage do not all come back at the same instant.
func Backoff(attempt int) time.Duration {
	d := maxRetry
	if attempt >= 1 && attempt < 20 {
		d = min(firstRetry<<(attempt-1), maxRetry)
	}
	return d/2 + rand.N(d/2+1)
}

func newID(prefix string) string {
	var b [16]byte
	crand.Read(b[:]) // never fails (crypto/rand panics instead)
	return prefix + hex.EncodeToString(b[:])
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
