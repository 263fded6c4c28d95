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
	// Ten groups of four characters make 30 bytes; the last three
	// characters carry 18 bits: two bytes and two bits that must be zero.
	// Valid characters map below 64, so one OR tells any invalid one.
	n := 0
	for i := 0; i < 40; i += 4 {
		a, b, c, d := b64url[enc[i]], b64url[enc[i+1]], b64url[enc[i+2]], b64url[enc[i+3]]
		if a|b|c|d >= 64 {
			return wxlogin.TokenHash{}, false
		}
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		raw[n], raw[n+1], raw[n+2] = byte(v>>16), byte(v>>8), byte(v)
		n += 3
	}
	a, b, c := b64url[enc[40]], b64url[enc[41]], b64url[enc[42]]
	v := uint32(a)<<12 | uint32(b)<<6 | uint32(c)
	if a|b|c >= 64 || v&3 != 0 {
		return wxlogin.TokenHash{}, false
	}
	raw[30], raw[31] = byte(v>>10), byte(v>>2)
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

// NewImportedSession returns what a bulk load of sessions into a store
// (sqlitestore.Import: a load test, a migration from another server) needs
// of a session the service did not log in itself: a token of the form the
// service issues, the hash the store keeps of it, and a session id. The
// token is the caller's to hand out; only the hash goes to the store.
func NewImportedSession() (token wxlogin.Secret, hash wxlogin.TokenHash, sessionID string) {
	token, hash = newToken()
	return token, hash, newID("ses_")
}

// NewUserID returns a user id of the form the service gives its users, for
// users loaded in bulk beside their sessions.
func NewUserID() string { return newID("usr_") }
