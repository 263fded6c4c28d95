package wechat

import (
	"strconv"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Session is code2Session's answer. SessionKey is a Secret: it prints as
// [redacted] everywhere.
type Session struct {
	OpenID     string
	UnionID    string // "" unless the app is bound to an Open Platform account
	SessionKey wxlogin.Secret
	// OpenUserID is a WeCom suite member's open_userid (the member's id
	// across the provider's apps); "" for every other kind of app.
	OpenUserID string
}

// PhoneInfo is getuserphonenumber's phone_info.
type PhoneInfo struct {
	PhoneNumber     string    `json:"phoneNumber"`
	PurePhoneNumber string    `json:"purePhoneNumber"`
	CountryCode     string    `json:"countryCode"`
	Watermark       Watermark `json:"watermark"`
}

// Watermark stamps WeChat's phone_info like its encrypted payloads.
type Watermark struct {
	AppID     string `json:"appid"`
	Timestamp int64  `json:"timestamp"`
}

// Token is an access token and when it stops being usable.
type Token struct {
	Value     wxlogin.Secret
	ExpiresAt time.Time
}

// Error is an error answer from WeChat: {"errcode": N, "errmsg": "..."}.
// API names the call (e.g. "jscode2session"). ErrMsg is WeChat's own text,
// which never contains our secrets.
type Error struct {
	API     string
	ErrCode int
	ErrMsg  string
}

func (e *Error) Error() string {
	return "wechat " + e.API + ": errcode " + strconv.Itoa(e.ErrCode) + ": " + e.ErrMsg
}

// Kind classifies a failed call for the server to act on.
type Kind int

const (
	KindNone          Kind = iota // not an error
	KindOther                     // an errcode with no special handling
	KindCodeInvalid               // 40029, 40163: get a new code from the client
	KindBlocked                   // 40226: high-risk user, refuse login
	KindQuota                     // 45011, 45009: do not retry now
	KindBusy                      // -1: retry with backoff
	KindToken                     // 40001, 40014, 42001: access token invalid
	KindConfig                    // 40013, 40125: our appid or secret is wrong
	KindSignature                 // 87009: session_key no longer valid
	KindUnavailable               // transport error, timeout, HTTP 5xx, unreadable body
	KindInvalidAnswer             // a success WeChat cannot have sent (see InvalidAnswerError)
)
