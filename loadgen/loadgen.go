package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The workloads Run knows, in the order it runs them.
const (
	// LoginNew logs in users wxlogin has never seen: each op is a wx.login
	// at the emulator's device API for a new simulated user, then
	// POST /v1/login with its code. Baseline: the same wx.login, then the
	// code traded at the emulator's jscode2session directly.
	LoginNew = "login-new"
	// LoginReturning is LoginNew for a pool of users who logged in before.
	LoginReturning = "login-returning"
	// Verify is GET /v1/auth with a valid token (forward-auth). Baseline:
	// the same request at a bare net/http handler answering as /v1/auth.
	Verify = "verify"
)

// Workloads lists the workloads Run runs by default; it also accepts
// SessionWorkloads when given what they need.
var Workloads = []string{LoginNew, LoginReturning, Verify}

// Config is what Run drives. APIURL, EmulatorURL, AppID and Secret are
// required; zero values of the rest take the defaults named.
type Config struct {
	APIURL      string // wxlogin's base URL
	EmulatorURL string // the emulator's base URL (device API and WeChat's APIs)
	AppID       string
	// Secret is the app's secret at the emulator: the login baseline trades
	// codes at jscode2session itself, as a backend would. It never appears
	// in the report or an error.
	Secret string

	Clients   int           // concurrent clients; 16
	Round     time.Duration // how long each side runs per round; 2s
	Rounds    int           // rounds per workload; 3
	Users     int           // returning users in the pool; 1,000
	Workloads []string      // default: all of Workloads

	// BaselineAPIURL, when set, makes the login workloads' baseline the
	// same login at this other wxlogin (sharing the emulator) instead of
	// the emulator round trip: the cluster behind a load balancer against
	// one of its instances, say.
	BaselineAPIURL string

	// BareBackend adds a third side to the login workloads: the same
	// wx.login, then POST /v1/login at BareLoginHandler, served by this
	// process. Not with BaselineAPIURL.
	BareBackend bool

	// MeasureCPU reports the CPU this process spends per op of each side
	// (Stats.CPUPerOpMicros). It means something only when wxlogin and
	// the emulator run in this process too, as wxlogin bench's own pair
	// does: then it is the whole cost of an op on this machine.
	MeasureCPU bool

	// Sessions is what the verify-sessions workloads (SessionWorkloads)
	// need: two servers and their sessions' tokens.
	Sessions *Sessions

	// Progress, when set, receives a progress line about once a second.
	Progress io.Writer
}

// Report is the result of Run; it is also the JSON of `wxlogin bench --json`.
type Report struct {
	Started      time.Time  `json:"started"`
	Clients      int        `json:"clients"`
	RoundSeconds float64    `json:"round_seconds"`
	Rounds       int        `json:"rounds"`
	Results      []Result   `json:"results"`
	Timeline     []Interval `json:"timeline"`
	// Revocation is filled in by the caller that also ran
	// MeasureRevocation (wxlogin bench's revocation workload).
	Revocation *RevocationReport `json:"revocation,omitempty"`
	// Sessions is filled in by the caller that made the verify-sessions
	// workloads' sessions (wxlogin bench).
	Sessions *SessionsSetup `json:"sessions,omitempty"`
}

// Result is one workload, wxlogin beside its baseline.
type Result struct {
	Workload     string    `json:"workload"`
	Baseline     string    `json:"baseline"`
	Wxlogin      Stats     `json:"wxlogin"`
	BaselineRun  Stats     `json:"baseline_stats"`
	Ratio        float64   `json:"ratio"` // median of RoundRatios
	RoundRatios  []float64 `json:"round_ratios"`
	FirstInRound []string  `json:"first_in_round"` // which side went first, per round

	// The bare backend (Config.BareBackend), when it was measured: its
	// stats, and wxlogin's rate over its rate (median of the rounds).
	Backend            *Stats    `json:"backend_stats,omitempty"`
	BackendRatio       float64   `json:"backend_ratio,omitempty"`
	BackendRoundRatios []float64 `json:"backend_round_ratios,omitempty"`

	// CPURatio is the median of RoundCPURatios, each the two sides' ops
	// per CPU second of this process (Config.MeasureCPU), wxlogin /
	// baseline: the ratio of rates of a machine whose CPUs were all the
	// bench's, which other programs on the machine move less than the
	// rates.
	CPURatio       float64   `json:"cpu_ratio,omitempty"`
	RoundCPURatios []float64 `json:"round_cpu_ratios,omitempty"`

	// Of the verify-sessions workloads: how tokens were drawn ("uniform"
	// or "zipf") and how many sessions each side's server held.
	Distribution     string `json:"distribution,omitempty"`
	Sessions         int    `json:"sessions,omitempty"`
	BaselineSessions int    `json:"baseline_sessions,omitempty"`
}

// Stats summarises one side of a workload over all its rounds.
type Stats struct {
	Ops       int     `json:"ops"`
	Errors    int     `json:"errors"`
	FirstErr  string  `json:"first_error,omitempty"`
	PerSecond float64 `json:"per_second"`
	P50ms     float64 `json:"p50_ms"`
	P90ms     float64 `json:"p90_ms"`
	P99ms     float64 `json:"p99_ms"`
	// CPUPerOpMicros is the process's CPU time (user and system) over the
	// side's phases divided by its ops, when Config.MeasureCPU is set. On
	// a machine whose cores are all busy, a side's rate is about the
	// cores over this, so the ratio of two sides' CPU per op bounds their
	// ratio of rates.
	CPUPerOpMicros float64 `json:"cpu_us_per_op,omitempty"`
}

// Interval is a slice of the run for the chart: the throughput and the
// tail latency of one side of one workload during it.
type Interval struct {
	Workload  string  `json:"workload"`
	Side      string  `json:"side"` // "wxlogin" or "baseline"
	Round     int     `json:"round"`
	Start     float64 `json:"t"` // seconds since the run started
	PerSecond float64 `json:"per_second"`
	P99ms     float64 `json:"p99_ms"`
}

// Sides of a workload.
const (
	SideWxlogin  = "wxlogin"
	SideBaseline = "baseline"
)

// op is one request (or pair) of a workload; it returns an error that
// never carries a secret, a code or a token.
type op func(ctx context.Context) error

type runner struct {
	cfg     Config
	client  *http.Client
	runID   string
	next    atomic.Int64
	users   []string
	tokens  []string
	bareURL string
	// backendURL serves BareLoginHandler when Config.BareBackend is set.
	backendURL string
	started    time.Time
	timeline   []Interval
}

// Run measures each workload of cfg for cfg.Rounds rounds.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.APIURL == "" || cfg.EmulatorURL == "" || cfg.AppID == "" || cfg.Secret == "" {
		return nil, errors.New("loadgen: the API URL, the emulator URL, the appid and its secret are required")
	}
	if cfg.Clients <= 0 {
		cfg.Clients = 16
	}
	if cfg.Round <= 0 {
		cfg.Round = 2 * time.Second
	}
	if cfg.Rounds <= 0 {
		cfg.Rounds = 3
	}
	if cfg.Users <= 0 {
		cfg.Users = 1000
	}
	if len(cfg.Workloads) == 0 {
		cfg.Workloads = Workloads
	}
	for _, w := range cfg.Workloads {
		if slices.Contains(SessionWorkloads, w) {
			if err := checkSessions(cfg.Sessions); err != nil {
				return nil, err
			}
			continue
		}
		if !slices.Contains(Workloads, w) {
			return nil, fmt.Errorf("loadgen: unknown workload %q (known: %v, %v)", w, Workloads, SessionWorkloads)
		}
	}
	var id [4]byte
	rand.Read(id[:])
	r := &runner{
		cfg:   cfg,
		runID: hex.EncodeToString(id[:]),
		client: &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				MaxIdleConns:        4 * cfg.Clients,
				MaxIdleConnsPerHost: 2 * cfg.Clients,
				IdleConnTimeout:     time.Minute,
			},
		},
	}
	defer r.client.CloseIdleConnections()

	bare, err := startBare(nil)
	if err != nil {
		return nil, err
	}
	defer bare.Close()
	r.bareURL = "http://" + bare.Addr
	if cfg.BareBackend && cfg.BaselineAPIURL == "" {
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		backend, err := startBare(BareLoginHandler(cfg.EmulatorURL, cfg.AppID, cfg.Secret, client))
		if err != nil {
			return nil, err
		}
		defer backend.Close()
		r.backendURL = "http://" + backend.Addr
	}

	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	rep := &Report{Started: time.Now().UTC(), Clients: cfg.Clients, RoundSeconds: cfg.Round.Seconds(), Rounds: cfg.Rounds}
	r.started = time.Now()
	for _, w := range cfg.Workloads {
		res, err := r.workload(ctx, w)
		if err != nil {
			return nil, err
		}
		rep.Results = append(rep.Results, res)
	}
	rep.Timeline = r.timeline
	return rep, nil
}

// setup logs in the pool of returning users once, keeping one token each
// for the verification workload.
func (r *runner) setup(ctx context.Context) error {
	need := slices.Contains(r.cfg.Workloads, LoginReturning) || slices.Contains(r.cfg.Workloads, Verify)
	if !need {
		return nil
	}
	r.users = make([]string, r.cfg.Users)
	r.tokens = make([]string, r.cfg.Users)
	for i := range r.users {
		r.users[i] = "bench-" + r.runID + "-r" + strconv.Itoa(i)
	}
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		errMu sync.Mutex
		first error
	)
	for range r.cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(r.users) || ctx.Err() != nil {
					return
				}
				tok, err := r.login(ctx, r.users[i])
				if err != nil {
					errMu.Lock()
					if first == nil {
						first = err
					}
					errMu.Unlock()
					return
				}
				r.tokens[i] = tok
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return fmt.Errorf("loadgen: logging in the returning users: %v", first)
	}
	return ctx.Err()
}

func (r *runner) workload(ctx context.Context, w string) (Result, error) {
	var subject, baseline op
	res := Result{Workload: w}
	switch w {
	case LoginNew, LoginReturning:
		res.Baseline = "emulator round trip (wx.login + jscode2session)"
		user := r.newUser
		if w == LoginReturning {
			user = r.returningUser
		}
		subject = func(ctx context.Context) error { _, err := r.loginAt(ctx, r.cfg.APIURL, user()); return err }
		baseline = func(ctx context.Context) error { return r.code2Session(ctx, user()) }
		if b := r.cfg.BaselineAPIURL; b != "" {
			res.Baseline = "the same logins at " + b
			baseline = func(ctx context.Context) error { _, err := r.loginAt(ctx, b, user()); return err }
		}
	case Verify:
		res.Baseline = "bare net/http handler"
		subject = func(ctx context.Context) error { return r.verify(ctx, r.cfg.APIURL) }
		baseline = func(ctx context.Context) error { return r.verify(ctx, r.bareURL) }
	case VerifySessionsUniform, VerifySessionsZipf:
		subject, baseline = r.sessionsWorkload(w, &res)
		// The caller's setup (a million sessions imported and verified)
		// and the draws leave much garbage: collected now, it is not
		// collected during the first round, against whichever side
		// goes first.
		runtime.GC()
	}
	sides := []string{SideWxlogin, SideBaseline}
	funcs := map[string]op{SideWxlogin: subject, SideBaseline: baseline}
	if r.backendURL != "" && (w == LoginNew || w == LoginReturning) {
		user := r.newUser
		if w == LoginReturning {
			user = r.returningUser
		}
		sides = append(sides, SideBackend)
		funcs[SideBackend] = func(ctx context.Context) error { _, err := r.loginAt(ctx, r.backendURL, user()); return err }
	}
	samples := map[string][]sample{}
	stats := map[string]*Stats{}
	cpu := map[string]time.Duration{}
	for _, side := range sides {
		stats[side] = &Stats{}
	}
	for round := 1; round <= r.cfg.Rounds; round++ {
		// Rotate which side goes first: a machine that slows down or
		// warms up during a round then favours none.
		order := append(slices.Clone(sides[(round-1)%len(sides):]), sides[:(round-1)%len(sides)]...)
		res.FirstInRound = append(res.FirstInRound, order[0])
		rate, perCPU := map[string]float64{}, map[string]float64{}
		for _, side := range order {
			cpu0 := processCPU()
			p, err := r.phase(ctx, w, side, round, funcs[side])
			if err != nil {
				return res, err
			}
			used := processCPU() - cpu0
			cpu[side] += used
			if used > 0 {
				perCPU[side] = float64(len(p.samples)) / used.Seconds()
			}
			rate[side] = float64(len(p.samples)) / p.elapsed.Seconds()
			samples[side] = append(samples[side], p.samples...)
			st := stats[side]
			st.Errors += p.errors
			if st.FirstErr == "" {
				st.FirstErr = p.firstErr
			}
			st.PerSecond += p.elapsed.Seconds() // summed here, divided below
		}
		if rate[SideBaseline] > 0 {
			res.RoundRatios = append(res.RoundRatios, rate[SideWxlogin]/rate[SideBaseline])
		}
		if rate[SideBackend] > 0 {
			res.BackendRoundRatios = append(res.BackendRoundRatios, rate[SideWxlogin]/rate[SideBackend])
		}
		if r.cfg.MeasureCPU && perCPU[SideBaseline] > 0 {
			res.RoundCPURatios = append(res.RoundCPURatios, perCPU[SideWxlogin]/perCPU[SideBaseline])
		}
	}
	summary := func(side string) Stats {
		st := summarise(samples[side], *stats[side])
		if r.cfg.MeasureCPU && st.Ops > 0 {
			st.CPUPerOpMicros = float64(cpu[side].Microseconds()) / float64(st.Ops)
		}
		return st
	}
	res.Wxlogin = summary(SideWxlogin)
	res.BaselineRun = summary(SideBaseline)
	res.Ratio = median(res.RoundRatios)
	res.CPURatio = median(res.RoundCPURatios)
	if _, ok := funcs[SideBackend]; ok {
		b := summary(SideBackend)
		res.Backend = &b
		res.BackendRatio = median(res.BackendRoundRatios)
	}
	return res, nil
}

func summarise(s []sample, st Stats) Stats {
	secs := st.PerSecond
	st.Ops = len(s)
	st.PerSecond = 0
	if secs > 0 {
		st.PerSecond = float64(len(s)) / secs
	}
	lat := make([]time.Duration, len(s))
	for i, x := range s {
		lat[i] = x.latency
	}
	slices.Sort(lat)
	st.P50ms, st.P90ms, st.P99ms = ms(quantile(lat, 0.50)), ms(quantile(lat, 0.90)), ms(quantile(lat, 0.99))
	return st
}

type sample struct {
	at      time.Duration // since the phase started, at the op's end
	latency time.Duration
}

type phaseResult struct {
	samples  []sample
	elapsed  time.Duration
	errors   int
	firstErr string
}

// phase runs f from every client for one round's duration.
func (r *runner) phase(ctx context.Context, w, side string, round int, f op) (phaseResult, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Round)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		res      phaseResult
		done     atomic.Int64
		runStart = time.Since(r.started)
		start    = time.Now()
	)
	stopProgress := r.progress(w, side, round, &done, start)
	for range r.cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []sample
			errs, firstErr := 0, ""
			for ctx.Err() == nil {
				t0 := time.Now()
				err := f(ctx)
				t1 := time.Now()
				if ctx.Err() != nil {
					break // cut off by the end of the round: neither a success nor a failure
				}
				if err != nil {
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
					continue
				}
				mine = append(mine, sample{at: t1.Sub(start), latency: t1.Sub(t0)})
				done.Add(1)
			}
			mu.Lock()
			res.samples = append(res.samples, mine...)
			res.errors += errs
			if res.firstErr == "" {
				res.firstErr = firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	stopProgress()
	if len(res.samples) == 0 && res.errors > 0 {
		return res, fmt.Errorf("loadgen: %s %s: every request failed: %s", w, side, res.firstErr)
	}
	r.timeline = append(r.timeline, intervals(w, side, round, runStart, res)...)
	return res, nil
}

// intervals cuts a phase into about ten slices for the chart.
func intervals(w, side string, round int, runStart time.Duration, p phaseResult) []Interval {
	const n = 10
	width := p.elapsed / n
	if width <= 0 {
		return nil
	}
	buckets := make([][]time.Duration, n)
	for _, s := range p.samples {
		i := min(int(s.at/width), n-1)
		buckets[i] = append(buckets[i], s.latency)
	}
	out := make([]Interval, 0, n)
	for i, b := range buckets {
		slices.Sort(b)
		out = append(out, Interval{
			Workload:  w,
			Side:      side,
			Round:     round,
			Start:     (runStart + time.Duration(i)*width).Seconds(),
			PerSecond: float64(len(b)) / width.Seconds(),
			P99ms:     ms(quantile(b, 0.99)),
		})
	}
	return out
}

// progress writes a progress line about once a second until stopped.
func (r *runner) progress(w, side string, round int, done *atomic.Int64, start time.Time) func() {
	if r.cfg.Progress == nil {
		return func() {}
	}
	var last time.Time
	line := func() {
		last = time.Now()
		el := time.Since(start)
		n := done.Load()
		fmt.Fprintf(r.cfg.Progress, "bench: %s round %d/%d %-8s %6.1fs %8d ops %9.0f/s\n",
			w, round, r.cfg.Rounds, side, el.Seconds(), n, float64(n)/el.Seconds())
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				line()
			case <-stop:
				// The final count, unless a tick has just shown it.
				if time.Since(last) > 200*time.Millisecond {
					line()
				}
				return
			}
		}
	}()
	return func() { close(stop); <-finished }
}

func (r *runner) newUser() string {
	return "bench-" + r.runID + "-n" + strconv.FormatInt(r.next.Add(1), 10)
}

func (r *runner) returningUser() string {
	return r.users[int(r.next.Add(1))%len(r.users)]
}

func (r *runner) token() string {
	return r.tokens[int(r.next.Add(1))%len(r.tokens)]
}

// wxLogin is wx.login on the emulator's device API: a fresh code.
func (r *runner) wxLogin(ctx context.Context, user string) (string, error) {
	body, _ := json.Marshal(map[string]string{"appid": r.cfg.AppID, "user": user})
	var out struct {
		Code string `json:"code"`
	}
	if err := r.do(ctx, "wx.login", http.MethodPost, r.cfg.EmulatorURL+"/emulator/v1/login", body, "", &out); err != nil {
		return "", err
	}
	if out.Code == "" {
		return "", errors.New("wx.login: no code in the answer")
	}
	return out.Code, nil
}

// login is a mini program's login at cfg.APIURL.
func (r *runner) login(ctx context.Context, user string) (string, error) {
	return r.loginAt(ctx, r.cfg.APIURL, user)
}

// loginAt is a mini program's login: wx.login, then POST /v1/login at api.
func (r *runner) loginAt(ctx context.Context, api, user string) (string, error) {
	code, err := r.wxLogin(ctx, user)
	if err != nil {
		return "", err
	}
	body, _ := json.Marshal(map[string]string{"code": code, "appid": r.cfg.AppID})
	var out struct {
		Token string `json:"token"`
	}
	if err := r.do(ctx, "POST /v1/login", http.MethodPost, api+"/v1/login", body, "", &out); err != nil {
		return "", err
	}
	if out.Token == "" {
		return "", errors.New("POST /v1/login: no token in the answer")
	}
	return out.Token, nil
}

// code2Session is the login baseline: wx.login, then the backend's one
// call to jscode2session, and nothing else.
func (r *runner) code2Session(ctx context.Context, user string) error {
	code, err := r.wxLogin(ctx, user)
	if err != nil {
		return err
	}
	q := url.Values{"appid": {r.cfg.AppID}, "secret": {r.cfg.Secret}, "js_code": {code}, "grant_type": {"authorization_code"}}
	var out struct {
		OpenID  string `json:"openid"`
		ErrCode int    `json:"errcode"`
	}
	if err := r.do(ctx, "jscode2session", http.MethodGet, r.cfg.EmulatorURL+"/sns/jscode2session?"+q.Encode(), nil, "", &out); err != nil {
		return err
	}
	if out.ErrCode != 0 || out.OpenID == "" {
		return fmt.Errorf("jscode2session: errcode %d", out.ErrCode)
	}
	return nil
}

// verify is forward-auth: GET /v1/auth with a valid token, expecting 200.
func (r *runner) verify(ctx context.Context, base string) error {
	return r.do(ctx, "GET /v1/auth", http.MethodGet, base+"/v1/auth", nil, "Bearer "+r.token(), nil)
}

// do sends one request and decodes a 200's JSON into out (nil: discard).
// A 204 counts as success too (a logout).
// Its errors name the step and the status, never the URL (the baseline's
// query carries the app secret) or a body (it may carry a code).
func (r *runner) do(ctx context.Context, step, method, u string, body []byte, auth string, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("%s: bad URL", step)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: %v", step, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&e)
		io.Copy(io.Discard, resp.Body)
		if e.Error.Code != "" {
			return fmt.Errorf("%s: status %d (%s)", step, resp.StatusCode, e.Error.Code)
		}
		return fmt.Errorf("%s: status %d", step, resp.StatusCode)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
	} else {
		err = json.NewDecoder(resp.Body).Decode(out)
		io.Copy(io.Discard, resp.Body)
	}
	if err != nil {
		return fmt.Errorf("%s: reading the answer: %v", step, err)
	}
	return nil
}

// BareHandler is the verification baseline: the least a forward-auth
// endpoint must do (read the Authorization header, answer 200 with the four
// identity headers and no body, as wxlogin's GET /v1/auth does).
func BareHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h := w.Header()
		h.Set("X-Wxlogin-User-Id", "usr_baseline")
		h.Set("X-Wxlogin-Openid", "o_baseline")
		h.Set("X-Wxlogin-Appid", "wx0000000000000000")
		h.Set("X-Wxlogin-Unionid", "")
		w.WriteHeader(http.StatusOK)
	})
}

// NewBareServer returns an http.Server for BareHandler with wxlogin's own
// server settings, so a comparison is of the handlers, not of the timeouts'
// bookkeeping.
func NewBareServer() *http.Server {
	return &http.Server{
		Handler:           BareHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}

type bareServer struct {
	Addr string
	srv  *http.Server
}

func (b *bareServer) Close() { b.srv.Close() }

// startBare serves h (BareHandler when nil) on a loopback port, with the
// server settings of NewBareServer.
func startBare(h http.Handler) (*bareServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("loadgen: baseline server: %v", err)
	}
	srv := NewBareServer()
	if h != nil {
		srv.Handler = h
	}
	go srv.Serve(ln)
	return &bareServer{Addr: ln.Addr().String(), srv: srv}, nil
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// Nearest rank.
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
