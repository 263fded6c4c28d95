package rediscoord_test

import (
	"testing"

	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/auth/coordtest"
	"github.com/wxlogin/wxlogin/coord/rediscoord"
	"github.com/wxlogin/wxlogin/coord/rediscoord/redistest"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/wechat"
	"github.com/wxlogin/wxlogin/wechat/tokencachetest"
)

// newKeys returns a fresh keyring.
func newKeys(t testing.TB) *keyring.Keyring {
	t.Helper()
	k, err := keyring.New(keyring.Generate("k1"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newClient connects to url with prefix; closed when the test ends.
func newClient(t testing.TB, url, prefix string, keys *keyring.Keyring, o rediscoord.Options) *rediscoord.Client {
	t.Helper()
	o.Prefix, o.Keys = prefix, keys
	c, err := rediscoord.New(url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Every suite runs on the shared test Redis; the Clients of one suite share
// a prefix, as the instances of one deployment do.

func TestRevocationsConformance(t *testing.T) {
	t.Parallel()
	url, prefix, keys := redistest.URL(t), redistest.Prefix(), newKeys(t)
	coordtest.RunRevocationsTests(t, func(t *testing.T) auth.Revocations {
		return newClient(t, url, prefix, keys, rediscoord.Options{}).Revocations()
	})
}

func TestRateLimiterConformance(t *testing.T) {
	t.Parallel()
	c := newClient(t, redistest.URL(t), redistest.Prefix(), newKeys(t), rediscoord.Options{})
	coordtest.RunRateLimiterTests(t, func(*testing.T) auth.RateLimiter { return c.RateLimiter() })
}

func TestUnfinishedRegistrationsConformance(t *testing.T) {
	t.Parallel()
	c := newClient(t, redistest.URL(t), redistest.Prefix(), newKeys(t), rediscoord.Options{})
	coordtest.RunUnfinishedRegistrationsTests(t, func(*testing.T) auth.UnfinishedRegistrations { return c.UnfinishedRegistrations() })
}

func TestCodeExchangesConformance(t *testing.T) {
	t.Parallel()
	url, prefix, keys := redistest.URL(t), redistest.Prefix(), newKeys(t)
	// Each test gets a record of another Client of the same deployment:
	// what one instance claims, the others see.
	coordtest.RunCodeExchangesTests(t, func(t *testing.T) auth.CodeExchanges {
		return newClient(t, url, prefix, keys, rediscoord.Options{}).CodeExchanges()
	})
}

func TestTokenCacheConformance(t *testing.T) {
	t.Parallel()
	url, keys := redistest.URL(t), newKeys(t)
	tokencachetest.Run(t, func(t *testing.T) wechat.TokenCache {
		return newClient(t, url, redistest.Prefix(), keys, rediscoord.Options{}).TokenCache()
	})
}
