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
	for _, in := range []string{"", "k1:!!notbase64!!", "k1:c2hvcnQ=", "a:" + Format(Generate("x"))[2:] + ",a:" + Format(Generate("y"))[2:]} {
		_, err := Parse(in)
		if err == nil {
			t.Fatalf("Parse(%q) succeeded", in)
		}
		if strings.Contains(err.Error(), "notbase64") {
			t.Fatalf("error text leaks the key: %v", err)
		}
	}
}
