package auth

import (
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/keyring"
)

// Config configures a Service. Zero durations take the defaults given.
type Config struct {
	Apps     []wxlogin.App
	Users    wxlogin.UserStore
	Sessions wxlogin.SessionStore
	Blobs    wxlogin.BlobStore // avatars; nil disables avatar upload
	WeChat   WeChat
	// WeCom trades the wx.qy.login codes of WeCom apps; nil means WeChat
	// when it implements WeCom too (*wechat.Client does).
	WeCom WeCom
	// WeComSuite trades the codes of WeCom suite apps and keeps their
	// suite_tickets; nil means WeChat when it implements it too
	// (*wechat.Client does).
	WeComSuite WeComSuite
	Keys       *keyring.Keyring // seals session_keys at rest

	IdleTimeout      time.Duration // default 7 days
	AbsoluteLifetime time.Duration // default 30 days
	TouchInterval    time.Duration // least time between two writes of last_seen; default 1 minute; shorter than IdleTimeout
	CodeReuseWindow  time.Duration // how long a code's exchange is shared with the same client after success; default 10s; negative: only while in flight
	DecryptMaxAge    time.Duration // watermark freshness window; default 1h; negative disables

	Limits Limits

	// ConnectURL is the root of WeChat's browser pages, where web logins
	// send the browser (connect/oauth2/authorize, connect/qrconnect);
	// default DefaultConnectURL. Dev mode and tests point it at the
	// emulator; "/" makes the redirect relative, to the emulator mounted on
	// the server's own origin (wxlogin dev).
	ConnectURL string
	// SessionPolicies sets, by appid, how long that app's sessions live
	// beside IdleTimeout and AbsoluteLifetime (see SessionPolicy); an app
	// not named here has PolicyOwn. A reload may change them.
	SessionPolicies map[string]SessionPolicy
	// KeyCheckEvery is how often the session_key checker looks for
	// sessions of PolicyWeChat apps due a check; default 1s; negative
	// disables the checker.
	KeyCheckEvery time.Duration

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
	// 1,000,000; negative disables the cache (every Verify reads the store).
	// A cached session costs about 300 bytes (docs/BENCHMARKS.md), so a
	// full default cache holds about 300 MB; the cache grows with the
	// sessions verified, so a smaller deployment pays for what it uses. A
	// hit costs a fraction of the store read a miss makes, at any size.
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
	// Webhooks, when set, receives the events of registrations, erasures,
	// revocations and phone numbers bound: their deliveries are written in
	// the store transaction of the change, so Users must implement
	// wxlogin.OutboxStore and Sessions must be the same store. Nil: no
	// events, and the stores are called as before.
	Webhooks Webhooks
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

// Defaults of Config; Config's comments name them too.
const (
	DefaultIdleTimeout      = 7 * 24 * time.Hour
	DefaultAbsoluteLifetime = 30 * 24 * time.Hour
	DefaultTouchInterval    = time.Minute
	DefaultCodeReuseWindow  = 10 * time.Second
	DefaultDecryptMaxAge    = time.Hour
	DefaultSweepInterval    = 10 * time.Minute
	DefaultCacheSize        = 1_000_000
	DefaultHealthInterval   = 2 * time.Second
	DefaultMaxAvatarBytes   = 2 << 20
	DefaultConnectURL       = "https://open.weixin.qq.com"
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
	kinds := make(map[string]wxlogin.AppKind, len(c.Apps))
	suites := make(map[string]string) // suite id → appid
	for i, a := range c.Apps {
		switch {
		case a.AppID == "":
			return bad(fmt.Sprintf("Apps[%d].AppID", i), "is empty")
		case seen[a.AppID]:
			return bad(fmt.Sprintf("Apps[%d].AppID", i), "%q is configured twice", a.AppID)
		case a.Secret.Reveal() == "":
			return bad(fmt.Sprintf("Apps[%d].Secret", i), "is empty for %q", a.AppID)
		}
		// The kind first: what else an app needs depends on it.
		if setting, problem := checkAppKind(a); problem != "" {
			return bad(fmt.Sprintf("Apps[%d].%s", i, setting), "%s", problem)
		}
		if setting, problem := checkSuite(a); problem != "" {
			return bad(fmt.Sprintf("Apps[%d].%s", i, setting), "%s", problem)
		}
		if a.IsWeComSuite() {
			if other, dup := suites[a.Suite.SuiteID]; dup {
				return bad(fmt.Sprintf("Apps[%d].Suite.SuiteID", i), "%q is the suite of %q already: one app per suite, since the callback names the suite only", a.Suite.SuiteID, other)
			}
			suites[a.Suite.SuiteID] = a.AppID
		}
		switch {
		case a.IsWeCom() && a.CorpID == "":
			return bad(fmt.Sprintf("Apps[%d].CorpID", i), "is empty for the WeCom app %q", a.AppID)
		case a.IsWeCom() && strings.Contains(a.CorpID, "/"):
			return bad(fmt.Sprintf("Apps[%d].CorpID", i), "%q holds a slash, which no WeCom corpid does", a.CorpID)
		case !a.IsWeCom() && a.CorpID != "":
			return bad(fmt.Sprintf("Apps[%d].CorpID", i), "is set for %q, which is not a WeCom app", a.AppID)
		}
		seen[a.AppID] = true
		kinds[a.AppID] = a.KindOf()
	}
	if err := validatePolicies(c.SessionPolicies, kinds); err != nil {
		return err
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
	weComApp, suiteApp := false, false
	for _, a := range c.Apps {
		weComApp = weComApp || a.IsWeCom()
		suiteApp = suiteApp || a.IsWeComSuite()
	}
	if c.Webhooks != nil {
		if _, ok := c.Users.(wxlogin.OutboxStore); !ok {
			return &ConfigError{Setting: "Webhooks", Problem: "the store keeps no webhook outbox (SQLite and PostgreSQL do): an event must be written in the transaction of its change"}
		}
		if any(c.Sessions) != any(c.Users) {
			return &ConfigError{Setting: "Webhooks", Problem: "webhooks need users and sessions in one store: a revocation's event is written in the transaction that deletes the sessions"}
		}
	}
	if _, ok := c.WeChat.(SessionKeyChecker); !ok && c.WeChat != nil {
		for appid, p := range c.SessionPolicies {
			if p.Mode == PolicyWeChat {
				return &ConfigError{Setting: "SessionPolicies[" + appid + "]",
					Problem: "the wechat policy needs a WeChat client that can call checksession (CheckSessionKey)"}
			}
		}
	}
	for _, dep := range []struct {
		setting, problem string
		missing          bool
	}{
		{"Users", "a user store is required", c.Users == nil},
		{"Sessions", "a session store is required", c.Sessions == nil},
		{"WeChat", "a WeChat client is required", c.WeChat == nil},
		{"WeCom", "a WeCom client is required to serve a WeCom app", weComApp && c.weCom() == nil},
		{"WeComSuite", "a WeCom suite client is required to serve a WeCom suite app", suiteApp && c.weComSuite() == nil},
		{"Keys", "a master keyring is required to seal session keys", c.Keys == nil},
	} {
		if dep.missing {
			return &ConfigError{Setting: dep.setting, Problem: dep.problem}
		}
	}
	return nil
}

// weComSuite is the suite client: WeComSuite, or else WeChat when it is one too.
func (c *Config) weComSuite() WeComSuite {
	if c.WeComSuite != nil {
		return c.WeComSuite
	}
	w, _ := c.WeChat.(WeComSuite)
	return w
}

// weCom is the WeCom client: WeCom, or else WeChat when it is one too.
func (c *Config) weCom() WeCom {
	if c.WeCom != nil {
		return c.WeCom
	}
	w, _ := c.WeChat.(WeCom)
	return w
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

// checkAppKind checks what an app's kind asks of it: a web app needs the
// pages it may return to, each an absolute https URL (http only on a
// loopback host, for development), without a fragment, which a redirect
// could not carry. It returns the field at fault and the problem, or "".
func checkAppKind(a wxlogin.App) (setting, problem string) {
	switch a.KindOf() {
	case wxlogin.KindMiniProgram, wxlogin.KindWeCom, wxlogin.KindWeComSuite:
		if len(a.RedirectURIs) > 0 {
			return "RedirectURIs", "are for web apps (official_account, website), not mini programs"
		}
		return "", ""
	case wxlogin.KindOfficialAccount, wxlogin.KindWebsite:
	default:
		return "Kind", fmt.Sprintf("%q is not a kind of app (mini_program, wecom, wecom_suite, official_account, website)", clip(string(a.Kind), 32))
	}
	if len(a.RedirectURIs) == 0 {
		return "RedirectURIs", "a web app needs at least one page to return to after login"
	}
	for j, raw := range a.RedirectURIs {
		if p := checkRedirectURI(raw); p != "" {
			return fmt.Sprintf("RedirectURIs[%d]", j), p
		}
	}
	return "", ""
}

// checkRedirectURI says what is wrong with a configured redirect URI, or "".
func checkRedirectURI(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return fmt.Sprintf("%q is not an absolute URL", clip(raw, 128))
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Sprintf("%q has a fragment", clip(raw, 128))
	case u.User != nil:
		return fmt.Sprintf("%q carries user information", clip(raw, 128))
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && loopbackHost(u.Hostname()):
		return ""
	}
	return fmt.Sprintf("%q is not https (http only for localhost): the session cookie is Secure", clip(raw, 128))
}

// loopbackHost reports whether host is localhost or a loopback address.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
