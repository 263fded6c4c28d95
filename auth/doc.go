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
// other servers see 40163 ("code been used"). Here requests of one client
// (the same address and User-Agent) with a code whose exchange is in flight
// share it, and for CodeReuseWindow (10 s) after it succeeded they reuse
// its answer; each still gets its own session and token. A failed exchange
// is forgotten (WeChat may have been busy; the code may still be good); a
// code past its window is refused as invalid_code without asking WeChat.
//
// The threat the sharing opens is replay: whoever sees a used code (in a
// proxy's access log, a captured request, over a shoulder) could trade it
// for a session of its user while the window is open. So an exchange is
// never shared with another client, in flight or after, and the window is
// short: double taps and retries follow within a second or two. The record
// of an exchange keeps the code and the client only as hashes and the
// session_key sealed with the keyring, so it can live in a shared store.
//
// # Events for webhooks
//
// With Config.Webhooks set, a registration, a unionid that merges two
// accounts (account.go), an erasure, a revocation (a logout, one session,
// all of them) and a phone number bound each hand the store the event's
// deliveries together with the change (wxlogin.OutboxStore), and the store
// writes them only when the change happened: a returning user's login that
// changes nothing, a revocation with nothing to revoke or a retried
// erasure writes none. The event is therefore part of the
// change's transaction; the sender (package webhook) picks it up after
// the commit. Without webhooks the plain store methods are called, as
// before.
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
// Erasure needs no store-side cascade, so users and sessions may live in
// different stores: auth deletes the user first, then the user's sessions,
// and a login checks that its user still exists after storing its session.
// A login whose check comes after the user's deletion deletes its own
// session and fails with invalid_code (the token was never handed out); a
// login whose check came before stored its session before the deletion of
// the user, hence before the deletion of the sessions, which takes it. So
// no session of an erased user survives. (A store keeping both refuses a
// session of a missing user as well, which only makes the check redundant.)
//
// Many instances: each instance caches on its own, so a revocation must
// reach them all. Config.Revocations is told of every revocation before the
// revoking call returns (a Redis pub/sub channel, say), and New subscribes
// to it: each revocation heard goes to the same cache drop, which is exactly
// what a local revocation does to the local cache, generation bump
// included. A subscription can be lost, and what was published meanwhile
// cannot be known; the bus reports it, and until it reports the
// subscription live (at first, and again after a loss) the Service empties
// its cache and verifies every token against the store. Two backstops bound
// the damage of a message lost all the same: a cached entry that looks
// expired is rechecked in the store rather than trusted, and the throttled
// touch doubles as a recheck — a touch of a session that is gone from the
// store fails the Verify and drops the entry — so no instance accepts a
// revoked token for longer than TouchInterval. LocalRevocations is the
// in-process bus; auth/coordtest is the suite every bus passes.
// JoinRevocations makes one bus of several (Redis pub/sub and a log in the
// store of record): a revocation is published on each, so it travels as
// long as one of them works for the revoker and for the listener.
//
// # Sessions that live as long as WeChat's session_key
//
// Under an app's PolicyWeChat (keycheck.go) a goroutine asks WeChat's
// checksession about the session_keys of recently verified sessions, off
// the verification path: it walks the packed verification cache's slots
// (keyScan, the read lock held for 1,024 slots at a time, so a revocation
// never waits for the whole walk), names the due sessions by slot and
// generation (a session removed meanwhile is told by its slot's changed
// generation, with no flag or object per session), takes each app's budget and a per-session claim
// from the RateLimiter, and ends a session on 87009 only when no other key
// the server holds for the user is valid and the session's key did not
// change while WeChat was asked. See SessionPolicy.
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
