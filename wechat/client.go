package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultBaseURL is WeChat's API root.
const DefaultBaseURL = "https://api.weixin.qq.com"

// Defaults taken by a Client's zero fields.
const (
	DefaultTimeout           = 10 * time.Second
	DefaultMaxBusyRetries    = 2
	DefaultBackoffBase       = 100 * time.Millisecond
	DefaultBackoffMax        = 2 * time.Second
	DefaultRefreshBefore     = 5 * time.Minute
	DefaultTokenFetchTimeout = 30 * time.Second
)

// maxBody bounds what we read of an answer: WeChat's are a few hundred bytes,
// and a broken proxy must not make us buffer megabytes.
const maxBody = 1 << 20

// refetchPause is how long AccessToken trusts a token inside its refresh
// window after a fetch brought it back unchanged: stable_token switches to a
// new token only "about" five minutes before expiry, and asking on every
// call until it does would burn the API's quota.
const refetchPause = 30 * time.Second

// defaultHTTPClient bounds every phase of a call, and follows no redirect:
// WeChat never redirects, and following one would send our query (secret,
// code, token) to wherever it points.
var defaultHTTPClient = &http.Client{
	Timeout: DefaultTimeout,
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: DefaultTimeout,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   64,
		ForceAttemptHTTP2:     true,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Client calls WeChat's server APIs. Its zero value is ready to use; set
// fields before the first call and do not copy it afterwards. It is safe for
// concurrent use.
type Client struct {
	// BaseURL is WeChat's API root; "" means DefaultBaseURL. Dev mode and
	// tests point it at the emulator.
	BaseURL string

	// WeComBaseURL is WeCom's API root, for WeCom apps; "" means
	// DefaultWeComBaseURL. Dev mode points it at the emulator too.
	WeComBaseURL string

	// HTTPClient sends the requests; nil means one with a 10 s overall
	// timeout that follows no redirects.
	HTTPClient *http.Client

	// Tokens caches access tokens per appid; nil means an in-memory cache
	// private to this Client. Share one cache between every process that
	// serves an app, or their tokens will displace each other.
	Tokens TokenCache

	// UseClassicToken makes AccessToken fetch from cgi-bin/token, which
	// issues a new token (and starts the old one's end) on every call,
	// instead of stable_token, which hands every caller the same one.
	UseClassicToken bool

	// Logger receives retries, token renewals and cache failures; nil means
	// slog.Default(). No secret ever reaches it.
	Logger *slog.Logger

	// Observer, when set, is told of every attempt of a call and every
	// access-token fetch, for metrics.
	Observer Observer

	// MaxBusyRetries bounds the retries after a busy (-1) answer: 0 means
	// DefaultMaxBusyRetries, negative means none.
	MaxBusyRetries int

	// NoUnavailableRetry turns off the single retry of a call that is safe
	// to repeat after a transport error, timeout, 5xx or unreadable body.
	NoUnavailableRetry bool

	// BackoffBase is the wait before the first retry, doubled for each
	// later one up to BackoffMax; each wait is drawn uniformly from
	// [d/2, d] so that many callers do not retry in step. Zero means
	// DefaultBackoffBase and DefaultBackoffMax. No wait is started that the
	// context's deadline would cut short: the error is returned instead.
	BackoffBase, BackoffMax time.Duration

	// RefreshBefore is how long before its expiry a cached access token is
	// renewed; 0 means DefaultRefreshBefore.
	RefreshBefore time.Duration

	// TokenFetchTimeout bounds one access-token fetch. The fetch is shared by
	// every concurrent caller, so it runs detached from the context of the
	// caller that started it; 0 means DefaultTokenFetchTimeout.
	TokenFetchTimeout time.Duration

	// Now is the clock that dates token expiry; nil means time.Now.
	Now func() time.Time

	// Sleep waits between retries and returns early with ctx's error when ctx
	// ends; nil means a timer. Tests replace it to record the backoff.
	Sleep func(ctx context.Context, d time.Duration) error

	defaultTokens MemoryTokenCache // the cache without Tokens; with them, this process's copy for while they fail
	flights       singleflight.Group
	fetchedAt     sync.Map // appid → time.Time of its last token fetch
}

func (c *Client) baseURL() string {
	if c.BaseURL == "" {
		return DefaultBaseURL
	}
	return strings.TrimRight(c.BaseURL, "/")
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient == nil {
		return defaultHTTPClient
	}
	return c.HTTPClient
}

func (c *Client) tokens() TokenCache {
	if c.Tokens == nil {
		return &c.defaultTokens
	}
	return c.Tokens
}

func (c *Client) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.Default()
	}
	return c.Logger
}

func (c *Client) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Client) maxBusyRetries() int {
	switch {
	case c.MaxBusyRetries == 0:
		return DefaultMaxBusyRetries
	case c.MaxBusyRetries < 0:
		return 0
	}
	return c.MaxBusyRetries
}

func (c *Client) refreshBefore() time.Duration {
	if c.RefreshBefore <= 0 {
		return DefaultRefreshBefore
	}
	return c.RefreshBefore
}

func (c *Client) tokenFetchTimeout() time.Duration {
	if c.TokenFetchTimeout <= 0 {
		return DefaultTokenFetchTimeout
	}
	return c.TokenFetchTimeout
}

// backoff returns the jittered wait before retry number n (0 for the first).
func (c *Client) backoff(n int) time.Duration {
	base, limit := c.BackoffBase, c.BackoffMax
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if limit <= 0 {
		limit = max(DefaultBackoffMax, base)
	}
	d := base
	for range n {
		if d >= limit/2 {
			d = limit
			break
		}
		d *= 2
	}
	d = min(d, limit)
	return d/2 + rand.N(d/2+1)
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// call describes one request to WeChat.
type call struct {
	base   string // the API root; "" means the Client's BaseURL
	api    string // WeChat's name for it, in errors and logs
	method string
	path   string
	query  url.Values
	body   any // sent as JSON when non-nil

	// secrets are the values this call carries that must not leak; they
	// are cut out of WeChat's errmsg in case it echoes one back.
	secrets []string

	// repeatable reports whether sending the call twice is harmless, which
	// permits one retry after WeChat was unavailable.
	repeatable bool
}

// answer is implemented by every response body: WeChat's error envelope.
type answer interface {
	status() *envelope
}

type envelope struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func (e *envelope) status() *envelope { return e }

// do sends cl, retrying as the package documentation describes, and decodes
// a successful answer into out.
func (c *Client) do(ctx context.Context, cl *call, out answer) error {
	busyRetries, unavailableRetried := 0, false
	for retry := 0; ; retry++ {
		start := time.Now()
		err := c.send(ctx, cl, out)
		kind := Classify(err)
		// Checked first: building the arguments costs allocations on every
		// call, while debug logging is off in production.
		if log := c.logger(); log.Enabled(ctx, slog.LevelDebug) {
			log.DebugContext(ctx, "wechat call", "api", cl.api, "attempt", retry+1,
				"kind", kind.String(), "duration", time.Since(start).String())
		}
		if err == nil {
			c.observe(cl.api, nil, false)
			return nil
		}
		switch {
		case kind == KindBusy && busyRetries < c.maxBusyRetries():
			busyRetries++
		case kind == KindUnavailable && cl.repeatable && !unavailableRetried &&
			!c.NoUnavailableRetry && ctx.Err() == nil:
			unavailableRetried = true
		default:
			c.observe(cl.api, err, false)
			return err
		}
		wait := c.backoff(retry)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			c.observe(cl.api, err, false)
			c.logger().WarnContext(ctx, "wechat call failed; no time left to retry",
				"api", cl.api, "kind", kind.String(), "err", err)
			return err
		}
		// Names, not numbers: a JSON log would print a Kind and a Duration
		// as bare integers.
		c.logger().WarnContext(ctx, "wechat call failed; retrying",
			"api", cl.api, "kind", kind.String(), "err", err, "backoff", wait.String())
		c.observe(cl.api, err, true)
		if c.sleep(ctx, wait) != nil {
			return err
		}
	}
}

func (c *Client) observe(api string, err error, retrying bool) {
	if c.Observer != nil {
		c.Observer.WeChatCall(api, ErrCodeLabel(err), retrying)
	}
}

// send makes one attempt of cl.
func (c *Client) send(ctx context.Context, cl *call, out answer) error {
	base := cl.base
	if base == "" {
		base = c.baseURL()
	}
	target := base + cl.path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}
	var body io.Reader
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return &UnavailableError{API: cl.api, Reason: "encoding the request", Err: err}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, target, body)
	if err != nil {
		return &UnavailableError{API: cl.api, Reason: "building the request", Err: redactURLError(err)}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return &UnavailableError{API: cl.api, Reason: "request failed", Err: redactURLError(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if resp.StatusCode != http.StatusOK {
		return &UnavailableError{API: cl.api, StatusCode: resp.StatusCode, Reason: "HTTP " + resp.Status}
	}
	if err != nil {
		return &UnavailableError{API: cl.api, Reason: "reading the answer", Err: redactURLError(err)}
	}
	if len(data) > maxBody {
		return &UnavailableError{API: cl.api, Reason: "answer larger than 1 MiB"}
	}
	// A failed attempt may have filled out in part; start clean.
	reflect.ValueOf(out).Elem().SetZero()
	if err := json.Unmarshal(data, out); err != nil {
		// The decoder's message names at most a character or a field type,
		// never a value, so it is safe to keep.
		return &UnavailableError{API: cl.api, Reason: "answer is not the expected JSON", Err: err}
	}
	if e := out.status(); e.ErrCode != 0 {
		return &Error{API: cl.api, ErrCode: e.ErrCode, ErrMsg: scrub(e.ErrMsg, cl.secrets)}
	}
	return nil
}

// scrub replaces every secret in msg, also in the query-escaped form an
// echo of our URL would carry.
func scrub(msg string, secrets []string) string {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		msg = strings.ReplaceAll(msg, s, "[redacted]")
		if escaped := url.QueryEscape(s); escaped != s {
			msg = strings.ReplaceAll(msg, escaped, "[redacted]")
		}
	}
	return msg
}

// malformed reports an answer that decoded but lacks what the API promises.
func malformed(api, what string) error {
	return &UnavailableError{API: api, Reason: "answer lacks " + what}
}
