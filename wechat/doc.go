// Package wechat is wxlogin's client of WeChat's server APIs for mini
// programs: code2Session, the two access-token endpoints, checkSessionKey,
// resetUserSessionKey, getPhoneNumber and getPaidUnionId.
//
// A Client's zero value talks to https://api.weixin.qq.com; tests and dev
// mode point BaseURL at the emulator. Failures come back typed: *Error for an
// errcode WeChat answered, *UnavailableError when WeChat could not be reached
// or gave no usable answer, *InvalidAnswerError for a success WeChat cannot
// have sent (a session_key that is not base64 of 16 bytes; an openid or
// unionid that is empty where required, over 128 bytes, or holds a control
// character). Classify turns each into a Kind the server acts
// on, so no caller has to know errcodes; Temporary and RetryAfter tell
// whether, and when, the same request may succeed later.
//
// Retries are few and deliberate, because most WeChat calls spend something
// that cannot be spent twice (a one-time code, a token issuance):
//   - busy (-1) is retried up to MaxBusyRetries times with jittered
//     exponential backoff, and only while the context's deadline leaves room
//     for the wait. This assumes, as WeChat's documentation implies, that a
//     busy answer spent nothing; if it did spend a code, the retry answers
//     40163 and the client logs in again, which is where it would be anyway;
//   - a transport error, timeout, HTTP 5xx or unreadable body is retried once,
//     and only on calls that are safe to repeat (stable_token without
//     force_refresh, checksession, getpaidunionid). code2session and
//     getuserphonenumber spend a one-time code that WeChat may already have
//     consumed, resetusersessionkey rotates a key and cgi-bin/token replaces
//     the app's token: repeating those could turn one failure into another;
//   - quota, code, configuration and signature errors are never retried;
//   - an access-token error (40001, 40014, 42001) drops the cached token, only
//     if it is still the token that failed, fetches a new one and repeats the
//     call once.
//
// Access tokens are cached per appid behind TokenCache, in memory by default;
// a cache shared by many instances keeps them from overwriting each other's
// tokens. AccessToken uses stable_token unless UseClassicToken is set, renews
// a token RefreshBefore its expiry, and lets the concurrent callers of one
// process share one fetch. A shared cache that is also a FetchLocker makes
// that one fetch for every process: the first to miss takes the cache's
// fetch lock, the others wait (up to 5 s) for its token to appear in the
// cache, and a token stored meanwhile by a slower fetch never replaces a
// newer one (put-if-newer).
//
// An Observer, when set, is told of every attempt of a call (its API, a
// bounded errcode label from ErrCodeLabel, whether it is retried) and every
// access-token fetch, for metrics; the package itself imports no metrics
// library.
//
// The app secret, codes, session keys, signatures and access tokens never
// reach a log line or the text of a returned error: URLs in transport errors
// lose their query, and WeChat's errmsg is scrubbed of the call's secrets.
package wechat
