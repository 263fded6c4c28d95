package httpapi

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var q loginRequest
	if err := s.decodeJSON(w, r, &q); err != nil {
		s.writeError(w, r, err)
		return
	}
	appid := q.AppID
	if appid == "" {
		appid = s.defaultApp
	}
	res, err := s.svc.Login(r.Context(), appid, q.Code, auth.Client{IP: s.clientIP(r), UserAgent: cutUserAgent(r.UserAgent())})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u := toUser(res.User, s.svc.IsWeComApp(res.User.AppID))
	created := res.Created
	u.Created = &created
	writeJSON(w, http.StatusOK, loginResponse{Token: res.Token.Reveal(), ExpiresAt: res.ExpiresAt.UTC(), User: u,
		SessionPolicy: s.svc.SessionPolicy(res.User.AppID)})
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request, p wxlogin.Principal) {
	u, err := s.svc.User(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sessionResponse{User: toUser(u, s.svc.IsWeComApp(u.AppID)), ExpiresAt: p.ExpiresAt.UTC(), SessionPolicy: s.svc.SessionPolicy(p.AppID)})
}

// putSessionCode takes a fresh wx.login code for the current session, whose
// session_key that wx.login replaced.
func (s *Server) putSessionCode(w http.ResponseWriter, r *http.Request, p wxlogin.Principal) {
	var q sessionCodeRequest
	if err := s.decodeJSON(w, r, &q); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.UpdateSessionKey(r.Context(), p, q.Code); err != nil {
		s.writeError(w, r, err)
		return
	}
	noContent(w)
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request, p wxlogin.Principal) {
	if err := s.svc.Logout(r.Context(), p); err != nil {
		s.writeError(w, r, err)
		return
	}
	noContent(w)
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, p wxlogin.Principal) {
	list, err := s.svc.Sessions(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toSessions(list))
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request, p wxlogin.Principal) {
	if err := s.svc.RevokeSession(r.Context(), p, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	noContent(w)
}

func (s *Server) revokeAllSessions(w http.ResponseWriter, r *http.Request, p wxlogin.Principal) {
	if err := s.svc.RevokeAllSessions(r.Context(), p); err != nil {
		s.writeError(w, r, err)
		return
	}
	noContent(w)
}

func (s *Server) saveUserInfo(w http.ResponseWriter, r *http.Request, p wxlogin.Principal) {
	var q userInfoRequest
	if err := s.decodeJSON(w, r, &q); err != nil {
		s.writeError(w, r, err)
		return
	}
	info, err := s.svc.SaveUserInfo(r.Context(), p, q.RawData, q.Signature, q.encrypted())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userInfoResponse{UserInfo: info})
}

func (s *Server) savePhone(w http.ResponseWriter, r *http.Request, p wxlogin.Principal) {
	var q phoneRequest
	if err := s.decodeJSON(w, r, &q); err != nil {
		s.writeError(w, r, err)
		return
	}
	phone, err := s.svc.SavePhone(r.Context(), p, q.Code, q.encrypted())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, phone)
}

func (s *Server) decrypt(w http.ResponseWriter, r *http.Request, p wxlogin.Principal) {
	var q decryptRequest
	if err := s.decodeJSON(w, r, &q); err != nil {
		s.writeError(w, r, err)
		return
	}
	data, err := s.svc.Decrypt(r.Context(), p, q.Kind, q.encrypted())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, data)
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request, p wxlogin.Principal) {
	u, err := s.svc.User(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	me := toMe(u, s.prefix, s.svc.IsWeComApp(u.AppID))
	acct, ids, err := s.svc.Identities(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	me.AccountID = acct
	for _, id := range ids {
		me.Identities = append(me.Identities, identityJSON{UserID: id.UserID, AppID: id.AppID, Kind: string(id.Kind), OpenID: id.OpenID})
	}
	writeJSON(w, http.StatusOK, me)
}

// errEraseScope answers an erasure whose scope is neither one identity nor
// the whole account.
var errEraseScope = wxlogin.Errorf(wxlogin.EInvalidRequest, "scope must be identity (this app's user, the default) or account (every identity of the person)")

func (s *Server) eraseMe(w http.ResponseWriter, r *http.Request, p wxlogin.Principal) {
	erase := s.svc.EraseMe
	switch r.URL.Query().Get("scope") {
	case "", "identity":
	case "account":
		erase = s.svc.EraseAccount
	default:
		s.writeError(w, r, errEraseScope)
		return
	}
	if err := erase(r.Context(), p); err != nil {
		s.writeError(w, r, err)
		return
	}
	noContent(w)
}

func (s *Server) putProfile(w http.ResponseWriter, r *http.Request, p wxlogin.Principal) {
	var q profileRequest
	if err := s.decodeJSON(w, r, &q); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.svc.SetNickname(r.Context(), p, *q.Nickname)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toMe(u, s.prefix, s.svc.IsWeComApp(u.AppID)))
}

// postAvatar accepts what wx.uploadFile sends (multipart/form-data with the
// image in the field named by its `name` option, "file" here) or the image
// as the raw body. auth checks the image by content, not by any declared
// type.
func (s *Server) postAvatar(w http.ResponseWriter, r *http.Request, p wxlogin.Principal) {
	img, err := s.readAvatar(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.svc.SetAvatar(r.Context(), p, img)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toMe(u, s.prefix, s.svc.IsWeComApp(u.AppID)))
}

// multipartOverhead is room for the multipart framing and any small form
// fields wx.uploadFile adds (formData) around the image.
const multipartOverhead = 64 << 10

func (s *Server) readAvatar(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	tooLarge := wxlogin.Errorf(wxlogin.ERequestTooLarge, "the image is over %d bytes", s.maxAvatar)
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		body, err := readBody(w, r, s.maxAvatar)
		if wxlogin.ErrorCode(err) == wxlogin.ERequestTooLarge {
			return nil, tooLarge
		}
		if err != nil {
			return nil, err
		}
		if len(body) == 0 {
			return nil, wxlogin.Errorf(wxlogin.EInvalidRequest, "the request has no image: send it as the body or as the multipart field \"file\"")
		}
		return body, nil
	}
	if params["boundary"] == "" {
		return nil, wxlogin.Errorf(wxlogin.EInvalidRequest, "multipart body without a boundary")
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxAvatar+multipartOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, wxlogin.Wrap(err, wxlogin.EInvalidRequest, "malformed multipart body")
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, wxlogin.Errorf(wxlogin.EInvalidRequest, "multipart field \"file\" is required")
		}
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return nil, tooLarge
			}
			return nil, wxlogin.Wrap(err, wxlogin.EInvalidRequest, "malformed multipart body")
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		var buf bytes.Buffer
		n, err := io.Copy(&buf, io.LimitReader(part, s.maxAvatar+1))
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return nil, tooLarge
			}
			return nil, wxlogin.Wrap(err, wxlogin.EInvalidRequest, "malformed multipart body")
		}
		if n > s.maxAvatar {
			return nil, tooLarge
		}
		if n == 0 {
			return nil, wxlogin.Errorf(wxlogin.EInvalidRequest, "multipart field \"file\" is empty")
		}
		return buf.Bytes(), nil
	}
}

// getAvatar serves an avatar publicly: an avatar id names one image's
// content forever, so caches may keep it for a year.
func (s *Server) getAvatar(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	b, err := s.svc.Avatar(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	ct := b.ContentType
	if !strings.HasPrefix(ct, "image/") {
		// Whatever the store says, never serve something a browser could
		// run as a page from our origin.
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+b.ID+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	// ServeContent answers If-None-Match with 304, HEAD and ranges.
	http.ServeContent(w, r, "", b.CreatedAt, bytes.NewReader(b.Data))
}

// forwardAuth is the subrequest endpoint of nginx auth_request, Traefik
// forwardAuth and Caddy forward_auth. Only a verified token answers 200; a
// store that cannot be reached answers 503, so a proxy never lets a request
// through on an error.
//
// The 200 carries the identity in headers and no body: proxies read the
// status and copy headers, and drop any body. A caller that wants JSON
// asks GET /v1/session. This is the hot path of the whole service: the
// handler allocates only the array behind the six header values.
func (s *Server) forwardAuth(w http.ResponseWriter, r *http.Request) {
	p, err := s.verify(r)
	if err == nil && r.URL.RawQuery != "" {
		err = checkForwardAuthApp(r.URL.RawQuery, p.AppID)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	v := &[7]string{p.UserID, p.OpenID, p.AppID, p.UnionID, p.AccountID, p.CorpID, p.WeComUserID}
	h["X-Wxlogin-User-Id"] = v[0:1:1]
	h["X-Wxlogin-Openid"] = v[1:2:2]
	h["X-Wxlogin-Appid"] = v[2:3:3]
	// Set even when empty, so a proxy copying them replaces forged ones.
	h["X-Wxlogin-Unionid"] = v[3:4:4]
	h["X-Wxlogin-Account-Id"] = v[4:5:5]
	// A WeCom app's user: the corp and the member's userid (the openid is
	// then empty); both empty for a WeChat user.
	h["X-Wxlogin-Corpid"] = v[5:6:6]
	h["X-Wxlogin-Wecom-Userid"] = v[6:7:7]
	// A caching proxy must not remember an allow: a revoked token has to
	// fail at once.
	h["Cache-Control"] = noStore
	w.WriteHeader(http.StatusOK)
}

// errOtherApp is the answer of forward-auth for a valid token of another
// app than the one the proxy asked for. It is a 401 like an unknown token:
// to the backend of one app, another app's user is nobody.
var errOtherApp = wxlogin.Errorf(wxlogin.ESessionInvalid, "the token belongs to another app than the appid asked for")

// checkForwardAuthApp checks the appid parameter of forward-auth's query,
// with which one proxy configuration guards the backend of one app: a
// token of any other app of this server must not pass. Without the
// parameter every app's token passes. The query is scanned in place
// rather than parsed into a url.Values, since forward-auth runs for every
// request a proxy guards.
func checkForwardAuthApp(rawQuery, tokenApp string) error {
	want, found, err := queryParam(rawQuery, "appid")
	switch {
	case err != nil:
		return wxlogin.Errorf(wxlogin.EInvalidRequest, "the query's appid is not valid URL encoding")
	case !found:
		return nil
	case want == "":
		return wxlogin.Errorf(wxlogin.EInvalidRequest, "appid is empty: name the app whose tokens may pass, or leave the parameter out")
	case want != tokenApp:
		return errOtherApp
	}
	return nil
}

// queryParam returns the first value of key in rawQuery, unescaped only
// when it holds an escape, so that the usual plain appid costs no
// allocation. A key given more than once is ambiguous about which app is
// meant, so only the first counts, as url.Values.Get would have it.
func queryParam(rawQuery, key string) (value string, found bool, err error) {
	for rawQuery != "" {
		var part string
		part, rawQuery, _ = strings.Cut(rawQuery, "&")
		k, v, _ := strings.Cut(part, "=")
		if k != key {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			v, err = url.QueryUnescape(v)
		}
		return v, true, err
	}
	return "", false, nil
}

func noContent(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
