package rediscoord_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/coord/rediscoord"
	"github.com/wxlogin/wxlogin/coord/rediscoord/redistest"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/store/sqlitestore"
	"github.com/wxlogin/wxlogin/wechat"
)

const app1 = "wxdec0de0000000001" // an emulator dev app

// deployment is n auth.Services in one process standing for n instances:
// one store, one emulator, one master key, each instance with its own
// Redis client (same URL and prefix) and its own WeChat client.
type deployment struct {
	em        *emulator.Emulator
	keys      *keyring.Keyring
	apps      []wxlogin.App
	instances []*instance
}

type instance struct {
	svc   *auth.Service
	wc    *wechat.Client
	coord *rediscoord.Client
}

func newDeployment(t *testing.T, n int, url, prefix string, o rediscoord.Options) *deployment {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d := &deployment{em: &emulator.Emulator{Logger: log}, keys: newKeys(t)}
	srv := httptest.NewServer(d.em)
	t.Cleanup(srv.Close)
	db, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "wxlogin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, a := range emulator.DevApps() {
		d.apps = append(d.apps, wxlogin.App{AppID: a.AppID, Secret: wxlogin.Secret(a.Secret)})
	}
	for range n {
		o.Logger = log
		coord := newClient(t, url, prefix, d.keys, o)
		wc := &wechat.Client{BaseURL: srv.URL, HTTPClient: srv.Client(), Logger: log, Tokens: coord.TokenCache()}
		svc, err := auth.New(auth.Config{
			Apps: d.apps, Users: db, Sessions: db, WeChat: wc, Keys: d.keys, Logger: log,
			SweepInterval:           -1,
			Revocations:             coord.Revocations(),
			RateLimiter:             coord.RateLimiter(),
			UnfinishedRegistrations: coord.UnfinishedRegistrations(),
			CodeExchanges:           coord.CodeExchanges(),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { svc.Close() })
		d.instances = append(d.instances, &instance{svc: svc, wc: wc, coord: coord})
	}
	return d
}

// testWriter sends log lines to t.Log, so a failing test shows them.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var phone = auth.Client{IP: "192.0.2.77", UserAgent: "Mozilla/5.0 MicroMessenger/8.0.50"}

// loginBoth sends one code to every instance at once and returns their
// answers.
func (d *deployment) loginBoth(t *testing.T, code string) []auth.LoginResult {
	t.Helper()
	res, errs := d.tryBoth(t, code)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("login on instance %d: %v", i, err)
		}
	}
	return res
}

// tryBoth sends one code to every instance at once.
func (d *deployment) tryBoth(t *testing.T, code string) ([]auth.LoginResult, []error) {
	res := make([]auth.LoginResult, len(d.instances))
	errs := make([]error, len(d.instances))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, in := range d.instances {
		wg.Go(func() {
			<-start
			res[i], errs[i] = in.svc.Login(t.Context(), app1, code, phone)
		})
	}
	close(start)
	wg.Wait()
	return res, errs
}

// waitInvalid waits until token fails on in with session_invalid.
func waitInvalid(t *testing.T, in *instance, token wxlogin.Secret, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		_, err := in.svc.Verify(t.Context(), token.Reveal())
		if wxlogin.ErrorCode(err) == wxlogin.ESessionInvalid {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the token still verifies (err %v) %v after its logout on another instance", err, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTwoInstancesShareRedis drives two instances through what they share:
// one code exchange for a double tap that reached both, a logout on one
// that the other hears, one access token. Then it reads every key the
// deployment left in Redis and finds no secret in clear.
func TestTwoInstancesShareRedis(t *testing.T) {
	t.Parallel()
	url, prefix := redistest.URL(t), redistest.Prefix()
	d := newDeployment(t, 2, url, prefix, rediscoord.Options{})
	a, b := d.instances[0], d.instances[1]
	var secrets []string
	for _, app := range d.apps {
		secrets = append(secrets, app.Secret.Reveal())
	}

	code, err := d.em.Login(app1, "alice")
	if err != nil {
		t.Fatal(err)
	}
	sessionKey, err := d.em.SessionKey(app1, "alice")
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, code, sessionKey)
	res := d.loginBoth(t, code)
	if n := d.em.Stats().APIs["jscode2session"].Calls; n != 1 {
		t.Errorf("one code sent to two instances cost %d jscode2session calls, want 1", n)
	}
	if res[0].User.ID != res[1].User.ID || res[0].Token == res[1].Token {
		t.Errorf("double tap: users %s and %s; want one user, two tokens", res[0].User.ID, res[1].User.ID)
	}
	for _, r := range res {
		secrets = append(secrets, r.Token.Reveal())
	}

	// B caches A's session, then A logs it out.
	tok := res[0].Token
	waitVerified(t, b, tok)
	p, err := a.svc.Verify(t.Context(), tok.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Logout(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	waitInvalid(t, b, tok, 5*time.Second)
	if _, err := b.svc.Verify(t.Context(), res[1].Token.Reveal()); err != nil {
		t.Errorf("the other session of the double tap: %v", err)
	}

	// One access token for both.
	app := d.apps[0]
	ta, err := a.wc.AccessToken(t.Context(), app)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.wc.AccessToken(t.Context(), app)
	if err != nil {
		t.Fatal(err)
	}
	if ta.Value != tb.Value {
		t.Error("the instances hold different access tokens")
	}
	if n := d.em.Stats().APIs["stable_token"].Calls; n != 1 {
		t.Errorf("%d stable_token calls for two instances, want 1", n)
	}
	secrets = append(secrets, ta.Value.Reveal())
	if err := a.coord.UnfinishedRegistrations().Add(t.Context(), res[0].User.ID, time.Now()); err != nil {
		t.Fatal(err)
	}

	// Every key of the deployment, and everything in it.
	rdb := redis.NewClient(mustParse(t, url))
	defer rdb.Close()
	dump, kinds := readAll(t, rdb, prefix)
	for _, kind := range []string{"limit", "code", "token", "unfinished"} {
		if kinds[kind] == 0 {
			t.Errorf("no %s key in Redis after the operations; found %v", kind, kinds)
		}
	}
	for _, s := range append(secrets, phone.IP, phone.UserAgent) {
		if s == "" {
			t.Fatal("an empty secret to look for")
		}
		if strings.Contains(dump, s) {
			t.Errorf("Redis holds %q in clear", s[:min(6, len(s))]+"…")
		}
	}
}

// waitVerified verifies token on in until in serves it from its cache
// (its subscription is live by then).
func waitVerified(t *testing.T, in *instance, token wxlogin.Secret) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		before := in.svc.CacheStats()
		if _, err := in.svc.Verify(t.Context(), token.Reveal()); err != nil {
			t.Fatal(err)
		}
		if in.svc.CacheStats().Hits > before.Hits {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the instance never served the token from its cache (subscription never live?)")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustParse(t *testing.T, url string) *redis.Options {
	t.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// readAll returns every key under prefix with its contents, as one string,
// and how many keys of each kind (the name after the prefix) there are.
func readAll(t *testing.T, rdb *redis.Client, prefix string) (string, map[string]int) {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	kinds := map[string]int{}
	iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		kind, _, _ := strings.Cut(strings.TrimPrefix(k, prefix), ":")
		kinds[kind]++
		b.WriteString(k + "\n")
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case "string":
			v, _ := rdb.Get(ctx, k).Result()
			b.WriteString(v + "\n")
		case "hash":
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				b.WriteString(f + "=" + v + "\n")
			}
		default:
			t.Errorf("key %s is a %s, which this test cannot read", k, typ)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String(), kinds
}

// TestOneTokenFetchAcrossInstances has three instances need the same app's
// access token at once, several callers each: the fleet fetches it once, and
// they all hold the one token.
func TestOneTokenFetchAcrossInstances(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 3, redistest.URL(t), redistest.Prefix(), rediscoord.Options{})
	// Slow WeChat answers widen the window in which every instance misses
	// the cache.
	app := d.apps[1]
	if err := d.em.InjectFault(emulator.Fault{API: emulator.APIStableToken, Delay: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	values := map[string]int{}
	start := make(chan struct{})
	for _, in := range d.instances {
		for range 4 {
			wg.Go(func() {
				<-start
				tok, err := in.wc.AccessToken(t.Context(), app)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				values[tok.Value.Reveal()]++
				mu.Unlock()
			})
		}
	}
	close(start)
	wg.Wait()
	if n := d.em.Stats().APIs["stable_token"].Calls; n != 1 {
		t.Errorf("three instances needing one token made %d stable_token calls, want 1", n)
	}
	if len(values) != 1 {
		t.Errorf("the callers hold %d different tokens, want 1", len(values))
	}
}

// TestOneTokenRenewalAcrossInstances moves the clocks into the renewal
// window of the shared access token (5 minutes before its expiry, when
// stable_token starts handing out the next one): three instances that all
// find it due renew it with one stable_token call.
func TestOneTokenRenewalAcrossInstances(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 3, redistest.URL(t), redistest.Prefix(), rediscoord.Options{})
	var offset atomic.Int64
	for _, in := range d.instances {
		in.wc.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	}
	app := d.apps[2]
	first, err := d.instances[0].wc.AccessToken(t.Context(), app)
	if err != nil {
		t.Fatal(err)
	}
	into := 2*time.Hour - 5*time.Minute + 10*time.Second
	d.em.Advance(into)
	offset.Store(int64(into))
	if err := d.em.InjectFault(emulator.Fault{API: emulator.APIStableToken, Delay: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	before := d.em.Stats().APIs["stable_token"].Calls
	var wg sync.WaitGroup
	var mu sync.Mutex
	values := map[string]int{}
	for _, in := range d.instances {
		for range 4 {
			wg.Go(func() {
				tok, err := in.wc.AccessToken(t.Context(), app)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				values[tok.Value.Reveal()]++
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	if n := d.em.Stats().APIs["stable_token"].Calls - before; n != 1 {
		t.Errorf("three instances renewing one token made %d stable_token calls, want 1", n)
	}
	if len(values) != 1 || values[first.Value.Reveal()] != 0 {
		t.Errorf("after the renewal the callers hold %d tokens (the old one %d times); want one, the new one", len(values), values[first.Value.Reveal()])
	}
}
