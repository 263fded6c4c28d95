package emulator

import (
	"encoding/binary"
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

// Scopes are the authorization scopes of wx.getSetting / wx.authorize,
// including the three added in February 2022 (bluetooth, addPhoneContact,
// addPhoneCalendar).
func Scopes() []string {
	return []string{
		"scope.userInfo", "scope.userLocation", "scope.address", "scope.invoiceTitle",
		"scope.werun", "scope.record", "scope.writePhotosAlbum", "scope.camera",
		"scope.bluetooth", "scope.addPhoneContact", "scope.addPhoneCalendar",
	}
}

// Versions of the base library where WeChat changed the flow.
const (
	libGetUserProfile = "2.10.4" // wx.getUserProfile exists
	libPhoneCode      = "2.21.2" // the phone button gives a code; avatar/nickname fill-in
	libAnonymous      = "2.27.1" // getUserProfile/getUserInfo anonymised
	libPrivacy        = "2.32.3" // privacy authorization
)

// AnonymousNickName and AnonymousAvatarURL are what getUserProfile and
// getUserInfo give on base library 2.27.1 and later: WeChat's grey
// default avatar and "WeChat user".
const (
	AnonymousNickName  = "微信用户"
	AnonymousAvatarURL = "https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132"
)

// UserInfo is the public user info of getUserInfo / getUserProfile, in the
// field order of WeChat's rawData.
type UserInfo struct {
	NickName  string `json:"nickName"`
	Gender    int    `json:"gender"`
	Language  string `json:"language"`
	City      string `json:"city"`
	Province  string `json:"province"`
	Country   string `json:"country"`
	AvatarURL string `json:"avatarUrl"`
}

// Credentials is what wx.getUserInfo({withCredentials: true}) and
// wx.getUserProfile give: the user info, rawData (its JSON), signature
// (sha1(rawData + session_key)) and encryptedData/iv under the user's
// current session_key.
type Credentials struct {
	UserInfo      UserInfo `json:"userInfo"`
	RawData       string   `json:"rawData"`
	Signature     string   `json:"signature"`
	EncryptedData string   `json:"encryptedData"`
	IV            string   `json:"iv"`
}

// Encrypted is an encrypted payload alone (WeRun, share info).
type Encrypted struct {
	EncryptedData string `json:"encryptedData"`
	IV            string `json:"iv"`
}

// publicInfo is what the device shows of u: anonymised from base library
// 2.27.1, as WeChat does since November 2022. Gender and region are never
// shared, whatever the base library: since September 2023 WeChat answers
// gender 0 and an empty city, province and country to every mini program.
func publicInfo(u User) UserInfo {
	if u.baseLibraryAtLeast(libAnonymous) {
		return UserInfo{NickName: AnonymousNickName, AvatarURL: AnonymousAvatarURL, Language: u.Language}
	}
	return UserInfo{NickName: u.NickName, Language: u.Language, AvatarURL: u.AvatarURL}
}

// userInfoPlain is the plaintext of user info's encryptedData.
type userInfoPlain struct {
	OpenID string `json:"openId,omitempty"`
	UserInfo
	UnionID   string            `json:"unionId,omitempty"`
	Watermark wxcrypt.Watermark `json:"watermark"`
}

// keyLocked returns acct's valid session_key or the error WeChat's
// credentialed APIs give before a login.
func (e *Emulator) keyLocked(api string, acct *account, now time.Time) (string, *DeviceError) {
	if !e.useKeyLocked(acct, now) {
		return "", deviceErr(wxlogin.ESessionInvalid, api+":fail login first",
			"%s with credentials needs a valid login: call login first", api)
	}
	return acct.sessionKey, nil
}

func (e *Emulator) credentialsLocked(api string, acct *account, now time.Time, withIDs bool) (Credentials, error) {
	key, derr := e.keyLocked(api, acct, now)
	if derr != nil {
		return Credentials{}, derr
	}
	info := publicInfo(acct.person.user)
	raw, err := json.Marshal(info)
	if err != nil {
		return Credentials{}, err
	}
	plain := userInfoPlain{UserInfo: info, Watermark: wxcrypt.Watermark{AppID: acct.app.AppID, Timestamp: now.Unix()}}
	if withIDs {
		plain.OpenID, plain.UnionID = acct.openID, acct.unionID()
	}
	data, iv, err := encryptPayload(key, plain)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{UserInfo: info, RawData: string(raw), Signature: wxcrypt.Signature(string(raw), key),
		EncryptedData: data, IV: iv}, nil
}

// UserInfo is wx.getUserInfo({withCredentials: true}) after a tap on
// <button open-type="getUserInfo">: openId and unionId (bound apps) are in
// the encryptedData. It needs a login, grants scope.userInfo, and is a
// privacy API.
func (e *Emulator) UserInfo(appid, user string) (Credentials, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.nowLocked()
	acct, derr := e.deviceAccountLocked("getUserInfo", appid, user)
	if derr != nil {
		return Credentials{}, derr
	}
	if derr := e.privacyLocked("getUserInfo", acct); derr != nil {
		return Credentials{}, derr
	}
	c, err := e.credentialsLocked("getUserInfo", acct, now, true)
	if err == nil {
		acct.scopes["scope.userInfo"] = true
	}
	return c, err
}

// Profile is wx.getUserProfile: like UserInfo but without openId or unionId
// in the encryptedData, and one tap each call (no scope). Base library
// 2.10.4 or later.
func (e *Emulator) Profile(appid, user string) (Credentials, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.nowLocked()
	acct, derr := e.deviceAccountLocked("getUserProfile", appid, user)
	if derr != nil {
		return Credentials{}, derr
	}
	if u := acct.person.user; !u.baseLibraryAtLeast(libGetUserProfile) {
		return Credentials{}, deviceErr(ENotSupported, "getUserProfile:fail not supported",
			"getUserProfile needs base library %s; the device has %s", libGetUserProfile, u.BaseLibrary)
	}
	if derr := e.privacyLocked("getUserProfile", acct); derr != nil {
		return Credentials{}, derr
	}
	return e.credentialsLocked("getUserProfile", acct, now, false)
}

// WeRun is wx.getWeRunData: the steps of the last 30 days (midnight Beijing
// time of each day, oldest first). It needs scope.werun: a refused scope
// fails at once; a scope never asked prompts, and accept is the user's
// answer. It is a privacy API.
func (e *Emulator) WeRun(appid, user string, accept bool) (Encrypted, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.nowLocked()
	acct, derr := e.deviceAccountLocked("getWeRunData", appid, user)
	if derr != nil {
		return Encrypted{}, derr
	}
	if derr := e.privacyLocked("getWeRunData", acct); derr != nil {
		return Encrypted{}, derr
	}
	key, derr := e.keyLocked("getWeRunData", acct, now)
	if derr != nil {
		return Encrypted{}, derr
	}
	if _, derr := authorizeLocked("getWeRunData", acct, "scope.werun", accept); derr != nil {
		return Encrypted{}, derr
	}
	y, m, d := now.In(beijing).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, beijing)
	plain := struct {
		StepInfoList []wxcrypt.Step    `json:"stepInfoList"`
		Watermark    wxcrypt.Watermark `json:"watermark"`
	}{Watermark: wxcrypt.Watermark{AppID: appid, Timestamp: now.Unix()}}
	for i := 29; i >= 0; i-- {
		day := today.AddDate(0, 0, -i)
		seed := derive("", 12, "werun", acct.person.name, day.Format(time.DateOnly))
		plain.StepInfoList = append(plain.StepInfoList, wxcrypt.Step{
			Timestamp: day.Unix(),
			Step:      int(binary.BigEndian.Uint32([]byte(seed[:4])) % 20000),
		})
	}
	data, iv, err := encryptPayload(key, plain)
	if err != nil {
		return Encrypted{}, err
	}
	return Encrypted{data, iv}, nil
}

// Share is wx.getShareInfo for a share card opened in the chat named group:
// the openGId is stable per (app, group). It needs a login.
func (e *Emulator) Share(appid, user, group string) (Encrypted, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.nowLocked()
	acct, derr := e.deviceAccountLocked("getShareInfo", appid, user)
	if derr != nil {
		return Encrypted{}, derr
	}
	key, derr := e.keyLocked("getShareInfo", acct, now)
	if derr != nil {
		return Encrypted{}, derr
	}
	data, iv, err := encryptPayload(key, struct {
		OpenGID   string            `json:"openGId"`
		Watermark wxcrypt.Watermark `json:"watermark"`
	}{OpenGroupID(appid, group), wxcrypt.Watermark{AppID: appid, Timestamp: now.Unix()}})
	if err != nil {
		return Encrypted{}, err
	}
	return Encrypted{data, iv}, nil
}

// OpenGroupID returns the openGId of the chat named group in appid, as Share
// encrypts it.
func OpenGroupID(appid, group string) string { return derive("tG", 28, "opengid", appid, group) }

// authorizeLocked runs wx.authorize's state machine for one scope and
// reports whether the user was prompted.
func authorizeLocked(api string, acct *account, scope string, accept bool) (bool, *DeviceError) {
	granted, asked := acct.scopes[scope]
	switch {
	case asked && granted:
		return false, nil
	case asked:
		return false, deviceErr(EScopeDenied, api+":fail auth deny",
			"the user refused %s earlier; it fails without a prompt until changed with openSetting", scope)
	}
	acct.scopes[scope] = accept
	if !accept {
		return true, deviceErr(EScopeDenied, api+":fail auth deny", "the user refused %s", scope)
	}
	return true, nil
}

func validScope(scope string) *DeviceError {
	if !slices.Contains(Scopes(), scope) {
		return deviceErr(wxlogin.EInvalidRequest, "authorize:fail invalid scope", "unknown scope %q (one of %v)", scope, Scopes())
	}
	return nil
}

// Authorize is wx.authorize({scope}): a scope never asked prompts the user,
// whose answer is accept; a granted scope succeeds and a refused one fails
// at once, both without a prompt. It reports whether the user was
// prompted. scope.userInfo cannot be requested this way (it needs the
// getUserInfo button).
func (e *Emulator) Authorize(appid, user, scope string, accept bool) (prompted bool, err error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	acct, derr := e.deviceAccountLocked("authorize", appid, user)
	if derr != nil {
		return false, derr
	}
	if derr := validScope(scope); derr != nil {
		return false, derr
	}
	if scope == "scope.userInfo" {
		return false, deviceErr(wxlogin.EInvalidRequest, "authorize:fail scope.userInfo needs <button open-type=\"getUserInfo\">",
			"scope.userInfo cannot be requested with authorize")
	}
	prompted, derr = authorizeLocked("authorize", acct, scope, accept)
	if derr != nil {
		return prompted, derr // not a nil *DeviceError in a non-nil error
	}
	return prompted, nil
}

// Settings is wx.getSetting: the scopes the user was asked about, true when
// granted.
func (e *Emulator) Settings(appid, user string) (map[string]bool, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	acct, derr := e.deviceAccountLocked("getSetting", appid, user)
	if derr != nil {
		return nil, derr
	}
	return maps.Clone(acct.scopes), nil
}

// OpenSetting is the user changing scopes on wx.openSetting's page, which
// lists only the scopes already asked: changing another fails and nothing
// is changed. It returns the new settings.
func (e *Emulator) OpenSetting(appid, user string, changes map[string]bool) (map[string]bool, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	acct, derr := e.deviceAccountLocked("openSetting", appid, user)
	if derr != nil {
		return nil, derr
	}
	names := slices.Collect(maps.Keys(changes))
	sort.Strings(names)
	for _, scope := range names {
		if derr := validScope(scope); derr != nil {
			return nil, derr
		}
		if _, asked := acct.scopes[scope]; !asked {
			return nil, deviceErr(wxlogin.EInvalidRequest, "openSetting:fail scope not listed",
				"%s was never asked, so openSetting does not list it", scope)
		}
	}
	maps.Copy(acct.scopes, changes)
	return maps.Clone(acct.scopes), nil
}
