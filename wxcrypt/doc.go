// Package wxcrypt implements WeChat's open-data crypto for mini programs:
// decrypting encryptedData (AES-128-CBC, PKCS#7) and checking its watermark,
// the sha1(rawData + session_key) signature of user info, and the
// hmac_sha256 login-state signature of checksession / resetusersessionkey.
// Encrypt exists for the emulator, which must produce payloads exactly as
// WeChat does.
//
// Every decrypt failure returns the one value ErrInvalid, whatever its cause,
// so that no API built on this package can become a padding oracle. The
// precise reason comes back separately, for server logs only. Opener.Open
// also evens out the time of a bad padding and of bad JSON; Decrypt alone
// does not, so servers open payloads with Open.
//
// The checks are strict where laxness would let a forged or misrouted payload
// through: padding must be canonical PKCS#7 (one encoding per plaintext), the
// watermark appid must be present and equal the app's, and with a MaxAge the
// timestamp must be present and within it. They are lenient only where
// transport is known to mangle data harmlessly: a space is read as the '+' a
// form decoder made of it.
//
// All functions are pure; the clock of the watermark check is injected.
package wxcrypt
