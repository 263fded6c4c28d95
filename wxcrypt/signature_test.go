package wxcrypt_test

import (
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin/wxcrypt"
)

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	flipped := []byte(katSignature)
	flipped[len(flipped)-1] ^= 1 // '2' → '3': still hex, one bit off
	for _, tc := range []struct {
		name, rawData, key, sig string
		want                    bool
	}{
		{"right", katRawData, katKey1, katSignature, true},
		{"upper-case hex", katRawData, katKey1, strings.ToUpper(katSignature), true},
		{"mixed-case hex", katRawData, katKey1, strings.ToUpper(katSignature[:20]) + katSignature[20:], true},
		{"last bit flipped", katRawData, katKey1, string(flipped), false},
		{"truncated", katRawData, katKey1, katSignature[:39], false},
		{"one char too many", katRawData, katKey1, katSignature + "0", false},
		{"empty", katRawData, katKey1, "", false},
		{"non-hex of the right length", katRawData, katKey1, strings.Repeat("z", 40), false},
		{"other rawData", katRawData + " ", katKey1, katSignature, false},
		{"other session_key", katRawData, katKey2, katSignature, false},
		{"session_key prepended instead", katKey1 + katRawData, "", katSignature, false},
		// The sha1 of the concatenation: the session_key joins as text, so
		// moving the split point does not matter (that is WeChat's scheme).
		{"split point moved", katRawData[:10], katRawData[10:] + katKey1, katSignature, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := wxcrypt.VerifySignature(tc.rawData, tc.key, tc.sig); got != tc.want {
				t.Errorf("VerifySignature = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestVerifyLoginStateSignature(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, key, message, sig string
		want                    bool
	}{
		{"right, empty message", katKey1, "", katHMACEmpty, true},
		{"right, hello", katKey1, "hello", katHMACHello, true},
		{"upper-case hex", katKey1, "", strings.ToUpper(katHMACEmpty), true},
		{"other message", katKey1, "hello", katHMACEmpty, false},
		{"other key", katKey2, "", katHMACEmpty, false},
		{"decoded-bytes key form", katKey1, "", katHMACDecodedKeyForm, false},
		{"truncated", katKey1, "", katHMACEmpty[:63], false},
		{"too long", katKey1, "", katHMACEmpty + "00", false},
		{"empty", katKey1, "", "", false},
		{"sha1 signature in its place", katKey1, "", katSignature, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := wxcrypt.VerifyLoginStateSignature(tc.key, tc.message, tc.sig); got != tc.want {
				t.Errorf("VerifyLoginStateSignature = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSignaturesAreLowerCaseHex(t *testing.T) {
	t.Parallel()
	for name, sig := range map[string]string{
		"Signature":           wxcrypt.Signature("x", wxcrypt.NewSessionKey()),
		"LoginStateSignature": wxcrypt.LoginStateSignature(wxcrypt.NewSessionKey(), ""),
	} {
		if strings.Trim(sig, "0123456789abcdef") != "" {
			t.Errorf("%s = %q, want lowercase hex", name, sig)
		}
	}
}
