package wxcrypt_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

// Known-answer vectors, produced by OpenSSL 3.0 (an implementation
// independent of Go's crypto), with the exact command beside each.
//
// Keys and ivs were drawn with `openssl rand -hex 16` and converted with
// `echo <hex> | xxd -r -p | base64`.
const (
	katAppID = "wx5e1a0c9b3f7d2a64"

	katKey1 = "ZhVJ/YuCQJyP5Zg9ubL/bw==" // 661549fd8b82409c8fe5983db9b2ff6f
	katIV1  = "Uv2CpnvWOzaOLa06wYO8qw==" // 52fd82a67bd63b368e2dad3ac183bcab
	katKey2 = "D0w+KYGEnWVhZUVUUVj7/g==" // 0f4c3e2981849d65616545545158fbfe
	katIV2  = "4VEnu2CMISUVNtVHu07haA==" // e15127bb608c21251536d547bb4ee168

	// The hex key of katKey1, for the wrong (decoded bytes) HMAC key form.
	katKey1Hex = "661549fd8b82409c8fe5983db9b2ff6f"
)

const katUserInfoPlain = `{"openId":"oWxlTestAliceOpenID0000001","nickName":"小明","gender":0,"language":"zh_CN","city":"","province":"","country":"","avatarUrl":"https://thirdwx.qlogo.cn/mmopen/vi_32/test/132","unionId":"oWxlTestAliceUnionID00001","extraField":{"a":[1,2]},"watermark":{"timestamp":1763683200,"appid":"wx5e1a0c9b3f7d2a64"}}`

// printf '%s' '<katUserInfoPlain>' | openssl enc -aes-128-cbc -K 661549fd8b82409c8fe5983db9b2ff6f -iv 52fd82a67bd63b368e2dad3ac183bcab | base64 -w0
const katUserInfoData = "fXYXbY+n+kFJ0Imu76yJJb/Zw9kSzvGiX6et5hMNGGeaf693ijcrjR3dklUDqVOzO04uG4hEMHBRMtpiE+abrOy+ihLYTW/nq9zeu4Gzt4iyZEKuV4o2t9DkT9i7d6DuBCWRjl9y17TNHdhv7u2zaIKKxf/Q5bI8uQA5v3KJfYQ1g4Osb4yDRDiwLo5O9Yr9MNcWti43AfoNXXfbDCCyVB9xTw3KnulvEe0o+OUFSJtoH5SuR7H7uBFh+7FvkOVMJjB1kxPTELCyrPWhkFSBb7Rk8va9QD4Lzze1wIPIuToyH0Ld9EAV0mYdc56OaWlAxuZyzE8+KN8zoWGahT+a86zn+k7NQTJ+Ql3Bd4Kk5oFVkHD9ZkzzbIbDZCvhqvtUSgK46Ltgm8NV+Fx+AqXG5aSO+iXW4d1VACMyD5B+6NU="

const katPhonePlain = `{"phoneNumber":"+86 138-0013-8000","purePhoneNumber":"13800138000","countryCode":"86","watermark":{"timestamp":1763683200,"appid":"wx5e1a0c9b3f7d2a64"}}`

// printf '%s' '<katPhonePlain>' | openssl enc -aes-128-cbc -K 0f4c3e2981849d65616545545158fbfe -iv e15127bb608c21251536d547bb4ee168 | base64 -w0
const katPhoneData = "X1Cf8+lsGoZc4uaP54uAXGhJaTZrpPy726xC9o0QjEzLlLWZpRdRixK8bVBNXDePEzLm3tsiK1Tbl4Z4jS/nnoE7CXZ9CK1+HfaipBrmIypQC9ixd9J/pqlqBOsmO4vZBZ5kxIPcadmmx1bK7h1bFVD3axS1lisS1pyX3Cd9XJGrlYNVlBjUpCPeuUka356iwn9NmCn+1PRYIU+rt1WUvw=="

const katWeRunPlain = `{"stepInfoList":[{"timestamp":1763596800,"step":4321},{"timestamp":1763683200,"step":87}],"watermark":{"timestamp":1763683260,"appid":"wx5e1a0c9b3f7d2a64"}}`

// printf '%s' '<katWeRunPlain>' | openssl enc -aes-128-cbc -K 661549fd8b82409c8fe5983db9b2ff6f -iv 52fd82a67bd63b368e2dad3ac183bcab | base64 -w0
const katWeRunData = "mytMA/2weU7X8oDbV2mkMV9Y7q7KVZkx2hsaWVqsCVHy0L2Sd/SOLI7IgoabkOpxP0G1dIo/DxC+kp0r4niqRdP6OOBxHdsDFtpc1Gg7sang7x5x7VEhKmL6rG31v1xRfLXVBBDwbUev8RJLU3Wj9F7hpV06LFQvSkOFPLXCvi5gufkW5VD5CFQP3Obxdvn5Q/Y/jNTI6vlmmGAgk94V1g=="

const katSharePlain = `{"openGId":"tGWxlTestGroup0000000000001","watermark":{"timestamp":1763683200,"appid":"wx5e1a0c9b3f7d2a64"}}`

// printf '%s' '<katSharePlain>' | openssl enc -aes-128-cbc -K 0f4c3e2981849d65616545545158fbfe -iv e15127bb608c21251536d547bb4ee168 | base64 -w0
const katShareData = "xMd9V7pSFXEWaXjbeYMRczGtHSlibZueEyZzxaMlyNPR5S1GFLHSu1L+H4RBpgEmVcj+BRTx8bMAU330Rzn/2SGYiiDGrnnaeqhSpVg9yuMchl6obLc4kqw+VJHdWv/deKV0oRSXCbrtp5T3ysiWvg=="

// A plaintext of exactly one block gets a whole block of padding.
// printf '%s' '0123456789abcdef' | openssl enc -aes-128-cbc -K 661549fd8b82409c8fe5983db9b2ff6f -iv 52fd82a67bd63b368e2dad3ac183bcab | base64 -w0
const katFullBlockData = "RsXqSnWQAeRXeypxu5a4fWj980pBlGrcWL9LD49Il5c="

// Ciphertexts whose plaintext ends in padding that PKCS#7 forbids, made
// with -nopad so that OpenSSL encrypts the bytes as given.
const (
	// printf '0123456789abcde\x00' | openssl enc -aes-128-cbc -nopad -K 661549fd8b82409c8fe5983db9b2ff6f -iv 52fd82a67bd63b368e2dad3ac183bcab | base64 -w0
	katPadZero = "pwN6C4BqD/qfnMpPzybTRQ=="
	// printf '0123456789abcde\x11' | openssl enc -aes-128-cbc -nopad -K 661549fd8b82409c8fe5983db9b2ff6f -iv 52fd82a67bd63b368e2dad3ac183bcab | base64 -w0
	katPad17 = "m6KFYq9bOyrVuPT39v4qPg=="
	// printf '0123456789abcde\xff' | openssl enc -aes-128-cbc -nopad -K 661549fd8b82409c8fe5983db9b2ff6f -iv 52fd82a67bd63b368e2dad3ac183bcab | base64 -w0
	katPad255 = "Kqz/PbLaqolxR/XLvPopGQ=="
	// Last byte says 3, but the third-last byte is 1.
	// printf '0123456789abc\x01\x03\x03' | openssl enc -aes-128-cbc -nopad -K 661549fd8b82409c8fe5983db9b2ff6f -iv 52fd82a67bd63b368e2dad3ac183bcab | base64 -w0
	katPadInconsistent = "DKpR6zaU011lwX+H6LJNsw=="
	// Fifteen 0x10 bytes followed by 0x0f: a whole-block padding off by one.
	// printf '0123456789abcdef\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x10\x0f' | openssl enc -aes-128-cbc -nopad -K 661549fd8b82409c8fe5983db9b2ff6f -iv 52fd82a67bd63b368e2dad3ac183bcab | base64 -w0
	katPadFullBlockWrong = "RsXqSnWQAeRXeypxu5a4fVKf1aFogJ+UYYnnuHEdWYM="
	// Valid padding (3 × 0x03) around a plaintext that is not JSON.
	// printf '0123456789abcdef0123456789abc\x03\x03\x03' | openssl enc -aes-128-cbc -nopad -K 661549fd8b82409c8fe5983db9b2ff6f -iv 52fd82a67bd63b368e2dad3ac183bcab | base64 -w0
	katValidPadNotJSON = "RsXqSnWQAeRXeypxu5a4fTMz+KhoJQB1GCUjVd9nPAk="
)

// The rawData of a user info signature, and the sha1 signature over
// rawData followed by the session_key's base64 text:
// printf '%s' '<katRawData>ZhVJ/YuCQJyP5Zg9ubL/bw==' | openssl dgst -sha1
const (
	katRawData   = `{"nickName":"小明","gender":0,"language":"zh_CN","city":"","province":"","country":"","avatarUrl":"https://thirdwx.qlogo.cn/mmopen/vi_32/test/132"}`
	katSignature = "779d367990a074c5aa14ff8a407cbed8e21cb7c2"
)

const (
	// The login-state signature of checksession's GET (empty message), keyed
	// with the session_key's base64 text:
	// printf '' | openssl dgst -sha256 -hmac 'ZhVJ/YuCQJyP5Zg9ubL/bw=='
	katHMACEmpty = "f4dcc1a566177815e01b1a6ebaddb94ed971280187b385b41d27221a02d0716a"
	// printf '%s' 'hello' | openssl dgst -sha256 -hmac 'ZhVJ/YuCQJyP5Zg9ubL/bw=='
	katHMACHello = "75e2502fd87c1f00c8a8f79747511749b2fc57b562174b97bacb3c4b9cb0fee4"
	// The WRONG form, keyed with the decoded 16 bytes (what two SDKs shipped;
	// WeChat answers 87009 to it):
	// printf '' | openssl dgst -sha256 -mac HMAC -macopt hexkey:661549fd8b82409c8fe5983db9b2ff6f
	katHMACDecodedKeyForm = "d55c5afff75e14cd0bc1daf764ba97d8d647a9addf139fed59f320e1df857994"
)

// katVectors are the valid encryptions, shared by the decrypt, encrypt and
// fuzz seed tests.
var katVectors = []struct {
	name          string
	key, iv, data string
	plain         string
}{
	{"user info", katKey1, katIV1, katUserInfoData, katUserInfoPlain},
	{"phone", katKey2, katIV2, katPhoneData, katPhonePlain},
	{"werun", katKey1, katIV1, katWeRunData, katWeRunPlain},
	{"share", katKey2, katIV2, katShareData, katSharePlain},
	{"full block of padding", katKey1, katIV1, katFullBlockData, "0123456789abcdef"},
	{"valid padding, not JSON", katKey1, katIV1, katValidPadNotJSON, "0123456789abcdef0123456789abc"},
}

func TestDecryptKnownAnswers(t *testing.T) {
	t.Parallel()
	for _, v := range katVectors {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			plain, reason, err := wxcrypt.Decrypt(v.key, v.data, v.iv)
			if err != nil {
				t.Fatalf("Decrypt: %v (%s)", err, reason)
			}
			if diff := cmp.Diff(v.plain, string(plain)); diff != "" {
				t.Errorf("plaintext (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncryptKnownAnswers(t *testing.T) {
	t.Parallel()
	for _, v := range katVectors {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			got, err := wxcrypt.Encrypt(v.key, v.iv, []byte(v.plain))
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			if got != v.data {
				t.Errorf("Encrypt = %q, OpenSSL made %q", got, v.data)
			}
		})
	}
}

func TestDecryptRejectsOpenSSLBadPadding(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, data string }{
		{"pad byte 0", katPadZero},
		{"pad byte 17", katPad17},
		{"pad byte 255", katPad255},
		{"inconsistent pad bytes", katPadInconsistent},
		{"whole-block padding off by one", katPadFullBlockWrong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plain, reason, err := wxcrypt.Decrypt(katKey1, tc.data, katIV1)
			if err != wxcrypt.ErrInvalid || reason != wxcrypt.ReasonPadding || plain != nil {
				t.Errorf("Decrypt = %q, %q, %v; want nil, %q, ErrInvalid", plain, reason, err, wxcrypt.ReasonPadding)
			}
		})
	}
}

func TestSignatureKnownAnswer(t *testing.T) {
	t.Parallel()
	if got := wxcrypt.Signature(katRawData, katKey1); got != katSignature {
		t.Errorf("Signature = %s, OpenSSL made %s", got, katSignature)
	}
}

func TestLoginStateSignatureKnownAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, message, want string }{
		{"empty message (GET)", "", katHMACEmpty},
		{"hello", "hello", katHMACHello},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := wxcrypt.LoginStateSignature(katKey1, tc.message); got != tc.want {
				t.Errorf("LoginStateSignature = %s, OpenSSL made %s", got, tc.want)
			}
		})
	}
}

// TestLoginStateSignatureKeyForm pins the key form: the base64 text, not the
// decoded bytes. katHMACDecodedKeyForm is what the decoded-bytes form gives.
func TestLoginStateSignatureKeyForm(t *testing.T) {
	t.Parallel()
	// First prove the vector really is the decoded-bytes form, so that the
	// checks below compare against the mistake and not against noise.
	decoded, err := hex.DecodeString(katKey1Hex)
	if err != nil {
		t.Fatal(err)
	}
	if b64 := base64.StdEncoding.EncodeToString(decoded); b64 != katKey1 {
		t.Fatalf("katKey1Hex encodes to %s, not katKey1", b64)
	}
	wrong := hmac.New(sha256.New, decoded)
	if got := hex.EncodeToString(wrong.Sum(nil)); got != katHMACDecodedKeyForm {
		t.Fatalf("HMAC keyed with decoded bytes = %s, OpenSSL made %s", got, katHMACDecodedKeyForm)
	}
	if got := wxcrypt.LoginStateSignature(katKey1, ""); got == katHMACDecodedKeyForm {
		t.Errorf("LoginStateSignature keyed with the decoded session_key bytes (%s of key %s); WeChat keys it with the base64 text", got, katKey1Hex)
	}
	if wxcrypt.VerifyLoginStateSignature(katKey1, "", katHMACDecodedKeyForm) {
		t.Error("VerifyLoginStateSignature accepted a signature keyed with the decoded session_key bytes")
	}
}
