package wxlogin

import (
	"encoding/json"
	"time"
)

// User is one WeChat user of one mini program: exactly one per (AppID, OpenID).
// The UnionID, when WeChat gives one, links the same person across apps.
type User struct {
	ID        string
	AppID     string
	OpenID    string
	UnionID   string // "" when unknown
	CreatedAt time.Time
	UpdatedAt time.Time

	// UserInfo is the decrypted user info of the classic flow
	// (getUserInfo / getUserProfile), WeChat's field names, no watermark.
	UserInfo json.RawMessage
	// Phone is the user's phone number once the client sent one.
	Phone *Phone
	// Profile is what the user filled in with the avatar/nickname components.
	Profile Profile
	// OpenUserID is, for a user of a WeCom suite app (KindWeComSuite), the
	// member's open_userid: the service provider's own id of the member,
	// the same across the provider's apps in one corp. "" otherwise. It
	// travels in Sealed like UserInfo and Phone, so stores keep it
	// without a column of its own.
	OpenUserID string

	// Sealed is UserInfo and Phone (and OpenUserID) sealed together under the server's master
	// keys, as the auth service stores them: a store keeps these bytes as
	// they are, never looks inside, and gives them back on every read. auth
	// hands out users with Sealed opened into UserInfo and Phone; a store may
	// still hold UserInfo and Phone in clear in rows written before sealing,
	// until auth seals them (UserStore.ResealUsers).
	Sealed []byte
}

// Phone is a phone number as WeChat gives it.
type Phone struct {
	PhoneNumber     string `json:"phoneNumber"`
	PurePhoneNumber string `json:"purePhoneNumber"`
	CountryCode     string `json:"countryCode"`
}

// Profile is the profile a user filled in (nickname input, chooseAvatar).
type Profile struct {
	Nickname  string
	AvatarID  string // blob id of the avatar; "" when none
	UpdatedAt time.Time
}

// UserFilter selects users; empty fields match anything.
type UserFilter struct {
	AppID   string
	OpenID  string
	UnionID string
	Limit   int // 0 means the store's default (100)
}
