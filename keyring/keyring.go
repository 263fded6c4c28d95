package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Key is one master key: an id written into every value it seals, and 32
// secret bytes.
type Key struct {
	ID     string
	Secret []byte
}

// Keyring seals with its primary key and opens with any of its keys.
type Keyring struct {
	primary string
	ids     []string // in the order given, the primary first
	aeads   map[string]cipher.AEAD
}

// format of a sealed value: version byte 1, id length byte, id, 12-byte
// nonce, AES-GCM ciphertext with its tag.
const version = 1

// ErrUnknownKey means a sealed value names a key the keyring does not hold.
var ErrUnknownKey = errors.New("keyring: sealed with an unknown key")

// ErrCorrupt means a sealed value is malformed or fails authentication.
var ErrCorrupt = errors.New("keyring: sealed value is corrupt")

// New returns a keyring whose primary key is the first of keys.
func New(keys ...Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("keyring: no key")
	}
	k := &Keyring{primary: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, key := range keys {
		if !validKeyID(key.ID) {
			// The id is not quoted: a malformed one is often key material
			// pasted in the wrong place ("<base64>:").
			return nil, fmt.Errorf("keyring: a key id (%d characters) must be 1 to %d characters without ':', ',' or white space", len(key.ID), maxKeyIDLength)
		}
		if len(key.Secret) != 32 {
			return nil, fmt.Errorf("keyring: key %q must be 32 bytes, not %d", key.ID, len(key.Secret))
		}
		if _, dup := k.aeads[key.ID]; dup {
			return nil, fmt.Errorf("keyring: key id %q given twice", key.ID)
		}
		block, err := aes.NewCipher(key.Secret)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		k.aeads[key.ID] = aead
		k.ids = append(k.ids, key.ID)
	}
	return k, nil
}

// maxKeyIDLength bounds a key id, which every sealed value carries.
const maxKeyIDLength = 32

// validKeyID reports whether id can name a key: 1 to maxKeyIDLength
// characters, none of them a separator of Parse's form or white space.
func validKeyID(id string) bool {
	return id != "" && len(id) <= maxKeyIDLength && !strings.ContainsAny(id, ":, \t\r\n")
}

// Parse reads keys in the form "id:base64,id:base64" (the primary first), the
// form of WXLOGIN_MASTER_KEY and of the dev mode's key file. A bare base64
// key gets the id "k1". Whitespace around entries is ignored.
func Parse(s string) (*Keyring, error) {
	var keys []Key
	for i, entry := range strings.Split(strings.TrimSpace(s), ",") {
		entry = strings.TrimSpace(entry)
		id, b64, found := strings.Cut(entry, ":")
		if !found {
			id, b64 = "k1", entry
		}
		// The key material stays out of the error texts, and so does an id
		// that is not one: it may be a key pasted before a stray ':'.
		if !validKeyID(id) {
			return nil, fmt.Errorf("keyring: entry %d: the key id must be 1 to %d characters without ':', ',' or white space", i+1, maxKeyIDLength)
		}
		secret, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q is not valid base64", id)
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	return New(keys...)
}

// Generate returns a new random key with the given id.
func Generate(id string) Key {
	secret := make([]byte, 32)
	rand.Read(secret) // never fails (crypto/rand)
	return Key{ID: id, Secret: secret}
}

// Format returns keys in the form Parse reads.
func Format(keys ...Key) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.ID + ":" + base64.StdEncoding.EncodeToString(k.Secret)
	}
	return strings.Join(parts, ",")
}

// PrimaryID returns the id of the key new values are sealed with.
func (k *Keyring) PrimaryID() string { return k.primary }

// IDs returns the ids of the keys, the primary first.
func (k *Keyring) IDs() []string { return slices.Clone(k.ids) }

// Seal encrypts plaintext under the primary key.
func (k *Keyring) Seal(plaintext []byte) []byte {
	aead := k.aeads[k.primary]
	out := make([]byte, 0, 2+len(k.primary)+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out = append(out, version, byte(len(k.primary)))
	out = append(out, k.primary...)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plaintext, out[:2+len(k.primary)])
}

// Open decrypts a value sealed under any key of the keyring.
func (k *Keyring) Open(sealed []byte) ([]byte, error) {
	id, aead, err := k.keyOf(sealed)
	if err != nil {
		return nil, err
	}
	header := 2 + len(id)
	if len(sealed) < header+aead.NonceSize()+aead.Overhead() {
		return nil, ErrCorrupt
	}
	nonce := sealed[header : header+aead.NonceSize()]
	plain, err := aead.Open(nil, nonce, sealed[header+aead.NonceSize():], sealed[:header])
	if err != nil {
		return nil, ErrCorrupt
	}
	return plain, nil
}

// Header returns the bytes every value sealed under the key id begins
// with, so that a store can find those values without opening them.
func Header(id string) []byte {
	return append([]byte{version, byte(len(id))}, id...)
}

// SealedWith returns the id of the key that sealed a value.
func SealedWith(sealed []byte) (string, error) {
	if len(sealed) < 2 || sealed[0] != version || len(sealed) < 2+int(sealed[1]) {
		return "", ErrCorrupt
	}
	return string(sealed[2 : 2+int(sealed[1])]), nil
}

// Reseal re-encrypts a sealed value under the primary key; a value already
// sealed under it comes back unchanged.
func (k *Keyring) Reseal(sealed []byte) ([]byte, error) {
	id, err := SealedWith(sealed)
	if err != nil {
		return nil, err
	}
	if id == k.primary {
		return sealed, nil
	}
	plain, err := k.Open(sealed)
	if err != nil {
		return nil, err
	}
	return k.Seal(plain), nil
}

func (k *Keyring) keyOf(sealed []byte) (string, cipher.AEAD, error) {
	id, err := SealedWith(sealed)
	if err != nil {
		return "", nil, err
	}
	aead, ok := k.aeads[id]
	if !ok {
		return "", nil, ErrUnknownKey
	}
	return id, aead, nil
}
