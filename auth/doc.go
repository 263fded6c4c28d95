// Package auth implements wxlogin's use cases: trading a wx.login code for a
// session (Login), checking a login token (Verify), logging out and revoking
// sessions, the user's data (user info, phone number, WeRun and share info,
// the filled-in nickname and avatar), erasure, and the admin operations.
// It talks to WeChat through the WeChat interface (*wechat.Client), to
// storage through the root package's store interfaces, and takes its clock
// from Config.Now, so tests move time instead of sleeping.
//
// # Secrets
//
// A login token is "wxl_" followed by 32 random bytes in base64url; the
// prefix is there for secret scanners. It exists in clear only in
// LoginResult.Token: stores keep its SHA-256 (wxlogin.TokenHash). Tokens are
// parsed strictly (prefix, length, alphabet, canonical last character)
// before they are hashed. A session_key from WeChat is sealed with the
// keyring before it is stored and opened only to verify or decrypt; session
// keys, tokens, codes and app secrets never reach a log line or an error's
// text.
//
// # Codes are exchanged at most once
//
// Double taps, client retries and concurrent requests with one code are why
// other servers see 40163 ("code been used"). Here requests with a code
// whose exchange is in flight share it, and for CodeReuseWindow (60 s)
// after it succeeded they reuse its answer; each still gets its own session
// and token. A failed exchange is forgotten (WeChat may have been busy; the
// code may still be good); a code past its window is refused as
// invalid_code without asking WeChat.
//
// # Verification and revocation
//
// Verify is the hot path: behind a forward-auth endpoint it runs on every
// request. A verified session is cached in memory by token hash
// (verifyCache), so a repeated token costs a hash and a map lookup — no
// store round trip, no write, no allocation. Sliding renewal writes to the
// store only when the last write is TouchInterval old (one writer per
// session, chosen by compare-and-swap); the principal's ExpiresAt is the
// earlier of the absolute deadline and the idle deadline the store holds
// (the last touch written + IdleTimeout), so a client is never promised a
// moment at which its token would already be refused.
//
// A revoked token must fail at once, so every path that ends sessions
// (Logout, RevokeSession, RevokeAllSessions, the admin revocations, erasure
// and ExpireSession) deletes from the store first and then drops the cache
// entries by session or by user. Dropping bumps a generation counter; a
// Verify that missed notes the generation before reading the store and
// caches what it read only if the generation is unchanged. Without that, a
// Verify that read a session just before a Logout deleted it could put it
// back into the cache after the Logout had cleared it, and the logged-out
// token would live on.
//
// Erasure relies on the store: a store that keeps users and sessions
// refuses a session of a missing user and deletes a user's sessions with
// the user, atomically (the storetest contract). So a login that found the
// user just before an erasure either stored its session before the
// deletion (and it goes with the user) or fails with invalid_code, and no
// session of an erased user survives. A session store apart from the user
// store could not promise this; auth would then have to close the race
// itself.
//
// Many instances: each instance caches on its own, so a revocation must
// reach them all. Config.Revocations is told of every revocation before the
// revoking call returns (a Redis pub/sub channel, say), and each instance
// that receives one calls Service.Forget, which is exactly what a local
// revocation does to the local cache, generation bump included. Two
// backstops bound the damage of a lost message: a cached entry that looks
// expired is rechecked in the store rather than trusted, and the throttled
// touch doubles as a recheck — a touch of a session that is gone from the
// store fails the Verify and drops the entry — so no instance accepts a
// revoked token for longer than TouchInterval.
//
// # Errors
//
// Every error carries a wxlogin code. WeChat's errors map as follows: an
// invalid or used code → invalid_code; 40226 → code_blocked; busy (-1),
// quota (45011/45009) and unavailable (transport, 5xx, broken body) →
// upstream_unavailable with RetryAfter; a rejected appid or secret
// (40013/40125) → upstream_rejected, logged at ERROR with the appid;
// anything else WeChat answers → upstream_unavailable, logged at WARN with
// its errcode, since only WeChat's side can change it. Every decrypt
// failure is the same invalid_encrypted_data error with the same message,
// so the server is no padding oracle; the reason is logged at INFO and
// counted by Config.Metrics under a short label (base64, padding, json,
// appid, identity, ...), for operators only. The
// per-session decrypt limit (1/s, burst 10) also bounds how many guesses a
// client gets against one session_key, which keeps even a timing side
// channel (a ciphertext with valid padding is parsed as JSON, one without
// is not) far too slow to exploit. A store
// that cannot be reached is store_unavailable, never a success.
//
// Config.Metrics, when set, also hears of every finished login (ok or its
// error code; created or returning) and every store failure (by the code
// storeErr gives it). Verification cache hits and misses are two atomic
// counters read with CacheStats, so a hit pays no interface call.
//
// Decoding an avatar costs tens of MiB and most of a core for a moment, so
// uploads are limited per user (Limits.AvatarPerUser; refused attempts
// count too) and at most max(2, GOMAXPROCS) are decoded at once; an upload
// beyond either is rate_limited with a RetryAfter rather than queued with
// its image in memory.
package auth
