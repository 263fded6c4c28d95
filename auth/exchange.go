package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"github.com/wxlogin/wxlogin/wechat"
)

// errCodeUsed means a code was exchanged earlier and its reuse window has
// passed: WeChat would answer 40163, so it is not asked.
var errCodeUsed = errors.New("auth: code already exchanged and its reuse window has passed")

// exchanges makes sure a wx.login code reaches WeChat at most once. Double
// taps, client retries and concurrent requests with one code are the usual
// cause of 40163 in other servers: here requests carrying a code whose
// exchange is in flight wait for it, and for window after it succeeded they
// reuse its answer. After that the code is remembered (by its hash only)
// until WeChat itself would have expired it, so a late replay is refused
// without a call.
type exchanges struct {
	window   time.Duration // how long a successful answer is shared
	remember time.Duration // how long a used code is refused without asking WeChat
	timeout  time.Duration // bound of one exchange, detached from the first requester

	mu        sync.Mutex
	m         map[exchangeKey]*exchange
	lastSweep time.Time
}

// exchangeKey identifies a code without keeping it: codes are secrets too.
type exchangeKey struct {
	appid string
	code  [sha256.Size]byte
}

type exchange struct {
	done chan struct{} // closed when the call returned
	// Set before done is closed; sess is cleared when the window passes so
	// the session_key does not stay in memory longer than it is useful.
	sess wechat.Session
	ok   bool
	err  error
	at   time.Time // when the call returned
}

// codeLifetime is how long WeChat accepts a code (WECHAT.md).
const codeLifetime = 5 * time.Minute

func newExchanges(window time.Duration) *exchanges {
	return &exchanges{
		window:   window,
		remember: max(window, codeLifetime) + time.Minute,
		timeout:  30 * time.Second,
		m:        make(map[exchangeKey]*exchange),
	}
}

// do returns the answer of exchanging code for appid, calling call at most
// once per code. shared reports whether the answer came from an exchange
// that another request started or that finished earlier.
func (x *exchanges) do(ctx context.Context, appid, code string, now func() time.Time,
	call func(context.Context) (*wechat.Session, error)) (sess wechat.Session, shared bool, err error) {
	k := exchangeKey{appid: appid, code: sha256.Sum256([]byte(code))}
	x.mu.Lock()
	if t := now(); t.Sub(x.lastSweep) >= time.Minute {
		x.sweepLocked(t)
	}
	e := x.m[k]
	if e == nil {
		e = &exchange{done: make(chan struct{})}
		x.m[k] = e
		// The call runs on its own goroutine with a context detached from
		// this request's cancellation: if the first requester gives up, the
		// others waiting on the same code still get the answer, and a code
		// WeChat has consumed is not wasted.
		go x.run(context.WithoutCancel(ctx), k, e, now, call)
	} else {
		shared = true
	}
	x.mu.Unlock()

	select {
	case <-e.done:
	case <-ctx.Done():
		return wechat.Session{}, shared, ctx.Err()
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	switch {
	case e.err != nil:
		return wechat.Session{}, shared, e.err
	case !e.ok || now().Sub(e.at) >= x.window:
		e.ok, e.sess = false, wechat.Session{}
		return wechat.Session{}, shared, errCodeUsed
	}
	return e.sess, shared, nil
}

func (x *exchanges) run(ctx context.Context, k exchangeKey, e *exchange, now func() time.Time,
	call func(context.Context) (*wechat.Session, error)) {
	ctx, cancel := context.WithTimeout(ctx, x.timeout)
	defer cancel()
	s, err := call(ctx)
	if err == nil && s == nil {
		err = errors.New("auth: code2Session returned no session")
	}
	x.mu.Lock()
	e.at = now()
	if err != nil {
		// A failed exchange is forgotten: when WeChat was busy or down the
		// code may still be good, and a retry must be able to use it. When
		// the code was bad, WeChat says so again.
		e.err = err
		if x.m[k] == e {
			delete(x.m, k)
		}
	} else {
		e.sess, e.ok = *s, true
	}
	x.mu.Unlock()
	close(e.done)
}

// sweep forgets the session_keys of exchanges past their window and the
// codes past remembering.
func (x *exchanges) sweep(now time.Time) {
	x.mu.Lock()
	x.sweepLocked(now)
	x.mu.Unlock()
}

func (x *exchanges) sweepLocked(now time.Time) {
	x.lastSweep = now
	for k, e := range x.m {
		select {
		case <-e.done:
		default:
			continue // in flight
		}
		age := now.Sub(e.at)
		if age >= x.remember {
			delete(x.m, k)
		} else if age >= x.window {
			e.ok, e.sess = false, wechat.Session{}
		}
	}
}
