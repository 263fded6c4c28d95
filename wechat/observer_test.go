package wechat_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wxlogin/wxlogin/internal/testlog"
	"github.com/wxlogin/wxlogin/wechat"
)

type recordingObserver struct {
	mu      sync.Mutex
	calls   []string
	fetches []bool
}

func (o *recordingObserver) WeChatCall(api, errcode string, retrying bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, fmt.Sprintf("%s %s retrying=%v", api, errcode, retrying))
}

func (o *recordingObserver) AccessTokenFetch(ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.fetches = append(o.fetches, ok)
}

// TestObserverAndLogNames checks that the observer sees every attempt with
// its bounded errcode label and whether it is retried, sees access-token
// fetches, and that a JSON log names the kind and the backoff rather than
// printing them as integers.
func TestObserverAndLogNames(t *testing.T) {
	t.Parallel()
	busy := answer(errcode(-1, "system error"))
	ok := answer(map[string]any{"openid": "o1", "session_key": "MDEyMzQ1Njc4OWFiY2RlZg=="})
	f := newFixture(t, map[string]script{
		"/sns/jscode2session":   sequence(busy, ok, answer(errcode(40999, "new"))),
		"/cgi-bin/stable_token": stableTokens(false),
		"/wxa/getpaidunionid":   answer(map[string]any{"unionid": "u1"}),
	})
	obs := &recordingObserver{}
	f.client.Observer = obs
	logs := &testlog.Buffer{}
	f.client.Logger = slog.New(slog.NewJSONHandler(logs, nil))

	if _, err := f.client.Code2Session(t.Context(), testApp, "code"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.Code2Session(t.Context(), testApp, "code2"); err == nil {
		t.Fatal("an unknown errcode succeeded")
	}
	if _, err := f.client.PaidUnionID(t.Context(), testApp, "o1", ""); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"jscode2session -1 retrying=true",
		"jscode2session 0 retrying=false",
		"jscode2session other retrying=false",
		"stable_token 0 retrying=false",
		"getpaidunionid 0 retrying=false",
	}
	if d := cmp.Diff(want, obs.calls); d != "" {
		t.Errorf("observed calls (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]bool{true}, obs.fetches); d != "" {
		t.Errorf("observed token fetches (-want +got):\n%s", d)
	}

	var retry map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "wechat call failed; retrying" {
			retry = m
		}
	}
	if retry == nil {
		t.Fatalf("no retry logged:\n%s", logs)
	}
	if retry["kind"] != "busy" {
		t.Errorf("kind logged as %#v, want \"busy\"", retry["kind"])
	}
	if b, ok := retry["backoff"].(string); !ok || !strings.HasSuffix(b, "s") {
		t.Errorf("backoff logged as %#v, want a duration like \"150ms\"", retry["backoff"])
	}
}

func TestErrCodeLabel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"success", nil, "0"},
		{"documented", &wechat.Error{API: "x", ErrCode: 40163}, "40163"},
		{"busy", fmt.Errorf("wrapped: %w", &wechat.Error{API: "x", ErrCode: -1}), "-1"},
		{"undocumented", &wechat.Error{API: "x", ErrCode: 61234}, "other"},
		{"unavailable", &wechat.UnavailableError{API: "x", Reason: "HTTP 502"}, "unavailable"},
		{"anything else", errors.New("boom"), "other"},
	}
	for _, tt := range tests {
		if got := wechat.ErrCodeLabel(tt.err); got != tt.want {
			t.Errorf("%s: ErrCodeLabel = %q, want %q", tt.name, got, tt.want)
		}
	}
}
