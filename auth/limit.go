package auth

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a set of token buckets, one per key (a client IP, an appid, a
// session id), all with the same rate and burst. Buckets idle long enough to
// have refilled are evicted: a fresh bucket is indistinguishable from them,
// and a flood of distinct IPs must not grow memory without bound.
type limiter struct {
	limit rate.Limit
	burst int
	off   bool

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	used time.Time
}

func newLimiter(l Limit) *limiter {
	if l.Rate < 0 {
		return &limiter{off: true}
	}
	return &limiter{limit: rate.Limit(l.Rate), burst: l.Burst, buckets: make(map[string]*bucket)}
}

// allow takes one token from key's bucket at now. When the bucket is empty
// it takes nothing and returns how long until a token is there.
func (l *limiter) allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	if l.off {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= l.refill() {
		l.sweepLocked(now)
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.used = now
	r := b.lim.ReserveN(now, 1)
	if !r.OK() { // burst 0: never allowed
		return false, time.Minute
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// refill is how long an untouched bucket takes to be full again.
func (l *limiter) refill() time.Duration {
	if l.limit <= 0 {
		return time.Hour
	}
	secs := float64(l.burst) / float64(l.limit)
	if secs > 3600 || math.IsNaN(secs) {
		return time.Hour
	}
	return time.Duration(secs*float64(time.Second)) + time.Second
}

// sweep evicts idle buckets.
func (l *limiter) sweep(now time.Time) {
	if l.off {
		return
	}
	l.mu.Lock()
	l.sweepLocked(now)
	l.mu.Unlock()
}

func (l *limiter) sweepLocked(now time.Time) {
	idle := l.refill()
	for k, b := range l.buckets {
		if now.Sub(b.used) >= idle {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
}
