package wechat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	wrapped := func(err error) error { return fmt.Errorf("auth: login: %w", err) }
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{"nil", nil, KindNone},
		{"40029", &Error{ErrCode: 40029}, KindCodeInvalid},
		{"40163", &Error{ErrCode: 40163}, KindCodeInvalid},
		{"40226", &Error{ErrCode: 40226}, KindBlocked},
		{"45011", &Error{ErrCode: 45011}, KindQuota},
		{"45009", &Error{ErrCode: 45009}, KindQuota},
		{"-1", &Error{ErrCode: -1}, KindBusy},
		{"40001", &Error{ErrCode: 40001}, KindToken},
		{"40014", &Error{ErrCode: 40014}, KindToken},
		{"42001", &Error{ErrCode: 42001}, KindToken},
		{"40013", &Error{ErrCode: 40013}, KindConfig},
		{"40125", &Error{ErrCode: 40125}, KindConfig},
		{"87009", &Error{ErrCode: 87009}, KindSignature},
		{"87008 has no special handling", &Error{ErrCode: 87008}, KindOther},
		// getuserphonenumber is sent the session's openid: 40003 there
		// means the phone code is another user's, the client's mistake.
		{"40003 at getuserphonenumber", &Error{API: "getuserphonenumber", ErrCode: 40003}, KindCodeInvalid},
		{"40003 elsewhere", &Error{API: "checksession", ErrCode: 40003}, KindOther},
		{"invalid answer", wrapped(&InvalidAnswerError{API: "jscode2session", Reason: "session_key is missing"}), KindInvalidAnswer},
		{"wrapped errcode", wrapped(&Error{ErrCode: 40163}), KindCodeInvalid},
		{"unavailable", &UnavailableError{API: "x", Reason: "HTTP 502"}, KindUnavailable},
		{"wrapped unavailable", wrapped(&UnavailableError{}), KindUnavailable},
		{"deadline", context.DeadlineExceeded, KindUnavailable},
		{"canceled", wrapped(context.Canceled), KindUnavailable},
		{"net error", &net.OpError{Op: "dial", Err: errors.New("refused")}, KindUnavailable},
		{"anything else", errors.New("boom"), KindOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestRetryAfterAndTemporary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       error
		want      time.Duration
		temporary bool
	}{
		{"busy", &Error{ErrCode: -1}, time.Second, true},
		{"unavailable", &UnavailableError{}, time.Second, true},
		{"minute quota", &Error{ErrCode: 45011}, time.Minute, true},
		{"daily quota", &Error{ErrCode: 45009}, time.Hour, true},
		{"used code", &Error{ErrCode: 40163}, 0, false},
		{"config", &Error{ErrCode: 40125}, 0, false},
		{"nil", nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := RetryAfter(tt.err); got != tt.want {
				t.Errorf("RetryAfter = %v, want %v", got, tt.want)
			}
			if got := Temporary(tt.err); got != tt.temporary {
				t.Errorf("Temporary = %v, want %v", got, tt.temporary)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	t.Parallel()
	seen := map[string]Kind{}
	for k := KindNone; k <= KindUnavailable; k++ {
		s := k.String()
		if prev, dup := seen[s]; dup || strings.HasPrefix(s, "kind(") {
			t.Errorf("Kind %d has name %q (also kind %d: %v)", k, s, prev, dup)
		}
		seen[s] = k
	}
	if got := Kind(99).String(); got != "kind(99)" {
		t.Errorf("Kind(99).String() = %q", got)
	}
}

func TestRedactURLError(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t"
	inner := &url.Error{Op: "Get", URL: "http://h/x?secret=" + secret, Err: errors.New("EOF")}
	tests := []struct {
		name     string
		err      error
		wantText string
	}{
		{"query dropped", &url.Error{Op: "Get", URL: "https://api.example/sns/jscode2session?secret=" + secret + "&js_code=c#frag", Err: context.DeadlineExceeded},
			`Get "https://api.example/sns/jscode2session": context deadline exceeded`},
		{"userinfo dropped", &url.Error{Op: "Get", URL: "https://u:" + secret + "@h/p", Err: errors.New("x")}, `Get "https://h/p": x`},
		{"nested", &url.Error{Op: "Post", URL: "http://h/y?token=" + secret, Err: inner}, `Post "http://h/y": Get "http://h/x": EOF`},
		{"unparsable", &url.Error{Op: "Get", URL: "http://h/%zz?secret=" + secret, Err: errors.New("x")}, `Get "[url redacted]": x`},
		{"not a url.Error", errors.New("plain"), "plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := redactURLError(tt.err)
			if got.Error() != tt.wantText {
				t.Errorf("redacted to %q, want %q", got.Error(), tt.wantText)
			}
			if strings.Contains(got.Error(), secret) {
				t.Errorf("%q still holds the secret", got)
			}
			if errors.Is(tt.err, context.DeadlineExceeded) && !errors.Is(got, context.DeadlineExceeded) {
				t.Error("redaction lost the cause")
			}
		})
	}
}

func TestBackoffGrowsWithinBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		base, max  time.Duration
		retry      int
		wantLo, hi time.Duration
	}{
		{"defaults, first", 0, 0, 0, 50 * time.Millisecond, 100 * time.Millisecond},
		{"defaults, third", 0, 0, 2, 200 * time.Millisecond, 400 * time.Millisecond},
		{"defaults, capped", 0, 0, 30, time.Second, 2 * time.Second},
		{"base above default max", 5 * time.Second, 0, 3, 2500 * time.Millisecond, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &Client{BackoffBase: tt.base, BackoffMax: tt.max}
			seen := map[time.Duration]bool{}
			for range 200 {
				d := c.backoff(tt.retry)
				if d < tt.wantLo || d > tt.hi {
					t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tt.retry, d, tt.wantLo, tt.hi)
				}
				seen[d] = true
			}
			// Jitter: instances that failed together must not retry in
			// step. 200 draws from a range of millions of nanoseconds
			// repeat a value with negligible probability.
			if len(seen) < 150 {
				t.Errorf("backoff(%d) gave %d distinct waits in 200 calls; want jitter", tt.retry, len(seen))
			}
		})
	}
}

func TestZeroClientDefaults(t *testing.T) {
	t.Parallel()
	var c Client
	if got := c.baseURL(); got != DefaultBaseURL {
		t.Errorf("baseURL = %q", got)
	}
	if c.httpClient().Timeout != DefaultTimeout || c.httpClient().CheckRedirect == nil {
		t.Error("default HTTP client has no overall timeout or follows redirects")
	}
	if _, ok := c.tokens().(*MemoryTokenCache); !ok {
		t.Errorf("default token cache is %T", c.tokens())
	}
	if c.maxBusyRetries() != DefaultMaxBusyRetries || c.refreshBefore() != DefaultRefreshBefore {
		t.Error("retry or refresh defaults not applied")
	}
	c.BaseURL = "http://127.0.0.1:8081/"
	if got := c.baseURL(); got != "http://127.0.0.1:8081" {
		t.Errorf("baseURL with a trailing slash = %q", got)
	}
}
