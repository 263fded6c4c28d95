package wxcrypt_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin/wxcrypt"
)

// b64 encodes n bytes of filler, for keys and ivs of a chosen length.
func b64(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xa5}, n)) }

func TestDecryptFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, key, data, iv string
		reason              string
	}{
		// The session_key.
		{"key not base64", "!!!!!!!!!!!!!!!!!!!!!!!!", katUserInfoData, katIV1, wxcrypt.ReasonBase64},
		{"key url-safe alphabet", "ZhVJ_YuCQJyP5Zg9ubL_bw==", katUserInfoData, katIV1, wxcrypt.ReasonBase64},
		{"key without padding", "ZhVJ/YuCQJyP5Zg9ubL/bw", katUserInfoData, katIV1, wxcrypt.ReasonBase64},
		{"key empty", "", katUserInfoData, katIV1, wxcrypt.ReasonKeyLength},
		{"key 15 bytes", b64(15), katUserInfoData, katIV1, wxcrypt.ReasonKeyLength},
		{"key 17 bytes", b64(17), katUserInfoData, katIV1, wxcrypt.ReasonKeyLength},
		{"key 24 bytes (AES-192 size)", b64(24), katUserInfoData, katIV1, wxcrypt.ReasonKeyLength},
		{"key 32 bytes (AES-256 size)", b64(32), katUserInfoData, katIV1, wxcrypt.ReasonKeyLength},
		{"key 1 KiB", b64(1024), katUserInfoData, katIV1, wxcrypt.ReasonKeyLength},
		// The iv.
		{"iv not base64", katKey1, katUserInfoData, "########################", wxcrypt.ReasonBase64},
		{"iv truncated base64", katKey1, katUserInfoData, "Uv2CpnvWOzaOLa06wYO8q", wxcrypt.ReasonBase64},
		{"iv empty", katKey1, katUserInfoData, "", wxcrypt.ReasonIVLength},
		{"iv 8 bytes", katKey1, katUserInfoData, b64(8), wxcrypt.ReasonIVLength},
		{"iv 15 bytes", katKey1, katUserInfoData, b64(15), wxcrypt.ReasonIVLength},
		{"iv 17 bytes", katKey1, katUserInfoData, b64(17), wxcrypt.ReasonIVLength},
		// The encryptedData.
		{"data not base64", katKey1, "not base64 at all!", katIV1, wxcrypt.ReasonBase64},
		{"data truncated base64", katKey1, katUserInfoData[:len(katUserInfoData)-1], katIV1, wxcrypt.ReasonBase64},
		{"data url-safe alphabet", katKey1, strings.NewReplacer("+", "-", "/", "_").Replace(katUserInfoData), katIV1, wxcrypt.ReasonBase64},
		{"data with NUL", katKey1, katFullBlockData[:8] + "\x00" + katFullBlockData[9:], katIV1, wxcrypt.ReasonBase64},
		{"data empty", katKey1, "", katIV1, wxcrypt.ReasonBlocks},
		{"data 15 bytes", katKey1, b64(15), katIV1, wxcrypt.ReasonBlocks},
		{"data 17 bytes", katKey1, b64(17), katIV1, wxcrypt.ReasonBlocks},
		{"data 1 byte", katKey1, b64(1), katIV1, wxcrypt.ReasonBlocks},
		// Padding: the openssl-made cases live in kat_test.go; these come
		// from a wrong key or iv, the usual way padding goes bad in practice.
		{"user info under a rotated session_key", katKey2, katUserInfoData, katIV1, wxcrypt.ReasonPadding},
		{"werun under a rotated session_key", katKey2, katWeRunData, katIV1, wxcrypt.ReasonPadding},
		// The first bad field is the one reported.
		{"key checked before iv", "", katUserInfoData, "", wxcrypt.ReasonKeyLength},
		{"iv checked before data", katKey1, "", "", wxcrypt.ReasonIVLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plain, reason, err := wxcrypt.Decrypt(tc.key, tc.data, tc.iv)
			if err != wxcrypt.ErrInvalid {
				t.Errorf("err = %v, want exactly ErrInvalid", err)
			}
			if reason != tc.reason {
				t.Errorf("reason = %q, want %q", reason, tc.reason)
			}
			if plain != nil {
				t.Errorf("plaintext = %q, want nil on failure", plain)
			}
		})
	}
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	t.Parallel()
	key, iv := wxcrypt.NewSessionKey(), wxcrypt.NewIV()
	// Every length around the block boundaries, so each padding count 1..16
	// is produced and stripped.
	for n := 0; n <= 4*16+1; n++ {
		plain := bytes.Repeat([]byte{byte('a' + n%26)}, n)
		data, err := wxcrypt.Encrypt(key, iv, plain)
		if err != nil {
			t.Fatalf("Encrypt(%d bytes): %v", n, err)
		}
		raw, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			t.Fatalf("Encrypt(%d bytes) is not base64: %v", n, err)
		}
		if want := (n/16 + 1) * 16; len(raw) != want {
			t.Errorf("Encrypt(%d bytes) = %d bytes, want %d", n, len(raw), want)
		}
		got, reason, err := wxcrypt.Decrypt(key, data, iv)
		if err != nil {
			t.Fatalf("Decrypt(%d bytes): %v (%s)", n, err, reason)
		}
		if !bytes.Equal(got, plain) {
			t.Errorf("round trip of %d bytes = %q, want %q", n, got, plain)
		}
	}
}

func TestEncryptRejectsBadKeyAndIV(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, key, iv string }{
		{"key not base64", "*", katIV1},
		{"key 15 bytes", b64(15), katIV1},
		{"iv 17 bytes", katKey1, b64(17)},
		{"iv empty", katKey1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data, err := wxcrypt.Encrypt(tc.key, tc.iv, []byte("{}"))
			if err == nil || data != "" {
				t.Fatalf("Encrypt = %q, %v; want an error", data, err)
			}
			if tc.key != "" && strings.Contains(err.Error(), tc.key) {
				t.Errorf("error text %q contains the session_key", err)
			}
		})
	}
}

// TestDecryptRepairsSpaces covers the most common corruption: a '+' that a
// form or query decoder turned into a space, in any of the three fields.
func TestDecryptRepairsSpaces(t *testing.T) {
	t.Parallel()
	spaced := func(s string) string { return strings.ReplaceAll(s, "+", " ") }
	if !strings.Contains(katUserInfoData, "+") || !strings.Contains(katKey2, "+") {
		t.Fatal("the vectors no longer contain '+'; pick ones that do")
	}
	for _, tc := range []struct {
		name, key, data, iv, want string
	}{
		{"in encryptedData", katKey1, spaced(katUserInfoData), katIV1, katUserInfoPlain},
		{"in session_key", spaced(katKey2), katPhoneData, katIV2, katPhonePlain},
		{"in all three", spaced(katKey2), spaced(katPhoneData), spaced(katIV2), katPhonePlain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plain, reason, err := wxcrypt.Decrypt(tc.key, tc.data, tc.iv)
			if err != nil {
				t.Fatalf("Decrypt: %v (%s)", err, reason)
			}
			if string(plain) != tc.want {
				t.Errorf("plaintext = %q, want %q", plain, tc.want)
			}
		})
	}
}

func TestNewSessionKeyAndIV(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, s := range []string{wxcrypt.NewSessionKey(), wxcrypt.NewSessionKey(), wxcrypt.NewIV(), wxcrypt.NewIV()} {
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw) != 16 {
			t.Errorf("%q decodes to %d bytes, %v; want 16 bytes", s, len(raw), err)
		}
		if seen[s] {
			t.Errorf("%q drawn twice", s)
		}
		seen[s] = true
	}
}
