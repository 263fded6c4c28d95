package httpapi

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wxlogin/wxlogin"
)

func TestDisplayProfile(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	real := json.RawMessage(`{"nickName":"Alice","avatarUrl":"https://thirdwx.qlogo.cn/a/132"}`)
	anon := json.RawMessage(`{"nickName":"微信用户","avatarUrl":"https://thirdwx.qlogo.cn/grey/132"}`)
	tests := []struct {
		name string
		user wxlogin.User
		want profileJSON
	}{
		{"nothing at all", wxlogin.User{}, profileJSON{Source: "none"}},
		{"classic user info only", wxlogin.User{UserInfo: real},
			profileJSON{Nickname: "Alice", AvatarURL: str("https://thirdwx.qlogo.cn/a/132"), Source: "user_info"}},
		{"anonymised user info names no one", wxlogin.User{UserInfo: anon}, profileJSON{Source: "none"}},
		{"filled in wins over classic", wxlogin.User{UserInfo: real, Profile: wxlogin.Profile{Nickname: "阿丽", AvatarID: "avt_1"}},
			profileJSON{Nickname: "阿丽", AvatarURL: str("/v1/avatars/avt_1"), Source: "filled_in"}},
		{"filled-in nickname, classic avatar", wxlogin.User{UserInfo: real, Profile: wxlogin.Profile{Nickname: "阿丽"}},
			profileJSON{Nickname: "阿丽", AvatarURL: str("https://thirdwx.qlogo.cn/a/132"), Source: "mixed"}},
		{"filled in beside anonymised", wxlogin.User{UserInfo: anon, Profile: wxlogin.Profile{AvatarID: "avt_2"}},
			profileJSON{AvatarURL: str("/v1/avatars/avt_2"), Source: "filled_in"}},
		{"broken stored info is ignored", wxlogin.User{UserInfo: json.RawMessage(`[1,2]`)}, profileJSON{Source: "none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, displayProfile(tt.user, "")); diff != "" {
				t.Errorf("displayProfile (-want +got):\n%s", diff)
			}
		})
	}
}
