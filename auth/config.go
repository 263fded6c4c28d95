package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Defaults of Config; service.go's comments name them too.
const (
	DefaultIdleTimeout      = 7 * 24 * time.Hour
	DefaultAbsoluteLifetime = 30 * 24 * time.Hour
	DefaultTouchInterval    = time.Minute
	DefaultCodeReuseWindow  = 10 * time.Second
	DefaultDecryptMaxAge    = time.Hour
	DefaultSweepInterval    = 10 * time.Minute
	DefaultCacheSize        = 100_000
	DefaultHealthInterval   = 2 * time.Second
	DefaultMaxAvatarBytes   = 2 << 20
)

// Default limits; Limits' comments name them too.
var (
	DefaultLoginPerIP        = Limit{Rate: 10, Burst: 20}
	DefaultLoginPerApp       = Limit{Rate: 500, Burst: 1000}
	DefaultDecryptPerSession = Limit{Rate: 1, Burst: 10}
	// A user sets an avatar a few times in a row at most (trying one
	// picture, then another); every upload costs a decode, so one account
	// may keep at most a tenth of an upload per second going.
	DefaultAvatarPerUser = Limit{Rate: 0.1, Burst: 10}
)

func newService(cfg Config) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{
		appByID:  make(map[string]wxlogin.App, len(cfg.Apps)),
		users:    cfg.Users,
		sessions: cfg.Sessions,
		blobs:    cfg.Blobs,
		wechat:   cfg.WeChat,
		keys:     cfg.Keys,
		revoked:  cfg.Revocations,

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
	s.codes = newExchanges(orDefault(cfg.CodeReuseWindow, DefaultCodeReuseWindow), cfg.Keys.Seal, cfg.Keys.Open,
		cfg.CodeExchanges, s.log)
	if s.unfinished == nil {
		s.unfinished = &LocalUnfinishedRegistrations{}
	}
	if s.buckets == nil {
		s.buckets = &LocalRateLimiter{}
	}
	s.loginPerIP = newLimiter("login_ip", limitOrDefault(cfg.Limits.LoginPerIP, DefaultLoginPerIP), s.buckets, s.log)
	s.loginPerApp = newLimiter("login_app", limitOrDefault(cfg.Limits.LoginPerApp, DefaultLoginPerApp), s.buckets, s.log)
	s.decryptPerSession = newLimiter("decrypt", limitOrDefault(cfg.Limits.DecryptPerSession, DefaultDecryptPerSession), s.buckets, s.log)
	s.avatarPerUser = newLimiter("avatar", limitOrDefault(cfg.Limits.AvatarPerUser, DefaultAvatarPerUser), s.buckets, s.log)
	s.metrics = cfg.Metrics
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	for _, a := range cfg.Apps {
		s.apps = append(s.apps, a)
		s.appByID[a.AppID] = a
	}
	s.healthEvery = orDefault(cfg.HealthInterval, DefaultHealthInterval)
	every := orDefault(cfg.SweepInterval, DefaultSweepInterval)
	s.subscribe()
	s.sealClearUsers()
	go s.sweepLoop(every)
	return s, nil
}

// ConfigError is an invalid setting of Config. Setting is the field's path
// in Config ("TouchInterval", "Limits.LoginPerIP.Burst", "Apps[1].AppID")
// and Problem says what is wrong with it without naming the field again, so
// that a caller reading the settings from elsewhere (wxlogin's YAML file)
// can name the setting its own way.
type ConfigError struct {
	Setting string
	Problem string
}

func (e *ConfigError) Error() string { return "auth: " + e.Setting + ": " + e.Problem }

// Validate reports the first invalid setting of c as a *ConfigError: the
// apps, durations and limits. It does not look at what New also requires
// (stores, WeChat client, keyring), so a caller can check a configuration
// before it opens or creates anything.
func (c Config) Validate() error {
	bad := func(setting, format string, args ...any) error {
		return &ConfigError{Setting: setting, Problem: fmt.Sprintf(format, args...)}
	}
	if len(c.Apps) == 0 {
		return bad("Apps", "at least one app (appid and secret) is required")
	}
	seen := make(map[string]bool, len(c.Apps))
	for i, a := range c.Apps {
		switch {
		case a.AppID == "":
			return bad(fmt.Sprintf("Apps[%d].AppID", i), "is empty")
		case seen[a.AppID]:
			return bad(fmt.Sprintf("Apps[%d].AppID", i), "%q is configured twice", a.AppID)
		case a.Secret.Reveal() == "":
			return bad(fmt.Sprintf("Apps[%d].Secret", i), "is empty for %q", a.AppID)
		}
		seen[a.AppID] = true
	}
	for _, d := range []struct {
		setting string
		d       time.Duration
	}{
		{"IdleTimeout", c.IdleTimeout},
		{"AbsoluteLifetime", c.AbsoluteLifetime},
		{"TouchInterval", c.TouchInterval},
	} {
		if d.d < 0 {
			return bad(d.setting, "%v is negative", d.d)
		}
	}
	if c.MaxAvatarBytes < 0 {
		return bad("MaxAvatarBytes", "%d is negative", c.MaxAvatarBytes)
	}
	// Verify renews a session only when a touch is due, and a touch is due
	// only TouchInterval after the last one: if that is no sooner than the
	// idle timeout, every session dies idle however much it is used.
	idle, touch := orDefault(c.IdleTimeout, DefaultIdleTimeout), orDefault(c.TouchInterval, DefaultTouchInterval)
	if touch >= idle {
		return bad("TouchInterval", "%v is not shorter than the idle timeout (%v): sessions in use would expire instead of being renewed", touch, idle)
	}
	for _, l := range []struct {
		setting string
		l       Limit
	}{
		{"Limits.LoginPerIP", c.Limits.LoginPerIP},
		{"Limits.LoginPerApp", c.Limits.LoginPerApp},
		{"Limits.DecryptPerSession", c.Limits.DecryptPerSession},
		{"Limits.AvatarPerUser", c.Limits.AvatarPerUser},
	} {
		if math.IsNaN(l.l.Rate) || math.IsInf(l.l.Rate, 0) {
			return bad(l.setting+".Rate", "%v is not a number of requests per second", l.l.Rate)
		}
		if l.l.Rate >= 0 && l.l.Burst < 0 {
			return bad(l.setting+".Burst", "%d is negative", l.l.Burst)
		}
	}
	return nil
}

// validate checks what New needs beyond the settings.
func (c *Config) validate() error {
	if err := c.Validate(); err != nil {
		return err
	}
	for _, dep := range []struct {
		setting, problem string
		missing          bool
	}{
		{"Users", "a user store is required", c.Users == nil},
		{"Sessions", "a session store is required", c.Sessions == nil},
		{"WeChat", "a WeChat client is required", c.WeChat == nil},
		{"Keys", "a master keyring is required to seal session keys", c.Keys == nil},
	} {
		if dep.missing {
			return &ConfigError{Setting: dep.setting, Problem: dep.problem}
		}
	}
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// limitOrDefault fills in what l leaves zero: a zero Rate takes the
// default rate, and then a zero Burst the default burst, so that a burst
// set alone is kept rather than silently replaced; a positive Rate without
// a Burst gets one second's worth (at least 1), since a zero burst would
// refuse everything. A negative Rate (off) is kept as it is.
func limitOrDefault(l, def Limit) Limit {
	switch {
	case l.Rate == 0:
		l.Rate = def.Rate
		if l.Burst == 0 {
			l.Burst = def.Burst
		}
	case l.Rate > 0 && l.Burst == 0:
		l.Burst = max(1, int(math.Ceil(l.Rate)))
	}
	return l
}

// sweepLoop deletes expired sessions, idle rate-limit buckets and
// remembered codes every interval, and checks the stores' health every
// health interval, until Close. A negative interval turns its job off.
func (s *Service) sweepLoop(every time.Duration) {
	defer close(s.stopped)
	sweeps, stopSweeps := ticker(every)
	defer stopSweeps()
	checks, stopChecks := ticker(s.healthEvery)
	defer stopChecks()
	for {
		select {
		case <-s.stop:
			return
		case <-sweeps:
			ctx, cancel := context.WithTimeout(s.sweepCtx, every)
			s.sweep(ctx)
			cancel()
		case <-checks:
			ctx, cancel := context.WithTimeout(s.sweepCtx, s.healthEvery)
			s.Ready(ctx)
			cancel()
		}
	}
}

// ticker returns the channel of a ticker, or a nil channel (never ready)
// for a negative interval.
func ticker(every time.Duration) (<-chan time.Time, func()) {
	if every < 0 {
		return nil, func() {}
	}
	t := time.NewTicker(every)
	return t.C, t.Stop
}

// sweep is one round of sweepLoop.
func (s *Service) sweep(ctx context.Context) {
	now := s.now()
	n, err := s.sessions.DeleteExpiredSessions(ctx, now)
	if err != nil {
		s.log.WarnContext(ctx, "auth: sweeping expired sessions failed", "err", err)
	} else if n > 0 {
		s.log.InfoContext(ctx, "auth: swept expired sessions", "count", n)
	}
	if b, ok := s.buckets.(interface{ Sweep(time.Time) }); ok {
		b.Sweep(now)
	}
	if x, ok := s.codes.rec.(interface{ Sweep(time.Time) }); ok {
		x.Sweep(now)
	}
	if u, ok := s.unfinished.(interface{ Sweep(time.Time) }); ok {
		u.Sweep(now)
	}
}

// app resolves an appid; "" means the only configured app.
func (s *Service) app(appid string) (wxlogin.App, error) {
	if appid == "" {
		if len(s.apps) == 1 {
			return s.apps[0], nil
		}
		return wxlogin.App{}, wxlogin.Errorf(wxlogin.EInvalidRequest,
			"appid is required: this server serves %d mini programs", len(s.apps))
	}
	a, ok := s.appByID[appid]
	if !ok {
		return wxlogin.App{}, wxlogin.Errorf(wxlogin.EUnknownApp, "appid %q is not configured on this server", clip(appid, 64))
	}
	return a, nil
}

// storeErr turns a store's error into an application error by its class
// (see the wxlogin package comment): application errors (not found above
// all) keep their code; a store that cannot serve now, or a call that ran
// out of its request's time, is 503 store_unavailable with Retry-After;
// anything else, an unretried conflict included, is a bug and stays
// unclassified, which httpapi answers as 500 internal and logs with its
// cause.
func storeErr(err error) error {
	var e *wxlogin.Error
	if errors.As(err, &e) {
		return err
	}
	if storeUnavailable(err) {
		return wxlogin.Wrap(err, wxlogin.EStoreUnavailable, "the store is unavailable; try again later")
	}
	return fmt.Errorf("auth: unexpected store error: %w", err)
}

// storeUnavailable reports whether err says the store cannot serve now.
// A canceled context counts: its client is gone, and nobody reads the
// answer, but it is no bug either.
func storeUnavailable(err error) bool {
	return errors.Is(err, wxlogin.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Canceled)
}

// errSessionInvalid is the one answer for every token that does not verify:
// which of missing, malformed, unknown, expired or revoked is nobody's
// business but the server log's.
func errSessionInvalid() error {
	return wxlogin.Errorf(wxlogin.ESessionInvalid, "the login token is missing, invalid, expired or revoked; log in again")
}

// clip cuts s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // s[n] continues a sequence begun before it
		n--
	}
	return s[:n]
}

// stamp turns a clock reading into a time the service hands out: UTC,
// whole microseconds.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
