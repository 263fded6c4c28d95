package wechat

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/wxlogin/wxlogin"
)

// TokenCache keeps one access token per key: an appid, or for a WeCom app
// "wecom:corpid:appid" (WeCom issues that token). Implementations must be safe
// for concurrent use. A cache shared by several processes (Redis) is what
// keeps a fleet from fetching, and so invalidating, each other's tokens.
type TokenCache interface {
	// Get returns the appid's token; ok is false when there is none.
	Get(ctx context.Context, appid string) (t Token, ok bool, err error)

	// Put stores the appid's token unless the cached one expires later
	// (put-if-newer): a caller whose fetch was slow must not replace the
	// token another caller fetched since with the older one it got. A
	// token expiring at the same moment replaces the cached one.
	Put(ctx context.Context, appid string, t Token) error

	// Delete removes the appid's token only if its value is still failed:
	// when a call fails with a token error, another caller may already
	// have stored a good replacement, which must survive.
	Delete(ctx context.Context, appid string, failed wxlogin.Secret) error
}

// FetchLocker is implemented by a TokenCache that several processes share.
// Their callers that miss the cache at the same moment would each fetch a
// token; the lock lets one of them fetch while the others wait for its
// token to appear in the cache.
type FetchLocker interface {
	// LockFetch tries to take the appid's fetch lock for at most ttl; ok is
	// false while another holder has it. unlock releases the lock only if
	// it is still this caller's (it may have run out and been taken since).
	LockFetch(ctx context.Context, appid string, ttl time.Duration) (unlock func(), ok bool, err error)
}

// fetchLockWait bounds how long a process waits for the one holding the
// fetch lock: past it, the holder is presumed stuck or dead and the waiter
// fetches itself (stable_token hands it the same token, so the only cost is
// one more call).
const fetchLockWait = 5 * time.Second

// MemoryTokenCache is a TokenCache private to one process. Its zero value
// is ready to use.
type MemoryTokenCache struct {
	mu     sync.Mutex
	tokens map[string]Token
}

var _ TokenCache = (*MemoryTokenCache)(nil)

// Get implements TokenCache.
func (m *MemoryTokenCache) Get(_ context.Context, appid string) (Token, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[appid]
	return t, ok, nil
}

// Put implements TokenCache.
func (m *MemoryTokenCache) Put(_ context.Context, appid string, t Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tokens == nil {
		m.tokens = make(map[string]Token)
	}
	if old, ok := m.tokens[appid]; ok && old.ExpiresAt.After(t.ExpiresAt) {
		return nil
	}
	m.tokens[appid] = t
	return nil
}

// Delete implements TokenCache.
func (m *MemoryTokenCache) Delete(_ context.Context, appid string, failed wxlogin.Secret) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.tokens[appid]; ok && t.Value == failed {
		delete(m.tokens, appid)
	}
	return nil
}

type tokenAnswer struct {
	envelope
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// maxTokenLifetime caps the expires_in we believe. WeChat says 7200 s; a
// larger number is a broken answer, and one past 292 years would overflow
// time.Duration into a token that looks expired on arrival.
const maxTokenLifetime = 24 * time.Hour

func (a *tokenAnswer) token(api string, issued time.Time) (Token, error) {
	if a.AccessToken == "" || a.ExpiresIn <= 0 {
		return Token{}, malformed(api, "access_token or expires_in")
	}
	life := maxTokenLifetime
	if a.ExpiresIn < int64(maxTokenLifetime/time.Second) {
		life = time.Duration(a.ExpiresIn) * time.Second
	}
	return Token{Value: wxlogin.Secret(a.AccessToken), ExpiresAt: issued.Add(life)}, nil
}

// GetAccessToken fetches a new token from cgi-bin/token, uncached. Every
// call issues a new token and starts the end of the previous one (it keeps
// working about 5 minutes), so prefer AccessToken.
func (c *Client) GetAccessToken(ctx context.Context, app wxlogin.App) (Token, error) {
	const api = "token"
	issued := c.now()
	var a tokenAnswer
	err := c.do(ctx, &call{
		api:    api,
		method: http.MethodGet,
		path:   "/cgi-bin/token",
		query: url.Values{
			"grant_type": {"client_credential"},
			"appid":      {app.AppID},
			"secret":     {app.Secret.Reveal()},
		},
		secrets: []string{app.Secret.Reveal()},
	}, &a)
	if err != nil {
		return Token{}, err
	}
	return a.token(api, issued)
}

// GetStableAccessToken fetches from stable_token, uncached. Without
// forceRefresh WeChat hands back the token it already issued until about 5
// minutes before its expiry. forceRefresh makes a new one at once; WeChat
// allows it at most 20 times a day, 30 s apart.
func (c *Client) GetStableAccessToken(ctx context.Context, app wxlogin.App, forceRefresh bool) (Token, error) {
	const api = "stable_token"
	issued := c.now()
	var a tokenAnswer
	err := c.do(ctx, &call{
		api:    api,
		method: http.MethodPost,
		path:   "/cgi-bin/stable_token",
		body: struct {
			GrantType    string `json:"grant_type"`
			AppID        string `json:"appid"`
			Secret       string `json:"secret"`
			ForceRefresh bool   `json:"force_refresh"`
		}{"client_credential", app.AppID, app.Secret.Reveal(), forceRefresh},
		secrets:    []string{app.Secret.Reveal()},
		repeatable: !forceRefresh,
	}, &a)
	if err != nil {
		return Token{}, err
	}
	return a.token(api, issued)
}

// AccessToken returns the app's access token from the cache, fetching one
// when there is none or it is due for renewal. Concurrent callers in this
// process share one fetch. When a renewal fails but the cached token has not
// expired yet, that token is returned and the failure logged.
func (c *Client) AccessToken(ctx context.Context, app wxlogin.App) (Token, error) {
	key := tokenKey(app)
	cached, ok, err := c.tokens().Get(ctx, key)
	if err != nil {
		// Better this process's own copy, or a fetch, than an outage;
		// stable_token hands every instance the same token anyway.
		c.logger().WarnContext(ctx, "wechat token cache unreadable; using this process's copy or fetching", "appid", app.AppID, "err", err)
		cached, ok, _ = c.defaultTokens.Get(ctx, key)
	}
	now := c.now()
	if ok && c.fresh(key, cached, now) {
		return cached, nil
	}
	t, err := c.fetchShared(ctx, app)
	if err != nil {
		if ok && now.Before(cached.ExpiresAt) {
			c.logger().WarnContext(ctx, "wechat token renewal failed; using the cached token until it expires",
				"appid", app.AppID, "expires_at", cached.ExpiresAt, "err", err)
			return cached, nil
		}
		return Token{}, err
	}
	return t, nil
}

// tokenKey is the TokenCache key of the app's token: its appid, or for a
// WeCom app a key of its own (WeCom issues the token, from the corp).
func tokenKey(app wxlogin.App) string {
	if app.IsWeComSuite() && app.Suite != nil {
		return suiteTokenKey(app.Suite.SuiteID)
	}
	if app.IsWeCom() {
		return weComTokenKey(app)
	}
	return app.AppID
}

// fresh reports whether t can be handed out without asking WeChat.
func (c *Client) fresh(appid string, t Token, now time.Time) bool {
	if !now.Before(t.ExpiresAt) {
		return false
	}
	if now.Before(t.ExpiresAt.Add(-c.refreshBefore())) {
		return true
	}
	// Due for renewal. If we just asked and got it back, wait a little
	// before asking again (see refetchPause).
	at, ok := c.fetchedAt.Load(appid)
	return ok && now.Sub(at.(time.Time)) < refetchPause
}

// fetchShared fetches the app's token once for all concurrent callers and
// stores it in the cache. Each caller waits only as long as its own context
// allows; the fetch itself goes on for the others.
func (c *Client) fetchShared(ctx context.Context, app wxlogin.App) (Token, error) {
	key := tokenKey(app)
	ch := c.flights.DoChan(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.tokenFetchTimeout())
		defer cancel()
		cached, ok, unlock := c.takeFetch(ctx, key)
		if ok {
			c.defaultTokens.Put(ctx, key, cached)
			return cached, nil
		}
		defer unlock()
		var t Token
		var err error
		switch {
		case app.IsWeComSuite():
			t, err = c.GetSuiteAccessToken(ctx, app)
		case app.IsWeCom():
			t, err = c.GetWeComAccessToken(ctx, app)
		case c.UseClassicToken:
			t, err = c.GetAccessToken(ctx, app)
		default:
			t, err = c.GetStableAccessToken(ctx, app, false)
		}
		if c.Observer != nil {
			c.Observer.AccessTokenFetch(err == nil)
		}
		if err != nil {
			return Token{}, err
		}
		c.fetchedAt.Store(key, c.now())
		// This process's own copy too, for while a shared cache is down:
		// without it every call would fetch.
		c.defaultTokens.Put(ctx, key, t)
		if err := c.tokens().Put(ctx, key, t); err != nil {
			c.logger().WarnContext(ctx, "wechat token cache unwritable", "appid", app.AppID, "err", err)
		}
		c.logger().InfoContext(ctx, "wechat access token fetched", "appid", app.AppID,
			"classic", c.UseClassicToken, "expires_at", t.ExpiresAt)
		return t, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Token{}, r.Err
		}
		return r.Val.(Token), nil
	case <-ctx.Done():
		return Token{}, &UnavailableError{API: "access_token", Reason: "gave up waiting for the token", Err: ctx.Err()}
	}
}

// takeFetch decides whether this process fetches the app's token. ok
// means no: the cache has a token to use, t. Otherwise the caller fetches,
// holding the fetch lock if the cache is shared and the lock could be
// taken; it calls unlock when its token is in the cache.
//
// While another process holds the lock, takeFetch waits (up to
// fetchLockWait) for it to finish. A token that process leaves in the
// cache is used even inside its renewal window: stable_token switches only
// about five minutes before expiry, so asking again now would bring the
// same token back.
func (c *Client) takeFetch(ctx context.Context, key string) (t Token, ok bool, unlock func()) {
	nothing := func() {}
	// While this caller waited for the in-process flight, another process
	// sharing the cache may have renewed the token.
	if t, ok, err := c.tokens().Get(ctx, key); err == nil && ok && c.now().Before(t.ExpiresAt.Add(-c.refreshBefore())) {
		return t, true, nil
	}
	locker, shared := c.tokens().(FetchLocker)
	if !shared {
		return Token{}, false, nothing
	}
	deadline := time.Now().Add(fetchLockWait)
	waited := false
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, 200*time.Millisecond) {
		unlock, locked, err := locker.LockFetch(ctx, key, c.tokenFetchTimeout())
		if err != nil {
			c.logger().WarnContext(ctx, "wechat token cache: no fetch lock; fetching without it", "key", key, "err", err)
			return Token{}, false, nothing
		}
		if locked {
			t, ok, err := c.tokens().Get(ctx, key)
			if err == nil && ok && c.now().Before(t.ExpiresAt) &&
				(waited || c.now().Before(t.ExpiresAt.Add(-c.refreshBefore()))) {
				unlock()
				c.fetchedAt.Store(key, c.now())
				return t, true, nil
			}
			return Token{}, false, unlock
		}
		waited = true
		if time.Now().After(deadline) {
			c.logger().WarnContext(ctx, "wechat token cache: another instance holds the fetch lock too long; fetching", "key", key)
			return Token{}, false, nothing
		}
		select {
		case <-ctx.Done():
			return Token{}, false, nothing
		case <-time.After(pause):
		}
		if t, ok, err := c.tokens().Get(ctx, key); err == nil && ok && c.now().Before(t.ExpiresAt.Add(-c.refreshBefore())) {
			return t, true, nil
		}
	}
}

// withAccessToken runs f with the app's access token. When WeChat rejects
// the token, it is dropped from the cache (unless another caller already
// replaced it), a new one is obtained and f runs once more.
func (c *Client) withAccessToken(ctx context.Context, app wxlogin.App, api string, f func(token string) error) error {
	t, err := c.AccessToken(ctx, app)
	if err != nil {
		return err
	}
	err = f(t.Value.Reveal())
	if Classify(err) != KindToken {
		return err
	}
	c.logger().WarnContext(ctx, "wechat rejected the access token; renewing it", "appid", app.AppID, "api", api, "err", err)
	c.fetchedAt.Delete(tokenKey(app))
	c.defaultTokens.Delete(ctx, tokenKey(app), t.Value)
	if derr := c.tokens().Delete(ctx, tokenKey(app), t.Value); derr != nil {
		c.logger().WarnContext(ctx, "wechat token cache: dropping the rejected token failed", "appid", app.AppID, "err", derr)
	}
	renewed, rerr := c.AccessToken(ctx, app)
	if rerr != nil {
		return rerr
	}
	if renewed.Value == t.Value {
		// WeChat handed back the very token it rejected (stable_token does
		// until it rotates); calling again would fail the same way. A forced
		// refresh is not ours to spend: WeChat allows 20 a day per app.
		return err
	}
	return f(renewed.Value.Reveal())
}
