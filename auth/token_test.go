package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

func TestNewTokenParses(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		tok, h := newToken()
		s := tok.Reveal()
		if !strings.HasPrefix(s, "wxl_") || len(s) != 47 {
			t.Fatalf("token %q: want wxl_ and 43 base64url characters", s)
		}
		got, ok := parseToken(s)
		if !ok {
			t.Fatalf("parseToken(newToken()) failed for %q", s)
		}
		if got != h {
			t.Fatalf("parseToken hash differs from newToken's")
		}
		if seen[s] {
			t.Fatalf("token repeated: %q", s)
		}
		seen[s] = true
	}
}

func TestParseToken(t *testing.T) {
	t.Parallel()
	good := "wxl_" + base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	tests := []struct {
		name string
		tok  string
		ok   bool
	}{
		{"valid", good, true},
		{"empty", "", false},
		{"prefix only", "wxl_", false},
		{"wrong prefix", "wxk_" + good[4:], false},
		{"upper-case prefix", "WXL_" + good[4:], false},
		{"one short", good[:len(good)-1], false},
		{"one long", good + "A", false},
		{"padded", good[:len(good)-1] + "=", false},
		{"std alphabet plus", good[:10] + "+" + good[11:], false},
		{"std alphabet slash", good[:10] + "/" + good[11:], false},
		{"space", good[:10] + " " + good[11:], false},
		{"non-ASCII", good[:10] + "é" + good[12:], false},
		{"NUL", good[:10] + "\x00" + good[11:], false},
		// 'h' is 0b100001: its low two bits spill past the 32nd byte, so
		// this would be a second spelling of a token; it must be refused.
		{"non-canonical last character", good[:len(good)-1] + "h", false},
		{"Bearer prefix left on", "Bearer " + good, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, ok := parseToken(tt.tok)
			if ok != tt.ok {
				t.Fatalf("parseToken(%q) ok = %v, want %v", tt.tok, ok, tt.ok)
			}
			if ok {
				raw, _ := base64.RawURLEncoding.Strict().DecodeString(tt.tok[4:])
				if h != sha256.Sum256(raw) {
					t.Fatalf("hash is not the SHA-256 of the token's bytes")
				}
			}
		})
	}
}

func TestParseTokenDoesNotAllocate(t *testing.T) {
	tok, _ := newToken()
	s := tok.Reveal()
	if n := testing.AllocsPerRun(100, func() { parseToken(s) }); n != 0 {
		t.Fatalf("parseToken allocates %v times per call, want 0", n)
	}
}

// FuzzParseToken checks parseToken against the standard library's strict
// base64url decoder: both must agree on what is a token and on its bytes.
func FuzzParseToken(f *testing.F) {
	good, _ := newToken()
	for _, s := range []string{
		good.Reveal(), "", "wxl_", "wxl_" + strings.Repeat("A", 43), "wxl_" + strings.Repeat("_", 43),
		"wxl_" + strings.Repeat("A", 42) + "B", "wxl_" + strings.Repeat("A", 42) + "E",
		"wxl_" + strings.Repeat("/", 43), "wxl_" + strings.Repeat("=", 43), "ses_" + strings.Repeat("A", 43),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := parseToken(s)
		want := false
		var raw []byte
		if strings.HasPrefix(s, "wxl_") && len(s) == 47 {
			var err error
			raw, err = base64.RawURLEncoding.Strict().DecodeString(s[4:])
			want = err == nil && !strings.ContainsAny(s[4:], "\r\n") // the std decoder skips newlines
		}
		if ok != want {
			t.Fatalf("parseToken(%q) ok = %v, strict base64url says %v", s, ok, want)
		}
		if ok && h != sha256.Sum256(raw) {
			t.Fatalf("parseToken(%q): hash mismatch", s)
		}
	})
}

func TestValidID(t *testing.T) {
	t.Parallel()
	id := newID("avt_")
	tests := []struct {
		name, id string
		ok       bool
	}{
		{"fresh id", id, true},
		{"other prefix", "ses_" + id[4:], false},
		{"path traversal", "avt_../../../../etc/passwd", false},
		{"too short", id[:len(id)-1], false},
		{"slash", id[:6] + "/" + id[7:], false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := validID("avt_", tt.id); got != tt.ok {
				t.Fatalf("validID(%q) = %v, want %v", tt.id, got, tt.ok)
			}
		})
	}
}

func BenchmarkParseToken(b *testing.B) {
	tok, _ := newToken()
	s := tok.Reveal()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := parseToken(s); !ok {
			b.Fatal("token refused")
		}
	}
}
