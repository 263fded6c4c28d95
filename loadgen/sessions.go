package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
)

// The verify-sessions workloads: GET /v1/auth at a wxlogin holding many
// sessions (Sessions.APIURL, a million, say) against the same request at a
// wxlogin holding few (Sessions.BaselineAPIURL, a thousand), every session
// of both in the store and in the verification cache. They answer whether
// forward-auth slows down as the cache grows. The caller makes the
// sessions and their tokens (wxlogin bench imports them into the stores
// of the two servers it starts); Run only draws tokens and sends them.
const (
	// VerifySessionsUniform draws every token equally often: the most
	// the cache's size can cost, since nearly every lookup goes to memory
	// no CPU cache holds.
	VerifySessionsUniform = "verify-sessions-uniform"
	// VerifySessionsZipf draws tokens with a Zipf popularity (s = ZipfS):
	// a few sessions busy, most rarely seen, as real users are.
	VerifySessionsZipf = "verify-sessions-zipf"
)

// SessionWorkloads lists the verify-sessions workloads; Run accepts them
// only with Config.Sessions set, and runs them only when asked.
var SessionWorkloads = []string{VerifySessionsUniform, VerifySessionsZipf}

// ZipfS is the exponent of the Zipf draws: the one auth's in-process
// benchmark of the cache uses, so that the two measurements compare.
const ZipfS = 1.1

// Sessions names the two servers of the verify-sessions workloads and the
// tokens of the sessions each holds. The tokens are secrets: Run never
// writes one anywhere.
type Sessions struct {
	APIURL         string   // the wxlogin with many sessions
	Tokens         []string // its sessions' login tokens
	BaselineAPIURL string   // the wxlogin with few sessions
	BaselineTokens []string
}

// SessionsSetup says how the verify-sessions workloads' servers were
// filled and whether the measurement ran from their caches. The caller
// that made the sessions fills it in (Report.Sessions).
type SessionsSetup struct {
	Sessions         int `json:"sessions"`
	BaselineSessions int `json:"baseline_sessions"`
	// ImportSeconds is how long storing both servers' sessions took,
	// WarmSeconds how long verifying each of them once took.
	ImportSeconds float64 `json:"import_seconds"`
	WarmSeconds   float64 `json:"warm_seconds"`
	// The verification caches' misses while warming (one per session
	// when each was verified once) and their hits and misses during the
	// measurement (no misses: every request was answered from the cache).
	WarmMisses         uint64 `json:"warm_misses"`
	BaselineWarmMisses uint64 `json:"baseline_warm_misses"`
	RunHits            uint64 `json:"run_hits"`
	RunMisses          uint64 `json:"run_misses"`
	BaselineRunHits    uint64 `json:"baseline_run_hits"`
	BaselineRunMisses  uint64 `json:"baseline_run_misses"`
	// TouchInterval is the servers' sessions.touch_interval, in seconds:
	// raised above the run's length, so that no request writes a touch and
	// the comparison is of the verifications alone.
	TouchIntervalSeconds float64 `json:"touch_interval_seconds"`
}

// draws is one side's sequence of Authorization headers, drawn before the
// measurement: a request takes the next one. The headers lie one after
// the other in one string, so that taking one reads memory in order on
// both sides alike, whatever the number of sessions behind them: drawing
// at random from a million tokens would cost the load generator cache
// misses that a thousand tokens do not, and count them against the side
// with more sessions.
type draws struct {
	url     string   // GET /v1/auth at the side's server
	headers string   // "Bearer <token>" after "Bearer <token>"
	ends    []uint32 // where each header ends in headers
	next    atomic.Uint64
}

// drawCount is how many draws a side's sequence holds: the same for both
// sides, so that walking it costs them the same; at least as many as the
// larger side has sessions (up to about a million: a round of two seconds
// sends fewer requests than that).
func drawCount(s *Sessions) int {
	return min(max(4*len(s.Tokens), 4*len(s.BaselineTokens), 1<<16), 1<<20)
}

// newDraws draws n of tokens, uniformly or with a Zipf popularity, from a
// generator seeded with seed.
func newDraws(api string, tokens []string, zipf bool, n int, seed uint64) *draws {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pick := func() int { return r.IntN(len(tokens)) }
	if zipf && len(tokens) > 1 {
		z := rand.NewZipf(r, ZipfS, 1, uint64(len(tokens)-1))
		// Ranks go to tokens through a random permutation: the sessions
		// were cached in token order, so without it the popular ones
		// would sit side by side in the cache's memory, which no real
		// popularity arranges.
		perm := r.Perm(len(tokens))
		pick = func() int { return perm[z.Uint64()] }
	}
	var b strings.Builder
	b.Grow(n * (len("Bearer ") + len(tokens[0])))
	d := &draws{url: api + "/v1/auth", ends: make([]uint32, n)}
	for i := range n {
		b.WriteString("Bearer ")
		b.WriteString(tokens[pick()])
		d.ends[i] = uint32(b.Len())
	}
	d.headers = b.String()
	return d
}

// header returns the next Authorization header of the sequence, starting
// over at its end.
func (d *draws) header() string {
	i := (d.next.Add(1) - 1) % uint64(len(d.ends))
	start := uint32(0)
	if i > 0 {
		start = d.ends[i-1]
	}
	return d.headers[start:d.ends[i]]
}

// verifyDrawn is one forward-auth request with the next drawn token; only
// a 200 naming a user counts as an answer. Its errors carry the status,
// never the token.
func (r *runner) verifyDrawn(ctx context.Context, d *draws) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return errors.New("GET /v1/auth: bad URL")
	}
	req.Header.Set("Authorization", d.header())
	resp, err := r.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("GET /v1/auth: %v", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("GET /v1/auth: status %d", resp.StatusCode)
	case resp.Header.Get("X-Wxlogin-User-Id") == "":
		return errors.New("GET /v1/auth: 200 without X-Wxlogin-User-Id")
	case err != nil:
		return fmt.Errorf("GET /v1/auth: reading the answer: %v", err)
	}
	return nil
}

// sessionsWorkload sets up one verify-sessions workload: its two sides'
// draws and ops.
func (r *runner) sessionsWorkload(w string, res *Result) (subject, baseline op) {
	s := r.cfg.Sessions
	zipf := w == VerifySessionsZipf
	res.Distribution = "uniform"
	if zipf {
		res.Distribution = "zipf"
	}
	res.Sessions, res.BaselineSessions = len(s.Tokens), len(s.BaselineTokens)
	res.Baseline = fmt.Sprintf("the same verifications at a wxlogin with %d sessions", len(s.BaselineTokens))
	n := drawCount(s)
	// Seeds of their own per workload and side: the two sides' draws are
	// independent, and a run can be repeated draw for draw.
	seed := uint64(1)
	if zipf {
		seed = 3
	}
	many := newDraws(s.APIURL, s.Tokens, zipf, n, seed)
	few := newDraws(s.BaselineAPIURL, s.BaselineTokens, zipf, n, seed+1)
	subject = func(ctx context.Context) error { return r.verifyDrawn(ctx, many) }
	baseline = func(ctx context.Context) error { return r.verifyDrawn(ctx, few) }
	return subject, baseline
}

// checkSessions reports what is missing for the verify-sessions workloads.
func checkSessions(s *Sessions) error {
	if s == nil {
		return errors.New("loadgen: the verify-sessions workloads need Config.Sessions")
	}
	if s.APIURL == "" || s.BaselineAPIURL == "" || len(s.Tokens) == 0 || len(s.BaselineTokens) == 0 {
		return errors.New("loadgen: Config.Sessions needs both servers' URLs and tokens")
	}
	return nil
}
