package keyring

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestSealOpenRotate(t *testing.T) {
	t.Parallel()
	old := Generate("k1")
	ring1, err := New(old)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("session-key-bytes")
	sealed := ring1.Seal(secret)
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value contains the plaintext")
	}
	if got, err := ring1.Open(sealed); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}

	ring2, err := Parse(Format(Generate("k2"), old))
	if err != nil {
		t.Fatal(err)
	}
	resealed, err := ring2.Reseal(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := SealedWith(resealed); id != "k2" {
		t.Fatalf("resealed with %q, want k2", id)
	}
	if got, err := ring2.Open(resealed); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open(resealed) = %q, %v", got, err)
	}
	if _, err := ring1.Open(resealed); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old ring opened a value of the new key: %v", err)
	}
	if again, _ := ring2.Reseal(resealed); !bytes.Equal(again, resealed) {
		t.Fatal("Reseal changed a value already under the primary key")
	}
}

func TestOpenRejectsTampering(t *testing.T) {
	t.Parallel()
	ring, _ := New(Generate("k1"))
	sealed := ring.Seal([]byte("x"))
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 1
		if _, err := ring.Open(bad); err == nil {
			t.Fatalf("flipping byte %d went unnoticed", i)
		}
	}
	for _, bad := range [][]byte{nil, {1}, {1, 5, 'k'}, {2, 2, 'k', '1'}} {
		if _, err := ring.Open(bad); err == nil {
			t.Fatalf("Open(%v) succeeded", bad)
		}
	}
}

func TestParseErrorsHideKeys(t *testing.T) {
	t.Parallel()
	// secret is key material in the base64 form WXLOGIN_MASTER_KEY holds.
	secret := Format(Generate("x"))[2:]
	for _, tt := range []struct {
		name, in, leak string
	}{
		{"empty", "", ""},
		{"bad base64", "k1:!!notbase64!!", "notbase64"},
		{"short key", "k1:c2hvcnQ=", "c2hvcnQ="},
		{"id given twice", "a:" + secret + ",a:" + Format(Generate("y"))[2:], secret},
		{"key pasted as the id", secret + ":", secret},
		{"key pasted as the id of a second entry", "k1:" + Format(Generate("z"))[3:] + "," + secret + ":" + secret, secret},
		{"id with a space", "my key:" + secret, secret},
		{"id too long", strings.Repeat("k", 33) + ":" + secret, strings.Repeat("k", 33)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tt.in)
			}
			if tt.leak != "" && strings.Contains(err.Error(), tt.leak) {
				t.Fatalf("error text leaks %q: %v", tt.leak, err)
			}
		})
	}
}

func TestNewRejectsBadKeys(t *testing.T) {
	t.Parallel()
	good := Generate("k1")
	for _, tt := range []struct {
		name string
		keys []Key
	}{
		{"no key", nil},
		{"empty id", []Key{{ID: "", Secret: good.Secret}}},
		{"id with a colon", []Key{{ID: "k:1", Secret: good.Secret}}},
		{"id with a newline", []Key{{ID: "k\n1", Secret: good.Secret}}},
		{"short secret", []Key{{ID: "k1", Secret: good.Secret[:16]}}},
		{"duplicate id", []Key{good, Generate("k1")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := New(tt.keys...); err == nil {
				t.Fatal("New accepted the keys")
			}
		})
	}
}

// FuzzOpen feeds Open arbitrary sealed values: it must never panic, fail
// only with its two errors, and open nothing but what the ring sealed (GCM
// authenticates).
func FuzzOpen(f *testing.F) {
	ring, err := New(Key{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)}, Key{ID: "old", Secret: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		f.Fatal(err)
	}
	sealed := ring.Seal([]byte("session-key"))
	f.Add(sealed)
	f.Add([]byte{})
	f.Add([]byte{1, 2, 'k', '1'})
	f.Add([]byte{1, 3, 'o', 'l', 'd', 0, 0, 0})
	f.Add([]byte{1, 255})
	f.Fuzz(func(t *testing.T, in []byte) {
		plain, err := ring.Open(in)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("Open error %v is neither ErrCorrupt nor ErrUnknownKey", err)
			}
			return
		}
		// Seal draws a random nonce, and a fuzzing worker runs the setup
		// again, so the bytes of sealed differ between processes: compare
		// what came out.
		if string(plain) != "session-key" {
			t.Fatalf("Open accepted a value it never sealed: %x -> %q", in, plain)
		}
		if _, err := ring.Reseal(in); err != nil {
			t.Fatalf("Reseal of an openable value: %v", err)
		}
	})
}

// TestHeaderBeginsSealedValues: a store finds the values of a key by
// Header alone, and the header of one id is no prefix of another's.
func TestHeaderBeginsSealedValues(t *testing.T) {
	t.Parallel()
	short, long := Generate("k1"), Generate("k10")
	ring, err := New(long, short)
	if err != nil {
		t.Fatal(err)
	}
	sealed := ring.Seal([]byte("x"))
	if !bytes.HasPrefix(sealed, Header("k10")) {
		t.Errorf("a value sealed under k10 does not begin with Header(k10)")
	}
	if bytes.HasPrefix(sealed, Header("k1")) {
		t.Errorf("a value sealed under k10 begins with Header(k1)")
	}
	if got := ring.IDs(); len(got) != 2 || got[0] != "k10" || got[1] != "k1" {
		t.Errorf("IDs() = %v, want [k10 k1]", got)
	}
}
