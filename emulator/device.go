package emulator

import (
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Error codes of the device API that wxlogin's own set lacks.
const (
	// EScopeDenied: the user refused a scope (now, or earlier: a refused
	// scope fails at once until changed with openSetting).
	EScopeDenied = "scope_denied"
	// ENotSupported: the simulated device's base library lacks the API.
	ENotSupported = "not_supported"
)

// DeviceError is the failure of a device (wx.*) operation. Code is one of
// wxlogin's error codes (invalid_request, unknown_app, session_invalid,
// rate_limited, privacy_not_authorized, not_found) or EScopeDenied or
// ENotSupported; ErrMsg is the errMsg WeChat's fail callback would give.
type DeviceError struct {
	Code    string
	Message string
	ErrMsg  string
	// Errno is WeChat's errno when it has one (104: privacy not
	// authorized); 0 otherwise.
	Errno int
}

func (e *DeviceError) Error() string { return "emulator: " + e.Code + ": " + e.Message }

// Is reports whether target is a *DeviceError or *wxlogin.Error with the
// same code, so errors.Is(err, wxlogin.Errorf(wxlogin.EPrivacyNotAuthorized, ""))
// and errors.Is(err, &DeviceError{Code: EScopeDenied}) match.
func (e *DeviceError) Is(target error) bool {
	switch t := target.(type) {
	case *DeviceError:
		return t.Code == e.Code
	case *wxlogin.Error:
		return t.Code == e.Code
	}
	return false
}

func deviceErr(code, errMsg, format string, args ...any) *DeviceError {
	return &DeviceError{Code: code, Message: fmt.Sprintf(format, args...), ErrMsg: errMsg}
}

// status is the HTTP status of a device error.
func (e *DeviceError) status() int {
	switch e.Code {
	case wxlogin.EUnknownApp, wxlogin.EInvalidRequest:
		return http.StatusBadRequest
	case wxlogin.ESessionInvalid:
		return http.StatusUnauthorized
	case wxlogin.EPrivacyNotAuthorized, EScopeDenied:
		return http.StatusForbidden
	case wxlogin.ENotFound:
		return http.StatusNotFound
	case wxlogin.ERateLimited:
		return http.StatusTooManyRequests
	case ENotSupported:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// deviceAccountLocked resolves the (app, user) of a device call.
func (e *Emulator) deviceAccountLocked(api, appid, user string) (*account, *DeviceError) {
	a := e.apps[appid]
	if a == nil {
		return nil, deviceErr(wxlogin.EUnknownApp, api+":fail invalid appid", "unknown appid %q", appid)
	}
	if !validUserName(user) {
		return nil, deviceErr(wxlogin.EInvalidRequest, api+":fail invalid user",
			"user must be 1 to %d characters without control characters or '/'", maxUserName)
	}
	return e.accountLocked(a, user), nil
}

// Login is wx.login for user of appid: it returns a one-time login code and
// rotates the user's session_key, the previous key dying at once.
func (e *Emulator) Login(appid, user string) (string, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.nowLocked()
	acct, derr := e.deviceAccountLocked("login", appid, user)
	if derr != nil {
		return "", derr
	}
	if n := e.LoginsPerSecond; n > 0 {
		recent := acct.logins[:0]
		for _, t := range acct.logins {
			if now.Sub(t) < time.Second && !now.Before(t) {
				recent = append(recent, t)
			}
		}
		acct.logins = recent
		if len(recent) >= n {
			return "", deviceErr(wxlogin.ERateLimited, "login:fail frequency limit",
				"more than %d wx.login calls per second", n)
		}
		acct.logins = append(acct.logins, now)
	}
	key := acct.rotateKey(now)
	return e.newCodeLocked(&code{kind: loginCode, acct: acct, sessionKey: key, issued: now}), nil
}

// SessionKeyValid is wx.checkSession: it reports whether user's latest
// session_key in appid is still valid. It is false before the first login.
// A check that finds the key valid is the user's activity: it renews the
// key's idle expiry (SessionKeyIdleTimeout).
func (e *Emulator) SessionKeyValid(appid, user string) (bool, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	acct, derr := e.deviceAccountLocked("checkSession", appid, user)
	if derr != nil {
		return false, derr
	}
	return e.useKeyLocked(acct, e.nowLocked()), nil
}

// Activity is user opening or using the mini program appid: it renews the
// idle expiry of a session_key that is still valid (SessionKeyIdleTimeout)
// and reports whether it is. It never revives a dead key.
func (e *Emulator) Activity(appid, user string) (bool, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	acct, derr := e.deviceAccountLocked("activity", appid, user)
	if derr != nil {
		return false, derr
	}
	return e.useKeyLocked(acct, e.nowLocked()), nil
}

// SessionKey returns user's current session_key in appid ("" before the
// first login), for tests that decrypt or sign as the server would. A real
// device never reveals it.
func (e *Emulator) SessionKey(appid, user string) (string, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	acct, derr := e.deviceAccountLocked("sessionKey", appid, user)
	if derr != nil {
		return "", derr
	}
	return acct.sessionKey, nil
}

// Identity is what WeChat's server knows of a simulated user in one app.
type Identity struct {
	OpenID  string `json:"openid"`
	UnionID string `json:"unionid,omitempty"` // only for Open Platform apps
}

// Identity returns user's openid (stable per app and user) and unionid
// (the same in every Open Platform app) in appid, for tests to compare with
// what the server registered.
func (e *Emulator) Identity(appid, user string) (Identity, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	acct, derr := e.deviceAccountLocked("identity", appid, user)
	if derr != nil {
		return Identity{}, derr
	}
	return Identity{acct.openID, acct.unionID()}, nil
}

// User returns the simulated user's data (defaults until set).
func (e *Emulator) User(name string) (User, error) {
	e.init()
	if !validUserName(name) {
		return User{}, deviceErr(wxlogin.EInvalidRequest, "", "invalid user name")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.personLocked(name).user, nil
}

// SetUser replaces the simulated user's data. An empty BaseLibrary means
// DefaultBaseLibrary.
func (e *Emulator) SetUser(name string, u User) error {
	return e.UpdateUser(name, func(old *User) { *old = u })
}

// UpdateUser changes the simulated user's data atomically.
func (e *Emulator) UpdateUser(name string, update func(*User)) error {
	e.init()
	if update == nil {
		return nil
	}
	if !validUserName(name) {
		return deviceErr(wxlogin.EInvalidRequest, "", "invalid user name")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.personLocked(name)
	u := p.user
	update(&u)
	if u.BaseLibrary == "" {
		u.BaseLibrary = DefaultBaseLibrary
	}
	if derr := u.validate(); derr != nil {
		return derr
	}
	p.user = u
	return nil
}

// validate checks what the device's behaviour depends on.
func (u *User) validate() *DeviceError {
	if !versionPattern.MatchString(u.BaseLibrary) {
		return deviceErr(wxlogin.EInvalidRequest, "", "baseLibrary %q is not a version like 3.5.0", u.BaseLibrary)
	}
	if u.Gender < 0 || u.Gender > 2 {
		return deviceErr(wxlogin.EInvalidRequest, "", "gender must be 0, 1 or 2")
	}
	return nil
}

var versionPattern = regexp.MustCompile(`^[0-9]{1,4}(\.[0-9]{1,4}){0,3}$`)

// PhoneNumber is what the getPhoneNumber button gives the mini program.
type PhoneNumber struct {
	// Code is the one-time phone code for getuserphonenumber (base
	// library 2.21.2 and later; "" before).
	Code string `json:"code,omitempty"`
	// EncryptedData and IV are the legacy payload, encrypted with the
	// user's current session_key; empty before the user's first login.
	EncryptedData string `json:"encryptedData,omitempty"`
	IV            string `json:"iv,omitempty"`
}

// Phone is a tap on <button open-type="getPhoneNumber"> by user in appid.
// A device older than base library 2.21.2 gives only the legacy payload, so
// there it needs a login first (session_invalid).
func (e *Emulator) Phone(appid, user string) (PhoneNumber, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.nowLocked()
	acct, derr := e.deviceAccountLocked("getPhoneNumber", appid, user)
	if derr != nil {
		return PhoneNumber{}, derr
	}
	if derr := e.privacyLocked("getPhoneNumber", acct); derr != nil {
		return PhoneNumber{}, derr
	}
	u := acct.person.user
	hasCode := u.baseLibraryAtLeast(libPhoneCode)
	if !hasCode {
		// The legacy payload is all this base library gives, and it needs
		// a session_key to be encrypted with.
		if _, derr := e.keyLocked("getPhoneNumber", acct, now); derr != nil {
			return PhoneNumber{}, derr
		}
	}
	var out PhoneNumber
	if hasCode {
		out.Code = e.newCodeLocked(&code{kind: phoneCode, acct: acct, phone: u, issued: now})
	}
	if e.useKeyLocked(acct, now) {
		p := newPhoneInfo(u, appid, now)
		var err error
		if out.EncryptedData, out.IV, err = encryptPayload(acct.sessionKey, p); err != nil {
			return PhoneNumber{}, err
		}
	}
	return out, nil
}
