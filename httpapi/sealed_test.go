package httpapi_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/keyring"
)

// TestE2EPersonalDataSealed saves user info and a phone number, then reads
// the SQLite files byte for byte and the users rows directly: neither the
// phone number nor the nickname appears in clear, the row holds a sealed
// value, and the API still answers both. After a key change, rotate-key
// reseals the user's data under the new key.
func TestE2EPersonalDataSealed(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(*world, *auth.Config, *httpapi.Config) {})
	lb := w.login(app1, "sealme")
	const nick = "NicknameInClear"
	w.request("POST", "/v1/userinfo", lb.Token, w.userInfoRequest(app1, "sealme", nick)).ok(t, 200, nil)
	if err := w.em.AgreePrivacy(app1, "sealme"); err != nil {
		t.Fatal(err)
	}
	ph, err := w.em.Phone(app1, "sealme")
	if err != nil {
		t.Fatal(err)
	}
	var phone wxlogin.Phone
	w.request("POST", "/v1/phone", lb.Token, map[string]string{"code": ph.Code}).ok(t, 200, &phone)
	var me meBody
	w.request("GET", "/v1/me", lb.Token, nil).ok(t, 200, &me)
	if me.UserInfo["nickName"] != nick || me.Phone == nil || *me.Phone != phone {
		t.Fatalf("me = %+v, want the saved nickname and phone", me)
	}

	var userInfo, phoneCol *string
	var sealed []byte
	if err := w.raw.QueryRow(`SELECT user_info, phone, sealed_personal FROM users WHERE id = ?`, lb.User.ID).
		Scan(&userInfo, &phoneCol, &sealed); err != nil {
		t.Fatal(err)
	}
	if userInfo != nil || phoneCol != nil {
		t.Errorf("clear columns hold user_info=%v phone=%v, want NULL", userInfo, phoneCol)
	}
	if id, err := keyring.SealedWith(sealed); id != "k1" {
		t.Errorf("sealed_personal sealed with %q (%v), want k1", id, err)
	}
	files, _ := filepath.Glob(filepath.Join(w.dbDir, "wxlogin.db*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, clear := range []string{phone.PurePhoneNumber, nick} {
			if bytes.Contains(b, []byte(clear)) {
				t.Errorf("%s contains %q in clear", filepath.Base(f), clear)
			}
		}
	}

	k2 := keyring.Generate("k2")
	w.restartWith(k2, w.key)
	w.request("POST", "/v1/admin/rotate-key", adminToken, nil).ok(t, 200, nil)
	if err := w.raw.QueryRow(`SELECT sealed_personal FROM users WHERE id = ?`, lb.User.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if id, err := keyring.SealedWith(sealed); id != "k2" {
		t.Errorf("after rotate-key sealed with %q (%v), want k2", id, err)
	}
	w.restartWith(k2)
	w.request("GET", "/v1/me", lb.Token, nil).ok(t, 200, &me)
	if me.UserInfo["nickName"] != nick || me.Phone == nil || *me.Phone != phone {
		t.Errorf("after rotation me = %+v", me)
	}
}
