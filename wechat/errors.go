package wechat

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/url"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
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
	var noTicket *NoSuiteTicketError
	if errors.As(err, &noTicket) {
		// Before WeCom's *Error it may carry: the next push ends it.
		return KindUnavailable
	}
	var we *Error
	if errors.As(err, &we) {
		switch we.API {
		case APIWeComSuiteJSCode2Session:
			if we.ErrCode == errSuiteTokenExpired || we.ErrCode == errSuiteTokenInvalid {
				// The suite_access_token's own 42001 and 40014.
				return KindToken
			}
		case APIWeComSuiteToken:
			switch we.ErrCode {
			case 40001, 40013, errSuiteIDInvalid:
				// A wrong suite_secret (WeCom's code of a wrong
				// secret) or suite_id: the configuration.
				return KindConfig
			}
		}
		if we.ErrCode == 40003 && we.API == apiPhoneNumber {
			// "invalid openid" at getuserphonenumber, which is sent the
			// session's openid: the phone code is another user's. The
			// client sent a code that is not its own, as with 40029; a
			// retry cannot help. Elsewhere 40003 is our own openid being
			// wrong, with no special handling.
			return KindCodeInvalid
		}
		if we.API == APIWeComGetToken {
			switch we.ErrCode {
			case 40001, 60020:
				// WeCom's gettoken answers 40001 for a wrong corpsecret
				// (WeChat's 40001 is a bad access token) and 60020 for a
				// server address missing from the app's trusted IPs:
				// both are the configuration, and a retry cannot help.
				return KindConfig
			}
		}
		return kindOf(we.ErrCode)
	}
	var invalid *InvalidAnswerError
	if errors.As(err, &invalid) {
		return KindInvalidAnswer
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
	case KindInvalidAnswer:
		return "invalid_answer"
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

// InvalidAnswerError reports an answer that WeChat's servers cannot have
// sent: a success (errcode 0, well-formed JSON) without a field the API
// promises, or with a value that cannot be what the field holds (a
// session_key that is not base64 of 16 bytes, an openid with a control
// character). Something between us and WeChat is broken or lying; nothing
// of the answer may be used or stored, and repeating the call (which may
// have spent a one-time code) would not help. It is classified
// KindInvalidAnswer.
type InvalidAnswerError struct {
	API    string // the call, e.g. "jscode2session"
	Reason string // which field is wrong and how; never the value
}

func (e *InvalidAnswerError) Error() string {
	return "wechat " + e.API + ": invalid answer: " + e.Reason
}

func invalidAnswer(api, reason string) error {
	return &InvalidAnswerError{API: api, Reason: reason}
}

// maxIDLen bounds an openid or unionid. WeChat's are 28 characters; it
// publishes no format, so the bound is generous and only refuses what no
// id column or header should carry.
const maxIDLen = 128

// checkID reports why s cannot be an openid or unionid, or "" when it can:
// WeChat documents no alphabet, so only what cannot be an id is refused
// (empty, longer than maxIDLen, invalid UTF-8, NUL or any other control
// character, which would reach logs and X-Wxlogin-* headers).
func checkID(field, s string) string {
	switch {
	case s == "":
		return field + " is missing"
	case len(s) > maxIDLen:
		return field + " is longer than " + strconv.Itoa(maxIDLen) + " bytes"
	case !utf8.ValidString(s):
		return field + " is not valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return field + " holds a control character"
		}
	}
	return ""
}

// checkSessionKey reports why s cannot be a session_key, or "" when it can:
// WeChat's is standard base64 of 16 bytes (24 characters with padding), the
// AES-128 key of the user's encrypted data. Any other key could never
// decrypt anything, so storing it would only break the user's session.
func checkSessionKey(s string) string {
	if s == "" {
		return "session_key is missing"
	}
	if len(s) != base64.StdEncoding.EncodedLen(16) {
		return "session_key is not base64 of 16 bytes"
	}
	var buf [18]byte
	if n, err := base64.StdEncoding.Strict().Decode(buf[:], []byte(s)); err != nil || n != 16 {
		return "session_key is not base64 of 16 bytes"
	}
	return ""
}
