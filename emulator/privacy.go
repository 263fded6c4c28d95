package emulator

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"time"

	"github.com/wxlogin/wxlogin"
)

// PrivacyErrno is WeChat's errno of a privacy API called before the user
// agreed to the privacy guidelines.
const PrivacyErrno = 104

// privacyApplies reports whether acct's device asks for privacy
// authorization: the check is not turned off and the device runs base
// library 2.32.3 or later (older ones never asked).
func (e *Emulator) privacyApplies(acct *account) bool {
	return !e.NoPrivacyCheck && acct.person.user.baseLibraryAtLeast(libPrivacy)
}

func privacyErr(api, format string, args ...any) *DeviceError {
	d := deviceErr(wxlogin.EPrivacyNotAuthorized, api+":fail privacy permission is not authorized", format, args...)
	d.Errno = PrivacyErrno
	return d
}

// privacyLocked fails a privacy API while the user has not agreed to the
// app's privacy guidelines (when the check applies).
func (e *Emulator) privacyLocked(api string, acct *account) *DeviceError {
	if !e.privacyApplies(acct) || acct.privacyAgreed {
		return nil
	}
	return privacyErr(api, "the user has not agreed to the privacy guidelines of %s", acct.app.AppID)
}

// PrivacySetting is wx.getPrivacySetting's answer.
type PrivacySetting struct {
	NeedAuthorization   bool   `json:"needAuthorization"`
	PrivacyContractName string `json:"privacyContractName"`
	// RefusalPauseMs is the emulator's addition: how long, in
	// milliseconds, a new request is still refused without a popup after
	// the user's refusal (0 when none). A simulated device reads it to
	// refuse at once, as WeChat does, without asking the user.
	RefusalPauseMs int64 `json:"refusalPauseMs,omitempty"`
}

// PrivacySetting is wx.getPrivacySetting for user in appid.
func (e *Emulator) PrivacySetting(appid, user string) (PrivacySetting, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	acct, derr := e.deviceAccountLocked("getPrivacySetting", appid, user)
	if derr != nil {
		return PrivacySetting{}, derr
	}
	s := PrivacySetting{
		NeedAuthorization:   e.privacyApplies(acct) && !acct.privacyAgreed,
		PrivacyContractName: "《" + appid + " 小程序隐私保护指引》",
	}
	if left := e.refusalPauseLocked(acct); s.NeedAuthorization && left > 0 {
		s.RefusalPauseMs = max(left.Milliseconds(), 1)
	}
	return s, nil
}

// refusalPauseLocked is how long acct's last refusal still blocks a new
// privacy request; 0 when it does not.
func (e *Emulator) refusalPauseLocked(acct *account) time.Duration {
	r := acct.privacyRefused
	if r.IsZero() {
		return 0
	}
	now := e.nowLocked()
	if now.Before(r) || now.Sub(r) >= PrivacyRefusalPause {
		return 0
	}
	return PrivacyRefusalPause - now.Sub(r)
}

// RequirePrivacyAuthorize is wx.requirePrivacyAuthorize (or a privacy API
// triggering wx.onNeedPrivacyAuthorization) answered by the user: agree is
// the resolve({event: "agree"|"disagree"}) of the popup. It reports whether
// the popup was shown: not when the user already agreed or the check does
// not apply (success), nor within PrivacyRefusalPause of a refusal (errno
// 104 at once). A refusal fails with errno 104.
func (e *Emulator) RequirePrivacyAuthorize(appid, user string, agree bool) (prompted bool, err error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.nowLocked()
	acct, derr := e.deviceAccountLocked("requirePrivacyAuthorize", appid, user)
	if derr != nil {
		return false, derr
	}
	if !e.privacyApplies(acct) || acct.privacyAgreed {
		return false, nil
	}
	if e.refusalPauseLocked(acct) > 0 {
		return false, privacyErr("requirePrivacyAuthorize",
			"the user refused the privacy guidelines %v ago; a new request is refused for %v",
			now.Sub(acct.privacyRefused), PrivacyRefusalPause)
	}
	if !agree {
		acct.privacyRefused = now
		return true, privacyErr("requirePrivacyAuthorize", "the user disagreed with the privacy guidelines")
	}
	acct.privacyAgreed, acct.privacyRefused = true, time.Time{}
	return true, nil
}

// AgreePrivacy is a tap on <button open-type="agreePrivacyAuthorization">
// in the app's own privacy popup: the user agrees, even within the pause
// after a refusal.
func (e *Emulator) AgreePrivacy(appid, user string) error {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	acct, derr := e.deviceAccountLocked("agreePrivacyAuthorization", appid, user)
	if derr != nil {
		return derr
	}
	acct.privacyAgreed, acct.privacyRefused = true, time.Time{}
	return nil
}

// ResetPrivacy forgets user's privacy decision in appid, as when the app
// publishes new privacy guidelines.
func (e *Emulator) ResetPrivacy(appid, user string) error {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	acct, derr := e.deviceAccountLocked("resetPrivacy", appid, user)
	if derr != nil {
		return derr
	}
	acct.privacyAgreed, acct.privacyRefused = false, time.Time{}
	return nil
}

// Avatar is the temporary image chooseAvatar gives, which the mini program
// uploads to its server. HTTP clients fetch it at DevicePrefix+"tmp/"+ID.
type Avatar struct {
	ID          string `json:"id"`
	ContentType string `json:"contentType"`
	Data        []byte `json:"-"`
}

type tmpFile struct {
	contentType string
	data        []byte
}

// maxTmpFiles bounds the temporary files kept; the oldest go first.
const maxTmpFiles = 256

// ChooseAvatar is a tap on <button open-type="chooseAvatar">: a new 132×132
// PNG in a colour of the user's own. It is a privacy API; base library
// 2.21.2 or later.
func (e *Emulator) ChooseAvatar(appid, user string) (Avatar, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	acct, derr := e.fillInLocked("chooseAvatar", appid, user)
	if derr != nil {
		return Avatar{}, derr
	}
	data, err := avatarPNG(acct.person.name, len(e.tmpIDs))
	if err != nil {
		return Avatar{}, err
	}
	id := randomString(24, alnum) + ".png"
	e.tmp[id] = &tmpFile{contentType: "image/png", data: data}
	e.tmpIDs = append(e.tmpIDs, id)
	if len(e.tmpIDs) > maxTmpFiles {
		delete(e.tmp, e.tmpIDs[0])
		e.tmpIDs = e.tmpIDs[1:]
	}
	return Avatar{ID: id, ContentType: "image/png", Data: data}, nil
}

// TmpFile returns a temporary file chooseAvatar made.
func (e *Emulator) TmpFile(id string) (contentType string, data []byte, ok bool) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.tmp[id]
	if f == nil {
		return "", nil, false
	}
	return f.contentType, f.data, true
}

// Nickname is the user filling in <input type="nickname"> with their
// nickname. It is a privacy API; base library 2.21.2 or later.
func (e *Emulator) Nickname(appid, user string) (string, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	acct, derr := e.fillInLocked("nickname", appid, user)
	if derr != nil {
		return "", derr
	}
	return acct.person.user.NickName, nil
}

// fillInLocked checks what the avatar and nickname fill-in share.
func (e *Emulator) fillInLocked(api, appid, user string) (*account, *DeviceError) {
	acct, derr := e.deviceAccountLocked(api, appid, user)
	if derr != nil {
		return nil, derr
	}
	if u := acct.person.user; !u.baseLibraryAtLeast(libPhoneCode) {
		return nil, deviceErr(ENotSupported, api+":fail not supported",
			"%s needs base library %s; the device has %s", api, libPhoneCode, u.BaseLibrary)
	}
	if derr := e.privacyLocked(api, acct); derr != nil {
		return nil, derr
	}
	return acct, nil
}

// avatarPNG draws a plain avatar: a disc in the user's colour on a light
// background, its shade changing with n so each choice differs.
func avatarPNG(name string, n int) ([]byte, error) {
	const size = 132
	seed := derive("", 8, "colour", name)
	fg := color.RGBA{seed[1]/2 + 64, seed[2]/2 + 64, seed[3]/2 + 64 + byte(n%16), 255}
	bg := color.RGBA{240, 240, 240, 255}
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			dx, dy := x-size/2, y-size/2
			if dx*dx+dy*dy < (size/3)*(size/3) {
				img.SetRGBA(x, y, fg)
			} else {
				img.SetRGBA(x, y, bg)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
