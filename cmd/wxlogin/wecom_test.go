package main

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin"
)

// TestWeComAppConfig reads a WeCom app from YAML (kind, corpid; the secret
// from the environment as any app's) and names the YAML key of a mistake.
func TestWeComAppConfig(t *testing.T) {
	t.Parallel()
	load := func(t *testing.T, yaml string, extra map[string]string) (config, error) {
		t.Helper()
		p := filepath.Join(t.TempDir(), "wxlogin.yaml")
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		env := validEnv()
		delete(env, "WXLOGIN_APPS")
		env["WXLOGIN_APP_SECRET_WECOM-A"] = "corp-app-secret"
		for k, v := range extra {
			env[k] = v
		}
		return loadConfig(p, envOf(env))
	}

	c, err := load(t, "apps:\n  - {appid: wecom-a, kind: wecom, corpid: ww0123456789abcdef}\nwecom_base_url: http://127.0.0.1:8081\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := wxlogin.App{AppID: "wecom-a", Kind: wxlogin.KindWeCom, CorpID: "ww0123456789abcdef", Secret: "corp-app-secret"}
	if len(c.apps) != 1 || !reflect.DeepEqual(c.apps[0], want) {
		t.Errorf("apps = %+v, want %+v", c.apps, want)
	}
	if c.WeComBaseURL != "http://127.0.0.1:8081" {
		t.Errorf("wecom_base_url = %q", c.WeComBaseURL)
	}
	if d := defaultConfig().WeComBaseURL; d != "https://qyapi.weixin.qq.com" {
		t.Errorf("default wecom_base_url = %q", d)
	}

	for _, tt := range []struct{ name, yaml, want string }{
		{"no corpid", "apps:\n  - {appid: wecom-a, kind: wecom}\n", "apps[0].corpid: is empty"},
		{"unknown kind", "apps:\n  - {appid: wecom-a, kind: wework, corpid: ww1}\n", "apps[0].kind: "},
		{"bad base URL", "apps:\n  - {appid: wecom-a, kind: wecom, corpid: ww1}\nwecom_base_url: qyapi\n", "wecom_base_url: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.yaml, nil)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "corp-app-secret") {
				t.Errorf("err = %v, want it to start %q without the secret", err, tt.want)
			}
		})
	}
}

// TestDevWeCom runs `wxlogin dev --wecom` and logs a member of the
// emulator's first corp in with a wx.qy.login code, as the welcome text
// shows; a member of the second corp is refused with wrong_corp.
func TestDevWeCom(t *testing.T) {
	t.Parallel()
	api, stop, stderr := startCommand(t, []string{"dev", "--wecom", "--addr", "127.0.0.1:0", "--emulator-addr", "127.0.0.1:0", "--data", t.TempDir()},
		func(string) string { return "" }, "api listening on")
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("dev exited %d; stderr:\n%s", code, stderr.String())
		}
	}()
	weComLogin := func(corpid, user string) (int, map[string]any) {
		t.Helper()
		status, res := postJSON(t, api+"/emulator/v1/wecom/login", "", `{"corpid":"`+corpid+`","user":"`+user+`"}`)
		code, _ := res["code"].(string)
		if status != 200 || code == "" {
			t.Fatalf("wx.qy.login: %d %v", status, res)
		}
		return postJSON(t, api+"/v1/login", "", `{"appid":"`+devWeComApp+`","code":"`+code+`"}`)
	}
	status, res := weComLogin("wwdec0de000000c001", "zhangsan")
	user, _ := res["user"].(map[string]any)
	if status != 200 || user["corpid"] != "wwdec0de000000c001" || user["userid"] != "zhangsan" || user["openid"] != nil {
		t.Fatalf("login: %d %v, want the member's corpid and userid and no openid", status, res)
	}
	token, _ := res["token"].(string)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, api+"/v1/auth", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Wxlogin-Corpid") != "wwdec0de000000c001" || resp.Header.Get("X-Wxlogin-Wecom-Userid") != "zhangsan" {
		t.Errorf("forward-auth: %d %v", resp.StatusCode, resp.Header)
	}
	if status, res := weComLogin("wwdec0de000000c002", "lisi"); status != 403 || errCode(res) != "wrong_corp" {
		t.Errorf("another corp's member: %d %v, want 403 wrong_corp", status, res)
	}
}

// TestREADMEWeComLogin runs the README's WeCom walkthrough with bash and
// curl against `wxlogin dev --wecom` and checks the answer it shows.
func TestREADMEWeComLogin(t *testing.T) {
	t.Parallel()
	requireTools(t, "bash", "curl")
	api, stop, stderr := startCommand(t, []string{"dev", "--wecom", "--addr", "127.0.0.1:0", "--emulator-addr", "127.0.0.1:0", "--data", t.TempDir()},
		func(string) string { return "" }, "api listening on")
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("dev exited %d; stderr:\n%s", code, stderr.String())
		}
	}()
	out := runBash(t, readmeBlock(t, "/emulator/v1/wecom/login", api))
	for _, want := range []string{`"token":"wxl_`, `"appid":"wecom-dev"`, `"corpid":"wwdec0de000000c001"`, `"userid":"zhangsan"`, `"created":true`} {
		if !strings.Contains(out, want) {
			t.Errorf("the walkthrough printed %s, lacking %s", out, want)
		}
	}
	if strings.Contains(out, `"openid"`) {
		t.Errorf("a WeCom member's answer carries an openid: %s", out)
	}
}
