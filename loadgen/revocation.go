package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// RevocationConfig is what MeasureRevocation drives: logins and logouts at
// one instance of a deployment, and its other instances polled for the
// moment they refuse the logged-out token.
type RevocationConfig struct {
	APIURL      string   // the instance that logs in and logs out
	Peers       []string // the instances that must refuse the token afterwards
	EmulatorURL string   // the emulator of the deployment (wx.login)
	AppID       string

	Samples int           // logouts measured; 200
	Timeout time.Duration // how long a peer may keep accepting a token before the sample counts it as not refused; 5s
	// PollPause is the pause between two polls of one peer; 200µs. A
	// refusal is seen at most one poll (a round trip and the pause) late.
	PollPause time.Duration

	// Progress, when set, receives a progress line about once a second.
	Progress io.Writer
}

// RevocationReport is the result of MeasureRevocation; it is also the JSON
// of `wxlogin bench --workloads revocation --json`.
type RevocationReport struct {
	Started time.Time         `json:"started"`
	APIURL  string            `json:"api_url"`
	Samples int               `json:"samples"`
	All     Propagation       `json:"all"` // every peer of every sample
	Peers   []PeerPropagation `json:"peers"`
}

// PeerPropagation is the propagation to one peer.
type PeerPropagation struct {
	URL string `json:"url"`
	Propagation
}

// Propagation summarises the delays from a logout's answer (the 204 at the
// client) to a peer's first 401 for that token.
type Propagation struct {
	Samples int `json:"samples"`
	// NotRefused counts samples in which the peer still accepted the token
	// when the timeout ran out: they are not in the percentiles.
	NotRefused int `json:"not_refused"`
	// BeforeAnswer counts samples in which the peer refused the token before
	// the logout's 204 reached the client; their delay counts as 0.
	BeforeAnswer int     `json:"refused_before_answer"`
	P50ms        float64 `json:"p50_ms"`
	P90ms        float64 `json:"p90_ms"`
	P99ms        float64 `json:"p99_ms"`
	MaxMs        float64 `json:"max_ms"`
}

// MeasureRevocation logs a fresh user in at cfg.APIURL, has every peer
// verify the token (so each holds it in its verification cache), starts
// polling GET /v1/auth on every peer, logs the token out at cfg.APIURL
// (DELETE /v1/session) and records when each peer first answers 401,
// cfg.Samples times.
func MeasureRevocation(ctx context.Context, cfg RevocationConfig) (*RevocationReport, error) {
	if cfg.APIURL == "" || cfg.EmulatorURL == "" || cfg.AppID == "" || len(cfg.Peers) == 0 {
		return nil, errors.New("loadgen: revocation needs the API URL, its peers, the emulator URL and the appid")
	}
	if cfg.Samples <= 0 {
		cfg.Samples = 200
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.PollPause <= 0 {
		cfg.PollPause = 200 * time.Microsecond
	}
	var id [4]byte
	rand.Read(id[:])
	r := &runner{
		cfg:    Config{APIURL: cfg.APIURL, EmulatorURL: cfg.EmulatorURL, AppID: cfg.AppID},
		runID:  hex.EncodeToString(id[:]),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8, IdleConnTimeout: time.Minute}},
	}
	defer r.client.CloseIdleConnections()

	rep := &RevocationReport{Started: time.Now().UTC(), APIURL: cfg.APIURL, Samples: cfg.Samples}
	delays := make([][]time.Duration, len(cfg.Peers))
	notRefused := make([]int, len(cfg.Peers))
	before := make([]int, len(cfg.Peers))
	lastProgress := time.Now()
	for i := range cfg.Samples {
		d, err := r.revokeOnce(ctx, cfg, "revoke-"+r.runID+"-"+strconv.Itoa(i))
		if err != nil {
			return nil, fmt.Errorf("loadgen: revocation sample %d: %v", i+1, err)
		}
		for p, x := range d {
			switch {
			case x == notRefusedDelay:
				notRefused[p]++
			case x < 0:
				before[p]++
				delays[p] = append(delays[p], 0)
			default:
				delays[p] = append(delays[p], x)
			}
		}
		if cfg.Progress != nil && (time.Since(lastProgress) > time.Second || i == cfg.Samples-1) {
			lastProgress = time.Now()
			fmt.Fprintf(cfg.Progress, "bench: revocation %d/%d samples\n", i+1, cfg.Samples)
		}
	}
	var all []time.Duration
	for p, u := range cfg.Peers {
		rep.Peers = append(rep.Peers, PeerPropagation{URL: u, Propagation: summariseDelays(delays[p], notRefused[p], before[p])})
		all = append(all, delays[p]...)
		rep.All.NotRefused += notRefused[p]
		rep.All.BeforeAnswer += before[p]
	}
	nr, ba := rep.All.NotRefused, rep.All.BeforeAnswer
	rep.All = summariseDelays(all, nr, ba)
	return rep, nil
}

// notRefusedDelay marks a peer that kept accepting the token until the
// timeout.
const notRefusedDelay = time.Duration(1<<63 - 1)

// revokeOnce is one sample: each peer's delay from the logout's answer to
// its first 401 (negative: before the answer; notRefusedDelay: never).
func (r *runner) revokeOnce(ctx context.Context, cfg RevocationConfig, user string) ([]time.Duration, error) {
	token, err := r.login(ctx, user)
	if err != nil {
		return nil, err
	}
	for _, p := range cfg.Peers {
		if st, err := r.authStatus(ctx, p, token); err != nil || st != http.StatusOK {
			return nil, fmt.Errorf("GET /v1/auth at a peer before the logout: status %d (%v)", st, err)
		}
	}
	pollCtx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	refusedAt := make([]time.Time, len(cfg.Peers))
	errs := make([]error, len(cfg.Peers))
	var wg sync.WaitGroup
	for i, p := range cfg.Peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pollCtx.Err() == nil {
				st, err := r.authStatus(pollCtx, p, token)
				now := time.Now()
				switch {
				case pollCtx.Err() != nil:
					return
				case err != nil:
					errs[i] = err
					return
				case st == http.StatusUnauthorized:
					refusedAt[i] = now
					return
				case st != http.StatusOK:
					errs[i] = fmt.Errorf("GET /v1/auth at a peer: status %d", st)
					return
				}
				time.Sleep(cfg.PollPause)
			}
		}()
	}
	err = r.do(ctx, "DELETE /v1/session", http.MethodDelete, cfg.APIURL+"/v1/session", nil, "Bearer "+token, nil)
	answered := time.Now()
	if err != nil {
		cancel()
		wg.Wait()
		return nil, err
	}
	wg.Wait()
	out := make([]time.Duration, len(cfg.Peers))
	for i := range cfg.Peers {
		switch {
		case errs[i] != nil:
			return nil, errs[i]
		case refusedAt[i].IsZero():
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			out[i] = notRefusedDelay
		default:
			out[i] = refusedAt[i].Sub(answered)
		}
	}
	return out, nil
}

// authStatus is GET base/v1/auth with token: the status, or the error of a
// request that got no answer.
func (r *runner) authStatus(ctx context.Context, base, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/auth", nil)
	if err != nil {
		return 0, errors.New("GET /v1/auth: bad URL")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := r.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is no secret, but do's errors name none either
		}
		return 0, fmt.Errorf("GET /v1/auth: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func summariseDelays(d []time.Duration, notRefused, before int) Propagation {
	s := slices.Clone(d)
	slices.Sort(s)
	p := Propagation{Samples: len(s) + notRefused, NotRefused: notRefused, BeforeAnswer: before}
	p.P50ms, p.P90ms, p.P99ms = ms(quantile(s, 0.50)), ms(quantile(s, 0.90)), ms(quantile(s, 0.99))
	if len(s) > 0 {
		p.MaxMs = ms(s[len(s)-1])
	}
	return p
}
