package main

import (
	"encoding/json"
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
