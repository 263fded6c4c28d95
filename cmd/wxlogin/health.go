package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

func init() {
	commands["health"] = command{Summary: "check a local server's readiness (GET /readyz): exit 0 when ready, 1 when not (for container health checks)", Run: runHealth}
}

// runHealth asks a server whether it is ready. Container images without a
// shell or curl (distroless, scratch) run it as their health check, so it
// needs nothing but the binary and answers with its exit code.
func runHealth(ctx context.Context, args []string, e env) int {
	flags := flag.NewFlagSet("health", flag.ContinueOnError)
	flags.SetOutput(e.Stderr)
	configPath := flags.String("config", "", "YAML config file whose addr is checked (also WXLOGIN_CONFIG, WXLOGIN_ADDR)")
	url := flags.String("url", "", "URL to GET (default: http://<addr>/readyz, a wildcard host checked on loopback)")
	timeout := flags.Duration("timeout", 3*time.Second, "give up after this long")
	if flags.Parse(args) != nil {
		return 2
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(e.Stderr, "wxlogin health: "+format+"\n", args...)
		return 1
	}
	if *timeout <= 0 {
		return fail("--timeout must be positive")
	}
	if *url == "" {
		if *configPath == "" {
			*configPath = e.Getenv("WXLOGIN_CONFIG")
		}
		c, err := readConfig(*configPath, e.Getenv)
		if err != nil {
			return fail("%v", err)
		}
		u, err := readyURL(c.Addr)
		if err != nil {
			return fail("%v", err)
		}
		*url = u
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return fail("--url: %v", err)
	}
	// No proxy from the environment: the check is of this host's server.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return fail("%v", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fail("%s answered %s", *url, resp.Status)
	}
	return 0
}

// readyURL is the readiness URL of a server listening on addr; a server
// listening on every address (0.0.0.0, [::], or no host) is asked on
// 127.0.0.1, which a [::] listener also accepts (Linux listens on both
// unless told otherwise), and which works where IPv6 is off.
func readyURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("addr: %q is not host:port", addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}
