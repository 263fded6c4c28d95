package wxlogin_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

func TestErrorCodesAndMessages(t *testing.T) {
	t.Parallel()
	cause := errors.New("disk on fire: /var/lib/secret-path")
	wrapped := fmt.Errorf("saving user: %w", wxlogin.Wrap(cause, wxlogin.EStoreUnavailable, "the store is unavailable"))
	tests := []struct {
		name        string
		err         error
		wantCode    string
		wantMessage string
	}{
		{"nil", nil, "", ""},
		{"plain error is internal and hidden", cause, wxlogin.EInternal, "internal error"},
		{"wrapped application error", wrapped, wxlogin.EStoreUnavailable, "the store is unavailable"},
		{"Errorf", wxlogin.Errorf(wxlogin.EInvalidRequest, "field %q is required", "code"), wxlogin.EInvalidRequest, `field "code" is required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := wxlogin.ErrorCode(tt.err); got != tt.wantCode {
				t.Errorf("ErrorCode = %q, want %q", got, tt.wantCode)
			}
			if got := wxlogin.ErrorMessage(tt.err); got != tt.wantMessage {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.wantMessage)
			}
		})
	}
	if !errors.Is(wrapped, cause) {
		t.Error("the internal cause is not reachable with errors.Is")
	}
}

func TestErrNotFoundMatchesEveryNotFound(t *testing.T) {
	t.Parallel()
	nf := fmt.Errorf("user usr_1: %w", wxlogin.Errorf(wxlogin.ENotFound, "no such user"))
	if !errors.Is(nf, wxlogin.ErrNotFound) {
		t.Error("a not_found error with a message does not match ErrNotFound")
	}
	if errors.Is(wxlogin.Errorf(wxlogin.EInvalidCode, "x"), wxlogin.ErrNotFound) {
		t.Error("an invalid_code error matches ErrNotFound")
	}
	// A target with a message matches only itself, not every error of its code.
	a, b := wxlogin.Errorf(wxlogin.ENotFound, "a"), wxlogin.Errorf(wxlogin.ENotFound, "b")
	if errors.Is(a, b) {
		t.Error("two distinct not_found errors with messages match each other")
	}
}

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	s := wxlogin.Secret("tT0pS3cret/session+key==")
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "key", s, "app", wxlogin.App{AppID: "wx1", Secret: s})
	js, _ := json.Marshal(struct{ K wxlogin.Secret }{s})
	for _, out := range []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q", s, s, s, s, s),
		fmt.Sprintf("%v %+v", wxlogin.App{Secret: s}, wxlogin.App{Secret: s}),
		logged.String(), string(js),
	} {
		if strings.Contains(out, s.Reveal()) {
			t.Errorf("secret printed: %s", out)
		}
	}
	if s.Reveal() != "tT0pS3cret/session+key==" {
		t.Error("Reveal does not return the value")
	}
}

func TestSessionDeadline(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := wxlogin.Session{IdleExpiresAt: t0.Add(time.Hour), ExpiresAt: t0.Add(2 * time.Hour)}
	if got := s.Deadline(); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("Deadline = %v, want the idle deadline", got)
	}
	s.IdleExpiresAt = t0.Add(3 * time.Hour)
	if got := s.Deadline(); !got.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("Deadline = %v, want the absolute deadline", got)
	}
	if s.Expired(t0.Add(2*time.Hour - time.Nanosecond)) {
		t.Error("expired before its deadline")
	}
	if !s.Expired(t0.Add(2 * time.Hour)) {
		t.Error("not expired at its deadline")
	}
}
