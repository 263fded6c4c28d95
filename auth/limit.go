package auth

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimiter keeps token buckets by key, for every limit of the Service
// (logins per IP and per app, decrypts per session, avatar uploads per
// user); a shared one (Redis) makes N instances admit what one would.
// auth/coordtest is the suite every implementation passes; LocalRateLimiter
// is the in-process one.
type RateLimiter interface {
	// Allow takes one token at now from key's bucket, which holds at most
	// l.Burst tokens and gains l.Rate tokens a second (l.Rate ≥ 0); a
	// bucket not seen before starts full. When the bucket is empty it takes
	// nothing and returns how long until a token is there; with l.Burst 0
	// nothing is ever allowed. Auth prefixes each limit's keys with its
	// name, so a key's l changes only when a reload changes the limit: the
	// bucket then keeps its tokens (at most the new l.Burst) and refills at
	// the new l.Rate.
	Allow(ctx context.Context, key string, l Limit, now time.Time) (ok bool, retryAfter time.Duration, err error)
}

// limiter is one of the Service's limits: its name, its Limit and the
// buckets it takes from.
type limiter struct {
	name    string // key prefix and log name
	limit   Limit
	off     bool
	buckets RateLimiter
	log     *slog.Logger
}

func newLimiter(name string, l Limit, buckets RateLimiter, log *slog.Logger) *limiter {
	return &limiter{name: name, limit: l, off: l.Rate < 0, buckets: buckets, log: log}
}

// allow takes one token from key's bucket at now. When the bucket is empty
// it takes nothing and returns how long until a token is there. A limiter
// that fails admits the request: limits protect WeChat's quota and the
// server from floods, and refusing every login while a shared limiter is
// unreachable would turn its outage into everyone's.
func (l *limiter) allow(ctx context.Context, key string, now time.Time) (ok bool, retryAfter time.Duration) {
	if l.off {
		return true, 0
	}
	ok, retryAfter, err := l.buckets.Allow(ctx, l.name+":"+key, l.limit, now)
	if err != nil {
		l.log.WarnContext(ctx, "auth: rate limiter failed; admitting the request", "limit", l.name, "err", err)
		return true, 0
	}
	return ok, retryAfter
}

// LocalRateLimiter is the in-process RateLimiter. Buckets idle long enough
// to have refilled are evicted: a fresh bucket is indistinguishable from
// them, and a flood of distinct IPs must not grow memory without bound. The
// zero value is ready to use.
type LocalRateLimiter struct {
	mu         sync.Mutex
	buckets    map[string]*bucket
	lastSweep  time.Time
	sweepEvery time.Duration // the shortest refill of any bucket, at most an hour
}

var _ RateLimiter = (*LocalRateLimiter)(nil)

type bucket struct {
	lim    *rate.Limiter
	refill time.Duration
	used   time.Time
}

// Allow implements RateLimiter.
func (b *LocalRateLimiter) Allow(_ context.Context, key string, l Limit, now time.Time) (bool, time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buckets == nil {
		b.buckets = make(map[string]*bucket)
	}
	if b.sweepEvery > 0 && now.Sub(b.lastSweep) >= b.sweepEvery {
		b.sweepLocked(now)
	}
	k := b.buckets[key]
	if k == nil {
		k = &bucket{lim: rate.NewLimiter(rate.Limit(l.Rate), l.Burst), refill: refill(l)}
		b.buckets[key] = k
		if b.sweepEvery == 0 || k.refill < b.sweepEvery {
			b.sweepEvery = k.refill
		}
	} else if k.lim.Limit() != rate.Limit(l.Rate) || k.lim.Burst() != l.Burst {
		k.lim.SetLimitAt(now, rate.Limit(l.Rate))
		k.lim.SetBurstAt(now, l.Burst)
		k.refill = refill(l)
		b.sweepEvery = min(b.sweepEvery, k.refill)
	}
	k.used = now
	r := k.lim.ReserveN(now, 1)
	if !r.OK() { // burst 0: never allowed
		return false, time.Minute, nil
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d, nil
	}
	return true, 0, nil
}

// refill is how long an untouched bucket of l takes to be full again.
func refill(l Limit) time.Duration {
	if l.Rate <= 0 {
		return time.Hour
	}
	secs := float64(l.Burst) / l.Rate
	if secs > 3600 || math.IsNaN(secs) {
		return time.Hour
	}
	return time.Duration(secs*float64(time.Second)) + time.Second
}

// Sweep evicts idle buckets; the Service calls it with its other sweeps.
func (b *LocalRateLimiter) Sweep(now time.Time) {
	b.mu.Lock()
	b.sweepLocked(now)
	b.mu.Unlock()
}

func (b *LocalRateLimiter) sweepLocked(now time.Time) {
	for key, k := range b.buckets {
		if now.Sub(k.used) >= k.refill {
			delete(b.buckets, key)
		}
	}
	b.lastSweep = now
}
