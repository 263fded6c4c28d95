package main

import (
	"debug/buildinfo"
	"debug/elf"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/keyring"
)

// requireTools skips a test when a program it drives is missing, but fails
// it under WXLOGIN_TEST_REQUIRE_TOOLS (scripts/test installs them).
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

func TestHealthCommand(t *testing.T) {
	t.Parallel()
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	app := emulator.DevApps()[1]
	vars := serveEnv("sqlite://"+filepath.Join(t.TempDir(), "wx.db"), wechat.URL, app, keyring.Format(keyring.Generate("k1")))
	api, stop, stderr := startServe(t, vars)
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d; stderr:\n%s", code, stderr.String())
		}
	}()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(api, "http://"))

	if code, _, msg := runCmd(t, nil, "health", "--url", api+"/readyz"); code != 0 {
		t.Errorf("health --url of a ready server: exit %d, %q", code, msg)
	}
	// Without --url: the addr of the configuration, a wildcard host asked
	// on loopback, as in a container whose server listens on 0.0.0.0.
	if code, _, msg := runCmd(t, map[string]string{"WXLOGIN_ADDR": "0.0.0.0:" + port}, "health"); code != 0 {
		t.Errorf("health with WXLOGIN_ADDR=0.0.0.0:%s: exit %d, %q", port, code, msg)
	}

	notReady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"status":"store unavailable"}`, http.StatusServiceUnavailable)
	}))
	defer notReady.Close()
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hung.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"not ready", []string{"--url", notReady.URL + "/readyz"}, "503"},
		{"no server", []string{"--url", closed.URL + "/readyz"}, "refused"},
		{"no answer", []string{"--url", hung.URL + "/readyz", "--timeout", "300ms"}, "deadline"},
		{"bad addr", []string{"--config", ""}, "addr"},
	} {
		vars := map[string]string{}
		if tt.name == "bad addr" {
			vars["WXLOGIN_ADDR"] = "no-port-here"
		}
		code, out, msg := runCmd(t, vars, append([]string{"health"}, tt.args...)...)
		if line := strings.TrimSpace(msg); code != 1 || out != "" || strings.Contains(line, "\n") || !strings.Contains(line, tt.want) {
			t.Errorf("health, %s: exit %d, stdout %q, stderr %q; want 1 and one line naming %q", tt.name, code, out, line, tt.want)
		}
	}
}

func TestReadyURL(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"0.0.0.0:8080":   "http://127.0.0.1:8080/readyz",
		":8080":          "http://127.0.0.1:8080/readyz",
		"[::]:8080":      "http://127.0.0.1:8080/readyz",
		"10.0.0.5:9000":  "http://10.0.0.5:9000/readyz",
		"[::1]:8080":     "http://[::1]:8080/readyz",
		"localhost:8080": "http://localhost:8080/readyz",
	} {
		if got, err := readyURL(addr); err != nil || got != want {
			t.Errorf("readyURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
}

// TestSystemdUnit checks deploy/wxlogin.service with systemd-analyze: verify
// reports nothing (it exits 0 even on an unknown key, so any output fails
// the test), the offline security review rates it below 2.0 on its 0-10
// exposure scale, and the sandboxing the README promises is there.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	requireTools(t, "systemd-analyze")
	unit, err := os.ReadFile("../../deploy/wxlogin.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"DynamicUser=yes", "StateDirectory=wxlogin", "ProtectSystem=strict", "ProtectHome=yes",
		"NoNewPrivileges=yes", "PrivateTmp=yes", "PrivateDevices=yes", "CapabilityBoundingSet=\n",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallFilter=@system-service",
		"ExecStart=/usr/local/bin/wxlogin serve ",
	} {
		if !strings.Contains(string(unit), "\n"+line) {
			t.Errorf("deploy/wxlogin.service lacks %q", strings.TrimSpace(line))
		}
	}
	// verify checks that ExecStart's program exists: point it at a real
	// executable (this test binary) in a copy of the unit.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	verify := func(t *testing.T, text string, args ...string) (int, string) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "wxlogin.service")
		text = strings.ReplaceAll(text, "/usr/local/bin/wxlogin", exe)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("systemd-analyze", append(args, path)...)
		cmd.Dir = filepath.Dir(path)
		out, err := cmd.CombinedOutput()
		if err != nil && cmd.ProcessState == nil {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), string(out)
	}
	if code, out := verify(t, string(unit), "verify", "--man=no"); code != 0 || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify: exit %d:\n%s", code, out)
	}
	// The check can fail: a misspelt directive is reported.
	misspelt := strings.Replace(string(unit), "ProtectSystem=strict", "ProtectSytem=strict", 1)
	if _, out := verify(t, misspelt, "verify", "--man=no"); !strings.Contains(out, "ProtectSytem") {
		t.Errorf("systemd-analyze verify of a misspelt unit reported nothing: %q", out)
	}
	code, out := verify(t, string(unit), "security", "--offline=yes", "--threshold=20")
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Errorf("systemd-analyze security: exit %d, want 0 (exposure at most 2.0):\n%s", code, out)
	} else {
		t.Logf("systemd-analyze security --offline: overall exposure %s", m[1])
	}
}

// TestStaticBinaryServesAsNobodyOnReadOnlyRoot checks what the Dockerfile's
// image relies on, where no Docker daemon runs: the binary built as the
// Dockerfile builds it is static (no interpreter, no shared library, cgo
// off), and it serves — logins, an avatar upload, readiness — as an
// unprivileged user with every filesystem read-only but its data folder
// (a mount namespace of its own, as `docker run --read-only -v` gives).
func TestStaticBinaryServesAsNobodyOnReadOnlyRoot(t *testing.T) {
	t.Parallel()
	requireTools(t, "unshare", "setpriv", "findmnt", "mount")
	if os.Geteuid() != 0 {
		if os.Getenv("WXLOGIN_TEST_REQUIRE_TOOLS") != "" {
			t.Fatal("not root, and WXLOGIN_TEST_REQUIRE_TOOLS is set: a mount namespace and a user switch need root")
		}
		t.Skip("needs root for a mount namespace and a user switch")
	}
	dockerfile, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"CGO_ENABLED=0 go build", "FROM gcr.io/distroless/static", "\nUSER 65532:65532",
		`VOLUME ["/var/lib/wxlogin"]`, `CMD ["/usr/local/bin/wxlogin", "health"`,
	} {
		if !strings.Contains(string(dockerfile), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}

	built := buildWxlogin(t)
	f, err := elf.Open(built)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary has a %v program header: it is not static", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	f.Close()
	info, err := buildinfo.ReadFile(built)
	if err != nil {
		t.Fatal(err)
	}
	cgo := ""
	for _, s := range info.Settings {
		if s.Key == "CGO_ENABLED" {
			cgo = s.Value
		}
	}
	if cgo != "0" {
		t.Errorf("build setting CGO_ENABLED=%q, want 0", cgo)
	}

	// The layout of the image: the binary read-only and root's, the data
	// folder the unprivileged user's.
	root, err := os.MkdirTemp("", "wxlogin-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	binDir, data := filepath.Join(root, "bin"), filepath.Join(root, "data")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(binDir, "wxlogin")
	if err := copyFile(built, bin); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bin, 0o555); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	const nobody = 65534
	if err := os.Chown(data, nobody, nobody); err != nil {
		t.Fatal(err)
	}

	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	app := emulator.DevApps()[1]
	vars := serveEnv("sqlite://"+filepath.Join(data, "wxlogin.db"), wechat.URL, app, keyring.Format(keyring.Generate("k1")))
	vars["HOME"] = "/nonexistent"
	// Every mount read-only but the data folder (bound onto itself first,
	// so it stays writable), checked before the server starts, then the
	// server as nobody without privileges.
	const script = `set -e
mount --bind "$DATA" "$DATA"
findmnt -rn -o TARGET | sort -u | while read -r m; do
  case "$m" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/pts|"$DATA") continue;; esac
  mount -o remount,bind,ro "$m"
done
for p in / /tmp /var/tmp /dev/shm; do
  if touch "$p/.wxlogin-probe" 2>/dev/null; then echo "$p is writable" >&2; exit 99; fi
done
exec setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all "$@"`
	vars["DATA"] = data
	s := startServer(t, bin, vars, func(cmd *exec.Cmd) {
		cmd.Path = mustLookPath(t, "unshare")
		cmd.Args = append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"}, cmd.Args...)
	})
	token := login(t, em, s.URL, app, "alice")
	avatar := uploadAvatar(t, s.URL, token)
	fetch(t, s.URL+avatar)
	if status, _ := get(t, s.URL+"/readyz", ""); status != 200 {
		t.Errorf("readyz: %d", status)
	}
	if code, out := runBinary(t, bin, map[string]string{}, "health", "--url", s.URL+"/readyz"); code != 0 {
		t.Errorf("wxlogin health: exit %d, %q", code, out)
	}
	s.stop()

	// Everything it wrote is in the data folder, and the user's.
	files := 0
	err = filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != nobody {
			t.Errorf("%s is owned by uid %d, want nobody", path, st.Uid)
		}
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 3 { // the folder, the database, the avatars folder
		t.Errorf("the data folder holds %d entries, want the database and avatars", files)
	}
}

func mustLookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
