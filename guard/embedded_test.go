package guard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/guard"
)

// embeddedProgram is a Go program of its own that mounts wxlogin's whole
// API under /wx/ of its server and guards its own /api/ routes in
// process.
func embeddedProgram(t testing.TB) *stack {
	t.Helper()
	s, err := startStack(stackOptions{prefix: "/wx"}, func(api http.Handler, svc *auth.Service) http.Handler {
		g, err := guard.InProcess(guard.InProcessConfig{Verifier: svc})
		if err != nil {
			panic(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/wx/", api)
		mux.Handle("/api/", g.Middleware(guard.Require(http.HandlerFunc(whoami))))
		return mux
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestEmbeddedUnderPrefix(t *testing.T) {
	t.Parallel()
	wx := embeddedProgram(t)
	root := wx.srv.URL
	c := wx.srv.Client()
	alice := wx.mustLogin(t, app1, "alice") // POST /wx/v1/login

	t.Run("forward-auth under the prefix", func(t *testing.T) {
		a := get(t, c, root+"/wx/v1/auth", alice.Token)
		if a.status != http.StatusOK || a.header.Get(guard.HeaderUserID) != alice.User.ID || a.header.Get(guard.HeaderAppID) != app1 {
			t.Errorf("status %d headers %v, want 200 with alice's identity", a.status, a.header)
		}
		if a := get(t, c, root+"/wx/v1/auth?appid="+app2, alice.Token); a.status != http.StatusUnauthorized {
			t.Errorf("another app's forward-auth: status %d, want 401", a.status)
		}
		if a := get(t, c, root+"/v1/auth", alice.Token); a.status != http.StatusNotFound {
			t.Errorf("/v1/auth outside the prefix: status %d, want 404", a.status)
		}
	})

	t.Run("the program's own route verifies in process", func(t *testing.T) {
		before := wx.authHits.Load()
		a := get(t, c, root+"/api/me", alice.Token)
		if a.status != http.StatusOK {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		p := decodePrincipal(t, a.body)
		if p.UserID != alice.User.ID || p.OpenID != alice.User.OpenID || p.SessionID == "" || p.ExpiresAt.IsZero() {
			t.Errorf("principal = %+v, want alice with her session", p)
		}
		if wx.authHits.Load() != before {
			t.Error("the in-process guard called /v1/auth")
		}
	})

	t.Run("avatar URLs follow the prefix", func(t *testing.T) {
		var buf bytes.Buffer
		if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, root+"/wx/v1/me/avatar", &buf)
		req.Header.Set("Authorization", "Bearer "+alice.Token)
		req.Header.Set("Content-Type", "image/png")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var me struct {
			Profile struct {
				AvatarURL string `json:"avatar_url"`
			} `json:"profile"`
		}
		err = json.NewDecoder(resp.Body).Decode(&me)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("upload: status %d, %v", resp.StatusCode, err)
		}
		if !strings.HasPrefix(me.Profile.AvatarURL, "/wx/v1/avatars/") {
			t.Fatalf("avatar_url = %q, want it under /wx/", me.Profile.AvatarURL)
		}
		a := get(t, c, root+me.Profile.AvatarURL, "")
		if a.status != http.StatusOK || a.header.Get("Content-Type") != "image/png" {
			t.Errorf("GET %s: status %d, Content-Type %q", me.Profile.AvatarURL, a.status, a.header.Get("Content-Type"))
		}
		// The admin API shows the same URL.
		var found struct {
			Users []struct {
				Profile struct {
					AvatarURL string `json:"avatar_url"`
				} `json:"profile"`
			} `json:"users"`
		}
		if err := wx.call(http.MethodGet, "/v1/admin/users?openid="+alice.User.OpenID, adminToken, nil, http.StatusOK, &found); err != nil {
			t.Fatal(err)
		}
		if len(found.Users) != 1 || found.Users[0].Profile.AvatarURL != me.Profile.AvatarURL {
			t.Errorf("admin lookup = %+v, want avatar_url %q", found.Users, me.Profile.AvatarURL)
		}
	})

	t.Run("a logout is seen at once", func(t *testing.T) {
		if err := wx.call(http.MethodDelete, "/v1/session", alice.Token, nil, http.StatusNoContent, nil); err != nil {
			t.Fatal(err)
		}
		if a := get(t, c, root+"/api/me", alice.Token); a.status != http.StatusUnauthorized || errorCode(a.body) != "session_invalid" {
			t.Errorf("after logout: status %d body %s, want 401 session_invalid", a.status, a.body)
		}
	})
}

// TestPrefixRefusesOtherPaths: the Server with a PathPrefix answers a
// JSON 404 for a path outside it, whoever routed the request there.
func TestPrefixRefusesOtherPaths(t *testing.T) {
	t.Parallel()
	wx := embeddedProgram(t)
	for _, path := range []string{"/v1/auth", "/wxfoo/v1/auth", "/w/v1/login", "/"} {
		rec := httptest.NewRecorder()
		wx.api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusNotFound || errorCode(rec.Body.String()) != "not_found" {
			t.Errorf("%s: status %d body %s, want 404 not_found", path, rec.Code, rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	wx.api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/wx/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("/wx/healthz: status %d", rec.Code)
	}
}

// verifierFunc lets a test answer as auth.Service's Verify would.
type verifierFunc func(ctx context.Context, token string) (wxlogin.Principal, error)

func (f verifierFunc) Verify(ctx context.Context, token string) (wxlogin.Principal, error) {
	return f(ctx, token)
}

// TestInProcessErrors: each error of Verify becomes the answer a client
// can act on, and none lets the request through.
func TestInProcessErrors(t *testing.T) {
	t.Parallel()
	alice := wxlogin.Principal{UserID: "usr_1", OpenID: "o1", AppID: app1, SessionID: "ses_1"}
	for _, tt := range []struct {
		name   string
		appID  string
		answer error
		status int
		code   string
	}{
		{"verified", "", nil, 200, ""},
		{"verified, the app asked for", app1, nil, 200, ""},
		{"another app", app2, nil, 401, "session_invalid"},
		{"refused", "", wxlogin.Errorf(wxlogin.ESessionInvalid, "gone"), 401, "session_invalid"},
		{"store down", "", &wxlogin.Error{Code: wxlogin.EStoreUnavailable, Message: "down", RetryAfter: 3 * time.Second}, 503, "upstream_unavailable"},
		{"a bug", "", errors.New("boom"), 500, "internal"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			g, err := guard.InProcess(guard.InProcessConfig{
				AppID:  tt.appID,
				Logger: slog.New(slog.NewTextHandler(&logs, nil)),
				Verifier: verifierFunc(func(_ context.Context, token string) (wxlogin.Principal, error) {
					if token != "tok" {
						t.Errorf("Verify got %q, want the request's token", token)
					}
					return alice, tt.answer
				}),
			})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "bearer tok")
			rec := httptest.NewRecorder()
			g.Middleware(http.HandlerFunc(whoami)).ServeHTTP(rec, r)
			if rec.Code != tt.status || errorCode(rec.Body.String()) != tt.code {
				t.Errorf("status %d body %s, want %d %q", rec.Code, rec.Body, tt.status, tt.code)
			}
			if tt.status == 503 && rec.Header().Get("Retry-After") != "3" {
				t.Errorf("Retry-After = %q, want 3", rec.Header().Get("Retry-After"))
			}
			if tt.status == 500 && !strings.Contains(logs.String(), "boom") {
				t.Errorf("the cause is not logged: %q", logs.String())
			}
		})
	}
	if _, err := guard.InProcess(guard.InProcessConfig{}); err == nil {
		t.Error("InProcess accepted no Verifier")
	}
}

// auth.Service is what an embedding program passes as its Verifier.
var _ guard.Verifier = (*auth.Service)(nil)
