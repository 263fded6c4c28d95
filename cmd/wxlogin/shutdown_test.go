package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/keyring"
)

// TestServeFinishesRequestsInFlight cancels serve's context while a login
// waits on WeChat: serve stops accepting connections, lets the login
// finish with its 200, and exits 0.
func TestServeFinishesRequestsInFlight(t *testing.T) {
	t.Parallel()
	em := emulator.New(emulator.DevApps()...)
	inExchange, release := make(chan struct{}, 1), make(chan struct{})
	wechat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sns/jscode2session" {
			inExchange <- struct{}{}
			<-release
		}
		em.ServeHTTP(w, r)
	}))
	defer wechat.Close()
	letGo := sync.OnceFunc(func() { close(release) })
	defer letGo() // before wechat.Close, which waits for the held handler
	app := emulator.DevApps()[0]
	api, stop, stderr := startServe(t, map[string]string{
		"WXLOGIN_ADDR":            "127.0.0.1:0",
		"WXLOGIN_STORE":           "sqlite://" + filepath.Join(t.TempDir(), "wx.db"),
		"WXLOGIN_WECHAT_BASE_URL": wechat.URL,
		"WXLOGIN_APPS":            app.AppID,
		appSecretVar(app.AppID):   app.Secret,
		"WXLOGIN_MASTER_KEY":      keyring.Format(keyring.Generate("k1")),
	})
	code, err := em.Login(app.AppID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		status int
		body   map[string]any
		err    error
	}
	login := make(chan answer, 1)
	go func() {
		resp, err := http.Post(api+"/v1/login", "application/json", strings.NewReader(`{"code":"`+code+`"}`))
		if err != nil {
			login <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		var body map[string]any
		err = json.NewDecoder(resp.Body).Decode(&body)
		login <- answer{resp.StatusCode, body, err}
	}()
	<-inExchange // the login is in flight

	exit := make(chan int, 1)
	go func() { exit <- stop() }()
	// Shutdown closes the listener first: once a new connection is
	// refused, the server is draining, and only then is WeChat let go.
	u, _ := url.Parse(api)
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("serve still accepts connections 20s after its context was cancelled")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case code := <-exit:
		t.Fatalf("serve exited %d with a login in flight; stderr:\n%s", code, stderr.String())
	default:
	}
	letGo()

	if a := <-login; a.err != nil || a.status != 200 || a.body["token"] == nil {
		t.Errorf("the login in flight answered %d %v (%v), want 200 with a token", a.status, a.body, a.err)
	}
	if code := <-exit; code != 0 {
		t.Errorf("serve exited %d; stderr:\n%s", code, stderr.String())
	}
}

// TestShutdownClosesFreshConnections: connections that have asked for
// nothing yet (a browser's preconnect, a health checker's stray dial) do
// not hold a shutdown up: Close returns well within its bound, while
// net/http alone would wait until they are five seconds old. A connection
// that did make a request and sits idle is closed as before, and a request
// in flight is still finished (TestServeFinishesRequestsInFlight).
func TestShutdownClosesFreshConnections(t *testing.T) {
	t.Parallel()
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	app := emulator.DevApps()[0]
	c, err := loadConfig("", envOf(map[string]string{
		"WXLOGIN_ADDR":            "127.0.0.1:0",
		"WXLOGIN_STORE":           "sqlite://" + filepath.Join(t.TempDir(), "wx.db"),
		"WXLOGIN_WECHAT_BASE_URL": wechat.URL,
		"WXLOGIN_APPS":            app.AppID,
		appSecretVar(app.AppID):   app.Secret,
		"WXLOGIN_MASTER_KEY":      keyring.Format(keyring.Generate("k1")),
	}))
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: c, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(m.APIURL, "http://")
	// One connection that made a request and is idle, two that never did.
	res, err := http.Get(m.APIURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	var fresh []net.Conn
	for range 2 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fresh = append(fresh, conn)
	}
	// The server has accepted both before the shutdown begins.
	for deadline := time.Now().Add(10 * time.Second); m.fresh.count() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server tracks %d fresh connections, want 2", m.fresh.count())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatalf("Close with two fresh connections open: %v (net/http waits five seconds for them)", err)
	}
	for i, conn := range fresh {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("fresh connection %d after the shutdown: read %v, want EOF (closed by the server)", i, err)
		}
	}
}

// count is how many fresh connections are tracked.
func (f *freshConns) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

// BenchmarkConnStateKeptAlive is what the fresh-connection tracking adds to
// every request on a kept-alive connection: its ConnState hook for the
// request's start and end.
//
//	go test -run '^$' -bench ConnStateKeptAlive -benchmem ./cmd/wxlogin/
func BenchmarkConnStateKeptAlive(b *testing.B) {
	var f freshConns
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	fc := &freshConn{Conn: c1}
	f.connState(fc, http.StateActive) // its first request: no longer fresh
	b.ReportAllocs()
	for b.Loop() {
		f.connState(fc, http.StateActive)
		f.connState(fc, http.StateIdle)
	}
}
