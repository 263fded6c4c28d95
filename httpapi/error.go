package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/wxlogin/wxlogin"
)

// statuses maps every application code to its one HTTP status. The comments
// on the codes in the root package are the source; a code missing here is a
// bug and answers 500 (see statusOf).
var statuses = map[string]int{
	wxlogin.EInvalidRequest:       http.StatusBadRequest,
	wxlogin.ERequestTooLarge:      http.StatusRequestEntityTooLarge,
	wxlogin.EUnknownApp:           http.StatusBadRequest,
	wxlogin.EInvalidCode:          http.StatusUnauthorized,
	wxlogin.ECodeBlocked:          http.StatusForbidden,
	wxlogin.EWrongCorp:            http.StatusForbidden,
	wxlogin.ESessionInvalid:       http.StatusUnauthorized,
	wxlogin.EInvalidEncryptedData: http.StatusBadRequest,
	wxlogin.EInvalidSignature:     http.StatusBadRequest,
	wxlogin.ERateLimited:          http.StatusTooManyRequests,
	wxlogin.EUpstreamUnavailable:  http.StatusServiceUnavailable,
	wxlogin.EUpstreamRejected:     http.StatusBadGateway,
	wxlogin.EUnauthorized:         http.StatusUnauthorized,
	wxlogin.ENotFound:             http.StatusNotFound,
	wxlogin.EMethodNotAllowed:     http.StatusMethodNotAllowed,
	wxlogin.EUnsupportedMediaType: http.StatusUnsupportedMediaType,
	wxlogin.EPrivacyNotAuthorized: http.StatusForbidden,
	wxlogin.EStoreUnavailable:     http.StatusServiceUnavailable,
	wxlogin.EInvalidState:         http.StatusBadRequest,
	wxlogin.ERedirectNotAllowed:   http.StatusBadRequest,
	wxlogin.ESnapshotUser:         http.StatusForbidden,
	wxlogin.ECSRFRejected:         http.StatusForbidden,
	wxlogin.EAccessDenied:         http.StatusForbidden,
	wxlogin.EInternal:             http.StatusInternalServerError,
}

// statusOf returns the HTTP status of an application code, 500 for a code
// this package does not know.
func statusOf(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// errorBody is the one error envelope of the HTTP contract.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// internalMessage is all a client learns of a bug or an unexpected failure.
const internalMessage = "internal error; the server log has details under this request's X-Request-Id"

// writeError is the only place that turns an error into a response. Codes the
// map does not know, and errors without a code, become a generic 500 whose
// cause goes to the log with the request id, never to the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, message := s.prepareError(w, r, err)
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: message}})
}

// prepareError is writeError up to the body: the status, code and message
// the client is told, logged as they need to be, with the headers that go
// with the status set.
func (s *Server) prepareError(w http.ResponseWriter, r *http.Request, err error) (status int, code, message string) {
	code, message = wxlogin.ErrorCode(err), wxlogin.ErrorMessage(err)
	if _, known := statuses[code]; !known || code == wxlogin.EInternal {
		code, message = wxlogin.EInternal, internalMessage
	}
	status = statusOf(code)

	switch {
	case status >= 500 && code != wxlogin.EUpstreamUnavailable:
		// Bugs, a store that is down and WeChat refusing our own appid or
		// secret need an operator; the cause stays in the log only.
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request_id", requestID(w)),
			slog.String("code", code),
			slog.String("route", routeOf(r)),
			slog.String("cause", causeOf(err)))
	case status >= 500:
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "upstream unavailable",
			slog.String("request_id", requestID(w)),
			slog.String("cause", causeOf(err)))
	}

	h := w.Header()
	if status == http.StatusUnauthorized {
		// RFC 9110: a 401 names the scheme that would work.
		h.Set("WWW-Authenticate", `Bearer realm="wxlogin"`)
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		// Every 429 and 503 says when to come back (a store outage too:
		// clients and proxies then need no special case), so that no
		// client retries in a tight loop.
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds(err)))
	}
	return status, code, message
}

// retryAfterSeconds is the error's RetryAfter in whole seconds, rounded up
// and at least 1: a client told "0" would retry at once, which is what the
// header is there to prevent.
func retryAfterSeconds(err error) int {
	var e *wxlogin.Error
	if !errors.As(err, &e) || e.RetryAfter <= 0 {
		return 1
	}
	secs := math.Ceil(e.RetryAfter.Seconds())
	if secs < 1 {
		return 1
	}
	if secs > 86400 {
		return 86400
	}
	return int(secs)
}

// causeOf is the text of an error for the server log. Secrets inside errors
// are wxlogin.Secret values that print as [redacted].
func causeOf(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// writeJSON writes v as the response body. Every API answer is private to
// its caller (tokens, phone numbers), so none may be cached on the way.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own types reach here; a failure is a bug in this package.
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal","message":"` + internalMessage + `"}}`)
	}
	writeJSONBody(w, status, body)
}

// Header values shared by every response: net/http only reads them.
var (
	contentTypeJSON = []string{"application/json"}
	noStore         = []string{"no-store"}
)

// writeJSONBody sends an encoded JSON body.
func writeJSONBody(w http.ResponseWriter, status int, body []byte) {
	// Keys are canonical already; assigning skips Set's canonicalisation.
	// nosniff is set here as well as in ServeHTTP because forward-auth's
	// answers skip the middleware's.
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h["Cache-Control"] = noStore
	h["X-Content-Type-Options"] = nosniff
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
