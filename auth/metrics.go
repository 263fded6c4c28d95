package auth

import (
	"sync/atomic"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

// Metrics is told of the service's outcomes, for monitoring. Its methods
// are called on the request's goroutine and must be quick and safe for
// concurrent use. Every argument comes from a small fixed set, so it can
// serve as a metric label; none is secret. Verification cache hits and
// misses are not reported here, to keep a hit free of an interface call:
// read them with Service.CacheStats.
type Metrics interface {
	// Login reports a finished login: result is "ok" or the wxlogin error
	// code it failed with; created reports whether it registered the user.
	Login(result string, created bool)
	// StoreError reports a store failure by the wxlogin error code the
	// service turned it into (not_found, store_unavailable, ...).
	StoreError(code string)
	// DecryptFailure reports encrypted data that did not open, by reason
	// (see decryptReasonLabel). The reason is never told to the client.
	DecryptFailure(reason string)
}

type noMetrics struct{}

func (noMetrics) Login(string, bool)    {}
func (noMetrics) StoreError(string)     {}
func (noMetrics) DecryptFailure(string) {}

// CacheStats counts Verify's lookups of its cache since the service started.
type CacheStats struct {
	Hits   uint64 // answered from memory (the store may still be written by a touch)
	Misses uint64 // read from the store
}

// cacheCounters are plain atomic counters: a hit pays one atomic add, and
// the metrics are read from them at scrape time.
type cacheCounters struct {
	hits, misses atomic.Uint64
}

// CacheStats returns the verification cache's hit and miss counts.
func (s *Service) CacheStats() CacheStats {
	return CacheStats{Hits: s.cacheCount.hits.Load(), Misses: s.cacheCount.misses.Load()}
}

// storeFailed is storeErr that also counts the failure by its code.
func (s *Service) storeFailed(err error) error {
	err = storeErr(err)
	s.metrics.StoreError(wxlogin.ErrorCode(err))
	return err
}

// decryptReasonLabel turns a decrypt failure's reason (a sentence, for the
// log) into a short metric label.
func decryptReasonLabel(reason string) string {
	switch reason {
	case wxcrypt.ReasonBase64:
		return "base64"
	case wxcrypt.ReasonKeyLength:
		return "key_length"
	case wxcrypt.ReasonIVLength:
		return "iv_length"
	case wxcrypt.ReasonBlocks:
		return "blocks"
	case wxcrypt.ReasonPadding:
		return "padding"
	case wxcrypt.ReasonJSON:
		return "json"
	case wxcrypt.ReasonAppID:
		return "appid"
	case wxcrypt.ReasonStale:
		return "stale"
	case reasonOpenID, reasonUnionID:
		return "identity"
	}
	return "other"
}
