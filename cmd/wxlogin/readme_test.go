package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// readmeBlock returns the README's last sh block that contains marker,
// with its API=http://127.0.0.1:8080 line pointed at api: a walkthrough
// written for `wxlogin dev` on its default address, run against a test's.
func readmeBlock(t *testing.T, marker, api string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var block string
	for _, m := range regexp.MustCompile("(?ms)^```sh\n(.*?)^```").FindAllStringSubmatch(string(b), -1) {
		if strings.Contains(m[1], marker) {
			block = m[1]
		}
	}
	if block == "" {
		t.Fatalf("README.md has no sh block with %q", marker)
	}
	const dev = "API=http://127.0.0.1:8080\n"
	if !strings.Contains(block, dev) {
		t.Fatalf("the README's block with %q no longer sets %q; update this test", marker, strings.TrimSpace(dev))
	}
	return strings.Replace(block, dev, "API="+api+"\n", 1)
}

// readmeFirstLogin returns the README's first-login block (the sh block
// whose first step is wx.login), with API pointed at api.
func readmeFirstLogin(t *testing.T, api string) string {
	t.Helper()
	return readmeBlock(t, "# 1. wx.login()", api)
}

func runBash(t *testing.T, script string) string {
	t.Helper()
	cmd := exec.Command("bash", "-x", "-e", "-o", "pipefail", "-c", script)
	cmd.Dir = t.TempDir()
	var stdout, trace strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &trace
	if err := cmd.Run(); err != nil {
		t.Fatalf("the README's commands failed: %v\n%s\ntrace:\n%s", err, stdout.String(), trace.String())
	}
	return stdout.String()
}

// TestREADMEFirstLogin runs the README's first-login walkthrough with bash
// and curl against `wxlogin dev`, as a new user would, and checks what each
// step prints. It then checks the walkthrough's warning: a stray wx.login
// before step 5 makes that step fail, and the remedy the README gives (a
// fresh login_code beside the payload) works.
func TestREADMEFirstLogin(t *testing.T) {
	t.Parallel()
	requireTools(t, "bash", "curl")
	api, stop, stderr := startCommand(t, []string{"dev", "--addr", "127.0.0.1:0", "--emulator-addr", "127.0.0.1:0", "--data", t.TempDir()},
		func(string) string { return "" }, "api listening on")
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("dev exited %d; stderr:\n%s", code, stderr.String())
		}
	}()
	script := readmeFirstLogin(t, api)

	out := runBash(t, script)
	for _, want := range []string{
		`"appid":"wxdec0de0000000001"`, `"created":true`, // 2. the login
		`{"user":{"id":"usr_`,                // 3. the session
		`{"agreed":true}`,                    // 4. privacy
		`"nickName":"微信用户"`,                  // 5. user info, anonymised as today's WeChat does
		`"phoneNumber":"`,                    // 6. the phone number
		"X-Wxlogin-User-Id:",                 // 7. forward-auth
		`{"error":{"code":"session_invalid"`, // 7. after logout
		`"users":[{"id":"usr_`,               // admin
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the walkthrough's output lacks %q:\n%s", want, out)
		}
	}

	// Steps 1 to 4 for a new user, then a stray wx.login, then step 5.
	step5 := strings.Index(script, "# 5.")
	step6 := strings.Index(script, "# 6.")
	if step5 < 0 || step6 < step5 {
		t.Fatal("the walkthrough has no steps 5 and 6")
	}
	first := strings.ReplaceAll(script[:step5], `"user":"alice"`, `"user":"carol"`)
	five := strings.ReplaceAll(script[step5:step6], `"user":"alice"`, `"user":"carol"`)
	stray := `curl -s $API/emulator/v1/login -d '{"appid":"wxdec0de0000000001","user":"carol"}' >/dev/null` + "\n"
	var plain, remedy []string
	for _, line := range strings.Split(five, "\n") {
		switch {
		case strings.HasPrefix(line, "#    CODE=") || strings.HasPrefix(line, "#    INFO=") || strings.HasPrefix(line, "#    curl -s -H"):
			remedy = append(remedy, strings.TrimPrefix(line, "#    "))
		case line != "" && !strings.HasPrefix(line, "#"):
			plain = append(plain, line)
		}
	}
	if len(remedy) != 3 || !strings.Contains(remedy[2], "login_code") {
		t.Fatalf("step 5's remedy is not three commands sending login_code: %q", remedy)
	}
	out = runBash(t, first+stray+strings.Join(plain, "\n")+"\necho\necho REMEDY\n"+strings.Join(remedy, "\n")+"\n")
	before, after, _ := strings.Cut(out, "REMEDY")
	if !strings.Contains(before, `"code":"invalid_signature"`) {
		t.Errorf("step 5 after a stray wx.login answered %q, want invalid_signature as the README warns", before)
	}
	if !strings.Contains(after, `"nickName":"微信用户"`) {
		t.Errorf("the README's remedy answered %q, want the decrypted user info", after)
	}
}
