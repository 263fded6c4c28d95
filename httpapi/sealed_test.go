package httpapi_test

import (
	"bytes"
	"testing"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/keyring"
)

// TestE2EPersonalDataSealed saves user info and a phone number, then reads
// what the store keeps (SQLite's files byte for byte; every PostgreSQL row
// as the server's text) and the users rows directly: neither the
// phone number nor the nickname appears in clear, the row holds a sealed
// value, and the API still answers both. After a key change, rotate-key
// reseals the user's data under the new key.
func TestE2EPersonalDataSealed(t *testing.T) { eachStore(t, testE2EPersonalDataSealed) }

func testE2EPersonalDataSealed(t *testing.T, kind storeKind) {
	w := newWorldOn(t, kind, func(*world, *auth.Config, *httpapi.Config) {})
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
	if err := w.rawQueryRow(`SELECT CAST(user_info AS TEXT), CAST(phone AS TEXT), sealed_personal FROM users WHERE id = ?`, lb.User.ID).
		Scan(&userInfo, &phoneCol, &sealed); err != nil {
		t.Fatal(err)
	}
	if userInfo != nil || phoneCol != nil {
		t.Errorf("clear columns hold user_info=%v phone=%v, want NULL", userInfo, phoneCol)
	}
	if id, err := keyring.SealedWith(sealed); id != "k1" {
		t.Errorf("sealed_personal sealed with %q (%v), want k1", id, err)
	}
	sawUser := false
	for name, b := range w.storedData() {
		for _, clear := range []string{phone.PurePhoneNumber, nick} {
			if bytes.Contains(b, []byte(clear)) {
				t.Errorf("%s contains %q in clear", name, clear)
			}
		}
		sawUser = sawUser || bytes.Contains(b, []byte(lb.User.ID))
	}
	if !sawUser {
		t.Errorf("no stored data holds the user id %s: the search above looked at nothing", lb.User.ID)
	}

	k2 := keyring.Generate("k2")
	w.restartWith(k2, w.key)
	w.request("POST", "/v1/admin/rotate-key", adminToken, nil).ok(t, 200, nil)
	if err := w.rawQueryRow(`SELECT sealed_personal FROM users WHERE id = ?`, lb.User.ID).Scan(&sealed); err != nil {
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
