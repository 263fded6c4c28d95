package wxcrypt

import (
	"bytes"
	"testing"
)

// referenceUnpad is PKCS#7 written the plain way, with early returns, to
// check the branch-free unpad against.
func referenceUnpad(b []byte) ([]byte, bool) {
	n := int(b[len(b)-1])
	if n < 1 || n > 16 {
		return nil, false
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return nil, false
		}
	}
	return b[:len(b)-n], true
}

// TestUnpadMatchesReference runs every last byte 0..255 against blocks whose
// padding is right, and against the same blocks with one byte spoiled at
// each position, on one and two blocks.
func TestUnpadMatchesReference(t *testing.T) {
	t.Parallel()
	for blocks := 1; blocks <= 2; blocks++ {
		for last := 0; last < 256; last++ {
			for spoil := -1; spoil < 16*blocks-1; spoil++ {
				b := bytes.Repeat([]byte{'x'}, 16*blocks)
				// Fill what would be the padding with the last byte's value.
				for i := len(b) - min(last, len(b)); i < len(b); i++ {
					b[i] = byte(last)
				}
				if spoil >= 0 {
					b[spoil] ^= 0x40
				}
				wantOut, wantOK := referenceUnpad(bytes.Clone(b))
				gotOut, gotOK := unpad(bytes.Clone(b))
				if gotOK != wantOK || !bytes.Equal(gotOut, wantOut) {
					t.Fatalf("unpad(% x) = %q, %v; reference says %q, %v", b, gotOut, gotOK, wantOut, wantOK)
				}
			}
		}
	}
}
