package guard_test

// The real system the guard tests run against: wxlogin's HTTP API
// (httpapi) over real HTTP, in front of the real auth.Service, the real
// WeChat client talking to the emulator over HTTP, SQLite and an avatar
// folder in a temporary directory: what `wxlogin dev` runs.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/guard"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/store/blobdir"
	"github.com/wxlogin/wxlogin/store/sqlitestore"
	"github.com/wxlogin/wxlogin/wechat"
)

// The emulator's dev apps: the first two share an Open Platform account.
const (
	app1 = "wxdec0de0000000001"
	app2 = "wxdec0de0000000002"
)

// appWeCom is a WeCom app of the stack: the emulator's first corp.
const appWeCom = "wecom-guard"

const adminToken = "guard-test-admin-token-0123456789"

type stackOptions struct {
	prefix string // httpapi.Config.PathPrefix; the API is then mounted under it
	logger *slog.Logger
}

// stack is one running wxlogin.
type stack struct {
	em       *emulator.Emulator
	svc      *auth.Service
	api      *httpapi.Server
	srv      *httptest.Server // serves api (at srv.URL, or srv.URL+prefix)
	URL      string           // where the API is: srv.URL plus the prefix
	authHits atomic.Int64     // requests of GET /v1/auth that reached wxlogin
	closers  []func()
}

// startStack starts a wxlogin; mount, when set, builds the handler the
// test server serves around the API (for the embedded mode).
func startStack(o stackOptions, mount func(api http.Handler, svc *auth.Service) http.Handler) (_ *stack, err error) {
	s := &stack{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	log := o.logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.em = &emulator.Emulator{Logger: log}
	emSrv := httptest.NewServer(s.em)
	s.closers = append(s.closers, emSrv.Close)
	dir, err := os.MkdirTemp("", "guardtest")
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { os.RemoveAll(dir) })
	db, err := sqlitestore.Open(context.Background(), filepath.Join(dir, "wxlogin.db"))
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { db.Close() })
	blobs, err := blobdir.New(filepath.Join(dir, "avatars"))
	if err != nil {
		return nil, err
	}
	keys, err := keyring.New(keyring.Generate("k1"))
	if err != nil {
		return nil, err
	}
	var apps []wxlogin.App
	for _, a := range emulator.DevApps() {
		apps = append(apps, wxlogin.App{AppID: a.AppID, Secret: wxlogin.Secret(a.Secret)})
	}
	corp := emulator.DevCorps()[0]
	apps = append(apps, wxlogin.App{AppID: appWeCom, Kind: wxlogin.KindWeCom, CorpID: corp.CorpID, Secret: wxlogin.Secret(corp.Secret)})
	svc, err := auth.New(auth.Config{
		Apps: apps, Users: db, Sessions: db, Blobs: blobs, Keys: keys,
		WeChat: &wechat.Client{BaseURL: emSrv.URL, WeComBaseURL: emSrv.URL, HTTPClient: emSrv.Client(), Logger: log},
		Logger: log, SweepInterval: -1,
	})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { svc.Close() })
	s.svc = svc
	s.api = httpapi.New(httpapi.Config{Service: svc, AdminToken: adminToken, Logger: log, PathPrefix: o.prefix})
	var h http.Handler = s.api
	if mount != nil {
		h = mount(s.api, svc)
	}
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == o.prefix+"/v1/auth" {
			s.authHits.Add(1)
		}
		h.ServeHTTP(w, r)
	})
	s.srv = httptest.NewServer(counted)
	s.closers = append(s.closers, s.srv.Close)
	s.URL = s.srv.URL + o.prefix
	return s, nil
}

func newStack(t testing.TB) *stack {
	t.Helper()
	s, err := startStack(stackOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Close stops everything startStack started, the last started first.
func (s *stack) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// loginAnswer is the part of POST /v1/login's answer the tests read.
type loginAnswer struct {
	Token string `json:"token"`
	User  struct {
		ID      string `json:"id"`
		AppID   string `json:"appid"`
		OpenID  string `json:"openid"`
		UnionID string `json:"unionid"`
	} `json:"user"`
}

// login runs wx.login on the emulated phone of user and trades the code
// at wxlogin, as a mini program does.
func (s *stack) login(appid, user string) (loginAnswer, error) {
	login := s.em.Login
	if appid == appWeCom {
		login = func(_, user string) (string, error) { return s.em.WeComLogin(emulator.DevCorps()[0].CorpID, user) }
	}
	code, err := login(appid, user)
	if err != nil {
		return loginAnswer{}, err
	}
	body, _ := json.Marshal(map[string]string{"appid": appid, "code": code})
	var a loginAnswer
	if err := s.call(http.MethodPost, "/v1/login", "", bytes.NewReader(body), http.StatusOK, &a); err != nil {
		return loginAnswer{}, err
	}
	if a.Token == "" {
		return loginAnswer{}, errors.New("login answered no token")
	}
	return a, nil
}

func (s *stack) mustLogin(t testing.TB, appid, user string) loginAnswer {
	t.Helper()
	a, err := s.login(appid, user)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// call sends one request to wxlogin's API and decodes a JSON answer into
// out (when not nil), failing unless the status is want.
func (s *stack) call(method, path, token string, body io.Reader, want int, out any) error {
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// answer is one response of a backend, read whole.
type answer struct {
	status int
	header http.Header
	body   string
}

func get(t testing.TB, c *http.Client, url, token string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// errorCode is the code of wxlogin's error envelope in body, "" when body
// is not one.
func errorCode(body string) string {
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(body), &env) != nil || env.Error.Message == "" {
		return ""
	}
	return env.Error.Code
}

// whoami is a backend handler answering with the principal the guard put
// into the context, or {"anonymous":true}.
func whoami(w http.ResponseWriter, r *http.Request) {
	p, ok := guard.FromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		json.NewEncoder(w).Encode(map[string]any{"anonymous": true, "forged_user_id": r.Header.Get("X-Wxlogin-User-Id")})
		return
	}
	json.NewEncoder(w).Encode(p)
}

func decodePrincipal(t testing.TB, body string) wxlogin.Principal {
	t.Helper()
	var p wxlogin.Principal
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("backend answered %q: %v", body, err)
	}
	return p
}
