package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/keyring"
)

// writeWebConfig writes a config file of a mini program, an Official
// Account and a website app whose last app section is extra.
func writeWebConfig(t *testing.T, extra string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wxlogin.yaml")
	text := `
store: sqlite:///var/tmp/wx.db
wechat_connect_url: https://connect.example.test
public_url: https://login.example.com
apps:
  - appid: wx1111111111111111
    open_platform: acme
  - appid: wx2222222222222222
    kind: official_account
    open_platform: acme
    redirect_uris: [https://h5.example.com/after-login]
` + extra
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func webEnv() map[string]string {
	return map[string]string{
		"WXLOGIN_APP_SECRET_WX1111111111111111": "secret-of-the-mini-program",
		"WXLOGIN_APP_SECRET_WX2222222222222222": "secret-of-the-official-account",
		"WXLOGIN_APP_SECRET_WX3333333333333333": "secret-of-the-website-app",
		"WXLOGIN_MASTER_KEY":                    keyring.Format(keyring.Generate("k1")),
	}
}

// TestLoadConfigWebApps checks the kinds of apps beside mini programs:
// each with its secret, its redirect_uris and its Open Platform account.
func TestLoadConfigWebApps(t *testing.T) {
	t.Parallel()
	cfg := writeWebConfig(t, `  - appid: wx3333333333333333
    kind: website
    open_platform: acme
    redirect_uris: [https://www.example.com/, http://localhost:8080/dev]
`)
	c, err := loadConfig(cfg, envOf(webEnv()))
	if err != nil {
		t.Fatal(err)
	}
	want := []wxlogin.App{
		{AppID: "wx1111111111111111", Secret: "secret-of-the-mini-program", OpenPlatform: "acme"},
		{AppID: "wx2222222222222222", Secret: "secret-of-the-official-account", Kind: wxlogin.KindOfficialAccount,
			OpenPlatform: "acme", RedirectURIs: []string{"https://h5.example.com/after-login"}},
		{AppID: "wx3333333333333333", Secret: "secret-of-the-website-app", Kind: wxlogin.KindWebsite,
			OpenPlatform: "acme", RedirectURIs: []string{"https://www.example.com/", "http://localhost:8080/dev"}},
	}
	if diff := cmp.Diff(want, c.apps); diff != "" {
		t.Errorf("apps (-want +got):\n%s", diff)
	}
	if c.WeChatConnectURL != "https://connect.example.test" || c.PublicURL != "https://login.example.com" {
		t.Errorf("connect url %q, public url %q", c.WeChatConnectURL, c.PublicURL)
	}
}

// TestLoadConfigWebAppErrors checks that a web app's settings are checked
// and named as the YAML file spells them.
func TestLoadConfigWebAppErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, app, want string
	}{
		{"unknown kind", "    kind: mini_game\n    redirect_uris: [https://a.example/]\n", `apps[2].kind: "mini_game" is not a kind of app`},
		{"no redirect uris", "    kind: website\n", "apps[2].redirect_uris: a web app needs at least one page"},
		{"plain http", "    kind: website\n    redirect_uris: [http://www.example.com/]\n", "apps[2].redirect_uris[0]: \"http://www.example.com/\" is not https"},
		{"relative", "    kind: website\n    redirect_uris: [/after]\n", "is not an absolute URL"},
		{"fragment", "    kind: website\n    redirect_uris: ['https://a.example/#x']\n", "has a fragment"},
		{"mini program with redirects", "    redirect_uris: [https://a.example/]\n", "apps[2].redirect_uris: are for web apps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := writeWebConfig(t, "  - appid: wx3333333333333333\n"+tc.app)
			_, err := loadConfig(cfg, envOf(webEnv()))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret-of-the") {
				t.Errorf("the error leaks a secret: %v", err)
			}
		})
	}
}
