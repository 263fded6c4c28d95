// Package wxcrypt implements WeChat's open-data crypto for mini programs:
// decrypting encryptedData (AES-128-CBC, PKCS#7) and checking its watermark,
// the sha1(rawData + session_key) signature of user info, and the
// hmac_sha256 login-state signature of checksession / resetusersessionkey.
// Encrypt exists for the emulator, which must produce payloads exactly as
// WeChat does.
//
// Every decrypt failure returns the one value ErrInvalid, whatever its cause,
// so that no API built on this package can become a padding oracle. The
// precise reason comes back separately, for server logs only.
//
// All functions are pure; the clock of the watermark check is injected.
package wxcrypt
