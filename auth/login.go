package auth

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"strconv"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// Bounds of what a client sends with a login. WeChat's codes are 32
// characters; anything much longer is not one.
const (
	maxCodeLen      = 128
	maxUserAgentLen = 256
	maxIPLen        = 64
)

// Client describes the requester of a login, for the sessions list and limits.
type Client struct {
	IP        string
	UserAgent string
}

// LoginResult is a successful login. Token is the only time the login token
// exists in clear: it is handed to the client and never stored.
type LoginResult struct {
	Token     wxlogin.Secret
	User      wxlogin.User
	Created   bool // this is the user's first completed login (see UnfinishedRegistrations)
	AccountID string
	Session   wxlogin.Session
	ExpiresAt time.Time
}

// Login trades a wx.login code for a session. appid "" means the only
// configured app. Errors carry wxlogin codes: EUnknownApp, EInvalidCode,
// ECodeBlocked, EUpstreamUnavailable (RetryAfter set), EUpstreamRejected,
// ERateLimited, EInvalidRequest.
func (s *Service) Login(ctx context.Context, appid, code string, c Client) (LoginResult, error) {
	r, err := s.login(ctx, appid, code, c)
	result := "ok"
	if err != nil {
		result = wxlogin.ErrorCode(err)
	}
	s.metrics.Login(result, r.Created)
	return r, err
}

func (s *Service) login(ctx context.Context, appid, code string, c Client) (LoginResult, error) {
	app, err := s.app(appid)
	if err != nil {
		return LoginResult{}, err
	}
	if app.Web() {
		// Its codes come from a browser redirect, and jscode2session
		// would refuse them anyway.
		return LoginResult{}, wxlogin.Errorf(wxlogin.EInvalidRequest,
			"%s is a %s app: its users log in at /v1/web/authorize", app.AppID, app.KindOf())
	}
	if err := checkCode("code", code); err != nil {
		return LoginResult{}, err
	}
	now := s.now()
	if c.IP != "" {
		if ok, wait := s.live().loginPerIP.allow(ctx, ipKey(c.IP), now); !ok {
			return LoginResult{}, rateLimited("too many logins from this address", wait)
		}
	}
	if ok, wait := s.live().loginPerApp.allow(ctx, app.AppID, now); !ok {
		return LoginResult{}, rateLimited("too many logins to this mini program", wait)
	}

	ws, shared, err := s.exchange(ctx, app, code, c)
	if err != nil {
		return LoginResult{}, err
	}

	before, err := s.unionGroupBefore(ctx, app, ws.UnionID)
	if err != nil {
		return LoginResult{}, s.storeFailed(err)
	}
	now = joinAfter(s.now(), before)
	newUser := wxlogin.User{
		ID:        newID("usr_"),
		AppID:     app.AppID,
		OpenID:    ws.OpenID,
		UnionID:   ws.UnionID,
		CreatedAt: now,
		UpdatedAt: now,
	}
	if err := s.withOpenUserID(&newUser, ws.OpenUserID); err != nil {
		return LoginResult{}, err
	}
	sealedKey := s.live().keys.Seal([]byte(ws.SessionKey.Reveal()))
	if s.logins != nil && (s.hooks == nil || s.loginOutbox != nil) {
		// One transaction for the user, the session and, with webhooks,
		// the events of what the login changed (a registration, a merge).
		token, sess := s.newSession(app, sealedKey, c, now)
		user, created, err := s.storeLogin(ctx, app, newUser, &sess, before)
		var openErr errOpenUser
		if errors.As(err, &openErr) {
			return LoginResult{}, openErr.err
		}
		if err == nil {
			s.noteLink(ctx, app, user, created, before)
			s.keepOpenUserID(ctx, &user, ws.OpenUserID)
		}
		r, err := s.finishLogin(ctx, app, user, created, token, sess, err, shared)
		r.AccountID = s.accountAfter(app.OpenPlatform, user, before)
		return r, err
	}
	user, created, err := s.ensureUser(ctx, app, newUser, before)
	if err != nil {
		return LoginResult{}, s.storeFailed(err)
	}
	if err := s.openUser(&user); err != nil {
		s.log.ErrorContext(ctx, "auth: cannot open a user's sealed data", "user_id", user.ID, "err", err)
		return LoginResult{}, err
	}

	s.noteLink(ctx, app, user, created, before)
	s.keepOpenUserID(ctx, &user, ws.OpenUserID)
	r, err := s.startSession(ctx, app, user, created, sealedKey, c, shared)
	r.AccountID = s.accountAfter(app.OpenPlatform, user, before)
	return r, err
}

// newSession returns a new session of app holding sealedKey (the sealed
// session_key; a web login has none) and its token; the user fields are
// left to the caller.
func (s *Service) newSession(app wxlogin.App, sealedKey []byte, c Client, now time.Time) (wxlogin.Secret, wxlogin.Session) {
	token, hash := newToken()
	return token, wxlogin.Session{
		ID:               newID("ses_"),
		TokenHash:        hash,
		AppID:            app.AppID,
		SealedSessionKey: sealedKey,
		CreatedAt:        now,
		LastSeenAt:       now,
		IdleExpiresAt:    now.Add(s.idle),
		ExpiresAt:        now.Add(s.absolute),
		UserAgent:        clip(c.UserAgent, maxUserAgentLen),
		IP:               clip(c.IP, maxIPLen),
	}
}

// startSession creates a session of user (already registered) in app
// holding sealedKey and hands out its token once. shared says whether the
// code's exchange was shared, for the log.
func (s *Service) startSession(ctx context.Context, app wxlogin.App, user wxlogin.User, created bool,
	sealedKey []byte, c Client, shared bool) (LoginResult, error) {
	token, sess := s.newSession(app, sealedKey, c, s.now())
	err := s.createSession(ctx, user, &sess)
	return s.finishLogin(ctx, app, user, created, token, sess, err, shared)
}

// createSession stores sess as user's, the second of a two-step login, and
// checks that the user still exists.
func (s *Service) createSession(ctx context.Context, user wxlogin.User, sess *wxlogin.Session) error {
	sess.UserID, sess.OpenID, sess.UnionID = user.ID, user.OpenID, user.UnionID
	err := s.sessions.CreateSession(ctx, *sess)
	if err == nil {
		// The user may have been erased after EnsureUser found it, and a
		// session store apart from the users cannot refuse the session.
		// Erasure deletes the user before its sessions, so once the user
		// is seen here the erasure, if any, has yet to delete the
		// sessions and will take this one too.
		if _, uerr := s.users.User(ctx, user.ID); uerr != nil {
			// The token is never handed out, so a session this fails to
			// delete cannot be used; the sweep removes it once expired.
			if derr := s.sessions.DeleteSession(ctx, sess.ID); derr != nil {
				s.log.WarnContext(ctx, "auth: deleting the session of a login whose user check failed", "session_id", sess.ID, "err", derr)
			}
			err = uerr
		}
	}
	return err
}

// finishLogin answers a login whose session store returned err: the token
// of sess once it is stored, the user's registration remembered when the
// session failed after it.
func (s *Service) finishLogin(ctx context.Context, app wxlogin.App, user wxlogin.User, created bool,
	token wxlogin.Secret, sess wxlogin.Session, err error, shared bool) (LoginResult, error) {
	now := sess.CreatedAt
	if errors.Is(err, wxlogin.ErrNotFound) {
		// The user was erased after EnsureUser found or registered it (the
		// store refused the session of a missing user, or the check above
		// found it gone). invalid_code makes clients log in again, which
		// registers a new user.
		s.log.InfoContext(ctx, "auth: login lost the race with an erasure of its user", "appid", app.AppID, "user_id", user.ID)
		return LoginResult{}, wxlogin.Wrap(err, wxlogin.EInvalidCode, "the user was erased while this login was under way; call wx.login and log in again")
	} else if err != nil {
		if created {
			if uerr := s.unfinished.Add(ctx, user.ID, now); uerr != nil {
				// The retry will answer created: false; the user exists all the same.
				s.log.WarnContext(ctx, "auth: recording an unfinished registration failed", "user_id", user.ID, "err", uerr)
			}
		}
		return LoginResult{}, s.storeFailed(err)
	}
	if !created {
		// A retry of a registering login that failed above.
		if created, err = s.unfinished.Take(ctx, user.ID, now); err != nil {
			s.log.WarnContext(ctx, "auth: reading unfinished registrations failed", "user_id", user.ID, "err", err)
			created = false
		}
	}
	s.log.InfoContext(ctx, "auth: login", "appid", app.AppID, "user_id", user.ID,
		"session_id", sess.ID, "created", created, "shared_exchange", shared)

	// The sealed key stays in the store: callers have no use for it.
	sess.SealedSessionKey = nil
	return LoginResult{
		Token:     token,
		User:      user,
		Created:   created,
		Session:   sess,
		ExpiresAt: sess.Deadline(),
	}, nil
}

// loginStore returns the store that keeps both users and sessions when it
// can store a login in one transaction (wxlogin.LoginStore), else nil: with
// users and sessions apart, a login takes two writes (ensureUser, then
// createSession).
func loginStore(users wxlogin.UserStore, sessions wxlogin.SessionStore) wxlogin.LoginStore {
	ls, ok := users.(wxlogin.LoginStore)
	// Comparing interfaces holding values of a type that is not
	// comparable would panic: such stores are taken for different ones.
	if !ok || !reflect.TypeOf(users).Comparable() || any(users) != any(sessions) {
		return nil
	}
	return ls
}

// storeLogin stores a login's user (registered when new) and its session in
// one transaction of a wxlogin.LoginStore, with the deliveries of what it
// changed when webhooks are configured (see userDeliveries; before is what
// the login read of the users holding the unionid), and fills in the
// session's user fields. The store refuses the session of a user erased meanwhile
// (ErrNotFound), so no check follows. A user whose sealed data cannot be
// opened fails the login; its session, already stored, is deleted (its
// token is never handed out, so one left behind cannot be used).
func (s *Service) storeLogin(ctx context.Context, app wxlogin.App, u wxlogin.User, sess *wxlogin.Session, before []wxlogin.User) (wxlogin.User, bool, error) {
	var (
		user    wxlogin.User
		created bool
		err     error
	)
	if s.hooks == nil {
		user, created, err = s.logins.EnsureUserWithSession(ctx, u, *sess)
	} else {
		var ds []wxlogin.Delivery
		user, created, err = s.loginOutbox.EnsureUserWithSessionAndDeliveries(ctx, u, *sess, s.userDeliveries(app.OpenPlatform, before, &ds))
		if err == nil {
			s.delivered(ds)
		}
	}
	if err != nil {
		return user, created, err
	}
	sess.UserID, sess.OpenID, sess.UnionID = user.ID, user.OpenID, user.UnionID
	if err := s.openUser(&user); err != nil {
		s.log.ErrorContext(ctx, "auth: cannot open a user's sealed data", "user_id", user.ID, "err", err)
		if derr := s.sessions.DeleteSession(ctx, sess.ID); derr != nil {
			s.log.WarnContext(ctx, "auth: deleting the session of a login whose user could not be opened", "session_id", sess.ID, "err", derr)
		}
		return user, created, errOpenUser{err}
	}
	return user, created, nil
}

// errOpenUser carries openUser's failure out of the store steps of a login
// unchanged (it is not a store failure).
type errOpenUser struct{ err error }

func (e errOpenUser) Error() string { return e.err.Error() }
func (e errOpenUser) Unwrap() error { return e.err }

// ipKey is the rate-limit key of a client address: an IPv6 client usually
// holds a whole /64 and could otherwise take a fresh bucket per request.
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// checkCode checks the form of a code the client sent in field name.
func checkCode(name, code string) error {
	switch {
	case code == "":
		return wxlogin.Errorf(wxlogin.EInvalidRequest, "%s is required", name)
	case len(code) > maxCodeLen:
		return wxlogin.Errorf(wxlogin.EInvalidRequest, "%s is too long to be a WeChat code", name)
	}
	return nil
}

// exchange trades a wx.login code for WeChat's session at most once per
// code (see exchanges) and maps WeChat's failures to application errors.
func (s *Service) exchange(ctx context.Context, app wxlogin.App, code string, c Client) (wechat.Session, bool, error) {
	ws, shared, err := s.codes.do(ctx, app.AppID, code, c, s.now, func(ctx context.Context) (*wechat.Session, error) {
		if app.IsWeComSuite() {
			return s.suiteCode2Session(ctx, app, code)
		}
		if app.IsWeCom() {
			return s.weComCode2Session(ctx, app, code)
		}
		return s.wechat.Code2Session(ctx, app, code)
	})
	switch {
	case errors.Is(err, errCodeUsed):
		return ws, shared, wxlogin.Wrap(err, wxlogin.EInvalidCode, "the code was already used; call wx.login again")
	case err != nil && noTicket(err):
		s.log.WarnContext(ctx, "auth: a WeCom suite login before a usable suite_ticket", "appid", app.AppID, "err", err)
		return ws, shared, noSuiteTicket(err)
	case err != nil:
		return ws, shared, s.upstreamErr(ctx, app, "code2Session", err, "the code is invalid, expired or used; call wx.login again")
	case ws.OpenID == "" || ws.SessionKey.Reveal() == "":
		// The client checks this too; a session without them is useless.
		return ws, shared, wxlogin.Errorf(wxlogin.EUpstreamRejected, "WeChat gave an incomplete answer")
	}
	if app.IsWeComSuite() {
		return ws, shared, s.suiteCorpErr(ctx, app, ws)
	}
	if app.IsWeCom() {
		// Several corps may be associated with one mini program, and
		// WeCom answers with the member's own corp whatever corp's token
		// asked. A member of another corp is not a user of this app: the
		// client must log in with the app of the member's corp.
		if corp, _, _ := wxlogin.SplitWeComKey(ws.OpenID); corp != app.CorpID {
			s.log.InfoContext(ctx, "auth: a WeCom code of another corp", "appid", app.AppID, "corpid", corp)
			return ws, shared, wxlogin.Errorf(wxlogin.EWrongCorp,
				"the code belongs to a member of another WeCom corp than this app's; log in with the app of that corp")
		}
	}
	return ws, shared, nil
}

// weComCode2Session trades a wx.qy.login code and gives its answer the
// shape of WeChat's, the member's (corpid, userid) as the WeComKey in the
// place of the openid, so the code de-duplication and the stores serve
// both kinds alike.
func (s *Service) weComCode2Session(ctx context.Context, app wxlogin.App, code string) (*wechat.Session, error) {
	if s.wecom == nil { // New refuses a WeCom app without a client
		return nil, errors.New("auth: no WeCom client")
	}
	ws, err := s.wecom.WeComCode2Session(ctx, app, code)
	if err != nil {
		return nil, err
	}
	return &wechat.Session{OpenID: wxlogin.WeComKey(ws.CorpID, ws.UserID), SessionKey: ws.SessionKey}, nil
}

// upstreamErr maps an error of a WeChat call to an application error.
// codeMsg is the message for an invalid code, which differs between login
// codes and phone codes.
//
// Kinds with no obvious meaning for a client (an unknown errcode, an access
// token WeChat keeps refusing after the client's own refresh and retry, a
// signature error) become EUpstreamUnavailable: the fault is on WeChat's
// side or between us, the client can do nothing but retry later, and a 500
// would page someone for a bug that is not ours. They are logged at WARN
// with the errcode so a pattern is visible.
func (s *Service) upstreamErr(ctx context.Context, app wxlogin.App, api string, err error, codeMsg string) error {
	kind := wechat.Classify(err)
	retry := max(wechat.RetryAfter(err), time.Second)
	upstream := "WeChat" // who the client is told failed
	if app.WeComUsers() {
		upstream = "WeCom"
	}
	var we *wechat.Error
	errcode := 0
	if errors.As(err, &we) {
		errcode = we.ErrCode
	}
	// The wechat package keeps secrets out of its errors' text; they are
	// logged as the cause and kept in Err for the server log only.
	switch kind {
	case wechat.KindCodeInvalid:
		s.log.InfoContext(ctx, "auth: WeChat refused a code", "appid", app.AppID, "api", api, "errcode", errcode)
		return wxlogin.Wrap(err, wxlogin.EInvalidCode, codeMsg)
	case wechat.KindBlocked:
		s.log.WarnContext(ctx, "auth: WeChat blocked a high-risk user", "appid", app.AppID, "api", api, "errcode", errcode)
		return wxlogin.Wrap(err, wxlogin.ECodeBlocked, "WeChat flagged this user as high-risk; login refused")
	case wechat.KindConfig:
		s.log.ErrorContext(ctx, "auth: WECHAT REJECTED THIS APP'S APPID OR SECRET: fix the configuration",
			"appid", app.AppID, "api", api, "errcode", errcode)
		if app.IsWeComSuite() {
			return wxlogin.Wrap(err, wxlogin.EUpstreamRejected, "WeCom rejected this server's suite_id or suite_secret")
		}
		if app.IsWeCom() {
			return wxlogin.Wrap(err, wxlogin.EUpstreamRejected, "WeCom rejected this server's corpid or secret for the mini program")
		}
		return wxlogin.Wrap(err, wxlogin.EUpstreamRejected, "WeChat rejected this server's credentials for the mini program")
	case wechat.KindInvalidAnswer:
		// A success WeChat cannot have sent (a session_key that is not 16
		// bytes, an openid with a control character): a broken proxy or
		// an impostor between us and WeChat. Nothing of it is stored; an
		// operator must look, and a client retry with a new code would
		// most likely meet the same.
		s.log.ErrorContext(ctx, "auth: WeChat's answer is not one WeChat sends; nothing stored",
			"appid", app.AppID, "api", api, "err", err)
		return wxlogin.Wrap(err, wxlogin.EUpstreamRejected, upstream+"'s answer could not be used; the server log has details")
	case wechat.KindBusy, wechat.KindQuota, wechat.KindUnavailable:
		s.log.WarnContext(ctx, "auth: WeChat unavailable", "appid", app.AppID, "api", api,
			"kind", kind.String(), "errcode", errcode, "err", err)
		return &wxlogin.Error{Code: wxlogin.EUpstreamUnavailable, RetryAfter: retry, Err: err,
			Message: upstream + " is busy or unavailable; retry in " + strconv.Itoa(int(retry/time.Second)) + " s"}
	}
	s.log.WarnContext(ctx, "auth: WeChat call failed", "appid", app.AppID, "api", api,
		"kind", kind.String(), "errcode", errcode, "err", err)
	retry = 5 * time.Second
	return &wxlogin.Error{Code: wxlogin.EUpstreamUnavailable, RetryAfter: retry, Err: err,
		Message: upstream + " could not complete the request; retry later"}
}

// rateLimited is the error of a hit limit; the wait is rounded up to whole
// seconds because Retry-After carries seconds.
func rateLimited(msg string, wait time.Duration) error {
	wait = max(time.Second, (wait + time.Second - 1).Truncate(time.Second))
	return &wxlogin.Error{Code: wxlogin.ERateLimited, Message: msg, RetryAfter: wait}
}
