package wxcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
)

// Encrypt encrypts plaintext the way WeChat produces encryptedData: AES-128-CBC
// with PKCS#7 padding, key and iv given and result returned in base64.
func Encrypt(sessionKey, iv string, plaintext []byte) (string, error) {
	var key, ivb [aes.BlockSize]byte
	if r := decode16(&key, sessionKey, ReasonKeyLength); r != "" {
		return "", errors.New("wxcrypt: encrypt: " + r)
	}
	if r := decode16(&ivb, iv, ReasonIVLength); r != "" {
		return "", errors.New("wxcrypt: encrypt: " + r)
	}
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return "", err
	}
	// PKCS#7: always 1..16 bytes of padding, each holding the count.
	n := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := make([]byte, len(plaintext)+n)
	copy(buf, plaintext)
	for i := len(plaintext); i < len(buf); i++ {
		buf[i] = byte(n)
	}
	cipher.NewCBCEncrypter(block, ivb[:]).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// NewSessionKey returns a random session_key in WeChat's form: 16 bytes, base64.
func NewSessionKey() string { return random16() }

// NewIV returns a random iv in WeChat's form: 16 bytes, base64.
func NewIV() string { return random16() }

func random16() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return base64.StdEncoding.EncodeToString(b[:])
}
