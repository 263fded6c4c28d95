package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin/emulator"
)

func init() {
	commands["emulator"] = command{
		Summary: "run the WeChat emulator alone: WeChat's server APIs and the device API",
		Run:     runEmulator,
	}
}

const emulatorUsage = `Usage: wxlogin emulator [flags]

Runs WeChat's emulator: WeChat's server APIs at their own paths (point a
client's base URL here) and the device API under /emulator/v1/ (wx.login and
friends for simulated users). See 'go doc github.com/wxlogin/wxlogin/emulator'.

Apps come from --app (repeatable), else from WXLOGIN_EMULATOR_APPS (the same
specs separated by commas or spaces), else the three dev apps. A spec is
appid:secret[:open]; ":open" binds the app to the Open Platform account, so
its users get unionids. The secrets are the emulator's own, never WeChat's.

Flags:
`

// appSpecs collects repeated --app flags.
type appSpecs []emulator.App

func (s *appSpecs) String() string {
	ids := make([]string, len(*s))
	for i, a := range *s {
		ids[i] = a.AppID
	}
	return strings.Join(ids, ",")
}

func (s *appSpecs) Set(v string) error {
	a, err := parseAppSpec(v)
	if err != nil {
		return err
	}
	*s = append(*s, a)
	return nil
}

// parseAppSpec parses appid:secret[:open].
func parseAppSpec(spec string) (emulator.App, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return emulator.App{}, fmt.Errorf("app %q: want appid:secret[:open]", spec)
	}
	a := emulator.App{AppID: parts[0], Secret: parts[1]}
	if len(parts) == 3 {
		switch parts[2] {
		case "open", "true", "1":
			a.OpenPlatform = true
		case "", "closed", "false", "0":
		default:
			return emulator.App{}, fmt.Errorf("app %q: the third part is \"open\" or nothing", parts[0])
		}
	}
	return a, nil
}

// emulatorApps returns the apps of --app, else of WXLOGIN_EMULATOR_APPS,
// else the dev apps.
func emulatorApps(flagged appSpecs, getenv func(string) string) ([]emulator.App, error) {
	if len(flagged) > 0 {
		return flagged, nil
	}
	env := strings.TrimSpace(getenv("WXLOGIN_EMULATOR_APPS"))
	if env == "" {
		return emulator.DevApps(), nil
	}
	var apps []emulator.App
	for _, spec := range strings.FieldsFunc(env, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		a, err := parseAppSpec(spec)
		if err != nil {
			return nil, fmt.Errorf("WXLOGIN_EMULATOR_APPS: %v", err)
		}
		apps = append(apps, a)
	}
	return apps, nil
}

func runEmulator(ctx context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprint(e.Stderr, emulatorUsage)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:8081", "address to listen on (port 0 picks a free port)")
	var specs appSpecs
	fs.Var(&specs, "app", "an app as appid:secret[:open] (repeatable)")
	privacy := fs.Bool("privacy", true, "require privacy authorization before privacy APIs on base library 2.32.3+, as WeChat does (--privacy=false: a mini program without privacy guidelines)")
	logins := fs.Int("logins-per-second", 0, "limit wx.login per user and app per second (WeChat: 4; 0: off)")
	c2s := fs.Int("code2session-per-minute", 0, "limit jscode2session per user and app per minute, 45011 beyond (0: off)")
	cors := fs.String("cors-origin", "", "Access-Control-Allow-Origin for the device API, for a page on another origin (e.g. *)")
	debug := fs.Bool("debug", false, "log at debug level")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.Stderr, "wxlogin emulator: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(e.Stderr, "wxlogin emulator: %v\n", err)
		return 1
	}
	apps, err := emulatorApps(specs, e.Getenv)
	if err != nil {
		return fail(err)
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}

	em := emulator.New(apps...)
	em.Logger = slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: level}))
	em.NoPrivacyCheck = !*privacy
	em.LoginsPerSecond = *logins
	em.Code2SessionPerMinute = *c2s
	em.CORSOrigin = *cors

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fail(err)
	}
	srv := &http.Server{Handler: em, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	url := "http://" + ln.Addr().String()
	fmt.Fprintf(e.Stdout, "wxlogin emulator: listening on %s\n", url)
	for _, a := range em.AppList() {
		bound := "not bound to the Open Platform (no unionid)"
		if a.OpenPlatform {
			bound = "bound to the Open Platform (unionid)"
		}
		fmt.Fprintf(e.Stdout, "wxlogin emulator: app %s secret %s, %s\n", a.AppID, a.Secret, bound)
	}
	for _, c := range em.CorpList() {
		fmt.Fprintf(e.Stdout, "wxlogin emulator: WeCom corp %s corpsecret %s (wx.qy.login)\n", c.CorpID, c.Secret)
	}
	fmt.Fprintf(e.Stdout, "wxlogin emulator: WeChat base URL %s; device API %s%s\n", url, url, emulator.DevicePrefix)

	select {
	case <-ctx.Done():
	case err := <-served:
		return fail(err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Shutdown waits for requests in flight, including injected delays,
	// which end when their clients give up; Close after the timeout.
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
	}
	return 0
}
