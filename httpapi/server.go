package httpapi

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

// DefaultMaxBodyBytes bounds JSON request bodies. The bound of avatar
// images is the service's (auth.Config.MaxAvatarBytes).
const DefaultMaxBodyBytes = 64 << 10

// Config configures a Server.
type Config struct {
	// Service answers every route except the dev controls and the probes'
	// own logic.
	Service *auth.Service

	// AdminToken guards the /v1/admin/ routes. Empty turns them off: they
	// answer 404 as if they did not exist.
	AdminToken wxlogin.Secret

	// Logger receives the access log and the causes of failed requests;
	// nil means slog.Default().
	Logger *slog.Logger

	// TrustedProxies are the peers whose X-Forwarded-For and X-Real-IP
	// headers are believed. From anyone else those headers are ignored and
	// the client IP is the connection's own address, so a client cannot
	// dodge the per-IP login limit by forging a header.
	TrustedProxies []netip.Prefix

	// MaxBodyBytes bounds JSON request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Metrics, when set, receives request counters and latencies labelled by
	// route pattern and status, and GET /metrics serves them (from Metrics
	// itself when it is also a prometheus.Gatherer, as *prometheus.Registry
	// is). Nil: no metrics and no /metrics route.
	Metrics prometheus.Registerer

	// RequestTimeout bounds every request but forward-auth (whose store
	// writes the service bounds itself): store calls and WeChat calls end
	// by it, and the request is answered (503 with Retry-After when the
	// store could not write in time). Keep it shorter than the
	// http.Server's WriteTimeout, or a slow request loses its connection
	// instead of getting an answer. 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration

	// Dev mounts the development-only routes; nil in production (serve).
	Dev *DevConfig

	// PathPrefix mounts the whole API under a path of a program's own
	// server, such as "/wx": every route answers under it
	// (/wx/v1/login, /wx/v1/auth), a request outside it is a 404, and
	// the URLs the API hands out (a profile's avatar_url) start with it.
	// Mount the Server as it is, not inside http.StripPrefix:
	// mux.Handle("/wx/", srv). Empty (the default) serves from the root.
	PathPrefix string
	// DefaultApp is the app a login without an appid is for, on a server
	// of several apps. Empty: such a login is refused unless the server
	// serves exactly one app.
	DefaultApp string
	// PublicURL is the server's address as browsers reach it
	// ("https://login.example.com"), the root of the web logins' callback
	// URL. Empty: the request's own scheme and Host, or a trusted
	// proxy's X-Forwarded-Proto and X-Forwarded-Host.
	PublicURL string
}

// DefaultRequestTimeout is the default Config.RequestTimeout: shorter than
// the 30 s write timeout of wxlogin serve, longer than a login that waits
// out SQLite's busy timeout or WeChat's per-call timeout.
const DefaultRequestTimeout = 20 * time.Second

// DevConfig is what wxlogin dev adds to the API port.
type DevConfig struct {
	// Emulator serves the emulator's device API under /emulator/v1/. It
	// receives requests unchanged: the emulator routes on the full path.
	Emulator http.Handler
	// Playground serves /playground/ (requests keep their full path; wrap it
	// in http.StripPrefix if it wants them relative). GET / redirects there.
	Playground http.Handler
	// AdvanceClock moves the server's fake clock forward and returns the new
	// time (POST /dev/v1/clock). Nil: the route answers 404.
	AdvanceClock func(time.Duration) time.Time
}

// Server is wxlogin's HTTP handler.
type Server struct {
	svc            *auth.Service
	adminHash      [32]byte
	adminOn        bool
	log            *slog.Logger
	trusted        []netip.Prefix
	maxBody        int64
	maxAvatar      int64
	requestTimeout time.Duration
	dev            *DevConfig
	prefix         string // PathPrefix in the form "/wx", or ""
	defaultApp     string
	publicURL      string
	mux            *http.ServeMux
	patterns       []string // every pattern handle mounted, in order
	metrics        *requestMetrics
	metricsHandler http.Handler
}

var _ http.Handler = (*Server)(nil)

// New returns a Server with every route of the HTTP contract mounted.
func New(cfg Config) *Server {
	s := &Server{
		svc:     cfg.Service,
		log:     cfg.Logger,
		trusted: cfg.TrustedProxies,
		maxBody: cfg.MaxBodyBytes,
		dev:     cfg.Dev,
		prefix:  cleanPrefix(cfg.PathPrefix),
		mux:     http.NewServeMux(),

		defaultApp: cfg.DefaultApp,
		publicURL:  strings.TrimRight(cfg.PublicURL, "/"),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	s.requestTimeout = cfg.RequestTimeout
	if s.requestTimeout <= 0 {
		s.requestTimeout = DefaultRequestTimeout
	}
	if cfg.Service != nil {
		s.maxAvatar = cfg.Service.MaxAvatarBytes()
	}
	if cfg.AdminToken != "" {
		s.adminOn = true
		s.adminHash = hashToken(cfg.AdminToken.Reveal())
	}
	if cfg.Metrics != nil {
		s.initMetrics(cfg.Metrics)
		if s.svc != nil {
			s.initCacheMetrics(cfg.Metrics)
		}
	}
	s.routes()
	return s
}

// routes mounts the contract's table. Each handler is registered through
// handle so the access log and metrics know its pattern.
func (s *Server) routes() {
	s.handle("GET /healthz", s.healthz)
	s.handle("GET /readyz", s.readyz)
	if s.metricsHandler != nil {
		s.handle("GET /metrics", s.metricsHandler.ServeHTTP)
	}

	s.handle("POST /v1/login", s.login)
	s.handle("GET /v1/session", s.authed(s.getSession))
	s.handle("DELETE /v1/session", s.authed(s.deleteSession))
	s.handle("POST /v1/session/code", s.authed(s.putSessionCode))
	s.handle("GET /v1/sessions", s.authed(s.listSessions))
	s.handle("DELETE /v1/sessions/{id}", s.authed(s.revokeSession))
	s.handle("DELETE /v1/sessions", s.authed(s.revokeAllSessions))
	s.handle("POST /v1/userinfo", s.authed(s.saveUserInfo))
	s.handle("POST /v1/phone", s.authed(s.savePhone))
	s.handle("POST /v1/decrypt", s.authed(s.decrypt))
	s.handle("GET /v1/me", s.authed(s.getMe))
	s.handle("DELETE /v1/me", s.authed(s.eraseMe))
	s.handle("PUT /v1/me/profile", s.authed(s.putProfile))
	s.handle("POST /v1/me/avatar", s.authed(s.postAvatar))
	s.handle("GET /v1/avatars/{id}", s.getAvatar)
	// Proxies forward the method of the request they guard, so /v1/auth
	// answers every method.
	s.handle(forwardAuthPattern, s.forwardAuth)
	// WeCom's pushes to a suite app's callback URL.
	s.handle("GET /v1/wecom/suite/{suite_id}/callback", s.suiteVerifyURL)
	s.handle("POST /v1/wecom/suite/{suite_id}/callback", s.suiteCallback)
	s.handle("GET /v1/web/authorize", s.webAuthorize)
	s.handle("GET /v1/web/callback", s.webCallback)
	s.handle("POST /v1/web/logout", s.webLogout)

	if s.adminOn {
		s.handle("GET /v1/admin/users", s.admin(s.adminFindUsers))
		s.handle("GET /v1/admin/users/{id}", s.admin(s.adminUser))
		s.handle("DELETE /v1/admin/users/{id}", s.admin(s.adminEraseUser))
		s.handle("GET /v1/admin/users/{id}/sessions", s.admin(s.adminUserSessions))
		s.handle("DELETE /v1/admin/users/{id}/sessions", s.admin(s.adminRevokeUserSessions))
		s.handle("DELETE /v1/admin/sessions/{id}", s.admin(s.adminRevokeSession))
		s.handle("GET /v1/admin/apps/{appid}/access_token", s.admin(s.adminAccessToken))
		s.handle("POST /v1/admin/rotate-key", s.admin(s.adminRotateKey))
		s.handle("GET /v1/admin/webhooks", s.admin(s.adminWebhooks))
		s.handle("POST /v1/admin/webhooks/{id}/redeliver", s.admin(s.adminRedeliver))
	}

	if s.dev != nil {
		s.devRoutes()
	}
}

// handle registers h under pattern; the list of patterns is what the
// OpenAPI test compares with docs/openapi.yaml.
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if rec, ok := w.(*statusRecorder); ok {
			rec.routed = true
		}
		h(w, r)
	})
}

// routeOf is the label logs and metrics use for a request: the pattern
// the mux matched (it sets r.Pattern on the request it was given), never
// the raw path, which holds ids; unmatched when no route took it.
func routeOf(r *http.Request) string {
	if r.Pattern == "" {
		return unmatched
	}
	return r.Pattern
}

// requestID returns the id ServeHTTP gave the request, from the header it
// set on the response.
func requestID(w http.ResponseWriter) string {
	if v := w.Header()["X-Request-Id"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// forwardAuthPattern is the route of forward-auth, which answers every
// method: proxies forward the method of the request they guard.
const forwardAuthPattern = "/v1/auth"

// quiet reports the routes logged at DEBUG when they succeed: the probes,
// polled by orchestrators and scrapers every few seconds, and forward-auth,
// which runs once for every request a proxy guards (the proxy and the
// backend log that request already). At INFO they would bury the requests
// that matter. Their failures are logged at INFO like any other.
func quiet(route string) bool {
	switch route {
	case forwardAuthPattern, "GET /healthz", "GET /readyz", "GET /metrics":
		return true
	}
	return false
}

// nosniff is the shared value of X-Content-Type-Options. net/http only
// reads header values, so one slice serves every response.
var nosniff = []string{"nosniff"}

// unmatched labels requests no route took, so that random paths cannot
// grow the metrics' label set.
const unmatched = "unmatched"

// ServeHTTP runs the middleware (request id, recovery, access log, metrics)
// around the routes.
//
// It keeps per-request allocations few, because forward-auth runs it for
// every request a proxy guards: the request id and route travel on the
// response header and r.Pattern rather than in a new request context.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, s: s, r: r}
	rec.id[0] = incomingRequestID(r.Header["X-Request-Id"])
	h := w.Header()
	h["X-Request-Id"] = rec.id[:]

	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			// Log the panic value and answer 500 if nothing was sent yet;
			// the stack is not logged since it may hold request data.
			if !rec.wrote {
				s.writeError(rec, r, fmt.Errorf("panic: %v", v))
			} else {
				s.log.LogAttrs(r.Context(), slog.LevelError, "panic after response started",
					slog.String("request_id", rec.id[0]), slog.String("route", routeOf(r)),
					slog.String("cause", fmt.Sprint(v)))
			}
		}
		s.observe(r, rec, time.Since(start))
	}()
	if s.prefix != "" {
		var under bool
		if r, under = s.withoutPrefix(r); !under {
			s.writeError(rec, r, errOutsidePrefix)
			return
		}
		rec.r = r
	}
	if r.URL.Path == forwardAuthPattern && r.URL.RawPath == "" {
		// Forward-auth skips the mux: a proxy calls it once for every
		// request it guards, and under load the mux's cleaning and
		// matching of the path took about a seventh of wxlogin's own
		// share of the CPU. Its pattern takes every method and host, and
		// this path is already clean, so the mux would choose the same
		// handler; r.Pattern is what the mux would set.
		r.Pattern = forwardAuthPattern
		s.forwardAuth(rec, r)
		return
	}
	// Every other answer says nosniff here, whatever writes it (the mux, a
	// file server in dev mode, promhttp). Forward-auth's 200 has no body
	// to sniff, and its errors are JSON, which writeJSONBody marks.
	h["X-Content-Type-Options"] = nosniff
	ctx, cancel := context.WithTimeout(r.Context(), s.requestTimeout)
	defer cancel()
	// The deferred observe and the recorder read r: they must see the
	// request the mux sets Pattern on.
	r = r.WithContext(ctx)
	rec.r = r
	s.mux.ServeHTTP(rec, r)
}

// cleanPrefix puts a path prefix in the one form withoutPrefix expects:
// a leading slash and no trailing one ("wx/" becomes "/wx"); "" and "/"
// mean none.
func cleanPrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return "/" + p
}

var errOutsidePrefix = wxlogin.Errorf(wxlogin.ENotFound, "no such route: the API is served under its path prefix")

// withoutPrefix returns r with the path prefix cut from its URL, as the
// routes expect, and false when r's path is not under the prefix. As in
// http.StripPrefix, the request is copied, never changed: the caller's
// own middleware may still read it.
func (s *Server) withoutPrefix(r *http.Request) (*http.Request, bool) {
	rest, ok := strings.CutPrefix(r.URL.Path, s.prefix)
	if !ok || rest != "" && rest[0] != '/' {
		return r, false // "/wxfoo" is not under "/wx"
	}
	rawRest := ""
	if r.URL.RawPath != "" {
		if rawRest, ok = strings.CutPrefix(r.URL.RawPath, s.prefix); !ok {
			return r, false
		}
	}
	if rest == "" {
		rest, rawRest = "/", ""
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = rest, rawRest
	r2.URL = &u
	return r2, true
}

// observe writes the access log line and the metrics of one request. Only
// the route pattern is logged: paths hold ids and query strings hold codes.
func (s *Server) observe(r *http.Request, rec *statusRecorder, d time.Duration) {
	route := routeOf(r)
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	level := slog.LevelInfo
	if status < 400 && quiet(route) {
		level = slog.LevelDebug
	}
	s.log.LogAttrs(r.Context(), level, "http request",
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.String("request_id", rec.id[0]))
	if s.metrics != nil {
		s.metrics.observe(route, status, d)
	}
}

// incomingRequestID keeps a caller's X-Request-Id when it is short and
// plain (so it cannot forge log lines), and otherwise makes a new one.
func incomingRequestID(values []string) string {
	if len(values) > 0 {
		if id := values[0]; id != "" && len(id) <= 64 && plainID(id) {
			return id
		}
	}
	return newRequestID()
}

// plainID reports whether id holds only letters, digits, '-', '_' and '.'.
func plainID(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// newRequestID returns 96 random bits in hex. A request id must be unique,
// not secret, so it comes from math/rand/v2's generator, which the runtime
// seeds from the system's entropy and keeps per thread: crypto/rand showed
// in forward-auth's profile under load. Random rather than a counter, so
// that ids do not tell outsiders how busy the server is.
func newRequestID() string {
	var raw [12]byte
	binary.LittleEndian.PutUint64(raw[:8], rand.Uint64())
	binary.LittleEndian.PutUint32(raw[8:], rand.Uint32())
	var id [24]byte
	hex.Encode(id[:], raw[:])
	return string(id[:])
}

// statusRecorder remembers the status a handler sent, for the access log,
// and turns the mux's own plain-text 404 and 405 (sent when no route
// matched) into the JSON envelope. The mux's own redirects (to the cleaned
// form of a path with "..", "." or "//", or to a subtree's trailing slash)
// become a JSON 404 as well: no route of the contract answers a redirect
// with an HTML body, and a client that sent such a path has a bug that a
// silently followed redirect would hide.
type statusRecorder struct {
	http.ResponseWriter
	s       *Server
	r       *http.Request
	id      [1]string // the request id; its slice is the X-Request-Id header value
	status  int
	wrote   bool
	discard bool // the mux's own body follows our replacement: drop it
	routed  bool // a handler registered with handle runs; unset while the mux answers itself
}

func (w *statusRecorder) WriteHeader(status int) {
	if w.wrote {
		w.ResponseWriter.WriteHeader(status) // superfluous; let net/http say so
		return
	}
	muxRedirect := !w.routed && status >= 300 && status < 400
	if !w.routed && !w.discard && (muxRedirect || status == http.StatusNotFound || status == http.StatusMethodNotAllowed) {
		w.discard = true
		h := w.Header()
		allow := h.Get("Allow")
		h.Del("Content-Type")
		var err error
		switch {
		case muxRedirect:
			h.Del("Location")
			// The mux named the route of the cleaned path; none ran.
			w.r.Pattern = ""
			err = wxlogin.Errorf(wxlogin.ENotFound, "no such route: the path is not in its clean form (no \"..\", \".\" or empty segments)")
		case status == http.StatusNotFound:
			h.Del("Allow")
			err = wxlogin.Errorf(wxlogin.ENotFound, "no such route (see docs/openapi.yaml)")
		default:
			err = wxlogin.Errorf(wxlogin.EMethodNotAllowed, "method %s not allowed; allowed: %s", safeMethod(w.r.Method), allow)
		}
		w.s.writeError(passthrough{w}, w.r, err)
		return
	}
	w.status, w.wrote = status, true
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.discard {
		return len(b), nil
	}
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// passthrough writes our replacement of a mux error past the discard.
type passthrough struct{ w *statusRecorder }

func (p passthrough) Header() http.Header { return p.w.Header() }
func (p passthrough) WriteHeader(status int) {
	p.w.status, p.w.wrote = status, true
	p.w.ResponseWriter.WriteHeader(status)
}
func (p passthrough) Write(b []byte) (int, error) { return p.w.ResponseWriter.Write(b) }

func safeMethod(m string) string {
	if len(m) > 20 {
		m = m[:20]
	}
	return strconv.Quote(m)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, statusBody{Status: "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Ready(r.Context()); err != nil {
		if wxlogin.ErrorCode(err) != wxlogin.EStoreUnavailable {
			err = wxlogin.Wrap(err, wxlogin.EStoreUnavailable, "the store cannot be reached")
		}
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, statusBody{Status: "ok"})
}

type statusBody struct {
	Status string `json:"status"`
}
