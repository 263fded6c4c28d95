package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin/emulator"
)

// runEmulatorCommand starts `wxlogin emulator args` in-process and returns
// its URL, the lines it printed up to the device API line, and a stop
// function returning the exit code.
func runEmulatorCommand(t *testing.T, args []string, environ map[string]string) (string, []string, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	var stderr strings.Builder
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, append([]string{"emulator"}, args...), env{
			Stdin: strings.NewReader(""), Stdout: pw, Stderr: &stderr,
			Getenv: func(k string) string { return environ[k] },
		})
		pw.Close()
	}()
	var lines []string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.Contains(sc.Text(), "device API") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	var m []string
	if len(lines) > 0 {
		m = regexp.MustCompile(`^wxlogin emulator: listening on (http://127\.0\.0\.1:[0-9]+)$`).FindStringSubmatch(lines[0])
	}
	if m == nil {
		cancel()
		<-exit
		t.Fatalf("no listening line in %q; stderr %s", lines, stderr.String())
	}
	return m[1], lines, func() int {
		cancel()
		return <-exit
	}
}

func TestEmulatorCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		environ  map[string]string
		wantApps []emulator.App
	}{
		{"dev apps by default", nil, nil, emulator.DevApps()},
		{"apps from flags", []string{"--app", "wxaaaa:s1:open", "--app", "wxbbbb:s2"}, map[string]string{"WXLOGIN_EMULATOR_APPS": "wxcccc:s3"},
			[]emulator.App{{AppID: "wxaaaa", Secret: "s1", OpenPlatform: true}, {AppID: "wxbbbb", Secret: "s2"}}},
		{"apps from the environment", nil, map[string]string{"WXLOGIN_EMULATOR_APPS": "wxcccc:s3, wxdddd:s4:open"},
			[]emulator.App{{AppID: "wxcccc", Secret: "s3"}, {AppID: "wxdddd", Secret: "s4", OpenPlatform: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base, lines, stop := runEmulatorCommand(t, append([]string{"--addr", "127.0.0.1:0"}, tt.args...), tt.environ)
			for _, a := range tt.wantApps {
				if !strings.Contains(strings.Join(lines, "\n"), "app "+a.AppID+" secret "+a.Secret) {
					t.Errorf("output %q does not list app %s", lines, a.AppID)
				}
			}
			req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/emulator/v1/apps", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var apps []emulator.App
			json.NewDecoder(resp.Body).Decode(&apps)
			resp.Body.Close()
			if diff := cmp.Diff(tt.wantApps, apps); diff != "" {
				t.Errorf("served apps (-want +got):\n%s", diff)
			}
			// A WeChat path answers as WeChat.
			req, _ = http.NewRequestWithContext(t.Context(), "GET", base+"/sns/jscode2session?"+url.Values{"appid": {tt.wantApps[0].AppID}, "secret": {"wrong"}, "js_code": {"x"}, "grant_type": {"authorization_code"}}.Encode(), nil)
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var wx struct{ ErrCode int }
			json.NewDecoder(resp.Body).Decode(&wx)
			resp.Body.Close()
			if wx.ErrCode != 40125 {
				t.Errorf("wrong secret: errcode %d, want 40125", wx.ErrCode)
			}
			if code := stop(); code != 0 {
				t.Errorf("exit code %d after cancellation, want 0", code)
			}
		})
	}
}

func TestEmulatorCommandBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		environ map[string]string
		want    int
	}{
		{"app without secret", []string{"--app", "wxaaaa"}, nil, 2},
		{"app with a bad flag part", []string{"--app", "wxaaaa:s:maybe"}, nil, 2},
		{"bad environment", nil, map[string]string{"WXLOGIN_EMULATOR_APPS": "wxaaaa"}, 1},
		{"stray argument", []string{"now"}, nil, 2},
		{"bad address", []string{"--addr", "nowhere:-1"}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr strings.Builder
			code := run(t.Context(), append([]string{"emulator"}, tt.args...), env{
				Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr,
				Getenv: func(k string) string { return tt.environ[k] },
			})
			if code != tt.want || stderr.Len() == 0 {
				t.Errorf("exit %d, stderr %q; want exit %d and a message", code, stderr.String(), tt.want)
			}
		})
	}
}

// TestEmulatorPrivacyFlag checks --privacy: on by default, as in today's
// WeChat; --privacy=false stands for a mini program without privacy
// guidelines.
func TestEmulatorPrivacyFlag(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want bool
	}{{nil, true}, {[]string{"--privacy=false"}, false}} {
		base, _, stop := runEmulatorCommand(t, append([]string{"--addr", "127.0.0.1:0"}, tt.args...), nil)
		res, err := http.Get(base + "/emulator/v1/config")
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			PrivacyCheck bool `json:"privacy_check"`
		}
		err = json.NewDecoder(res.Body).Decode(&c)
		res.Body.Close()
		if err != nil || c.PrivacyCheck != tt.want {
			t.Errorf("%v: privacy_check %v (%v), want %v", tt.args, c.PrivacyCheck, err, tt.want)
		}
		if code := stop(); code != 0 {
			t.Errorf("%v: exit %d", tt.args, code)
		}
	}
}
