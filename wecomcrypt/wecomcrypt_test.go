package wecomcrypt_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin/wecomcrypt"
)

// The known answer was made with openssl, independently of this package:
//
//	KEYHEX=$(printf 'wxlogin-test-key-0123456789abcde' | xxd -p | tr -d '\n')
//	{ printf '0123456789abcdef'; printf '\x00\x00\x00\x0d'; printf '<xml>hi</xml>'; printf 'wwsuite01';
//	  for i in $(seq 22); do printf '\x16'; done; } > pt.bin
//	openssl enc -aes-256-cbc -K $KEYHEX -iv ${KEYHEX:0:32} -nopad -in pt.bin | base64 -w0
//
// and its signature with
//
//	printf '%s\n' wxtoken 1700000000 nonce42 "$ENCRYPT" | LC_ALL=C sort | tr -d '\n' | sha1sum
const (
	katAESKey    = "d3hsb2dpbi10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGU" // base64 of the 32 key bytes, "=" dropped
	katEncrypt   = "hBSCCiPPxpwRXTXF0Qh1xByuhNEgehdxf/S8kmdK9aoQeAx2GQ3qSL2RqYLWNM7UTiCkv/KroTiskic/r8N4CA=="
	katSignature = "7844e5e7770c39682f519e168f1c47be8fa1109f"
	katToken     = "wxtoken"
	katTimestamp = "1700000000"
	katNonce     = "nonce42"
	katReceiver  = "wwsuite01"
	katMessage   = "<xml>hi</xml>"
)

func katKey(t testing.TB) wecomcrypt.Key {
	t.Helper()
	k, err := wecomcrypt.ParseKey(katAESKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKnownAnswer(t *testing.T) {
	t.Parallel()
	k := katKey(t)
	if got := wecomcrypt.Signature(katToken, katTimestamp, katNonce, katEncrypt); got != katSignature {
		t.Errorf("Signature = %s, want %s", got, katSignature)
	}
	msg, err := wecomcrypt.Open(k, katToken, katReceiver, katTimestamp, katNonce, katEncrypt, katSignature)
	if err != nil || string(msg) != katMessage {
		t.Fatalf("Open = %q, %v; want %q", msg, err, katMessage)
	}
	// Seal with the same random prefix gives openssl's bytes.
	enc, err := wecomcrypt.Seal(k, katReceiver, []byte(katMessage), strings.NewReader("0123456789abcdef"))
	if err != nil || enc != katEncrypt {
		t.Errorf("Seal = %s, %v; want %s", enc, err, katEncrypt)
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	k := katKey(t)
	seal := func(receiver string, msg []byte) string {
		enc, err := wecomcrypt.Seal(k, receiver, msg, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return enc
	}
	ct, _ := base64.StdEncoding.DecodeString(katEncrypt)
	flipped := bytes.Clone(ct)
	flipped[len(flipped)-17] ^= 1 // the last block's padding byte, through CBC
	other, _ := wecomcrypt.ParseKey(strings.Repeat("A", 42) + "E")
	b64 := base64.StdEncoding.EncodeToString
	const signIt = "sign" // the row's encrypt, correctly signed

	for _, tt := range []struct {
		name      string
		key       wecomcrypt.Key
		encrypt   string
		signature string
		want      error
	}{
		{"tampered signature", k, katEncrypt, "0" + katSignature[1:], wecomcrypt.ErrSignature},
		{"empty signature", k, katEncrypt, "", wecomcrypt.ErrSignature},
		{"tampered body", k, katEncrypt[:10] + "A" + katEncrypt[11:], katSignature, wecomcrypt.ErrSignature},
		{"bad padding", k, b64(flipped), signIt, wecomcrypt.ErrInvalid},
		{"wrong receiver", k, seal("wwanother", []byte(katMessage)), signIt, wecomcrypt.ErrInvalid},
		{"wrong key", other, katEncrypt, katSignature, wecomcrypt.ErrInvalid},
		{"truncated", k, katEncrypt[:len(katEncrypt)-24], signIt, wecomcrypt.ErrInvalid},
		{"not base64", k, "***", signIt, wecomcrypt.ErrInvalid},
		{"one block", k, b64(ct[:16]), signIt, wecomcrypt.ErrInvalid},
		{"partial block", k, b64(ct[:40]), signIt, wecomcrypt.ErrInvalid},
		{"empty", k, "", signIt, wecomcrypt.ErrInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sig := tt.signature
			if sig == signIt {
				sig = wecomcrypt.Signature(katToken, katTimestamp, katNonce, tt.encrypt)
			}
			msg, err := wecomcrypt.Open(tt.key, katToken, katReceiver, katTimestamp, katNonce, tt.encrypt, sig)
			if !errors.Is(err, tt.want) || msg != nil {
				t.Errorf("Open = %q, %v; want %v", msg, err, tt.want)
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", katAESKey[:42], katAESKey + "A", strings.Repeat("*", 43), katAESKey[:42] + "="} {
		if _, err := wecomcrypt.ParseKey(bad); !errors.Is(err, wecomcrypt.ErrKey) {
			t.Errorf("ParseKey(%q) = %v, want ErrKey", bad, err)
		}
	}
}

func TestEnvelope(t *testing.T) {
	t.Parallel()
	body := wecomcrypt.MarshalEnvelope("wwsuite01", katEncrypt, "")
	e, err := wecomcrypt.ParseEnvelope(body)
	if err != nil || e.ToUserName != "wwsuite01" || e.Encrypt != katEncrypt || e.AgentID != "" {
		t.Fatalf("ParseEnvelope(%s) = %+v, %v", body, e, err)
	}
	for _, bad := range []string{"", "<xml></xml>", "<xml><Encrypt>", "not xml", "<xml><Encrypt><![CDATA[]]></Encrypt></xml>"} {
		if _, err := wecomcrypt.ParseEnvelope([]byte(bad)); !errors.Is(err, wecomcrypt.ErrInvalid) {
			t.Errorf("ParseEnvelope(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}
