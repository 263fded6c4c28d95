package httpapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// TestAppendForwardAuthMatchesEncodingJSON: the hand-written body must be
// what encoding/json makes of forwardAuthResponse, byte for byte.
func TestAppendForwardAuthMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 21, 8, 30, 0, 123456789, time.FixedZone("CST", 8*3600))
	tests := []struct {
		name string
		p    wxlogin.Principal
	}{
		{"with unionid", wxlogin.Principal{UserID: "usr_1", AppID: "wxdec0de0000000001", OpenID: "oAbC-_9", UnionID: "uXyZ", ExpiresAt: at}},
		{"without unionid", wxlogin.Principal{UserID: "usr_2", AppID: "wx2", OpenID: "o2", ExpiresAt: at}},
		{"needs escaping", wxlogin.Principal{UserID: "usr_\"<x>\\", AppID: "wx\n", OpenID: "o\u2028", UnionID: "微信", ExpiresAt: at}},
		{"zero time", wxlogin.Principal{UserID: "u", AppID: "a", OpenID: "o"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.p
			want, err := json.Marshal(forwardAuthResponse{UserID: p.UserID, AppID: p.AppID, OpenID: p.OpenID, UnionID: p.UnionID, ExpiresAt: p.ExpiresAt.UTC()})
			if err != nil {
				t.Fatal(err)
			}
			if got := appendForwardAuth(nil, p); string(got) != string(want) {
				t.Errorf("appendForwardAuth = %s\nencoding/json    = %s", got, want)
			}
		})
	}
}

func FuzzAppendForwardAuth(f *testing.F) {
	f.Add("usr_1", "wx1", "o1", "", int64(0))
	f.Add("usr_\"", "wx<", "o&", "u\\", int64(1e18))
	f.Fuzz(func(t *testing.T, user, app, open, union string, ns int64) {
		p := wxlogin.Principal{UserID: user, AppID: app, OpenID: open, UnionID: union, ExpiresAt: time.Unix(0, ns)}
		want, err := json.Marshal(forwardAuthResponse{UserID: user, AppID: app, OpenID: open, UnionID: union, ExpiresAt: p.ExpiresAt.UTC()})
		if err != nil {
			return // a time encoding/json cannot write either
		}
		if got := appendForwardAuth(nil, p); string(got) != string(want) {
			t.Errorf("appendForwardAuth = %s\nencoding/json    = %s", got, want)
		}
	})
}
