package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// CodeExchanges is the record of wx.login code exchanges that makes a code
// reach WeChat at most once (see exchanges for the rules it serves): which
// codes are being exchanged or were exchanged, by which client, and for a
// short while WeChat's answer. One shared by every instance (Redis) makes a
// double tap that reaches two instances one exchange. auth/coordtest is the
// suite every implementation passes; LocalCodeExchanges is the in-process
// one.
//
// The record holds nothing a copy of it would give away: the code only as
// its hash (ExchangeKey), the client only as a hash, and the session_key
// sealed with the keyring (ExchangeAnswer), so it can be kept in a store
// other processes read.
//
// Times are passed in; an implementation decides by them, not by its own
// clock, whether a lease, a window or a record has run out (it may keep
// what ran out longer, up to a bound of its own, but does not answer with
// it).
type CodeExchanges interface {
	// Claim starts an exchange of key: when key has no record (or only an
	// in-flight claim older than its lease, whose instance is taken to
	// have died), it stores c as key's in-flight record and returns it with
	// claimed true. Otherwise it returns key's record as it is at c.At,
	// with claimed false: of concurrent Claims of one key at most one is
	// claimed.
	Claim(ctx context.Context, key ExchangeKey, c ExchangeClaim) (rec ExchangeRecord, claimed bool, err error)

	// Finish records that the exchange claimed as claimID returned answer
	// at now: the answer is kept for window (Claims at now+window or later
	// get the record without it) and the record for remember, after which
	// key may be claimed again. It wakes every Wait on key. Finish of a
	// claim that is no longer key's record changes nothing.
	Finish(ctx context.Context, key ExchangeKey, claimID string, answer ExchangeAnswer, now time.Time, window, remember time.Duration) error

	// Abandon forgets the exchange claimed as claimID (it failed: WeChat
	// may have been busy and the code may still be good), so that key may
	// be claimed again, and wakes every Wait on key with an error matching
	// ErrExchangeAbandoned. An implementation that can hand failure to the
	// waiters (one process) makes their error match it too. Abandon of a
	// claim that is no longer key's record changes nothing.
	Abandon(ctx context.Context, key ExchangeKey, claimID string, failure error) error

	// Wait returns key's record once its exchange is no longer in flight:
	// finished (Done, with the answer given to Finish whatever the window,
	// since a request that waited for an exchange shares it), or an error
	// matching ErrExchangeAbandoned when it was abandoned, its lease ran
	// out or key has no record. It returns ctx's error when ctx ends
	// first.
	Wait(ctx context.Context, key ExchangeKey) (ExchangeRecord, error)
}

// ErrExchangeAbandoned is the error of a Wait on an exchange that did not
// finish: it failed, its claim's lease ran out, or there is none.
var ErrExchangeAbandoned = errors.New("auth: the code's exchange did not finish")

// ExchangeKey names the exchange of one code of one mini program without
// keeping the code: codes are secrets too.
type ExchangeKey struct {
	AppID    string
	CodeHash [sha256.Size]byte // SHA-256 of the code
}

// ExchangeClaim is what a request that starts an exchange records.
type ExchangeClaim struct {
	ID     string            // random, unique per claim: Finish and Abandon name it
	Client [sha256.Size]byte // SHA-256 of the requester's address and User-Agent
	At     time.Time
	Lease  time.Duration // how long the claim holds without Finish or Abandon
}

// ExchangeRecord is what is known of a code's exchange.
type ExchangeRecord struct {
	ClaimID string
	Client  [sha256.Size]byte // of the request that claimed it
	Done    bool              // it returned an answer
	At      time.Time         // when it was claimed, or when it finished once Done
	// Answer is WeChat's answer, kept for the window Finish was given; nil
	// while in flight and once the window passed.
	Answer *ExchangeAnswer
}

// ExchangeAnswer is WeChat's answer to an exchange as the record keeps it:
// the session_key only sealed with the keyring.
type ExchangeAnswer struct {
	OpenID     string
	UnionID    string
	OpenUserID string // a WeCom suite member's; "" for other apps
	SealedKey  []byte
}

// LocalCodeExchanges is the in-process CodeExchanges: requests reaching
// another instance are separate exchanges. Its records live in memory
// until the Service's sweep (or a Claim, at most once a minute) finds them
// past remembering. The zero value is ready to use.
type LocalCodeExchanges struct {
	mu        sync.Mutex
	m         map[ExchangeKey]*localExchange
	lastSweep time.Time
}

var _ CodeExchanges = (*LocalCodeExchanges)(nil)

type localExchange struct {
	rec         ExchangeRecord
	lease       time.Duration
	window      time.Duration
	until       time.Time     // done: when the record is forgotten
	done        chan struct{} // closed by Finish or Abandon
	failure     error         // set by Abandon
	isAbandoned bool
}

// dropAnswerLocked replaces k's record by one without the answer. The old one is
// not changed: a Wait woken by Finish still reads the answer from it, and
// once those are done nothing holds the sealed session_key.
func (x *LocalCodeExchanges) dropAnswerLocked(k ExchangeKey, e *localExchange) *localExchange {
	n := *e
	n.rec.Answer = nil
	x.m[k] = &n
	return &n
}

// Claim implements CodeExchanges.
func (x *LocalCodeExchanges) Claim(_ context.Context, key ExchangeKey, c ExchangeClaim) (ExchangeRecord, bool, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.m == nil {
		x.m = make(map[ExchangeKey]*localExchange)
	}
	if c.At.Sub(x.lastSweep) >= time.Minute {
		x.sweepLocked(c.At)
	}
	if e := x.m[key]; e != nil {
		switch {
		case e.rec.Done && !c.At.Before(e.until):
			// Past remembering: claimed anew below.
		case !e.rec.Done && c.At.Sub(e.rec.At) >= e.lease:
			// An in-flight claim past its lease: claimed anew below.
		default:
			if e.rec.Answer != nil && c.At.Sub(e.rec.At) >= e.window {
				e = x.dropAnswerLocked(key, e)
			}
			return e.rec, false, nil
		}
	}
	e := &localExchange{
		rec:   ExchangeRecord{ClaimID: c.ID, Client: c.Client, At: c.At},
		lease: c.Lease,
		done:  make(chan struct{}),
	}
	x.m[key] = e
	return e.rec, true, nil
}

// Finish implements CodeExchanges.
func (x *LocalCodeExchanges) Finish(_ context.Context, key ExchangeKey, claimID string, answer ExchangeAnswer, now time.Time, window, remember time.Duration) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	e := x.m[key]
	if e == nil || e.rec.ClaimID != claimID || e.rec.Done {
		return nil
	}
	a := answer
	e.rec.Done, e.rec.At, e.rec.Answer = true, now, &a
	e.window, e.until = window, now.Add(remember)
	close(e.done)
	return nil
}

// Abandon implements CodeExchanges.
func (x *LocalCodeExchanges) Abandon(_ context.Context, key ExchangeKey, claimID string, failure error) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	e := x.m[key]
	if e == nil || e.rec.ClaimID != claimID || e.rec.Done {
		return nil
	}
	delete(x.m, key)
	e.isAbandoned, e.failure = true, failure
	close(e.done)
	return nil
}

// Wait implements CodeExchanges. The answer it returns is the one Finish
// was given, even if a sweep has cleared the record's since.
func (x *LocalCodeExchanges) Wait(ctx context.Context, key ExchangeKey) (ExchangeRecord, error) {
	x.mu.Lock()
	e := x.m[key]
	x.mu.Unlock()
	if e == nil {
		return ExchangeRecord{}, ErrExchangeAbandoned
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		return ExchangeRecord{}, ctx.Err()
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if e.isAbandoned {
		if e.failure == nil {
			return ExchangeRecord{}, ErrExchangeAbandoned
		}
		return ExchangeRecord{}, abandonedError{e.failure}
	}
	return e.rec, nil
}

// abandonedError hands the cause of a failed exchange to its waiters.
type abandonedError struct{ cause error }

func (e abandonedError) Error() string   { return ErrExchangeAbandoned.Error() + ": " + e.cause.Error() }
func (e abandonedError) Unwrap() []error { return []error{ErrExchangeAbandoned, e.cause} }

// Sweep forgets the answers of exchanges past their window and the codes
// past remembering; the Service calls it with its other sweeps.
func (x *LocalCodeExchanges) Sweep(now time.Time) {
	x.mu.Lock()
	x.sweepLocked(now)
	x.mu.Unlock()
}

func (x *LocalCodeExchanges) sweepLocked(now time.Time) {
	x.lastSweep = now
	for k, e := range x.m {
		if !e.rec.Done {
			continue // in flight
		}
		if !now.Before(e.until) {
			delete(x.m, k)
		} else if e.rec.Answer != nil && now.Sub(e.rec.At) >= e.window {
			x.dropAnswerLocked(k, e)
		}
	}
}
