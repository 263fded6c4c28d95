package rediscoord

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// TokenCache is wechat.TokenCache in Redis: one hash per app holding the
// access token sealed with the keyring, its expiry (µs) and its SHA-256,
// which is what compare-and-delete compares (a sealed value differs every
// time it is sealed). Put-if-newer and compare-and-delete are Lua scripts,
// atomic across instances. wxlogin.Secret marshals as "[redacted]", which
// is why the value is sealed from Reveal, never marshaled.
//
// A failing TokenCache is no outage: the wechat client then fetches a
// token itself (stable_token hands every instance the same one).
type TokenCache struct{ c *Client }

var (
	_ wechat.TokenCache  = (*TokenCache)(nil)
	_ wechat.FetchLocker = (*TokenCache)(nil)
)

// TokenCache returns the deployment's shared access-token cache.
func (c *Client) TokenCache() *TokenCache { return &TokenCache{c: c} }

// tokenKeep is how long Redis keeps a token past its expiry; the expiry
// decides whether it is used, this only bounds what stays behind.
const tokenKeep = time.Hour

// putTokenScript: KEYS token; ARGV expiry (µs), sealed value, hash, TTL (ms).
var putTokenScript = redis.NewScript(`
local old = redis.call('HGET', KEYS[1], 'e')
if old and tonumber(old) > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'e', ARGV[1], 'v', ARGV[2], 'h', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

// deleteTokenScript: KEYS token; ARGV hash of the failed value.
var deleteTokenScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'h') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

func tokenHash(v wxlogin.Secret) string {
	h := sha256.Sum256([]byte(v.Reveal()))
	return hex.EncodeToString(h[:])
}

// Get implements wechat.TokenCache.
func (t *TokenCache) Get(ctx context.Context, appid string) (wechat.Token, bool, error) {
	var f []any
	err := t.c.call(ctx, func(ctx context.Context) error {
		var err error
		f, err = t.c.rdb.HMGet(ctx, t.c.key("token", appid), "e", "v").Result()
		return err
	})
	if err != nil {
		return wechat.Token{}, false, err
	}
	e, ok1 := f[0].(string)
	v, ok2 := f[1].(string)
	if !ok1 || !ok2 {
		return wechat.Token{}, false, nil
	}
	us, err := strconv.ParseInt(e, 10, 64)
	if err != nil {
		return wechat.Token{}, false, errors.New("rediscoord: cached access token with a malformed expiry")
	}
	plain, err := t.c.keys.Open([]byte(v))
	if err != nil {
		// Sealed under a key this instance lacks, or damaged: fetch anew.
		return wechat.Token{}, false, errors.New("rediscoord: the cached access token does not open with this keyring")
	}
	return wechat.Token{Value: wxlogin.Secret(plain), ExpiresAt: time.UnixMicro(us).UTC()}, true, nil
}

// Put implements wechat.TokenCache.
func (t *TokenCache) Put(ctx context.Context, appid string, tok wechat.Token) error {
	sealed := t.c.keys.Seal([]byte(tok.Value.Reveal()))
	ttl := max(time.Until(tok.ExpiresAt), 0) + tokenKeep
	return t.c.call(ctx, func(ctx context.Context) error {
		return putTokenScript.Run(ctx, t.c.rdb, []string{t.c.key("token", appid)},
			tok.ExpiresAt.UnixMicro(), sealed, tokenHash(tok.Value), ms(ttl)).Err()
	})
}

// Delete implements wechat.TokenCache.
func (t *TokenCache) Delete(ctx context.Context, appid string, failed wxlogin.Secret) error {
	return t.c.call(ctx, func(ctx context.Context) error {
		return deleteTokenScript.Run(ctx, t.c.rdb, []string{t.c.key("token", appid)}, tokenHash(failed)).Err()
	})
}

// unlockFetchScript: KEYS lock; ARGV the holder's id.
var unlockFetchScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// LockFetch implements wechat.FetchLocker: SET NX with a random holder id
// and an expiry, so that a holder that died frees the lock by itself, and
// an unlock that comes after the expiry cannot free a later holder's.
func (t *TokenCache) LockFetch(ctx context.Context, appid string, ttl time.Duration) (func(), bool, error) {
	key, id := t.c.key("tokenlock", appid), rand.Text()
	var locked bool
	err := t.c.call(ctx, func(ctx context.Context) error {
		var err error
		locked, err = t.c.rdb.SetNX(ctx, key, id, max(ttl, time.Millisecond)).Result()
		return err
	})
	if err != nil || !locked {
		return nil, false, err
	}
	unlock := func() {
		// Detached from ctx: the fetch's context may have ended, and a lock
		// left behind makes the others wait for its expiry.
		t.c.call(context.Background(), func(ctx context.Context) error {
			return unlockFetchScript.Run(ctx, t.c.rdb, []string{key}, id).Err()
		})
	}
	return unlock, true, nil
}
