package wechat

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"time"
)

// UnavailableError reports that WeChat could not be reached or gave no usable
// answer: a transport error, a timeout, an HTTP status other than 200, or a
// body that is not the JSON the API promises.
type UnavailableError struct {
	API        string // the call, e.g. "jscode2session"
	StatusCode int    // the HTTP status when WeChat answered one other than 200; 0 otherwise
	Reason     string // what went wrong, free of secrets
	// Err is the cause, if any. A *url.Error in it carries the URL without
	// its query, where the secrets are.
	Err error
}

func (e *UnavailableError) Error() string {
	s := "wechat " + e.API + ": unavailable: " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Classify tells what a call's error means for the caller. A *Error is
// classified by its errcode, everything that says WeChat could not be
// reached or understood (including an expired context) is KindUnavailable,
// and any other error is KindOther.
func Classify(err error) Kind {
	if err == nil {
		return KindNone
	}
	var we *Error
	if errors.As(err, &we) {
		return kindOf(we.ErrCode)
	}
	var ue *UnavailableError
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return KindUnavailable
	}
	return KindOther
}

func kindOf(errcode int) Kind {
	switch errcode {
	case 0:
		return KindNone
	case 40029, 40163:
		return KindCodeInvalid
	case 40226:
		return KindBlocked
	case 45011, 45009:
		return KindQuota
	case -1:
		return KindBusy
	case 40001, 40014, 42001:
		return KindToken
	case 40013, 40125:
		return KindConfig
	case 87009:
		return KindSignature
	}
	return KindOther
}

// Temporary reports whether the same request may succeed later without any
// change on our side: WeChat busy, over quota, or unavailable.
func Temporary(err error) bool {
	switch Classify(err) {
	case KindBusy, KindQuota, KindUnavailable:
		return true
	}
	return false
}

// RetryAfter suggests how long a client should wait before trying again
// after err (the Retry-After of a 503), or 0 when waiting will not help.
// The minute quota (45011) resets within a minute; the daily one (45009)
// not before WeChat's midnight, so an hour is only a polite guess.
func RetryAfter(err error) time.Duration {
	switch Classify(err) {
	case KindBusy, KindUnavailable:
		return time.Second
	case KindQuota:
		var we *Error
		if errors.As(err, &we) && we.ErrCode == 45009 {
			return time.Hour
		}
		return time.Minute
	}
	return 0
}

// String returns the kind's name, for logs and test failures.
func (k Kind) String() string {
	switch k {
	case KindNone:
		return "none"
	case KindOther:
		return "other"
	case KindCodeInvalid:
		return "code_invalid"
	case KindBlocked:
		return "blocked"
	case KindQuota:
		return "quota"
	case KindBusy:
		return "busy"
	case KindToken:
		return "token"
	case KindConfig:
		return "config"
	case KindSignature:
		return "signature"
	case KindUnavailable:
		return "unavailable"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// redactURLError returns err with the URL of any *url.Error at its top cut
// down to scheme, host and path: http.Client's errors print the full URL,
// and our queries carry the app secret, codes and access tokens.
func redactURLError(err error) error {
	ue, ok := err.(*url.Error)
	if !ok || ue == nil {
		return err
	}
	return &url.Error{Op: ue.Op, URL: withoutQuery(ue.URL), Err: redactURLError(ue.Err)}
}

func withoutQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[url redacted]"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
