package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/auth"
)

// TestSessionPolicySetting: apps[i].session_policy and its two knobs reach
// auth, and bad values stop the start naming the YAML key.
func TestSessionPolicySetting(t *testing.T) {
	t.Parallel()
	write := func(t *testing.T, text string) string {
		p := filepath.Join(t.TempDir(), "wxlogin.yaml")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := validEnv()
	delete(env, "WXLOGIN_APPS")
	env["WXLOGIN_APP_SECRET_WX2222222222222222"] = "another-secret"
	c, err := loadConfig(write(t, `
apps:
  - appid: wx1111111111111111
    session_policy: wechat
    session_check_interval: 10m
    session_check_rate: 2.5
  - appid: wx2222222222222222
`), envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]auth.SessionPolicy{"wx1111111111111111": {Mode: auth.PolicyWeChat, CheckInterval: 10 * time.Minute, CheckRate: 2.5}}
	if got := c.authConfig().SessionPolicies; len(got) != 1 || got["wx1111111111111111"] != want["wx1111111111111111"] {
		t.Errorf("SessionPolicies = %+v, want %+v", got, want)
	}

	for _, tt := range []struct{ yaml, want string }{
		{"session_policy: weixin", "apps[wx1111111111111111].session_policy: \"weixin\" is neither"},
		{"session_policy: wechat\n    session_check_interval: -1m", "apps[wx1111111111111111].session_check_interval: -1m0s is negative"},
		{"session_policy: wechat\n    session_check_rate: -2", "apps[wx1111111111111111].session_check_rate: -2 is not a number"},
	} {
		_, err := loadConfig(write(t, "apps:\n  - appid: wx1111111111111111\n    "+tt.yaml+"\n"), envOf(env))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: err = %v, want one line starting %q", tt.yaml, err, tt.want)
		}
	}
}
