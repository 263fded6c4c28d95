package auth

// THIS FILE IS THE CONTRACT between auth and httpapi (and cmd/wxlogin).
// Exported names and signatures here may be added to, not changed, without
// telling the lead. Bodies marked TODO are to be written by auth's owner.

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/wechat"
)

// WeChat is what auth needs of WeChat's server APIs; *wechat.Client
// implements it.
type WeChat interface {
	Code2Session(ctx context.Context, app wxlogin.App, code string) (*wechat.Session, error)
	PhoneNumber(ctx context.Context, app wxlogin.App, code, openid string) (*wechat.PhoneInfo, error)
	AccessToken(ctx context.Context, app wxlogin.App) (wechat.Token, error)
}

// Config configures a Service. Zero durations take the defaults given.
type Config struct {
	Apps     []wxlogin.App
	Users    wxlogin.UserStore
	Sessions wxlogin.SessionStore
	Blobs    wxlogin.BlobStore // avatars; nil disables avatar upload
	WeChat   WeChat
	Keys     *keyring.Keyring // seals session_keys at rest

	IdleTimeout      time.Duration // default 7 days
	AbsoluteLifetime time.Duration // default 30 days
	TouchInterval    time.Duration // least time between two writes of last_seen; default 1 minute
	CodeReuseWindow  time.Duration // how long a code's exchange is shared after success; default 60s
	DecryptMaxAge    time.Duration // watermark freshness window; default 1h; negative disables

	Limits Limits

	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
}

// Limits are the in-process token buckets. A zero Rate takes the default;
// a negative Rate disables that limit.
type Limits struct {
	LoginPerIP        Limit // default 10/s, burst 20
	LoginPerApp       Limit // default 500/s, burst 1000
	DecryptPerSession Limit // default 1/s, burst 10
}

// Limit is a token bucket: Rate tokens per second, Burst at most.
type Limit struct {
	Rate  float64
	Burst int
}

// Service implements wxlogin's use cases. It is safe for concurrent use.
type Service struct {
	// TODO(auth): fields
}

// New returns a Service, or an error naming the first invalid setting.
func New(cfg Config) (*Service, error) { panic("TODO(auth)") }

// Close stops background work (expired-session sweeps).
func (s *Service) Close() error { panic("TODO(auth)") }

// Apps returns the configured apps.
func (s *Service) Apps() []wxlogin.App { panic("TODO(auth)") }

// Client describes the requester of a login, for the sessions list and limits.
type Client struct {
	IP        string
	UserAgent string
}

// LoginResult is a successful login. Token is the only time the login token
// exists in clear: it is handed to the client and never stored.
type LoginResult struct {
	Token     wxlogin.Secret
	User      wxlogin.User
	Created   bool // this login registered the user
	Session   wxlogin.Session
	ExpiresAt time.Time
}

// Login trades a wx.login code for a session. appid "" means the only
// configured app. Errors carry wxlogin codes: EUnknownApp, EInvalidCode,
// ECodeBlocked, EUpstreamUnavailable (RetryAfter set), EUpstreamRejected,
// ERateLimited, EInvalidRequest.
func (s *Service) Login(ctx context.Context, appid, code string, c Client) (LoginResult, error) {
	panic("TODO(auth)")
}

// Verify checks a login token: the hot path. No store write except a
// throttled touch; a revoked token fails at once. Errors: ESessionInvalid,
// EStoreUnavailable.
func (s *Service) Verify(ctx context.Context, token string) (wxlogin.Principal, error) {
	panic("TODO(auth)")
}

// User returns the user a principal stands for.
func (s *Service) User(ctx context.Context, p wxlogin.Principal) (wxlogin.User, error) {
	panic("TODO(auth)")
}

// Logout ends the principal's session at once.
func (s *Service) Logout(ctx context.Context, p wxlogin.Principal) error { panic("TODO(auth)") }

// SessionInfo is one session as the sessions list shows it.
type SessionInfo struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current"`
}

// Sessions lists the principal's user's live sessions.
func (s *Service) Sessions(ctx context.Context, p wxlogin.Principal) ([]SessionInfo, error) {
	panic("TODO(auth)")
}

// RevokeSession ends one of the principal's user's sessions; ENotFound when
// id is not one of them.
func (s *Service) RevokeSession(ctx context.Context, p wxlogin.Principal, id string) error {
	panic("TODO(auth)")
}

// RevokeAllSessions ends every session of the principal's user.
func (s *Service) RevokeAllSessions(ctx context.Context, p wxlogin.Principal) error {
	panic("TODO(auth)")
}

// Encrypted is an encrypted payload from the client. LoginCode, when set, is
// a fresh wx.login code: it is exchanged first and its session_key kept for
// this session, because the wx.login that produced it rotated the old key.
type Encrypted struct {
	EncryptedData string
	IV            string
	LoginCode     string
}

// SaveUserInfo verifies rawData's signature, decrypts the user info, stores
// it on the user and returns it without its watermark. Errors:
// EInvalidSignature, EInvalidEncryptedData (one message for every cause),
// EInvalidCode (bad LoginCode), ERateLimited.
func (s *Service) SaveUserInfo(ctx context.Context, p wxlogin.Principal, rawData, signature string, e Encrypted) (json.RawMessage, error) {
	panic("TODO(auth)")
}

// SavePhone stores the user's phone number, from a phone code (preferred:
// traded at getuserphonenumber) or from legacy encrypted data.
func (s *Service) SavePhone(ctx context.Context, p wxlogin.Principal, phoneCode string, e Encrypted) (wxlogin.Phone, error) {
	panic("TODO(auth)")
}

// Decrypt kinds.
const (
	KindWeRun = "werun"
	KindShare = "share"
)

// Decrypt decrypts WeRun or share info and returns it without its watermark.
func (s *Service) Decrypt(ctx context.Context, p wxlogin.Principal, kind string, e Encrypted) (json.RawMessage, error) {
	panic("TODO(auth)")
}

// EraseMe erases the principal's user: sessions, data, avatar.
func (s *Service) EraseMe(ctx context.Context, p wxlogin.Principal) error { panic("TODO(auth)") }

// SetNickname validates and stores the user's nickname (issue 5).
func (s *Service) SetNickname(ctx context.Context, p wxlogin.Principal, nickname string) (wxlogin.User, error) {
	panic("TODO(auth)")
}

// SetAvatar checks an uploaded image by content (JPEG, PNG, WebP), re-encodes
// it without metadata, stores it and points the user's profile at it.
// Errors: ERequestTooLarge, EUnsupportedMediaType.
func (s *Service) SetAvatar(ctx context.Context, p wxlogin.Principal, image []byte) (wxlogin.User, error) {
	panic("TODO(auth)")
}

// Avatar returns a stored avatar.
func (s *Service) Avatar(ctx context.Context, id string) (wxlogin.Blob, error) { panic("TODO(auth)") }

// Admin use cases: the caller has already checked the admin token.

// AdminFindUsers finds users by openid, unionid, appid.
func (s *Service) AdminFindUsers(ctx context.Context, f wxlogin.UserFilter) ([]wxlogin.User, error) {
	panic("TODO(auth)")
}

// AdminUser returns a user by id.
func (s *Service) AdminUser(ctx context.Context, id string) (wxlogin.User, error) {
	panic("TODO(auth)")
}

// AdminUserSessions lists a user's sessions.
func (s *Service) AdminUserSessions(ctx context.Context, userID string) ([]SessionInfo, error) {
	panic("TODO(auth)")
}

// AdminRevokeUserSessions ends every session of a user.
func (s *Service) AdminRevokeUserSessions(ctx context.Context, userID string) error {
	panic("TODO(auth)")
}

// AdminRevokeSession ends one session by id.
func (s *Service) AdminRevokeSession(ctx context.Context, id string) error { panic("TODO(auth)") }

// AdminEraseUser erases a user and everything of theirs.
func (s *Service) AdminEraseUser(ctx context.Context, id string) error { panic("TODO(auth)") }

// AccessToken returns the app's cached WeChat access token, so the app's
// other backends share it instead of fetching their own.
func (s *Service) AccessToken(ctx context.Context, appid string) (wechat.Token, error) {
	panic("TODO(auth)")
}

// RotateKeys re-seals every stored session_key under the primary master key
// and returns how many changed.
func (s *Service) RotateKeys(ctx context.Context) (int, error) { panic("TODO(auth)") }

// Ready reports whether the stores are reachable (GET /readyz).
func (s *Service) Ready(ctx context.Context) error { panic("TODO(auth)") }

// Dev-only controls (wxlogin dev's /dev/v1/); never reachable in serve.

// ExpireSession makes a session expire now (both deadlines).
func (s *Service) ExpireSession(ctx context.Context, id string) error { panic("TODO(auth)") }
