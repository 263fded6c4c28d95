package wxcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
)

// ErrInvalid is the one error every decrypt failure returns: bad base64, a
// key or iv of the wrong length, a ciphertext that is not whole blocks, bad
// padding, bad JSON, a watermark for another app or a stale timestamp.
var ErrInvalid = errors.New("wxcrypt: invalid encrypted data")

// Reasons of a decrypt failure, for server logs only. Never send them to a
// client: telling them apart is exactly what a padding oracle needs.
const (
	ReasonBase64    = "bad base64"
	ReasonKeyLength = "session_key is not 16 bytes"
	ReasonIVLength  = "iv is not 16 bytes"
	ReasonBlocks    = "ciphertext is empty or not whole blocks"
	ReasonPadding   = "bad PKCS#7 padding"
	ReasonJSON      = "plaintext is not the expected JSON"
	ReasonAppID     = "watermark appid does not match"
	ReasonStale     = "watermark timestamp outside the allowed window"
)

// Decrypt decrypts encryptedData with the session_key and iv, all three in
// base64 as WeChat gives them, and returns the plaintext. It checks base64,
// lengths and whole blocks before touching the cipher, so no input panics.
// A space is read as the '+' a form decoder turned it into; line breaks
// inside the base64 are ignored (encoding/base64's rule).
// On failure it returns ErrInvalid and, for server logs only, the reason.
//
// Decrypt answers a bad padding sooner than a caller that goes on to parse
// the plaintext answers bad JSON; Opener.Open evens that out, so servers
// should open payloads with Open rather than Decrypt.
func Decrypt(sessionKey, encryptedData, iv string) (plaintext []byte, reason string, err error) {
	plaintext, _, reason = decrypt(sessionKey, encryptedData, iv)
	if reason != "" {
		return nil, reason, ErrInvalid
	}
	return plaintext, "", nil
}

// decrypt does Decrypt's work. When only the padding is wrong it also
// returns the decrypted blocks, so that Open can spend on them the time it
// would have spent on a plaintext.
func decrypt(sessionKey, encryptedData, iv string) (plaintext, blocks []byte, reason string) {
	var key, ivb [aes.BlockSize]byte
	if r := decode16(&key, sessionKey, ReasonKeyLength); r != "" {
		return nil, nil, r
	}
	if r := decode16(&ivb, iv, ReasonIVLength); r != "" {
		return nil, nil, r
	}
	data := repair(encryptedData)
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(data)))
	n, err := base64.StdEncoding.Decode(buf, []byte(data))
	if err != nil {
		return nil, nil, ReasonBase64
	}
	buf = buf[:n]
	if len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, nil, ReasonBlocks
	}
	block, err := aes.NewCipher(key[:])
	if err != nil { // unreachable: the key is 16 bytes
		return nil, nil, ReasonKeyLength
	}
	cipher.NewCBCDecrypter(block, ivb[:]).CryptBlocks(buf, buf)
	out, ok := unpad(buf)
	if !ok {
		return nil, buf, ReasonPadding
	}
	return out, nil, ""
}

// decode16 decodes a base64 value that must be exactly 16 bytes.
func decode16(dst *[aes.BlockSize]byte, s string, lengthReason string) string {
	s = repair(s)
	var buf [32]byte
	if base64.StdEncoding.DecodedLen(len(s)) > len(buf) {
		return lengthReason
	}
	n, err := base64.StdEncoding.Decode(buf[:], []byte(s))
	if err != nil {
		return ReasonBase64
	}
	if n != aes.BlockSize {
		return lengthReason
	}
	copy(dst[:], buf[:n])
	return ""
}

// repair undoes the most common corruption of base64 in transit: a '+' that
// a form or query decoder turned into a space.
func repair(s string) string {
	if strings.IndexByte(s, ' ') < 0 {
		return s
	}
	return strings.ReplaceAll(s, " ", "+")
}

// unpad strips strict PKCS#7 padding: the last byte n must be 1..16 and the
// last n bytes must all equal n. It reads all sixteen bytes of the last block
// and branches only once, on the combined verdict, so its time does not tell
// a caller which of the checks failed or where (the heart of a padding oracle).
// b must be a non-empty whole number of blocks.
func unpad(b []byte) ([]byte, bool) {
	tail := b[len(b)-aes.BlockSize:]
	n := tail[aes.BlockSize-1]
	// good is 1 while every check holds; each step folds in without branching.
	good := 1 - subtle.ConstantTimeByteEq(n, 0)
	good &= subtle.ConstantTimeLessOrEq(int(n), aes.BlockSize)
	for i := range aes.BlockSize {
		// Byte i is padding when it is among the last n bytes.
		isPad := subtle.ConstantTimeLessOrEq(aes.BlockSize-i, int(n))
		matches := subtle.ConstantTimeByteEq(tail[i], n)
		// A padding byte must match; any other byte may be anything.
		good &= matches | (isPad ^ 1)
	}
	if good != 1 {
		return nil, false
	}
	return b[:len(b)-int(n)], true
}
