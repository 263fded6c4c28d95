package httpapi_test

// End-to-end tests of the web logins: a browser (an http.Client with a
// cookie jar that follows redirects one at a time) against wxlogin over
// TLS (the session cookie is Secure), the emulator's authorize page and
// QR code over HTTP, and the simulated phone through the emulator's device
// API. Every answer of wxlogin is checked against docs/openapi.yaml.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/wechat"
)

const (
	oaApp  = "wxdec0de00000000a1" // emulator.DevWebApps: the Official Account
	webApp = "wxdec0de00000000b1" // and the website app
)

// webWorld is a world whose wxlogin is served over TLS beside the app's
// pages (/app/), as a reverse proxy puts them on one site.
type webWorld struct {
	*world
	base  string // https://host:port of wxlogin and the app's pages
	front *httptest.Server
	emURL string
	page  string // the allowed redirect_uri
}

func newWebWorld(t *testing.T, opts ...option) *webWorld {
	t.Helper()
	return newWebWorldOn(t, onSQLite, opts...)
}

// newWebWorldOn is a webWorld whose store of record is kind.
func newWebWorldOn(t *testing.T, kind storeKind, opts ...option) *webWorld {
	t.Helper()
	front := httptest.NewUnstartedServer(nil)
	ww := &webWorld{front: front, base: "https://" + front.Listener.Addr().String()}
	ww.page = ww.base + "/app/after-login"
	all := append([]option{func(w *world, a *auth.Config, _ *httpapi.Config) {
		w.em.Apps = append(emulator.DevApps(), emulator.DevWebApps()...)
		ww.emURL = a.WeChat.(*wechat.Client).BaseURL
		a.ConnectURL = ww.emURL
		for i := range a.Apps {
			if a.Apps[i].AppID == app1 || a.Apps[i].AppID == app2 {
				a.Apps[i].OpenPlatform = "dev" // the emulator's bound apps
			}
		}
		for _, wa := range emulator.DevWebApps() {
			a.Apps = append(a.Apps, wxlogin.App{AppID: wa.AppID, Secret: wxlogin.Secret(wa.Secret),
				Kind: wxlogin.AppKind(wa.Kind), OpenPlatform: "dev", RedirectURIs: []string{ww.page, ww.page + "?next=%2Fcart"}})
		}
	}}, opts...)
	ww.world = newWorldOn(t, kind, all...)
	mux := http.NewServeMux()
	mux.Handle("/", ww.srv.Config.Handler)
	mux.HandleFunc("/app/", func(rw http.ResponseWriter, r *http.Request) {
		io.WriteString(rw, "the app's page: "+r.URL.RawQuery)
	})
	front.Config.Handler = mux
	front.StartTLS()
	t.Cleanup(front.Close)
	return ww
}

// browser is one browser: its cookies and its User-Agent.
type browser struct {
	t      *testing.T
	ww     *webWorld
	client *http.Client
	ua     string
}

func (ww *webWorld) browser(ua string) *browser {
	jar, _ := cookiejar.New(nil)
	c := new(http.Client)
	*c = *ww.front.Client() // its transport trusts the test certificate
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: ww.t.(*testing.T), ww: ww, client: c, ua: ua}
}

// do sends one request (no redirect followed); wxlogin's answers are
// checked against the OpenAPI document.
func (b *browser) do(method, rawURL string, header ...string) response {
	b.t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("User-Agent", b.ua)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if strings.HasPrefix(rawURL, b.ww.base+"/v1/") {
		httpapi.CheckSpec(b.t, req, res.StatusCode, res.Header, body)
	}
	return response{res.StatusCode, res.Header, body}
}

// cookie returns the value of the browser's cookie name for wxlogin's site.
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.ww.base + "/")
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// location returns a redirect's target, failing unless r is a 302.
func location(t *testing.T, r response) string {
	t.Helper()
	if r.status != http.StatusFound {
		t.Fatalf("status %d, want 302; body %s", r.status, r.body)
	}
	return r.header.Get("Location")
}

var authorizationID = regexp.MustCompile(`id="authorization">([A-Za-z0-9]+)<`)

// start opens /v1/web/authorize and WeChat's page, and returns the id of
// the authorization the phone is asked about.
func (b *browser) start(appid, scope, redirect string) string {
	b.t.Helper()
	q := url.Values{"appid": {appid}, "redirect_uri": {redirect}}
	if scope != "" {
		q.Set("scope", scope)
	}
	to := location(b.t, b.do("GET", b.ww.base+"/v1/web/authorize?"+q.Encode()))
	if !strings.HasPrefix(to, b.ww.emURL+"/connect/") || !strings.HasSuffix(to, "#wechat_redirect") {
		b.t.Fatalf("authorize redirects to %q, not WeChat's page", to)
	}
	page := b.do("GET", to)
	m := authorizationID.FindSubmatch(page.body)
	if page.status != 200 || m == nil {
		b.t.Fatalf("WeChat's page: %d %s", page.status, page.body)
	}
	return string(m[1])
}

// phone is the simulated phone's answer through the device API; it
// returns where WeChat's page sends the browser.
func (ww *webWorld) phone(t *testing.T, id, user, action string, snapshot bool) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"user": user, "action": action, "snapshot": snapshot})
	res, err := http.Post(ww.emURL+"/emulator/v1/web/authorizations/"+id, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var a emulator.WebAuthorization
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil || res.StatusCode != 200 {
		t.Fatalf("phone %s: %d %v", action, res.StatusCode, err)
	}
	return a.Redirect
}

// login runs a whole web login as user and returns the final page's URL.
func (b *browser) login(appid, scope, user string) string {
	b.t.Helper()
	id := b.start(appid, scope, b.ww.page)
	if appid == webApp {
		b.ww.phone(b.t, id, user, "scan", false)
	}
	back := b.ww.phone(b.t, id, user, "approve", false)
	return location(b.t, b.do("GET", back))
}

// setCookie finds the Set-Cookie of name in r.
func setCookie(t *testing.T, r response, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no Set-Cookie %s in %v", name, r.header.Values("Set-Cookie"))
	return nil
}

// TestWebOfficialAccountLogin is an H5 page in WeChat, both scopes: the
// redirect to WeChat, the user's approval on the phone, the callback, the
// cookie and its flags, forward-auth by cookie, /v1/me, logout.
func TestWebOfficialAccountLogin(t *testing.T) { eachStore(t, testWebOfficialAccountLogin) }

func testWebOfficialAccountLogin(t *testing.T, kind storeKind) {
	ww := newWebWorldOn(t, kind)
	for _, scope := range []string{"snsapi_base", "snsapi_userinfo"} {
		t.Run(scope, func(t *testing.T) {
			b := ww.browser("Mozilla/5.0 MicroMessenger/8.0")
			id := b.start(oaApp, scope, ww.page)
			back := ww.phone(t, id, "alice", "approve", false)
			cb := b.do("GET", back)
			if to := location(t, cb); to != ww.page {
				t.Fatalf("callback redirects to %q, want %q", to, ww.page)
			}
			sc := setCookie(t, cb, httpapi.SessionCookie)
			if !sc.HttpOnly || !sc.Secure || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.MaxAge <= 0 {
				t.Errorf("session cookie flags: %+v", sc)
			}
			cc := setCookie(t, cb, httpapi.CSRFCookie)
			if cc.HttpOnly || !cc.Secure || cc.SameSite != http.SameSiteLaxMode || cc.Path != "/" || cc.Value == "" || cc.Value == sc.Value {
				t.Errorf("csrf cookie: %+v", cc)
			}
			if !strings.HasPrefix(sc.Value, "wxl_") {
				t.Errorf("session cookie is not a login token")
			}

			fa := b.do("GET", ww.base+"/v1/auth")
			fa.ok(t, 200, nil)
			openid := fa.header.Get("X-Wxlogin-Openid")
			if openid == "" || fa.header.Get("X-Wxlogin-Appid") != oaApp {
				t.Fatalf("forward-auth headers %v", fa.header)
			}
			// snsapi_base gives no unionid; snsapi_userinfo gives the person's,
			// the same as in the mini programs of the same Open Platform account.
			mini := ww.login(app1, "alice")
			union := fa.header.Get("X-Wxlogin-Unionid")
			if scope == "snsapi_base" && union != "" || scope == "snsapi_userinfo" && union != mini.User.UnionID {
				t.Errorf("unionid %q (mini program's %q) with %s", union, mini.User.UnionID, scope)
			}

			var me struct {
				OpenID   string          `json:"openid"`
				UserInfo json.RawMessage `json:"user_info"`
			}
			b.do("GET", ww.base+"/v1/me").ok(t, 200, &me)
			if me.OpenID != openid {
				t.Errorf("/v1/me openid %q, forward-auth %q", me.OpenID, openid)
			}
			if scope == "snsapi_userinfo" && !bytes.Contains(me.UserInfo, []byte(`"nickname":"alice"`)) {
				t.Errorf("user_info %s: sns/userinfo's profile not kept", me.UserInfo)
			}

			// Logout needs the CSRF token (POST), then clears the cookie.
			b.do("POST", ww.base+"/v1/web/logout").fails(t, 403, wxlogin.ECSRFRejected)
			out := b.do("POST", ww.base+"/v1/web/logout", httpapi.CSRFHeader, b.cookie(httpapi.CSRFCookie))
			if out.status != 204 {
				t.Fatalf("logout: %d %s", out.status, out.body)
			}
			if c := setCookie(t, out, httpapi.SessionCookie); c.MaxAge >= 0 {
				t.Errorf("logout keeps the session cookie: %+v", c)
			}
			if b.cookie(httpapi.SessionCookie) != "" {
				t.Errorf("the browser still holds the session cookie")
			}
			// The token itself is revoked, not only the cookie dropped.
			ww.request("GET", "/v1/auth", sc.Value, nil).fails(t, 401, wxlogin.ESessionInvalid)
		})
	}
}

// TestWebWebsiteQRLogin is a desktop browser's QR-code login: the phone
// scans, then confirms.
func TestWebWebsiteQRLogin(t *testing.T) {
	t.Parallel()
	ww := newWebWorld(t)
	b := ww.browser("Mozilla/5.0 (X11; Linux x86_64) Chrome/130")
	id := b.start(webApp, "", ww.page)
	if !strings.Contains(ww.phoneGet(t, id), `"status":"pending"`) {
		t.Fatal("a new QR code is not pending")
	}
	ww.phone(t, id, "bob", "scan", false)
	if !strings.Contains(ww.phoneGet(t, id), `"status":"scanned"`) {
		t.Fatal("a scanned QR code is not scanned")
	}
	back := ww.phone(t, id, "bob", "approve", false)
	if to := location(t, b.do("GET", back)); to != ww.page {
		t.Fatalf("callback redirects to %q", to)
	}
	fa := b.do("GET", ww.base+"/v1/auth")
	fa.ok(t, 200, nil)
	mini := ww.login(app2, "bob")
	if fa.header.Get("X-Wxlogin-Appid") != webApp || fa.header.Get("X-Wxlogin-Unionid") != mini.User.UnionID {
		t.Errorf("headers %v, mini program unionid %q", fa.header, mini.User.UnionID)
	}
	// The website app's scope is snsapi_login alone.
	b.do("GET", ww.base+"/v1/web/authorize?appid="+webApp+"&scope=snsapi_base&redirect_uri="+url.QueryEscape(ww.page)).
		fails(t, 400, wxlogin.EInvalidRequest)
}

func (ww *webWorld) phoneGet(t *testing.T, id string) string {
	t.Helper()
	res, err := http.Get(ww.emURL + "/emulator/v1/web/authorizations/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestWebRedirectAllowList: only the app's exact redirect_uris; anything
// else is refused before any redirect, so the server is no open redirect.
func TestWebRedirectAllowList(t *testing.T) {
	t.Parallel()
	ww := newWebWorld(t)
	b := ww.browser("ua")
	for _, bad := range []string{
		"https://evil.example/after-login",
		ww.page + "/../../evil",
		ww.page + "x",
		ww.page + "?next=https://evil.example",
		strings.Replace(ww.page, "https://", "http://", 1),
		"",
	} {
		q := url.Values{"appid": {oaApp}, "redirect_uri": {bad}}
		r := b.do("GET", ww.base+"/v1/web/authorize?"+q.Encode())
		want := wxlogin.ERedirectNotAllowed
		if bad == "" {
			want = wxlogin.EInvalidRequest
		}
		r.fails(t, 400, want)
		if r.header.Get("Location") != "" || len(r.header.Values("Set-Cookie")) != 0 {
			t.Errorf("%q: a refused authorize still redirects or sets a cookie", bad)
		}
	}
	// A mini program has no web login; an unknown app is unknown.
	b.do("GET", ww.base+"/v1/web/authorize?appid="+app1+"&redirect_uri="+url.QueryEscape(ww.page)).fails(t, 400, wxlogin.EInvalidRequest)
	b.do("GET", ww.base+"/v1/web/authorize?appid=wxnope&redirect_uri="+url.QueryEscape(ww.page)).fails(t, 400, wxlogin.EUnknownApp)
	// A web app cannot log in with a wx.login code.
	ww.request("POST", "/v1/login", "", map[string]string{"appid": oaApp, "code": "x"}).fails(t, 400, wxlogin.EInvalidRequest)
	// An allowed page with its query is kept as it is.
	if to := b.login(oaApp, "", "carol"); to != ww.page {
		t.Errorf("login returns to %q", to)
	}
}

// TestWebState: the callback is honoured only in the browser that started
// the login, once, with the state it was given, within its lifetime.
func TestWebState(t *testing.T) {
	t.Parallel()
	ww := newWebWorld(t)

	t.Run("another browser", func(t *testing.T) {
		// The classic login CSRF: an attacker's own callback URL, opened in
		// the victim's browser, must not log the victim in as the attacker.
		attacker := ww.browser("ua")
		id := attacker.start(oaApp, "", ww.page)
		back := ww.phone(t, id, "mallory", "approve", false)
		victim := ww.browser("ua")
		victim.do("GET", back).fails(t, 400, wxlogin.EInvalidState)
		if victim.cookie(httpapi.SessionCookie) != "" {
			t.Fatal("the victim got a session")
		}
	})
	t.Run("wrong state", func(t *testing.T) {
		b := ww.browser("ua")
		id := b.start(oaApp, "", ww.page)
		back := ww.phone(t, id, "dave", "approve", false)
		u, _ := url.Parse(back)
		q := u.Query()
		q.Set("state", "forged"+q.Get("state"))
		u.RawQuery = q.Encode()
		b.do("GET", u.String()).fails(t, 400, wxlogin.EInvalidState)
	})
	t.Run("replay in the same browser", func(t *testing.T) {
		b := ww.browser("ua")
		id := b.start(oaApp, "", ww.page)
		back := ww.phone(t, id, "erin", "approve", false)
		location(t, b.do("GET", back))
		// The state cookie was used up by the first callback.
		b.do("GET", back).fails(t, 400, wxlogin.EInvalidState)
	})
	t.Run("forged state cookie", func(t *testing.T) {
		b := ww.browser("ua")
		id := b.start(oaApp, "", ww.page)
		back := ww.phone(t, id, "fay", "approve", false)
		u, _ := url.Parse(ww.base + "/v1/web/")
		b.client.Jar.SetCookies(u, []*http.Cookie{{Name: httpapi.StateCookie, Value: "AAAA" + b.cookie(httpapi.StateCookie), Path: "/v1/web/"}})
		b.do("GET", back).fails(t, 400, wxlogin.EInvalidState)
	})
}

// TestWebStateExpires: a login left for longer than the state lives.
func TestWebStateExpires(t *testing.T) {
	t.Parallel()
	ww := newWebWorld(t)
	b := ww.browser("ua")
	id := b.start(oaApp, "", ww.page)
	back := ww.phone(t, id, "gus", "approve", false)
	ww.clock.Advance(auth.WebStateLifetime + time.Second)
	b.do("GET", back).fails(t, 400, wxlogin.EInvalidState)
}

// TestWebCodeRules: WeChat's code rules reach the page as wxlogin_error:
// a code used by someone else (40163 never asked), an expired code
// (40029), a refusal, and the snapshot-mode virtual user, which never
// becomes an account.
func TestWebCodeRules(t *testing.T) {
	t.Parallel()
	ww := newWebWorld(t)
	errorOf := func(t *testing.T, to string) string {
		t.Helper()
		u, err := url.Parse(to)
		if err != nil || !strings.HasPrefix(to, ww.page) {
			t.Fatalf("redirect %q is not the app's page", to)
		}
		return u.Query().Get("wxlogin_error")
	}

	t.Run("stolen code", func(t *testing.T) {
		victim := ww.browser("victim")
		id := victim.start(oaApp, "", ww.page)
		back := ww.phone(t, id, "hana", "approve", false)
		location(t, victim.do("GET", back))
		// The attacker saw the code and replays it with a state of its own.
		u, _ := url.Parse(back)
		attacker := ww.browser("attacker")
		aid := attacker.start(oaApp, "", ww.page)
		aback, _ := url.Parse(ww.phone(t, aid, "mallory", "refuse", false))
		q := aback.Query()
		q.Set("code", u.Query().Get("code"))
		aback.RawQuery = q.Encode()
		before := ww.em.Stats().APIs[emulator.APIOAuth2AccessToken].Calls
		if e := errorOf(t, location(t, attacker.do("GET", aback.String()))); e != wxlogin.EInvalidCode {
			t.Fatalf("a stolen code answers %q", e)
		}
		if attacker.cookie(httpapi.SessionCookie) != "" {
			t.Fatal("the attacker got a session")
		}
		if after := ww.em.Stats().APIs[emulator.APIOAuth2AccessToken].Calls; after != before {
			t.Errorf("the replay reached WeChat (%d calls, was %d)", after, before)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		b := ww.browser("ua")
		id := b.start(oaApp, "", ww.page)
		back := ww.phone(t, id, "ivan", "approve", false)
		ww.clock.Advance(6 * time.Minute)
		if e := errorOf(t, location(t, b.do("GET", back))); e != wxlogin.EInvalidCode {
			t.Fatalf("an expired code answers %q", e)
		}
	})
	t.Run("refused", func(t *testing.T) {
		b := ww.browser("ua")
		id := b.start(oaApp, "snsapi_userinfo", ww.page)
		back := ww.phone(t, id, "jo", "refuse", false)
		if e := errorOf(t, location(t, b.do("GET", back))); e != wxlogin.EAccessDenied {
			t.Fatalf("a refusal answers %q", e)
		}
	})
	t.Run("snapshot user", func(t *testing.T) {
		b := ww.browser("ua")
		id := b.start(oaApp, "", ww.page)
		back := ww.phone(t, id, "kim", "approve", true)
		cb := b.do("GET", back)
		if e := errorOf(t, location(t, cb)); e != wxlogin.ESnapshotUser {
			t.Fatalf("a snapshot user answers %q", e)
		}
		if len(cb.header.Values("Set-Cookie")) != 1 || b.cookie(httpapi.SessionCookie) != "" {
			t.Errorf("a snapshot user got cookies: %v", cb.header.Values("Set-Cookie"))
		}
		var found struct {
			Users []json.RawMessage `json:"users"`
		}
		ww.request("GET", "/v1/admin/users?appid="+oaApp, adminToken, nil).ok(t, 200, &found)
		for _, u := range found.Users {
			if bytes.Contains(u, []byte(`"kim"`)) {
				t.Errorf("a snapshot user became an account: %s", u)
			}
		}
		// Only the snapshot user is refused: the same person opening the
		// page for real logs in.
		if to := b.login(oaApp, "", "kim"); to != ww.page {
			t.Errorf("the real user's login returns to %q", to)
		}
	})
}

// TestWebCookieCSRFAtForwardAuth: a cookie passes forward-auth for safe
// methods; for unsafe ones (the request's own, or the method a proxy says
// it guards) only with the session's CSRF token. The Bearer path is as
// before.
func TestWebCookieCSRFAtForwardAuth(t *testing.T) {
	t.Parallel()
	ww := newWebWorld(t)
	b := ww.browser("ua")
	b.login(oaApp, "", "lee")
	csrf := b.cookie(httpapi.CSRFCookie)
	auth := ww.base + "/v1/auth"
	for _, tc := range []struct {
		name   string
		method string
		header []string
		want   int
	}{
		{"GET", "GET", nil, 200},
		{"HEAD via nginx", "HEAD", nil, 200},
		{"POST via nginx", "POST", nil, 403},
		{"POST via nginx with the token", "POST", []string{httpapi.CSRFHeader, csrf}, 200},
		{"POST via nginx with a wrong token", "POST", []string{httpapi.CSRFHeader, csrf + "x"}, 403},
		{"POST via Traefik/Caddy", "GET", []string{"X-Forwarded-Method", "POST"}, 403},
		{"DELETE via nginx's X-Original-Method", "GET", []string{"X-Original-Method", "DELETE"}, 403},
		{"POST disguised as GET", "POST", []string{"X-Forwarded-Method", "GET"}, 403},
		{"POST via Traefik with the token", "GET", []string{"X-Forwarded-Method", "POST", httpapi.CSRFHeader, csrf}, 200},
		{"GET via Traefik", "GET", []string{"X-Forwarded-Method", "GET"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := b.do(tc.method, auth, tc.header...)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d; body %s", r.status, tc.want, r.body)
			}
			if tc.want == 403 {
				r.fails(t, 403, wxlogin.ECSRFRejected)
			}
		})
	}
	// Another session's CSRF token does not fit this one.
	other := ww.browser("ua2")
	other.login(oaApp, "", "mo")
	if r := b.do("POST", auth, httpapi.CSRFHeader, other.cookie(httpapi.CSRFCookie)); r.status != 403 {
		t.Errorf("another session's CSRF token passes: %d", r.status)
	}
	// A Bearer token needs no CSRF token: no browser adds it by itself.
	mini := ww.login(app1, "lee")
	ww.request("POST", "/v1/auth", mini.Token, nil).ok(t, 200, nil)
}

// meAccount is what GET /v1/me says of the account.
type meAccount struct {
	ID         string `json:"id"`
	AccountID  string `json:"account_id"`
	Identities []struct {
		UserID string `json:"user_id"`
		AppID  string `json:"appid"`
		Kind   string `json:"kind"`
	} `json:"identities"`
}

// TestWebAccounts: one account per person across mini programs, Official
// Account pages and websites of one Open Platform account; a unionid that
// arrives late merges two accounts (the older stays, an event says so, and
// forward-auth and the admin API show only the survivor); erasure of one
// identity or the whole account.
func TestWebAccounts(t *testing.T) { eachStore(t, testWebAccounts) }

func testWebAccounts(t *testing.T, kind storeKind) {
	ww := newWebWorldOn(t, kind)
	accountOf := func(r response) string {
		t.Helper()
		r.ok(t, 200, nil)
		return r.header.Get("X-Wxlogin-Account-Id")
	}

	t.Run("linked whichever came first", func(t *testing.T) {
		mini := ww.login(app1, "nina")
		acct := accountOf(ww.request("GET", "/v1/auth", mini.Token, nil))
		if !strings.HasPrefix(acct, "acc_") {
			t.Fatalf("account id %q", acct)
		}
		b := ww.browser("ua")
		b.login(oaApp, "snsapi_userinfo", "nina")
		if got := accountOf(b.do("GET", ww.base+"/v1/auth")); got != acct {
			t.Errorf("the Official Account identity is account %q, the mini program's %q", got, acct)
		}
		site := ww.browser("desktop")
		site.login(webApp, "", "nina")
		if got := accountOf(site.do("GET", ww.base+"/v1/auth")); got != acct {
			t.Errorf("the website identity is account %q, want %q", got, acct)
		}
		var me meAccount
		b.do("GET", ww.base+"/v1/me").ok(t, 200, &me)
		if me.AccountID != acct || len(me.Identities) != 3 || me.Identities[0].AppID != app1 ||
			me.Identities[1].Kind != "official_account" || me.Identities[2].Kind != "website" {
			t.Errorf("/v1/me: %+v", me)
		}
		// A mini program of no Open Platform account is an account of its own.
		other := ww.login(app3, "nina")
		if got := accountOf(ww.request("GET", "/v1/auth", other.Token, nil)); got == acct {
			t.Error("an unbound app's user joined the account")
		}
	})

	t.Run("late unionid merges", func(t *testing.T) {
		b := ww.browser("ua")
		b.login(oaApp, "snsapi_base", "omar") // openid only: an account of its own
		older := accountOf(b.do("GET", ww.base+"/v1/auth"))
		ww.clock.Advance(time.Second)
		mini := ww.login(app2, "omar") // the unionid, but nobody else has it yet
		newer := accountOf(ww.request("GET", "/v1/auth", mini.Token, nil))
		if older == newer {
			t.Fatal("the two identities share an account before any unionid links them")
		}
		// The page asks snsapi_userinfo: the Official Account user's unionid
		// arrives, and the two accounts merge into the older.
		b.login(oaApp, "snsapi_userinfo", "omar")
		if got := accountOf(ww.request("GET", "/v1/auth", mini.Token, nil)); got != older {
			t.Errorf("after the merge the mini program session says %q, want the older %q", got, older)
		}
		if got := accountOf(b.do("GET", ww.base+"/v1/auth")); got != older {
			t.Errorf("the web session says %q, want %q", got, older)
		}
		logs := ww.logs.String()
		if !strings.Contains(logs, `"event":"account_merged"`) || !strings.Contains(logs, `"merged_account_id":"`+newer+`"`) ||
			!strings.Contains(logs, `"account_id":"`+older+`"`) {
			t.Errorf("no merge event naming both accounts")
		}
		var found struct {
			Users []struct {
				ID string `json:"id"`
			} `json:"users"`
		}
		ww.request("GET", "/v1/admin/users?account_id="+older, adminToken, nil).ok(t, 200, &found)
		if len(found.Users) != 2 {
			t.Errorf("the surviving account has %d users, want 2", len(found.Users))
		}
		ww.request("GET", "/v1/admin/users?account_id="+newer, adminToken, nil).ok(t, 200, &found)
		if len(found.Users) != 0 {
			t.Errorf("the merged account still lists %d users", len(found.Users))
		}
	})

	t.Run("erase one identity or the account", func(t *testing.T) {
		mini := ww.login(app1, "pia")
		b := ww.browser("ua")
		b.login(oaApp, "snsapi_userinfo", "pia")
		site := ww.browser("desktop")
		site.login(webApp, "", "pia")
		ww.request("DELETE", "/v1/me?scope=everything", mini.Token, nil).fails(t, 400, wxlogin.EInvalidRequest)
		// One identity: the mini program's user goes, the others stay.
		if r := ww.request("DELETE", "/v1/me", mini.Token, nil); r.status != 204 {
			t.Fatalf("erase identity: %d %s", r.status, r.body)
		}
		ww.request("GET", "/v1/auth", mini.Token, nil).fails(t, 401, wxlogin.ESessionInvalid)
		var me meAccount
		b.do("GET", ww.base+"/v1/me").ok(t, 200, &me)
		if len(me.Identities) != 2 {
			t.Fatalf("after erasing one identity: %+v", me)
		}
		// The account, by cookie: DELETE needs the CSRF token.
		b.do("DELETE", ww.base+"/v1/me?scope=account").fails(t, 403, wxlogin.ECSRFRejected)
		if r := b.do("DELETE", ww.base+"/v1/me?scope=account", httpapi.CSRFHeader, b.cookie(httpapi.CSRFCookie)); r.status != 204 {
			t.Fatalf("erase account: %d %s", r.status, r.body)
		}
		for _, x := range []*browser{b, site} {
			x.do("GET", ww.base+"/v1/auth").fails(t, 401, wxlogin.ESessionInvalid)
		}
		for _, u := range me.Identities {
			ww.request("GET", "/v1/admin/users/"+u.UserID, adminToken, nil).fails(t, 404, wxlogin.ENotFound)
		}
	})
}

// TestWebBehindTLSProxy: wxlogin over plain HTTP behind a proxy that
// terminates TLS and names the upstream as Host, with no public_url. The
// callback that WeChat is given is the browser's https address, from the
// trusted proxy's X-Forwarded-Proto and X-Forwarded-Host; WeChat (the
// emulator, with the proxy's host as the app's callback domain) accepts
// it, and the login completes through the proxy. The same headers from a
// client that is no trusted proxy change nothing.
func TestWebBehindTLSProxy(t *testing.T) {
	t.Parallel()
	for _, trusted := range []bool{true, false} {
		t.Run(fmt.Sprintf("trusted=%v", trusted), func(t *testing.T) {
			t.Parallel()
			proxy := httptest.NewUnstartedServer(nil)
			proxyHost := proxy.Listener.Addr().String()
			ww := newWebWorld(t, func(w *world, _ *auth.Config, h *httpapi.Config) {
				if trusted {
					h.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
				}
				for i := range w.em.Apps {
					if w.em.Apps[i].Kind == emulator.KindOfficialAccount {
						w.em.Apps[i].RedirectDomains = []string{proxyHost}
					}
				}
			})
			upstream, _ := url.Parse(ww.srv.URL)
			proxy.Config.Handler = &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
				r.SetURL(upstream) // Host becomes the upstream's, as proxies do by default
				r.SetXForwarded()  // X-Forwarded-For, -Host and -Proto: https
			}}
			proxy.StartTLS()
			t.Cleanup(proxy.Close)

			b := ww.browser("Mozilla/5.0 MicroMessenger/8.0")
			q := url.Values{"appid": {oaApp}, "redirect_uri": {ww.page}, "scope": {"snsapi_base"}}
			to, err := url.Parse(location(t, b.do("GET", proxy.URL+"/v1/web/authorize?"+q.Encode())))
			if err != nil {
				t.Fatal(err)
			}
			callback := to.Query().Get("redirect_uri")
			page := b.do("GET", to.String())
			if !trusted {
				// The upstream's own address, which WeChat refuses.
				if want := ww.srv.URL + "/v1/web/callback"; callback != want {
					t.Errorf("callback %q from an untrusted proxy, want %q", callback, want)
				}
				if page.status == 200 || !bytes.Contains(page.body, []byte("10003")) {
					t.Errorf("WeChat's page accepted the upstream's callback: %d %s", page.status, page.body)
				}
				return
			}
			if want := "https://" + proxyHost + "/v1/web/callback"; callback != want {
				t.Fatalf("callback %q, want %q", callback, want)
			}
			m := authorizationID.FindSubmatch(page.body)
			if page.status != 200 || m == nil {
				t.Fatalf("WeChat's page: %d %s", page.status, page.body)
			}
			back := ww.phone(t, string(m[1]), "alice", "approve", false)
			if !strings.HasPrefix(back, callback+"?") {
				t.Fatalf("WeChat sends the browser to %q, not the callback", back)
			}
			cb := b.do("GET", back)
			if got := location(t, cb); got != ww.page {
				t.Fatalf("callback redirects to %q, want %q", got, ww.page)
			}
			if setCookie(t, cb, httpapi.SessionCookie).Value == "" {
				t.Fatal("no session after the callback")
			}
		})
	}
}

// TestWebForgedForwardedHeaders: a client that is no trusted proxy cannot
// choose the callback's scheme or host; a trusted proxy's host that is not
// a bare host[:port] is ignored.
func TestWebForgedForwardedHeaders(t *testing.T) {
	t.Parallel()
	ww := newWebWorld(t)
	b := ww.browser("Mozilla/5.0 MicroMessenger/8.0")
	q := url.Values{"appid": {oaApp}, "redirect_uri": {ww.page}, "scope": {"snsapi_base"}}
	to, err := url.Parse(location(t, b.do("GET", ww.base+"/v1/web/authorize?"+q.Encode(),
		"X-Forwarded-Proto", "http", "X-Forwarded-Host", "evil.example")))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := to.Query().Get("redirect_uri"), ww.base+"/v1/web/callback"; got != want {
		t.Errorf("callback %q, want %q", got, want)
	}
}

// TestWebLogoutOfAnEndedSession: a browser whose session ended elsewhere
// (revoked, expired) still holds its cookies; logging out answers 401
// session_invalid, as any route would, and clears them, so the page is not
// left with a dead session cookie it cannot remove itself (it is HttpOnly).
// A live session's logout without the CSRF token clears nothing.
func TestWebLogoutOfAnEndedSession(t *testing.T) {
	t.Parallel()
	ww := newWebWorld(t)
	b := ww.browser("Mozilla/5.0 MicroMessenger/8.0")
	b.login(oaApp, "snsapi_base", "alice")
	token, csrf := b.cookie(httpapi.SessionCookie), b.cookie(httpapi.CSRFCookie)
	if token == "" || csrf == "" {
		t.Fatal("no session after the login")
	}
	b.do("POST", ww.base+"/v1/web/logout").fails(t, 403, wxlogin.ECSRFRejected)
	if b.cookie(httpapi.SessionCookie) != token {
		t.Fatal("a logout refused for its missing CSRF token cleared the session cookie")
	}
	// Ended elsewhere: the user logs out with the token itself.
	if r := ww.request("DELETE", "/v1/session", token, nil); r.status != 204 {
		t.Fatalf("logout by token: %d %s", r.status, r.body)
	}
	b.do("POST", ww.base+"/v1/web/logout", httpapi.CSRFHeader, csrf).fails(t, 401, wxlogin.ESessionInvalid)
	if b.cookie(httpapi.SessionCookie) != "" || b.cookie(httpapi.CSRFCookie) != "" {
		t.Errorf("the browser still holds the ended session's cookies")
	}
}

// TestWebErrorPageForBrowsers: a web login that fails before the page to
// return to is known (a callback without its state, a page not allowed)
// is a browser's navigation, so a browser that asks for HTML gets a page
// it can show: the same status, the stable code in it, nothing it could
// run, no caching. A client that asks for JSON still gets the JSON error.
func TestWebErrorPageForBrowsers(t *testing.T) {
	t.Parallel()
	ww := newWebWorld(t)
	const accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" // a browser's navigation
	b := ww.browser("Mozilla/5.0 MicroMessenger/8.0")
	id := b.start(oaApp, "", ww.page)
	back := ww.phone(t, id, "gina", "approve", false)
	other := ww.browser("Mozilla/5.0 MicroMessenger/8.0") // no state cookie
	for _, tt := range []struct {
		name, url, code string
		status          int
	}{
		{"callback without its state", back, wxlogin.EInvalidState, 400},
		{"page not allowed", ww.base + "/v1/web/authorize?appid=" + oaApp + "&redirect_uri=" + url.QueryEscape("https://evil.example/"), wxlogin.ERedirectNotAllowed, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := other.do("GET", tt.url, "Accept", accept)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q, want text/html; charset=utf-8", ct)
			}
			for k, want := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
				"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"} {
				if got := r.header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if !bytes.Contains(r.body, []byte("<code>"+tt.code+"</code>")) || bytes.Contains(r.body, []byte("<script")) {
				t.Errorf("page does not name %s, or runs a script:\n%s", tt.code, r.body)
			}
			if rid := r.header.Get("X-Request-Id"); rid == "" || !bytes.Contains(r.body, []byte(rid)) {
				t.Errorf("page does not show the request id %q", rid)
			}
			other.do("GET", tt.url, "Accept", "application/json").fails(t, tt.status, tt.code)
			other.do("GET", tt.url).fails(t, tt.status, tt.code) // no Accept: JSON
		})
	}
}
