package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
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
// The rules live here; the record they read and write is a CodeExchanges,
// which may be shared by several instances.
type exchanges struct {
	window   time.Duration // how long a successful answer is shared
	remember time.Duration // how long a used code is refused without asking WeChat
	timeout  time.Duration // bound of one exchange, detached from the first requester
	seal     func([]byte) []byte
	open     func([]byte) ([]byte, error)
	rec      CodeExchanges
	log      *slog.Logger
	onWait   func() // tests: called when a request starts waiting on an exchange in flight
}

// clientKey identifies the requester an exchange may be shared with.
func clientKey(c Client) [sha256.Size]byte {
	return sha256.Sum256([]byte(c.IP + "\x00" + c.UserAgent))
}

// codeLifetime is how long WeChat accepts a code (WECHAT.md).
const codeLifetime = 5 * time.Minute

// newExchanges returns exchanges sharing a successful answer for window (0:
// only while in flight), sealing the session_keys it records with seal.
func newExchanges(window time.Duration, seal func([]byte) []byte, open func([]byte) ([]byte, error),
	rec CodeExchanges, log *slog.Logger) *exchanges {
	if rec == nil {
		rec = &LocalCodeExchanges{}
	}
	if log == nil {
		log = slog.Default()
	}
	return &exchanges{
		window:   max(window, 0),
		seal:     seal,
		open:     open,
		remember: max(window, codeLifetime) + time.Minute,
		timeout:  30 * time.Second,
		rec:      rec,
		log:      log,
	}
}

// lease is how long a claim holds: the exchange's own bound and a margin.
// Past it, another request may claim the code again (the instance that
// claimed it is taken to have died).
func (x *exchanges) lease() time.Duration { return x.timeout + 5*time.Second }

// outcome is what the call of a claimed exchange returned.
type outcome struct {
	sess wechat.Session
	err  error
}

// do returns the answer of exchanging code for appid, calling call at most
// once per code. shared reports whether the answer came from an exchange
// that another request of the same client started or that finished
// earlier.
func (x *exchanges) do(ctx context.Context, appid, code string, c Client, now func() time.Time,
	call func(context.Context) (*wechat.Session, error)) (sess wechat.Session, shared bool, err error) {
	k := ExchangeKey{AppID: appid, CodeHash: sha256.Sum256([]byte(code))}
	who := clientKey(c)
	claim := ExchangeClaim{ID: rand.Text(), Client: who, At: now(), Lease: x.lease()}
	rec, claimed, err := x.rec.Claim(ctx, k, claim)
	if err != nil {
		// The record only spares WeChat a second call; without it WeChat
		// itself refuses a used code (40163, invalid_code), so the login
		// goes on rather than failing with the record's outage.
		x.log.WarnContext(ctx, "auth: code exchange record failed; exchanging without it", "err", err)
		s, err := call(ctx)
		if err == nil && s == nil {
			err = errors.New("auth: code2Session returned no session")
		}
		if err != nil {
			return wechat.Session{}, false, err
		}
		return *s, false, nil
	}
	if claimed {
		// The call runs on its own goroutine with a context detached from
		// this request's cancellation: if the first requester gives up, the
		// others waiting on the same code still get the answer, and a code
		// WeChat has consumed is not wasted.
		res := make(chan outcome, 1)
		go x.run(context.WithoutCancel(ctx), k, claim.ID, now, call, res)
		select {
		case o := <-res:
			return o.sess, false, o.err
		case <-ctx.Done():
			return wechat.Session{}, false, ctx.Err()
		}
	}
	if rec.Client != who {
		return wechat.Session{}, true, errCodeUsed
	}
	if !rec.Done {
		// In flight: waiting for it is sharing, whatever the window.
		if x.onWait != nil {
			x.onWait()
		}
		rec, err = x.rec.Wait(ctx, k)
		if ctx.Err() != nil {
			return wechat.Session{}, true, ctx.Err()
		}
		if err != nil {
			return wechat.Session{}, true, err
		}
	} else if now().Sub(rec.At) >= x.window {
		return wechat.Session{}, true, errCodeUsed
	}
	if rec.Answer == nil {
		return wechat.Session{}, true, errCodeUsed
	}
	key, err := x.open(rec.Answer.SealedKey)
	if err != nil {
		return wechat.Session{}, true, fmt.Errorf("auth: opening a shared exchange's session_key: %w", err)
	}
	return wechat.Session{OpenID: rec.Answer.OpenID, UnionID: rec.Answer.UnionID, OpenUserID: rec.Answer.OpenUserID, SessionKey: wxlogin.Secret(key)}, true, nil
}

// run calls WeChat for a claimed exchange, records the outcome and hands it
// to the request that claimed it.
func (x *exchanges) run(ctx context.Context, k ExchangeKey, claimID string, now func() time.Time,
	call func(context.Context) (*wechat.Session, error), res chan<- outcome) {
	ctx, cancel := context.WithTimeout(ctx, x.timeout)
	defer cancel()
	s, err := call(ctx)
	if err == nil && s == nil {
		err = errors.New("auth: code2Session returned no session")
	}
	// The record is written even when the call used up its time.
	ctx, cancelRecord := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancelRecord()
	if err != nil {
		// A failed exchange is forgotten: when WeChat was busy or down the
		// code may still be good, and a retry must be able to use it. When
		// the code was bad, WeChat says so again.
		if aerr := x.rec.Abandon(ctx, k, claimID, err); aerr != nil {
			x.log.WarnContext(ctx, "auth: code exchange record failed to forget a failed exchange", "err", aerr)
		}
		res <- outcome{err: err}
		return
	}
	a := ExchangeAnswer{OpenID: s.OpenID, UnionID: s.UnionID, OpenUserID: s.OpenUserID, SealedKey: x.seal([]byte(s.SessionKey.Reveal()))}
	if ferr := x.rec.Finish(ctx, k, claimID, a, now(), x.window, x.remember); ferr != nil {
		x.log.WarnContext(ctx, "auth: code exchange record failed to keep an answer", "err", ferr)
	}
	res <- outcome{sess: *s}
}
