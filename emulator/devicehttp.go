package emulator

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/wxlogin/wxlogin/wxcrypt"
)

// deviceRoutes registers the wx.* device API.
func (e *Emulator) deviceRoutes(d func(pattern string, h func(*http.Request) (any, error))) {
	d("POST /emulator/v1/phone", e.servePhone)
}

func (e *Emulator) servePhone(r *http.Request) (any, error) {
	var req target
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	return e.Phone(req.AppID, req.User)
}

// tmpFile is a temporary file the device made (a chooseAvatar image).
type tmpFile struct {
	contentType string
	data        []byte
}

// encryptPayload encrypts v's JSON as WeChat does, with a fresh iv.
func encryptPayload(sessionKey string, v any) (encryptedData, iv string, err error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", "", err
	}
	iv = wxcrypt.NewIV()
	encryptedData, err = wxcrypt.Encrypt(sessionKey, iv, plain)
	return encryptedData, iv, err
}

// privacyLocked fails a privacy API while the user has not agreed to the
// app's privacy guidelines (when the check applies).
func (e *Emulator) privacyLocked(api string, acct *account, now time.Time) *DeviceError {
	return nil
}
