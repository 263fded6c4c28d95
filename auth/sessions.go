package auth

// This file holds the use cases of a user's sessions (list, logout,
// revoke) and how a revocation reaches the verification caches.

import (
	"context"
	"errors"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Logout ends the principal's session at once.
func (s *Service) Logout(ctx context.Context, p wxlogin.Principal) error {
	if err := s.revokeSession(ctx, p.SessionID, revokedEvent(p, byUser, p.SessionID)); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "auth: logout", "user_id", p.UserID, "session_id", p.SessionID)
	return nil
}

// SessionInfo is one session as the sessions list shows it. httpapi owns
// its JSON form.
type SessionInfo struct {
	ID         string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	UserAgent  string
	IP         string
	Current    bool
}

// Sessions lists the principal's user's live sessions.
func (s *Service) Sessions(ctx context.Context, p wxlogin.Principal) ([]SessionInfo, error) {
	ss, err := s.sessions.UserSessions(ctx, p.UserID)
	if err != nil {
		return nil, s.storeFailed(err)
	}
	return s.sessionInfos(ss, p.SessionID), nil
}

// RevokeSession ends one of the principal's user's sessions; ENotFound when
// id is not one of them.
func (s *Service) RevokeSession(ctx context.Context, p wxlogin.Principal, id string) error {
	if _, err := s.ownSession(ctx, p.UserID, id); err != nil {
		return err
	}
	if err := s.revokeSession(ctx, id, revokedEvent(p, byUser, id)); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "auth: session revoked", "user_id", p.UserID, "session_id", id, "by_session_id", p.SessionID)
	return nil
}

// RevokeAllSessions ends every session of the principal's user.
func (s *Service) RevokeAllSessions(ctx context.Context, p wxlogin.Principal) error {
	n, err := s.revokeUser(ctx, p.UserID, revokedEvent(p, byUser))
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "auth: all sessions revoked", "user_id", p.UserID, "count", n)
	return nil
}

// revokeSession deletes one session and makes its token fail at once; the
// event is written with the deletion, if the session was there.
func (s *Service) revokeSession(ctx context.Context, id string, e wxlogin.Event) error {
	if err := s.deleteSession(ctx, id, s.deliveries(e)); err != nil {
		return s.storeFailed(err)
	}
	s.announce(ctx, Revocation{SessionID: id})
	return nil
}

// revokeUser deletes every session of a user and makes their tokens fail at
// once; the event is written with the deletion, if there were sessions.
func (s *Service) revokeUser(ctx context.Context, userID string, e wxlogin.Event) (int, error) {
	n, err := s.deleteUserSessions(ctx, userID, s.deliveries(e))
	if err != nil {
		return 0, s.storeFailed(err)
	}
	s.announce(ctx, Revocation{UserID: userID})
	return n, nil
}

// announce drops a revocation's cache entries here and tells the other
// instances. The store was changed first: that order is what the cache's
// generation guard relies on. It answers nothing: the sessions are already
// gone from the store, so the revocation has happened, and an error here
// would tell the client to retry a logout that worked. A publish that fails
// is retried in the background (see republish); until one succeeds, other
// instances stop accepting the token at their next touch at the latest.
func (s *Service) announce(ctx context.Context, r Revocation) {
	s.dropCached(r)
	if s.revoked == nil {
		return
	}
	err := s.revoked.Publish(ctx, r)
	if err == nil {
		return
	}
	s.log.ErrorContext(ctx, "auth: publishing a revocation failed; retrying in the background",
		"session_id", r.SessionID, "user_id", r.UserID, "err", err)
	go s.republish(r)
}

// republish retries a revocation's publication with backoff for up to one
// touch interval: past that, every other instance has rechecked the store
// at a touch and learnt of the deletion on its own. Close ends it.
func (s *Service) republish(r Revocation) {
	deadline := time.Now().Add(s.touchEvery)
	for wait := 100 * time.Millisecond; time.Now().Add(wait).Before(deadline); wait = min(2*wait, 5*time.Second) {
		select {
		case <-s.sweepCtx.Done():
			return
		case <-time.After(wait):
		}
		ctx, cancel := context.WithTimeout(s.sweepCtx, time.Second)
		err := s.revoked.Publish(ctx, r)
		cancel()
		if err == nil {
			s.log.Info("auth: revocation published after a retry", "session_id", r.SessionID, "user_id", r.UserID)
			return
		}
	}
	s.log.Warn("auth: gave up publishing a revocation; other instances learn of it at their next touch",
		"session_id", r.SessionID, "user_id", r.UserID)
}

// dropCached drops the cached sessions a revocation names. The revocation
// subscription calls it for each revocation another instance published; it
// is also what every local revocation does here.
func (s *Service) dropCached(r Revocation) {
	if r.SessionID != "" {
		s.cache.forgetSession(r.SessionID)
	}
	if r.UserID != "" {
		s.cache.forgetUser(r.UserID)
	}
}

// sessionInfos lists the live sessions among ss; current is the id of the
// session asking, if any.
func (s *Service) sessionInfos(ss []wxlogin.Session, current string) []SessionInfo {
	now := s.now()
	out := make([]SessionInfo, 0, len(ss))
	for i := range ss {
		x := &ss[i]
		if x.Expired(now) {
			continue
		}
		out = append(out, SessionInfo{
			ID:         x.ID,
			CreatedAt:  x.CreatedAt,
			LastSeenAt: x.LastSeenAt,
			ExpiresAt:  x.Deadline(),
			UserAgent:  x.UserAgent,
			IP:         x.IP,
			Current:    x.ID == current,
		})
	}
	return out
}

// ownSession returns the session id if it belongs to userID, and ENotFound
// otherwise: whether another user's session exists is not the caller's
// business.
func (s *Service) ownSession(ctx context.Context, userID, id string) (wxlogin.Session, error) {
	notFound := wxlogin.Errorf(wxlogin.ENotFound, "no such session")
	if !validID("ses_", id) {
		return wxlogin.Session{}, notFound
	}
	sess, err := s.sessions.Session(ctx, id)
	if errors.Is(err, wxlogin.ErrNotFound) || err == nil && userID != "" && sess.UserID != userID {
		return wxlogin.Session{}, notFound
	}
	if err != nil {
		return wxlogin.Session{}, s.storeFailed(err)
	}
	return sess, nil
}

// Dev-only controls (wxlogin dev's /dev/v1/); never reachable in serve.
// ExpireSession makes a session expire now (both deadlines).
func (s *Service) ExpireSession(ctx context.Context, id string) error {
	sess, err := s.ownSession(ctx, "", id)
	if err != nil {
		return err
	}
	// The idle deadline is the one Touch can move; at now, Deadline (the
	// earlier of the two) is now as well.
	if err := s.sessions.TouchSession(ctx, id, sess.LastSeenAt, s.now()); err != nil {
		return s.storeFailed(err)
	}
	s.announce(ctx, Revocation{SessionID: id})
	return nil
}
