package auth

import (
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// TestMergeOf checks which accounts a recorded unionid merges, from the
// users that held it before the login: the older account's id stays,
// whichever side the login's user is on, and nothing merges when the user
// was in the account already, nobody of its Open Platform account holds
// the unionid, or the unionid replaces another.
func TestMergeOf(t *testing.T) {
	t.Parallel()
	s := &Service{}
	s.settings.Store(&liveSettings{appByID: map[string]wxlogin.App{
		"mini": {AppID: "mini", OpenPlatform: "op"},
		"oa":   {AppID: "oa", OpenPlatform: "op"},
		"site": {AppID: "site", OpenPlatform: "op"},
		"else": {AppID: "else", OpenPlatform: "another"},
	}})
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	user := func(id, app string, age int) wxlogin.User {
		return wxlogin.User{ID: "usr_" + id, AppID: app, UnionID: "un", CreatedAt: t0.Add(time.Duration(age) * time.Second)}
	}
	tests := []struct {
		name   string
		u      wxlogin.User
		prev   string
		before []wxlogin.User
		want   merge
		ok     bool
	}{
		{name: "the newer account goes", u: user("late", "oa", 0),
			before: []wxlogin.User{user("m", "mini", 1), user("s", "site", 2)},
			want:   merge{survivor: "acc_late", merged: "acc_m"}, ok: true},
		{name: "the user's own account goes", u: user("late", "oa", 5),
			before: []wxlogin.User{user("m", "mini", 1), user("s", "site", 2)},
			want:   merge{survivor: "acc_m", merged: "acc_late"}, ok: true},
		{name: "the oldest of the others names their account", u: user("late", "oa", 5),
			before: []wxlogin.User{user("s", "site", 2), user("m", "mini", 1)},
			want:   merge{survivor: "acc_m", merged: "acc_late"}, ok: true},
		{name: "same instant: ordered by id", u: user("a", "oa", 1),
			before: []wxlogin.User{user("b", "mini", 1)},
			want:   merge{survivor: "acc_a", merged: "acc_b"}, ok: true},
		{name: "users of another Open Platform account do not count", u: user("late", "oa", 5),
			before: []wxlogin.User{user("x", "else", 1)}},
		{name: "nobody held the unionid", u: user("late", "oa", 5)},
		{name: "the user held it already", u: user("late", "oa", 5),
			before: []wxlogin.User{user("m", "mini", 1), user("late", "oa", 5)}},
		{name: "a unionid replacing another", u: user("late", "oa", 5), prev: "old",
			before: []wxlogin.User{user("m", "mini", 1)}},
		{name: "an app of no Open Platform account", u: user("late", "unknown", 5),
			before: []wxlogin.User{user("m", "mini", 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := s.live().appByID[tt.u.AppID].OpenPlatform
			got, ok := s.mergeOf(op, tt.u, tt.prev, tt.before)
			if got != tt.want || ok != tt.ok {
				t.Errorf("mergeOf = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
