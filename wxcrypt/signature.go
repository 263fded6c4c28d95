package wxcrypt

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
)

// Signature returns sha1(rawData + sessionKey) in lowercase hex: the signature
// WeChat puts beside user info. The session_key is used as its base64 text.
func Signature(rawData, sessionKey string) string {
	h := sha1.New()
	h.Write([]byte(rawData))
	h.Write([]byte(sessionKey))
	var sum [sha1.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// VerifySignature reports whether signature is the sha1 signature of rawData
// under sessionKey, comparing in constant time. Upper-case hex is accepted.
func VerifySignature(rawData, sessionKey, signature string) bool {
	want := Signature(rawData, sessionKey)
	return len(signature) == len(want) &&
		subtle.ConstantTimeCompare([]byte(want), []byte(lowerHex(signature))) == 1
}

// LoginStateSignature returns the signature that checksession and
// resetusersessionkey take: hmac_sha256 of message (empty for their GET
// requests), lowercase hex. The key is the session_key's base64 text itself,
// not its decoded bytes: two well-known SDKs got that wrong and their calls
// fail with 87009.
func LoginStateSignature(sessionKey, message string) string {
	m := hmac.New(sha256.New, []byte(sessionKey))
	m.Write([]byte(message))
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyLoginStateSignature reports, in constant time, whether signature is
// the login-state signature of message under sessionKey.
func VerifyLoginStateSignature(sessionKey, message, signature string) bool {
	want := LoginStateSignature(sessionKey, message)
	return len(signature) == len(want) &&
		subtle.ConstantTimeCompare([]byte(want), []byte(lowerHex(signature))) == 1
}

func lowerHex(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'F' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'F' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
