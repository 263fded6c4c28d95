// Package rediscoord implements auth's coordination interfaces and
// wechat.TokenCache on Redis, so that several wxlogin instances on one
// PostgreSQL behave like one server: revocations reach every instance's
// verification cache over pub/sub (Revocations), token buckets are shared
// (RateLimiter), a code sent to two instances is exchanged once
// (CodeExchanges), a registering login that failed is remembered across
// instances (UnfinishedRegistrations), and the fleet shares one WeChat
// access token per app (TokenCache, whose fetch lock lets one instance
// fetch while the others wait for its token). Each passes the suite its
// in-process counterpart passes (auth/coordtest, wechat/tokencachetest).
//
// Redis coordinates; it is never the authority. Users and sessions of
// record stay in the store, and nothing here is needed to verify a token:
// while the revocation subscription is down auth verifies against the
// store, and every other part falls back to a record of its own process
// (limits and code sharing then hold per instance) until Redis answers
// again. A Client that saw Redis fail (a call, or the subscription's
// heartbeat finding a connection that answers nothing) stops asking it for
// a moment (RetryAfter), so an outage costs one timeout, not one per
// request.
//
// Nothing in Redis is a secret in clear: codes and limiter keys are kept as
// SHA-256 hashes, the session_key of a shared exchange only as auth sealed
// it, and access tokens sealed with the keyring (with a SHA-256 beside
// them for compare-and-delete). Session and user ids, openids and appids
// are identifiers, not credentials, and are kept as they are.
//
// # Why go-redis
//
// The client is github.com/redis/go-redis/v9 rather than rueidis. rueidis'
// strengths are client-side caching and automatic pipelining, and neither
// is on wxlogin's hot path: verification is answered from the instance's
// own memory, and what goes to Redis (a token bucket per login, a claim per
// code, a publish per logout) is a few small scripts per request. go-redis
// gives what this package does need in plain terms: a pub/sub connection it
// reads with a deadline and pings on (the heartbeat that finds a half-open
// connection), Lua scripts run by SHA with a fallback to EVAL, and
// redis:// and rediss:// URLs parsed as Redis documents them.
package rediscoord
