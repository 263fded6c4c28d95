package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin/wxcrypt"
)

// wxError is an errcode answer of WeChat's server APIs.
type wxError struct {
	code int
	msg  string
	full bool // msg carries its request id already (WeCom's form)
}

// errmsgs are WeChat's texts for the errcodes the emulator answers.
var errmsgs = map[int]string{
	-1:    "system error",
	40001: "invalid credential, access_token is invalid or not latest",
	40002: "invalid grant_type",
	40003: "invalid openid",
	40013: "invalid appid",
	40014: "invalid access_token",
	40029: "invalid code",
	40030: "invalid refresh_token",
	40066: "invalid url",
	40125: "invalid appsecret",
	40163: "code been used",
	40226: "code blocked",
	41001: "access_token missing",
	41002: "appid missing",
	41004: "appsecret missing",
	41008: "missing code",
	41009: "missing openid",
	42001: "access_token expired",
	42002: "refresh_token expired",
	44002: "empty post data",
	45009: "reach max api daily quota limit",
	45011: "api minute-quota reach limit  mustslower  retry next minute",
	47001: "data format error",
	48001: "api unauthorized",
	87008: "invalid sig_method",
	87009: "invalid signature",
	89002: "open not exists",
}

func errc(code int) *wxError {
	msg, ok := errmsgs[code]
	if !ok {
		msg = "emulated error"
	}
	return &wxError{code: code, msg: msg}
}

// maxWeChatBody bounds the POST bodies of the WeChat APIs.
const maxWeChatBody = 64 << 10

// beijing is the time zone of WeChat's daily quotas.
var beijing = time.FixedZone("CST", 8*3600)

// wechatHandler is one WeChat server API: it runs with e.mu held and
// returns the success body or an errcode.
type wechatHandler func(r *http.Request, body []byte, now time.Time) (any, *wxError)

// wechat wraps h with what every WeChat server API shares: faults, stats and
// WeChat's answer format (HTTP 200, JSON, errmsg with a request-id suffix).
func (e *Emulator) wechat(api string, h wechatHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.init()
		// Read the body before taking the lock: a slow client must not
		// stall the emulator.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWeChatBody))
		if err != nil {
			body = nil // answered as bad data below, like WeChat
		}

		e.mu.Lock()
		f := e.takeFaultLocked(api)
		e.mu.Unlock()
		if f != nil {
			e.logger().Info("emulator: injected fault", "api", api, "errcode", f.ErrCode,
				"http_status", f.HTTPStatus, "delay", f.Delay, "body", f.Body)
			if f.Delay > 0 && !wait(r, f.Delay) {
				e.mu.Lock()
				e.recordLocked(api, "canceled")
				e.recordCallLocked(api, r, body, 0, nil, e.nowLocked())
				e.mu.Unlock()
				return
			}
		}

		e.mu.Lock()
		now := e.nowLocked()
		var resp any
		var werr *wxError
		switch {
		case f != nil && f.ErrCode != 0:
			werr = errc(f.ErrCode)
			if strings.HasPrefix(api, "wecom_") {
				werr = e.weComErr(f.ErrCode, now)
			}
		case f != nil && f.HTTPStatus != 0:
			e.recordLocked(api, "http_"+strconv.Itoa(f.HTTPStatus))
			e.recordCallLocked(api, r, body, f.HTTPStatus, nil, now)
			e.mu.Unlock()
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(f.HTTPStatus)
			io.WriteString(w, "<html><head><title>"+strconv.Itoa(f.HTTPStatus)+" "+http.StatusText(f.HTTPStatus)+
				"</title></head><body><center><h1>"+strconv.Itoa(f.HTTPStatus)+" "+http.StatusText(f.HTTPStatus)+
				"</h1></center><hr><center>stgw</center></body></html>\n")
			return
		default:
			resp, werr = h(r, body, now)
		}
		outcome := "0"
		if werr != nil {
			outcome = errcodeOutcome(werr.code)
			msg := werr.msg
			if !werr.full {
				msg += " rid: " + e.requestID(now)
			}
			resp = struct {
				ErrCode int    `json:"errcode"`
				ErrMsg  string `json:"errmsg"`
			}{werr.code, msg}
		}
		e.recordLocked(api, outcome)
		e.mu.Unlock()

		out, err := json.Marshal(resp)
		if err != nil { // unreachable: every answer is plain data
			out = []byte(`{"errcode":-1,"errmsg":"system error"}`)
		}
		if f != nil {
			switch f.Body {
			case BodyTruncated:
				out = out[:len(out)/2]
			case BodyEmpty:
				out = nil
			}
		}
		e.mu.Lock()
		e.recordCallLocked(api, r, body, http.StatusOK, out, now)
		e.mu.Unlock()
		// WeChat labels some JSON answers text/plain and others JSON; the
		// emulator says JSON, and clients should not depend on either.
		w.Header().Set("Content-Type", "application/json; encoding=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.Write(out)
	}
}

// wait waits d of wall-clock time and reports whether it did, rather than
// the client giving up first.
func wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// appLocked authenticates appid and secret as WeChat does.
func (e *Emulator) appLocked(appid, secret string) (*app, *wxError) {
	switch {
	case appid == "":
		return nil, errc(41002)
	case secret == "":
		return nil, errc(41004)
	}
	a := e.apps[appid]
	if a == nil {
		return nil, errc(40013)
	}
	if secret != a.Secret {
		return nil, errc(40125)
	}
	return a, nil
}

// usableCode returns the unused, unexpired code value of kind issued for
// app a, or WeChat's error: 40029 for an unknown, foreign or expired code,
// 40163 for a used one, 40226 for a blocked user. The caller marks it used.
func (e *Emulator) usableCode(value string, kind codeKind, a *app, now time.Time) (*code, *wxError) {
	c := e.codes[value]
	switch {
	case c == nil || c.kind != kind || c.acct.app != a:
		return nil, errc(40029)
	case c.used:
		return nil, errc(40163)
	case !now.Before(c.issued.Add(e.codeLifetime())):
		return nil, errc(40029)
	case c.acct.person.user.Blocked:
		return nil, errc(40226)
	}
	return c, nil
}

// jscode2session is code2Session: GET /sns/jscode2session.
func (e *Emulator) jscode2session(r *http.Request, _ []byte, now time.Time) (any, *wxError) {
	q := r.URL.Query()
	a, werr := e.appLocked(q.Get("appid"), q.Get("secret"))
	if werr != nil {
		return nil, werr
	}
	if q.Get("grant_type") != "authorization_code" {
		return nil, errc(40002)
	}
	js := q.Get("js_code")
	if js == "" {
		return nil, errc(41008)
	}
	c, cerr := e.usableCode(js, loginCode, a, now)
	if cerr != nil {
		return nil, cerr
	}
	if n := e.Code2SessionPerMinute; n > 0 {
		acct := c.acct
		if now.Sub(acct.c2sWindow) >= time.Minute || now.Before(acct.c2sWindow) {
			acct.c2sWindow, acct.c2sCount = now, 0
		}
		if acct.c2sCount >= n {
			return nil, errc(45011)
		}
		acct.c2sCount++
	}
	c.used = true
	return struct {
		SessionKey string `json:"session_key"`
		OpenID     string `json:"openid"`
		UnionID    string `json:"unionid,omitempty"`
	}{c.sessionKey, c.acct.openID, c.acct.unionID()}, nil
}

type okResponse struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

var okAnswer = okResponse{0, "ok"}

// userOfTokenLocked checks what the APIs about one user share: a valid
// access token, and an openid of a user of the token's app.
func (e *Emulator) userOfTokenLocked(q url.Values, now time.Time) (*account, *wxError) {
	a, werr := e.tokenLocked(q, now)
	if werr != nil {
		return nil, werr
	}
	openid := q.Get("openid")
	if openid == "" {
		return nil, errc(41009)
	}
	acct := e.openIDs[openid]
	if acct == nil || acct.app != a {
		return nil, errc(40003)
	}
	return acct, nil
}

// signedAccountLocked checks what checksession and resetusersessionkey
// share: token, openid, sig_method and the login-state signature under the
// user's current session_key.
func (e *Emulator) signedAccountLocked(q url.Values, now time.Time) (*account, *wxError) {
	acct, werr := e.userOfTokenLocked(q, now)
	if werr != nil {
		return nil, werr
	}
	if q.Get("sig_method") != "hmac_sha256" {
		return nil, errc(87008)
	}
	if !e.keyValidLocked(acct, now) || !wxcrypt.VerifyLoginStateSignature(acct.sessionKey, "", q.Get("signature")) {
		return nil, errc(87009)
	}
	return acct, nil
}

// checkSession is checkSessionKey: GET /wxa/checksession.
func (e *Emulator) checkSession(r *http.Request, _ []byte, now time.Time) (any, *wxError) {
	if _, werr := e.signedAccountLocked(r.URL.Query(), now); werr != nil {
		return nil, werr
	}
	return okAnswer, nil
}

// resetUserSessionKey is resetUserSessionKey: GET /wxa/resetusersessionkey.
// The new key replaces the old one; the device's login state stays valid.
func (e *Emulator) resetUserSessionKey(r *http.Request, _ []byte, now time.Time) (any, *wxError) {
	acct, werr := e.signedAccountLocked(r.URL.Query(), now)
	if werr != nil {
		return nil, werr
	}
	key := acct.rotateKey(now)
	return struct {
		okResponse
		OpenID     string `json:"openid"`
		SessionKey string `json:"session_key"`
	}{okAnswer, acct.openID, key}, nil
}

// phoneInfo is getuserphonenumber's phone_info.
type phoneInfo struct {
	PhoneNumber     string            `json:"phoneNumber"`
	PurePhoneNumber string            `json:"purePhoneNumber"`
	CountryCode     string            `json:"countryCode"`
	Watermark       wxcrypt.Watermark `json:"watermark"`
}

func newPhoneInfo(u User, appid string, now time.Time) phoneInfo {
	p := phoneInfo{
		PhoneNumber:     u.PhoneNumber,
		PurePhoneNumber: u.PhoneNumber,
		CountryCode:     u.CountryCode,
		Watermark:       wxcrypt.Watermark{AppID: appid, Timestamp: now.Unix()},
	}
	// WeChat prefixes foreign numbers with their country code.
	if u.CountryCode != "86" && u.CountryCode != "" {
		p.PhoneNumber = "+" + u.CountryCode + " " + u.PhoneNumber
	}
	return p
}

// getUserPhoneNumber is getPhoneNumber: POST
// /wxa/business/getuserphonenumber?access_token=, JSON {code, openid?}.
func (e *Emulator) getUserPhoneNumber(r *http.Request, body []byte, now time.Time) (any, *wxError) {
	a, werr := e.tokenLocked(r.URL.Query(), now)
	if werr != nil {
		return nil, werr
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errc(44002)
	}
	var req struct {
		Code   string `json:"code"`
		OpenID string `json:"openid"`
	}
	if json.Unmarshal(body, &req) != nil {
		return nil, errc(47001)
	}
	if req.Code == "" {
		return nil, errc(41008)
	}
	c := e.codes[req.Code]
	switch {
	case c == nil || c.kind != phoneCode || c.acct.app != a:
		return nil, errc(40029)
	case c.used:
		return nil, errc(40163)
	case !now.Before(c.issued.Add(e.codeLifetime())):
		return nil, errc(40029)
	case req.OpenID != "" && req.OpenID != c.acct.openID:
		return nil, errc(40003)
	}
	c.used = true
	return struct {
		okResponse
		PhoneInfo phoneInfo `json:"phone_info"`
	}{okAnswer, newPhoneInfo(c.phone, a.AppID, now)}, nil
}

// getPaidUnionID is getPaidUnionId: GET /wxa/getpaidunionid. The emulator
// does not model payments: any user of an app bound to the Open Platform
// gets their unionid; an unbound app answers 89002.
func (e *Emulator) getPaidUnionID(r *http.Request, _ []byte, now time.Time) (any, *wxError) {
	acct, werr := e.userOfTokenLocked(r.URL.Query(), now)
	if werr != nil {
		return nil, werr
	}
	if !acct.app.OpenPlatform {
		return nil, errc(89002)
	}
	return struct {
		UnionID string `json:"unionid"`
		okResponse
	}{acct.unionID(), okAnswer}, nil
}
