package emulator

// This file is WeChat's web logins: the pages a browser is sent to
// (connect/oauth2/authorize for an Official Account's pages inside WeChat,
// connect/qrconnect for a website's QR code), the simulated phone that
// approves or refuses them (device API), and the sns/ APIs that trade the
// code for the user's web access token and profile.

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Kinds of emulated apps (App.Kind) beside mini programs.
const (
	KindOfficialAccount = "official_account"
	KindWebsite         = "website"
)

// DevWebApps returns the web apps wxlogin dev serves beside DevApps, bound
// to the same Open Platform account (a person has one unionid across all
// of them). Their secrets are fake and public on purpose:
//
//	wxdec0de00000000a1  a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1  Official Account
//	wxdec0de00000000b1  b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1  website app
func DevWebApps() []App {
	return []App{
		{AppID: "wxdec0de00000000a1", Secret: "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", OpenPlatform: true, Kind: KindOfficialAccount},
		{AppID: "wxdec0de00000000b1", Secret: "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1", OpenPlatform: true, Kind: KindWebsite},
	}
}

// Lifetimes of web tokens, as WeChat documents them.
const (
	WebTokenLifetime   = 7200 * time.Second
	WebRefreshLifetime = 30 * 24 * time.Hour
	// webAuthLifetime is how long an authorization page (a QR code) waits
	// for the phone; WeChat's QR code expires after a few minutes.
	webAuthLifetime = 5 * time.Minute
	maxWebAuths     = 1024
)

// The states of a web authorization.
const (
	WebPending  = "pending"  // waiting for the phone (QR not scanned yet)
	WebScanned  = "scanned"  // QR scanned, waiting for the confirmation
	WebApproved = "approved" // redirected back with a code
	WebRefused  = "refused"  // redirected back without a code
	WebExpired  = "expired"  // nobody answered in time
)

// WebAuthorization is one authorization a browser waits on, as the device
// API shows it. Redirect is where the page sends the browser once decided.
type WebAuthorization struct {
	ID       string `json:"id"`
	Flow     string `json:"flow"` // "oauth2" (page in WeChat) or "qrconnect" (website QR code)
	AppID    string `json:"appid"`
	Scope    string `json:"scope"`
	Status   string `json:"status"`
	User     string `json:"user,omitempty"`
	Redirect string `json:"redirect,omitempty"`
}

type webAuth struct {
	WebAuthorization
	redirectURI string
	state       string
	created     time.Time
}

type webToken struct {
	value, refresh    string
	acct              *account
	openID            string
	scope             string
	snapshot          bool
	expires, refresh2 time.Time // refresh2: when the refresh token dies
}

func (e *Emulator) webRoutes(mux *http.ServeMux, d func(string, func(*http.Request) (any, error))) {
	mux.HandleFunc("GET /connect/oauth2/authorize", e.servePage("oauth2"))
	mux.HandleFunc("GET /connect/qrconnect", e.servePage("qrconnect"))
	mux.Handle("GET /sns/oauth2/access_token", e.wechat(APIOAuth2AccessToken, e.oauth2AccessToken))
	mux.Handle("GET /sns/oauth2/refresh_token", e.wechat(APIOAuth2RefreshToken, e.oauth2RefreshToken))
	mux.Handle("GET /sns/userinfo", e.wechat(APISNSUserInfo, e.snsUserInfo))
	mux.Handle("GET /sns/auth", e.wechat(APISNSAuth, e.snsAuth))
	d("GET /emulator/v1/web/authorizations", e.serveWebAuths)
	d("GET /emulator/v1/web/authorizations/{id}", e.serveWebAuth)
	d("POST /emulator/v1/web/authorizations/{id}", e.serveDecideWebAuth)
}

// pageError is the error page WeChat shows for a bad authorization link
// (it is a page, not JSON: a person reads it).
func pageError(w http.ResponseWriter, errcode int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadRequest)
	pageErrorTmpl.Execute(w, struct {
		Code int
		Msg  string
	}{errcode, msg})
}

var pageErrorTmpl = template.Must(template.New("e").Parse(`<!doctype html><meta charset="utf-8"><title>WeChat emulator: error</title>
<p id="errcode">{{.Code}}</p><p id="errmsg">{{.Msg}}</p>
`))

// servePage is the page a browser is sent to for flow: it checks the
// link as WeChat does, records a pending authorization and waits for the
// phone (or redirects at once when AutoApproveWeb is set).
func (e *Emulator) servePage(flow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.init()
		q := r.URL.Query()
		e.mu.Lock()
		a := e.apps[q.Get("appid")]
		e.mu.Unlock()
		wantKind, scopes := KindOfficialAccount, []string{"snsapi_base", "snsapi_userinfo"}
		if flow == "qrconnect" {
			wantKind, scopes = KindWebsite, []string{"snsapi_login"}
		}
		redirect, rerr := url.Parse(q.Get("redirect_uri"))
		switch {
		case a == nil:
			pageError(w, 10016, "appid不存在 (unknown appid)")
			return
		case a.Kind != wantKind:
			pageError(w, 10005, "此公众号/应用没有该 scope 的权限 (the app is not a "+wantKind+")")
			return
		case !slices.Contains(scopes, q.Get("scope")):
			pageError(w, 10005, "Scope 参数错误或没有 Scope 权限 (scope must be "+strings.Join(scopes, " or ")+")")
			return
		case q.Get("response_type") != "code":
			pageError(w, 10004, "response_type 参数错误 (must be code)")
			return
		case q.Get("redirect_uri") == "" || rerr != nil || redirect.Host == "" || (redirect.Scheme != "https" && redirect.Scheme != "http"):
			pageError(w, 10003, "redirect_uri 参数错误 (not an absolute http(s) URL)")
			return
		case len(a.RedirectDomains) > 0 && !slices.Contains(a.RedirectDomains, redirect.Host):
			pageError(w, 10003, "redirect_uri 域名与后台配置不一致 (host not configured for the app)")
			return
		}
		e.mu.Lock()
		now := e.nowLocked()
		wa := &webAuth{
			WebAuthorization: WebAuthorization{ID: randomString(24, alnum), Flow: flow, AppID: a.AppID,
				Scope: q.Get("scope"), Status: WebPending},
			redirectURI: q.Get("redirect_uri"), state: q.Get("state"), created: now,
		}
		e.addWebAuthLocked(wa)
		if e.AutoApproveWeb != "" {
			e.decideLocked(wa, e.AutoApproveWeb, true, false, now)
		}
		cur := wa.WebAuthorization
		e.mu.Unlock()
		if cur.Redirect != "" {
			http.Redirect(w, r, cur.Redirect, http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		pageTmpl.Execute(w, cur)
	}
}

// pageTmpl stands in for WeChat's authorize page and QR code: it shows the
// authorization's id (what the phone "scans") and follows the redirect
// once the phone decided.
var pageTmpl = template.Must(template.New("p").Parse(`<!doctype html><meta charset="utf-8">
<title>WeChat emulator: {{if eq .Flow "qrconnect"}}scan to log in{{else}}authorize{{end}}</title>
<h1>{{if eq .Flow "qrconnect"}}微信登录 — scan with the simulated phone{{else}}网页授权 — confirm on the simulated phone{{end}}</h1>
<p>app <code>{{.AppID}}</code>, scope <code>{{.Scope}}</code></p>
<p>QR code / authorization id: <code id="authorization">{{.ID}}</code></p>
<p id="status">{{.Status}}</p>
<script>
(async function poll() {
  for (;;) {
    const r = await fetch("/emulator/v1/web/authorizations/{{.ID}}");
    if (r.ok) {
      const a = await r.json();
      document.getElementById("status").textContent = a.status;
      if (a.redirect) { location.replace(a.redirect); return; }
      if (a.status === "expired") return;
    }
    await new Promise(res => setTimeout(res, 300));
  }
})();
</script>
`))

// addWebAuthLocked records wa, forgetting the oldest beyond maxWebAuths.
func (e *Emulator) addWebAuthLocked(wa *webAuth) {
	e.webAuths[wa.ID] = wa
	e.webOrder = append(e.webOrder, wa.ID)
	for len(e.webOrder) > maxWebAuths {
		delete(e.webAuths, e.webOrder[0])
		e.webOrder = e.webOrder[1:]
	}
}

// refreshLocked marks wa expired when nobody answered in time.
func (e *Emulator) refreshLocked(wa *webAuth, now time.Time) {
	if (wa.Status == WebPending || wa.Status == WebScanned) && !now.Before(wa.created.Add(webAuthLifetime)) {
		wa.Status = WebExpired
	}
}

// decideLocked records the phone's answer: approve issues a code for the
// user (WeChat's snapshot-mode virtual user when snapshot is set) and the
// redirect carries it; a refusal redirects with the state alone.
func (e *Emulator) decideLocked(wa *webAuth, user string, approve, snapshot bool, now time.Time) {
	q := url.Values{}
	if approve {
		acct := e.accountLocked(e.apps[wa.AppID], user)
		c := e.newCodeLocked(&code{kind: webCode, acct: acct, scope: wa.Scope, snapshot: snapshot, issued: now})
		q.Set("code", c)
		wa.Status = WebApproved
	} else {
		wa.Status = WebRefused
	}
	q.Set("state", wa.state)
	sep := "?"
	if strings.Contains(wa.redirectURI, "?") {
		sep = "&"
	}
	wa.User = user
	wa.Redirect = wa.redirectURI + sep + q.Encode()
}

func (e *Emulator) serveWebAuths(*http.Request) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.nowLocked()
	out := []WebAuthorization{}
	for _, id := range e.webOrder {
		wa := e.webAuths[id]
		e.refreshLocked(wa, now)
		if wa.Status == WebPending || wa.Status == WebScanned {
			out = append(out, wa.WebAuthorization)
		}
	}
	return map[string][]WebAuthorization{"authorizations": out}, nil
}

func (e *Emulator) webAuthLocked(id string) (*webAuth, error) {
	wa := e.webAuths[id]
	if wa == nil {
		return nil, deviceErr(wxlogin.ENotFound, "", "no web authorization %q", clipName(id))
	}
	e.refreshLocked(wa, e.nowLocked())
	return wa, nil
}

func (e *Emulator) serveWebAuth(r *http.Request) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	wa, err := e.webAuthLocked(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return wa.WebAuthorization, nil
}

// serveDecideWebAuth is the simulated phone: {"user", "action": "scan",
// "approve" or "refuse", "snapshot"}. A QR code is scanned before it is
// approved or refused (approve scans it on the way); an authorization
// decided or expired cannot be decided again.
func (e *Emulator) serveDecideWebAuth(r *http.Request) (any, error) {
	var req struct {
		User     string `json:"user"`
		Action   string `json:"action"`
		Snapshot bool   `json:"snapshot"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if !validUserName(req.User) {
		return nil, deviceErr(wxlogin.EInvalidRequest, "", "user must be 1 to 64 characters without control characters or slashes")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	wa, err := e.webAuthLocked(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if wa.Status != WebPending && wa.Status != WebScanned {
		return nil, deviceErr(wxlogin.EInvalidRequest, "", "the authorization is %s already", wa.Status)
	}
	if wa.Status == WebScanned && wa.User != req.User {
		return nil, deviceErr(wxlogin.EInvalidRequest, "", "the QR code was scanned by another user")
	}
	now := e.nowLocked()
	switch req.Action {
	case "scan":
		if wa.Flow != "qrconnect" {
			return nil, deviceErr(wxlogin.EInvalidRequest, "", "only a QR code (qrconnect) is scanned")
		}
		wa.Status, wa.User = WebScanned, req.User
	case "approve":
		e.decideLocked(wa, req.User, true, req.Snapshot, now)
	case "refuse":
		e.decideLocked(wa, req.User, false, false, now)
	default:
		return nil, deviceErr(wxlogin.EInvalidRequest, "", "action must be scan, approve or refuse")
	}
	return wa.WebAuthorization, nil
}

func clipName(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// webTokenAnswer is sns/oauth2/access_token's (and refresh_token's) answer.
type webTokenAnswer struct {
	AccessToken    string `json:"access_token"`
	ExpiresIn      int    `json:"expires_in"`
	RefreshToken   string `json:"refresh_token"`
	OpenID         string `json:"openid"`
	Scope          string `json:"scope"`
	IsSnapshotUser int    `json:"is_snapshotuser,omitempty"`
	UnionID        string `json:"unionid,omitempty"`
}

func (t *webToken) answer(now time.Time) webTokenAnswer {
	a := webTokenAnswer{AccessToken: t.value, ExpiresIn: int(t.expires.Sub(now) / time.Second),
		RefreshToken: t.refresh, OpenID: t.openID, Scope: t.scope}
	if t.snapshot {
		a.IsSnapshotUser = 1
	} else if t.scope != "snsapi_base" {
		// WeChat gives the unionid only to a scope that shows the profile.
		a.UnionID = t.acct.unionID()
	}
	return a
}

// oauth2AccessToken is GET /sns/oauth2/access_token: a web code, once,
// within its lifetime, for the app that issued it.
func (e *Emulator) oauth2AccessToken(r *http.Request, _ []byte, now time.Time) (any, *wxError) {
	q := r.URL.Query()
	a, werr := e.appLocked(q.Get("appid"), q.Get("secret"))
	if werr != nil {
		return nil, werr
	}
	if q.Get("grant_type") != "authorization_code" {
		return nil, errc(40002)
	}
	if q.Get("code") == "" {
		return nil, errc(41008)
	}
	c, cerr := e.usableCode(q.Get("code"), webCode, a, now)
	if cerr != nil {
		return nil, cerr
	}
	c.used = true
	t := &webToken{
		value: randomString(88, alnum), refresh: randomString(88, alnum), acct: c.acct,
		openID: c.acct.openID, scope: c.scope, snapshot: c.snapshot,
		expires: now.Add(WebTokenLifetime), refresh2: now.Add(WebRefreshLifetime),
	}
	if c.snapshot {
		// Not the person's openid: WeChat's stand-in for a page opened in
		// snapshot mode.
		t.openID = derive("o", 28, "snapshot", a.AppID, c.acct.person.name)
	}
	e.webTokens[t.value] = t
	e.webRefresh[t.refresh] = t
	return t.answer(now), nil
}

// oauth2RefreshToken is GET /sns/oauth2/refresh_token: a new access token
// for the same refresh token, which lives 30 days.
func (e *Emulator) oauth2RefreshToken(r *http.Request, _ []byte, now time.Time) (any, *wxError) {
	q := r.URL.Query()
	if q.Get("appid") == "" {
		return nil, errc(41002)
	}
	if q.Get("grant_type") != "refresh_token" {
		return nil, errc(40002)
	}
	t := e.webRefresh[q.Get("refresh_token")]
	switch {
	case t == nil || t.acct.app.AppID != q.Get("appid"):
		return nil, errc(40030)
	case !now.Before(t.refresh2):
		return nil, errc(42002)
	}
	delete(e.webTokens, t.value)
	t.value, t.expires = randomString(88, alnum), now.Add(WebTokenLifetime)
	e.webTokens[t.value] = t
	return t.answer(now), nil
}

// webTokenLocked checks a web access token and the openid it is used for.
func (e *Emulator) webTokenLocked(q url.Values, now time.Time) (*webToken, *wxError) {
	t := e.webTokens[q.Get("access_token")]
	switch {
	case q.Get("access_token") == "":
		return nil, errc(41001)
	case t == nil:
		return nil, errc(40001)
	case !now.Before(t.expires):
		return nil, errc(42001)
	case q.Get("openid") != t.openID:
		return nil, errc(40003)
	}
	return t, nil
}

// snsUserInfo is GET /sns/userinfo: the profile, for a token whose scope
// shows it (snsapi_base: 48001). Sex and places are empty, as WeChat has
// given them since late 2021.
func (e *Emulator) snsUserInfo(r *http.Request, _ []byte, now time.Time) (any, *wxError) {
	t, werr := e.webTokenLocked(r.URL.Query(), now)
	if werr != nil {
		return nil, werr
	}
	if t.scope == "snsapi_base" {
		return nil, errc(48001)
	}
	u := t.acct.person.user
	ans := struct {
		OpenID     string   `json:"openid"`
		Nickname   string   `json:"nickname"`
		Sex        int      `json:"sex"`
		Province   string   `json:"province"`
		City       string   `json:"city"`
		Country    string   `json:"country"`
		HeadImgURL string   `json:"headimgurl"`
		Privilege  []string `json:"privilege"`
		UnionID    string   `json:"unionid,omitempty"`
	}{OpenID: t.openID, Nickname: u.NickName, HeadImgURL: u.AvatarURL, Privilege: []string{}}
	if t.snapshot {
		ans.Nickname, ans.HeadImgURL = "微信用户", ""
	} else {
		ans.UnionID = t.acct.unionID()
	}
	return ans, nil
}

// snsAuth is GET /sns/auth: whether a web access token is still valid.
func (e *Emulator) snsAuth(r *http.Request, _ []byte, now time.Time) (any, *wxError) {
	if _, werr := e.webTokenLocked(r.URL.Query(), now); werr != nil {
		return nil, werr
	}
	return okAnswer, nil
}

// WebCode is a web authorization of appid approved by user at once, as
// the phone would, and returns its code: for tests that need only the
// code. scope "" is the kind's default; snapshot makes the code WeChat's
// snapshot-mode virtual user's.
func (e *Emulator) WebCode(appid, user, scope string, snapshot bool) (string, error) {
	e.init()
	if !validUserName(user) {
		return "", deviceErr(wxlogin.EInvalidRequest, "", "user must be 1 to 64 characters without control characters or slashes")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.apps[appid]
	if a == nil || (a.Kind != KindOfficialAccount && a.Kind != KindWebsite) {
		return "", deviceErr(wxlogin.EUnknownApp, "", "no web app %q", clipName(appid))
	}
	if scope == "" {
		scope = "snsapi_base"
		if a.Kind == KindWebsite {
			scope = "snsapi_login"
		}
	}
	now := e.nowLocked()
	return e.newCodeLocked(&code{kind: webCode, acct: e.accountLocked(a, user), scope: scope, snapshot: snapshot, issued: now}), nil
}
