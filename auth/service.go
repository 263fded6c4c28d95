package auth

// This file holds the Service and its life cycle. Its use cases live in the
// files named after them: login.go, verify.go, sessions.go, userdata.go,
// profile.go, admin.go, health.go.

import (
	"cmp"
	"context"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// WeChat is what auth needs of WeChat's server APIs; *wechat.Client
// implements it.
type WeChat interface {
	Code2Session(ctx context.Context, app wxlogin.App, code string) (*wechat.Session, error)
	PhoneNumber(ctx context.Context, app wxlogin.App, code, openid string) (*wechat.PhoneInfo, error)
	AccessToken(ctx context.Context, app wxlogin.App) (wechat.Token, error)
}

// WeCom is what auth needs of WeCom's server APIs for the apps of kind
// wecom; *wechat.Client implements it. Kept apart from WeChat so that a
// WeChat stand-in need not know WeCom.
type WeCom interface {
	WeComCode2Session(ctx context.Context, app wxlogin.App, code string) (*wechat.WeComSession, error)
}

// Service implements wxlogin's use cases. It is safe for concurrent use.
type Service struct {
	// settings are those Reload may change, swapped whole, read through
	// live; a use case that needs two of them to agree (RotateKeys, the
	// app check of Verify) reads one snapshot.
	settings  atomic.Pointer[liveSettings]
	reloading sync.Mutex // one Reload at a time

	users    wxlogin.UserStore
	sessions wxlogin.SessionStore
	// logins is the users' and sessions' one store when it can store a
	// login in one transaction (see loginStore), else nil.
	logins wxlogin.LoginStore
	// loginOutbox is logins when it also writes a registration's event in
	// the login's transaction, else nil: with webhooks and without it, a
	// login takes the two steps (ensureUser, then createSession).
	loginOutbox wxlogin.LoginOutboxStore
	blobs       wxlogin.BlobStore
	wechat      WeChat
	wecom       WeCom      // nil when no WeCom client was given
	suite       WeComSuite // nil when no WeCom suite client was given
	revoked     Revocations
	// hooks is nil without webhooks; outbox is the store's outbox when it
	// keeps one (for the admin view even without webhooks).
	hooks  Webhooks
	outbox wxlogin.OutboxStore

	connectURL string // root of WeChat's browser pages (web logins)

	idle, absolute, touchEvery, maxAge time.Duration
	maxAvatar                          int64

	buckets RateLimiter
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
	// background counts work a request started and left running (a
	// WeCom corp's uninstall); Close waits for it.
	background sync.WaitGroup
	// uninstallWait is how long a cancel_auth waits for its revocation
	// before answering (defaultUninstallWait; tests shorten it).
	uninstallWait time.Duration
	// ticketWatch is the stale suite_ticket warnings' state (suiteticket.go).
	ticketWatch suiteTicketWatch

	keyChecker       SessionKeyChecker // nil when the WeChat client cannot check keys
	keyChecksStopped chan struct{}     // closed when the key checker has stopped (or never ran)
	keyCounts        keyCheckCounters
	// The key checker's work list and when it last walked the cache;
	// only checkKeys, under keyRound, reads or writes them.
	keyRound   sync.Mutex
	keyPending []keyRef
	keyScanned time.Time
}

// New returns a Service, or a *ConfigError naming the first invalid setting
// (see Config.Validate).
func New(cfg Config) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{
		users:    cfg.Users,
		sessions: cfg.Sessions,
		blobs:    cfg.Blobs,
		wechat:   cfg.WeChat,
		wecom:    cfg.weCom(),
		suite:    cfg.weComSuite(),
		revoked:  cfg.Revocations,
		hooks:    cfg.Webhooks,

		connectURL: cmp.Or(cfg.ConnectURL, DefaultConnectURL),

		idle:       orDefault(cfg.IdleTimeout, DefaultIdleTimeout),
		absolute:   orDefault(cfg.AbsoluteLifetime, DefaultAbsoluteLifetime),
		touchEvery: orDefault(cfg.TouchInterval, DefaultTouchInterval),
		maxAge:     orDefault(cfg.DecryptMaxAge, DefaultDecryptMaxAge),
		maxAvatar:  cmp.Or(cfg.MaxAvatarBytes, DefaultMaxAvatarBytes),

		buckets: cfg.RateLimiter,
		decodes: make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),

		unfinished: cfg.UnfinishedRegistrations,

		log:     cfg.Logger,
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	s.logins = loginStore(cfg.Users, cfg.Sessions)
	s.loginOutbox, _ = s.logins.(wxlogin.LoginOutboxStore)
	s.outbox, _ = cfg.Users.(wxlogin.OutboxStore)
	s.sweepCtx, s.cancelSweep = context.WithCancel(context.Background())
	if s.maxAge < 0 {
		s.maxAge = 0 // wxcrypt's "no freshness check"
	}
	switch {
	case cfg.CacheSize == 0:
		s.cache = newVerifyCache(DefaultCacheSize)
	default:
		s.cache = newVerifyCache(cfg.CacheSize) // negative: off
	}
	// Every time the service hands out is in UTC and whole microseconds,
	// what the stores keep: a login's expires_at must equal what later
	// reads of the same session answer, to the digit.
	clock := cfg.Now
	if clock == nil {
		clock = time.Now
	}
	s.clock = clock
	s.now = func() time.Time { return stamp(clock()) }
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.unfinished == nil {
		s.unfinished = &LocalUnfinishedRegistrations{}
	}
	if s.buckets == nil {
		s.buckets = &LocalRateLimiter{}
	}
	s.settings.Store(s.newSettings(LiveSettings{Apps: cfg.Apps, Keys: cfg.Keys, Limits: cfg.Limits, SessionPolicies: cfg.SessionPolicies}))
	// The record keeps session keys sealed while an exchange is shared:
	// with the keys of the moment, which a reload may change.
	s.codes = newExchanges(orDefault(cfg.CodeReuseWindow, DefaultCodeReuseWindow),
		func(b []byte) []byte { return s.live().keys.Seal(b) },
		func(b []byte) ([]byte, error) { return s.live().keys.Open(b) },
		cfg.CodeExchanges, s.log)
	s.metrics = cfg.Metrics
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	s.healthEvery = orDefault(cfg.HealthInterval, DefaultHealthInterval)
	every := orDefault(cfg.SweepInterval, DefaultSweepInterval)
	s.ticketWatch.started = s.now()
	s.uninstallWait = defaultUninstallWait
	s.subscribe()
	s.sealClearUsers()
	go s.sweepLoop(every)
	s.startKeyChecks(cfg.WeChat, orDefault(cfg.KeyCheckEvery, DefaultKeyCheckEvery))
	return s, nil
}

// Close stops background work (expired-session sweeps).
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.cancelSweep()
		<-s.stopped
		s.background.Wait()
		<-s.keyChecksStopped
		if s.stopBus != nil {
			s.stopBus()
		}
	})
	return nil
}

// Apps returns the configured apps.
func (s *Service) Apps() []wxlogin.App { return slices.Clone(s.live().apps) }

// IsWeComApp reports whether appid names a configured WeCom app (of one
// corp or a suite), whose users are a (corpid, userid) stored as a
// WeComKey in the place of the openid.
func (s *Service) IsWeComApp(appid string) bool {
	a, ok := s.live().appByID[appid]
	return ok && a.WeComUsers()
}

// app resolves an appid; "" means the only configured app.
func (s *Service) app(appid string) (wxlogin.App, error) {
	live := s.live()
	if appid == "" {
		if len(live.apps) == 1 {
			return live.apps[0], nil
		}
		return wxlogin.App{}, wxlogin.Errorf(wxlogin.EInvalidRequest,
			"appid is required: this server serves %d mini programs", len(live.apps))
	}
	a, ok := live.appByID[appid]
	if !ok {
		return wxlogin.App{}, wxlogin.Errorf(wxlogin.EUnknownApp, "appid %q is not configured on this server", clip(appid, 64))
	}
	return a, nil
}

// stamp turns a clock reading into a time the service hands out: UTC,
// whole microseconds.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
