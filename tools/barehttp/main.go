// Command barehttp is the baseline of scripts/bench-auth: a bare net/http
// server whose handler does the least a forward-auth endpoint must (read
// the Authorization header, answer 200 with the four identity headers and
// no body, as wxlogin's GET /v1/auth does), so that the load figure of
// wxlogin's GET /v1/auth can be reported as a ratio against it, measured in
// the same run on the same machine. `wxlogin bench` runs the same handler
// in process (loadgen.BareHandler).
package main

import (
	"flag"
	"fmt"
	"log"
	"net"

	"github.com/wxlogin/wxlogin/loadgen"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("barehttp: listening on http://%s\n", ln.Addr())
	log.Fatal(loadgen.NewBareServer().Serve(ln))
}
