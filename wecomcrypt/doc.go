// Package wecomcrypt implements the message crypto of WeCom's (企业微信)
// callbacks, which a third-party (suite) app's 指令回调 URL receives: the
// msg_signature over (token, timestamp, nonce, Encrypt) and the Encrypt
// field itself, AES-256-CBC under the EncodingAESKey with a random prefix,
// the message's length and the receiver's id (the suite id) inside.
//
// Open checks in this order: the signature (in constant time), then the
// ciphertext's form, the padding, the length field and the receiver id.
// Every failure after a good signature is the one value ErrInvalid: only
// WeCom, which knows the token, can produce a valid signature, so nothing
// after it can serve a forger as an oracle, and nobody is told more than
// "not a message of ours". Seal exists for the emulator, which must send
// messages exactly as WeCom does.
//
// All functions are pure; the randomness of Seal is passed in.
package wecomcrypt
