// Package keyring seals secrets at rest, such as users' session_keys, with
// AES-256-GCM under a master key. Every sealed value names the key that
// sealed it, so the master key can be rotated: add a new primary key, keep
// the old ones for opening, and re-seal (wxlogin admin rotate-key).
//
// Errors never carry key material: not the secret bytes, and not a key id
// that fails validation, since a malformed id is usually a key pasted into
// the wrong place.
package keyring
