package wecomcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"sort"
	"strings"
)

// blockSize is what WeCom pads to: PKCS#7 over 32-byte blocks (the AES key
// size), not AES's 16, so a pad byte runs from 1 to 32.
const blockSize = 32

// randomLen is the random prefix of every plaintext.
const randomLen = 16

// maxMessage bounds a decrypted message: WeCom's callbacks are a few
// hundred bytes, and the length field must not make us believe in more
// than the ciphertext could hold anyway.
const maxMessage = 1 << 20

// KeyLen is the length of an EncodingAESKey: 43 characters of base64
// without the trailing "=", 32 bytes once decoded.
const KeyLen = 43

var (
	// ErrSignature is a msg_signature that does not match.
	ErrSignature = errors.New("wecomcrypt: msg_signature does not match")
	// ErrInvalid is every failure to open a correctly signed message: bad
	// base64, a ciphertext not in whole blocks, bad padding, a length
	// field past the end, or another receiver's id.
	ErrInvalid = errors.New("wecomcrypt: the message could not be opened")
	// ErrKey is an EncodingAESKey that is not 43 characters of base64
	// decoding to 32 bytes.
	ErrKey = errors.New("wecomcrypt: the EncodingAESKey must be 43 characters of base64 (32 bytes)")
)

// Key is a parsed EncodingAESKey: the AES-256 key, whose first 16 bytes are
// also the IV.
type Key struct {
	aes [32]byte
}

// ParseKey decodes an EncodingAESKey as WeCom does: base64 of the 43
// characters with "=" appended.
func ParseKey(encodingAESKey string) (Key, error) {
	var k Key
	if len(encodingAESKey) != KeyLen {
		return k, ErrKey
	}
	b, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(b) != len(k.aes) {
		return k, ErrKey
	}
	copy(k.aes[:], b)
	return k, nil
}

// Signature is msg_signature: the lowercase hex sha1 of token, timestamp,
// nonce and encrypt sorted as byte strings and concatenated.
func Signature(token, timestamp, nonce, encrypt string) string {
	parts := []string{token, timestamp, nonce, encrypt}
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// VerifySignature reports whether signature is msg_signature of the other
// values, compared in constant time.
func VerifySignature(token, timestamp, nonce, encrypt, signature string) bool {
	want := Signature(token, timestamp, nonce, encrypt)
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(signature))) == 1
}

// Open verifies msg_signature and decrypts encrypt, which must have been
// sealed for receiverID (a suite app's suite id). It returns ErrSignature or
// ErrInvalid, and the message otherwise.
func Open(key Key, token, receiverID, timestamp, nonce, encrypt, signature string) ([]byte, error) {
	if !VerifySignature(token, timestamp, nonce, encrypt, signature) {
		return nil, ErrSignature
	}
	msg, id, err := Decrypt(key, encrypt)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(id), []byte(receiverID)) != 1 {
		return nil, ErrInvalid
	}
	return msg, nil
}

// Decrypt opens encrypt without checking any signature and returns the
// message and the receiver id it was sealed for. Servers call Open.
func Decrypt(key Key, encrypt string) (msg []byte, receiverID string, err error) {
	ct, err := base64.StdEncoding.DecodeString(encrypt)
	// CBC panics on a partial block; a plaintext holds at least the random
	// prefix and the length, so less than two blocks is never one.
	if err != nil || len(ct) < 2*aes.BlockSize || len(ct)%aes.BlockSize != 0 {
		return nil, "", ErrInvalid
	}
	block, err := aes.NewCipher(key.aes[:])
	if err != nil { // unreachable: the key is 32 bytes
		return nil, "", ErrInvalid
	}
	plain := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, key.aes[:aes.BlockSize]).CryptBlocks(plain, ct)
	plain, ok := unpad(plain)
	if !ok || len(plain) < randomLen+4 {
		return nil, "", ErrInvalid
	}
	n := binary.BigEndian.Uint32(plain[randomLen : randomLen+4])
	rest := plain[randomLen+4:]
	if n > maxMessage || int(n) > len(rest) {
		return nil, "", ErrInvalid
	}
	return rest[:n], string(rest[n:]), nil
}

// unpad strips canonical PKCS#7 padding of 1 to 32 bytes.
func unpad(b []byte) ([]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	p := int(b[len(b)-1])
	if p < 1 || p > blockSize || p > len(b) {
		return nil, false
	}
	bad := byte(0)
	for _, c := range b[len(b)-p:] {
		bad |= c ^ byte(p)
	}
	return b[:len(b)-p], bad == 0
}

// Seal encrypts msg for receiverID as WeCom does, with a 16-byte prefix read
// from random, and returns the Encrypt field.
func Seal(key Key, receiverID string, msg []byte, random io.Reader) (string, error) {
	plain := make([]byte, randomLen+4, randomLen+4+len(msg)+len(receiverID)+blockSize)
	if _, err := io.ReadFull(random, plain[:randomLen]); err != nil {
		return "", err
	}
	binary.BigEndian.PutUint32(plain[randomLen:], uint32(len(msg)))
	plain = append(plain, msg...)
	plain = append(plain, receiverID...)
	p := blockSize - len(plain)%blockSize
	for range p {
		plain = append(plain, byte(p))
	}
	block, err := aes.NewCipher(key.aes[:])
	if err != nil { // unreachable: the key is 32 bytes
		return "", err
	}
	cipher.NewCBCEncrypter(block, key.aes[:aes.BlockSize]).CryptBlocks(plain, plain)
	return base64.StdEncoding.EncodeToString(plain), nil
}

// Envelope is the XML a callback POST carries: the receiver (the suite id),
// the ciphertext and, for messages of an installed app, its agent id.
type Envelope struct {
	XMLName    xml.Name `xml:"xml"`
	ToUserName string   `xml:"ToUserName"`
	Encrypt    string   `xml:"Encrypt"`
	AgentID    string   `xml:"AgentID"`
}

// ParseEnvelope reads a callback body. A body without an Encrypt element
// is ErrInvalid.
func ParseEnvelope(body []byte) (Envelope, error) {
	var e Envelope
	if err := xml.Unmarshal(body, &e); err != nil || e.Encrypt == "" {
		return Envelope{}, ErrInvalid
	}
	e.Encrypt = strings.TrimSpace(e.Encrypt)
	return e, nil
}

// MarshalEnvelope writes a callback body as WeCom sends it, the values in
// CDATA sections.
func MarshalEnvelope(toUserName, encrypt, agentID string) []byte {
	var b strings.Builder
	b.WriteString("<xml><ToUserName><![CDATA[")
	b.WriteString(cdata(toUserName))
	b.WriteString("]]></ToUserName><Encrypt><![CDATA[")
	b.WriteString(cdata(encrypt))
	b.WriteString("]]></Encrypt><AgentID><![CDATA[")
	b.WriteString(cdata(agentID))
	b.WriteString("]]></AgentID></xml>")
	return []byte(b.String())
}

// cdata keeps a value from closing its CDATA section early.
func cdata(s string) string { return strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>") }
