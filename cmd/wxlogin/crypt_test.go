package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

// cryptResult is what one in-process run of `wxlogin crypt ...` produced.
type cryptResult struct {
	Code   int
	Stdout string
}

func TestCryptCommand(t *testing.T) {
	t.Parallel()
	const appID = "wxcrypttest0000001"
	key, iv := wxcrypt.NewSessionKey(), wxcrypt.NewIV()
	otherKey := wxcrypt.NewSessionKey()
	// The repair case needs a '+' in the key and in the data.
	for !strings.Contains(key, "+") {
		key = wxcrypt.NewSessionKey()
	}
	sealWith := func(sessionKey, plain string) string {
		t.Helper()
		data, err := wxcrypt.Encrypt(sessionKey, iv, []byte(plain))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	stampNow := `{"nickName":"小明","avatarUrl":"https://x/?a=1&b=2","watermark":{"appid":"` + appID + `","timestamp":` +
		strconv.FormatInt(time.Now().Unix(), 10) + `}}`
	stampOld := `{"watermark":{"appid":"` + appID + `","timestamp":1500000000}}`
	data := sealWith(key, stampNow)
	for !strings.Contains(data, "+") {
		iv = wxcrypt.NewIV()
		data = sealWith(key, stampNow)
	}
	dataOld := sealWith(key, stampOld)
	dataOtherApp := sealWith(key, `{"watermark":{"appid":"wxother","timestamp":1}}`)
	dataNotJSON := sealWith(key, `not json`)
	// Line-wrapped at 20 columns, as a terminal paste or `base64` gives it.
	var wrapped strings.Builder
	for i := 0; i < len(data); i += 20 {
		wrapped.WriteString(data[i:min(i+20, len(data))] + "\r\n")
	}

	keyFile := filepath.Join(t.TempDir(), "session_key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyKeyFile := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(emptyKeyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	rawData := `{"nickName":"小明","gender":0}`

	for _, tc := range []struct {
		name       string
		args       []string
		env        map[string]string
		stdin      string
		want       cryptResult
		wantStderr string // a substring of stderr; "" means stderr must be empty
	}{
		// decrypt
		{name: "decrypt", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", iv},
			stdin: data, want: cryptResult{0, stampNow + "\n"}},
		{name: "decrypt line-wrapped input", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", iv},
			stdin: "\n  " + wrapped.String() + "\n\n", want: cryptResult{0, stampNow + "\n"}},
		{name: "decrypt '+' mangled into spaces, even at the ends", args: []string{"decrypt", "--appid", appID, "--session-key", strings.ReplaceAll(key, "+", " "), "--iv", iv},
			stdin: strings.ReplaceAll(data, "+", " "), want: cryptResult{0, stampNow + "\n"}},
		{name: "decrypt spaces as separators", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", iv},
			stdin: data[:8] + " " + data[8:16] + " " + data[16:], want: cryptResult{0, stampNow + "\n"}},
		{name: "decrypt key from file", args: []string{"decrypt", "--appid", appID, "--session-key-file", keyFile, "--iv", iv},
			stdin: data, want: cryptResult{0, stampNow + "\n"}},
		{name: "decrypt key from environment", args: []string{"decrypt", "--appid", appID, "--iv", iv},
			env: map[string]string{"WXLOGIN_SESSION_KEY": key}, stdin: data, want: cryptResult{0, stampNow + "\n"}},
		{name: "decrypt flag wins over environment", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", iv},
			env: map[string]string{"WXLOGIN_SESSION_KEY": otherKey}, stdin: data, want: cryptResult{0, stampNow + "\n"}},
		{name: "decrypt old stamp without --max-age", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", iv},
			stdin: dataOld, want: cryptResult{0, stampOld + "\n"}},
		{name: "decrypt fresh stamp within --max-age", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", iv, "--max-age", "1h"},
			stdin: data, want: cryptResult{0, stampNow + "\n"}},
		{name: "decrypt stale", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", iv, "--max-age", "10m"},
			stdin: dataOld, want: cryptResult{1, ""}, wantStderr: wxcrypt.ReasonStale + " (stamped 2017-07-14T02:40:00Z, "},
		{name: "decrypt rotated key", args: []string{"decrypt", "--appid", appID, "--session-key", otherKey, "--iv", iv},
			stdin: data, want: cryptResult{1, ""}, wantStderr: wxcrypt.ReasonPadding},
		{name: "decrypt other app", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", iv},
			stdin: dataOtherApp, want: cryptResult{1, ""}, wantStderr: wxcrypt.ReasonAppID + ` (the data is for appid "wxother", not "wxcrypttest0000001")`},
		{name: "decrypt not JSON", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", iv},
			stdin: dataNotJSON, want: cryptResult{1, ""}, wantStderr: wxcrypt.ReasonJSON},
		{name: "decrypt bad base64", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", iv},
			stdin: "###", want: cryptResult{1, ""}, wantStderr: wxcrypt.ReasonBase64},
		{name: "decrypt not whole blocks", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", iv},
			stdin: "AAAA", want: cryptResult{1, ""}, wantStderr: wxcrypt.ReasonBlocks},
		{name: "decrypt bad iv", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", "AAAA"},
			stdin: data, want: cryptResult{1, ""}, wantStderr: wxcrypt.ReasonIVLength},
		{name: "decrypt bad key", args: []string{"decrypt", "--appid", appID, "--session-key", "AAAA", "--iv", iv},
			stdin: data, want: cryptResult{1, ""}, wantStderr: wxcrypt.ReasonKeyLength},
		{name: "decrypt empty input", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", iv},
			stdin: " \n", want: cryptResult{1, ""}, wantStderr: "no encryptedData"},
		{name: "decrypt input too large", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", iv},
			stdin: strings.Repeat("A", maxCryptInput+1), want: cryptResult{1, ""}, wantStderr: "over"},
		{name: "decrypt missing key file", args: []string{"decrypt", "--appid", appID, "--session-key-file", filepath.Join(t.TempDir(), "nope"), "--iv", iv},
			stdin: data, want: cryptResult{1, ""}, wantStderr: "no such file"},
		{name: "decrypt empty key file", args: []string{"decrypt", "--appid", appID, "--session-key-file", emptyKeyFile, "--iv", iv},
			stdin: data, want: cryptResult{1, ""}, wantStderr: "is empty"},
		// decrypt usage errors
		{name: "decrypt without key", args: []string{"decrypt", "--appid", appID, "--iv", iv},
			stdin: data, want: cryptResult{2, ""}, wantStderr: "WXLOGIN_SESSION_KEY"},
		{name: "decrypt key flag and file", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--session-key-file", keyFile, "--iv", iv},
			stdin: data, want: cryptResult{2, ""}, wantStderr: "not both"},
		{name: "decrypt without appid", args: []string{"decrypt", "--session-key", key, "--iv", iv},
			stdin: data, want: cryptResult{2, ""}, wantStderr: "--appid is required"},
		{name: "decrypt without iv", args: []string{"decrypt", "--appid", appID, "--session-key", key},
			stdin: data, want: cryptResult{2, ""}, wantStderr: "--iv is required"},
		{name: "decrypt bad max-age", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", iv, "--max-age", "soon"},
			stdin: data, want: cryptResult{2, ""}, wantStderr: "max-age"},
		{name: "decrypt negative max-age", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", iv, "--max-age", "-1m"},
			stdin: data, want: cryptResult{2, ""}, wantStderr: "negative"},
		{name: "decrypt unknown flag", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", iv, "--verbose"},
			stdin: data, want: cryptResult{2, ""}, wantStderr: "flag provided but not defined"},
		{name: "decrypt data as an argument", args: []string{"decrypt", "--appid", appID, "--session-key", key, "--iv", iv, data},
			want: cryptResult{2, ""}, wantStderr: "standard input"},
		{name: "decrypt -h", args: []string{"decrypt", "-h"}, want: cryptResult{0, ""}, wantStderr: "-max-age"},
		// sign
		{name: "sign drops one trailing newline", args: []string{"sign", "--session-key", key},
			stdin: rawData + "\n", want: cryptResult{0, wxcrypt.Signature(rawData, key) + "\n"}},
		{name: "sign without newline", args: []string{"sign", "--session-key", key},
			stdin: rawData, want: cryptResult{0, wxcrypt.Signature(rawData, key) + "\n"}},
		{name: "sign CRLF", args: []string{"sign", "--session-key", key},
			stdin: rawData + "\r\n", want: cryptResult{0, wxcrypt.Signature(rawData, key) + "\n"}},
		{name: "sign keeps a second newline", args: []string{"sign", "--session-key", key},
			stdin: rawData + "\n\n", want: cryptResult{0, wxcrypt.Signature(rawData+"\n", key) + "\n"}},
		{name: "sign key from file", args: []string{"sign", "--session-key-file", keyFile},
			stdin: rawData, want: cryptResult{0, wxcrypt.Signature(rawData, key) + "\n"}},
		{name: "sign key from environment", args: []string{"sign"}, env: map[string]string{"WXLOGIN_SESSION_KEY": key},
			stdin: rawData, want: cryptResult{0, wxcrypt.Signature(rawData, key) + "\n"}},
		{name: "sign odd key warns", args: []string{"sign", "--session-key", "not-a-key"},
			stdin: rawData, want: cryptResult{0, wxcrypt.Signature(rawData, "not-a-key") + "\n"}, wantStderr: "warning"},
		{name: "sign without key", args: []string{"sign"}, stdin: rawData, want: cryptResult{2, ""}, wantStderr: "no session_key"},
		// hmac
		{name: "hmac empty message", args: []string{"hmac", "--session-key", key},
			stdin: "", want: cryptResult{0, wxcrypt.LoginStateSignature(key, "") + "\n"}},
		{name: "hmac drops one trailing newline", args: []string{"hmac", "--session-key", key},
			stdin: "hello\n", want: cryptResult{0, wxcrypt.LoginStateSignature(key, "hello") + "\n"}},
		{name: "hmac key from environment", args: []string{"hmac"}, env: map[string]string{"WXLOGIN_SESSION_KEY": key},
			stdin: "\n", want: cryptResult{0, wxcrypt.LoginStateSignature(key, "") + "\n"}},
		{name: "hmac extra argument", args: []string{"hmac", "--session-key", key, "hello"}, want: cryptResult{2, ""}, wantStderr: "unexpected argument"},
		// A session_key typed without --session-key is not echoed back.
		{name: "key as a stray argument", args: []string{"hmac", otherKey}, want: cryptResult{2, ""}, wantStderr: "unexpected argument"},
		// crypt itself
		{name: "no subcommand", args: nil, want: cryptResult{2, ""}, wantStderr: "Usage"},
		{name: "unknown subcommand", args: []string{"encrypt"}, want: cryptResult{2, ""}, wantStderr: `unknown subcommand "encrypt"`},
		{name: "help", args: []string{"help"}, want: cryptResult{0, cryptUsage}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			e := env{
				Stdin:  strings.NewReader(tc.stdin),
				Stdout: &stdout,
				Stderr: &stderr,
				Getenv: func(k string) string { return tc.env[k] },
			}
			got := cryptResult{run(t.Context(), append([]string{"crypt"}, tc.args...), e), stdout.String()}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("exit code and stdout (-want +got):\n%s\nstderr: %s", diff, stderr.String())
			}
			if tc.wantStderr == "" && stderr.Len() > 0 {
				t.Errorf("stderr = %q, want nothing", stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tc.wantStderr)
			}
			// A failure of the debugging tool is one line (flag's own usage
			// output aside), and no output ever repeats a session_key.
			if got.Code == 1 && strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("stderr has %d lines, want one: %q", strings.Count(stderr.String(), "\n"), stderr.String())
			}
			for _, k := range []string{key, otherKey} {
				if strings.Contains(stderr.String(), k) || strings.Contains(stdout.String(), k) {
					t.Errorf("output repeats a session_key: stdout %q stderr %q", stdout.String(), stderr.String())
				}
			}
		})
	}
}
