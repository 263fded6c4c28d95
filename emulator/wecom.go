package emulator

// WeCom (企业微信), for mini programs associated with a WeCom corp: its
// server APIs at WeCom's paths (the same host serves both in the emulator,
// since no path is shared) and the device's wx.qy.login and
// wx.qy.checkSession.

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

// Corp is a WeCom corp the emulator knows: its corpid and the secret of its
// WeCom app with which the mini program is associated (WeCom calls it the
// corpsecret). Every corp is associated with the mini program, so a member
// of any corp can log in; which corp a code belongs to is the member's.
type Corp struct {
	CorpID string `json:"corpid"`
	Secret string `json:"secret"`
}

// DevCorps returns the corps a zero Emulator serves, which dev mode and the
// README use. Their secrets are fake and public on purpose:
//
//	wwdec0de000000c001  c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c01
//	wwdec0de000000c002  c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c02
//
// The second lets a test log a member of another corp into an app of the
// first (wxlogin's wrong_corp).
func DevCorps() []Corp {
	return []Corp{
		{CorpID: "wwdec0de000000c001", Secret: "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c01"},
		{CorpID: "wwdec0de000000c002", Secret: "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c02"},
	}
}

// WeCom server API names, as used by faults and stats.
const (
	APIWeComGetToken       = "wecom_gettoken"
	APIWeComJSCode2Session = "wecom_jscode2session"
)

// corp is the state of one WeCom corp.
type corp struct {
	Corp
	token   *token             // the current gettoken token
	members map[string]*member // by user name
}

// member is a simulated user inside one corp. Its userid is the user name,
// as a WeCom admin would assign an account name.
type member struct {
	corp       *corp
	userID     string
	sessionKey string // "" before the first wx.qy.login
	keyIssued  time.Time
}

// weComErrmsgs are WeCom's texts for the errcodes it answers here. WeCom's
// 40001 is a wrong secret, not WeChat's bad token.
var weComErrmsgs = map[int]string{
	-1:    "system busy",
	40001: "invalid credential",
	40002: "invalid grant_type",
	40013: "invalid corpid",
	40014: "invalid access_token",
	40029: "invalid code",
	41001: "access_token missing",
	41002: "corpid missing",
	41004: "corpsecret missing",
	41008: "missing code",
	42001: "access_token expired",
	45009: "api freq out of limit",
	60020: "not allow to access from your ip",
}

// weComErrmsg is errmsg as WeCom words it: the text, then a hint with a
// request id and a pointer to its error lookup.
func (e *Emulator) weComErrmsg(code int, now time.Time) string {
	msg, ok := weComErrmsgs[code]
	if !ok {
		msg = "emulated error"
	}
	return msg + ", hint: [" + e.requestID(now) + "], more info at https://open.work.weixin.qq.com/devtool/query?e=" + strconv.Itoa(code)
}

func (e *Emulator) initCorps() {
	corps := e.Corps
	if corps == nil {
		corps = DevCorps()
	}
	e.corps = make(map[string]*corp, len(corps))
	for _, c := range corps {
		if _, dup := e.corps[c.CorpID]; dup {
			continue
		}
		e.corps[c.CorpID] = &corp{Corp: c, members: map[string]*member{}}
		e.corpOrder = append(e.corpOrder, c.CorpID)
	}
}

// CorpList returns the WeCom corps served, in configured order.
func (e *Emulator) CorpList() []Corp {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Corp, 0, len(e.corpOrder))
	for _, id := range e.corpOrder {
		out = append(out, e.corps[id].Corp)
	}
	return out
}

// validWeComUserID reports whether name can be a WeCom userid: 1 to 64
// letters, digits and "_-@.", as WeCom's admin console allows.
func validWeComUserID(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_-@.", c) >= 0) {
			return false
		}
	}
	return true
}

// memberLocked resolves the (corp, user) of a device call, creating the
// member on first use.
func (e *Emulator) memberLocked(api, corpid, user string) (*member, *DeviceError) {
	c := e.corps[corpid]
	if c == nil {
		return nil, deviceErr(wxlogin.EUnknownApp, api+":fail invalid corpid", "unknown corpid %q", corpid)
	}
	if !validWeComUserID(user) {
		return nil, deviceErr(wxlogin.EInvalidRequest, api+":fail invalid user",
			"a WeCom user must be 1 to 64 letters, digits or _-@. (it is the member's userid)")
	}
	m := c.members[user]
	if m == nil {
		m = &member{corp: c, userID: user}
		c.members[user] = m
	}
	return m, nil
}

// WeComLogin is wx.qy.login for user, a member of corpid: it returns a
// one-time code (CodeLifetime, as WeChat's) and rotates the member's
// session_key.
func (e *Emulator) WeComLogin(corpid, user string) (string, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.nowLocked()
	m, derr := e.memberLocked("qy.login", corpid, user)
	if derr != nil {
		return "", derr
	}
	m.sessionKey = wxcrypt.NewSessionKey()
	m.keyIssued = now
	return e.newCodeLocked(&code{kind: weComCode, member: m, sessionKey: m.sessionKey, issued: now}), nil
}

// WeComSessionKeyValid is wx.qy.checkSession: whether the member's latest
// session_key is still valid (false before the first wx.qy.login).
func (e *Emulator) WeComSessionKeyValid(corpid, user string) (bool, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	m, derr := e.memberLocked("qy.checkSession", corpid, user)
	if derr != nil {
		return false, derr
	}
	now := e.nowLocked()
	valid := m.sessionKey != "" && (e.SessionKeyLifetime <= 0 || now.Before(m.keyIssued.Add(e.SessionKeyLifetime)))
	return valid, nil
}

// WeComSessionKey returns the member's current session_key ("" before the
// first wx.qy.login), for tests that check the key never leaks. A real
// device never reveals it.
func (e *Emulator) WeComSessionKey(corpid, user string) (string, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	m, derr := e.memberLocked("sessionKey", corpid, user)
	if derr != nil {
		return "", derr
	}
	return m.sessionKey, nil
}

// weComTokenLocked returns the corp of a valid WeCom access token. A
// WeChat token is not one (40014), nor is a WeCom token a WeChat one.
func (e *Emulator) weComTokenLocked(q url.Values, now time.Time) (*corp, *wxError) {
	v := q.Get("access_token")
	if v == "" {
		return nil, e.weComErr(41001, now)
	}
	t := e.tokens[v]
	switch {
	case t == nil || t.corp == nil:
		return nil, e.weComErr(40014, now)
	case !now.Before(t.expires):
		return nil, e.weComErr(42001, now)
	}
	return t.corp, nil
}

func (e *Emulator) weComErr(code int, now time.Time) *wxError {
	return &wxError{code: code, msg: e.weComErrmsg(code, now), full: true}
}

// weComGetToken is WeCom's gettoken: GET /cgi-bin/gettoken?corpid=&corpsecret=.
// As WeCom documents, it hands back the same token until it expires, then
// a new one.
func (e *Emulator) weComGetToken(r *http.Request, _ []byte, now time.Time) (any, *wxError) {
	q := r.URL.Query()
	corpid, secret := q.Get("corpid"), q.Get("corpsecret")
	switch {
	case corpid == "":
		return nil, e.weComErr(41002, now)
	case secret == "":
		return nil, e.weComErr(41004, now)
	}
	c := e.corps[corpid]
	if c == nil {
		return nil, e.weComErr(40013, now)
	}
	if secret != c.Secret {
		return nil, e.weComErr(40001, now)
	}
	if c.token == nil || !now.Before(c.token.expires) {
		c.token = e.issueTokenLocked(nil, false, now)
		c.token.corp = c
	}
	return struct {
		okResponse
		tokenResponse
	}{okAnswer, tokenResponse{c.token.value, expiresIn(c.token, now)}}, nil
}

// weComJSCode2Session is WeCom's code2Session: GET
// /cgi-bin/miniprogram/jscode2session?access_token=&js_code=&grant_type=authorization_code.
// It answers the code's member: its corpid is the member's corp, even when
// the token is another corp's (several corps may be associated with one
// mini program; the server must compare). An unknown, expired, used or
// WeChat code answers 40029: WeCom documents no 40163.
func (e *Emulator) weComJSCode2Session(r *http.Request, _ []byte, now time.Time) (any, *wxError) {
	q := r.URL.Query()
	if _, werr := e.weComTokenLocked(q, now); werr != nil {
		return nil, werr
	}
	if q.Get("grant_type") != "authorization_code" {
		return nil, e.weComErr(40002, now)
	}
	js := q.Get("js_code")
	if js == "" {
		return nil, e.weComErr(41008, now)
	}
	c := e.codes[js]
	if c == nil || c.kind != weComCode || c.used || !now.Before(c.issued.Add(e.codeLifetime())) {
		return nil, e.weComErr(40029, now)
	}
	c.used = true
	return struct {
		CorpID     string `json:"corpid"`
		UserID     string `json:"userid"`
		SessionKey string `json:"session_key"`
		okResponse
	}{c.member.corp.CorpID, c.member.userID, c.sessionKey, okAnswer}, nil
}

// Device routes of WeCom.

type weComTarget struct {
	CorpID string `json:"corpid"`
	User   string `json:"user"`
}

func (e *Emulator) serveCorps(*http.Request) (any, error) { return e.CorpList(), nil }

func (e *Emulator) serveWeComLogin(r *http.Request) (any, error) {
	var req weComTarget
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	code, err := e.WeComLogin(req.CorpID, req.User)
	if err != nil {
		return nil, err
	}
	return map[string]string{"code": code}, nil
}

func (e *Emulator) serveWeComSession(r *http.Request) (any, error) {
	q := r.URL.Query()
	valid, err := e.WeComSessionKeyValid(q.Get("corpid"), q.Get("user"))
	if err != nil {
		return nil, err
	}
	return map[string]bool{"valid": valid}, nil
}

func (e *Emulator) weComRoutes(mux *http.ServeMux, d func(string, func(*http.Request) (any, error))) {
	mux.Handle("GET /cgi-bin/gettoken", e.wechat(APIWeComGetToken, e.weComGetToken))
	mux.Handle("GET /cgi-bin/miniprogram/jscode2session", e.wechat(APIWeComJSCode2Session, e.weComJSCode2Session))
	d("GET /emulator/v1/wecom/corps", e.serveCorps)
	d("POST /emulator/v1/wecom/login", e.serveWeComLogin)
	d("GET /emulator/v1/wecom/session", e.serveWeComSession)
}
