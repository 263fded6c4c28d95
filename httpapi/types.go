package httpapi

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

// Request bodies. wxlogin's own fields are snake_case; the fields a mini
// program copies from a WeChat callback keep WeChat's names (rawData,
// encryptedData, iv), so clients can pass e.detail through unchanged.

// Field limits: far above anything WeChat produces, low enough that nothing
// huge reaches WeChat or the store.
const (
	maxCodeLen      = 256
	maxAppIDLen     = 64
	maxEncryptedLen = 32 << 10
	maxIVLen        = 64
	maxRawDataLen   = 16 << 10
	maxSignatureLen = 128
	maxNicknameLen  = 1024 // auth enforces the real rule; this only bounds the input
)

type loginRequest struct {
	Code  string `json:"code"`
	AppID string `json:"appid"`
}

func (q *loginRequest) validate() error {
	switch {
	case q.Code == "":
		return missing("code")
	case len(q.Code) > maxCodeLen:
		return tooLong("code", maxCodeLen)
	case len(q.AppID) > maxAppIDLen:
		return tooLong("appid", maxAppIDLen)
	}
	return nil
}

// encryptedFields are the parts of a WeChat open-data payload.
type encryptedFields struct {
	EncryptedData string `json:"encryptedData"`
	IV            string `json:"iv"`
	LoginCode     string `json:"login_code"`
}

func (e *encryptedFields) validate() error {
	switch {
	case e.EncryptedData == "":
		return missing("encryptedData")
	case len(e.EncryptedData) > maxEncryptedLen:
		return tooLong("encryptedData", maxEncryptedLen)
	case e.IV == "":
		return missing("iv")
	case len(e.IV) > maxIVLen:
		return tooLong("iv", maxIVLen)
	case len(e.LoginCode) > maxCodeLen:
		return tooLong("login_code", maxCodeLen)
	}
	return nil
}

func (e *encryptedFields) encrypted() auth.Encrypted {
	return auth.Encrypted{EncryptedData: e.EncryptedData, IV: e.IV, LoginCode: e.LoginCode}
}

type userInfoRequest struct {
	RawData   string `json:"rawData"`
	Signature string `json:"signature"`
	encryptedFields
}

func (q *userInfoRequest) validate() error {
	switch {
	case q.RawData == "":
		return missing("rawData")
	case len(q.RawData) > maxRawDataLen:
		return tooLong("rawData", maxRawDataLen)
	case q.Signature == "":
		return missing("signature")
	case len(q.Signature) > maxSignatureLen:
		return tooLong("signature", maxSignatureLen)
	}
	return q.encryptedFields.validate()
}

// phoneRequest is either the phone code of base library 2.21.2+ (WeChat's
// own name, "code") or the legacy encrypted payload.
type phoneRequest struct {
	Code string `json:"code"`
	encryptedFields
}

func (q *phoneRequest) validate() error {
	if q.Code != "" {
		if len(q.Code) > maxCodeLen {
			return tooLong("code", maxCodeLen)
		}
		return nil
	}
	if q.EncryptedData == "" && q.IV == "" {
		return wxlogin.Errorf(wxlogin.EInvalidRequest, `field "code" is required (or "encryptedData" and "iv" for the legacy flow)`)
	}
	return q.encryptedFields.validate()
}

type decryptRequest struct {
	Kind string `json:"kind"`
	encryptedFields
}

func (q *decryptRequest) validate() error {
	switch q.Kind {
	case "":
		return missing("kind")
	case auth.KindWeRun, auth.KindShare:
	default:
		return wxlogin.Errorf(wxlogin.EInvalidRequest, `field "kind" must be %q or %q`, auth.KindWeRun, auth.KindShare)
	}
	return q.encryptedFields.validate()
}

type profileRequest struct {
	// A pointer tells a missing nickname (an error) from an empty one
	// (which auth judges).
	Nickname *string `json:"nickname"`
}

func (q *profileRequest) validate() error {
	switch {
	case q.Nickname == nil:
		return missing("nickname")
	case len(*q.Nickname) > maxNicknameLen:
		return tooLong("nickname", maxNicknameLen)
	}
	return nil
}

type clockRequest struct {
	Advance string `json:"advance"`
	d       time.Duration
}

func (q *clockRequest) validate() error {
	if q.Advance == "" {
		return missing("advance")
	}
	d, err := time.ParseDuration(q.Advance)
	if err != nil || d <= 0 {
		return wxlogin.Errorf(wxlogin.EInvalidRequest, `field "advance" must be a positive Go duration such as "25h" or "90s"`)
	}
	q.d = d
	return nil
}

// Response bodies.

// userJSON is the user of the HTTP contract: {id, appid, openid, unionid?,
// created_at, created?}; a user of a WeCom app has corpid and userid
// instead of openid.
type userJSON struct {
	ID      string `json:"id"`
	AppID   string `json:"appid"`
	OpenID  string `json:"openid,omitempty"`
	CorpID  string `json:"corpid,omitempty"`
	UserID  string `json:"userid,omitempty"`
	UnionID string `json:"unionid,omitempty"`
	// OpenUserID is a WeCom suite member's open_userid.
	OpenUserID string    `json:"open_userid,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	Created    *bool     `json:"created,omitempty"` // only on login
}

// toUser is u as the API shows it; weCom reports whether u's app is a
// WeCom app, whose users are stored under a WeComKey.
func toUser(u wxlogin.User, weCom bool) userJSON {
	j := userJSON{ID: u.ID, AppID: u.AppID, OpenID: u.OpenID, UnionID: u.UnionID, OpenUserID: u.OpenUserID, CreatedAt: u.CreatedAt.UTC()}
	if weCom {
		j.CorpID, j.UserID, _ = wxlogin.SplitWeComKey(u.OpenID)
		j.OpenID = ""
	}
	return j
}

// meJSON is the user with everything stored about them (GET /v1/me, the
// profile routes and the admin lookups).
type meJSON struct {
	userJSON
	UpdatedAt time.Time       `json:"updated_at"`
	Profile   profileJSON     `json:"profile"`
	UserInfo  json.RawMessage `json:"user_info,omitempty"`
	Phone     *wxlogin.Phone  `json:"phone,omitempty"`
	// AccountID: GET /v1/me and the admin lookups. Identities: GET /v1/me
	// only.
	AccountID  string         `json:"account_id,omitempty"`
	Identities []identityJSON `json:"identities,omitempty"`
}

// identityJSON is one user of an account (GET /v1/me).
type identityJSON struct {
	UserID string `json:"user_id"`
	AppID  string `json:"appid"`
	Kind   string `json:"kind"`
	OpenID string `json:"openid"`
}

type profileJSON struct {
	Nickname  string     `json:"nickname"`
	AvatarURL *string    `json:"avatar_url"` // null when none
	Source    string     `json:"source"`     // filled_in, user_info, mixed or none
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// avatarPath is where GET /v1/avatars/{id} serves an avatar: a path
// without host, so it works behind any host the client already uses, and
// starting with the Server's PathPrefix, under which an embedding program
// mounts the API.
func avatarPath(prefix, id string) string { return prefix + "/v1/avatars/" + id }

// toMe is the user as the API shows them; prefix is the Server's
// PathPrefix, which the avatar's URL starts with.
func toMe(u wxlogin.User, prefix string, weCom bool) meJSON {
	me := meJSON{userJSON: toUser(u, weCom), UpdatedAt: u.UpdatedAt.UTC(), Phone: u.Phone}
	me.Profile = displayProfile(u, prefix)
	if !u.Profile.UpdatedAt.IsZero() {
		t := u.Profile.UpdatedAt.UTC()
		me.Profile.UpdatedAt = &t
	}
	if len(u.UserInfo) > 0 && json.Valid(u.UserInfo) {
		me.UserInfo = u.UserInfo
	}
	return me
}

// displayProfile is what to show for a user. What the user filled in wins;
// a field they left empty falls back to classic user info, so a 2018-style
// mini program that only ever sent getUserInfo still gets a profile, unless
// that info is WeChat's anonymised "微信用户", which names nobody.
func displayProfile(u wxlogin.User, prefix string) profileJSON {
	var p profileJSON
	var classic struct {
		NickName  string `json:"nickName"`
		AvatarURL string `json:"avatarUrl"`
	}
	if len(u.UserInfo) > 0 && json.Unmarshal(u.UserInfo, &classic) == nil && classic.NickName == anonymousNickname {
		classic.NickName, classic.AvatarURL = "", "" // the grey default avatar is no one's either
	}
	var filled, fallback bool
	switch {
	case u.Profile.Nickname != "":
		p.Nickname, filled = u.Profile.Nickname, true
	case classic.NickName != "":
		p.Nickname, fallback = classic.NickName, true
	}
	switch {
	case u.Profile.AvatarID != "":
		url := avatarPath(prefix, u.Profile.AvatarID)
		p.AvatarURL, filled = &url, true
	case classic.AvatarURL != "":
		p.AvatarURL, fallback = &classic.AvatarURL, true
	}
	switch {
	case filled && fallback:
		p.Source = "mixed"
	case filled:
		p.Source = "filled_in"
	case fallback:
		p.Source = "user_info"
	default:
		p.Source = "none"
	}
	return p
}

// anonymousNickname is the nickname of WeChat's anonymised profile
// (getUserProfile since base library 2.27.1).
const anonymousNickname = "微信用户"

type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      userJSON  `json:"user"`
	// SessionPolicy is the app's: under "wechat" the SDK hands every
	// wx.login code it takes to POST /v1/session/code at once.
	SessionPolicy string `json:"session_policy"`
}

type sessionResponse struct {
	User          userJSON  `json:"user"`
	ExpiresAt     time.Time `json:"expires_at"`
	SessionPolicy string    `json:"session_policy"`
}

// sessionCodeRequest hands a fresh wx.login code to the current session.
type sessionCodeRequest struct {
	Code string `json:"code"`
}

func (q *sessionCodeRequest) validate() error {
	switch {
	case q.Code == "":
		return missing("code")
	case len(q.Code) > maxCodeLen:
		return tooLong("code", maxCodeLen)
	}
	return nil
}

type sessionJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current"`
}

type sessionsResponse struct {
	Sessions []sessionJSON `json:"sessions"`
}

func toSessions(in []auth.SessionInfo) sessionsResponse {
	out := sessionsResponse{Sessions: make([]sessionJSON, 0, len(in))}
	for _, s := range in {
		out.Sessions = append(out.Sessions, sessionJSON{
			ID: s.ID, CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(), ExpiresAt: s.ExpiresAt.UTC(),
			UserAgent: s.UserAgent, IP: s.IP, Current: s.Current,
		})
	}
	return out
}

type usersResponse struct {
	Users []meJSON `json:"users"`
}

type userInfoResponse struct {
	UserInfo json.RawMessage `json:"user_info"`
}

type accessTokenResponse struct {
	AccessToken string    `json:"access_token"`
	ExpiresAt   time.Time `json:"expires_at"`
}

type rotateKeyResponse struct {
	Resealed int `json:"resealed"`
}

type clockResponse struct {
	Now string `json:"now"`
}

// cutUserAgent keeps the sessions list readable and the store row small.
func cutUserAgent(ua string) string {
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return strings.ToValidUTF8(ua, "")
}
