package wxlogin

import "time"

// TokenHash is the SHA-256 of a login token. Stores keep only this: a dump of
// the store reveals no usable token.
type TokenHash [32]byte

// Session is one login of one user on one device.
type Session struct {
	ID        string
	TokenHash TokenHash
	UserID    string
	AppID     string
	OpenID    string // copied from the user so verification needs no user lookup
	UnionID   string

	// SealedSessionKey is the user's WeChat session_key as of this session,
	// sealed (AES-GCM under the master key). Never stored or sent in clear.
	SealedSessionKey []byte

	CreatedAt     time.Time
	LastSeenAt    time.Time
	IdleExpiresAt time.Time // LastSeenAt + idle timeout; moved by Touch
	ExpiresAt     time.Time // CreatedAt + absolute lifetime; never moves

	UserAgent string
	IP        string
}

// Deadline returns the earlier of the idle and the absolute deadline.
func (s *Session) Deadline() time.Time {
	if s.IdleExpiresAt.Before(s.ExpiresAt) {
		return s.IdleExpiresAt
	}
	return s.ExpiresAt
}

// Expired reports whether the session is past its deadline at now.
func (s *Session) Expired(now time.Time) bool { return !now.Before(s.Deadline()) }

// Principal is who a verified token stands for: what the forward-auth
// endpoint passes to the backends behind it.
type Principal struct {
	SessionID string
	UserID    string
	AppID     string
	OpenID    string // "" for a user of a WeCom app, who has none
	UnionID   string
	// AccountID is the person's account: the same for every user (app and
	// openid) with the same unionid under one Open Platform account.
	AccountID string
	// CorpID and WeComUserID are the identity of a user of a WeCom app
	// (wx.qy.login): the corp and the member's userid in it. Both are ""
	// for a WeChat user.
	CorpID      string
	WeComUserID string
	ExpiresAt   time.Time // the session's deadline as of this verification
}
