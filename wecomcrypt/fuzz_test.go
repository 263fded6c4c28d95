package wecomcrypt_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/wxlogin/wxlogin/wecomcrypt"
)

// FuzzDecrypt: any Encrypt field either opens or fails with exactly
// ErrInvalid, never a panic; whatever opens seals back to a field that
// opens to the same message and receiver.
func FuzzDecrypt(f *testing.F) {
	f.Add(katEncrypt)
	f.Add(katEncrypt[:len(katEncrypt)-24])
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAA==")
	f.Add("hBSCCiPPxpwRXTXF0Qh1xByuhNEgehdxf/S8kmdK9ao=")
	k := katKey(f)
	f.Fuzz(func(t *testing.T, encrypt string) {
		msg, id, err := wecomcrypt.Decrypt(k, encrypt)
		if err != nil {
			if !errors.Is(err, wecomcrypt.ErrInvalid) || msg != nil || id != "" {
				t.Fatalf("Decrypt = %q, %q, %v", msg, id, err)
			}
			return
		}
		again, err := wecomcrypt.Seal(k, id, msg, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		msg2, id2, err := wecomcrypt.Decrypt(k, again)
		if err != nil || !bytes.Equal(msg, msg2) || id != id2 {
			t.Fatalf("round trip: %q %q %v", msg2, id2, err)
		}
	})
}

// FuzzSealOpen: every message and receiver survives Seal and Open.
func FuzzSealOpen(f *testing.F) {
	f.Add([]byte(katMessage), katReceiver, "1700000000", "n")
	f.Add([]byte{}, "", "", "")
	f.Add(bytes.Repeat([]byte{32}, 32), "ww\x00", "0", "]]>")
	k := katKey(f)
	f.Fuzz(func(t *testing.T, msg []byte, receiver, timestamp, nonce string) {
		enc, err := wecomcrypt.Seal(k, receiver, msg, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		sig := wecomcrypt.Signature(katToken, timestamp, nonce, enc)
		got, err := wecomcrypt.Open(k, katToken, receiver, timestamp, nonce, enc, sig)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("Open = %q, %v; want %q", got, err, msg)
		}
		// The envelope carries what XML can hold (a suite id is letters
		// and digits); Encrypt is base64.
		env, err := wecomcrypt.ParseEnvelope(wecomcrypt.MarshalEnvelope("ww1", enc, ""))
		if err != nil || env.Encrypt != enc || env.ToUserName != "ww1" {
			t.Fatalf("envelope: %+v, %v", env, err)
		}
	})
}

// FuzzParseEnvelope: any body parses or is ErrInvalid.
func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte("<xml><ToUserName><![CDATA[ww1]]></ToUserName><Encrypt><![CDATA[abc]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>"))
	f.Add([]byte("<xml><Encrypt>"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := wecomcrypt.ParseEnvelope(body); err != nil && !errors.Is(err, wecomcrypt.ErrInvalid) {
			t.Fatal(err)
		}
	})
}
