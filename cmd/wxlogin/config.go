package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/webhook"
)

// config is the whole configuration of `wxlogin serve`: a YAML file, then
// WXLOGIN_* environment variables on top. Secrets (app secrets, the master
// key, the admin token) come only from the environment or from files, never
// from flags or the YAML itself, so they stay out of shell history, process
// lists and config repositories.
type config struct {
	Addr          string `yaml:"addr"`
	TLSCertFile   string `yaml:"tls_cert_file"`
	TLSKeyFile    string `yaml:"tls_key_file"`
	Store         string `yaml:"store"`
	Data          string `yaml:"data"`
	WeChatBaseURL string `yaml:"wechat_base_url"`
	WeComBaseURL  string `yaml:"wecom_base_url"`
	// WeChatConnectURL is the root of WeChat's browser pages
	// (connect/oauth2/authorize, connect/qrconnect) web logins redirect to.
	WeChatConnectURL string `yaml:"wechat_connect_url"`
	// PublicURL is this server's address as browsers reach it, the root of
	// the web logins' callback (PublicURL + /v1/web/callback). Empty: the
	// request's own scheme and host, or those a trusted proxy forwards.
	PublicURL       string         `yaml:"public_url"`
	Apps            []appConfig    `yaml:"apps"`
	DefaultApp      string         `yaml:"default_app"`
	Sessions        sessionsConfig `yaml:"sessions"`
	DecryptMaxAge   duration       `yaml:"decrypt_max_age"`
	CodeReuseWindow duration       `yaml:"code_reuse_window"`
	MaxAvatarBytes  int64          `yaml:"max_avatar_bytes"`
	Limits          limitsConfig   `yaml:"limits"`
	TrustedProxy    []string       `yaml:"trusted_proxies"`
	Shutdown        duration       `yaml:"shutdown_timeout"`
	LogLevel        string         `yaml:"log_level"`
	LogFormat       string         `yaml:"log_format"`
	Metrics         bool           `yaml:"metrics"`
	Postgres        postgresConfig `yaml:"postgres"`
	SingleInstance  bool           `yaml:"single_instance"`
	Redis           string         `yaml:"redis"`
	// WeChatClassicToken fetches access tokens from cgi-bin/token instead
	// of stable_token; refused with redis (see resolveStore).
	WeChatClassicToken bool `yaml:"wechat_classic_token"`

	Webhooks []webhookConfig `yaml:"webhooks"`

	MasterKeyFile  string `yaml:"master_key_file"`
	AdminTokenFile string `yaml:"admin_token_file"`

	// Resolved from the environment or files; never read from YAML.
	masterKey  *keyring.Keyring
	adminToken wxlogin.Secret
	apps       []wxlogin.App
	policies   map[string]auth.SessionPolicy // by appid; from apps[i].session_*
	proxies    []netip.Prefix
	// storePassword is the PostgreSQL role's password
	// (WXLOGIN_STORE_PASSWORD or its _FILE); store URLs never carry one.
	storePassword string
	// webhooks are Webhooks with their secrets read from their files.
	webhooks []webhook.Endpoint
	// redisPassword is Redis' password (WXLOGIN_REDIS_PASSWORD or its
	// _FILE); the redis URL never carries one.
	redisPassword string
}

// postgresConfig tunes a postgres:// store; zero fields take pgstore's
// defaults.
type postgresConfig struct {
	MaxConns         int      `yaml:"max_conns"`
	ConnectTimeout   duration `yaml:"connect_timeout"`
	StatementTimeout duration `yaml:"statement_timeout"`
}

// webhookConfig is one webhook endpoint. Its signing secret is read from
// secret_file only, like every other secret.
type webhookConfig struct {
	URL        string   `yaml:"url"`
	SecretFile string   `yaml:"secret_file"`
	Events     []string `yaml:"events"`
}

type appConfig struct {
	AppID      string `yaml:"appid"`
	SecretFile string `yaml:"secret_file"`
	// Kind is mini_program (the default), wecom (a mini program inside a
	// WeCom corp, whose secret is then the corp's WeCom app secret),
	// official_account or website.
	Kind string `yaml:"kind"`
	// CorpID is a wecom app's corp.
	CorpID string `yaml:"corpid"`
	// SuiteID, CorpIDs and the callback's token and EncodingAESKey
	// files are a wecom_suite app's (a WeCom third-party app; its secret
	// is then the suite_secret). The two callback values are secrets,
	// read like the app secret: WXLOGIN_APP_CALLBACK_TOKEN_<APPID> and
	// WXLOGIN_APP_ENCODING_AES_KEY_<APPID> (or their _FILE forms), else
	// these files.
	SuiteID            string   `yaml:"suite_id"`
	CorpIDs            []string `yaml:"corpids"`
	CallbackTokenFile  string   `yaml:"callback_token_file"`
	EncodingAESKeyFile string   `yaml:"encoding_aes_key_file"`
	// RedirectURIs are the pages a web login may return to (web kinds).
	RedirectURIs []string `yaml:"redirect_uris"`
	// OpenPlatform names the Open Platform account the app is bound to.
	OpenPlatform string `yaml:"open_platform"`
	// SessionPolicy is "own" (the default) or "wechat": see auth.SessionPolicy.
	SessionPolicy        string   `yaml:"session_policy"`
	SessionCheckInterval duration `yaml:"session_check_interval"`
	SessionCheckRate     float64  `yaml:"session_check_rate"`
}

type sessionsConfig struct {
	IdleTimeout      duration `yaml:"idle_timeout"`
	AbsoluteLifetime duration `yaml:"absolute_lifetime"`
	TouchInterval    duration `yaml:"touch_interval"`
}

type limitsConfig struct {
	LoginPerIP        limitConfig `yaml:"login_per_ip"`
	LoginPerApp       limitConfig `yaml:"login_per_app"`
	DecryptPerSession limitConfig `yaml:"decrypt_per_session"`
	AvatarPerUser     limitConfig `yaml:"avatar_per_user"`
}

type limitConfig struct {
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

// duration reads Go durations ("10m", "168h") from YAML.
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("%q is not a duration like 10m or 168h", n.Value)
	}
	*d = duration(v)
	return nil
}

func defaultConfig() config {
	return config{
		Addr:          "127.0.0.1:8080",
		Store:         "sqlite:///var/lib/wxlogin/wxlogin.db",
		WeChatBaseURL: "https://api.weixin.qq.com",
		WeComBaseURL:  "https://qyapi.weixin.qq.com",
		Shutdown:      duration(10 * time.Second),
		// Set here rather than left zero, because 0 in the file means
		// "share an exchange only while it is in flight".
		CodeReuseWindow: duration(auth.DefaultCodeReuseWindow),
		LogLevel:        "info",
		LogFormat:       "json",
	}
}

// loadConfig reads the YAML file at path ("" for none) and the environment
// and checks the result. Its errors are one line saying which setting is
// wrong and why.
func loadConfig(path string, getenv func(string) string) (config, error) {
	c, err := readConfig(path, getenv)
	if err != nil {
		return c, err
	}
	return c, c.resolve(getenv)
}

// readConfig reads the YAML file at path ("" for none) and the environment
// without checking or resolving secrets (enough for `wxlogin migrate`).
func readConfig(path string, getenv func(string) string) (config, error) {
	c := defaultConfig()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %v", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)                                             // a misspelt key is an error, not a silent default
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
			return c, fmt.Errorf("config %s: %v", path, err)
		}
	}
	return c, c.applyEnv(getenv)
}

func (c *config) applyEnv(getenv func(string) string) error {
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	dur := func(name string, dst *duration) error {
		v := getenv(name)
		if v == "" {
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%s: %q is not a duration like 10m or 168h", name, v)
		}
		*dst = duration(d)
		return nil
	}
	str("WXLOGIN_ADDR", &c.Addr)
	str("WXLOGIN_TLS_CERT_FILE", &c.TLSCertFile)
	str("WXLOGIN_TLS_KEY_FILE", &c.TLSKeyFile)
	str("WXLOGIN_STORE", &c.Store)
	str("WXLOGIN_DATA", &c.Data)
	str("WXLOGIN_WECHAT_BASE_URL", &c.WeChatBaseURL)
	str("WXLOGIN_WECHAT_CONNECT_URL", &c.WeChatConnectURL)
	str("WXLOGIN_PUBLIC_URL", &c.PublicURL)
	str("WXLOGIN_WECOM_BASE_URL", &c.WeComBaseURL)
	str("WXLOGIN_DEFAULT_APP", &c.DefaultApp)
	str("WXLOGIN_LOG_LEVEL", &c.LogLevel)
	str("WXLOGIN_LOG_FORMAT", &c.LogFormat)
	str("WXLOGIN_MASTER_KEY_FILE", &c.MasterKeyFile)
	str("WXLOGIN_ADMIN_TOKEN_FILE", &c.AdminTokenFile)
	if v := getenv("WXLOGIN_METRICS"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("WXLOGIN_METRICS: %q is neither true nor false", v)
		}
		c.Metrics = on
	}
	str("WXLOGIN_REDIS", &c.Redis)
	if v := getenv("WXLOGIN_WECHAT_CLASSIC_TOKEN"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("WXLOGIN_WECHAT_CLASSIC_TOKEN: %q is neither true nor false", v)
		}
		c.WeChatClassicToken = on
	}
	if v := getenv("WXLOGIN_SINGLE_INSTANCE"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("WXLOGIN_SINGLE_INSTANCE: %q is neither true nor false", v)
		}
		c.SingleInstance = on
	}
	if v := getenv("WXLOGIN_POSTGRES_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("WXLOGIN_POSTGRES_MAX_CONNS: %q is not a positive number", v)
		}
		c.Postgres.MaxConns = n
	}
	if v := getenv("WXLOGIN_MAX_AVATAR_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("WXLOGIN_MAX_AVATAR_BYTES: %q is not a number of bytes", v)
		}
		c.MaxAvatarBytes = n
	}
	if v := getenv("WXLOGIN_TRUSTED_PROXIES"); v != "" {
		c.TrustedProxy = strings.Split(v, ",")
	}
	if v := getenv("WXLOGIN_APPS"); v != "" {
		c.Apps = nil
		for _, id := range strings.Split(v, ",") {
			c.Apps = append(c.Apps, appConfig{AppID: strings.TrimSpace(id)})
		}
	}
	for name, dst := range map[string]*duration{
		"WXLOGIN_IDLE_TIMEOUT":      &c.Sessions.IdleTimeout,
		"WXLOGIN_ABSOLUTE_LIFETIME": &c.Sessions.AbsoluteLifetime,
		"WXLOGIN_TOUCH_INTERVAL":    &c.Sessions.TouchInterval,
		"WXLOGIN_DECRYPT_MAX_AGE":   &c.DecryptMaxAge,
		"WXLOGIN_CODE_REUSE_WINDOW": &c.CodeReuseWindow,
		"WXLOGIN_SHUTDOWN_TIMEOUT":  &c.Shutdown,

		"WXLOGIN_POSTGRES_CONNECT_TIMEOUT":   &c.Postgres.ConnectTimeout,
		"WXLOGIN_POSTGRES_STATEMENT_TIMEOUT": &c.Postgres.StatementTimeout,
	} {
		if err := dur(name, dst); err != nil {
			return err
		}
	}
	return nil
}

// secretFromEnvOrFile reads a secret from the variable name or, failing
// that, from the file named by name_FILE or by file, the YAML setting
// yamlKey. A file that cannot be read is reported under the name of the
// setting that named it, so the operator looks where they wrote it.
func secretFromEnvOrFile(getenv func(string) string, name, file, yamlKey string) (string, error) {
	if v := getenv(name); v != "" {
		return strings.TrimSpace(v), nil
	}
	setting := yamlKey
	if f := getenv(name + "_FILE"); f != "" {
		file, setting = f, name+"_FILE"
	}
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %v", setting, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// resolveSuite reads a wecom_suite app's suite settings and callback
// secrets; it refuses suite settings on any other kind.
func resolveSuite(getenv func(string) string, i int, a appConfig) (*wxlogin.WeComSuite, error) {
	if wxlogin.AppKind(a.Kind) != wxlogin.KindWeComSuite {
		if a.SuiteID != "" || len(a.CorpIDs) > 0 || a.CallbackTokenFile != "" || a.EncodingAESKeyFile != "" {
			return nil, fmt.Errorf("apps[%d]: suite_id, corpids, callback_token_file and encoding_aes_key_file are for kind wecom_suite, not %q", i, a.Kind)
		}
		return nil, nil
	}
	up := strings.ToUpper(a.AppID)
	token, err := secretFromEnvOrFile(getenv, "WXLOGIN_APP_CALLBACK_TOKEN_"+up, a.CallbackTokenFile, fmt.Sprintf("apps[%d].callback_token_file", i))
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, fmt.Errorf("apps[%d]: no callback token for %s: set WXLOGIN_APP_CALLBACK_TOKEN_%s, its _FILE form, or callback_token_file (secrets are never read from flags or the config file)", i, a.AppID, up)
	}
	key, err := secretFromEnvOrFile(getenv, "WXLOGIN_APP_ENCODING_AES_KEY_"+up, a.EncodingAESKeyFile, fmt.Sprintf("apps[%d].encoding_aes_key_file", i))
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, fmt.Errorf("apps[%d]: no EncodingAESKey for %s: set WXLOGIN_APP_ENCODING_AES_KEY_%s, its _FILE form, or encoding_aes_key_file", i, a.AppID, up)
	}
	return &wxlogin.WeComSuite{SuiteID: a.SuiteID, CorpIDs: a.CorpIDs,
		Token: wxlogin.Secret(token), EncodingAESKey: wxlogin.Secret(key)}, nil
}

// appSecretVar is the variable holding an app's secret:
// WXLOGIN_APP_SECRET_<APPID in upper case>.
func appSecretVar(appid string) string { return "WXLOGIN_APP_SECRET_" + strings.ToUpper(appid) }

func (c *config) resolve(getenv func(string) string) error {
	if c.Addr == "" {
		return errors.New("addr: must not be empty (WXLOGIN_ADDR or addr:)")
	}
	if err := c.checkTLS(); err != nil {
		return err
	}
	if err := c.resolveStore(getenv); err != nil {
		return err
	}
	if u, err := url.Parse(c.WeChatBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("wechat_base_url: %q is not an http(s) URL", c.WeChatBaseURL)
	}
	if u, err := url.Parse(c.WeComBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("wecom_base_url: %q is not an http(s) URL", c.WeComBaseURL)
	}
	if len(c.Apps) == 0 {
		return errors.New("apps: no mini program configured (WXLOGIN_APPS=wx... or apps: in the config file)")
	}
	seen := map[string]bool{}
	for i, a := range c.Apps {
		if a.AppID == "" {
			return errors.New("apps: an app has no appid")
		}
		if seen[a.AppID] {
			return fmt.Errorf("apps: appid %s is configured twice", a.AppID)
		}
		seen[a.AppID] = true
		secret, err := secretFromEnvOrFile(getenv, appSecretVar(a.AppID), a.SecretFile, fmt.Sprintf("apps[%d].secret_file", i))
		if err != nil {
			return err
		}
		if secret == "" {
			return fmt.Errorf("apps: no secret for %s: set %s or %s_FILE (secrets are never read from flags or the config file)", a.AppID, appSecretVar(a.AppID), appSecretVar(a.AppID))
		}
		suite, err := resolveSuite(getenv, i, a)
		if err != nil {
			return err
		}
		c.apps = append(c.apps, wxlogin.App{AppID: a.AppID, Secret: wxlogin.Secret(secret), Kind: wxlogin.AppKind(a.Kind),
			CorpID: a.CorpID, RedirectURIs: a.RedirectURIs, OpenPlatform: a.OpenPlatform, Suite: suite})
		if a.SessionPolicy != "" || a.SessionCheckInterval != 0 || a.SessionCheckRate != 0 {
			if c.policies == nil {
				c.policies = map[string]auth.SessionPolicy{}
			}
			c.policies[a.AppID] = auth.SessionPolicy{Mode: a.SessionPolicy,
				CheckInterval: time.Duration(a.SessionCheckInterval), CheckRate: a.SessionCheckRate}
		}
	}
	if err := c.checkDefaultApp(); err != nil {
		return err
	}
	if err := c.resolveWebhooks(); err != nil {
		return err
	}
	mk, err := secretFromEnvOrFile(getenv, "WXLOGIN_MASTER_KEY", c.MasterKeyFile, "master_key_file")
	if err != nil {
		return err
	}
	if mk == "" {
		return errors.New("master key: set WXLOGIN_MASTER_KEY or WXLOGIN_MASTER_KEY_FILE (id:base64 of 32 random bytes, e.g. from `openssl rand -base64 32`)")
	}
	if c.masterKey, err = keyring.Parse(mk); err != nil {
		return fmt.Errorf("master key: %v", err)
	}
	admin, err := secretFromEnvOrFile(getenv, "WXLOGIN_ADMIN_TOKEN", c.AdminTokenFile, "admin_token_file")
	if err != nil {
		return err
	}
	if admin != "" && len(admin) < 16 {
		return errors.New("admin token: WXLOGIN_ADMIN_TOKEN must be at least 16 characters")
	}
	c.adminToken = wxlogin.Secret(admin)
	for _, p := range c.TrustedProxy {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return fmt.Errorf("trusted_proxies: %q is neither an address nor a CIDR prefix", p)
			}
			pfx = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.proxies = append(c.proxies, pfx)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return fmt.Errorf("log_format: %q is neither json nor text", c.LogFormat)
	}
	if c.Shutdown < 0 {
		return errors.New("shutdown_timeout: must not be negative")
	}
	if c.CodeReuseWindow < 0 {
		return errors.New("code_reuse_window: must not be negative (0 shares a code's exchange only while it is in flight)")
	}
	// The service's own settings are checked by auth, the one place that
	// knows their rules, before anything is opened or written.
	return yamlError(c.authConfig().Validate())
}

// resolveWebhooks reads the webhooks' secret files and checks the
// endpoints; errors name the YAML key (webhooks[1].events).
func (c *config) resolveWebhooks() error {
	c.webhooks = nil
	for i, w := range c.Webhooks {
		if w.SecretFile == "" {
			return fmt.Errorf("webhooks[%d].secret_file: required: the signing secret is read only from a file", i)
		}
		b, err := os.ReadFile(w.SecretFile)
		if err != nil {
			return fmt.Errorf("webhooks[%d].secret_file: %v", i, err)
		}
		c.webhooks = append(c.webhooks, webhook.Endpoint{URL: w.URL, Secret: wxlogin.Secret(strings.TrimSpace(string(b))), Events: w.Events})
	}
	var ce *webhook.ConfigError
	if err := webhook.CheckEndpoints(c.webhooks); errors.As(err, &ce) {
		field := ce.Field
		if field == "secret" {
			field = "secret_file"
		}
		return fmt.Errorf("webhooks[%d].%s: %s", ce.Index, field, ce.Problem)
	} else if err != nil {
		return err
	}
	return nil
}

// webhooksKey is a comparable summary of endpoints, for the reload check:
// the secrets go in as hashes.
func webhooksKey(eps []webhook.Endpoint) string {
	var b strings.Builder
	for _, ep := range eps {
		sum := sha256.Sum256([]byte(ep.Secret.Reveal()))
		fmt.Fprintf(&b, "%q %q %x\n", ep.URL, ep.Events, sum)
	}
	return b.String()
}

// checkDefaultApp checks that default_app, when set, is one of the apps.
func (c *config) checkDefaultApp() error {
	if c.DefaultApp == "" {
		return nil
	}
	for _, a := range c.apps {
		if a.AppID == c.DefaultApp {
			return nil
		}
	}
	return fmt.Errorf("default_app: %q is not one of the apps configured", c.DefaultApp)
}

// authConfig returns the service settings of c: everything of auth.Config
// but the stores and clients, which Main.Start adds.
func (c *config) authConfig() auth.Config {
	return auth.Config{
		Apps:             c.apps,
		Keys:             c.masterKey,
		IdleTimeout:      time.Duration(c.Sessions.IdleTimeout),
		AbsoluteLifetime: time.Duration(c.Sessions.AbsoluteLifetime),
		TouchInterval:    time.Duration(c.Sessions.TouchInterval),
		DecryptMaxAge:    time.Duration(c.DecryptMaxAge),
		CodeReuseWindow:  reuseWindow(time.Duration(c.CodeReuseWindow)),
		Limits:           c.limits(),
		MaxAvatarBytes:   c.MaxAvatarBytes,
		ConnectURL:       c.WeChatConnectURL,
		SessionPolicies:  c.policies,
	}
}

// reuseWindow turns the file's code_reuse_window into auth's setting, where
// zero means the default and a negative window means none.
func reuseWindow(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// yamlKeys names auth's settings (auth.ConfigError.Setting) as the YAML
// file spells them; a limit's Rate and Burst follow its own key.
var yamlKeys = map[string]string{
	"Apps":                     "apps",
	"Keys":                     "master key",
	"IdleTimeout":              "sessions.idle_timeout",
	"AbsoluteLifetime":         "sessions.absolute_lifetime",
	"TouchInterval":            "sessions.touch_interval",
	"DecryptMaxAge":            "decrypt_max_age",
	"CodeReuseWindow":          "code_reuse_window",
	"MaxAvatarBytes":           "max_avatar_bytes",
	"Limits.LoginPerIP":        "limits.login_per_ip",
	"Limits.LoginPerApp":       "limits.login_per_app",
	"Limits.DecryptPerSession": "limits.decrypt_per_session",
	"Limits.AvatarPerUser":     "limits.avatar_per_user",
}

// yamlError rewrites an auth.ConfigError to name the YAML key of the
// setting, so that an operator reads the name they wrote.
func yamlError(err error) error {
	var ce *auth.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("%s: %s", yamlKey(ce.Setting), ce.Problem)
}

func yamlKey(setting string) string {
	if rest, ok := strings.CutPrefix(setting, "Apps["); ok {
		// An app's field: Apps[2].RedirectURIs[0] is apps[2].redirect_uris[0].
		for _, f := range [...][2]string{{"Suite.SuiteID", "suite_id"}, {"Suite.CorpIDs", "corpids"},
			{"Suite.Token", "callback_token_file"}, {"Suite.EncodingAESKey", "encoding_aes_key_file"},
			{"RedirectURIs", "redirect_uris"}, {"OpenPlatform", "open_platform"},
			{"AppID", "appid"}, {"Secret", "secret"}, {"Kind", "kind"}, {"CorpID", "corpid"}} {
			rest = strings.Replace(rest, "."+f[0], "."+f[1], 1)
		}
		return "apps[" + rest
	}
	// SessionPolicies[wx…].Mode is the session_policy of that app.
	if rest, ok := strings.CutPrefix(setting, "SessionPolicies["); ok {
		appid, field, _ := strings.Cut(rest, "]")
		key := map[string]string{".Mode": "session_policy", ".CheckInterval": "session_check_interval", ".CheckRate": "session_check_rate"}[field]
		if key == "" {
			return "apps[" + appid + "]"
		}
		return "apps[" + appid + "]." + key
	}
	if k, ok := yamlKeys[setting]; ok {
		return k
	}
	if i := strings.LastIndexByte(setting, '.'); i > 0 {
		if k, ok := yamlKeys[setting[:i]]; ok {
			return k + "." + strings.ToLower(setting[i+1:])
		}
	}
	return setting
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("log_level: %q is not debug, info, warn or error", s)
	}
	return l, nil
}

func (c *config) limits() auth.Limits {
	conv := func(l limitConfig) auth.Limit { return auth.Limit{Rate: l.Rate, Burst: l.Burst} }
	return auth.Limits{
		LoginPerIP:        conv(c.Limits.LoginPerIP),
		LoginPerApp:       conv(c.Limits.LoginPerApp),
		DecryptPerSession: conv(c.Limits.DecryptPerSession),
		AvatarPerUser:     conv(c.Limits.AvatarPerUser),
	}
}

// redactURL hides the password of a store URL for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
