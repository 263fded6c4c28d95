package guard_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/guard"
)

// hello is a backend handler behind guard.Require.
func hello(w http.ResponseWriter, r *http.Request) {
	p, _ := guard.FromContext(r.Context())
	fmt.Fprintf(w, "hello %s of %s", p.OpenID, p.AppID)
}

// show sends one request and prints the status and body of the answer.
func show(c *http.Client, url, token string) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("%d %s\n", resp.StatusCode, body)
}

// Behind nginx, Traefik or Caddy running forward-auth: the identity comes
// in X-Wxlogin-* headers, believed only from the proxy's address.
func ExampleBehindProxy() {
	g, err := guard.BehindProxy(guard.ProxyConfig{
		Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32")},
	})
	if err != nil {
		panic(err)
	}
	h := g.Middleware(guard.Require(http.HandlerFunc(hello)))

	for _, peer := range []string{"10.0.0.5:41000", "203.0.113.9:52000"} {
		r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		r.RemoteAddr = peer
		r.Header.Set(guard.HeaderUserID, "usr_1")
		r.Header.Set(guard.HeaderOpenID, "oAlice")
		r.Header.Set(guard.HeaderAppID, "wxdec0de0000000001")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Printf("from %s: %d %s", peer, w.Code, w.Body)
		if w.Code == http.StatusOK {
			fmt.Println()
		}
	}
	// Output:
	// from 10.0.0.5:41000: 200 hello oAlice of wxdec0de0000000001
	// from 203.0.113.9:52000: 401 {"error":{"code":"session_invalid","message":"sign in first: send the login token as Authorization: Bearer \u003ctoken\u003e"}}
}

// Without a proxy: the guard asks wxlogin's GET /v1/auth about each
// request's Bearer token.
func ExampleRemote() {
	wx, err := startStack(stackOptions{}, nil) // wxlogin with the emulator, as `wxlogin dev` runs it
	if err != nil {
		panic(err)
	}
	defer wx.Close()

	g, err := guard.Remote(guard.RemoteConfig{URL: wx.URL, AppID: "wxdec0de0000000001"})
	if err != nil {
		panic(err)
	}
	backend := httptest.NewServer(g.Middleware(guard.Require(http.HandlerFunc(hello))))
	defer backend.Close()

	alice, err := wx.login("wxdec0de0000000001", "alice")
	if err != nil {
		panic(err)
	}
	show(backend.Client(), backend.URL+"/api/me", alice.Token)
	show(backend.Client(), backend.URL+"/api/me", "")
	// Output:
	// 200 hello oeGqJlL4xA3UTNh47CZiJBGWvLGq of wxdec0de0000000001
	// 401 {"error":{"code":"session_invalid","message":"sign in first: send the login token as Authorization: Bearer \u003ctoken\u003e"}}
}

// Embedded: a Go program mounts wxlogin's whole API under /wx/ of its
// own server and verifies its own routes in process.
func ExampleInProcess() {
	wx, err := startStack(stackOptions{prefix: "/wx"}, func(api http.Handler, svc *auth.Service) http.Handler {
		// api is httpapi.New(httpapi.Config{Service: svc, PathPrefix: "/wx"}).
		g, err := guard.InProcess(guard.InProcessConfig{Verifier: svc})
		if err != nil {
			panic(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/wx/", api)
		mux.Handle("/api/", g.Middleware(guard.Require(http.HandlerFunc(hello))))
		return mux
	})
	if err != nil {
		panic(err)
	}
	defer wx.Close()

	alice, err := wx.login("wxdec0de0000000001", "alice") // POST /wx/v1/login
	if err != nil {
		panic(err)
	}
	c := wx.srv.Client()
	show(c, wx.srv.URL+"/api/me", alice.Token)
	resp, err := c.Head(wx.srv.URL + "/wx/healthz")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println("/wx/healthz:", resp.StatusCode)
	// Output:
	// 200 hello oeGqJlL4xA3UTNh47CZiJBGWvLGq of wxdec0de0000000001
	// /wx/healthz: 200
}
