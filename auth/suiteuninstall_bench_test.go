package auth_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

// BenchmarkCorpUninstall measures ending the sessions of a corp of 500
// members (one session each) in a suite app on SQLite: as a cancel_auth
// does (pages of the corp's session holders, each member's sessions
// deleted and announced), beside the baseline of an operator ending the
// same members' sessions one by one with AdminRevokeUserSessions. The
// members are registered again, untimed, before each round.
//
//	go test -run '^$' -bench CorpUninstall -count 5 ./auth/
func BenchmarkCorpUninstall(b *testing.B) {
	const members = 500
	e := newEnv(b, withSuite)
	ctx := context.Background()
	corp := "wwbenchcorp0000001"
	seed := func() []string {
		b.Helper()
		ids := make([]string, members)
		now := time.Now().UTC().Truncate(time.Microsecond)
		for i := range ids {
			u := wxlogin.User{ID: fmt.Sprintf("usr_bench%06d", i), AppID: suiteApp, OpenID: wxlogin.WeComKey(corp, fmt.Sprintf("m%06d", i)),
				CreatedAt: now, UpdatedAt: now}
			var h wxlogin.TokenHash
			rand.Read(h[:])
			s := wxlogin.Session{ID: fmt.Sprintf("ses_bench%06d_%d", i, time.Now().UnixNano()), TokenHash: h, AppID: suiteApp,
				CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
			got, _, err := e.db.EnsureUserWithSession(ctx, u, s)
			if err != nil {
				b.Fatal(err)
			}
			ids[i] = got.ID
		}
		return ids
	}
	b.Run("cancel_auth", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			seed()
			b.StartTimer()
			auth.RevokeCorp(e.svc, ctx, suiteApp, corp)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*members), "ns/member")
	})
	b.Run("admin-one-by-one", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			ids := seed()
			b.StartTimer()
			for _, id := range ids {
				if err := e.svc.AdminRevokeUserSessions(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*members), "ns/member")
	})
}
