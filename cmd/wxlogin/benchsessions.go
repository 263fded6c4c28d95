package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/loadgen"
)

// The verify-sessions workloads' servers: two wxlogins that bench starts
// beside the one of the other workloads, one holding --sessions sessions
// and one --baseline-sessions, loaded straight into their SQLite stores
// (logging a million users in through the emulator would take hours) and
// each session verified once, so that both caches hold all of them.

// benchTouchInterval is the two servers' sessions.touch_interval: longer
// than any run, so that no measured request writes a touch. A touch is a
// store write once a minute per session in use; with a million sessions
// in use it would be most requests' cost, and the comparison is of the
// verification cache.
const benchTouchInterval = 24 * time.Hour

// sessionsPerUser is how many of the imported sessions share a user, as in
// auth's in-process benchmark of the cache.
const sessionsPerUser = 10

// importBatch is how many sessions one store transaction imports (a
// multiple of sessionsPerUser): a million sessions' structs at once would
// be a gigabyte of garbage.
const importBatch = 100_000

// sessionStacks is the two servers and the tokens of their sessions,
// which exist only here, in the bench's memory.
type sessionStacks struct {
	many, few *benchStack
	sessions  loadgen.Sessions
	setup     loadgen.SessionsSetup
	// The caches' counts once warmed, from which the measurement's are told.
	manyWarm, fewWarm auth.CacheStats
}

// startSessionStacks starts the two servers, imports n and m sessions
// into them and verifies each once.
func startSessionStacks(ctx context.Context, n, m int, progress io.Writer, getenv func(string) string) (*sessionStacks, error) {
	s := &sessionStacks{setup: loadgen.SessionsSetup{Sessions: n, BaselineSessions: m, TouchIntervalSeconds: benchTouchInterval.Seconds()}}
	touch := func(c *config) { c.Sessions.TouchInterval = duration(benchTouchInterval) }
	// Each server is started under a profiler label, which the goroutines
	// it starts (its connections' among them) inherit: a --cpuprofile then
	// tells the two servers apart (go tool pprof -tagfocus
	// verify_sessions=many).
	var err error
	pprof.Do(ctx, pprof.Labels("verify_sessions", "many"), func(ctx context.Context) {
		s.many, err = startBenchStack(ctx, "", getenv, touch)
	})
	if err != nil {
		return nil, err
	}
	pprof.Do(ctx, pprof.Labels("verify_sessions", "few"), func(ctx context.Context) {
		s.few, err = startBenchStack(ctx, "", getenv, touch)
	})
	if err != nil {
		s.many.Close()
		return nil, err
	}
	fmt.Fprintf(progress, "bench: verify-sessions: wxlogin at %s for %d sessions, at %s for %d\n", s.many.api.APIURL, n, s.few.api.APIURL, m)
	start := time.Now()
	if s.sessions.Tokens, err = importSessions(ctx, s.many, n, progress); err == nil {
		s.sessions.BaselineTokens, err = importSessions(ctx, s.few, m, progress)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	s.setup.ImportSeconds = time.Since(start).Seconds()
	start = time.Now()
	if s.manyWarm, err = warmCache(ctx, s.many, s.sessions.Tokens, progress); err == nil {
		s.fewWarm, err = warmCache(ctx, s.few, s.sessions.BaselineTokens, progress)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	s.setup.WarmSeconds = time.Since(start).Seconds()
	s.setup.WarmMisses, s.setup.BaselineWarmMisses = s.manyWarm.Misses, s.fewWarm.Misses
	s.sessions.APIURL, s.sessions.BaselineAPIURL = s.many.api.APIURL, s.few.api.APIURL
	return s, nil
}

// measured returns the setup with the caches' hits and misses since they
// were warmed.
func (s *sessionStacks) measured() *loadgen.SessionsSetup {
	st := s.setup
	many, few := s.many.api.Service.CacheStats(), s.few.api.Service.CacheStats()
	st.RunHits, st.RunMisses = many.Hits-s.manyWarm.Hits, many.Misses-s.manyWarm.Misses
	st.BaselineRunHits, st.BaselineRunMisses = few.Hits-s.fewWarm.Hits, few.Misses-s.fewWarm.Misses
	return &st
}

func (s *sessionStacks) Close() {
	s.many.Close()
	s.few.Close()
}

// sessionImporter is what the bench's SQLite store offers for loading
// sessions in bulk, token hashes as they are.
type sessionImporter interface {
	Import(ctx context.Context, users []wxlogin.User, sessions []wxlogin.Session) error
}

// importSessions stores n sessions of the dev app in stack's store,
// sessionsPerUser to a user, and returns their tokens.
func importSessions(ctx context.Context, stack *benchStack, n int, progress io.Writer) ([]string, error) {
	imp, ok := stack.api.stores.Users.(sessionImporter)
	if !ok {
		return nil, errors.New("verify-sessions: the store cannot import sessions")
	}
	app := emulator.DevApps()[0].AppID
	now := time.Now()
	idle, expires := now.Add(auth.DefaultIdleTimeout), now.Add(auth.DefaultAbsoluteLifetime)
	// Verification never opens a session's key; a placeholder of a sealed
	// key's length keeps the rows the size of real ones.
	sealed := make([]byte, 61)
	tokens := make([]string, 0, n)
	start := time.Now()
	for done := 0; done < n; {
		size := min(importBatch, n-done)
		users := make([]wxlogin.User, 0, size/sessionsPerUser+1)
		sessions := make([]wxlogin.Session, size)
		var u wxlogin.User
		for i := range sessions {
			// importBatch is a multiple of sessionsPerUser: a user's
			// sessions are never split between two transactions.
			if i%sessionsPerUser == 0 {
				u = wxlogin.User{ID: auth.NewUserID(), AppID: app, OpenID: benchOpenID(), CreatedAt: now, UpdatedAt: now}
				u.UnionID = benchOpenID()
				users = append(users, u)
			}
			tok, hash, id := auth.NewImportedSession()
			tokens = append(tokens, tok.Reveal())
			sessions[i] = wxlogin.Session{
				ID: id, TokenHash: hash, UserID: u.ID, AppID: app, OpenID: u.OpenID, UnionID: u.UnionID,
				SealedSessionKey: sealed, CreatedAt: now, LastSeenAt: now, IdleExpiresAt: idle, ExpiresAt: expires,
				UserAgent: "wxlogin-bench", IP: "127.0.0.1",
			}
		}
		if err := imp.Import(ctx, users, sessions); err != nil {
			return nil, fmt.Errorf("verify-sessions: importing sessions: %v", err)
		}
		done += size
		fmt.Fprintf(progress, "bench: imported %d/%d sessions into the wxlogin at %s (%.1fs)\n", done, n, stack.api.APIURL, time.Since(start).Seconds())
	}
	return tokens, nil
}

// warmCache verifies each token once at stack's service, from as many
// goroutines as there are CPUs, and returns the cache's counts after it.
// In process rather than over HTTP: the cache is the same one GET /v1/auth
// reads, and a million requests through the loopback would only take
// longer.
func warmCache(ctx context.Context, stack *benchStack, tokens []string, progress io.Writer) (auth.CacheStats, error) {
	svc := stack.api.Service
	var (
		next, done atomic.Int64
		failed     atomic.Bool
		wg         sync.WaitGroup
		errOnce    sync.Once
		firstErr   error
		start      = time.Now()
	)
	line := func() {
		fmt.Fprintf(progress, "bench: verified %d/%d sessions of the wxlogin at %s (%.1fs)\n", done.Load(), len(tokens), stack.api.APIURL, time.Since(start).Seconds())
	}
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				line()
			case <-stop:
				return
			}
		}
	}()
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(tokens) || ctx.Err() != nil || failed.Load() {
					return
				}
				if _, err := svc.Verify(ctx, tokens[i]); err != nil {
					// The code only: say no more of the token's fate
					// than needed.
					errOnce.Do(func() {
						firstErr = fmt.Errorf("verify-sessions: an imported session does not verify: %s", wxlogin.ErrorCode(err))
					})
					failed.Store(true)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-ticked
	line()
	if firstErr != nil {
		return auth.CacheStats{}, firstErr
	}
	return svc.CacheStats(), ctx.Err()
}

// benchOpenID returns a made-up openid (or unionid) of WeChat's length,
// 28 characters, so that cached sessions are the size of real ones.
func benchOpenID() string {
	var raw [20]byte
	rand.Read(raw[:])
	return "o" + base64.RawURLEncoding.EncodeToString(raw[:])[:27]
}
