package httpapi

// This file holds the web logins' routes (/v1/web/*) and the session
// cookie that routes and forward-auth accept beside the Bearer token.

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

// The cookies of the web logins. Their names and paths are part of the
// HTTP contract (README, docs/openapi.yaml).
const (
	// SessionCookie holds the login token of a web session: HttpOnly, so
	// no script (an injected one included) can read it; Secure; SameSite
	// Lax, since Strict would drop it on the return from WeChat's
	// authorize page, a cross-site navigation; Path "/", so a proxy in
	// front of the site forwards it to forward-auth for every path.
	SessionCookie = "wxlogin_session"
	// CSRFCookie holds the session's CSRF token for the page's script,
	// which sends it back as CSRFHeader on unsafe requests: not HttpOnly
	// on purpose. Another site can make the browser send cookies, but it
	// can neither read this one nor set a custom header.
	CSRFCookie = "wxlogin_csrf"
	// CSRFHeader carries the CSRF token of a cookie-authenticated unsafe
	// request.
	CSRFHeader = "X-Wxlogin-Csrf"
	// StateCookie binds a web login under way to the browser that started
	// it, for /v1/web/callback only.
	StateCookie = "wxlogin_web_state"
)

// verifyCookie verifies a request without a Bearer token by its session
// cookie. A cookie rides along on requests other sites make the browser
// send, so an unsafe request (by its own method, or the method a proxy says
// it guards) must also carry the CSRF token of the session.
func (s *Server) verifyCookie(r *http.Request) (wxlogin.Principal, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return wxlogin.Principal{}, errNoToken
	}
	p, err := s.svc.Verify(r.Context(), c.Value)
	if err != nil {
		return p, err
	}
	if !safeRequest(r) && !auth.CheckCSRF(c.Value, r.Header.Get(CSRFHeader)) {
		return wxlogin.Principal{}, errCSRF
	}
	return p, nil
}

var errCSRF = wxlogin.Errorf(wxlogin.ECSRFRejected,
	"a request authenticated by the session cookie that changes anything must carry the page's CSRF token in "+CSRFHeader)

// safeRequest reports whether the request, and the request a proxy says
// it guards, are of safe methods. Every method a request names counts:
// Traefik and Caddy send GET with X-Forwarded-Method; nginx's auth_request
// subrequest is a GET whatever the client sent, so the README's block
// names the method in X-Original-Method; a direct call has its own. A
// client cannot make a POST look safe by adding a header.
func safeRequest(r *http.Request) bool {
	if !isSafeMethod(r.Method) {
		return false
	}
	for _, h := range [...]string{"X-Forwarded-Method", "X-Original-Method"} {
		for _, m := range r.Header[h] {
			if !isSafeMethod(m) {
				return false
			}
		}
	}
	return true
}

func isSafeMethod(m string) bool {
	switch strings.ToUpper(m) {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// callbackURL is the absolute URL WeChat sends the browser back to: under
// public_url when it is set, else at the scheme and host the browser used.
// Behind a proxy that terminates TLS the request itself arrives over plain
// HTTP, often with the proxy's upstream name as its Host, so a trusted
// proxy's X-Forwarded-Proto and X-Forwarded-Host say what the browser saw.
// Anyone else's are ignored: they would let a client choose the URL that
// wxlogin sends to WeChat (which refuses a host outside the app's callback
// domain, but a wrong scheme would still break the login).
func (s *Server) callbackURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL + s.prefix + "/v1/web/callback"
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if peer := parseAddr(r.RemoteAddr); peer.IsValid() && s.isTrusted(peer) {
		switch p := strings.ToLower(nearestForwarded(r.Header, "X-Forwarded-Proto")); p {
		case "http", "https":
			scheme = p
		}
		if h := nearestForwarded(r.Header, "X-Forwarded-Host"); validHost(h) {
			host = h
		}
	}
	return scheme + "://" + host + s.prefix + "/v1/web/callback"
}

// nearestForwarded is the value of an X-Forwarded-* header that the nearest
// proxy gave: the last of a list, since a proxy that keeps what it was sent
// appends its own.
func nearestForwarded(h http.Header, name string) string {
	vs := h.Values(name)
	if len(vs) == 0 {
		return ""
	}
	v := vs[len(vs)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// validHost reports whether h is a bare host[:port], nothing that would
// change the callback URL's path, query or user.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	u, err := url.Parse("http://" + h)
	return err == nil && u.Host == h && u.User == nil && u.Path == "" && u.RawQuery == "" && u.Fragment == ""
}

func (s *Server) webAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, err := s.svc.WebAuthorize(q.Get("appid"), q.Get("redirect_uri"), q.Get("scope"), s.callbackURL(r))
	if err != nil {
		s.writeWebError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: StateCookie, Value: start.StateCookie, Path: s.prefix + "/v1/web/",
		MaxAge: int(start.MaxAge / time.Second), HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	})
	redirect(w, start.AuthorizeURL)
}

func (s *Server) webCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cb := auth.WebCallback{Code: q.Get("code"), State: q.Get("state")}
	if c, err := r.Cookie(StateCookie); err == nil {
		cb.StateCookie = c.Value
	}
	// A state is good for one callback: a replay of this URL, in this
	// browser or any other, finds no state.
	http.SetCookie(w, &http.Cookie{Name: StateCookie, Path: s.prefix + "/v1/web/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	res, err := s.svc.WebLogin(r.Context(), cb, auth.Client{IP: s.clientIP(r), UserAgent: cutUserAgent(r.UserAgent())})
	if err != nil {
		if res.RedirectURI == "" {
			// Without a good state the page to return to is not known:
			// redirecting anywhere would be an open redirect.
			s.writeWebError(w, r, err)
			return
		}
		redirect(w, withQuery(res.RedirectURI, "wxlogin_error", wxlogin.ErrorCode(err)))
		return
	}
	token := res.Token.Reveal()
	maxAge := int(time.Until(res.ExpiresAt) / time.Second)
	if d := res.ExpiresAt.Sub(res.Session.CreatedAt); d > 0 {
		maxAge = int(d / time.Second) // the service's clock, not this machine's
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: auth.CSRFToken(token), Path: "/", MaxAge: maxAge,
		Secure: true, SameSite: http.SameSiteLaxMode})
	redirect(w, res.RedirectURI)
}

// webLogout ends the web session and clears its cookies. A session that
// already ended (revoked elsewhere, expired) answers session_invalid as
// anywhere else, and its cookies are cleared too: the session cookie is
// HttpOnly, so the page could not drop it, and nothing is left to guard
// against a forged request. Any other refusal (a live session without
// its CSRF token) clears nothing.
func (s *Server) webLogout(w http.ResponseWriter, r *http.Request) {
	p, err := s.verify(r)
	if err != nil {
		if wxlogin.ErrorCode(err) == wxlogin.ESessionInvalid {
			clearSessionCookies(w)
		}
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.Logout(r.Context(), p); err != nil {
		s.writeError(w, r, err)
		return
	}
	clearSessionCookies(w)
	noContent(w)
}

// clearSessionCookies tells the browser to drop the web session's cookies.
func clearSessionCookies(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Path: "/", MaxAge: -1, Secure: true, SameSite: http.SameSiteLaxMode})
}

// redirect answers 302 to location. The callback's own URL holds the
// code: no-referrer keeps it from the next page, no-store from caches.
func redirect(w http.ResponseWriter, location string) {
	h := w.Header()
	h.Set("Location", location)
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusFound)
}

// withQuery appends key=value to an absolute URL's query.
func withQuery(u, key, value string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + key + "=" + value
}
