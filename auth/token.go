package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"

	"github.com/wxlogin/wxlogin"
)

// Login tokens are tokenPrefix followed by tokenBytes random bytes in
// unpadded base64url. The prefix lets secret scanners (GitHub's, gitleaks)
// recognise a leaked token; the length and alphabet are checked before
// anything else touches a token, so garbage never reaches the cache or store.
const (
	tokenPrefix  = "wxl_"
	tokenBytes   = 32
	tokenEncoded = (tokenBytes*8 + 5) / 6 // 43 base64url characters
	tokenLen     = len(tokenPrefix) + tokenEncoded
)

// newToken returns a fresh login token and the hash that is all the store
// ever sees of it.
func newToken() (wxlogin.Secret, wxlogin.TokenHash) {
	var raw [tokenBytes]byte
	rand.Read(raw[:]) // never fails (crypto/rand)
	tok := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	return wxlogin.Secret(tok), sha256.Sum256(raw[:])
}

// b64url maps a base64url character to its 6-bit value, 0xff for anything
// else. A table of our own (rather than base64.Decoding) lets parseToken run
// without allocating: it is on the verification hot path.
var b64url = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// parseToken checks a token's form strictly (prefix, length, alphabet, and
// zero unused trailing bits, so that each token has exactly one spelling)
// and returns its hash. It does not allocate.
func parseToken(tok string) (wxlogin.TokenHash, bool) {
	if len(tok) != tokenLen || tok[:len(tokenPrefix)] != tokenPrefix {
		return wxlogin.TokenHash{}, false
	}
	enc := tok[len(tokenPrefix):]
	var raw [tokenBytes]byte
	var acc uint32
	var bits uint
	n := 0
	for i := range len(enc) {
		v := b64url[enc[i]]
		if v == 0xff {
			return wxlogin.TokenHash{}, false
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			raw[n] = byte(acc >> bits)
			n++
			acc &= 1<<bits - 1
		}
	}
	// 43 characters carry 258 bits: the last 2 must be zero.
	if n != tokenBytes || acc != 0 {
		return wxlogin.TokenHash{}, false
	}
	return sha256.Sum256(raw[:]), true
}

// newID returns prefix followed by 16 random bytes in base64url: ids of
// users, sessions and avatars. They are not secrets, but random ids do not
// leak how many users there are, and avatar ids cannot be guessed.
func newID(prefix string) string {
	var raw [16]byte
	rand.Read(raw[:])
	return prefix + base64.RawURLEncoding.EncodeToString(raw[:])
}

// validID reports whether id has the form newID(prefix) gives. Ids reach
// stores that may map them to paths (the blob folder), so only ids of our
// own form get there.
func validID(prefix, id string) bool {
	if len(id) != len(prefix)+22 || id[:len(prefix)] != prefix {
		return false
	}
	for i := len(prefix); i < len(id); i++ {
		if b64url[id[i]] == 0xff {
			return false
		}
	}
	return true
}
