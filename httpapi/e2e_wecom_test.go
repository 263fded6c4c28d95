package httpapi_test

// WeCom (企业微信) mini program login end to end: wx.qy.login on the
// emulator's device, POST /v1/login, the session, forward-auth and the
// admin API, on both stores.

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/wechat"
)

// weComApp is the wxlogin app of the emulator's first dev corp.
const weComApp = "wecom-dev"

var (
	devCorp1 = emulator.DevCorps()[0]
	devCorp2 = emulator.DevCorps()[1]
)

// withWeCom adds the WeCom app of the emulator's first dev corp.
func withWeCom(_ *world, c *auth.Config, _ *httpapi.Config) {
	c.Apps = append(c.Apps, wxlogin.App{AppID: weComApp, Kind: wxlogin.KindWeCom,
		CorpID: devCorp1.CorpID, Secret: wxlogin.Secret(devCorp1.Secret)})
}

type weComUserBody struct {
	ID      string  `json:"id"`
	AppID   string  `json:"appid"`
	OpenID  *string `json:"openid"`
	CorpID  string  `json:"corpid"`
	UserID  string  `json:"userid"`
	Created *bool   `json:"created"`
}

func (w *world) weComCode(corpid, user string) string {
	w.t.Helper()
	c, err := w.em.WeComLogin(corpid, user)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func TestWeComLogin(t *testing.T) {
	eachStore(t, func(t *testing.T, kind storeKind) {
		w := newWorldOn(t, kind, withWeCom)

		var lb struct {
			Token string        `json:"token"`
			User  weComUserBody `json:"user"`
		}
		code := w.weComCode(devCorp1.CorpID, "zhangsan")
		w.request("POST", "/v1/login", "", map[string]string{"appid": weComApp, "code": code}).ok(t, 200, &lb)
		if lb.User.CorpID != devCorp1.CorpID || lb.User.UserID != "zhangsan" || lb.User.OpenID != nil ||
			lb.User.AppID != weComApp || lb.User.Created == nil || !*lb.User.Created {
			t.Fatalf("login user = %+v, want corp %s, userid zhangsan, no openid, created", lb.User, devCorp1.CorpID)
		}

		// The same member again: the same user, not a new one.
		var again struct{ User weComUserBody }
		w.request("POST", "/v1/login", "", map[string]string{"appid": weComApp, "code": w.weComCode(devCorp1.CorpID, "zhangsan")}).ok(t, 200, &again)
		if again.User.ID != lb.User.ID || *again.User.Created {
			t.Errorf("second login: %+v, want user %s not created", again.User, lb.User.ID)
		}

		// The session says who it is.
		var sess struct{ User weComUserBody }
		w.request("GET", "/v1/session", lb.Token, nil).ok(t, 200, &sess)
		if sess.User.CorpID != devCorp1.CorpID || sess.User.UserID != "zhangsan" || sess.User.OpenID != nil {
			t.Errorf("session user = %+v", sess.User)
		}

		// Forward-auth: the corp and the userid, no openid; forged values replaced.
		r := w.request("GET", "/v1/auth", lb.Token, nil, "X-Wxlogin-Corpid", "wwforged", "X-Wxlogin-Openid", "oforged")
		if r.status != 200 {
			t.Fatalf("forward-auth: %d %s", r.status, r.body)
		}
		for h, want := range map[string]string{
			"X-Wxlogin-User-Id": lb.User.ID, "X-Wxlogin-Appid": weComApp, "X-Wxlogin-Openid": "",
			"X-Wxlogin-Corpid": devCorp1.CorpID, "X-Wxlogin-Wecom-Userid": "zhangsan",
		} {
			if v := r.header.Values(h); len(v) != 1 || v[0] != want {
				t.Errorf("%s = %q, want %q", h, v, want)
			}
		}

		// A WeChat user's forward-auth carries the new headers empty.
		wx := w.login(app1, "zhangsan")
		r = w.request("GET", "/v1/auth", wx.Token, nil, "X-Wxlogin-Corpid", "wwforged")
		if v := r.header.Values("X-Wxlogin-Corpid"); r.status != 200 || len(v) != 1 || v[0] != "" {
			t.Errorf("WeChat user: X-Wxlogin-Corpid = %q (status %d), want one empty value", v, r.status)
		}

		// Admin: find by (corpid, userid); the user shows its corp.
		var found struct{ Users []weComUserBody }
		w.request("GET", "/v1/admin/users?corpid="+devCorp1.CorpID+"&userid=zhangsan", adminToken, nil).ok(t, 200, &found)
		if len(found.Users) != 1 || found.Users[0].ID != lb.User.ID || found.Users[0].CorpID != devCorp1.CorpID {
			t.Errorf("admin find = %+v, want user %s", found.Users, lb.User.ID)
		}
		w.request("GET", "/v1/admin/users?corpid="+devCorp1.CorpID, adminToken, nil).fails(t, 400, wxlogin.EInvalidRequest)

		// Phone codes are WeChat's.
		w.request("POST", "/v1/phone", lb.Token, map[string]string{"code": "anything"}).fails(t, 400, wxlogin.EInvalidRequest)

		// The admin API hands out the WeCom app's access token (WeCom's own).
		var at struct {
			AccessToken string `json:"access_token"`
		}
		w.request("GET", "/v1/admin/apps/"+weComApp+"/access_token", adminToken, nil).ok(t, 200, &at)
		if at.AccessToken == "" {
			t.Fatal("no access token for the WeCom app")
		}

		key, err := w.em.WeComSessionKey(devCorp1.CorpID, "zhangsan")
		if err != nil || key == "" {
			t.Fatalf("session key: %q %v", key, err)
		}
		w.assertNotStored([]string{lb.Token}, []string{key})
		w.assertNoSecrets(devCorp1.Secret, lb.Token, code, key, at.AccessToken)
	})
}

func TestWeComLoginRefusals(t *testing.T) {
	t.Parallel()
	w := newWorld(t, withWeCom)

	// A member of another corp associated with the mini program: 403
	// wrong_corp, nothing written.
	w.request("POST", "/v1/login", "", map[string]string{"appid": weComApp, "code": w.weComCode(devCorp2.CorpID, "lisi")}).
		fails(t, 403, wxlogin.EWrongCorp)
	// A used code, an unknown one, a WeChat code: invalid_code.
	code := w.weComCode(devCorp1.CorpID, "wangwu")
	w.request("POST", "/v1/login", "", map[string]string{"appid": weComApp, "code": code}).ok(t, 200, nil)
	afterOne := w.snapshot()
	w.clock.Advance(30 * time.Second) // past the code reuse window
	w.request("POST", "/v1/login", "", map[string]string{"appid": weComApp, "code": code}).fails(t, 401, wxlogin.EInvalidCode)
	w.request("POST", "/v1/login", "", map[string]string{"appid": weComApp, "code": "nonsense"}).fails(t, 401, wxlogin.EInvalidCode)
	w.request("POST", "/v1/login", "", map[string]string{"appid": weComApp, "code": w.code(app1, "wangwu")}).fails(t, 401, wxlogin.EInvalidCode)
	if diff := cmp.Diff(afterOne, w.snapshot()); diff != "" {
		t.Errorf("refused logins wrote (-want +got):\n%s", diff)
	}

	// WeCom busy: 503 with Retry-After.
	if err := w.em.InjectFault(emulator.Fault{API: emulator.APIWeComJSCode2Session, ErrCode: -1}); err != nil {
		t.Fatal(err)
	}
	r := w.request("POST", "/v1/login", "", map[string]string{"appid": weComApp, "code": w.weComCode(devCorp1.CorpID, "wangwu")})
	r.fails(t, 503, wxlogin.EUpstreamUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
}

func TestWeComWrongSecret(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(_ *world, c *auth.Config, _ *httpapi.Config) {
		c.Apps = append(c.Apps, wxlogin.App{AppID: weComApp, Kind: wxlogin.KindWeCom, CorpID: devCorp1.CorpID, Secret: "not-the-corpsecret"})
	})
	w.request("POST", "/v1/login", "", map[string]string{"appid": weComApp, "code": w.weComCode(devCorp1.CorpID, "zhaoliu")}).
		fails(t, 502, wxlogin.EUpstreamRejected)
	w.assertNoSecrets("not-the-corpsecret")
}

// TestWeComFaults makes WeCom misbehave through the emulator's faults:
// each login must answer the documented status and code after the calls
// the retry rules allow (busy retried, a rejected token renewed once, a
// spent code never repeated), and write nothing unless it succeeds.
func TestWeComFaults(t *testing.T) {
	t.Parallel()
	wcs := func(f emulator.Fault) emulator.Fault { f.API = emulator.APIWeComJSCode2Session; return f }
	tok := func(f emulator.Fault) emulator.Fault { f.API = emulator.APIWeComGetToken; return f }
	for _, tc := range []struct {
		name           string
		fault          emulator.Fault
		status         int
		code           string // "" for a success
		retryAfter     bool
		calls, fetches int // jscode2session and gettoken calls
	}{
		{"busy (-1), every attempt", wcs(emulator.Fault{ErrCode: -1}), 503, wxlogin.EUpstreamUnavailable, true, 1 + wechat.DefaultMaxBusyRetries, 1},
		{"busy (-1) once", wcs(emulator.Fault{ErrCode: -1, Count: 1}), 200, "", false, 2, 1},
		{"40029 (invalid code)", wcs(emulator.Fault{ErrCode: 40029}), 401, wxlogin.EInvalidCode, false, 1, 1},
		// A token WeCom rejects while gettoken still hands back the same
		// one: dropped and fetched again, but not retried with the token
		// just refused (a real expiry is TestWeComTokenExpiresAtWeCom).
		{"42001 (token expired) injected", wcs(emulator.Fault{ErrCode: 42001, Count: 1}), 503, wxlogin.EUpstreamUnavailable, true, 1, 2},
		{"40014 (token rejected)", wcs(emulator.Fault{ErrCode: 40014}), 503, wxlogin.EUpstreamUnavailable, true, 1, 2},
		{"HTTP 502 (a spent code is not repeated)", wcs(emulator.Fault{HTTPStatus: 502}), 503, wxlogin.EUpstreamUnavailable, true, 1, 1},
		{"truncated body", wcs(emulator.Fault{Body: emulator.BodyTruncated}), 503, wxlogin.EUpstreamUnavailable, true, 1, 1},
		{"gettoken 60020 (address not trusted)", tok(emulator.Fault{ErrCode: 60020}), 502, wxlogin.EUpstreamRejected, false, 0, 1},
		{"gettoken 40013 (unknown corpid)", tok(emulator.Fault{ErrCode: 40013}), 502, wxlogin.EUpstreamRejected, false, 0, 1},
		{"gettoken busy every time", tok(emulator.Fault{ErrCode: -1}), 503, wxlogin.EUpstreamUnavailable, true, 0, 1 + wechat.DefaultMaxBusyRetries},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, withWeCom)
			code := w.weComCode(devCorp1.CorpID, "faulty")
			before := w.snapshot()
			if err := w.em.InjectFault(tc.fault); err != nil {
				t.Fatal(err)
			}
			r := w.request("POST", "/v1/login", "", map[string]string{"appid": weComApp, "code": code})
			if tc.code == "" {
				r.ok(t, tc.status, nil)
			} else {
				r.fails(t, tc.status, tc.code)
				if diff := cmp.Diff(before, w.snapshot()); diff != "" {
					t.Errorf("a refused login wrote (-want +got):\n%s", diff)
				}
			}
			if got := r.header.Get("Retry-After") != ""; got != tc.retryAfter {
				t.Errorf("Retry-After present %v, want %v", got, tc.retryAfter)
			}
			st := w.em.Stats().APIs
			if n := st[emulator.APIWeComJSCode2Session].Calls; n != tc.calls {
				t.Errorf("jscode2session called %d times, want %d", n, tc.calls)
			}
			if n := st[emulator.APIWeComGetToken].Calls; n != tc.fetches {
				t.Errorf("gettoken called %d times, want %d", n, tc.fetches)
			}
			w.assertNoSecrets(devCorp1.Secret, code)
		})
	}
}

// TestWeComTokenExpiresAtWeCom: WeCom's token expires on WeCom's clock
// while wxlogin's cache still holds it; the login that meets 42001 fetches
// the new token and succeeds.
func TestWeComTokenExpiresAtWeCom(t *testing.T) {
	t.Parallel()
	w := newWorld(t, withWeCom)
	w.request("POST", "/v1/login", "", map[string]string{"appid": weComApp, "code": w.weComCode(devCorp1.CorpID, "early")}).ok(t, 200, nil)
	w.em.Advance(3 * time.Hour) // only WeCom's clock
	w.request("POST", "/v1/login", "", map[string]string{"appid": weComApp, "code": w.weComCode(devCorp1.CorpID, "late")}).ok(t, 200, nil)
	st := w.em.Stats().APIs
	if got := st[emulator.APIWeComJSCode2Session].ErrCodes; got["0"] != 2 || got["42001"] != 1 {
		t.Errorf("jscode2session answers %v, want two successes and one 42001", got)
	}
	if n := st[emulator.APIWeComGetToken].Calls; n != 2 {
		t.Errorf("gettoken called %d times, want 2", n)
	}
}
