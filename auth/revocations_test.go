package auth_test

import (
	"testing"

	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/auth/coordtest"
)

func TestLocalRevocations(t *testing.T) {
	t.Parallel()
	// One bus for the whole run: the suite's tests share it, as they would
	// share one Redis.
	bus := &auth.LocalRevocations{}
	coordtest.RunRevocationsTests(t, func(*testing.T) auth.Revocations { return bus })
}
