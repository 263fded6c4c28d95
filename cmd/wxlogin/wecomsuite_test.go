package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin"
)

// TestWeComSuiteAppConfig reads a wecom_suite app from YAML, its suite
// secret and callback secrets from the environment or files, and names the
// YAML key of a mistake without printing a secret.
func TestWeComSuiteAppConfig(t *testing.T) {
	t.Parallel()
	const (
		token  = "callback-token-secret"
		aesKey = "d3hsb2dpbi1kZXYtc3VpdGUtYWVzLWtleS0wMDAwMDE"
	)
	load := func(t *testing.T, yaml string, extra map[string]string) (config, error) {
		t.Helper()
		p := filepath.Join(t.TempDir(), "wxlogin.yaml")
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		env := validEnv()
		delete(env, "WXLOGIN_APPS")
		env["WXLOGIN_APP_SECRET_OKR"] = "the-suite-secret"
		for k, v := range extra {
			env[k] = v
		}
		return loadConfig(p, envOf(env))
	}
	secrets := map[string]string{"WXLOGIN_APP_CALLBACK_TOKEN_OKR": token, "WXLOGIN_APP_ENCODING_AES_KEY_OKR": aesKey}

	const good = "apps:\n  - {appid: okr, kind: wecom_suite, suite_id: wwsuite01, corpids: [wwcorp1, wwcorp2]}\n"
	c, err := load(t, good, secrets)
	if err != nil {
		t.Fatal(err)
	}
	want := wxlogin.App{AppID: "okr", Kind: wxlogin.KindWeComSuite, Secret: "the-suite-secret",
		Suite: &wxlogin.WeComSuite{SuiteID: "wwsuite01", Token: token, EncodingAESKey: aesKey, CorpIDs: []string{"wwcorp1", "wwcorp2"}}}
	if len(c.apps) != 1 || !reflect.DeepEqual(c.apps[0], want) {
		t.Errorf("apps = %+v, want %+v", c.apps, want)
	}

	// The callback secrets from files.
	dir := t.TempDir()
	tf, kf := filepath.Join(dir, "token"), filepath.Join(dir, "key")
	os.WriteFile(tf, []byte(token+"\n"), 0o600)
	os.WriteFile(kf, []byte(aesKey+"\n"), 0o600)
	c, err = load(t, "apps:\n  - {appid: okr, kind: wecom_suite, suite_id: wwsuite01, callback_token_file: '"+tf+"', encoding_aes_key_file: '"+kf+"'}\n", nil)
	if err != nil || c.apps[0].Suite.Token != token || c.apps[0].Suite.EncodingAESKey != aesKey {
		t.Fatalf("from files: %+v, %v", c.apps, err)
	}

	for _, tt := range []struct {
		name, yaml string
		env        map[string]string
		want       string
	}{
		{"no suite_id", "apps:\n  - {appid: okr, kind: wecom_suite}\n", secrets, "apps[0].suite_id: is empty"},
		{"no token", good, map[string]string{"WXLOGIN_APP_ENCODING_AES_KEY_OKR": aesKey}, "apps[0]: no callback token for okr"},
		{"no key", good, map[string]string{"WXLOGIN_APP_CALLBACK_TOKEN_OKR": token}, "apps[0]: no EncodingAESKey for okr"},
		{"short key", good, map[string]string{"WXLOGIN_APP_CALLBACK_TOKEN_OKR": token, "WXLOGIN_APP_ENCODING_AES_KEY_OKR": aesKey[:40]},
			"apps[0].encoding_aes_key_file: must be the 43 characters"},
		{"bad corpid", "apps:\n  - {appid: okr, kind: wecom_suite, suite_id: wwsuite01, corpids: [ww/1]}\n", secrets, "apps[0].corpids[0]: "},
		{"corpid on a suite", "apps:\n  - {appid: okr, kind: wecom_suite, suite_id: wwsuite01, corpid: ww1}\n", secrets, "apps[0].corpid: "},
		{"suite_id on a wecom app", "apps:\n  - {appid: okr, kind: wecom, corpid: ww1, suite_id: wwsuite01}\n", secrets, "apps[0]: suite_id, corpids"},
		{"one suite twice", "apps:\n  - {appid: okr, kind: wecom_suite, suite_id: wwsuite01}\n  - {appid: okr2, kind: wecom_suite, suite_id: wwsuite01}\n",
			map[string]string{"WXLOGIN_APP_CALLBACK_TOKEN_OKR": token, "WXLOGIN_APP_ENCODING_AES_KEY_OKR": aesKey, "WXLOGIN_APP_SECRET_OKR2": "s2",
				"WXLOGIN_APP_CALLBACK_TOKEN_OKR2": token, "WXLOGIN_APP_ENCODING_AES_KEY_OKR2": aesKey}, "apps[1].suite_id: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.yaml, tt.env)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to start %q", err, tt.want)
			}
			for _, s := range []string{"the-suite-secret", token, aesKey} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("err %q holds a secret", err)
				}
			}
		})
	}
}

// TestREADMEWeComSuiteLogin runs the README's suite walkthrough with bash
// and curl against `wxlogin dev --wecom`: the emulator pushes the ticket to
// the dev server's callback, and a member logs in.
func TestREADMEWeComSuiteLogin(t *testing.T) {
	t.Parallel()
	requireTools(t, "bash", "curl")
	api, stop, stderr := startCommand(t, []string{"dev", "--wecom", "--addr", "127.0.0.1:0", "--emulator-addr", "127.0.0.1:0", "--data", t.TempDir()},
		func(string) string { return "" }, "api listening on")
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("dev exited %d; stderr:\n%s", code, stderr.String())
		}
	}()
	out := runBash(t, readmeBlock(t, "/emulator/v1/wecom/suites/", api))
	for _, want := range []string{`"delivered":true`, `"token":"wxl_`, `"appid":"wecom-suite-dev"`, `"corpid":"wwdec0de000000c001"`,
		`"userid":"zhangsan"`, `"open_userid":"wo`, `"created":true`} {
		if !strings.Contains(out, want) {
			t.Errorf("the walkthrough printed %s, lacking %s", out, want)
		}
	}
	for _, s := range []string{"devsuitetoken", "d3hsb2dpbi1kZXYtc3VpdGUtYWVzLWtleS0wMDAwMDE", "5u17e5ec5u17e5ec5u17e5ec5u17e5ec5u17e5ec001"} {
		if strings.Contains(stderr.String(), s) {
			t.Errorf("dev's log holds the suite secret %q", s)
		}
	}
}
