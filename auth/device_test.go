package auth_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
)

// TestDeviceFlows runs the data the emulator's simulated device produces,
// on an old (2018) and a current base library, through the service.
func TestDeviceFlows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		baseLibrary string
		wantNick    string // nickname in the stored user info after getUserProfile
	}{
		{"device before the recall", "2.26.0", "Alice"},
		{"current device", "3.5.0", emulator.AnonymousNickName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var dir string
			e := newEnv(t, withBlobs(&dir))
			ctx := t.Context()
			if err := e.em.UpdateUser("alice", func(u *emulator.User) {
				u.NickName, u.BaseLibrary = "Alice", tt.baseLibrary
			}); err != nil {
				t.Fatal(err)
			}
			p := e.verify(ctx, e.login(ctx, app1, "alice").Token)
			// Today's WeChat asks for privacy agreement first (the 2.26
			// device is never asked).
			if err := e.em.AgreePrivacy(app1, "alice"); err != nil {
				t.Fatal(err)
			}

			// getUserProfile (no openId inside).
			c, err := e.em.Profile(app1, "alice")
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.svc.SaveUserInfo(ctx, p, c.RawData, c.Signature, auth.Encrypted{EncryptedData: c.EncryptedData, IV: c.IV})
			if err != nil {
				t.Fatal(err)
			}
			var info struct{ NickName string }
			json.Unmarshal(got, &info)
			diff(t, "nickname", tt.wantNick, info.NickName)

			// The fill-in components, then an anonymised profile again: the
			// profile the user filled in stays.
			nick, err := e.em.Nickname(app1, "alice")
			if err != nil {
				t.Fatal(err)
			}
			av, err := e.em.ChooseAvatar(app1, "alice")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.SetNickname(ctx, p, nick); err != nil {
				t.Fatal(err)
			}
			u, err := e.svc.SetAvatar(ctx, p, av.Data)
			if err != nil {
				t.Fatal(err)
			}
			if c, err = e.em.Profile(app1, "alice"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.SaveUserInfo(ctx, p, c.RawData, c.Signature, auth.Encrypted{EncryptedData: c.EncryptedData, IV: c.IV}); err != nil {
				t.Fatal(err)
			}
			after, _ := e.svc.User(ctx, p)
			diff(t, "profile", u.Profile, after.Profile)

			// WeRun and share info.
			w, err := e.em.WeRun(app1, "alice", true)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := e.svc.Decrypt(ctx, p, auth.KindWeRun, auth.Encrypted{EncryptedData: w.EncryptedData, IV: w.IV})
			if err != nil {
				t.Fatal(err)
			}
			var run struct{ StepInfoList []json.RawMessage }
			if json.Unmarshal(raw, &run); len(run.StepInfoList) != 30 || strings.Contains(string(raw), "watermark") {
				t.Errorf("WeRun: %d days, want 30 and no watermark", len(run.StepInfoList))
			}
			s, err := e.em.Share(app1, "alice", "family")
			if err != nil {
				t.Fatal(err)
			}
			raw, err = e.svc.Decrypt(ctx, p, auth.KindShare, auth.Encrypted{EncryptedData: s.EncryptedData, IV: s.IV})
			if err != nil {
				t.Fatal(err)
			}
			diff(t, "share info", `{"openGId":"`+emulator.OpenGroupID(app1, "family")+`"}`, string(raw))
		})
	}
}

// getUserInfo carries openId (and unionId in a bound app): they must be
// the session's.
func TestDeviceUserInfo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	e.em.UpdateUser("alice", func(u *emulator.User) { u.BaseLibrary = "2.10.4" })
	p := e.verify(ctx, e.login(ctx, app1, "alice").Token)
	c, err := e.em.UserInfo(app1, "alice")
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.SaveUserInfo(ctx, p, c.RawData, c.Signature, auth.Encrypted{EncryptedData: c.EncryptedData, IV: c.IV})
	if err != nil {
		t.Fatal(err)
	}
	var info struct{ OpenID, UnionID string }
	json.Unmarshal(got, &info)
	id := e.identity(app1, "alice")
	diff(t, "ids inside", [2]string{id.OpenID, id.UnionID}, [2]string{info.OpenID, info.UnionID})

	// Bob's genuine user info is refused on Alice's session, even with a
	// key that opens it (Bob's login_code).
	bobCode := e.code(app1, "bob")
	c, _ = e.em.UserInfo(app1, "bob")
	_, err = e.svc.SaveUserInfo(ctx, p, c.RawData, c.Signature, auth.Encrypted{EncryptedData: c.EncryptedData, IV: c.IV, LoginCode: bobCode})
	wantCode(t, err, wxlogin.EInvalidRequest)
}

func TestDeviceBlockedUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.em.UpdateUser("mallory", func(u *emulator.User) { u.Blocked = true })
	_, err := e.svc.Login(t.Context(), app1, e.code(app1, "mallory"), auth.Client{})
	wantCode(t, err, wxlogin.ECodeBlocked)
}
