package guard

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/wxlogin/wxlogin"
)

// The headers of forward-auth's answer (GET /v1/auth), as a proxy copies
// them onto the request it lets through.
const (
	HeaderUserID  = "X-Wxlogin-User-Id"
	HeaderOpenID  = "X-Wxlogin-Openid"
	HeaderAppID   = "X-Wxlogin-Appid"
	HeaderUnionID = "X-Wxlogin-Unionid"
	// HeaderAccountID is the person's account: one for every identity
	// with the same unionid under one Open Platform account.
	HeaderAccountID = "X-Wxlogin-Account-Id"
	// HeaderCorpID and HeaderWeComUserID are a WeCom app's user: its corp
	// and its userid there (HeaderOpenID is then empty).
	HeaderCorpID      = "X-Wxlogin-Corpid"
	HeaderWeComUserID = "X-Wxlogin-Wecom-Userid"
)

// principalFromHeaders reads forward-auth's identity headers. ok is false
// when they name no one: a user id, an app and either an openid or a WeCom
// userid are required.
func principalFromHeaders(h http.Header) (p wxlogin.Principal, ok bool) {
	p = wxlogin.Principal{
		UserID:      first(h[HeaderUserID]),
		OpenID:      first(h[HeaderOpenID]),
		AppID:       first(h[HeaderAppID]),
		UnionID:     first(h[HeaderUnionID]),
		AccountID:   first(h[HeaderAccountID]),
		CorpID:      first(h[HeaderCorpID]),
		WeComUserID: first(h[HeaderWeComUserID]),
	}
	return p, p.UserID != "" && p.AppID != "" && (p.OpenID != "" || p.WeComUserID != "")
}

// Guard finds the wxlogin principal of requests; BehindProxy, Remote and
// InProcess make one. It is safe for concurrent use.
type Guard struct {
	identify func(r *http.Request) (wxlogin.Principal, bool, error)
	remote   *remote // set by Remote, for its tests
}

// Middleware runs next with the request's principal in its context, or
// with none when the request carries no identity (no Bearer token, or
// X-Wxlogin-* headers from an untrusted peer, which it removes). A token
// wxlogin refuses is answered 401 session_invalid, and a wxlogin that
// cannot answer 503 upstream_unavailable with Retry-After: a request is
// never let through on an error.
func (g *Guard) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok, err := g.identify(r)
		if err != nil {
			writeError(w, err)
			return
		}
		if ok {
			r = r.WithContext(NewContext(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

// Require answers 401 session_invalid to a request without a principal in
// its context, and runs next otherwise. Put it after a Guard's Middleware.
func Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := FromContext(r.Context()); !ok {
			writeError(w, errUnauthenticated)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type contextKey struct{}

// FromContext returns the principal a Guard's Middleware put into ctx; ok
// is false for an unauthenticated request.
func FromContext(ctx context.Context) (p wxlogin.Principal, ok bool) {
	p, ok = ctx.Value(contextKey{}).(wxlogin.Principal)
	return p, ok
}

// NewContext returns ctx carrying p, as Middleware does; handlers' own
// tests can use it to run a handler as a given user.
func NewContext(ctx context.Context, p wxlogin.Principal) context.Context {
	return context.WithValue(ctx, contextKey{}, p)
}

var (
	errUnauthenticated = wxlogin.Errorf(wxlogin.ESessionInvalid, "sign in first: send the login token as Authorization: Bearer <token>")
	errRefused         = wxlogin.Errorf(wxlogin.ESessionInvalid, "the login token is unknown, expired or revoked: log in again")
	errUnavailable     = wxlogin.Errorf(wxlogin.EUpstreamUnavailable, "the login server cannot verify the token right now; retry later")
	errInternal        = wxlogin.Errorf(wxlogin.EInternal, "the login server gave an unexpected answer; the backend's log has details")
)

// writeError answers in wxlogin's own error envelope, so that a mini
// program's client handles the backend's 401 as it handles wxlogin's.
func writeError(w http.ResponseWriter, err error) {
	code, message := wxlogin.ErrorCode(err), wxlogin.ErrorMessage(err)
	status := http.StatusInternalServerError
	switch code {
	case wxlogin.ESessionInvalid:
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="wxlogin"`)
	case wxlogin.EUpstreamUnavailable, wxlogin.EStoreUnavailable:
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter(err)))
	default:
		code, message = errInternal.Code, errInternal.Message
	}
	body, _ := json.Marshal(errorBody{Error: errorDetail{Code: code, Message: message}})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// retryAfter is the error's RetryAfter in whole seconds, at least 1, so
// that no client retries in a tight loop.
func retryAfter(err error) int {
	var e *wxlogin.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		if s := int((e.RetryAfter + 999_999_999) / 1_000_000_000); s > 1 {
			return min(s, 3600)
		}
	}
	return 1
}

// bearerToken returns the token of "Authorization: Bearer <token>" (the
// scheme in any case, RFC 9110), or "" when the request has none.
func bearerToken(r *http.Request) string {
	v := r.Header["Authorization"]
	if len(v) == 0 {
		return ""
	}
	scheme, token, ok := strings.Cut(v[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// maxTokenLen bounds what is sent to wxlogin: its tokens are 47 bytes,
// and anything far longer is refused here without a round trip.
const maxTokenLen = 512

// plausibleToken reports whether tok could be a token at all: short and
// printable ASCII, so that no junk is put into a request header or the
// cache.
func plausibleToken(tok string) bool {
	if len(tok) > maxTokenLen {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] >= 0x7f {
			return false
		}
	}
	return true
}

// checkAppID refuses an appid that could not be one, so that a typo in a
// configuration fails at start-up rather than as 401s at run time.
func checkAppID(appid string) error {
	if len(appid) > 64 {
		return errors.New("guard: AppID is longer than 64 bytes")
	}
	for i := 0; i < len(appid); i++ {
		c := appid[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return errors.New("guard: AppID holds a character no appid has (letters, digits, '_' and '-' only)")
		}
	}
	return nil
}
