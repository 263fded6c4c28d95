// Package httpapi is wxlogin's HTTP interface: the routes of the HTTP
// contract (docs/openapi.yaml), JSON decoding and encoding, the one map from
// application error codes to HTTP statuses, and the middleware every request
// passes through (request id, access log, panic recovery, metrics).
//
// It holds no business logic: every route decodes its request, calls one
// method of auth.Service and encodes the answer. Errors travel as
// *wxlogin.Error up to writeError, the only place that turns a code into a
// status and that decides what a client may see of an error.
//
// Metrics: with Config.Metrics set, the request metrics are registered and
// GET /metrics serves the registry; ServiceMetrics is the Prometheus side of
// wechat.Observer and auth.Metrics, and the verification cache's counters
// are read from auth.Service.CacheStats at scrape time. The README lists
// every wxlogin_* metric, and a test holds the list to what is served.
//
// Forward-auth (GET /v1/auth, any method): reverse proxies such as nginx
// (auth_request), Traefik (forwardAuth) and Caddy (forward_auth) send a
// subrequest carrying the original request's headers, so the client's
// "Authorization: Bearer <token>" reaches wxlogin unchanged. A 200 answer
// carries X-Wxlogin-User-Id, X-Wxlogin-Openid, X-Wxlogin-Appid and
// X-Wxlogin-Unionid, and for a WeCom app's user X-Wxlogin-Corpid and
// X-Wxlogin-Wecom-Userid with X-Wxlogin-Openid empty (all always present,
// empty when unknown, so a proxy that copies them overwrites anything the
// client forged) and no body; any other
// answer means "deny". With ?appid=wx… a valid token of any other app
// answers 401 as an unknown one does, so that one proxy configuration
// guards the backend of one app.
//
// Embedding: with Config.PathPrefix ("/wx") a Go program mounts the whole
// API on its own mux (mux.Handle("/wx/", srv)); ServeHTTP cuts the prefix
// before anything else, forward-auth's fast path included, and the
// avatar URLs it hands out start with it. The program's own routes can
// then verify in process with package guard.
package httpapi
