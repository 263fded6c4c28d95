package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/loadgen"
)

// runBenchCommand runs `wxlogin bench args` in-process and returns its exit
// code, stdout and stderr.
func runBenchCommand(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr strings.Builder
	code := run(t.Context(), append([]string{"bench"}, args...), env{
		Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(string) string { return "" },
	})
	return code, stdout.String(), stderr.String()
}

// TestBenchCommand runs the bench for about a second against the pair it
// starts itself and checks that what it reports is sane: every side of
// every workload did work, the JSON parses, the SVG is well-formed and
// draws every series, and no secret leaks into any of it.
func TestBenchCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jsonPath, svgPath := filepath.Join(dir, "bench.json"), filepath.Join(dir, "bench.svg")
	// Rounds of 300 ms: under -race, beside the package's other tests, a
	// login can take over 150 ms, and a round that completes none fails.
	code, stdout, stderr := runBenchCommand(t, "--clients", "4", "--round", "300ms", "--rounds", "2", "--users", "20",
		"--json", jsonPath, "--svg", svgPath)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}

	rep, b := readReport(t, jsonPath)
	if len(rep.Results) != len(loadgen.Workloads) {
		t.Fatalf("%d results, want one per workload (%v)", len(rep.Results), loadgen.Workloads)
	}
	for i, r := range rep.Results {
		if r.Workload != loadgen.Workloads[i] {
			t.Errorf("result %d is %q, want %q", i, r.Workload, loadgen.Workloads[i])
		}
		sides := map[string]loadgen.Stats{"wxlogin": r.Wxlogin, "baseline": r.BaselineRun}
		login := r.Workload != loadgen.Verify
		switch {
		case login && r.Backend == nil:
			t.Errorf("%s: no bare backend side", r.Workload)
		case login:
			sides[loadgen.SideBackend] = *r.Backend
			if len(r.BackendRoundRatios) != 2 || r.BackendRatio <= 0 {
				t.Errorf("%s: ratio to the bare backend %v from rounds %v, want a positive ratio from 2 rounds", r.Workload, r.BackendRatio, r.BackendRoundRatios)
			}
		case r.Backend != nil:
			t.Errorf("%s: a bare backend side, which only logins have", r.Workload)
		}
		for side, st := range sides {
			// Everything runs in this process: its CPU per op is the op's cost.
			if st.CPUPerOpMicros <= 0 {
				t.Errorf("%s %s: CPU per op %v, want it measured", r.Workload, side, st.CPUPerOpMicros)
			}
			if st.Ops <= 0 || st.PerSecond <= 0 {
				t.Errorf("%s %s: %d ops at %.1f/s, want some", r.Workload, side, st.Ops, st.PerSecond)
			}
			if st.Errors != 0 {
				t.Errorf("%s %s: %d errors, first %q", r.Workload, side, st.Errors, st.FirstErr)
			}
			if !(0 < st.P50ms && st.P50ms <= st.P90ms && st.P90ms <= st.P99ms) {
				t.Errorf("%s %s: percentiles p50 %v p90 %v p99 %v, want 0 < p50 <= p90 <= p99", r.Workload, side, st.P50ms, st.P90ms, st.P99ms)
			}
		}
		if len(r.RoundRatios) != 2 || r.Ratio <= 0 {
			t.Errorf("%s: ratio %v from rounds %v, want a positive ratio from 2 rounds", r.Workload, r.Ratio, r.RoundRatios)
		}
		if strings.Join(r.FirstInRound, ",") != "wxlogin,baseline" {
			t.Errorf("%s: first in rounds %v, want the sides to alternate", r.Workload, r.FirstInRound)
		}
		if !strings.Contains(stdout, r.Workload+" ") {
			t.Errorf("stdout lacks %s:\n%s", r.Workload, stdout)
		}
	}
	if !strings.Contains(stderr, "bench: login-new round 1/2 wxlogin") {
		t.Errorf("no progress line on stderr:\n%s", stderr)
	}

	// The SVG: well-formed XML, an <svg> root, a line for each series.
	f, err := os.Open(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	series := map[string]int{}
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v", err)
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root == "" {
			root = el.Name.Local
		}
		if el.Name.Local != "polyline" {
			continue
		}
		for _, a := range el.Attr {
			if a.Name.Local == "data-series" {
				series[a.Value]++
			}
		}
	}
	if root != "svg" {
		t.Errorf("root element %q, want svg", root)
	}
	for _, w := range loadgen.Workloads {
		sides := []string{"wxlogin", "baseline"}
		if w != loadgen.Verify {
			sides = append(sides, loadgen.SideBackend)
		}
		for _, side := range sides {
			// Two panels (throughput, latency) times two rounds.
			if n := series[w+" "+side]; n != 4 {
				t.Errorf("series %q drawn %d times, want 4 (2 panels × 2 rounds); all: %v", w+" "+side, n, series)
			}
		}
	}

	secret := emulator.DevApps()[0].Secret
	for name, out := range map[string]string{"stdout": stdout, "stderr": stderr, "json": string(b)} {
		if strings.Contains(out, secret) {
			t.Errorf("%s carries the app secret", name)
		}
	}
}

// TestBenchCommandURL drives a pair that runs on its own, by URL.
func TestBenchCommandURL(t *testing.T) {
	t.Parallel()
	stack, err := startBenchStack(t.Context(), "", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	code, stdout, stderr := runBenchCommand(t, "--url", stack.api.APIURL, "--emulator", stack.emuURL,
		"--clients", "2", "--round", "100ms", "--rounds", "1", "--users", "5", "--workloads", "verify,login-returning")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"verify ", "login-returning "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "login-new") {
		t.Errorf("stdout has a workload not asked for:\n%s", stdout)
	}
	if strings.Contains(stderr, "started wxlogin") {
		t.Errorf("bench started its own pair although given one:\n%s", stderr)
	}
}

// TestBenchCommandBaselineURL compares logins at --url with logins at
// --baseline-url (here the same server, as a cluster's load balancer and one
// of its instances would be): the baseline side logs in at that URL, not at
// the emulator, and both sides do work.
func TestBenchCommandBaselineURL(t *testing.T) {
	t.Parallel()
	stack, err := startBenchStack(t.Context(), "", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	jsonPath := filepath.Join(t.TempDir(), "bench.json")
	code, stdout, stderr := runBenchCommand(t, "--url", stack.api.APIURL, "--emulator", stack.emuURL, "--baseline-url", stack.api.APIURL,
		"--clients", "2", "--round", "500ms", "--rounds", "2", "--workloads", "login-new", "--json", jsonPath)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	rep, _ := readReport(t, jsonPath)
	if len(rep.Results) != 1 {
		t.Fatalf("report %+v, want one result", rep)
	}
	r := rep.Results[0]
	if want := "the same logins at " + stack.api.APIURL; r.Baseline != want {
		t.Errorf("baseline %q, want %q", r.Baseline, want)
	}
	if r.Wxlogin.Ops == 0 || r.BaselineRun.Ops == 0 || r.Wxlogin.Errors+r.BaselineRun.Errors != 0 {
		t.Errorf("sides: %+v and %+v, want work and no errors on both", r.Wxlogin, r.BaselineRun)
	}
	if !strings.Contains(stdout, "baseline: the same logins at "+stack.api.APIURL) {
		t.Errorf("stdout does not name the baseline URL:\n%s", stdout)
	}
}

func TestBenchCommandBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown workload", []string{"--workloads", "logins", "--round", time.Millisecond.String()}, 1, `unknown workload "logins"`},
		{"url without emulator", []string{"--url", "http://127.0.0.1:1"}, 2, "--url and --emulator go together"},
		{"stray argument", []string{"now"}, 2, `unexpected argument "now"`},
		{"revocation without url", []string{"--workloads", "revocation", "--peers", "http://127.0.0.1:1"}, 2, "give --url and --emulator"},
		{"revocation without peers", []string{"--url", "http://127.0.0.1:1", "--emulator", "http://127.0.0.1:2", "--workloads", "revocation"}, 2, "--peers go together"},
		{"baseline url without url", []string{"--baseline-url", "http://127.0.0.1:1"}, 2, "give --url and --emulator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runBenchCommand(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}

// TestBenchCommandPostgres runs the bench on a PostgreSQL store it is
// given: every workload does work, and the users it logged in are rows of
// that database.
func TestBenchCommandPostgres(t *testing.T) {
	t.Parallel()
	dbURL := newPostgresDB(t, testPostgresURL(t))
	code, stdout, stderr := runBenchCommand(t, "--store", dbURL, "--clients", "2", "--round", "100ms", "--rounds", "1",
		"--users", "5", "--workloads", "login-new,verify")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"login-new ", "verify "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "store postgres://") {
		t.Errorf("stderr does not name the PostgreSQL store:\n%s", stderr)
	}
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var users int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM users`).Scan(&users); err != nil {
		t.Fatal(err)
	}
	if users < 5 {
		t.Errorf("%d users in the PostgreSQL store, want at least the 5 returning users", users)
	}

	if code, _, stderr := runBenchCommand(t, "--store", dbURL, "--url", "http://127.0.0.1:1", "--emulator", "http://127.0.0.1:1"); code != 2 {
		t.Errorf("--store with --url: exit %d, want 2; stderr:\n%s", code, stderr)
	}
}

// TestBenchRevocationSeesStaleInstances checks that the revocation
// measurement can fail: two instances on one PostgreSQL without Redis (each
// told it is the only one) do not tell each other of a logout, so the peer
// keeps accepting the token from its cache, and every sample must say so.
func TestBenchRevocationSeesStaleInstances(t *testing.T) {
	t.Parallel()
	dbURL := newPostgresDB(t, testPostgresURL(t))
	getenv := func(string) string { return "" }
	a, err := startBenchStack(t.Context(), dbURL, getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := startBenchStack(t.Context(), dbURL, getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rev, err := loadgen.MeasureRevocation(t.Context(), loadgen.RevocationConfig{
		APIURL: a.api.APIURL, Peers: []string{b.api.APIURL}, EmulatorURL: a.emuURL,
		AppID: emulator.DevApps()[0].AppID, Samples: 3, Timeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := rev.Peers[0]; p.Samples != 3 || p.NotRefused != 3 {
		t.Errorf("peer without the revocation bus: %+v, want all 3 samples not refused", p)
	}
	// The instance that logged the token out refuses it at once.
	rev, err = loadgen.MeasureRevocation(t.Context(), loadgen.RevocationConfig{
		APIURL: a.api.APIURL, Peers: []string{a.api.APIURL}, EmulatorURL: a.emuURL,
		AppID: emulator.DevApps()[0].AppID, Samples: 3, Timeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := rev.Peers[0]; p.Samples != 3 || p.NotRefused != 0 {
		t.Errorf("the logging-out instance itself: %+v, want all 3 samples refused", p)
	}
}

// TestBenchCommandSessions runs the verify-sessions workloads briefly with
// small numbers: a wxlogin holding 5,000 imported sessions against one
// holding 100, uniform and Zipf draws. Every request on both sides must
// have been answered 200 with a principal, every one from the cache (no
// store read during the measurement), and the report must have the shape
// of the other workloads'. The bench's tokens stay in its memory: none
// appears in any output.
func TestBenchCommandSessions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jsonPath, svgPath := filepath.Join(dir, "bench.json"), filepath.Join(dir, "bench.svg")
	code, stdout, stderr := runBenchCommand(t, "--workloads", "verify-sessions-uniform,verify-sessions-zipf",
		"--sessions", "5000", "--baseline-sessions", "100", "--clients", "4", "--round", "500ms", "--rounds", "2",
		"--json", jsonPath, "--svg", svgPath)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	rep, b := readReport(t, jsonPath)
	want := []struct{ workload, dist string }{
		{loadgen.VerifySessionsUniform, "uniform"},
		{loadgen.VerifySessionsZipf, "zipf"},
	}
	if len(rep.Results) != len(want) {
		t.Fatalf("%d results, want %d:\n%s", len(rep.Results), len(want), b)
	}
	for i, r := range rep.Results {
		if r.Workload != want[i].workload || r.Distribution != want[i].dist {
			t.Errorf("result %d: workload %q distribution %q, want %q %q", i, r.Workload, r.Distribution, want[i].workload, want[i].dist)
		}
		if r.Sessions != 5000 || r.BaselineSessions != 100 {
			t.Errorf("%s: %d sessions against %d, want 5000 against 100", r.Workload, r.Sessions, r.BaselineSessions)
		}
		for side, st := range map[string]loadgen.Stats{"wxlogin": r.Wxlogin, "baseline": r.BaselineRun} {
			if st.Ops <= 0 || st.PerSecond <= 0 {
				t.Errorf("%s %s: %d ops at %.1f/s, want some", r.Workload, side, st.Ops, st.PerSecond)
			}
			if st.Errors != 0 {
				t.Errorf("%s %s: %d requests not answered 200, first %q", r.Workload, side, st.Errors, st.FirstErr)
			}
			if !(0 < st.P50ms && st.P50ms <= st.P90ms && st.P90ms <= st.P99ms) {
				t.Errorf("%s %s: percentiles p50 %v p90 %v p99 %v, want 0 < p50 <= p90 <= p99", r.Workload, side, st.P50ms, st.P90ms, st.P99ms)
			}
			if runtime.GOOS == "linux" && st.CPUPerOpMicros <= 0 {
				t.Errorf("%s %s: CPU per op %v µs, want the process's CPU time counted", r.Workload, side, st.CPUPerOpMicros)
			}
		}
		if len(r.RoundRatios) != 2 || r.Ratio <= 0 {
			t.Errorf("%s: ratio %v from rounds %v, want a positive ratio from 2 rounds", r.Workload, r.Ratio, r.RoundRatios)
		}
		if runtime.GOOS == "linux" && (len(r.RoundCPURatios) != 2 || r.CPURatio <= 0) {
			t.Errorf("%s: CPU ratio %v from rounds %v, want a positive ratio from 2 rounds", r.Workload, r.CPURatio, r.RoundCPURatios)
		}
		if strings.Join(r.FirstInRound, ",") != "wxlogin,baseline" {
			t.Errorf("%s: first in rounds %v, want the sides to alternate", r.Workload, r.FirstInRound)
		}
		if !strings.Contains(stdout, r.Workload+" ") {
			t.Errorf("stdout lacks %s:\n%s", r.Workload, stdout)
		}
		if perCPU := regexp.MustCompile(regexp.QuoteMeta(r.Workload) + ` +per CPU second `); runtime.GOOS == "linux" && !perCPU.MatchString(stdout) {
			t.Errorf("stdout lacks %s's ratio per CPU second:\n%s", r.Workload, stdout)
		}
	}
	s := rep.Sessions
	if s == nil {
		t.Fatalf("the report has no sessions setup:\n%s", b)
	}
	if s.Sessions != 5000 || s.BaselineSessions != 100 {
		t.Errorf("setup: %d and %d sessions, want 5000 and 100", s.Sessions, s.BaselineSessions)
	}
	// Warming verified every session once, each a miss; the measurement
	// then found every token in the cache.
	if s.WarmMisses != 5000 || s.BaselineWarmMisses != 100 {
		t.Errorf("warming missed %d and %d times, want 5000 and 100 (every session once)", s.WarmMisses, s.BaselineWarmMisses)
	}
	if s.RunMisses != 0 || s.BaselineRunMisses != 0 {
		t.Errorf("%d and %d cache misses during the measurement, want none", s.RunMisses, s.BaselineRunMisses)
	}
	if s.RunHits == 0 || s.BaselineRunHits == 0 {
		t.Errorf("%d and %d cache hits during the measurement, want the requests'", s.RunHits, s.BaselineRunHits)
	}
	for _, line := range []string{"bench: imported 5000/5000 sessions", "bench: imported 100/100 sessions", "bench: verified 5000/5000 sessions",
		"bench: verify-sessions-zipf round 2/2 baseline"} {
		if !strings.Contains(stderr, line) {
			t.Errorf("stderr lacks %q:\n%s", line, stderr)
		}
	}
	svg, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		for _, side := range []string{"wxlogin", "baseline"} {
			if n := strings.Count(string(svg), `data-series="`+w.workload+" "+side+`"`); n != 4 {
				t.Errorf("series %q drawn %d times, want 4 (2 panels × 2 rounds)", w.workload+" "+side, n)
			}
		}
	}
	// The tokens the bench made are login tokens (wxl_…): none may leave
	// its memory.
	for name, out := range map[string]string{"stdout": stdout, "stderr": stderr, "json": string(b), "svg": string(svg)} {
		if strings.Contains(out, "wxl_") {
			t.Errorf("%s carries a login token", name)
		}
	}
}

func TestBenchCommandSessionsBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"with url", []string{"--url", "http://127.0.0.1:1", "--emulator", "http://127.0.0.1:2", "--workloads", "verify-sessions-uniform"}, "in the wxlogin bench starts"},
		{"with store", []string{"--store", "postgres://u@127.0.0.1:1/db", "--workloads", "verify-sessions-zipf"}, "in the wxlogin bench starts"},
		{"more than the cache holds", []string{"--workloads", "verify-sessions-uniform", "--sessions", "1000001"}, "--sessions 1000001 is more than the verification cache holds (1000000)"},
		{"no sessions", []string{"--workloads", "verify-sessions-uniform", "--sessions", "0"}, "--sessions and --baseline-sessions must be at least 1"},
		{"no baseline sessions", []string{"--workloads", "verify-sessions-zipf", "--baseline-sessions", "-1"}, "--sessions and --baseline-sessions must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runBenchCommand(t, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

// readReport reads the JSON report that `bench --json` wrote at path, and
// returns it with its bytes.
func readReport(t *testing.T, path string) (loadgen.Report, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep loadgen.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("the JSON does not parse: %v\n%s", err, b)
	}
	return rep, b
}
