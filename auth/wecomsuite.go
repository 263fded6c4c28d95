package auth

import (
	"context"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
	"github.com/wxlogin/wxlogin/wecomcrypt"
)

// WeCom third-party (suite) apps: a service provider's mini program that
// many corps install. WeCom pushes the suite's suite_ticket to the
// callback route every 10 minutes; the WeComSuite client keeps the latest
// where every instance finds it and buys the suite_access_token with it;
// logins trade wx.qy.login codes with that token. Users are (corpid,
// userid) as in a WeCom app of one corp, under the same WeComKey.

// WeComSuite is what auth needs of WeCom's suite APIs; *wechat.Client
// implements it.
type WeComSuite interface {
	SuiteCode2Session(ctx context.Context, app wxlogin.App, code string) (*wechat.WeComSuiteSession, error)
	// PutSuiteTicket keeps the suite's latest suite_ticket, issued at
	// issued, unless a newer one is kept already.
	PutSuiteTicket(ctx context.Context, app wxlogin.App, ticket wxlogin.Secret, issued time.Time) error
}

// checkSuite checks what a suite app needs, and that no other kind carries
// suite settings. It returns the field at fault and the problem, or "".
func checkSuite(a wxlogin.App) (setting, problem string) {
	if !a.IsWeComSuite() {
		if a.Suite != nil {
			return "Suite", "is set for " + strconv.Quote(a.AppID) + ", which is not a wecom_suite app"
		}
		return "", ""
	}
	su := a.Suite
	switch {
	case su == nil || su.SuiteID == "":
		return "Suite.SuiteID", "is empty for the WeCom suite app " + strconv.Quote(a.AppID)
	case !idLike(su.SuiteID):
		return "Suite.SuiteID", "must be letters and digits, as WeCom's suite ids are"
	case su.Token.Reveal() == "":
		return "Suite.Token", "is empty: the callback's token signs every message WeCom pushes"
	case a.CorpID != "":
		return "CorpID", "is for wecom apps of one corp; a suite app names its corps in Suite.CorpIDs"
	}
	if _, err := wecomcrypt.ParseKey(su.EncodingAESKey.Reveal()); err != nil {
		return "Suite.EncodingAESKey", "must be the 43 characters WeCom shows (base64 of 32 bytes)"
	}
	for j, c := range su.CorpIDs {
		if !idLike(c) {
			return "Suite.CorpIDs[" + strconv.Itoa(j) + "]", "must be letters and digits, as WeCom's corpids are"
		}
	}
	return "", ""
}

// idLike reports whether s is 1 to 64 letters and digits: the form of
// WeCom's corpids and suite ids, which also appear in routes and keys.
func idLike(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// suiteCode2Session trades a wx.qy.login code of a suite app and gives the
// answer WeChat's shape: the member's WeComKey as the openid, no unionid
// (a WeCom member has none), and the open_userid, which the code exchange
// keeps beside them so that a login sharing the exchange gets it too.
func (s *Service) suiteCode2Session(ctx context.Context, app wxlogin.App, code string) (*wechat.Session, error) {
	if s.suite == nil { // New refuses a suite app without a client
		return nil, errors.New("auth: no WeCom suite client")
	}
	ws, err := s.suite.SuiteCode2Session(ctx, app, code)
	if err != nil {
		return nil, err
	}
	return &wechat.Session{OpenID: wxlogin.WeComKey(ws.CorpID, ws.UserID), OpenUserID: ws.OpenUserID, SessionKey: ws.SessionKey}, nil
}

// withOpenUserID seals a new suite member's open_userid into the user
// to be registered.
func (s *Service) withOpenUserID(u *wxlogin.User, openUserID string) error {
	if openUserID == "" {
		return nil
	}
	u.OpenUserID = openUserID
	return s.sealUser(u)
}

// keepOpenUserID records the open_userid WeCom gave for a member already
// registered when the user holds another one (or none): one write, only
// then.
func (s *Service) keepOpenUserID(ctx context.Context, user *wxlogin.User, openUserID string) {
	if openUserID == "" || user.OpenUserID == openUserID {
		return
	}
	u, err := s.updateUser(ctx, user.ID, func(u *wxlogin.User) error { u.OpenUserID = openUserID; return nil })
	if err != nil {
		// The login stands; the next one tries again.
		s.log.WarnContext(ctx, "auth: recording a WeCom member's open_userid failed", "user_id", user.ID, "err", err)
		return
	}
	user.OpenUserID = u.OpenUserID
}

// suiteCorpErr refuses a suite member whose corp is not on the app's
// allow-list, before anything is stored.
func (s *Service) suiteCorpErr(ctx context.Context, app wxlogin.App, ws wechat.Session) error {
	corp, _, _ := wxlogin.SplitWeComKey(ws.OpenID)
	if app.Suite.CorpAllowed(corp) {
		return nil
	}
	s.log.InfoContext(ctx, "auth: a WeCom suite code of a corp outside the app's corpids", "appid", app.AppID, "corpid", corp)
	return wxlogin.Errorf(wxlogin.EWrongCorp, "the code belongs to a member of a corp this app does not serve (not in its corpids)")
}

// noTicket reports whether err is a suite login's lack of a usable
// suite_ticket. Only failed logins pay for the errors.As target.
func noTicket(err error) bool {
	var nt *wechat.NoSuiteTicketError
	return errors.As(err, &nt)
}

// noSuiteTicket is the answer to a login before the suite's first
// suite_ticket arrived (or after WeCom refused the latest).
func noSuiteTicket(err error) error {
	return &wxlogin.Error{Code: wxlogin.EUpstreamUnavailable, RetryAfter: time.Minute, Err: err,
		Message: "no usable suite_ticket: WeCom has not pushed one to this suite's callback URL yet, or refused the latest (it pushes one every 10 minutes once the URL is verified); retry later"}
}

// SuiteCallbackQuery is what WeCom puts in the query of every callback.
type SuiteCallbackQuery struct {
	Signature string // msg_signature
	Timestamp string
	Nonce     string
}

// suiteApp finds the suite app of a callback.
func (s *Service) suiteApp(suiteID string) (wxlogin.App, error) {
	for _, a := range s.live().apps {
		if a.IsWeComSuite() && a.Suite.SuiteID == suiteID {
			return a, nil
		}
	}
	return wxlogin.App{}, wxlogin.Errorf(wxlogin.ENotFound, "no WeCom suite app is configured with this suite id")
}

// openCallback checks a callback's signature and opens its Encrypt for the
// app's suite.
func (s *Service) openCallback(ctx context.Context, app wxlogin.App, q SuiteCallbackQuery, encrypt string) ([]byte, error) {
	key, err := wecomcrypt.ParseKey(app.Suite.EncodingAESKey.Reveal())
	if err != nil { // Validate checked it
		return nil, wxlogin.Wrap(err, wxlogin.EInternal, "the suite's EncodingAESKey is unusable")
	}
	msg, err := wecomcrypt.Open(key, app.Suite.Token.Reveal(), app.Suite.SuiteID, q.Timestamp, q.Nonce, encrypt, q.Signature)
	switch {
	case errors.Is(err, wecomcrypt.ErrSignature):
		s.log.WarnContext(ctx, "auth: a WeCom suite callback with a wrong msg_signature", "appid", app.AppID)
		return nil, wxlogin.Errorf(wxlogin.EInvalidSignature, "msg_signature does not match: the request is not WeCom's for this suite, or the callback token differs")
	case err != nil:
		s.log.WarnContext(ctx, "auth: a signed WeCom suite callback that does not open", "appid", app.AppID, "err", err)
		return nil, wxlogin.Errorf(wxlogin.EInvalidRequest, "the callback message could not be opened for this suite")
	}
	return msg, nil
}

// SuiteVerifyURL answers WeCom's verification of the callback URL: the
// decrypted echostr, which WeCom expects back as the body.
func (s *Service) SuiteVerifyURL(ctx context.Context, suiteID string, q SuiteCallbackQuery, echostr string) ([]byte, error) {
	app, err := s.suiteApp(suiteID)
	if err != nil {
		return nil, err
	}
	if echostr == "" || q.Signature == "" {
		return nil, wxlogin.Errorf(wxlogin.EInvalidRequest, "msg_signature, timestamp, nonce and echostr are required")
	}
	plain, err := s.openCallback(ctx, app, q, echostr)
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "auth: WeCom verified the suite callback URL", "appid", app.AppID, "suite_id", suiteID)
	return plain, nil
}

// suiteMessage is the decrypted XML of a suite callback. suite_ticket is
// kept and cancel_auth ends the corp's sessions; create_auth and
// change_auth are logged, the other InfoTypes acknowledged and logged.
type suiteMessage struct {
	SuiteID     string `xml:"SuiteId"`
	InfoType    string `xml:"InfoType"`
	TimeStamp   string `xml:"TimeStamp"`
	SuiteTicket string `xml:"SuiteTicket"`
	AuthCorpID  string `xml:"AuthCorpId"` // cancel_auth, change_auth
}

// maxCancelAuthAge is how old a cancel_auth may be (by its TimeStamp) and
// still end the corp's sessions.
const maxCancelAuthAge = time.Hour

// maxTicketLen bounds a suite_ticket; WeCom's are 64 characters.
const maxTicketLen = 512

// SuiteCallback handles a message WeCom pushed to the suite's callback
// URL: a suite_ticket is kept for every instance; other messages are
// acknowledged. A message that fails a check changes nothing.
func (s *Service) SuiteCallback(ctx context.Context, suiteID string, q SuiteCallbackQuery, body []byte) error {
	app, err := s.suiteApp(suiteID)
	if err != nil {
		return err
	}
	env, err := wecomcrypt.ParseEnvelope(body)
	if err != nil {
		return wxlogin.Errorf(wxlogin.EInvalidRequest, "the body is not WeCom's callback XML with an Encrypt element")
	}
	plain, err := s.openCallback(ctx, app, q, env.Encrypt)
	if err != nil {
		return err
	}
	var m suiteMessage
	if err := xml.Unmarshal(plain, &m); err != nil {
		s.log.WarnContext(ctx, "auth: a WeCom suite callback whose message is not XML", "appid", app.AppID)
		return wxlogin.Errorf(wxlogin.EInvalidRequest, "the callback message could not be opened for this suite")
	}
	if m.SuiteID != "" && m.SuiteID != suiteID {
		s.log.WarnContext(ctx, "auth: a WeCom suite callback for another suite", "appid", app.AppID)
		return wxlogin.Errorf(wxlogin.EInvalidRequest, "the callback message is another suite's")
	}
	switch m.InfoType {
	case "suite_ticket":
	case "cancel_auth":
		corp := strings.TrimSpace(m.AuthCorpID)
		if !idLike(corp) {
			return wxlogin.Errorf(wxlogin.EInvalidRequest, "the cancel_auth message carries no usable AuthCorpId")
		}
		if ts, err := strconv.ParseInt(strings.TrimSpace(m.TimeStamp), 10, 64); err == nil && s.now().Sub(time.Unix(ts, 0)) > maxCancelAuthAge {
			// WeCom's retries of a push come within minutes; an old
			// cancel_auth is a replay of a captured push, which would
			// log out a corp that has installed the app again since.
			s.log.WarnContext(ctx, "auth: an old WeCom cancel_auth acknowledged and ignored (a replay?)", "appid", app.AppID, "corpid", corp, "timestamp", ts)
			return nil
		}
		// Answered "success" however the revocation goes: a failure is
		// ours (the store), WeCom's retry would come while it lasts, and
		// the push is not where our outage is reported; it is logged at
		// ERROR for the operator, who can end the sessions by the admin
		// API.
		s.endCorpSessions(ctx, app, corp)
		return nil
	case "create_auth":
		// A corp installed (or re-installed) the app: its members' next
		// wx.qy.login codes work; nothing to keep.
		s.log.InfoContext(ctx, "auth: a WeCom corp installed the suite app", "appid", app.AppID, "suite_id", suiteID)
		return nil
	default:
		s.log.InfoContext(ctx, "auth: WeCom suite callback acknowledged and ignored", "appid", app.AppID,
			"info_type", clip(m.InfoType, 64), "corpid", clip(m.AuthCorpID, 64))
		return nil
	}
	ticket := strings.TrimSpace(m.SuiteTicket)
	if ticket == "" || len(ticket) > maxTicketLen {
		return wxlogin.Errorf(wxlogin.EInvalidRequest, "the suite_ticket message carries no usable SuiteTicket")
	}
	issued := s.now()
	if ts, err := strconv.ParseInt(strings.TrimSpace(m.TimeStamp), 10, 64); err == nil && ts > 0 {
		// WeCom's own time of issue orders the tickets: a push delayed
		// or replayed carries an older one and cannot displace a newer
		// ticket (the cache keeps the later expiry). A time ahead of
		// ours is taken as ours, so a wrong clock cannot keep a ticket
		// alive beyond its life.
		if t := time.Unix(ts, 0); t.Before(issued) {
			issued = t
		}
	}
	if !s.now().Before(issued.Add(wechat.SuiteTicketLifetime)) {
		return wxlogin.Errorf(wxlogin.EInvalidRequest, "the suite_ticket is older than its 30 minutes")
	}
	if err := s.suite.PutSuiteTicket(ctx, app, wxlogin.Secret(ticket), issued); err != nil {
		return wxlogin.Wrap(err, wxlogin.EStoreUnavailable, "the suite_ticket could not be kept; WeCom pushes it again")
	}
	s.log.InfoContext(ctx, "auth: WeCom suite_ticket received", "appid", app.AppID, "suite_id", suiteID, "issued_at", issued)
	return nil
}
