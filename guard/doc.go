// Package guard puts the wxlogin user behind a request into the request's
// context, for Go backends of a mini program. It is named for what it does
// in a backend: it stands in front of handlers and lets a request through
// with the identity wxlogin vouches for, or stops it.
//
// A Guard finds the identity in one of three ways, one per deployment:
//
//   - BehindProxy: nginx, Traefik or Caddy ran forward-auth against
//     wxlogin's GET /v1/auth and copied the X-Wxlogin-* headers of its
//     answer onto the request. The headers are believed only when the
//     request's peer address is in ProxyConfig.Trusted; from anyone else
//     they are removed, so a handler cannot read a forged one by mistake,
//     and the request is unauthenticated.
//   - Remote: no proxy; the Guard sends the request's Bearer token to
//     wxlogin's GET /v1/auth itself, over one shared keep-alive client with
//     timeouts, with one call in flight per token however many requests
//     carry it. An optional cache (RemoteConfig.CacheTTL, off by default)
//     saves the round trip; its TTL is how long a revoked token may still
//     pass on this backend.
//   - InProcess: the program embeds wxlogin (httpapi mounted under a
//     prefix of its own server) and verifies with auth.Service's Verify
//     directly, with no HTTP at all and no cache to go stale.
//
// Every Guard has the same Middleware: the request reaches the next
// handler with its principal in the context (FromContext), or without one
// when it carries no identity at all. A token wxlogin refuses is answered
// 401 at once, and a wxlogin that cannot answer 503, both in wxlogin's
// JSON error envelope; the guard never lets a request through on an error.
// Require, placed after Middleware, answers 401 to requests without a
// principal, so public and private routes can share one Middleware.
//
//	g, err := guard.BehindProxy(guard.ProxyConfig{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32")}})
//	...
//	mux := http.NewServeMux()
//	mux.Handle("/api/", guard.Require(http.HandlerFunc(api)))
//	http.ListenAndServe(":9000", g.Middleware(mux))
//
//	func api(w http.ResponseWriter, r *http.Request) {
//		p, _ := guard.FromContext(r.Context())
//		fmt.Fprintf(w, "hello %s of %s", p.OpenID, p.AppID)
//	}
//
// The principal's UserID, OpenID and AppID are always set, UnionID when
// WeChat gave one. SessionID and ExpiresAt are set only by InProcess:
// forward-auth's headers do not carry them.
//
// # Other routers
//
// Middleware is a func(http.Handler) http.Handler, so chi takes it as it is:
//
//	r := chi.NewRouter()
//	r.Use(g.Middleware)
//	r.With(guard.Require).Get("/api/me", me)
//
// echo wraps it:
//
//	e := echo.New()
//	e.Use(echo.WrapMiddleware(g.Middleware))
//	api := e.Group("/api", echo.WrapMiddleware(guard.Require))
//	api.GET("/me", func(c echo.Context) error {
//		p, _ := guard.FromContext(c.Request().Context())
//		return c.JSON(http.StatusOK, map[string]string{"openid": p.OpenID})
//	})
//
// gin has no wrapper of its own for net/http middleware; this one runs the
// guard and carries its request on, or stops the chain when the guard
// answered:
//
//	func ginMiddleware(mw func(http.Handler) http.Handler) gin.HandlerFunc {
//		return func(c *gin.Context) {
//			passed := false
//			mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
//				passed = true
//				c.Request = r
//			})).ServeHTTP(c.Writer, c.Request)
//			if !passed {
//				c.Abort()
//				return
//			}
//			c.Next()
//		}
//	}
//
//	r := gin.New()
//	r.Use(ginMiddleware(g.Middleware))
//	r.GET("/api/me", ginMiddleware(guard.Require), func(c *gin.Context) {
//		p, _ := guard.FromContext(c.Request.Context())
//		c.JSON(http.StatusOK, gin.H{"openid": p.OpenID})
//	})
//
// The token is never logged, never kept in clear by the cache (which is
// keyed by its SHA-256) and never part of an error.
package guard
