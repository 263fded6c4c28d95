package wxcrypt

import (
	"bytes"
	"encoding/json"
	"errors"
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

// Envelope is what every payload type carries besides its own fields: the
// watermark, and the whole plaintext in Raw. It is exported so that other
// packages (the emulator, tests) can build payloads in one literal.
type Envelope struct {
	Watermark Watermark       `json:"watermark"`
	Raw       json.RawMessage `json:"-"`
}

func (e *Envelope) watermark() Watermark       { return e.Watermark }
func (e *Envelope) setRaw(raw json.RawMessage) { e.Raw = raw }

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
	Envelope
}

// PhoneInfo is the payload of the getPhoneNumber button's encryptedData.
type PhoneInfo struct {
	PhoneNumber     string `json:"phoneNumber"`
	PurePhoneNumber string `json:"purePhoneNumber"`
	CountryCode     string `json:"countryCode"`
	Envelope
}

// WeRun is the payload of wx.getWeRunData: steps of the last 30 days.
type WeRun struct {
	StepInfoList []Step `json:"stepInfoList"`
	Envelope
}

// Step is one day of WeRun data.
type Step struct {
	Timestamp int64 `json:"timestamp"` // midnight of the day, Unix seconds
	Step      int   `json:"step"`
}

// ShareInfo is the payload of wx.getShareInfo / group-enter info.
type ShareInfo struct {
	OpenGID string `json:"openGId"`
	Envelope
}

// Any is a payload of any kind: only the watermark is typed.
type Any struct{ Envelope }

// Opener decrypts payloads for one app and checks their watermark.
type Opener struct {
	AppID  string           // the watermark's appid must equal it; "" opens nothing
	MaxAge time.Duration    // how old (or how far ahead) the watermark may be; 0 or less disables the check
	Now    func() time.Time // nil means time.Now
}

// Open decrypts encryptedData into p and checks the watermark. On failure it
// returns ErrInvalid and, for server logs only, the reason; p may then hold
// part of the payload and must not be used.
func (o Opener) Open(sessionKey, encryptedData, iv string, p Payload) (reason string, err error) {
	plain, blocks, reason := decrypt(sessionKey, encryptedData, iv)
	if reason == ReasonPadding {
		// The padding-oracle attacker changes the next-to-last block and
		// watches whether the answer is "bad padding" or "bad JSON". The
		// bodies are identical; make the times alike too, by parsing the
		// blocks as a plaintext with one byte of padding would have been
		// parsed (the attacker's winning guess): JSON's scan stops at the
		// same garbled block either way.
		var sink Any
		_ = json.Unmarshal(blocks[:len(blocks)-1], &sink)
		return reason, ErrInvalid
	}
	if reason != "" {
		return reason, ErrInvalid
	}
	if json.Unmarshal(plain, p) != nil {
		return ReasonJSON, ErrInvalid
	}
	p.setRaw(plain)
	w := p.watermark()
	// An empty appid on either side is no match: a payload without a
	// watermark, or an Opener left unconfigured, must not open anything.
	if w.AppID == "" || w.AppID != o.AppID {
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

// WithoutWatermark returns the JSON object raw with its watermark member (every
// one, should the key repeat) removed: the form the server hands decrypted data
// to clients in. The other members keep their order and their exact bytes, so
// nothing is re-escaped (an avatarUrl's '&' stays '&'). raw must be a JSON
// object.
func WithoutWatermark(raw json.RawMessage) (json.RawMessage, error) {
	if !json.Valid(raw) {
		return nil, errors.New("wxcrypt: without watermark: not valid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("wxcrypt: without watermark: not a JSON object")
	}
	out := make([]byte, 0, len(raw))
	out = append(out, '{')
	for dec.More() {
		// The key's own bytes, as sent, lie between the end of the previous
		// value (or the '{') and the end of the key token, behind a comma
		// and whitespace.
		start := dec.InputOffset()
		key, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keyText := bytes.TrimLeft(raw[start:dec.InputOffset()], " \t\r\n,")
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		if key == "watermark" {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, keyText...)
		out = append(out, ':')
		out = append(out, value...)
	}
	return append(out, '}'), nil
}
