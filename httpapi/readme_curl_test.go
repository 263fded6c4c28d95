package httpapi_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/httpapi"
)

// TestREADMEAvatarWalkthrough runs the README's nickname and avatar curl
// commands ("Today's WeChat") with bash and curl against a server mounted
// as wxlogin dev mounts it (the emulator's device API on the API port, an
// avatar store), and checks what they print and what the server then holds.
func TestREADMEAvatarWalkthrough(t *testing.T) {
	t.Parallel()
	requireTools(t, "bash", "curl")
	var dir string
	w := newWorld(t, withBlobs(&dir), func(w *world, a *auth.Config, h *httpapi.Config) {
		a.Apps = a.Apps[:1] // dev mode's one app, so the login leaves appid out
		h.Dev = &httpapi.DevConfig{Emulator: w.em}
	})
	var script string
	for _, b := range readmeBlocks(t, "sh") {
		if strings.Contains(b, "/v1/me/avatar") {
			script = b
		}
	}
	if script == "" {
		t.Fatal("README.md has no sh block uploading an avatar")
	}
	const dev = "http://127.0.0.1:8080"
	if !strings.Contains(script, "API="+dev+"\n") {
		t.Fatalf("the README's avatar block no longer sets API=%s; update this test", dev)
	}
	script = strings.Replace(script, "API="+dev, "API="+w.srv.URL, 1)
	cmd := exec.CommandContext(context.Background(), "bash", "-x", "-e", "-o", "pipefail", "-c", script)
	cmd.Dir = t.TempDir() // where avatar.png lands
	var stdout, trace strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &trace
	if err := cmd.Run(); err != nil {
		t.Fatalf("the README's avatar commands failed: %v\n%s\ntrace:\n%s", err, stdout.String(), trace.String())
	}
	text := stdout.String()
	for _, want := range []string{
		`{"agreed":true}`,
		`"profile":{"nickname":"bob","avatar_url":"/v1/avatars/avt_`,
		"Cache-Control: public, max-age=31536000, immutable",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the commands' output lacks %q:\n%s\ntrace:\n%s", want, text, trace.String())
		}
	}
	id, err := w.em.Identity(app1, "bob")
	if err != nil {
		t.Fatal(err)
	}
	users, err := w.db.FindUsers(context.Background(), wxlogin.UserFilter{AppID: app1, OpenID: id.OpenID, Limit: 10})
	if err != nil || len(users) != 1 || users[0].Profile.Nickname != "bob" || users[0].Profile.AvatarID == "" {
		t.Errorf("stored users %+v (%v), want bob with a nickname and an avatar", users, err)
	}
	if n := countFiles(t, dir); n != 1 {
		t.Errorf("%d avatar files, want 1", n)
	}
}

// readmeBlocks returns the bodies of README.md's fenced blocks whose info
// string is lang.
func readmeBlocks(t *testing.T, lang string) []string {
	t.Helper()
	re := regexp.MustCompile("(?ms)^```" + regexp.QuoteMeta(lang) + "\n(.*?)^```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(readme(t), -1) {
		out = append(out, m[1])
	}
	return out
}

// requireTools skips t when one of the tools is not installed, unless
// WXLOGIN_TEST_REQUIRE_TOOLS is set (scripts/test sets it after
// installing them), when it fails: in CI a missing tool must not pass
// silently.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("WXLOGIN_TEST_REQUIRE_TOOLS") != "" {
				t.Fatalf("%s is not installed, and WXLOGIN_TEST_REQUIRE_TOOLS is set", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
}
