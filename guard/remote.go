package guard

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/wxlogin/wxlogin"
)

// RemoteConfig configures Remote.
type RemoteConfig struct {
	// URL is where wxlogin's API is served, such as
	// "http://127.0.0.1:8080", or "https://login.example.com/wx" when it is
	// mounted under a prefix. The Guard calls URL + "/v1/auth".
	URL string

	// AppID, when set, passes only that app's tokens: it is sent as
	// forward-auth's ?appid=, and wxlogin answers another app's token 401
	// as it does an unknown one.
	AppID string

	// HTTPClient sends the verifications. Nil means a client of the
	// Guard's own: keep-alive connections (up to 256 idle to wxlogin, so
	// that a busy backend does not open a connection per request), 3 s to
	// connect, 5 s for wxlogin's answer, no proxy from the environment and
	// no redirects followed.
	HTTPClient *http.Client

	// Timeout bounds one verification, waiting for a call already in
	// flight for the same token included. 0 means 5 s.
	Timeout time.Duration

	// CacheTTL turns on a local cache of verified tokens and is its
	// revocation bound: a token logged out, revoked by an admin or of an
	// erased user may still pass on this backend for up to CacheTTL after
	// wxlogin stopped accepting it. 0 (the default) turns the cache off and
	// every request asks wxlogin, which knows of a revocation at once.
	// Only verified tokens are cached; a refused one is asked again.
	CacheTTL time.Duration

	// CacheSize bounds the tokens the cache remembers; 0 means 10000.
	// When full, an arbitrary entry makes room.
	CacheSize int

	// Logger receives why a verification could not be made (wxlogin
	// unreachable, an unexpected answer); nil means slog.Default(). The
	// token is never logged.
	Logger *slog.Logger
}

// DefaultRemoteTimeout is the default RemoteConfig.Timeout.
const DefaultRemoteTimeout = 5 * time.Second

// DefaultCacheSize is the default RemoteConfig.CacheSize.
const DefaultCacheSize = 10000

// Remote returns a Guard that verifies each request's Bearer token with
// wxlogin's GET /v1/auth.
func Remote(cfg RemoteConfig) (*Guard, error) {
	base, err := url.Parse(cfg.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.RawQuery != "" || base.Fragment != "" {
		return nil, errors.New("guard: RemoteConfig.URL must be an http or https URL without query, such as http://127.0.0.1:8080")
	}
	if err := checkAppID(cfg.AppID); err != nil {
		return nil, err
	}
	if cfg.CacheTTL < 0 || cfg.CacheSize < 0 || cfg.Timeout < 0 {
		return nil, errors.New("guard: RemoteConfig's Timeout, CacheTTL and CacheSize must not be negative")
	}
	authURL := strings.TrimSuffix(base.String(), "/") + "/v1/auth"
	if cfg.AppID != "" {
		authURL += "?appid=" + url.QueryEscape(cfg.AppID)
	}
	rm := &remote{
		authURL: authURL,
		client:  cfg.HTTPClient,
		timeout: cfg.Timeout,
		log:     cfg.Logger,
		now:     time.Now,
	}
	if rm.client == nil {
		rm.client = newHTTPClient()
	}
	if rm.timeout == 0 {
		rm.timeout = DefaultRemoteTimeout
	}
	if rm.log == nil {
		rm.log = slog.Default()
	}
	if cfg.CacheTTL > 0 {
		size := cfg.CacheSize
		if size == 0 {
			size = DefaultCacheSize
		}
		rm.cache = newTokenCache(cfg.CacheTTL, size)
	}
	return &Guard{identify: rm.identify, remote: rm}, nil
}

// newHTTPClient is the client a Remote guard makes for itself. The
// environment's HTTP_PROXY is not used: wxlogin is a service of one's own
// network, and a proxy of the way out would see every user's token.
func newHTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 5 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		// forward-auth never redirects; one that does is misconfigured,
		// and following it would send the token somewhere else.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type remote struct {
	authURL string
	client  *http.Client
	timeout time.Duration
	log     *slog.Logger
	now     func() time.Time
	cache   *tokenCache // nil when off
	flight  singleflight.Group
}

func (rm *remote) identify(r *http.Request) (wxlogin.Principal, bool, error) {
	tok := bearerToken(r)
	if tok == "" {
		return wxlogin.Principal{}, false, nil
	}
	if !plausibleToken(tok) {
		return wxlogin.Principal{}, false, errRefused
	}
	p, err := rm.verify(tok)
	if err != nil {
		return wxlogin.Principal{}, false, err
	}
	return p, true, nil
}

// verify asks wxlogin about tok, unless the cache knows it. Concurrent
// requests with one token share one call: a mini program opening a page
// sends several requests at once, and they all carry the same token.
func (rm *remote) verify(tok string) (wxlogin.Principal, error) {
	key := tokenKey(sha256.Sum256([]byte(tok)))
	if rm.cache != nil {
		if p, ok := rm.cache.get(key, rm.now()); ok {
			return p, nil
		}
	}
	// The call runs on a context of its own (see ask): one caller giving
	// up must not fail the others waiting for the same answer. It runs on
	// the first caller's goroutine, since handing it to a goroutine of its
	// own (DoChan) cost more than the rest of the guard together; a caller
	// whose request is canceled meanwhile waits at most Timeout.
	v, err, _ := rm.flight.Do(string(key[:]), func() (any, error) {
		return rm.ask(tok, key)
	})
	if err != nil {
		return wxlogin.Principal{}, err
	}
	return v.(wxlogin.Principal), nil
}

// ask makes one call of GET /v1/auth.
func (rm *remote) ask(tok string, key tokenKey) (wxlogin.Principal, error) {
	ctx, cancel := context.WithTimeout(context.Background(), rm.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rm.authURL, nil)
	if err != nil {
		rm.log.Error("guard: cannot build the verification request", "err", err)
		return wxlogin.Principal{}, errInternal
	}
	req.Header["Authorization"] = []string{"Bearer " + tok}
	resp, err := rm.client.Do(req)
	if err != nil {
		// The error names the URL, which holds no secret; the token
		// travels in a header it does not print.
		rm.log.Warn("guard: wxlogin cannot be reached", "err", err)
		return wxlogin.Principal{}, errUnavailable
	}
	// Read what little body there is, so the connection is reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()

	switch {
	case resp.StatusCode == http.StatusOK:
		p, ok := principalFromHeaders(resp.Header)
		if !ok {
			rm.log.Error("guard: wxlogin answered 200 without an identity: is RemoteConfig.URL wxlogin's?", "url", rm.authURL)
			return wxlogin.Principal{}, errInternal
		}
		if rm.cache != nil {
			rm.cache.put(key, p, rm.now())
		}
		return p, nil
	case resp.StatusCode == http.StatusUnauthorized:
		return wxlogin.Principal{}, errRefused
	case resp.StatusCode >= 500:
		rm.log.Warn("guard: wxlogin cannot verify tokens", "status", resp.StatusCode)
		e := *errUnavailable
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return wxlogin.Principal{}, &e
	default:
		rm.log.Error("guard: unexpected answer of wxlogin's forward-auth: is RemoteConfig.URL wxlogin's?", "status", resp.StatusCode, "url", rm.authURL)
		return wxlogin.Principal{}, errInternal
	}
}
