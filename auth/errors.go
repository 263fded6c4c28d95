package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/wxlogin/wxlogin"
)

// storeErr turns a store's error into an application error by its class
// (see the wxlogin package comment): application errors (not found above
// all) keep their code; a store that cannot serve now, or a call that ran
// out of its request's time, is 503 store_unavailable with Retry-After;
// anything else, an unretried conflict included, is a bug and stays
// unclassified, which httpapi answers as 500 internal and logs with its
// cause.
func storeErr(err error) error {
	var e *wxlogin.Error
	if errors.As(err, &e) {
		return err
	}
	if storeUnavailable(err) {
		return wxlogin.Wrap(err, wxlogin.EStoreUnavailable, "the store is unavailable; try again later")
	}
	return fmt.Errorf("auth: unexpected store error: %w", err)
}

// storeUnavailable reports whether err says the store cannot serve now.
// A canceled context counts: its client is gone, and nobody reads the
// answer, but it is no bug either.
func storeUnavailable(err error) bool {
	return errors.Is(err, wxlogin.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Canceled)
}

// errSessionInvalid is the one answer for every token that does not verify:
// which of missing, malformed, unknown, expired or revoked is nobody's
// business but the server log's.
func errSessionInvalid() error {
	return wxlogin.Errorf(wxlogin.ESessionInvalid, "the login token is missing, invalid, expired or revoked; log in again")
}

func errStoreDown() error {
	return wxlogin.Errorf(wxlogin.EStoreUnavailable, "the store is unavailable; try again later")
}

// clip cuts s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // s[n] continues a sequence begun before it
		n--
	}
	return s[:n]
}
