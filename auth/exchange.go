package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// errCodeUsed means a code was exchanged earlier and may not be shared
// with this request (its reuse window has passed, or another client sent
// it): WeChat would answer 40163, so it is not asked.
var errCodeUsed = errors.New("auth: code already exchanged and not shareable with this request")

// exchanges makes sure a wx.login code reaches WeChat at most once. Double
// taps, client retries and concurrent requests with one code are the usual
// cause of 40163 in other servers: here requests carrying a code whose
// exchange is in flight wait for it, and for window after it succeeded they
// reuse its answer. After that the code is remembered (by its hash only)
// until WeChat itself would have expired it, so a late replay is refused
// without a call.
//
// An exchange is shared only with the client that started it (the same
// address and User-Agent). Double taps and retries come from one phone; a
// code seen by someone else (a proxy's log, a shoulder, a leaked request)
// must not mint that user a session for whoever replays it, so any other
// client gets errCodeUsed even while the exchange is in flight.
//
// The record holds nothing a copy of it would give away: the code only as
// its hash, the client only as a hash, and the session_key sealed with the
// keyring, so that it can move to a shared store unchanged.
type exchanges struct {
	window   time.Duration // how long a successful answer is shared
	remember time.Duration // how long a used code is refused without asking WeChat
	timeout  time.Duration // bound of one exchange, detached from the first requester
	seal     func([]byte) []byte
	open     func([]byte) ([]byte, error)
	onWait   func() // tests: called when a request starts waiting on an exchange in flight

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
	client [sha256.Size]byte // hash of the address and User-Agent that started it
	done   chan struct{}     // closed when the call returned
	// Set before done is closed; sess and sealedKey are cleared when the
	// window passes so the session_key does not stay longer than it is
	// useful. sess never holds the session_key: sealedKey does.
	sess      wechat.Session
	sealedKey []byte
	ok        bool
	err       error
	at        time.Time // when the call returned
}

// clientKey identifies the requester an exchange may be shared with.
func clientKey(c Client) [sha256.Size]byte {
	return sha256.Sum256([]byte(c.IP + "\x00" + c.UserAgent))
}

// codeLifetime is how long WeChat accepts a code (WECHAT.md).
const codeLifetime = 5 * time.Minute

// newExchanges returns exchanges sharing a successful answer for window (0:
// only while in flight), sealing the session_keys it keeps with seal.
func newExchanges(window time.Duration, seal func([]byte) []byte, open func([]byte) ([]byte, error)) *exchanges {
	return &exchanges{
		window:   max(window, 0),
		seal:     seal,
		open:     open,
		remember: max(window, codeLifetime) + time.Minute,
		timeout:  30 * time.Second,
		m:        make(map[exchangeKey]*exchange),
	}
}

// do returns the answer of exchanging code for appid, calling call at most
// once per code. shared reports whether the answer came from an exchange
// that another request of the same client started or that finished
// earlier.
func (x *exchanges) do(ctx context.Context, appid, code string, c Client, now func() time.Time,
	call func(context.Context) (*wechat.Session, error)) (sess wechat.Session, shared bool, err error) {
	k := exchangeKey{appid: appid, code: sha256.Sum256([]byte(code))}
	who := clientKey(c)
	late := false // whether this request came after the exchange returned
	var waiting func()
	x.mu.Lock()
	if t := now(); t.Sub(x.lastSweep) >= time.Minute {
		x.sweepLocked(t)
	}
	e := x.m[k]
	if e != nil && e.client != who {
		x.mu.Unlock()
		return wechat.Session{}, true, errCodeUsed
	}
	if e == nil {
		e = &exchange{client: who, done: make(chan struct{})}
		x.m[k] = e
		// The call runs on its own goroutine with a context detached from
		// this request's cancellation: if the first requester gives up, the
		// others waiting on the same code still get the answer, and a code
		// WeChat has consumed is not wasted.
		go x.run(context.WithoutCancel(ctx), k, e, now, call)
	} else {
		shared = true
		select {
		case <-e.done:
			late = true
		default: // in flight: waiting for it is sharing, whatever the window
			waiting = x.onWait
		}
	}
	x.mu.Unlock()
	if waiting != nil {
		waiting()
	}

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
	case !e.ok || (late && now().Sub(e.at) >= x.window):
		e.ok, e.sess, e.sealedKey = false, wechat.Session{}, nil
		return wechat.Session{}, shared, errCodeUsed
	}
	key, err := x.open(e.sealedKey)
	if err != nil {
		return wechat.Session{}, shared, fmt.Errorf("auth: opening a shared exchange's session_key: %w", err)
	}
	sess = e.sess
	sess.SessionKey = wxlogin.Secret(key)
	return sess, shared, nil
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
		e.sealedKey = x.seal([]byte(s.SessionKey.Reveal()))
		e.sess, e.ok = *s, true
		e.sess.SessionKey = ""
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
			e.ok, e.sess, e.sealedKey = false, wechat.Session{}, nil
		}
	}
}
