package wxlogin

import (
	"errors"
	"fmt"
	"time"
)

// Application error codes. They are part of the HTTP contract: clients match
// on them, so they never change meaning. httpapi maps each to one status.
const (
	EInvalidRequest       = "invalid_request"        // 400: malformed JSON, missing or invalid fields
	ERequestTooLarge      = "request_too_large"      // 413: body over the limit
	EUnknownApp           = "unknown_app"            // 400: appid not configured
	EInvalidCode          = "invalid_code"           // 401: wx.login code unknown, expired or used
	ECodeBlocked          = "code_blocked"           // 403: WeChat flagged the user as high-risk (40226)
	EWrongCorp            = "wrong_corp"             // 403: a wx.qy.login code of a user of another WeCom corp than the app's
	ESessionInvalid       = "session_invalid"        // 401: token missing, unknown, expired or revoked
	EInvalidEncryptedData = "invalid_encrypted_data" // 400: any decrypt failure, one body for every cause
	EInvalidSignature     = "invalid_signature"      // 400: sha1(rawData+session_key) mismatch
	ERateLimited          = "rate_limited"           // 429: a limit was hit; Retry-After says when to retry
	EUpstreamUnavailable  = "upstream_unavailable"   // 503: WeChat busy, over quota, down or slow
	EUpstreamRejected     = "upstream_rejected"      // 502: WeChat rejected our appid or secret
	EUnauthorized         = "unauthorized"           // 401: admin token missing or wrong
	ENotFound             = "not_found"              // 404
	EMethodNotAllowed     = "method_not_allowed"     // 405
	EUnsupportedMediaType = "unsupported_media_type" // 415: an upload that is not an accepted image
	EPrivacyNotAuthorized = "privacy_not_authorized" // 403: the user has not agreed to the privacy guidelines
	EStoreUnavailable     = "store_unavailable"      // 503: the store cannot be reached
	EInvalidState         = "invalid_state"          // 400: a web login's state is missing, expired or not this browser's
	ERedirectNotAllowed   = "redirect_not_allowed"   // 400: redirect_uri is not on the app's allow-list
	ESnapshotUser         = "snapshot_user"          // 403: WeChat's snapshot-mode virtual user; the page must be opened for real
	ECSRFRejected         = "csrf_rejected"          // 403: a cookie-authenticated unsafe request without the page's CSRF token
	EAccessDenied         = "access_denied"          // 403: the user refused the web authorization
	EInternal             = "internal"               // 500: a bug; details only in the server log
)

// Error is an application error. Code and Message are safe to show a client;
// Err is the internal cause, for server logs only, and must never be sent.
type Error struct {
	Code       string
	Message    string
	RetryAfter time.Duration // when to retry: ERateLimited, EUpstreamUnavailable, EStoreUnavailable (HTTP sends at least 1s on every 429 and 503)
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, wxlogin.ErrNotFound) matches any not_found error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	// A target without a message is a code sentinel like ErrNotFound.
	return t == e || t.Message == "" && t.Code == e.Code
}

// Errorf returns an *Error with the given code and a client-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with code and message whose internal cause is err.
func Wrap(err error, code, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// ErrorCode returns the application code of err: "" for nil, EInternal when
// err carries no *Error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of err, hiding the text of
// errors that carry no *Error.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrNotFound is returned by stores for a missing record. Match it with
// errors.Is; it matches every *Error whose code is ENotFound.
var ErrNotFound = &Error{Code: ENotFound}
