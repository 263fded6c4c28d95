package auth_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/wxlogin/wxlogin/auth"
)

// BenchmarkVerify measures the hot path. hit: the token is in the verify
// cache (no store round trip, no write); miss: the cache is off, so every
// call reads SQLite. The fake clock stands still, so no touch is written.
//
//	go test -run '^$' -bench Verify -benchmem ./auth/
func BenchmarkVerify(b *testing.B) {
	for _, bc := range []struct {
		name      string
		cacheSize int
	}{
		{"hit", 0},
		{"miss", -1},
	} {
		e := newEnv(b, func(e *env, c *auth.Config) { c.CacheSize = bc.cacheSize })
		ctx := context.Background()
		tok := e.login(ctx, app1, "alice").Token.Reveal()
		if _, err := e.svc.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.svc.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.svc.Verify(ctx, tok); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkLogin measures a whole login: wx.login on the emulator, the
// code2Session call over loopback HTTP, EnsureUser and CreateSession in
// SQLite.
func BenchmarkLogin(b *testing.B) {
	e := newEnv(b, func(e *env, c *auth.Config) {
		c.Limits = auth.Limits{LoginPerIP: auth.Limit{Rate: -1}, LoginPerApp: auth.Limit{Rate: -1}}
	})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		code, err := e.em.Login(app1, "alice")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.svc.Login(ctx, app1, code, auth.Client{IP: "192.0.2.1"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoginWebhooks compares logins with and without a webhook
// subscribed to user.registered, in one run: a returning user's login
// builds the event it will not write (EnsureUser decides inside the
// store), a new user's also writes its delivery in the registration's
// transaction.
//
//	go test -run '^$' -bench LoginWebhooks -benchmem ./auth/
func BenchmarkLoginWebhooks(b *testing.B) {
	for _, hooks := range []bool{false, true} {
		name := "none"
		if hooks {
			name = "webhook"
		}
		e := newEnv(b, func(e *env, c *auth.Config) {
			c.Limits = auth.Limits{LoginPerIP: auth.Limit{Rate: -1}, LoginPerApp: auth.Limit{Rate: -1}}
			if hooks {
				withWebhooks(e, c)
			}
		})
		ctx := context.Background()
		login := func(b *testing.B, user string) {
			code, err := e.em.Login(app1, user)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e.svc.Login(ctx, app1, code, auth.Client{IP: "192.0.2.1"}); err != nil {
				b.Fatal(err)
			}
		}
		b.Run("returning/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				login(b, "alice")
			}
		})
		b.Run("new/"+name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n++
				login(b, fmt.Sprintf("user-%s-%d", name, n))
			}
		})
	}
}
