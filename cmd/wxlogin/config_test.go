package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/keyring"
)

// envOf returns a getenv over a map.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func validEnv() map[string]string {
	return map[string]string{
		"WXLOGIN_APPS":                          "wx1111111111111111",
		"WXLOGIN_APP_SECRET_WX1111111111111111": "s3cr3t-app-secret",
		"WXLOGIN_MASTER_KEY":                    keyring.Format(keyring.Generate("k1")),
		"WXLOGIN_STORE":                         "sqlite:///tmp/x.db",
	}
}

func TestLoadConfigFromEnvironment(t *testing.T) {
	t.Parallel()
	env := validEnv()
	env["WXLOGIN_IDLE_TIMEOUT"] = "2h"
	env["WXLOGIN_TRUSTED_PROXIES"] = "10.0.0.0/8, 192.168.1.1"
	env["WXLOGIN_MAX_AVATAR_BYTES"] = "3145728"
	c, err := loadConfig("", envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.apps) != 1 || c.apps[0].AppID != "wx1111111111111111" || c.apps[0].Secret.Reveal() != "s3cr3t-app-secret" {
		t.Fatalf("apps = %+v", c.apps)
	}
	if time.Duration(c.Sessions.IdleTimeout) != 2*time.Hour {
		t.Fatalf("idle timeout = %v", time.Duration(c.Sessions.IdleTimeout))
	}
	if len(c.proxies) != 2 || c.proxies[1].Bits() != 32 {
		t.Fatalf("proxies = %v", c.proxies)
	}
	if c.masterKey == nil || c.masterKey.PrimaryID() != "k1" {
		t.Fatal("master key not loaded")
	}
	if c.MaxAvatarBytes != 3<<20 {
		t.Fatalf("max avatar bytes = %d", c.MaxAvatarBytes)
	}
}

// TestCodeReuseWindowSetting checks code_reuse_window's three forms: left
// out it is auth's default, 0 is "in flight only" (a negative window for
// auth, whose zero means the default), and a duration is kept.
func TestCodeReuseWindowSetting(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env  string // "" leaves the variable unset
		want time.Duration
	}{
		{"", auth.DefaultCodeReuseWindow},
		{"0s", -1},
		{"3s", 3 * time.Second},
	} {
		env := validEnv()
		if tt.env != "" {
			env["WXLOGIN_CODE_REUSE_WINDOW"] = tt.env
		}
		c, err := loadConfig("", envOf(env))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.authConfig().CodeReuseWindow; got != tt.want {
			t.Errorf("WXLOGIN_CODE_REUSE_WINDOW=%q: auth's CodeReuseWindow = %v, want %v", tt.env, got, tt.want)
		}
	}
}

func TestLoadConfigFromFileWithSecretFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secret := write("app-secret", "file-secret\n")
	mk := write("master", keyring.Format(keyring.Generate("m1"))+"\n")
	admin := write("admin", "an-admin-token-of-length\n")
	cfg := write("wxlogin.yaml", `
addr: 127.0.0.1:9999
store: sqlite:///var/tmp/wx.db
apps:
  - appid: wx2222222222222222
    secret_file: `+secret+`
master_key_file: `+mk+`
admin_token_file: `+admin+`
sessions: {idle_timeout: 1h, absolute_lifetime: 24h}
limits:
  login_per_ip: {rate: 5, burst: 7}
  avatar_per_user: {rate: 0.5, burst: 3}
log_format: text
`)
	c, err := loadConfig(cfg, envOf(map[string]string{"WXLOGIN_ADDR": "127.0.0.1:7777"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7777" {
		t.Errorf("addr = %q: the environment must win over the file", c.Addr)
	}
	if c.apps[0].Secret.Reveal() != "file-secret" || c.adminToken.Reveal() != "an-admin-token-of-length" || c.masterKey.PrimaryID() != "m1" {
		t.Errorf("secrets from files not loaded: %+v", c.apps)
	}
	if l := c.limits().LoginPerIP; l.Rate != 5 || l.Burst != 7 {
		t.Errorf("limits = %+v", l)
	}
	if l := c.limits().AvatarPerUser; l.Rate != 0.5 || l.Burst != 3 {
		t.Errorf("avatar limit = %+v", l)
	}
}

// TestLoadConfigErrors checks that each bad setting stops the start with
// one line that names it, and that no secret leaks into that line.
func TestLoadConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(map[string]string)
		want   string
	}{
		{"no apps", func(e map[string]string) { delete(e, "WXLOGIN_APPS") }, "apps: no mini program"},
		{"no secret", func(e map[string]string) { delete(e, "WXLOGIN_APP_SECRET_WX1111111111111111") }, "WXLOGIN_APP_SECRET_WX1111111111111111"},
		{"duplicate app", func(e map[string]string) { e["WXLOGIN_APPS"] = "wx1111111111111111,wx1111111111111111" }, "configured twice"},
		{"no master key", func(e map[string]string) { delete(e, "WXLOGIN_MASTER_KEY") }, "WXLOGIN_MASTER_KEY"},
		{"bad master key", func(e map[string]string) { e["WXLOGIN_MASTER_KEY"] = "k1:c2hvcnQ=" }, "master key"},
		{"bad store scheme", func(e map[string]string) { e["WXLOGIN_STORE"] = "mysql://x" }, "store: scheme"},
		{"bad duration", func(e map[string]string) { e["WXLOGIN_IDLE_TIMEOUT"] = "7 days" }, "WXLOGIN_IDLE_TIMEOUT"},
		{"bad base url", func(e map[string]string) { e["WXLOGIN_WECHAT_BASE_URL"] = "ftp://x" }, "wechat_base_url"},
		{"short admin token", func(e map[string]string) { e["WXLOGIN_ADMIN_TOKEN"] = "short" }, "admin token"},
		{"bad proxy", func(e map[string]string) { e["WXLOGIN_TRUSTED_PROXIES"] = "not-an-ip" }, "trusted_proxies"},
		{"bad log level", func(e map[string]string) { e["WXLOGIN_LOG_LEVEL"] = "loud" }, "log_level"},
		{"negative idle timeout", func(e map[string]string) { e["WXLOGIN_IDLE_TIMEOUT"] = "-1h" }, "sessions.idle_timeout: -1h0m0s is negative"},
		{"touch interval as long as the idle timeout", func(e map[string]string) {
			e["WXLOGIN_TOUCH_INTERVAL"], e["WXLOGIN_IDLE_TIMEOUT"] = "30m", "30m"
		}, "sessions.touch_interval: 30m0s is not shorter than the idle timeout (30m0s)"},
		{"idle timeout under the default touch interval", func(e map[string]string) { e["WXLOGIN_IDLE_TIMEOUT"] = "30s" }, "sessions.touch_interval: 1m0s is not shorter"},
		{"negative shutdown timeout", func(e map[string]string) { e["WXLOGIN_SHUTDOWN_TIMEOUT"] = "-1s" }, "shutdown_timeout"},
		{"avatar bytes not a number", func(e map[string]string) { e["WXLOGIN_MAX_AVATAR_BYTES"] = "2MB" }, "WXLOGIN_MAX_AVATAR_BYTES"},
		{"negative avatar bytes", func(e map[string]string) { e["WXLOGIN_MAX_AVATAR_BYTES"] = "-1" }, "max_avatar_bytes"},
		{"negative code reuse window", func(e map[string]string) { e["WXLOGIN_CODE_REUSE_WINDOW"] = "-1s" }, "code_reuse_window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := validEnv()
			tt.change(env)
			_, err := loadConfig("", envOf(env))
			if err == nil {
				t.Fatal("loadConfig succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line containing %q", msg, tt.want)
			}
			if strings.Contains(msg, "s3cr3t-app-secret") {
				t.Errorf("error %q leaks the app secret", msg)
			}
		})
	}
}

func TestLoadConfigRejectsUnknownYAMLKeys(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte("adr: 1.2.3.4:5\n"), 0o600)
	_, err := loadConfig(p, envOf(validEnv()))
	if err == nil || !strings.Contains(err.Error(), "adr") {
		t.Fatalf("err = %v, want one naming the misspelt key", err)
	}
}

// TestLoadConfigNamesYAMLKeys checks that the service's settings, which
// auth validates, are reported by the keys the operator wrote.
func TestLoadConfigNamesYAMLKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want string
	}{
		{"negative burst", "limits:\n  login_per_ip: {rate: 5, burst: -1}\n", "limits.login_per_ip.burst: -1 is negative"},
		{"negative burst, default rate", "limits:\n  decrypt_per_session: {burst: -3}\n", "limits.decrypt_per_session.burst: -3 is negative"},
		{"rate not a number", "limits:\n  login_per_app: {rate: .nan}\n", "limits.login_per_app.rate: NaN is not a number"},
		{"touch interval too long", "sessions: {idle_timeout: 10m, touch_interval: 1h}\n", "sessions.touch_interval: 1h0m0s is not shorter than the idle timeout (10m0s)"},
		{"negative absolute lifetime", "sessions: {absolute_lifetime: -5m}\n", "sessions.absolute_lifetime: -5m0s is negative"},
		{"negative avatar size", "max_avatar_bytes: -1\n", "max_avatar_bytes: -1 is negative"},
		{"negative avatar limit", "limits:\n  avatar_per_user: {rate: 1, burst: -2}\n", "limits.avatar_per_user.burst: -2 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "wxlogin.yaml")
			if err := os.WriteFile(p, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadConfig(p, envOf(validEnv()))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line starting %q", err, tt.want)
			}
		})
	}
}

// TestYAMLKeysCoverLimits keeps yamlKeys in step with auth.Limits and the
// YAML limits section: every limit auth validates has a YAML key, and that
// key exists.
func TestYAMLKeysCoverLimits(t *testing.T) {
	t.Parallel()
	yamlLimits := map[string]bool{}
	lt := reflect.TypeFor[limitsConfig]()
	for i := range lt.NumField() {
		yamlLimits["limits."+lt.Field(i).Tag.Get("yaml")] = true
	}
	at := reflect.TypeFor[auth.Limits]()
	for i := range at.NumField() {
		setting := "Limits." + at.Field(i).Name
		key, ok := yamlKeys[setting]
		if !ok || !yamlLimits[key] {
			t.Errorf("auth setting %s has YAML key %q, which the limits section does not have", setting, key)
		}
	}
	if at.NumField() != lt.NumField() {
		t.Errorf("auth.Limits has %d limits, the YAML limits section %d", at.NumField(), lt.NumField())
	}
}

// TestSecretFileErrorsNameTheSetting checks that a secret file that cannot
// be read is reported under the setting that named it: the YAML key when
// the file came from YAML, the variable when it came from the environment.
func TestSecretFileErrorsNameTheSetting(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "no-such-file")
	tests := []struct {
		name, yaml string
		env        map[string]string
		want       string
	}{
		{"app secret in YAML", "apps:\n  - appid: wx1111111111111111\n  - appid: wx2222222222222222\n    secret_file: " + missing + "\n",
			nil, "apps[1].secret_file: open " + missing},
		{"app secret in the environment", "", map[string]string{"WXLOGIN_APP_SECRET_WX1111111111111111": "", "WXLOGIN_APP_SECRET_WX1111111111111111_FILE": missing},
			"WXLOGIN_APP_SECRET_WX1111111111111111_FILE: open " + missing},
		{"master key in YAML", "master_key_file: " + missing + "\n", map[string]string{"WXLOGIN_MASTER_KEY": ""}, "master_key_file: open " + missing},
		{"admin token in YAML", "admin_token_file: " + missing + "\n", nil, "admin_token_file: open " + missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := validEnv()
			if strings.HasPrefix(tt.yaml, "apps:") {
				delete(vars, "WXLOGIN_APPS") // the YAML's apps
			}
			vars["WXLOGIN_APP_SECRET_WX2222222222222222"] = ""
			for k, v := range tt.env {
				vars[k] = v
			}
			p := filepath.Join(t.TempDir(), "wxlogin.yaml")
			if err := os.WriteFile(p, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadConfig(p, envOf(vars))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v, want one line starting %q", err, tt.want)
			}
		})
	}
}

// TestDefaultAppSetting checks default_app in serve: from YAML or the
// environment it names the app of a login without appid, and a value that
// is not one of the apps stops the start.
func TestDefaultAppSetting(t *testing.T) {
	t.Parallel()
	vars := validEnv()
	vars["WXLOGIN_APPS"] = "wx1111111111111111,wx2222222222222222"
	vars["WXLOGIN_APP_SECRET_WX2222222222222222"] = "another-app-secret"
	vars["WXLOGIN_DEFAULT_APP"] = "wx2222222222222222"
	c, err := loadConfig("", envOf(vars))
	if err != nil || c.DefaultApp != "wx2222222222222222" {
		t.Fatalf("loadConfig: %v, default app %q", err, c.DefaultApp)
	}
	vars["WXLOGIN_DEFAULT_APP"] = ""
	p := filepath.Join(t.TempDir(), "wxlogin.yaml")
	if err := os.WriteFile(p, []byte("default_app: wx3333333333333333\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(p, envOf(vars)); err == nil || !strings.HasPrefix(err.Error(), "default_app:") {
		t.Errorf("default_app naming an app not served: %v, want an error naming default_app", err)
	}
}
