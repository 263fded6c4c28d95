package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/emulator"
)

// webEmu is an emulator serving the dev apps and the dev web apps, with a
// browser that follows no redirect.
func webEmu(t *testing.T) (*emulator.Emulator, *httptest.Server, *http.Client) {
	t.Helper()
	em := &emulator.Emulator{Apps: append(emulator.DevApps(), emulator.DevWebApps()...)}
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return em, srv, c
}

var authID = regexp.MustCompile(`id="authorization">([A-Za-z0-9]+)<`)

func pageURL(base, path, appid, scope, redirect string) string {
	return base + path + "?" + url.Values{"appid": {appid}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {scope}, "state": {"st8"}}.Encode() + "#wechat_redirect"
}

func get(t *testing.T, c *http.Client, u string) (int, http.Header, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func decide(t *testing.T, base, id string, body map[string]any) (int, emulator.WebAuthorization) {
	t.Helper()
	j, _ := json.Marshal(body)
	res, err := http.Post(base+"/emulator/v1/web/authorizations/"+id, "application/json", strings.NewReader(string(j)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var a emulator.WebAuthorization
	json.NewDecoder(res.Body).Decode(&a)
	return res.StatusCode, a
}

// TestWebPageChecksTheLink: WeChat's authorize page and QR code refuse a
// link WeChat would refuse, with its errcode on the page.
func TestWebPageChecksTheLink(t *testing.T) {
	t.Parallel()
	_, srv, c := webEmu(t)
	const oa, site, back = "wxdec0de00000000a1", "wxdec0de00000000b1", "https://h5.example.com/cb"
	for _, tc := range []struct {
		name, url, errcode string
	}{
		{"unknown app", pageURL(srv.URL, "/connect/oauth2/authorize", "wxnope", "snsapi_base", back), "10016"},
		{"a website at oauth2", pageURL(srv.URL, "/connect/oauth2/authorize", site, "snsapi_base", back), "10005"},
		{"an Official Account at qrconnect", pageURL(srv.URL, "/connect/qrconnect", oa, "snsapi_login", back), "10005"},
		{"wrong scope", pageURL(srv.URL, "/connect/oauth2/authorize", oa, "snsapi_login", back), "10005"},
		{"qrconnect scope", pageURL(srv.URL, "/connect/qrconnect", site, "snsapi_base", back), "10005"},
		{"no redirect_uri", pageURL(srv.URL, "/connect/oauth2/authorize", oa, "snsapi_base", ""), "10003"},
		{"relative redirect_uri", pageURL(srv.URL, "/connect/oauth2/authorize", oa, "snsapi_base", "/cb"), "10003"},
		{"a mini program", pageURL(srv.URL, "/connect/oauth2/authorize", "wxdec0de0000000001", "snsapi_base", back), "10005"},
	} {
		status, _, body := get(t, c, tc.url)
		if status != 400 || !strings.Contains(body, `<p id="errcode">`+tc.errcode+`</p>`) {
			t.Errorf("%s: %d %s, want errcode %s", tc.name, status, body, tc.errcode)
		}
	}
}

// TestWebRedirectDomains: an app with configured domains refuses others
// (10003), as WeChat's 网页授权域名 does.
func TestWebRedirectDomains(t *testing.T) {
	t.Parallel()
	apps := emulator.DevWebApps()
	apps[0].RedirectDomains = []string{"h5.example.com"}
	srv := httptest.NewServer(emulator.New(apps...))
	t.Cleanup(srv.Close)
	c := &http.Client{}
	if status, _, body := get(t, c, pageURL(srv.URL, "/connect/oauth2/authorize", apps[0].AppID, "snsapi_base", "https://evil.example/cb")); status != 400 || !strings.Contains(body, "10003") {
		t.Errorf("another host: %d %s", status, body)
	}
	if status, _, body := get(t, c, pageURL(srv.URL, "/connect/oauth2/authorize", apps[0].AppID, "snsapi_base", "https://h5.example.com/cb")); status != 200 || !authID.MatchString(body) {
		t.Errorf("the configured host: %d %s", status, body)
	}
}

// TestWebPhone: the phone's answers: a QR code is scanned then approved;
// the redirect carries code and state (a refusal the state alone); an
// authorization is decided once; a scanned code belongs to its scanner;
// unanswered, it expires.
func TestWebPhone(t *testing.T) {
	t.Parallel()
	em, srv, c := webEmu(t)
	const site = "wxdec0de00000000b1"
	open := func(path, appid, scope string) string {
		t.Helper()
		_, _, body := get(t, c, pageURL(srv.URL, path, appid, scope, "https://www.example.com/cb?x=1"))
		m := authID.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no authorization on the page: %s", body)
		}
		return m[1]
	}
	id := open("/connect/qrconnect", site, "snsapi_login")
	_, _, list := get(t, c, srv.URL+"/emulator/v1/web/authorizations")
	if !strings.Contains(list, id) {
		t.Errorf("the pending list %s lacks %s", list, id)
	}
	if status, a := decide(t, srv.URL, id, map[string]any{"user": "quinn", "action": "scan"}); status != 200 || a.Status != emulator.WebScanned {
		t.Fatalf("scan: %d %+v", status, a)
	}
	if status, _ := decide(t, srv.URL, id, map[string]any{"user": "someone-else", "action": "approve"}); status != 400 {
		t.Errorf("another user approving a scanned code: %d", status)
	}
	status, a := decide(t, srv.URL, id, map[string]any{"user": "quinn", "action": "approve"})
	u, _ := url.Parse(a.Redirect)
	if status != 200 || a.Status != emulator.WebApproved || u.Query().Get("code") == "" || u.Query().Get("state") != "st8" || u.Query().Get("x") != "1" {
		t.Fatalf("approve: %d %+v", status, a)
	}
	if status, _ := decide(t, srv.URL, id, map[string]any{"user": "quinn", "action": "refuse"}); status != 400 {
		t.Errorf("deciding twice: %d", status)
	}

	id = open("/connect/oauth2/authorize", "wxdec0de00000000a1", "snsapi_userinfo")
	if status, _ := decide(t, srv.URL, id, map[string]any{"user": "quinn", "action": "scan"}); status != 400 {
		t.Errorf("scanning an authorize page: %d", status)
	}
	_, a = decide(t, srv.URL, id, map[string]any{"user": "quinn", "action": "refuse"})
	u, _ = url.Parse(a.Redirect)
	if a.Status != emulator.WebRefused || u.Query().Has("code") || u.Query().Get("state") != "st8" {
		t.Errorf("refuse: %+v", a)
	}

	id = open("/connect/qrconnect", site, "snsapi_login")
	em.Advance(6 * time.Minute)
	if status, a := decide(t, srv.URL, id, map[string]any{"user": "quinn", "action": "approve"}); status != 400 {
		t.Errorf("approving an expired QR code: %d %+v", status, a)
	}
	_, _, one := get(t, c, srv.URL+"/emulator/v1/web/authorizations/"+id)
	if !strings.Contains(one, `"status":"expired"`) {
		t.Errorf("an unanswered QR code: %s", one)
	}
}

// TestWebAutoApprove: with AutoApproveWeb the page redirects at once.
func TestWebAutoApprove(t *testing.T) {
	t.Parallel()
	em, srv, c := webEmu(t)
	em.AutoApproveWeb = "rita"
	status, h, _ := get(t, c, pageURL(srv.URL, "/connect/oauth2/authorize", "wxdec0de00000000a1", "snsapi_base", "https://h5.example.com/cb"))
	u, _ := url.Parse(h.Get("Location"))
	if status != 302 || u.Host != "h5.example.com" || u.Query().Get("code") == "" || u.Query().Get("state") != "st8" {
		t.Fatalf("auto-approve: %d %v", status, h)
	}
}
