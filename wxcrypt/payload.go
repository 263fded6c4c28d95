package wxcrypt

import (
	"encoding/json"
	"time"
)

// Watermark is what WeChat stamps on every decrypted payload.
type Watermark struct {
	AppID     string `json:"appid"`
	Timestamp int64  `json:"timestamp"` // Unix seconds
}

// Payload is a typed decrypted payload. Raw keeps the whole plaintext JSON so
// that fields this package does not know are not lost.
type Payload interface {
	watermark() Watermark
	setRaw(json.RawMessage)
}

type base struct {
	Watermark Watermark       `json:"watermark"`
	Raw       json.RawMessage `json:"-"`
}

func (b *base) watermark() Watermark       { return b.Watermark }
func (b *base) setRaw(raw json.RawMessage) { b.Raw = raw }

// UserInfo is the payload of getUserInfo / getUserProfile. getUserProfile's
// carries no OpenID or UnionID.
type UserInfo struct {
	OpenID    string `json:"openId,omitempty"`
	UnionID   string `json:"unionId,omitempty"`
	NickName  string `json:"nickName"`
	Gender    int    `json:"gender"`
	City      string `json:"city"`
	Province  string `json:"province"`
	Country   string `json:"country"`
	AvatarURL string `json:"avatarUrl"`
	Language  string `json:"language"`
	base
}

// PhoneInfo is the payload of the getPhoneNumber button's encryptedData.
type PhoneInfo struct {
	PhoneNumber     string `json:"phoneNumber"`
	PurePhoneNumber string `json:"purePhoneNumber"`
	CountryCode     string `json:"countryCode"`
	base
}

// WeRun is the payload of wx.getWeRunData: steps of the last 30 days.
type WeRun struct {
	StepInfoList []Step `json:"stepInfoList"`
	base
}

// Step is one day of WeRun data.
type Step struct {
	Timestamp int64 `json:"timestamp"` // midnight of the day, Unix seconds
	Step      int   `json:"step"`
}

// ShareInfo is the payload of wx.getShareInfo / group-enter info.
type ShareInfo struct {
	OpenGID string `json:"openGId"`
	base
}

// Any is a payload of any kind: only the watermark is typed.
type Any struct{ base }

// Opener decrypts payloads for one app and checks their watermark.
type Opener struct {
	AppID  string           // the watermark's appid must equal it
	MaxAge time.Duration    // how old (or how far ahead) the watermark may be; 0 disables the check
	Now    func() time.Time // nil means time.Now
}

// Open decrypts encryptedData into p and checks the watermark. On failure it
// returns ErrInvalid and, for server logs only, the reason.
func (o Opener) Open(sessionKey, encryptedData, iv string, p Payload) (reason string, err error) {
	plain, reason, err := Decrypt(sessionKey, encryptedData, iv)
	if err != nil {
		return reason, err
	}
	if json.Unmarshal(plain, p) != nil {
		return ReasonJSON, ErrInvalid
	}
	p.setRaw(plain)
	w := p.watermark()
	if w.AppID != o.AppID {
		return ReasonAppID, ErrInvalid
	}
	if o.MaxAge > 0 {
		now := time.Now
		if o.Now != nil {
			now = o.Now
		}
		age := now().Sub(time.Unix(w.Timestamp, 0))
		if age > o.MaxAge || age < -o.MaxAge {
			return ReasonStale, ErrInvalid
		}
	}
	return "", nil
}

// WithoutWatermark returns the JSON object raw with its watermark removed:
// the form the server hands decrypted data to clients in.
func WithoutWatermark(raw json.RawMessage) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	delete(m, "watermark")
	return json.Marshal(m)
}
