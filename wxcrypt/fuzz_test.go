package wxcrypt_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

// reasons is every reason a failure may carry.
var reasons = map[string]bool{
	wxcrypt.ReasonBase64: true, wxcrypt.ReasonKeyLength: true, wxcrypt.ReasonIVLength: true,
	wxcrypt.ReasonBlocks: true, wxcrypt.ReasonPadding: true, wxcrypt.ReasonJSON: true,
	wxcrypt.ReasonAppID: true, wxcrypt.ReasonStale: true,
}

// FuzzDecrypt: any input either fails with exactly ErrInvalid and a known
// reason, or decrypts to a plaintext whose canonical encryption is the very
// ciphertext given (so strict padding admits one encoding per plaintext).
func FuzzDecrypt(f *testing.F) {
	for _, v := range katVectors {
		f.Add(v.key, v.data, v.iv)
	}
	for _, data := range []string{katPadZero, katPad17, katPad255, katPadInconsistent, katPadFullBlockWrong} {
		f.Add(katKey1, data, katIV1)
	}
	f.Add(katKey1, strings.ReplaceAll(katUserInfoData, "+", " "), katIV1)
	f.Add(katKey1, "", katIV1)
	f.Add(katKey1, "AAAA", katIV1)
	f.Add(katKey1, "%%%%", katIV1)
	f.Add("", katUserInfoData, katIV1)
	f.Add(katKey1, katUserInfoData, "")
	f.Add(b64(32), katUserInfoData, katIV1)
	f.Add(katKey1, katUserInfoData, b64(17))
	f.Add(katKey1, katFullBlockData+"\n", katIV1)
	f.Fuzz(func(t *testing.T, key, data, iv string) {
		plain, reason, err := wxcrypt.Decrypt(key, data, iv)
		if err != nil {
			if err != wxcrypt.ErrInvalid {
				t.Fatalf("err = %v, want exactly ErrInvalid", err)
			}
			if !reasons[reason] || plain != nil {
				t.Fatalf("failure with reason %q and plaintext %q", reason, plain)
			}
			return
		}
		if reason != "" {
			t.Fatalf("success with reason %q", reason)
		}
		fixed := func(s string) string { return strings.ReplaceAll(s, " ", "+") }
		ciphertext, err := base64.StdEncoding.DecodeString(fixed(data))
		if err != nil {
			t.Fatalf("Decrypt accepted encryptedData that is not base64: %v", err)
		}
		again, err := wxcrypt.Encrypt(fixed(key), fixed(iv), plain)
		if err != nil {
			t.Fatalf("Decrypt accepted a key and iv that Encrypt rejects: %v", err)
		}
		if reencrypted, _ := base64.StdEncoding.DecodeString(again); !bytes.Equal(reencrypted, ciphertext) {
			t.Fatalf("re-encryption of the plaintext differs from the ciphertext: padding accepted loosely")
		}
	})
}

// envelopeOf returns the Envelope of any payload type.
func envelopeOf(tb testing.TB, p wxcrypt.Payload) *wxcrypt.Envelope {
	tb.Helper()
	switch p := p.(type) {
	case *wxcrypt.UserInfo:
		return &p.Envelope
	case *wxcrypt.PhoneInfo:
		return &p.Envelope
	case *wxcrypt.WeRun:
		return &p.Envelope
	case *wxcrypt.ShareInfo:
		return &p.Envelope
	case *wxcrypt.Any:
		return &p.Envelope
	}
	tb.Fatalf("envelopeOf: unknown payload type %T", p)
	return nil
}

// fuzzOpen fuzzes one payload parser through Opener.Open twice per input:
// on encryptedData as given (decrypt failures, foreign ciphertexts), and on
// plaintext sealed under the test key (so the fuzzer reaches the JSON parser
// and the watermark check, which random ciphertexts almost never do).
func fuzzOpen(f *testing.F, newPayload func() wxcrypt.Payload, valid ...[2]string) {
	f.Helper()
	sealed := func(plain string) string {
		data, err := wxcrypt.Encrypt(katKey1, katIV1, []byte(plain))
		if err != nil {
			f.Fatal(err)
		}
		return data
	}
	for _, v := range valid {
		f.Add(v[0], []byte(v[1]))
		// The same plaintext, broken in the ways that matter.
		f.Add(v[0][:len(v[0])-4], []byte(v[1][:len(v[1])/2]))
		f.Add(strings.ReplaceAll(v[0], "+", " "), []byte(strings.Replace(v[1], katAppID, "wx0000000000000000", 1)))
		f.Add(sealed(v[1]), []byte(strings.Replace(v[1], "17636832", "17000000", -1)))
	}
	f.Add(katPadInconsistent, []byte(`null`))
	f.Add(katValidPadNotJSON, []byte(`{"watermark":{"appid":"wx5e1a0c9b3f7d2a64","timestamp":"x"}}`))
	f.Add("", []byte(`{"watermark":{"appid":"wx5e1a0c9b3f7d2a64","timestamp":1763683200}}`))
	f.Add("!", []byte(`[]`))

	opener := wxcrypt.Opener{AppID: katAppID, MaxAge: 10 * time.Minute, Now: fixedClock(katTime)}
	check := func(t *testing.T, what string, p wxcrypt.Payload, reason string, err error) {
		t.Helper()
		if err != nil {
			if err != wxcrypt.ErrInvalid || !reasons[reason] {
				t.Fatalf("%s: Open = %q, %v; want a known reason and exactly ErrInvalid", what, reason, err)
			}
			return
		}
		e := envelopeOf(t, p)
		if reason != "" || e.Watermark.AppID != katAppID {
			t.Fatalf("%s: opened with reason %q and watermark appid %q, want %q", what, reason, e.Watermark.AppID, katAppID)
		}
		if age := katTime.Sub(time.Unix(e.Watermark.Timestamp, 0)); age > opener.MaxAge || age < -opener.MaxAge {
			t.Fatalf("%s: opened a watermark %v away from now, MaxAge %v", what, age, opener.MaxAge)
		}
		clean, err := wxcrypt.WithoutWatermark(e.Raw)
		if err != nil {
			t.Fatalf("%s: WithoutWatermark of an opened payload: %v", what, err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(clean, &fields); err != nil {
			t.Fatalf("%s: WithoutWatermark gave invalid JSON %q: %v", what, clean, err)
		}
		if _, ok := fields["watermark"]; ok {
			t.Fatalf("%s: WithoutWatermark left the watermark in %s", what, clean)
		}
	}
	f.Fuzz(func(t *testing.T, data string, plaintext []byte) {
		p := newPayload()
		reason, err := opener.Open(katKey1, data, katIV1, p)
		check(t, "given ciphertext", p, reason, err)

		sealedData, err := wxcrypt.Encrypt(katKey1, katIV1, plaintext)
		if err != nil {
			t.Fatal(err)
		}
		p = newPayload()
		reason, err = opener.Open(katKey1, sealedData, katIV1, p)
		check(t, "sealed plaintext", p, reason, err)
		if err == nil && !bytes.Equal(envelopeOf(t, p).Raw, plaintext) {
			t.Fatalf("Raw = %q, want the plaintext %q", envelopeOf(t, p).Raw, plaintext)
		}
	})
}

// The fuzz seeds encrypt everything under katKey1/katIV1, so the vectors
// made under katKey2 are re-sealed first.
func resealed(tb testing.TB, plain string) [2]string { return [2]string{seal(tb, plain), plain} }

func FuzzOpenUserInfo(f *testing.F) {
	fuzzOpen(f, func() wxcrypt.Payload { return &wxcrypt.UserInfo{} },
		[2]string{katUserInfoData, katUserInfoPlain},
		resealed(f, `{"nickName":"微信用户","gender":0,"language":"","city":"","province":"","country":"","avatarUrl":"https://thirdwx.qlogo.cn/mmopen/vi_32/anonymous-grey-avatar/132","watermark":{"timestamp":1763683200,"appid":"wx5e1a0c9b3f7d2a64"}}`))
}

func FuzzOpenPhone(f *testing.F) {
	fuzzOpen(f, func() wxcrypt.Payload { return &wxcrypt.PhoneInfo{} }, resealed(f, katPhonePlain))
}

func FuzzOpenWeRun(f *testing.F) {
	fuzzOpen(f, func() wxcrypt.Payload { return &wxcrypt.WeRun{} }, [2]string{katWeRunData, katWeRunPlain},
		resealed(f, `{"stepInfoList":[],"watermark":{"timestamp":1763683200,"appid":"wx5e1a0c9b3f7d2a64"}}`))
}

func FuzzOpenShare(f *testing.F) {
	fuzzOpen(f, func() wxcrypt.Payload { return &wxcrypt.ShareInfo{} }, resealed(f, katSharePlain))
}

// FuzzWithoutWatermark: on any input it either fails or returns a JSON object
// with the same members as the input, the watermark aside, byte for byte.
func FuzzWithoutWatermark(f *testing.F) {
	for _, plain := range []string{katUserInfoPlain, katPhonePlain, katWeRunPlain, katSharePlain} {
		f.Add([]byte(plain))
	}
	for _, s := range []string{`{}`, `{"watermark":1,"a":2,"watermark":3}`, `{"water\u006dark":1}`,
		"{ \"a\" :\n1 }", `[]`, `null`, `{"a":`, `{"a":"&<>"}`, "{\"\xff\":1}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := wxcrypt.WithoutWatermark(in)
		var inFields map[string]json.RawMessage
		inErr := json.Unmarshal(in, &inFields)
		if err != nil {
			if inErr == nil && inFields != nil {
				t.Fatalf("WithoutWatermark(%q) failed on a JSON object: %v", in, err)
			}
			return
		}
		if inErr != nil || inFields == nil {
			t.Fatalf("WithoutWatermark(%q) = %q; want an error, the input is not a JSON object", in, out)
		}
		var outFields map[string]json.RawMessage
		if err := json.Unmarshal(out, &outFields); err != nil || outFields == nil {
			t.Fatalf("WithoutWatermark(%q) = %q, not a JSON object: %v", in, out, err)
		}
		delete(inFields, "watermark")
		if diff := cmp.Diff(inFields, outFields); diff != "" {
			t.Fatalf("members of WithoutWatermark(%q) (-input +output):\n%s", in, diff)
		}
	})
}
