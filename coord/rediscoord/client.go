package rediscoord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/wxlogin/wxlogin/keyring"
)

// Defaults of Options.
const (
	DefaultPrefix     = "wxlogin:"
	DefaultTimeout    = time.Second
	DefaultRetryAfter = time.Second
	DefaultHeartbeat  = 500 * time.Millisecond
)

// Options configure a Client. Zero fields take the defaults.
type Options struct {
	// Password authenticates to Redis. It is never part of the URL, which
	// is configuration and may be shown or logged.
	Password string
	// Prefix starts every key and channel name, so that deployments (or
	// tests) can share one Redis; default "wxlogin:".
	Prefix string
	// Keys seals the access tokens TokenCache keeps. Required.
	Keys *keyring.Keyring
	// Timeout bounds one Redis call (dial, write, read); default 1 s.
	Timeout time.Duration
	// RetryAfter is how long after a failed call every call fails at once
	// (and so falls back) before Redis is asked again; default 1 s.
	RetryAfter time.Duration
	// Heartbeat is how long the revocation subscription may be silent
	// before it is pinged; a ping unanswered for as long again marks the
	// connection lost. Default 500 ms, so a half-open connection is found
	// within about a second.
	Heartbeat time.Duration
	// Logger receives connection losses and fallbacks; default
	// slog.Default().
	Logger *slog.Logger
}

// Client is one deployment's connection to Redis; its methods return the
// coordination parts. It is safe for concurrent use.
type Client struct {
	rdb        *redis.Client
	prefix     string
	keys       *keyring.Keyring
	timeout    time.Duration
	retryAfter time.Duration
	heartbeat  time.Duration
	log        *slog.Logger

	downUntil atomic.Int64 // unix nanoseconds; before it, calls fail at once
}

// ErrDown is the error of a call made while the Client is giving Redis a
// rest after a failure (see Options.RetryAfter).
var ErrDown = errors.New("rediscoord: Redis failed a moment ago; not asking it again yet")

// CheckURL reports whether u is a Redis URL this package accepts:
// redis:// or rediss:// (TLS), a host, an optional database number, and no
// password (Options.Password carries it).
func CheckURL(u string) error {
	_, err := parseURL(u)
	return err
}

func parseURL(u string) (*redis.Options, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, errors.New("not a URL like redis://host:6379/0")
	}
	if pu.Scheme != "redis" && pu.Scheme != "rediss" {
		return nil, fmt.Errorf("scheme %q is not redis:// or rediss:// (TLS)", pu.Scheme)
	}
	if _, hasPassword := pu.User.Password(); hasPassword {
		return nil, errors.New("the URL carries a password; give it apart from the URL, which is not a secret")
	}
	if pu.Hostname() == "" {
		return nil, errors.New("the URL names no host (redis://host:6379/0)")
	}
	o, err := redis.ParseURL(u)
	if err != nil {
		// go-redis' errors quote the URL; this one has no password, but
		// say what is wrong in our own words anyway.
		return nil, fmt.Errorf("not a Redis URL like redis://host:6379/0: %s", strings.TrimPrefix(err.Error(), "redis: "))
	}
	return o, nil
}

// New returns a Client for the Redis at url. It does not connect: Redis is
// dialed on first use, and an unreachable Redis is an outage to fall back
// from, not a reason to refuse to start.
func New(u string, o Options) (*Client, error) {
	ro, err := parseURL(u)
	if err != nil {
		return nil, fmt.Errorf("redis: %v", err)
	}
	if o.Keys == nil {
		return nil, errors.New("redis: a keyring is required to seal access tokens")
	}
	c := &Client{
		prefix:     o.Prefix,
		keys:       o.Keys,
		timeout:    o.Timeout,
		retryAfter: o.RetryAfter,
		heartbeat:  o.Heartbeat,
		log:        o.Logger,
	}
	if c.prefix == "" {
		c.prefix = DefaultPrefix
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.retryAfter <= 0 {
		c.retryAfter = DefaultRetryAfter
	}
	if c.heartbeat <= 0 {
		c.heartbeat = DefaultHeartbeat
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	ro.Password = o.Password
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout, ro.PoolTimeout = c.timeout, c.timeout, c.timeout, c.timeout
	ro.ContextTimeoutEnabled = true
	// No retries: a script that timed out may have run, and running a
	// claim twice would make the second look like someone else's. A
	// failed call falls back instead.
	ro.MaxRetries = -1
	// One dial per call: a refused connection is an outage to fall back
	// from now, not after five attempts.
	ro.DialerRetries = 1
	ro.DisableIdentity = true
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	c.rdb = redis.NewClient(ro)
	routeLibraryLog.Do(func() { redis.SetLogger(libraryLog{c.log}) })
	return c, nil
}

// go-redis logs through one logger of the whole process, to stderr by
// default; the first Client sends it to its own logger at debug level, since
// every failure it reports reaches this package as an error too.
var routeLibraryLog sync.Once

type libraryLog struct{ log *slog.Logger }

func (l libraryLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}

// Close closes the connections. Subscriptions must be stopped first.
func (c *Client) Close() error { return c.rdb.Close() }

// Ping asks Redis whether it answers.
func (c *Client) Ping(ctx context.Context) error {
	return c.call(ctx, func(ctx context.Context) error { return c.rdb.Ping(ctx).Err() })
}

// call runs f within the call timeout, unless Redis failed less than
// RetryAfter ago. A failure of Redis (not an error reply of a script, not
// the caller's own cancellation) starts such a rest.
func (c *Client) call(ctx context.Context, f func(context.Context) error) error {
	if time.Now().UnixNano() < c.downUntil.Load() {
		return ErrDown
	}
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	err := f(cctx)
	if err == nil || errors.Is(err, redis.Nil) || ctx.Err() != nil {
		return err
	}
	var reply redis.Error
	if errors.As(err, &reply) && !strings.HasPrefix(reply.Error(), "LOADING") {
		return err // Redis answered, with an error
	}
	c.rest(err)
	return err
}

// rest makes calls fail at once (ErrDown) for RetryAfter, after err showed
// Redis failing.
func (c *Client) rest(err error) {
	if c.downUntil.Swap(time.Now().Add(c.retryAfter).UnixNano()) < time.Now().UnixNano() {
		c.log.Warn("rediscoord: Redis failed; falling back to this instance's own records for a while", "err", err)
	}
}

// key names a Redis key of this deployment.
func (c *Client) key(parts ...string) string {
	return c.prefix + strings.Join(parts, ":")
}
