package auth

// This file holds how the use cases report their changes to webhooks: the
// events' deliveries go to the store with the change itself (see
// wxlogin.OutboxStore), and the admin view of the outbox.

import (
	"context"
	"slices"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Webhooks turns events into outbox rows and sends them;
// *webhook.Dispatcher implements it.
type Webhooks interface {
	// Deliveries returns the outbox rows of e, one per endpoint subscribed
	// to its type; none when no endpoint is.
	Deliveries(e wxlogin.Event) []wxlogin.Delivery
	// Wake tells the sender that deliveries were committed, so that it
	// sends them now rather than at its next poll. It must not block.
	Wake()
}

// Who made a change, as events say (wxlogin.Event.By).
const (
	byUser  = "user"
	byAdmin = "admin"
	// bySessionKey: the wechat session policy ended a session whose
	// user's session_key WeChat no longer accepts.
	bySessionKey = "session_key"
)

// redeliverWindow is how long a redelivered delivery is retried again.
const redeliverWindow = 24 * time.Hour

// deliveries returns the outbox rows of an event of now; none without
// webhooks, so that a server without them writes exactly what it did
// before.
func (s *Service) deliveries(e wxlogin.Event) []wxlogin.Delivery {
	if s.hooks == nil {
		return nil
	}
	e.ID, e.At = newID("evt_"), s.now()
	return s.hooks.Deliveries(e)
}

// delivered tells the sender that ds were committed.
func (s *Service) delivered(ds []wxlogin.Delivery) {
	if len(ds) > 0 {
		s.hooks.Wake()
	}
}

// ensureUser is EnsureUser of a login to app, writing the deliveries of
// what it changed (see userDeliveries); before is what the login read of
// the users holding the unionid (unionGroupBefore). The events are built
// only then, inside the store's write: a returning user's login that
// changes nothing, the common case, builds nothing.
func (s *Service) ensureUser(ctx context.Context, app wxlogin.App, u wxlogin.User, before []wxlogin.User) (wxlogin.User, bool, error) {
	if s.hooks == nil {
		return s.users.EnsureUser(ctx, u)
	}
	var ds []wxlogin.Delivery
	got, created, err := s.outbox.EnsureUserWithDeliveries(ctx, u, s.userDeliveries(app.OpenPlatform, before, &ds))
	if err == nil {
		s.delivered(ds)
	}
	return got, created, err
}

// userDeliveries returns the deliveries callback of a login's EnsureUser,
// which also keeps what it last returned in *ds (the store may call it
// more than once): user.registered for a registration, naming the account
// the user is in (one of its own, or the one it joins by its unionid), and
// account.merged for a recorded unionid that merges two accounts. It runs
// inside the store's write, so it computes from what the login read before
// (before, the users holding the unionid, and the live apps) and reads
// nothing. op is the login's app's Open Platform account.
func (s *Service) userDeliveries(op string, before []wxlogin.User, ds *[]wxlogin.Delivery) func(wxlogin.UserChange) []wxlogin.Delivery {
	return func(c wxlogin.UserChange) []wxlogin.Delivery {
		u := c.User
		e := wxlogin.Event{AppID: u.AppID, UserID: u.ID, OpenID: u.OpenID, UnionID: u.UnionID}
		switch c.Kind {
		case wxlogin.UserRegistered:
			e.Type, e.AccountID = wxlogin.EventUserRegistered, s.accountAfter(op, u, before)
		case wxlogin.UnionIDRecorded:
			m, ok := s.mergeOf(op, u, c.PreviousUnionID, before)
			if !ok {
				*ds = nil // joined nothing, or only moved: no account disappeared
				return nil
			}
			e.Type, e.AccountID, e.MergedAccountID = wxlogin.EventAccountMerged, m.survivor, m.merged
		default:
			*ds = nil
			return nil
		}
		*ds = s.deliveries(e)
		return *ds
	}
}

func (s *Service) deleteUser(ctx context.Context, id string, ds []wxlogin.Delivery) error {
	if len(ds) == 0 {
		return s.users.DeleteUser(ctx, id)
	}
	err := s.outbox.DeleteUserWithDeliveries(ctx, id, ds)
	if err == nil {
		s.delivered(ds)
	}
	return err
}

func (s *Service) deleteSession(ctx context.Context, id string, ds []wxlogin.Delivery) error {
	if len(ds) == 0 {
		return s.sessions.DeleteSession(ctx, id)
	}
	err := s.outbox.DeleteSessionWithDeliveries(ctx, id, ds)
	if err == nil {
		s.delivered(ds)
	}
	return err
}

func (s *Service) deleteUserSessions(ctx context.Context, userID string, ds []wxlogin.Delivery) (int, error) {
	if len(ds) == 0 {
		return s.sessions.DeleteUserSessions(ctx, userID)
	}
	n, err := s.outbox.DeleteUserSessionsWithDeliveries(ctx, userID, ds)
	if err == nil && n > 0 {
		s.delivered(ds)
	}
	return n, err
}

// revokedEvent is the sessions.revoked event of a user's sessions ids,
// or of all of them when ids is empty.
func revokedEvent(u wxlogin.Principal, by string, ids ...string) wxlogin.Event {
	return wxlogin.Event{Type: wxlogin.EventSessionsRevoked, AppID: u.AppID, UserID: u.UserID, OpenID: u.OpenID,
		UnionID: u.UnionID, SessionIDs: ids, AllSessions: len(ids) == 0, By: by}
}

// principalOf is the principal fields of a user, for the events about it.
func principalOf(u wxlogin.User) wxlogin.Principal {
	return wxlogin.Principal{UserID: u.ID, AppID: u.AppID, OpenID: u.OpenID, UnionID: u.UnionID}
}

// AdminDeliveries lists the outbox's deliveries, newest first.
// ENotFound when the store keeps no outbox.
func (s *Service) AdminDeliveries(ctx context.Context, f wxlogin.DeliveryFilter) ([]wxlogin.Delivery, error) {
	if s.outbox == nil {
		return nil, errNoOutbox()
	}
	switch {
	case f.State != "" && !slices.Contains([]string{wxlogin.DeliveryPending, wxlogin.DeliveryDelivered, wxlogin.DeliveryFailed}, f.State):
		return nil, wxlogin.Errorf(wxlogin.EInvalidRequest, "state must be pending, delivered or failed")
	case f.Event != "" && !slices.Contains(wxlogin.EventTypes(), f.Event):
		return nil, wxlogin.Errorf(wxlogin.EInvalidRequest, "event %q is not an event", clip(f.Event, 64))
	}
	ds, err := s.outbox.Deliveries(ctx, f)
	if err != nil {
		return nil, s.storeFailed(err)
	}
	return ds, nil
}

// AdminRedeliver makes a delivery pending and due now, with a fresh day
// of retries, whatever its state: a receiver that lost an event, or one
// that was down for longer than a day, gets it again.
func (s *Service) AdminRedeliver(ctx context.Context, id string) (wxlogin.Delivery, error) {
	if s.outbox == nil {
		return wxlogin.Delivery{}, errNoOutbox()
	}
	if !validDeliveryID(id) {
		return wxlogin.Delivery{}, wxlogin.Errorf(wxlogin.ENotFound, "no such delivery")
	}
	now := s.now()
	d, err := s.outbox.RedeliverDelivery(ctx, id, now, now.Add(redeliverWindow))
	if err != nil {
		if wxlogin.ErrorCode(err) == wxlogin.ENotFound {
			return wxlogin.Delivery{}, wxlogin.Errorf(wxlogin.ENotFound, "no such delivery")
		}
		return wxlogin.Delivery{}, s.storeFailed(err)
	}
	if s.hooks != nil {
		s.hooks.Wake()
	}
	s.log.InfoContext(ctx, "auth: admin redelivered a webhook delivery", "delivery_id", id)
	return d, nil
}

func errNoOutbox() error {
	return wxlogin.Errorf(wxlogin.ENotFound, "this server's store keeps no webhook outbox")
}

// validDeliveryID reports whether id could be a delivery id: "dlv_" and
// up to 60 URL-safe characters.
func validDeliveryID(id string) bool {
	if len(id) <= 4 || len(id) > 64 || id[:4] != "dlv_" {
		return false
	}
	for i := 4; i < len(id); i++ {
		if b64url[id[i]] == 0xff {
			return false
		}
	}
	return true
}
