package auth_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/webhook"
)

// withWebhooks subscribes one endpoint to every event. The dispatcher is
// never started: the tests read the outbox the use cases wrote.
func withWebhooks(e *env, c *auth.Config) {
	d, err := webhook.New(webhook.Config{Store: e.db, Now: e.clock.Now,
		Endpoints: []webhook.Endpoint{{URL: "https://biz.example/hook", Secret: "whsec-0123456789abcdef", Events: wxlogin.EventTypes()}}})
	if err != nil {
		e.t.Fatal(err)
	}
	c.Webhooks = d
}

// events returns the payloads of the outbox's events of type typ, oldest
// first.
func events(t *testing.T, e *env, typ string) []map[string]any {
	t.Helper()
	ds, err := e.db.Deliveries(t.Context(), wxlogin.DeliveryFilter{Event: typ, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for i := len(ds) - 1; i >= 0; i-- {
		var p map[string]any
		if err := json.Unmarshal(ds[i].Payload, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// TestEventsOnlyForChanges checks that each use case writes its event when
// it changed something, and only then.
func TestEventsOnlyForChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWebhooks)
	ctx := context.Background()
	first := e.login(ctx, app1, "alice")
	e.login(ctx, app1, "alice") // returning: nothing
	reg := events(t, e, wxlogin.EventUserRegistered)
	if len(reg) != 1 || reg[0]["user_id"] != first.User.ID || reg[0]["openid"] != first.User.OpenID || reg[0]["by"] != nil {
		t.Fatalf("user.registered events: %v, want one of alice", reg)
	}

	p := e.verify(ctx, first.Token)
	if err := e.svc.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second) // the list orders by time: keep the two apart
	if err := e.svc.AdminRevokeUserSessions(ctx, first.User.ID); err != nil {
		t.Fatal(err)
	}
	// Nothing left to revoke: no event.
	if err := e.svc.AdminRevokeUserSessions(ctx, first.User.ID); err != nil {
		t.Fatal(err)
	}
	rev := events(t, e, wxlogin.EventSessionsRevoked)
	if len(rev) != 2 {
		t.Fatalf("sessions.revoked events: %v, want the logout and one revoke-all", rev)
	}
	if ids, _ := rev[0]["session_ids"].([]any); len(ids) != 1 || ids[0] != p.SessionID || rev[0]["by"] != "user" {
		t.Errorf("the logout's event: %v", rev[0])
	}
	if rev[1]["all_sessions"] != true || rev[1]["by"] != "admin" {
		t.Errorf("the admin revoke-all's event: %v", rev[1])
	}

	again := e.login(ctx, app1, "alice")
	pa := e.verify(ctx, again.Token)
	if err := e.svc.EraseMe(ctx, pa); err != nil {
		t.Fatal(err)
	}
	// A retried erasure finds no user: no second event.
	if err := e.svc.EraseMe(ctx, pa); err != nil {
		t.Fatal(err)
	}
	if er := events(t, e, wxlogin.EventUserErased); len(er) != 1 || er[0]["user_id"] != first.User.ID || er[0]["by"] != "user" {
		t.Errorf("user.erased events: %v, want one, by the user", er)
	}
}

// TestNoWebhooksWritesNoOutbox checks that a service without webhooks
// leaves the outbox empty.
func TestNoWebhooksWritesNoOutbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	r := e.login(ctx, app1, "alice")
	if err := e.svc.EraseMe(ctx, e.verify(ctx, r.Token)); err != nil {
		t.Fatal(err)
	}
	if ds, err := e.db.Deliveries(ctx, wxlogin.DeliveryFilter{}); err != nil || len(ds) != 0 {
		t.Errorf("outbox without webhooks: %d deliveries, %v", len(ds), err)
	}
}

// TestLoginWithWebhooksIsOneTransaction: with webhooks on a store that
// writes a login in one transaction, a registering login still does so,
// its user.registered delivery in that transaction (one group write, no
// other), and a returning user's login is one write with no event.
func TestLoginWithWebhooksIsOneTransaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWebhooks)
	ctx := context.Background()
	_, w0 := e.db.GroupStats()
	first := e.login(ctx, app1, "alice")
	if _, w := e.db.GroupStats(); w != w0+1 {
		t.Errorf("a registering login with webhooks made %d group writes, want 1 (the one-transaction login)", w-w0)
	}
	reg := events(t, e, wxlogin.EventUserRegistered)
	if len(reg) != 1 || reg[0]["user_id"] != first.User.ID || !first.Created {
		t.Fatalf("user.registered events: %v (created %v), want one of alice", reg, first.Created)
	}
	if p := e.verify(ctx, first.Token); p.UserID != first.User.ID {
		t.Errorf("the login's token verifies as %s, want %s", p.UserID, first.User.ID)
	}
	_, w1 := e.db.GroupStats()
	e.login(ctx, app1, "alice")
	if _, w := e.db.GroupStats(); w != w1+1 {
		t.Errorf("a returning login with webhooks made %d group writes, want 1", w-w1)
	}
	if reg := events(t, e, wxlogin.EventUserRegistered); len(reg) != 1 {
		t.Errorf("%d user.registered events after a returning login, want 1", len(reg))
	}
}
