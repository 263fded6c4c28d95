package adminclient_test

// The client against the real server: httpapi over HTTP in front of
// auth.Service, the WeChat client and the emulator, SQLite in a temporary
// folder.

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
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/adminclient"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/store/sqlitestore"
	"github.com/wxlogin/wxlogin/wechat"
)

const (
	app1       = "wxdec0de0000000001"
	app2       = "wxdec0de0000000002"
	adminToken = "adminclient-test-admin-token-0123456789"
)

type server struct {
	t   *testing.T
	em  *emulator.Emulator
	srv *httptest.Server
}

func newServer(t *testing.T) *server { return newServerWith(t, nil) }

// newServerWith starts the server with what configure changes of auth's
// configuration; db is the store, for a webhook dispatcher's outbox.
func newServerWith(t *testing.T, configure func(c *auth.Config, db *sqlitestore.DB)) *server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	em := &emulator.Emulator{Logger: log}
	emSrv := httptest.NewServer(em)
	t.Cleanup(emSrv.Close)
	db, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "wxlogin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := keyring.New(keyring.Generate("k1"))
	if err != nil {
		t.Fatal(err)
	}
	var apps []wxlogin.App
	for _, a := range emulator.DevApps() {
		apps = append(apps, wxlogin.App{AppID: a.AppID, Secret: wxlogin.Secret(a.Secret)})
	}
	cfg := auth.Config{
		Apps: apps, Users: db, Sessions: db, Keys: keys, SweepInterval: -1, Logger: log,
		WeChat: &wechat.Client{BaseURL: emSrv.URL, WeComBaseURL: emSrv.URL, HTTPClient: emSrv.Client(), Logger: log},
	}
	if configure != nil {
		configure(&cfg, db)
	}
	svc, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Service: svc, AdminToken: adminToken, Logger: log}))
	t.Cleanup(srv.Close)
	return &server{t: t, em: em, srv: srv}
}

func (s *server) client(token string) *adminclient.Client {
	s.t.Helper()
	c, err := adminclient.New(adminclient.Config{URL: s.srv.URL, Token: wxlogin.Secret(token), HTTPClient: s.srv.Client()})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

type login struct {
	Token string `json:"token"`
	User  struct {
		ID      string `json:"id"`
		OpenID  string `json:"openid"`
		UnionID string `json:"unionid"`
	} `json:"user"`
}

// login is wx.login on user's emulated phone, then POST /v1/login.
func (s *server) login(appid, user string) login {
	s.t.Helper()
	code, err := s.em.Login(appid, user)
	if err != nil {
		s.t.Fatal(err)
	}
	var l login
	s.call(http.MethodPost, "/v1/login", "", map[string]string{"appid": appid, "code": code}, http.StatusOK, &l)
	return l
}

// call sends one request of the user-facing API and checks its status.
func (s *server) call(method, path, token string, body any, want int, out any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatal(err)
		}
	}
}

func TestClientAgainstTheServer(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx := t.Context()
	c := s.client(adminToken)
	phone := s.login(app1, "alice")
	tablet := s.login(app1, "alice")
	other := s.login(app2, "alice") // the same person in the other app of her Open Platform account
	bob := s.login(app1, "bob")
	s.call(http.MethodPut, "/v1/me/profile", phone.Token, map[string]string{"nickname": "Alice"}, http.StatusOK, nil)

	t.Run("find by openid", func(t *testing.T) {
		users, err := c.FindUsers(ctx, wxlogin.UserFilter{OpenID: phone.User.OpenID})
		if err != nil {
			t.Fatal(err)
		}
		if len(users) != 1 || users[0].ID != phone.User.ID || users[0].AppID != app1 || users[0].Profile.Nickname != "Alice" || users[0].Profile.Source != "filled_in" || users[0].CreatedAt.IsZero() {
			t.Errorf("users = %+v, want alice of app1 named Alice", users)
		}
	})
	t.Run("find by unionid across apps", func(t *testing.T) {
		users, err := c.FindUsers(ctx, wxlogin.UserFilter{UnionID: phone.User.UnionID})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, u := range users {
			ids[u.ID] = true
		}
		if len(users) != 2 || !ids[phone.User.ID] || !ids[other.User.ID] {
			t.Errorf("users = %+v, want alice in both apps", users)
		}
	})
	t.Run("find with appid and limit", func(t *testing.T) {
		users, err := c.FindUsers(ctx, wxlogin.UserFilter{AppID: app1, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(users) != 1 || users[0].AppID != app1 {
			t.Errorf("users = %+v, want one user of app1", users)
		}
		_, err = c.FindUsers(ctx, wxlogin.UserFilter{Limit: 5000})
		if wxlogin.ErrorCode(err) != wxlogin.EInvalidRequest {
			t.Errorf("limit 5000: err = %v, want invalid_request", err)
		}
	})
	t.Run("get a user", func(t *testing.T) {
		u, err := c.User(ctx, bob.User.ID)
		if err != nil || u.OpenID != bob.User.OpenID || u.Profile.AvatarURL != "" || u.Profile.Source != "none" {
			t.Errorf("User = %+v, %v; want bob without a profile", u, err)
		}
		if _, err := c.User(ctx, "usr_nobody/../x"); !errors.Is(err, wxlogin.ErrNotFound) {
			t.Errorf("a missing user: err = %v, want not_found", err)
		}
	})
	t.Run("sessions, revoke one, revoke all", func(t *testing.T) {
		list, err := c.Sessions(ctx, phone.User.ID)
		if err != nil || len(list) != 2 {
			t.Fatalf("Sessions = %+v, %v; want alice's two", list, err)
		}
		for _, ss := range list {
			if ss.ID == "" || ss.ExpiresAt.Before(time.Now()) || ss.IP == "" {
				t.Errorf("session = %+v", ss)
			}
		}
		// Find the tablet's session: the one /v1/sessions marks current.
		var mine struct {
			Sessions []struct {
				ID      string `json:"id"`
				Current bool   `json:"current"`
			} `json:"sessions"`
		}
		s.call(http.MethodGet, "/v1/sessions", tablet.Token, nil, http.StatusOK, &mine)
		var tabletSession string
		for _, ss := range mine.Sessions {
			if ss.Current {
				tabletSession = ss.ID
			}
		}
		if err := c.RevokeSession(ctx, tabletSession); err != nil {
			t.Fatal(err)
		}
		s.call(http.MethodGet, "/v1/session", tablet.Token, nil, http.StatusUnauthorized, nil)
		s.call(http.MethodGet, "/v1/session", phone.Token, nil, http.StatusOK, nil)
		if err := c.RevokeSessions(ctx, phone.User.ID); err != nil {
			t.Fatal(err)
		}
		s.call(http.MethodGet, "/v1/session", phone.Token, nil, http.StatusUnauthorized, nil)
		if list, err := c.Sessions(ctx, phone.User.ID); err != nil || len(list) != 0 {
			t.Errorf("after revoking all: %+v, %v", list, err)
		}
		// Her session in the other app is another user's.
		s.call(http.MethodGet, "/v1/session", other.Token, nil, http.StatusOK, nil)
	})
	t.Run("access token", func(t *testing.T) {
		tok, err := c.AccessToken(ctx, app1)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Value.Reveal() == "" || !tok.ExpiresAt.After(time.Now()) {
			t.Errorf("AccessToken = %+v", tok)
		}
		if strings.Contains(fmt.Sprintf("%v %+v", tok, tok), tok.Value.Reveal()) {
			t.Error("printing the access token shows its value")
		}
		if _, err := c.AccessToken(ctx, "wxnotconfigured00"); wxlogin.ErrorCode(err) != wxlogin.EUnknownApp {
			t.Errorf("an unknown app: err = %v, want unknown_app", err)
		}
	})
	t.Run("rotate keys", func(t *testing.T) {
		// Every value is sealed under the only key already.
		if n, err := c.RotateKeys(ctx); err != nil || n != 0 {
			t.Errorf("RotateKeys = %d, %v; want 0 with one master key", n, err)
		}
	})
	t.Run("erase", func(t *testing.T) {
		if err := c.EraseUser(ctx, bob.User.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.User(ctx, bob.User.ID); !errors.Is(err, wxlogin.ErrNotFound) {
			t.Errorf("after erasing: err = %v, want not_found", err)
		}
		s.call(http.MethodGet, "/v1/session", bob.Token, nil, http.StatusUnauthorized, nil)
		if err := c.EraseUser(ctx, bob.User.ID); !errors.Is(err, wxlogin.ErrNotFound) {
			t.Errorf("erasing again: err = %v, want not_found", err)
		}
	})
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	const wrong = "not-the-admin-token-9876543210"
	_, err := s.client(wrong).FindUsers(t.Context(), wxlogin.UserFilter{})
	if wxlogin.ErrorCode(err) != wxlogin.EUnauthorized {
		t.Errorf("a wrong token: err = %v, want unauthorized", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Error("the error shows the token")
	}

	// A URL that is not wxlogin's.
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	c, err := adminclient.New(adminclient.Config{URL: other.URL, Token: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.User(t.Context(), "usr_1"); wxlogin.ErrorCode(err) != wxlogin.EInternal || !strings.Contains(err.Error(), "404") {
		t.Errorf("not wxlogin: err = %v", err)
	}
	// A server that is gone: the error names the route, never the token
	// or a query's openid.
	other.Close()
	_, err = c.FindUsers(t.Context(), wxlogin.UserFilter{OpenID: "oSecretish"})
	if err == nil || strings.Contains(err.Error(), adminToken) || strings.Contains(err.Error(), "oSecretish") {
		t.Errorf("gone: err = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.client(adminToken).RotateKeys(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: err = %v, want context.Canceled", err)
	}

	for _, cfg := range []adminclient.Config{
		{Token: adminToken},
		{URL: "127.0.0.1:8080", Token: adminToken},
		{URL: "http://h/?x=1", Token: adminToken},
		{URL: "http://h"},
	} {
		if _, err := adminclient.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted it", cfg)
		}
	}
}
