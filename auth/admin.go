package auth

// This file holds the admin use cases, behind /v1/admin: the caller has
// already checked the admin token.

import (
	"context"
	"errors"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// AdminFindUsers finds users by openid, unionid, appid.
func (s *Service) AdminFindUsers(ctx context.Context, f wxlogin.UserFilter) ([]wxlogin.User, error) {
	us, err := s.users.FindUsers(ctx, f)
	if err != nil {
		return nil, s.storeFailed(err)
	}
	for i := range us {
		if err := s.openUser(&us[i]); err != nil {
			s.log.ErrorContext(ctx, "auth: cannot open a user's sealed data", "user_id", us[i].ID, "err", err)
			return nil, err
		}
	}
	return us, nil
}

// AdminUser returns a user by id.
func (s *Service) AdminUser(ctx context.Context, id string) (wxlogin.User, error) {
	u, err := s.user(ctx, id)
	if errors.Is(err, wxlogin.ErrNotFound) {
		return wxlogin.User{}, wxlogin.Errorf(wxlogin.ENotFound, "no such user")
	}
	if err != nil {
		return wxlogin.User{}, s.storeFailed(err)
	}
	return u, nil
}

// AdminUserSessions lists a user's sessions.
func (s *Service) AdminUserSessions(ctx context.Context, userID string) ([]SessionInfo, error) {
	if _, err := s.AdminUser(ctx, userID); err != nil {
		return nil, err // an unknown user is not found rather than sessionless
	}
	ss, err := s.sessions.UserSessions(ctx, userID)
	if err != nil {
		return nil, s.storeFailed(err)
	}
	return s.sessionInfos(ss, ""), nil
}

// AdminRevokeUserSessions ends every session of a user; ENotFound for an
// unknown user, as its GET and DELETE answer, rather than a 204 that would
// tell an operator a typo had logged someone out.
func (s *Service) AdminRevokeUserSessions(ctx context.Context, userID string) error {
	u, err := s.AdminUser(ctx, userID)
	if err != nil {
		return err
	}
	n, err := s.revokeUser(ctx, userID, revokedEvent(principalOf(u), byAdmin))
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "auth: admin revoked all sessions of a user", "user_id", userID, "count", n)
	return nil
}

// AdminRevokeSession ends one session by id.
func (s *Service) AdminRevokeSession(ctx context.Context, id string) error {
	sess, err := s.ownSession(ctx, "", id)
	if err != nil {
		return err
	}
	owner := wxlogin.Principal{UserID: sess.UserID, AppID: sess.AppID, OpenID: sess.OpenID, UnionID: sess.UnionID}
	if err := s.revokeSession(ctx, id, revokedEvent(owner, byAdmin, id)); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "auth: admin revoked a session", "session_id", id)
	return nil
}

// AdminEraseUser erases a user and everything of theirs.
func (s *Service) AdminEraseUser(ctx context.Context, id string) error {
	if _, err := s.AdminUser(ctx, id); err != nil {
		return err
	}
	return s.erase(ctx, id, byAdmin)
}

// AccessToken returns the app's cached WeChat access token, so the app's
// other backends share it instead of fetching their own.
func (s *Service) AccessToken(ctx context.Context, appid string) (wechat.Token, error) {
	app, ok := s.live().appByID[appid]
	if !ok {
		return wechat.Token{}, wxlogin.Errorf(wxlogin.EUnknownApp, "appid %q is not configured on this server", clip(appid, 64))
	}
	t, err := s.wechat.AccessToken(ctx, app)
	if err != nil {
		return wechat.Token{}, s.upstreamErr(ctx, app, "access_token", err, "WeChat refused to issue an access token")
	}
	return t, nil
}

// RotateKeys re-seals every stored session_key and every user's personal
// data under the primary master key (sealing any still in clear) and
// returns how many sessions and users changed.
func (s *Service) RotateKeys(ctx context.Context) (int, error) {
	keys := s.live().keys
	n, err := s.sessions.ResealSessionKeys(ctx, keys.Reseal)
	if err != nil {
		s.log.ErrorContext(ctx, "auth: re-sealing session keys failed", "resealed", n, "primary_key", keys.PrimaryID(), "err", err)
		return n, s.storeFailed(err)
	}
	s.log.InfoContext(ctx, "auth: session keys re-sealed", "count", n, "primary_key", keys.PrimaryID())
	users, err := s.users.ResealUsers(ctx, s.resealUser)
	if err != nil {
		s.log.ErrorContext(ctx, "auth: re-sealing users' personal data failed", "resealed", users, "primary_key", keys.PrimaryID(), "err", err)
		return n + users, s.storeFailed(err)
	}
	s.log.InfoContext(ctx, "auth: users' personal data re-sealed", "count", users, "primary_key", keys.PrimaryID())
	return n + users, nil
}
