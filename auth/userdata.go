package auth

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

// Encrypted is an encrypted payload from the client. LoginCode, when set, is
// a fresh wx.login code: it is exchanged first and its session_key kept for
// this session, because the wx.login that produced it rotated the old key.
type Encrypted struct {
	EncryptedData string
	IV            string
	LoginCode     string
}

// Decrypt kinds.
const (
	KindWeRun = "werun"
	KindShare = "share"
)

// msgInvalidEncrypted is the one message of every decrypt failure, whatever
// its cause: bad base64, padding, JSON, watermark, a stale timestamp, or an
// openId inside that is not the caller's. If causes could be told apart a
// client could use the server as a padding oracle and forge a payload.
const msgInvalidEncrypted = "the encrypted data could not be decrypted with this session's key; " +
	"get fresh data from WeChat and send a login_code from a new wx.login with it"

func errInvalidEncrypted() error {
	return wxlogin.Errorf(wxlogin.EInvalidEncryptedData, msgInvalidEncrypted)
}

// anonymousNickname is what getUserProfile gives on base library 2.27.1 and
// later instead of the user's nickname (WECHAT.md).
const anonymousNickname = "微信用户"

// SaveUserInfo verifies rawData's signature, decrypts the user info, stores
// it on the user and returns it without its watermark. Errors:
// EInvalidSignature, EInvalidEncryptedData (one message for every cause),
// EInvalidCode (bad LoginCode), ERateLimited.
func (s *Service) SaveUserInfo(ctx context.Context, p wxlogin.Principal, rawData, signature string, e Encrypted) (json.RawMessage, error) {
	if err := required("rawData", rawData, "signature", signature, "encryptedData", e.EncryptedData, "iv", e.IV); err != nil {
		return nil, err
	}
	app, key, err := s.openSession(ctx, p, e.LoginCode)
	if err != nil {
		return nil, err
	}
	if !wxcrypt.VerifySignature(rawData, key, signature) {
		s.log.InfoContext(ctx, "auth: user info signature mismatch", "session_id", p.SessionID)
		return nil, wxlogin.Errorf(wxlogin.EInvalidSignature,
			"the signature does not match rawData under this session's key; send a login_code from a new wx.login with the data")
	}
	var info wxcrypt.UserInfo
	if err := s.open(ctx, p, app, key, e, &info); err != nil {
		return nil, err
	}
	clean, err := wxcrypt.WithoutWatermark(info.Raw)
	if err != nil { // unreachable: Open parsed it as an object
		return nil, errInvalidEncrypted()
	}
	anonymous := info.NickName == anonymousNickname
	_, err = s.updateUser(ctx, p.UserID, func(u *wxlogin.User) error {
		// An anonymised profile from a recent getUserProfile carries no
		// information: it must not replace what the user really shared
		// earlier. (The filled-in Profile is never touched here.)
		if anonymous && len(u.UserInfo) > 0 && !isAnonymous(u.UserInfo) {
			return nil
		}
		u.UserInfo = clean
		u.UpdatedAt = s.now()
		return nil
	})
	if err != nil {
		return nil, s.userErr(err)
	}
	return clean, nil
}

// isAnonymous reports whether stored user info is the anonymised profile.
func isAnonymous(raw json.RawMessage) bool {
	var v struct {
		NickName string `json:"nickName"`
	}
	return json.Unmarshal(raw, &v) == nil && v.NickName == anonymousNickname
}

// SavePhone stores the user's phone number, from a phone code (preferred:
// traded at getuserphonenumber) or from legacy encrypted data.
func (s *Service) SavePhone(ctx context.Context, p wxlogin.Principal, phoneCode string, e Encrypted) (wxlogin.Phone, error) {
	var phone wxlogin.Phone
	switch {
	case phoneCode != "":
		if err := checkCode("code", phoneCode); err != nil {
			return phone, err
		}
		app, err := s.principalApp(p)
		if err != nil {
			return phone, err
		}
		if app.WeComUsers() {
			return phone, wxlogin.Errorf(wxlogin.EInvalidRequest, "phone codes are WeChat's: WeCom has no getuserphonenumber for a WeCom app")
		}
		if err := s.limitDecrypt(ctx, p); err != nil {
			return phone, err
		}
		info, err := s.wechat.PhoneNumber(ctx, app, phoneCode, p.OpenID)
		if err != nil {
			return phone, s.upstreamErr(ctx, app, "getuserphonenumber", err,
				"the phone code is invalid, expired or already used (or it is a wx.login code); get a new one from the getPhoneNumber button")
		}
		if info == nil || info.PhoneNumber == "" {
			return phone, wxlogin.Errorf(wxlogin.EUpstreamRejected, "WeChat gave an incomplete answer")
		}
		phone = wxlogin.Phone{PhoneNumber: info.PhoneNumber, PurePhoneNumber: info.PurePhoneNumber, CountryCode: info.CountryCode}
	case e.EncryptedData != "" || e.IV != "":
		if err := required("encryptedData", e.EncryptedData, "iv", e.IV); err != nil {
			return phone, err
		}
		app, key, err := s.openSession(ctx, p, e.LoginCode)
		if err != nil {
			return phone, err
		}
		var info wxcrypt.PhoneInfo
		if err := s.open(ctx, p, app, key, e, &info); err != nil {
			return phone, err
		}
		phone = wxlogin.Phone{PhoneNumber: info.PhoneNumber, PurePhoneNumber: info.PurePhoneNumber, CountryCode: info.CountryCode}
	default:
		return phone, wxlogin.Errorf(wxlogin.EInvalidRequest, "send either code (from the getPhoneNumber button) or encryptedData and iv")
	}
	// Every number bound is an event, the same number bound again too: the
	// user confirmed it once more. The number itself is not in the event.
	bound := s.deliveries(wxlogin.Event{Type: wxlogin.EventPhoneBound, AppID: p.AppID, UserID: p.UserID,
		OpenID: p.OpenID, UnionID: p.UnionID, By: byUser})
	_, err := s.updateUserWith(ctx, p.UserID, func(u *wxlogin.User) error {
		u.Phone = &phone
		u.UpdatedAt = s.now()
		return nil
	}, bound)
	if err != nil {
		return wxlogin.Phone{}, s.userErr(err)
	}
	return phone, nil
}

// Decrypt decrypts WeRun or share info and returns it without its watermark.
func (s *Service) Decrypt(ctx context.Context, p wxlogin.Principal, kind string, e Encrypted) (json.RawMessage, error) {
	var payload wxcrypt.Payload
	switch kind {
	case KindWeRun:
		payload = new(wxcrypt.WeRun)
	case KindShare:
		payload = new(wxcrypt.ShareInfo)
	default:
		return nil, wxlogin.Errorf(wxlogin.EInvalidRequest, "kind must be %q or %q", KindWeRun, KindShare)
	}
	if err := required("encryptedData", e.EncryptedData, "iv", e.IV); err != nil {
		return nil, err
	}
	app, key, err := s.openSession(ctx, p, e.LoginCode)
	if err != nil {
		return nil, err
	}
	if err := s.open(ctx, p, app, key, e, payload); err != nil {
		return nil, err
	}
	if !payloadIsKind(kind, payload) {
		// Answered like any decrypt failure: the client learns nothing it
		// could not learn from its own plaintext, and the reason is logged.
		s.log.InfoContext(ctx, "auth: decrypt failed", "session_id", p.SessionID,
			"reason", "payload is not of the kind requested", "kind", kind)
		return nil, errInvalidEncrypted()
	}
	var raw json.RawMessage
	switch v := payload.(type) {
	case *wxcrypt.WeRun:
		raw = v.Raw
	case *wxcrypt.ShareInfo:
		raw = v.Raw
	}
	clean, err := wxcrypt.WithoutWatermark(raw)
	if err != nil { // unreachable: Open parsed it as an object
		return nil, errInvalidEncrypted()
	}
	return clean, nil
}

// payloadIsKind reports whether a decrypted payload is of the kind the
// client named, by the fields that kind always carries: WeRun data has a
// stepInfoList array, share (and group-enter) info a non-empty openGId. Any
// payload of the app opens under the session's key, so without this a
// WeRun payload sent as share, or user info sent as either, would be
// handed back as if it were the other kind.
func payloadIsKind(kind string, payload wxcrypt.Payload) bool {
	var fields struct {
		StepInfoList json.RawMessage `json:"stepInfoList"`
		OpenGID      json.RawMessage `json:"openGId"`
	}
	var raw json.RawMessage
	switch v := payload.(type) {
	case *wxcrypt.WeRun:
		raw = v.Raw
	case *wxcrypt.ShareInfo:
		raw = v.Raw
	default:
		return false
	}
	if json.Unmarshal(raw, &fields) != nil { // parsed once already
		return false
	}
	isArray := len(fields.StepInfoList) > 0 && fields.StepInfoList[0] == '['
	var gid string
	isShare := json.Unmarshal(fields.OpenGID, &gid) == nil && gid != ""
	switch kind {
	case KindWeRun:
		return isArray && !isShare
	case KindShare:
		return isShare && !isArray
	}
	return false
}

// openSession takes a decrypt attempt from the session's bucket and returns
// the session_key to decrypt with: the one a fresh loginCode trades for
// (kept on the session for later requests, because the wx.login that made
// the code rotated the old key), or else the one sealed on the session.
func (s *Service) openSession(ctx context.Context, p wxlogin.Principal, loginCode string) (wxlogin.App, string, error) {
	app, err := s.principalApp(p)
	if err != nil {
		return app, "", err
	}
	if loginCode != "" {
		if err := checkCode("login_code", loginCode); err != nil {
			return app, "", err
		}
	}
	if err := s.limitDecrypt(ctx, p); err != nil {
		return app, "", err
	}
	if loginCode != "" {
		// The requester here is the session (these calls carry no client
		// address): a retry of this call on the same session shares the
		// exchange, anyone else's use of the code does not.
		ws, _, err := s.exchange(ctx, app, loginCode, Client{IP: "session " + p.SessionID})
		if err != nil {
			return app, "", err
		}
		if ws.OpenID != principalKey(p) {
			s.log.WarnContext(ctx, "auth: login_code of another user", "session_id", p.SessionID)
			return app, "", wxlogin.Errorf(wxlogin.EInvalidRequest, "login_code belongs to another user than this session's")
		}
		if err := s.sessions.SetSessionKey(ctx, p.SessionID, s.live().keys.Seal([]byte(ws.SessionKey.Reveal()))); err != nil {
			if errors.Is(err, wxlogin.ErrNotFound) {
				return app, "", errSessionInvalid()
			}
			return app, "", s.storeFailed(err)
		}
		return app, ws.SessionKey.Reveal(), nil
	}
	sess, err := s.sessions.Session(ctx, p.SessionID)
	if errors.Is(err, wxlogin.ErrNotFound) {
		return app, "", errSessionInvalid()
	}
	if err != nil {
		return app, "", s.storeFailed(err)
	}
	key, err := s.live().keys.Open(sess.SealedSessionKey)
	if err != nil {
		// A master key missing from the keyring, or a corrupt row: ours to
		// fix, not the client's.
		s.log.ErrorContext(ctx, "auth: cannot open the session's sealed session_key", "session_id", p.SessionID, "err", err)
		return app, "", wxlogin.Wrap(err, wxlogin.EInternal, "the session's key could not be opened")
	}
	return app, string(key), nil
}

// open decrypts into payload and checks that an openId or unionId inside
// is the caller's. Every failure is the same errInvalidEncrypted; the
// reason goes to the server log only, at INFO: a client can cause it at
// will, so it is not a server problem.
func (s *Service) open(ctx context.Context, p wxlogin.Principal, app wxlogin.App, key string, e Encrypted, payload wxcrypt.Payload) error {
	o := wxcrypt.Opener{AppID: app.AppID, MaxAge: s.maxAge, Now: s.now}
	reason, err := o.Open(key, e.EncryptedData, e.IV, payload)
	if err == nil {
		reason, err = checkIdentity(p, payload)
	}
	if err != nil {
		s.log.InfoContext(ctx, "auth: decrypt failed", "session_id", p.SessionID, "reason", reason)
		s.metrics.DecryptFailure(decryptReasonLabel(reason))
		return errInvalidEncrypted()
	}
	return nil
}

// Reasons checkIdentity refuses a payload with, for the log.
const (
	reasonOpenID  = "openId inside is not the session's"
	reasonUnionID = "unionId inside is not the session's"
)

// checkIdentity refuses a payload whose openId or unionId, when it carries
// one, is not the principal's. User info has them typed; for the other
// kinds the raw JSON is read, since WeChat adds fields over time.
func checkIdentity(p wxlogin.Principal, payload wxcrypt.Payload) (string, error) {
	var id struct {
		OpenID  string `json:"openId"`
		UnionID string `json:"unionId"`
	}
	switch v := payload.(type) {
	case *wxcrypt.UserInfo:
		id.OpenID, id.UnionID = v.OpenID, v.UnionID
	case *wxcrypt.WeRun:
		json.Unmarshal(v.Raw, &id) // parsed once already: cannot fail
	case *wxcrypt.ShareInfo:
		json.Unmarshal(v.Raw, &id)
	case *wxcrypt.PhoneInfo:
		json.Unmarshal(v.Raw, &id)
	}
	switch {
	case id.OpenID != "" && id.OpenID != p.OpenID:
		return reasonOpenID, wxcrypt.ErrInvalid
	case id.UnionID != "" && id.UnionID != p.UnionID:
		return reasonUnionID, wxcrypt.ErrInvalid
	}
	return "", nil
}

func (s *Service) limitDecrypt(ctx context.Context, p wxlogin.Principal) error {
	if ok, wait := s.live().decryptPerSession.allow(ctx, p.SessionID, s.now()); !ok {
		return rateLimited("too many decrypt attempts for this session", wait)
	}
	return nil
}

// principalApp returns the app of a verified principal.
// principalKey is the stored key of p's user: the openid, or the WeComKey.
func principalKey(p wxlogin.Principal) string {
	if p.CorpID != "" {
		return wxlogin.WeComKey(p.CorpID, p.WeComUserID)
	}
	return p.OpenID
}

func (s *Service) principalApp(p wxlogin.Principal) (wxlogin.App, error) {
	app, ok := s.live().appByID[p.AppID]
	if !ok {
		// The app was removed from the configuration after this login.
		return app, errSessionInvalid()
	}
	return app, nil
}

// required returns EInvalidRequest naming the first empty field of
// name/value pairs.
func required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return wxlogin.Errorf(wxlogin.EInvalidRequest, "%s is required", pairs[i])
		}
	}
	return nil
}

// userErr maps a user store error for a principal's user: a user erased
// while a request was under way means its session is gone too.
func (s *Service) userErr(err error) error {
	if errors.Is(err, wxlogin.ErrNotFound) {
		return errSessionInvalid()
	}
	return s.storeFailed(err)
}
