package rediscoord

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxlogin/wxlogin/auth"
)

// RateLimiter is auth.RateLimiter with its buckets in Redis, so that N
// instances admit together what one would. A bucket is a hash of its
// tokens and the time they were counted at, taken from by one Lua script,
// so concurrent requests of every instance take at most the burst. Time is
// the caller's (auth's clock, in microseconds), not Redis'.
//
// While Redis fails, each instance takes from buckets of its own (an
// auth.LocalRateLimiter): the limits then hold per instance, rather than
// not at all.
type RateLimiter struct {
	c     *Client
	local auth.LocalRateLimiter
}

var _ auth.RateLimiter = (*RateLimiter)(nil)

// RateLimiter returns the deployment's shared token buckets.
func (c *Client) RateLimiter() *RateLimiter { return &RateLimiter{c: c} }

// takeScript takes one token from KEYS[1]. ARGV: rate (tokens a second),
// burst, now (µs), the key's time to live (ms). It returns {1, 0} when a
// token was taken, {0, µs until one is there} otherwise (-1: never). A new
// bucket starts full; a clock that went back counts no refill.
var takeScript = redis.NewScript(`
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if burst <= 0 then return {0, -1} end
local b = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens, at = tonumber(b[1]), tonumber(b[2])
if tokens == nil or at == nil then tokens, at = burst, now end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1e6)
  at = now
end
if tokens >= 1 then
  redis.call('HSET', KEYS[1], 't', tokens - 1, 'at', at)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {1, 0}
end
if rate <= 0 then return {0, -1} end
return {0, math.ceil((1 - tokens) * 1e6 / rate)}
`)

// Allow implements auth.RateLimiter.
func (l *RateLimiter) Allow(ctx context.Context, key string, lim auth.Limit, now time.Time) (bool, time.Duration, error) {
	var res []int64
	err := l.c.call(ctx, func(ctx context.Context) error {
		var err error
		res, err = takeScript.Run(ctx, l.c.rdb, []string{l.c.limiterKey(key)},
			lim.Rate, lim.Burst, now.UnixMicro(), refill(lim).Milliseconds()).Int64Slice()
		return err
	})
	if err != nil || len(res) != 2 {
		return l.local.Allow(ctx, key, lim, now)
	}
	switch {
	case res[0] == 1:
		return true, 0, nil
	case res[1] < 0:
		return false, time.Minute, nil // as auth.LocalRateLimiter says of a bucket that never refills
	default:
		return false, time.Duration(res[1]) * time.Microsecond, nil
	}
}

// Sweep evicts the idle buckets of the fallback; Redis expires its own.
func (l *RateLimiter) Sweep(now time.Time) { l.local.Sweep(now) }

// limiterKey keeps a limit's name (auth's prefix, "login_ip:...") readable
// and the rest, an address or an id, only as a hash.
func (c *Client) limiterKey(key string) string {
	name, rest, _ := strings.Cut(key, ":")
	h := sha256.Sum256([]byte(rest))
	return c.key("limit", name, hex.EncodeToString(h[:]))
}

// refill is how long an untouched bucket of l takes to be full again, and
// so how long Redis keeps it (a second more, at most an hour, as the
// in-process limiter does).
func refill(l auth.Limit) time.Duration {
	if l.Rate <= 0 {
		return time.Hour
	}
	secs := float64(l.Burst) / l.Rate
	if secs > 3600 || math.IsNaN(secs) {
		return time.Hour
	}
	return time.Duration(secs*float64(time.Second)) + time.Second
}
