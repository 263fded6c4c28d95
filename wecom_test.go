package wxlogin_test

import (
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin"
)

func TestSplitWeComKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		key          string
		corp, userid string
		ok           bool
	}{
		{"ww0123/zhangsan", "ww0123", "zhangsan", true},
		{"ww0123/a.b@c-d_e", "ww0123", "a.b@c-d_e", true},
		{"oAbCdEfGhIjKlMnOpQrStUvWxYz0", "", "", false}, // a WeChat openid
		{"/zhangsan", "", "", false},
		{"ww0123/", "", "", false},
		{"ww/01/23", "", "", false},
		{"", "", "", false},
	} {
		corp, userid, ok := wxlogin.SplitWeComKey(tt.key)
		if corp != tt.corp || userid != tt.userid || ok != tt.ok {
			t.Errorf("SplitWeComKey(%q) = %q, %q, %v; want %q, %q, %v", tt.key, corp, userid, ok, tt.corp, tt.userid, tt.ok)
		}
	}
}

// FuzzWeComKey: every pair of slash-free, non-empty ids survives the round
// trip, and whatever SplitWeComKey accepts joins back to the same key.
func FuzzWeComKey(f *testing.F) {
	f.Add("ww0123456789abcdef", "zhangsan")
	f.Add("a", "/")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, corp, userid string) {
		key := wxlogin.WeComKey(corp, userid)
		c, u, ok := wxlogin.SplitWeComKey(key)
		valid := corp != "" && userid != "" && !strings.Contains(corp, "/") && !strings.Contains(userid, "/")
		if ok != valid || ok && (c != corp || u != userid) {
			t.Fatalf("WeComKey(%q, %q) = %q splits to %q, %q, %v", corp, userid, key, c, u, ok)
		}
		if c, u, ok := wxlogin.SplitWeComKey(corp); ok && wxlogin.WeComKey(c, u) != corp {
			t.Fatalf("SplitWeComKey(%q) = %q, %q does not join back", corp, c, u)
		}
	})
}
