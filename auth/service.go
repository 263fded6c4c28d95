package auth

// This file is auth's exported surface, what httpapi and cmd/wxlogin call.
// The larger use cases behind it live in the files named after them
// (login.go, verify.go, userdata.go, profile.go).

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
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
	TouchInterval    time.Duration // least time between two writes of last_seen; default 1 minute; shorter than IdleTimeout
	CodeReuseWindow  time.Duration // how long a code's exchange is shared with the same client after success; default 10s; negative: only while in flight
	DecryptMaxAge    time.Duration // watermark freshness window; default 1h; negative disables

	Limits Limits

	// MaxAvatarBytes bounds an uploaded avatar image; default 2 MiB. It is
	// the one setting of that bound: httpapi sizes its request bodies
	// from Service.MaxAvatarBytes.
	MaxAvatarBytes int64

	// SweepInterval is how often expired sessions are deleted from the
	// store in the background; default 10 minutes; negative disables.
	SweepInterval time.Duration
	// HealthInterval is how often the stores are pinged; while a ping or
	// a store call fails, Verify answers store_unavailable even for cached
	// sessions. Default 2s; negative disables the periodic ping.
	HealthInterval time.Duration
	// CacheSize bounds the sessions Verify keeps in memory; default
	// 100,000; negative disables the cache (every Verify reads the store).
	CacheSize int
	// Revocations, when set, is told of every revocation before the call
	// that revoked returns, so that other instances can drop their cached
	// entries, and New subscribes to it to hear theirs (see doc.go). Nil
	// for a single instance.
	Revocations Revocations
	// RateLimiter holds the token buckets of Limits; nil: a
	// LocalRateLimiter of this process. One shared by every instance makes
	// them admit together what one would.
	RateLimiter RateLimiter
	// UnfinishedRegistrations remembers registering logins that failed
	// after storing their user; nil: a LocalUnfinishedRegistrations.
	UnfinishedRegistrations UnfinishedRegistrations
	// CodeExchanges records the exchanges of wx.login codes, so that a
	// code reaches WeChat at most once; nil: a LocalCodeExchanges. One
	// shared by every instance makes a double tap reaching two of them
	// one exchange.
	CodeExchanges CodeExchanges

	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
	// Metrics, when set, is told of logins, store errors and decrypt
	// failures; nil counts nothing.
	Metrics Metrics
}

// Limits are the in-process token buckets. A zero Rate takes the default;
// a negative Rate disables that limit.
type Limits struct {
	LoginPerIP        Limit // default 10/s, burst 20
	LoginPerApp       Limit // default 500/s, burst 1000
	DecryptPerSession Limit // default 1/s, burst 10
	AvatarPerUser     Limit // avatar uploads; default 0.1/s (6 a minute), burst 10
}

// Limit is a token bucket: Rate tokens per second, Burst at most.
type Limit struct {
	Rate  float64
	Burst int
}

// Service implements wxlogin's use cases. It is safe for concurrent use.
type Service struct {
	apps     []wxlogin.App
	appByID  map[string]wxlogin.App
	users    wxlogin.UserStore
	sessions wxlogin.SessionStore
	blobs    wxlogin.BlobStore
	wechat   WeChat
	keys     *keyring.Keyring
	revoked  Revocations

	idle, absolute, touchEvery, maxAge time.Duration
	maxAvatar                          int64

	buckets                                                   RateLimiter
	loginPerIP, loginPerApp, decryptPerSession, avatarPerUser *limiter
	// decodes holds a token per avatar being decoded and re-encoded: a
	// 2048×2048 image takes tens of MiB and most of a core for a moment,
	// so at most cap(decodes) run at once and further uploads are told to
	// retry rather than queue with their bodies in memory.
	decodes chan struct{}

	cache      *verifyCache
	codes      *exchanges
	unfinished UnfinishedRegistrations

	// storeDown is set when a store call or the periodic health check
	// fails and cleared when a health check succeeds. While it is set,
	// Verify fails even for cached sessions: forward-auth answers 503
	// during an outage, never a 200 from a cache that cannot learn of
	// revocations, and the outage is visible at once.
	storeDown atomic.Bool
	// writesDown is set when a touch or the health check's write check
	// fails and cleared when a write check passes. It is not an outage of
	// reads: Verify keeps answering, but while it is set a due touch
	// re-reads the session instead of writing it (a full disk or a held
	// write lock must not turn every verification into a 503).
	writesDown  atomic.Bool
	healthEvery time.Duration

	// busDown is set while the revocation subscription is not live (see
	// busLive): Verify then neither uses nor fills the cache.
	busDown atomic.Bool
	stopBus func()

	now   func() time.Time // UTC, whole microseconds: every time handed out or stored
	clock func() time.Time // the raw clock, for Verify's deadline checks only
	log   *slog.Logger

	metrics    Metrics
	cacheCount cacheCounters

	stop        chan struct{}
	stopped     chan struct{}
	sweepCtx    context.Context // canceled by Close, so a sweep under way ends too
	cancelSweep context.CancelFunc
	closeOnce   sync.Once
}

// New returns a Service, or a *ConfigError naming the first invalid setting
// (see Config.Validate).
func New(cfg Config) (*Service, error) { return newService(cfg) }

// Close stops background work (expired-session sweeps).
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.cancelSweep()
		<-s.stopped
		if s.stopBus != nil {
			s.stopBus()
		}
	})
	return nil
}

// Apps returns the configured apps.
func (s *Service) Apps() []wxlogin.App { return slices.Clone(s.apps) }

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
	Created   bool // this is the user's first completed login (see UnfinishedRegistrations)
	Session   wxlogin.Session
	ExpiresAt time.Time
}

// Login trades a wx.login code for a session. appid "" means the only
// configured app. Errors carry wxlogin codes: EUnknownApp, EInvalidCode,
// ECodeBlocked, EUpstreamUnavailable (RetryAfter set), EUpstreamRejected,
// ERateLimited, EInvalidRequest.
func (s *Service) Login(ctx context.Context, appid, code string, c Client) (LoginResult, error) {
	r, err := s.login(ctx, appid, code, c)
	result := "ok"
	if err != nil {
		result = wxlogin.ErrorCode(err)
	}
	s.metrics.Login(result, r.Created)
	return r, err
}

// Verify checks a login token: the hot path. No store write except a
// throttled touch; a revoked token fails at once. Errors: ESessionInvalid,
// EStoreUnavailable.
func (s *Service) Verify(ctx context.Context, token string) (wxlogin.Principal, error) {
	return s.verify(ctx, token)
}

// User returns the user a principal stands for.
func (s *Service) User(ctx context.Context, p wxlogin.Principal) (wxlogin.User, error) {
	u, err := s.user(ctx, p.UserID)
	if err != nil {
		return wxlogin.User{}, s.userErr(err)
	}
	return u, nil
}

// Logout ends the principal's session at once.
func (s *Service) Logout(ctx context.Context, p wxlogin.Principal) error {
	if err := s.revokeSession(ctx, p.SessionID); err != nil {
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
	if err := s.revokeSession(ctx, id); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "auth: session revoked", "user_id", p.UserID, "session_id", id, "by_session_id", p.SessionID)
	return nil
}

// RevokeAllSessions ends every session of the principal's user.
func (s *Service) RevokeAllSessions(ctx context.Context, p wxlogin.Principal) error {
	n, err := s.revokeUser(ctx, p.UserID)
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "auth: all sessions revoked", "user_id", p.UserID, "count", n)
	return nil
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
	return s.saveUserInfo(ctx, p, rawData, signature, e)
}

// SavePhone stores the user's phone number, from a phone code (preferred:
// traded at getuserphonenumber) or from legacy encrypted data.
func (s *Service) SavePhone(ctx context.Context, p wxlogin.Principal, phoneCode string, e Encrypted) (wxlogin.Phone, error) {
	return s.savePhone(ctx, p, phoneCode, e)
}

// Decrypt kinds.
const (
	KindWeRun = "werun"
	KindShare = "share"
)

// Decrypt decrypts WeRun or share info and returns it without its watermark.
func (s *Service) Decrypt(ctx context.Context, p wxlogin.Principal, kind string, e Encrypted) (json.RawMessage, error) {
	return s.decrypt(ctx, p, kind, e)
}

// EraseMe erases the principal's user: sessions, data, avatar.
func (s *Service) EraseMe(ctx context.Context, p wxlogin.Principal) error {
	return s.erase(ctx, p.UserID)
}

// SetNickname validates and stores the user's nickname.
func (s *Service) SetNickname(ctx context.Context, p wxlogin.Principal, nickname string) (wxlogin.User, error) {
	return s.setNickname(ctx, p, nickname)
}

// SetAvatar checks an uploaded image by content (JPEG, PNG, WebP), re-encodes
// it without metadata, stores it and points the user's profile at it.
// Errors: ERequestTooLarge, EUnsupportedMediaType, ERateLimited (RetryAfter
// set) when the user uploaded too often (Limits.AvatarPerUser) or the
// server is already decoding as many images as it has cores.
func (s *Service) SetAvatar(ctx context.Context, p wxlogin.Principal, image []byte) (wxlogin.User, error) {
	return s.setAvatar(ctx, p, image)
}

// MaxAvatarBytes returns the largest avatar image SetAvatar accepts
// (Config.MaxAvatarBytes), so that the HTTP layer bounds request bodies by
// the same number.
func (s *Service) MaxAvatarBytes() int64 { return s.maxAvatar }

// Avatar returns a stored avatar.
func (s *Service) Avatar(ctx context.Context, id string) (wxlogin.Blob, error) {
	return s.avatar(ctx, id)
}

// Admin use cases: the caller has already checked the admin token.

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
	if _, err := s.AdminUser(ctx, userID); err != nil {
		return err
	}
	n, err := s.revokeUser(ctx, userID)
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "auth: admin revoked all sessions of a user", "user_id", userID, "count", n)
	return nil
}

// AdminRevokeSession ends one session by id.
func (s *Service) AdminRevokeSession(ctx context.Context, id string) error {
	if _, err := s.ownSession(ctx, "", id); err != nil {
		return err
	}
	if err := s.revokeSession(ctx, id); err != nil {
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
	return s.erase(ctx, id)
}

// AccessToken returns the app's cached WeChat access token, so the app's
// other backends share it instead of fetching their own.
func (s *Service) AccessToken(ctx context.Context, appid string) (wechat.Token, error) {
	app, ok := s.appByID[appid]
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
	n, err := s.sessions.ResealSessionKeys(ctx, s.keys.Reseal)
	if err != nil {
		s.log.ErrorContext(ctx, "auth: re-sealing session keys failed", "resealed", n, "primary_key", s.keys.PrimaryID(), "err", err)
		return n, s.storeFailed(err)
	}
	s.log.InfoContext(ctx, "auth: session keys re-sealed", "count", n, "primary_key", s.keys.PrimaryID())
	users, err := s.users.ResealUsers(ctx, s.resealUser)
	if err != nil {
		s.log.ErrorContext(ctx, "auth: re-sealing users' personal data failed", "resealed", users, "primary_key", s.keys.PrimaryID(), "err", err)
		return n + users, s.storeFailed(err)
	}
	s.log.InfoContext(ctx, "auth: users' personal data re-sealed", "count", users, "primary_key", s.keys.PrimaryID())
	return n + users, nil
}

// writeCheckTimeout bounds the write check of Ready: a store whose write
// lock cannot be had within it cannot take logins either.
const writeCheckTimeout = time.Second

// Ready reports whether the stores can be read and written (GET /readyz),
// naming what fails. A failed read check raises the outage flag Verify
// honours; a failed write check only marks writes down, since forward-auth
// can keep answering from reads. Passing checks lower them.
func (s *Service) Ready(ctx context.Context) error {
	stores := []any{s.users, s.sessions, s.blobs}
	for _, st := range stores {
		if p, ok := st.(wxlogin.Pinger); ok {
			if err := p.Ping(ctx); err != nil {
				s.storeDown.Store(true)
				return wxlogin.Wrap(err, wxlogin.EStoreUnavailable, "a store cannot be read: "+err.Error())
			}
		}
	}
	s.storeDown.Store(false)
	for _, st := range stores {
		w, ok := st.(wxlogin.WriteChecker)
		if !ok {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, writeCheckTimeout)
		err := w.CheckWrite(wctx)
		cancel()
		if err != nil {
			s.writesDown.Store(true)
			return wxlogin.Wrap(err, wxlogin.EStoreUnavailable, "a store cannot write: "+err.Error())
		}
	}
	s.writesDown.Store(false)
	return nil
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
	return s.forget(ctx, Revocation{SessionID: id})
}
