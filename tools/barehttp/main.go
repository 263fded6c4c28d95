// Command barehttp is the baseline of scripts/bench-auth: a bare net/http
// server whose handler does the least a forward-auth endpoint must (read
// the Authorization header, answer 200 with the four identity headers and
// no body, as wxlogin's GET /v1/auth does), so that the load figure of
// wxlogin's GET /v1/auth can be reported as a ratio against it, measured in
// the same run on the same machine.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("barehttp: listening on http://%s\n", ln.Addr())
	// The same server settings as wxlogin's (cmd/wxlogin/stack.go), so the
	// comparison is of the handlers, not of the timeouts' bookkeeping.
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h := w.Header()
		h.Set("X-Wxlogin-User-Id", "usr_baseline")
		h.Set("X-Wxlogin-Openid", "o_baseline")
		h.Set("X-Wxlogin-Appid", "wx0000000000000000")
		h.Set("X-Wxlogin-Unionid", "")
		w.WriteHeader(http.StatusOK)
	})
	log.Fatal(srv.Serve(ln))
}
