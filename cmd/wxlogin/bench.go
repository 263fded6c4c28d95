package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/loadgen"
)

func init() {
	commands["bench"] = command{Summary: "measure logins and verifications beside a baseline in the same run", Run: runBench}
}

const benchUsage = `Usage: wxlogin bench [flags]

Drives logins (a fresh code from the emulator's wx.login for each, new and
returning users) and verifications (GET /v1/auth with valid tokens) at a
wxlogin and its WeChat emulator, and measures each beside a baseline in the
same run: the emulator round trip alone (wx.login plus one jscode2session)
for logins, a bare net/http handler for verification. Rounds alternate which
side goes first; the ratio is the median of the rounds' ratios.

Without --url it starts its own emulator and wxlogin (SQLite in a temporary
folder, or the store --store names; limits raised) in this process. A
postgres:// store takes its password from WXLOGIN_STORE_PASSWORD or
WXLOGIN_STORE_PASSWORD_FILE, as serve does; use a database of its own, since
the bench leaves its users and sessions there. With --url, point --emulator at the
emulator that wxlogin's wechat_base_url names, give the app's --appid and
--secret (the emulator's, never WeChat's), and raise wxlogin's login limits.

Against a cluster (scripts/cluster): --baseline-url names one instance, and
the login workloads then compare --url (the load balancer) with that
instance instead of with the emulator round trip; the revocation workload
logs a user in and out at --url, each time polling every instance of --peers
for its first 401, and reports the delays' percentiles (--samples logouts).

The verify-sessions-uniform and verify-sessions-zipf workloads (in the
wxlogin bench starts, not with --url or --store) measure GET /v1/auth at a
wxlogin holding --sessions sessions against a second one holding
--baseline-sessions: it imports the sessions into both SQLite stores (tokens
made by the bench and kept only in its memory), verifies each once so that
both verification caches hold all of them, then draws tokens uniformly or
with a Zipf popularity (s = 1.1). Both run with a touch interval of a day,
so that no request writes a touch.

Flags:
`

func runBench(ctx context.Context, args []string, e env) int {
	fset := flag.NewFlagSet("bench", flag.ContinueOnError)
	fset.SetOutput(e.Stderr)
	fset.Usage = func() { fmt.Fprint(e.Stderr, benchUsage); fset.PrintDefaults() }
	apiURL := fset.String("url", "", "base URL of a running wxlogin (empty: start one in process)")
	emuURL := fset.String("emulator", "", "base URL of the emulator of --url")
	dev := emulator.DevApps()[0]
	appID := fset.String("appid", dev.AppID, "app to log in to")
	secret := fset.String("secret", dev.Secret, "the app's secret at the emulator (for the baseline's jscode2session)")
	clients := fset.Int("clients", 16, "concurrent clients")
	round := fset.Duration("round", 2*time.Second, "how long each side runs per round")
	rounds := fset.Int("rounds", 3, "rounds per workload")
	users := fset.Int("users", 1000, "returning users (each logged in once before the run)")
	workloads := fset.String("workloads", strings.Join(loadgen.Workloads, ","), "comma-separated workloads: "+strings.Join(loadgen.Workloads, ", ")+", "+strings.Join(loadgen.SessionWorkloads, ", ")+" (without --url), "+revocationWorkload+" (with --url and --peers)")
	sessions := fset.Int("sessions", 1_000_000, "sessions of the wxlogin the verify-sessions workloads measure (at most the verification cache's 1000000)")
	baselineSessions := fset.Int("baseline-sessions", 1000, "sessions of the wxlogin the verify-sessions workloads measure it against")
	baselineURL := fset.String("baseline-url", "", "with --url: measure the login workloads against the same logins at this wxlogin (one instance of a cluster) instead of the emulator round trip")
	bareBackend := fset.Bool("bare-backend", true, "also measure the login workloads against a bare backend in this process (wx.login, then a POST /v1/login that only trades the code at jscode2session); not with --baseline-url")
	peers := fset.String("peers", "", "with --url: comma-separated base URLs of the other instances, for the "+revocationWorkload+" workload")
	samples := fset.Int("samples", 200, "logouts the "+revocationWorkload+" workload measures")
	storeURL := fset.String("store", "", "store of the wxlogin bench starts (empty: SQLite in a temporary folder); not with --url")
	jsonPath := fset.String("json", "", "write the report as JSON to this file")
	svgPath := fset.String("svg", "", "write an SVG chart of throughput and latency over the run to this file")
	cpuProfile := fset.String("cpuprofile", "", "write a CPU profile of the whole process (load generator, emulator and an in-process wxlogin) to this file")
	if fset.Parse(args) != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(e.Stderr, "wxlogin bench: %v\n", err)
		return 1
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(e.Stderr, "wxlogin bench: unexpected argument %q\n", fset.Arg(0))
		return 2
	}
	var names []string
	revocation, manySessions := false, false
	for _, w := range strings.Split(*workloads, ",") {
		if w = strings.TrimSpace(w); w == "" {
			continue
		}
		if w == revocationWorkload {
			revocation = true
			continue
		}
		if slices.Contains(loadgen.SessionWorkloads, w) {
			manySessions = true
		} else if !slices.Contains(loadgen.Workloads, w) {
			return fail(fmt.Errorf("unknown workload %q (known: %s, %s, %s)", w, strings.Join(loadgen.Workloads, ", "), strings.Join(loadgen.SessionWorkloads, ", "), revocationWorkload))
		}
		names = append(names, w)
	}
	var peerURLs []string
	for _, p := range strings.Split(*peers, ",") {
		if p = strings.TrimRight(strings.TrimSpace(p), "/"); p != "" {
			peerURLs = append(peerURLs, p)
		}
	}
	if (*baselineURL != "" || revocation || len(peerURLs) > 0) && *apiURL == "" {
		fmt.Fprintln(e.Stderr, "wxlogin bench: --baseline-url, --peers and the "+revocationWorkload+" workload measure a running deployment: give --url and --emulator")
		return 2
	}
	if revocation != (len(peerURLs) > 0) {
		fmt.Fprintln(e.Stderr, "wxlogin bench: the "+revocationWorkload+" workload and --peers go together")
		return 2
	}
	if (*apiURL == "") != (*emuURL == "") {
		fmt.Fprintln(e.Stderr, "wxlogin bench: --url and --emulator go together")
		return 2
	}
	if *apiURL != "" && *storeURL != "" {
		fmt.Fprintln(e.Stderr, "wxlogin bench: --store is for the wxlogin bench starts; not with --url")
		return 2
	}
	if manySessions {
		switch {
		case *apiURL != "" || *storeURL != "":
			fmt.Fprintln(e.Stderr, "wxlogin bench: the verify-sessions workloads import their sessions into the SQLite stores of servers they start: they run in the wxlogin bench starts, not with --url or --store")
			return 2
		case *sessions < 1 || *baselineSessions < 1:
			fmt.Fprintln(e.Stderr, "wxlogin bench: --sessions and --baseline-sessions must be at least 1")
			return 2
		case max(*sessions, *baselineSessions) > auth.DefaultCacheSize:
			// More would measure evictions and store reads, not the cache.
			flagName, n := "sessions", *sessions
			if *baselineSessions > n {
				flagName, n = "baseline-sessions", *baselineSessions
			}
			fmt.Fprintf(e.Stderr, "wxlogin bench: --%s %d is more than the verification cache holds (%d)\n", flagName, n, auth.DefaultCacheSize)
			return 2
		}
	}
	var stack *benchStack
	if *apiURL == "" {
		var err error
		stack, err = startBenchStack(ctx, *storeURL, e.Getenv)
		if err != nil {
			return fail(err)
		}
		defer stack.Close()
		*apiURL, *emuURL = stack.api.APIURL, stack.emuURL
		*appID, *secret = dev.AppID, dev.Secret
		fmt.Fprintf(e.Stderr, "bench: started wxlogin at %s and its emulator at %s (store %s)\n", *apiURL, *emuURL, redactURL(stack.api.Config.Store))
	}
	var many *sessionStacks
	if manySessions {
		var err error
		if many, err = startSessionStacks(ctx, *sessions, *baselineSessions, e.Stderr, e.Getenv); err != nil {
			return fail(err)
		}
		defer many.Close()
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fail(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	cfg := loadgen.Config{
		APIURL:         strings.TrimRight(*apiURL, "/"),
		EmulatorURL:    strings.TrimRight(*emuURL, "/"),
		AppID:          *appID,
		Secret:         *secret,
		Clients:        *clients,
		Round:          *round,
		Rounds:         *rounds,
		Users:          *users,
		Workloads:      names,
		BaselineAPIURL: strings.TrimRight(*baselineURL, "/"),
		BareBackend:    *bareBackend && *baselineURL == "",
		MeasureCPU:     stack != nil,
		Progress:       e.Stderr,
	}
	if many != nil {
		cfg.Sessions = &many.sessions
	}
	rep := &loadgen.Report{Started: time.Now().UTC(), Clients: *clients, RoundSeconds: round.Seconds(), Rounds: *rounds}
	if len(names) > 0 {
		var err error
		if rep, err = loadgen.Run(ctx, cfg); err != nil {
			return fail(err)
		}
	}
	if many != nil {
		rep.Sessions = many.measured()
	}
	if revocation {
		rev, err := loadgen.MeasureRevocation(ctx, loadgen.RevocationConfig{
			APIURL: cfg.APIURL, Peers: peerURLs, EmulatorURL: cfg.EmulatorURL, AppID: cfg.AppID,
			Samples: *samples, Progress: e.Stderr,
		})
		if err != nil {
			return fail(err)
		}
		rep.Revocation = rev
	}
	printBench(e.Stdout, rep)
	if stack != nil {
		if g, ok := stack.api.stores.Users.(interface{ GroupStats() (int64, int64) }); ok {
			if commits, writes := g.GroupStats(); commits > 0 {
				fmt.Fprintf(e.Stdout, "store: %d logins in %d group commits (%.1f per commit)\n", writes, commits, float64(writes)/float64(commits))
			}
		}
	}
	if *jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fail(err)
		}
		if err := os.WriteFile(*jsonPath, append(b, '\n'), 0o644); err != nil {
			return fail(err)
		}
	}
	if *svgPath != "" && len(rep.Results) > 0 {
		f, err := os.Create(*svgPath)
		if err != nil {
			return fail(err)
		}
		err = loadgen.WriteSVG(f, rep)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fail(err)
		}
	}
	return 0
}

func printBench(w io.Writer, rep *loadgen.Report) {
	defer func() {
		if rep.Revocation != nil {
			printRevocation(w, rep.Revocation)
		}
	}()
	if len(rep.Results) == 0 {
		return
	}
	fmt.Fprintf(w, "wxlogin bench: %d clients, %d rounds of %gs per side\n\n", rep.Clients, rep.Rounds, rep.RoundSeconds)
	fmt.Fprintf(w, "%-23s %-9s %9s %9s %8s %8s %8s %7s %10s\n", "workload", "side", "ops", "per_s", "p50_ms", "p90_ms", "p99_ms", "errors", "cpu_us/op")
	for _, r := range rep.Results {
		sides := []struct {
			name string
			st   loadgen.Stats
		}{{"wxlogin", r.Wxlogin}, {"baseline", r.BaselineRun}}
		if r.Backend != nil {
			sides = append(sides, struct {
				name string
				st   loadgen.Stats
			}{loadgen.SideBackend, *r.Backend})
		}
		for _, s := range sides {
			cpu := "-"
			if s.st.CPUPerOpMicros > 0 {
				cpu = fmt.Sprintf("%.0f", s.st.CPUPerOpMicros)
			}
			fmt.Fprintf(w, "%-23s %-9s %9d %9.0f %8.2f %8.2f %8.2f %7d %10s\n", r.Workload, s.name, s.st.Ops, s.st.PerSecond, s.st.P50ms, s.st.P90ms, s.st.P99ms, s.st.Errors, cpu)
		}
		fmt.Fprintf(w, "%-23s ratio %.3f (median of rounds %s; baseline: %s)\n", r.Workload, r.Ratio, formatRatios(r.RoundRatios), r.Baseline)
		if r.CPURatio > 0 {
			fmt.Fprintf(w, "%-23s per CPU second %.3f (median of rounds %s)\n", r.Workload, r.CPURatio, formatRatios(r.RoundCPURatios))
		}
		if r.Backend != nil {
			fmt.Fprintf(w, "%-23s ratio %.3f against the bare backend (median of rounds %s; wx.login, then POST /v1/login trading the code and storing nothing)\n", r.Workload, r.BackendRatio, formatRatios(r.BackendRoundRatios))
		}
		for _, s := range sides {
			s := s.st
			if s.FirstErr != "" {
				fmt.Fprintf(w, "%-23s first error: %s\n", r.Workload, s.FirstErr)
			}
		}
	}
	if s := rep.Sessions; s != nil {
		fmt.Fprintf(w, "\nverify-sessions: %d sessions against %d, imported in %.1fs, each verified once in %.1fs (cache misses %d and %d)\n",
			s.Sessions, s.BaselineSessions, s.ImportSeconds, s.WarmSeconds, s.WarmMisses, s.BaselineWarmMisses)
		fmt.Fprintf(w, "verify-sessions: during the run, cache hits %d and %d, misses %d and %d; touch interval %s\n",
			s.RunHits, s.BaselineRunHits, s.RunMisses, s.BaselineRunMisses, time.Duration(s.TouchIntervalSeconds*float64(time.Second)))
	}
}

// revocationWorkload is the workload that is not a side-by-side
// comparison: a logout at --url, timed until each of --peers refuses the
// token (loadgen.MeasureRevocation).
const revocationWorkload = "revocation"

func printRevocation(w io.Writer, rev *loadgen.RevocationReport) {
	fmt.Fprintf(w, "\nrevocation: logout at %s answered, then the first 401 at each peer (%d samples)\n", rev.APIURL, rev.Samples)
	fmt.Fprintf(w, "%-28s %7s %8s %8s %8s %8s %11s %13s\n", "peer", "samples", "p50_ms", "p90_ms", "p99_ms", "max_ms", "not_refused", "before_answer")
	row := func(name string, p loadgen.Propagation) {
		fmt.Fprintf(w, "%-28s %7d %8.2f %8.2f %8.2f %8.2f %11d %13d\n", name, p.Samples, p.P50ms, p.P90ms, p.P99ms, p.MaxMs, p.NotRefused, p.BeforeAnswer)
	}
	for _, p := range rev.Peers {
		row(p.URL, p.Propagation)
	}
	row("all peers", rev.All)
}

func formatRatios(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.3f", x)
	}
	return strings.Join(s, ", ")
}

// benchStack is the emulator and wxlogin that bench starts for itself.
type benchStack struct {
	dir    string
	emu    *http.Server
	emuURL string
	api    *Main
}

// startBenchStack starts the emulator and a wxlogin on store (empty: a
// SQLite file in a temporary folder), its config changed by options.
func startBenchStack(ctx context.Context, store string, getenv func(string) string, options ...func(*config)) (*benchStack, error) {
	dir, err := os.MkdirTemp("", "wxlogin-bench-")
	if err != nil {
		return nil, err
	}
	s := &benchStack{dir: dir}
	em := emulator.New(emulator.DevApps()...)
	em.Logger = slog.New(slog.DiscardHandler)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.emu = &http.Server{Handler: em, ReadHeaderTimeout: 10 * time.Second}
	go s.emu.Serve(ln)
	s.emuURL = "http://" + ln.Addr().String()
	keys, err := keyring.New(keyring.Generate("bench1"))
	if err != nil {
		s.emu.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	app := emulator.DevApps()[0]
	// A load generator is one client address sending thousands of logins a
	// second: production's per-IP and per-app limits would measure
	// themselves, not the login.
	unlimited := limitConfig{Rate: 1e9, Burst: 1e9}
	if store == "" {
		store = "sqlite://" + filepath.Join(dir, "wxlogin.db")
	}
	s.api = &Main{
		Config: config{
			Addr:  "127.0.0.1:0",
			Store: store,
			// The bench runs exactly one instance.
			SingleInstance: true,
			Data:           dir,
			WeChatBaseURL:  s.emuURL,
			apps:           []wxlogin.App{{AppID: app.AppID, Secret: wxlogin.Secret(app.Secret)}},
			masterKey:      keys,
			Limits: limitsConfig{
				LoginPerIP:        unlimited,
				LoginPerApp:       unlimited,
				DecryptPerSession: unlimited,
				AvatarPerUser:     unlimited,
			},
		},
		Logger: slog.New(slog.DiscardHandler),
	}
	for _, o := range options {
		o(&s.api.Config)
	}
	if err := s.api.Config.resolveStore(getenv); err != nil {
		s.emu.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.api.Start(ctx); err != nil {
		s.emu.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *benchStack) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.api.Close(ctx)
	s.emu.Close()
	os.RemoveAll(s.dir)
}
