// Package tokencachetest is the conformance suite of wechat.TokenCache:
// every implementation (in memory, Redis, ...) runs the same tests, so the
// client can rely on the same behaviour from each, above all the
// compare-and-delete that keeps a fleet from dropping a good token.
package tokencachetest
