package httpapi

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/wxlogin/wxlogin"
)

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header, or "" when there is none. The scheme is case-insensitive (RFC
// 9110); the token is never logged.
func bearerToken(r *http.Request) string {
	// Indexed rather than Get: the key is canonical already, and this runs
	// on every authenticated request.
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

var errNoToken = wxlogin.Errorf(wxlogin.ESessionInvalid, "send the login token as Authorization: Bearer <token>")

// principalHandler is a route that needs a verified login token.
type principalHandler func(w http.ResponseWriter, r *http.Request, p wxlogin.Principal)

// authed verifies the Bearer token before h runs, so that no route decodes
// or acts on a request from an unknown caller.
func (s *Server) authed(h principalHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.verify(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		h(w, r, p)
	}
}

func (s *Server) verify(r *http.Request) (wxlogin.Principal, error) {
	token := bearerToken(r)
	if token == "" {
		// Only a request without a Bearer token pays for the cookie.
		return s.verifyCookie(r)
	}
	return s.svc.Verify(r.Context(), token)
}

// hashToken makes tokens of any length comparable in constant time.
func hashToken(t string) [32]byte { return sha256.Sum256([]byte(t)) }

// admin checks the admin token in constant time before h runs.
func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		got := hashToken(bearerToken(r))
		if bearerToken(r) == "" || subtle.ConstantTimeCompare(got[:], s.adminHash[:]) != 1 {
			s.writeError(w, r, wxlogin.Errorf(wxlogin.EUnauthorized, "send the admin token as Authorization: Bearer <token>"))
			return
		}
		h(w, r)
	}
}

// clientIP is the address of the client: the connection's peer, or, when
// that peer is a trusted proxy, the nearest untrusted address of
// X-Forwarded-For (read from the right, since each proxy appends) or else
// X-Real-IP.
func (s *Server) clientIP(r *http.Request) string {
	peer := parseAddr(r.RemoteAddr)
	if !peer.IsValid() {
		return ""
	}
	if !s.isTrusted(peer) {
		return peer.String()
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		hops := strings.Split(strings.Join(xff, ","), ",")
		var leftmost netip.Addr
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a forged or broken entry: trust nothing to its left
			}
			a = a.Unmap()
			if !s.isTrusted(a) {
				return a.String()
			}
			leftmost = a
		}
		if leftmost.IsValid() {
			return leftmost.String()
		}
	}
	if a, err := netip.ParseAddr(strings.TrimSpace(r.Header.Get("X-Real-IP"))); err == nil {
		return a.Unmap().String()
	}
	return peer.String()
}

func (s *Server) isTrusted(a netip.Addr) bool {
	for _, p := range s.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func parseAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// readBody reads a request body of at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, wxlogin.Errorf(wxlogin.ERequestTooLarge, "request body is over %d bytes", limit)
		}
		return nil, wxlogin.Wrap(err, wxlogin.EInvalidRequest, "request body could not be read")
	}
	return body, nil
}

// checkJSONType is lenient: a missing Content-Type, or any JSON one, or
// text/plain (what some HTTP clients send by default) is accepted, and so is
// a JSON body labelled application/x-www-form-urlencoded, which is what
// `curl -d` sends: the body is parsed as JSON, never form-decoded, so its
// base64 '+' signs arrive intact. A body that really is form-encoded is
// refused (see formEncoded), because form encoding turns the '+' of base64
// into a space, the classic cause of broken encrypted data; so is multipart.
func checkJSONType(r *http.Request) (formLabel bool, err error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return false, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false, wxlogin.Errorf(wxlogin.EUnsupportedMediaType, "Content-Type is malformed; send application/json")
	}
	if strings.HasPrefix(mt, "multipart/") {
		return false, errNotJSON(mt)
	}
	return mt == "application/x-www-form-urlencoded", nil
}

// formEncoded reports whether a body labelled as a form is not a JSON
// object, i.e. really is form-encoded.
func formEncoded(body []byte) bool {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] != '{'
}

func errNotJSON(mt string) error {
	return wxlogin.Errorf(wxlogin.EUnsupportedMediaType, "send the body as JSON (Content-Type: application/json), not %s", mt)
}

// decodeJSON reads the request's JSON body into dst (see parseJSON).
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, dst interface{ validate() error }) error {
	formLabel, err := checkJSONType(r)
	if err != nil {
		return err
	}
	body, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	if formLabel && formEncoded(body) {
		return errNotJSON("application/x-www-form-urlencoded")
	}
	return parseJSON(body, dst)
}

// parseJSON decodes one JSON object into dst and validates it. Trailing data
// after the object is refused; unknown fields are ignored (clients may be
// newer than the server). Every failure is invalid_request with a message
// naming the field when there is one, and never quoting the body, which may
// hold codes and encrypted data.
func parseJSON(body []byte, dst interface{ validate() error }) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return wxlogin.Errorf(wxlogin.EInvalidRequest, "request body is empty; send a JSON object")
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return jsonError(err)
	}
	if string(trimJSONSpace(body)) == "null" {
		return wxlogin.Errorf(wxlogin.EInvalidRequest, "request body must be a JSON object, not null")
	}
	return dst.validate()
}

func trimJSONSpace(b []byte) []byte {
	return []byte(strings.Trim(string(b), " \t\r\n"))
}

// jsonError turns a decoding error into a client-safe invalid_request.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return wxlogin.Wrap(err, wxlogin.EInvalidRequest, "request body is not valid JSON (at byte "+strconv.FormatInt(syntax.Offset, 10)+")")
	case errors.As(err, &typ) && typ.Field == "":
		return wxlogin.Wrap(err, wxlogin.EInvalidRequest, "request body must be a JSON object")
	case errors.As(err, &typ):
		return wxlogin.Wrap(err, wxlogin.EInvalidRequest, "field "+fieldName(typ.Field)+" must be "+jsonKind(typ.Type.Kind().String()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return wxlogin.Wrap(err, wxlogin.EInvalidRequest, "request body is not valid JSON (truncated)")
	}
	return wxlogin.Wrap(err, wxlogin.EInvalidRequest, "request body is not valid JSON")
}

// fieldName quotes a field path from the decoder; it comes from our own
// struct tags, but is cut and quoted all the same.
func fieldName(f string) string {
	// The decoder prefixes fields of an embedded struct with its Go name;
	// clients know only the JSON name.
	f = strings.TrimPrefix(f, "encryptedFields.")
	if len(f) > 64 {
		f = f[:64]
	}
	return `"` + strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == '\\' || r > 0x7e {
			return -1
		}
		return r
	}, f) + `"`
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "int", "int64", "int32", "uint", "uint64", "float64", "float32":
		return "a number"
	}
	return "of another type"
}

// missing is the error of a required field left out or empty.
func missing(field string) error {
	return wxlogin.Errorf(wxlogin.EInvalidRequest, "field %q is required", field)
}

// tooLong bounds free-form fields so that a client cannot make the server
// pass megabytes to WeChat or the store.
func tooLong(field string, max int) error {
	return wxlogin.Errorf(wxlogin.EInvalidRequest, "field %q is longer than %d bytes", field, max)
}
