package auth

// This file holds the web logins: an Official Account's pages inside
// WeChat (connect/oauth2/authorize, snsapi_base or snsapi_userinfo) and a
// website's QR code (connect/qrconnect, snsapi_login). Both send the
// browser to WeChat and back to the server's callback, which trades the
// code at sns/oauth2/access_token and starts a session like a mini program
// login. httpapi carries the state and the session in cookies.

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// WebWeChat is what the web logins need of WeChat beyond WeChat;
// *wechat.Client implements it.
type WebWeChat interface {
	WebAccessToken(ctx context.Context, app wxlogin.App, code string) (*wechat.WebToken, error)
	WebUserInfo(ctx context.Context, token wxlogin.Secret, openid string) (*wechat.WebUserInfo, error)
}

// WebStateLifetime is how long a started web login may take to come back:
// WeChat's code lives five minutes, the user may read the page first.
const WebStateLifetime = 10 * time.Minute

// WebStart is a web login under way: where to send the browser, and the
// value of the cookie that binds the login to this browser.
type WebStart struct {
	AuthorizeURL string
	// StateCookie is the login's record (app, page to return to, scope,
	// the state nonce, a deadline) sealed under the master keys: the
	// server keeps nothing, and only the browser that started the login
	// can finish it (WeChat's state parameter alone is readable by anyone
	// who sees the URL).
	StateCookie string
	MaxAge      time.Duration
}

// webState is what the state cookie seals.
type webState struct {
	Nonce    string `json:"n"`
	AppID    string `json:"a"`
	Redirect string `json:"r"`
	Scope    string `json:"s"`
	Callback string `json:"c"`
	Deadline int64  `json:"d"` // unix seconds
}

// stateLabel starts every sealed state, so that no other value sealed
// under the same keys (a session_key) can pass for one.
const stateLabel = "wxlogin web state v1\x00"

// scopes of each kind of web app; the first is the default.
func webScopes(k wxlogin.AppKind) []string {
	if k == wxlogin.KindWebsite {
		return []string{"snsapi_login"}
	}
	return []string{"snsapi_base", "snsapi_userinfo"}
}

// WebAuthorize starts a web login of app appid that returns to
// redirectURI, which must be one of the app's RedirectURIs; scope ""
// takes the kind's default (snsapi_base, snsapi_login). callback is the
// absolute URL of the server's own callback, where WeChat sends the code.
// Errors: EUnknownApp, EInvalidRequest, ERedirectNotAllowed.
func (s *Service) WebAuthorize(appid, redirectURI, scope, callback string) (WebStart, error) {
	if appid == "" {
		return WebStart{}, wxlogin.Errorf(wxlogin.EInvalidRequest, "appid is required")
	}
	app, err := s.app(appid)
	if err != nil {
		return WebStart{}, err
	}
	if !app.Web() {
		return WebStart{}, wxlogin.Errorf(wxlogin.EInvalidRequest, "%s is a mini program: its users log in with wx.login at /v1/login", app.AppID)
	}
	if redirectURI == "" {
		return WebStart{}, wxlogin.Errorf(wxlogin.EInvalidRequest, "redirect_uri is required")
	}
	if !app.RedirectAllowed(redirectURI) {
		return WebStart{}, wxlogin.Errorf(wxlogin.ERedirectNotAllowed, "redirect_uri is not one of the app's redirect_uris")
	}
	allowed := webScopes(app.KindOf())
	if scope == "" {
		scope = allowed[0]
	}
	ok := false
	for _, a := range allowed {
		ok = ok || a == scope
	}
	if !ok {
		return WebStart{}, wxlogin.Errorf(wxlogin.EInvalidRequest, "scope must be %s for a %s app", strings.Join(allowed, " or "), app.KindOf())
	}
	st := webState{Nonce: newID(""), AppID: app.AppID, Redirect: redirectURI, Scope: scope, Callback: callback,
		Deadline: s.now().Add(WebStateLifetime).Unix()}
	b, _ := json.Marshal(st) // plain strings: cannot fail
	sealed := s.live().keys.Seal(append([]byte(stateLabel), b...))

	page := "/connect/oauth2/authorize"
	if app.KindOf() == wxlogin.KindWebsite {
		page = "/connect/qrconnect"
	}
	// WeChat reads its parameters in this order and wants the fragment.
	u := strings.TrimRight(s.connectURL, "/") + page +
		"?appid=" + url.QueryEscape(app.AppID) +
		"&redirect_uri=" + url.QueryEscape(callback) +
		"&response_type=code&scope=" + scope +
		"&state=" + st.Nonce + "#wechat_redirect"
	return WebStart{AuthorizeURL: u, StateCookie: base64.RawURLEncoding.EncodeToString(sealed), MaxAge: WebStateLifetime}, nil
}

// WebCallback is WeChat's redirect back to the server.
type WebCallback struct {
	Code        string // "" when the user refused
	State       string
	StateCookie string // the browser's state cookie; "" when it sent none
}

// WebLoginResult is a finished web login. RedirectURI is the page to send
// the browser to; it is set on every error after the state was found
// good, so that the page can be told what went wrong.
type WebLoginResult struct {
	LoginResult
	RedirectURI string
	Scope       string
}

// WebLogin finishes a web login: it checks the state against the
// browser's cookie, trades the code (at most once, as Login does: a
// double redirect of one browser shares the exchange, anyone else's replay
// is invalid_code), refuses WeChat's snapshot-mode virtual user, fetches
// the profile for snsapi_userinfo and snsapi_login, registers or finds the
// user and starts a session. Errors: EInvalidState, EAccessDenied,
// ESnapshotUser, EInvalidCode, ECodeBlocked, EUpstreamUnavailable,
// EUpstreamRejected, ERateLimited, EInvalidRequest, EStoreUnavailable.
func (s *Service) WebLogin(ctx context.Context, cb WebCallback, c Client) (WebLoginResult, error) {
	r, err := s.webLogin(ctx, cb, c)
	result := "ok"
	if err != nil {
		result = wxlogin.ErrorCode(err)
	}
	s.metrics.Login(result, r.Created)
	return r, err
}

func (s *Service) webLogin(ctx context.Context, cb WebCallback, c Client) (WebLoginResult, error) {
	st, err := s.openState(cb)
	if err != nil {
		return WebLoginResult{}, err
	}
	res := WebLoginResult{Scope: st.Scope}
	app, err := s.app(st.AppID)
	if err != nil || !app.RedirectAllowed(st.Redirect) {
		// A reload removed the app or the page since the login started.
		return res, wxlogin.Errorf(wxlogin.EInvalidState, "the app or its page is no longer configured; start the login again")
	}
	res.RedirectURI = st.Redirect
	if cb.Code == "" {
		return res, wxlogin.Errorf(wxlogin.EAccessDenied, "the user did not authorize the login")
	}
	if err := checkCode("code", cb.Code); err != nil {
		return res, err
	}
	web, ok := s.wechat.(WebWeChat)
	if !ok {
		return res, wxlogin.Errorf(wxlogin.EInternal, "this server's WeChat client cannot do web logins")
	}
	now := s.now()
	if c.IP != "" {
		if ok, wait := s.live().loginPerIP.allow(ctx, ipKey(c.IP), now); !ok {
			return res, rateLimited("too many logins from this address", wait)
		}
	}
	if ok, wait := s.live().loginPerApp.allow(ctx, app.AppID, now); !ok {
		return res, rateLimited("too many logins to this app", wait)
	}

	wt, shared, err := s.webExchange(ctx, web, app, cb.Code, c)
	if err != nil {
		return res, err
	}
	if wt.SnapshotUser {
		// Not a person: WeChat's stand-in for a page opened in snapshot
		// mode (a shared page seen in Moments). Its openid must not become
		// an account; the page asks the user to open it for real.
		s.log.InfoContext(ctx, "auth: web login of a snapshot-mode virtual user refused", "appid", app.AppID)
		return res, wxlogin.Errorf(wxlogin.ESnapshotUser, "WeChat opened the page in snapshot mode; open it in WeChat to log in")
	}
	var profile json.RawMessage
	if wt.Scope != "snsapi_base" && wt.AccessToken != "" {
		info, err := web.WebUserInfo(ctx, wt.AccessToken, wt.OpenID)
		if err != nil {
			return res, s.webUpstreamErr(ctx, app, "sns_userinfo", err)
		}
		if wt.UnionID == "" {
			wt.UnionID = info.UnionID
		}
		profile, _ = json.Marshal(info) // plain data: cannot fail
	}

	before, err := s.unionGroupBefore(ctx, app, wt.UnionID)
	if err != nil {
		return res, s.storeFailed(err)
	}
	now = joinAfter(s.now(), before)
	newUser := wxlogin.User{
		ID: newID("usr_"), AppID: app.AppID, OpenID: wt.OpenID, UnionID: wt.UnionID,
		CreatedAt: now, UpdatedAt: now,
	}
	// A web login registers a user (or records its unionid) as a mini
	// program's does, and says so to the webhooks the same way.
	user, created, err := s.ensureUser(ctx, app, newUser, before)
	if err != nil {
		return res, s.storeFailed(err)
	}
	if profile != nil {
		// The profile is personal data: sealed like a mini program's user info.
		user, err = s.updateUser(ctx, user.ID, func(u *wxlogin.User) error { u.UserInfo = profile; return nil })
		if err != nil {
			return res, s.storeFailed(err)
		}
	} else if err := s.openUser(&user); err != nil {
		s.log.ErrorContext(ctx, "auth: cannot open a user's sealed data", "user_id", user.ID, "err", err)
		return res, err
	}
	s.noteLink(ctx, app, user, created, before)
	lr, err := s.startSession(ctx, app, user, created, s.live().keys.Seal(nil), c, shared)
	lr.AccountID = s.accountAfter(app.OpenPlatform, user, before)
	res.LoginResult = lr
	return res, err
}

// openState checks a callback's state against the browser's cookie.
func (s *Service) openState(cb WebCallback) (webState, error) {
	bad := func(msg string) (webState, error) {
		return webState{}, wxlogin.Errorf(wxlogin.EInvalidState, "%s; start the login again", msg)
	}
	if cb.StateCookie == "" {
		return bad("this browser did not start the login (no state cookie)")
	}
	if cb.State == "" {
		return bad("state is missing")
	}
	sealed, err := base64.RawURLEncoding.DecodeString(cb.StateCookie)
	if err != nil {
		return bad("the state cookie is not one this server set")
	}
	b, err := s.live().keys.Open(sealed)
	if err != nil || !strings.HasPrefix(string(b), stateLabel) {
		return bad("the state cookie is not one this server set")
	}
	var st webState
	if err := json.Unmarshal(b[len(stateLabel):], &st); err != nil {
		return bad("the state cookie is not one this server set")
	}
	if subtle.ConstantTimeCompare([]byte(st.Nonce), []byte(cb.State)) != 1 {
		return bad("state does not match this browser's login")
	}
	if !s.now().Before(time.Unix(st.Deadline, 0)) {
		return bad("the login took too long")
	}
	return st, nil
}

// webAnswer is what the code-exchange record keeps of a web token, sealed
// in the place of a session_key (see webExchange).
type webAnswer struct {
	AccessToken string `json:"t"`
	Scope       string `json:"s"`
	Snapshot    bool   `json:"v"`
}

// webExchange trades a web code through the same de-duplicator as
// wx.login codes, so the same rules hold: a double redirect or a refresh
// of one browser (same address and User-Agent) shares the one call, and
// any other client's replay is invalid_code without asking WeChat. The
// record holds a session_key, sealed; here it holds the web token's
// fields in JSON, sealed the same way.
func (s *Service) webExchange(ctx context.Context, web WebWeChat, app wxlogin.App, code string, c Client) (wechat.WebToken, bool, error) {
	ws, shared, err := s.codes.do(ctx, app.AppID, code, c, s.now, func(ctx context.Context) (*wechat.Session, error) {
		t, err := web.WebAccessToken(ctx, app, code)
		if err != nil {
			return nil, err
		}
		b, _ := json.Marshal(webAnswer{AccessToken: t.AccessToken.Reveal(), Scope: t.Scope, Snapshot: t.SnapshotUser})
		return &wechat.Session{OpenID: t.OpenID, UnionID: t.UnionID, SessionKey: wxlogin.Secret(b)}, nil
	})
	switch {
	case errors.Is(err, errCodeUsed):
		return wechat.WebToken{}, shared, wxlogin.Wrap(err, wxlogin.EInvalidCode, "the code was already used; start the login again")
	case err != nil:
		return wechat.WebToken{}, shared, s.webUpstreamErr(ctx, app, "oauth2_access_token", err)
	}
	var a webAnswer
	if err := json.Unmarshal([]byte(ws.SessionKey.Reveal()), &a); err != nil {
		return wechat.WebToken{}, shared, wxlogin.Wrap(err, wxlogin.EInternal, "a shared web exchange could not be read")
	}
	return wechat.WebToken{AccessToken: wxlogin.Secret(a.AccessToken), OpenID: ws.OpenID, UnionID: ws.UnionID,
		Scope: a.Scope, SnapshotUser: a.Snapshot}, shared, nil
}

// webUpstreamErr maps a failed web call: 48001 (the scope does not allow
// the call) is the app's mistake, not an outage; the rest as upstreamErr.
func (s *Service) webUpstreamErr(ctx context.Context, app wxlogin.App, api string, err error) error {
	var we *wechat.Error
	if errors.As(err, &we) && we.ErrCode == 48001 {
		s.log.WarnContext(ctx, "auth: WeChat refused a web call: scope not granted", "appid", app.AppID, "api", api, "errcode", we.ErrCode)
		return wxlogin.Wrap(err, wxlogin.EUpstreamRejected, "WeChat refused the call: the user's authorization does not cover it (48001)")
	}
	return s.upstreamErr(ctx, app, api, err, "the code is invalid, expired or used; start the login again")
}

// CSRFToken returns the CSRF token of a session token: what a page that
// logged in by cookie sends in a header with every unsafe request. It is
// derived from the token, so the server stores nothing, and a hash, so it
// gives the token away to nobody: a page may read it (the CSRF cookie is
// not HttpOnly) while the session cookie stays out of script's reach.
func CSRFToken(token string) string {
	h := sha256.Sum256([]byte("wxlogin csrf\x00" + token))
	return base64.RawURLEncoding.EncodeToString(h[:18])
}

// CheckCSRF reports whether got is token's CSRF token, in constant time.
func CheckCSRF(token, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(CSRFToken(token)), []byte(got)) == 1
}
