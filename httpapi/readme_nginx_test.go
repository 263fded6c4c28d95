package httpapi_test

// The README's nginx forward-auth example, run for real: the config block is
// read from README.md (so the test proves what readers copy), pointed at a
// test server and a test backend, and served by the nginx on PATH. Skipped
// where there is no nginx.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/httpapi"
)

// readme returns README.md.
func readme(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// readmeBlock returns the body of the only fenced block of README.md whose
// info string is lang.
func readmeBlock(t *testing.T, lang string) string {
	t.Helper()
	blocks := readmeBlocks(t, lang)
	if len(blocks) != 1 {
		t.Fatalf("README.md has %d ```%s blocks, want 1", len(blocks), lang)
	}
	return blocks[0]
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestREADMENginxReplacesForgedHeaders puts the README's nginx example
// between a client and a backend and checks that the backend sees exactly
// wxlogin's identity headers, whatever X-Wxlogin-* headers the client
// forged, and that no request without a valid token reaches it.
func TestREADMENginxReplacesForgedHeaders(t *testing.T) {
	t.Parallel()
	requireTools(t, "nginx")
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t)
	withUnion := w.login(app1, "proxied")
	noUnion := w.login(app3, "proxied") // app 3 has no Open Platform: no unionid

	var mu sync.Mutex
	var seen []http.Header
	backend := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		io.WriteString(rw, "backend")
	}))
	t.Cleanup(backend.Close)

	block := readmeBlock(t, "nginx")
	for _, addr := range []string{"http://127.0.0.1:8080", "http://127.0.0.1:9000"} {
		if !strings.Contains(block, addr) {
			t.Fatalf("the README's nginx block no longer names %s; update this test", addr)
		}
	}
	block = strings.ReplaceAll(block, "http://127.0.0.1:8080", w.srv.URL)
	block = strings.ReplaceAll(block, "http://127.0.0.1:9000", backend.URL)
	// The README guards app 1, whose users all have a unionid; a second
	// server, the same block guarding app 3, checks the empty unionid.
	guarded := "/v1/auth?appid=" + app1 + ";"
	if !strings.Contains(block, guarded) {
		t.Fatalf("the README's nginx block no longer asks %s; update this test", guarded)
	}
	block3 := strings.ReplaceAll(block, guarded, "/v1/auth?appid="+app3+";")
	dir := t.TempDir()
	listen, listen3 := freePort(t), freePort(t)
	conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log stderr warn;
events {}
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    server {
        listen %[2]s;
%[3]s
    }
    server {
        listen %[4]s;
%[5]s
    }
}
`, dir, listen, block, listen3, block3)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd := exec.Command(nginx, "-p", dir, "-e", "stderr", "-c", confPath)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("nginx said:\n%s", stderr.String())
		}
	})
	// Wait for nginx to listen (it opens both ports before serving).
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", listen3)
		if err == nil {
			c.Close()
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("nginx did not start: %s", stderr.String())
		}
	}

	forged := map[string]string{
		"X-Wxlogin-User-Id": "usr_forged", "X-Wxlogin-Openid": "o_forged",
		"X-Wxlogin-Appid": "wx_forged", "X-Wxlogin-Unionid": "u_forged",
		"X-Wxlogin-Account-Id": "acc_forged",
		"X-Wxlogin-Corpid":     "ww_forged", "X-Wxlogin-Wecom-Userid": "forged",
	}
	send3 := func(listen, token string) (int, http.Header) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+listen+"/api/orders", nil)
		for k, v := range forged {
			req.Header.Set(k, v)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		mu.Lock()
		before := len(seen)
		mu.Unlock()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		switch len(seen) - before {
		case 0:
			return res.StatusCode, nil
		case 1:
			return res.StatusCode, seen[before]
		}
		t.Fatalf("one request reached the backend %d times", len(seen)-before)
		return 0, nil
	}
	send := func(token string) (int, http.Header) {
		t.Helper()
		return send3(listen, token)
	}

	for _, tc := range []struct {
		name, listen string
		lb           loginBody
	}{{"with unionid", listen, withUnion}, {"without unionid", listen3, noUnion}} {
		status, h := send3(tc.listen, tc.lb.Token)
		if status != 200 || h == nil {
			t.Fatalf("%s: status %d, backend reached %v", tc.name, status, h != nil)
		}
		want := map[string][]string{
			"X-Wxlogin-User-Id": {tc.lb.User.ID}, "X-Wxlogin-Openid": {tc.lb.User.OpenID},
			"X-Wxlogin-Appid": {tc.lb.User.AppID}, "X-Wxlogin-Unionid": {tc.lb.User.UnionID},
			"X-Wxlogin-Account-Id": {w.request("GET", "/v1/auth", tc.lb.Token, nil).header.Get("X-Wxlogin-Account-Id")},
			// A WeChat user has no corp: nginx sends no header for the
			// empty value, and the forged one must be gone.
			"X-Wxlogin-Corpid": nil, "X-Wxlogin-Wecom-Userid": nil,
		}
		if tc.lb.User.UnionID == "" {
			// nginx sends no header for an empty value; what matters is
			// that the forged one is gone.
			want["X-Wxlogin-Unionid"] = nil
		}
		for k, v := range want {
			if got := h.Values(k); !slices.Equal(got, v) {
				t.Errorf("%s: the backend got %s %q, want %q", tc.name, k, got, v)
			}
		}
	}
	// A web session's cookie through the same block: nginx passes the
	// Cookie header and the guarded request's own method to the
	// subrequest, so a POST by cookie passes only with the CSRF token.
	for _, tc := range []struct {
		name, method, csrf string
		want               int
	}{
		{"GET by cookie", "GET", "", 200},
		{"POST by cookie without the CSRF token", "POST", "", 403},
		{"POST by cookie with it", "POST", auth.CSRFToken(withUnion.Token), 200},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+listen+"/api/orders", nil)
		req.Header.Set("Cookie", "theme=dark; "+httpapi.SessionCookie+"="+withUnion.Token)
		if tc.csrf != "" {
			req.Header.Set(httpapi.CSRFHeader, tc.csrf)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s: nginx answered %d, want %d", tc.name, res.StatusCode, tc.want)
		}
	}
	// A valid token of another app than the guarded one never passes.
	if status, h := send(noUnion.Token); status != 401 || h != nil {
		t.Errorf("app 3's token at app 1's backend: status %d, backend reached %v; want 401 and never reached", status, h != nil)
	}
	if status, h := send3(listen3, withUnion.Token); status != 401 || h != nil {
		t.Errorf("app 1's token at app 3's backend: status %d, backend reached %v; want 401 and never reached", status, h != nil)
	}
	for _, token := range []string{"", withUnion.Token + "x"} {
		if status, h := send(token); status != 401 || h != nil {
			t.Errorf("token %q: status %d, backend reached %v; want 401 and never reached", token, status, h != nil)
		}
	}
	// The store goes away: wxlogin answers 503, which nginx turns into 500,
	// for a well-formed token it must look up and then for one verified
	// (and cached) above.
	gone := w.login(app1, "proxied-gone").Token
	w.request("DELETE", "/v1/session", gone, nil).ok(t, 204, nil)
	if err := w.db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{gone, withUnion.Token} {
		if status, h := send(token); status != 500 || h != nil {
			t.Errorf("store down, token %.12s…: status %d, backend reached %v; want 500 and never reached", token, status, h != nil)
		}
	}
}
