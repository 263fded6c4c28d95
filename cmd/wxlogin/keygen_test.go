package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin/keyring"
)

func TestKeygen(t *testing.T) {
	t.Parallel()
	gen := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"keygen"}, args...), env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }})
		return code, out.String(), errOut.String()
	}
	seen := map[string]bool{}
	for _, tc := range []struct {
		name, wantID string
		args         []string
	}{{"default id", "k1", nil}, {"default id again", "k1", nil}, {"rotation", "k2", []string{"-id", "k2"}}} {
		code, out, stderr := gen(tc.args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.name, code, stderr)
		}
		line := strings.TrimSuffix(out, "\n")
		id, b64, _ := strings.Cut(line, ":")
		secret, err := base64.StdEncoding.DecodeString(b64)
		if id != tc.wantID || err != nil || len(secret) != 32 {
			t.Errorf("%s: printed %d bytes of key with id %q (%v), want 32 with id %q", tc.name, len(secret), id, err, tc.wantID)
		}
		kr, err := keyring.Parse(line)
		if err != nil || kr.PrimaryID() != tc.wantID {
			t.Errorf("%s: keyring.Parse of the output: %v", tc.name, err)
		}
		if seen[b64] {
			t.Errorf("%s: the same key twice", tc.name)
		}
		seen[b64] = true
	}
	for _, args := range [][]string{{"-id", "a:b"}, {"-id", ""}, {"extra"}} {
		if code, out, _ := gen(args...); code != 2 || out != "" {
			t.Errorf("keygen %q: exit %d, printed %q; want 2 and nothing", args, code, out)
		}
	}
}
