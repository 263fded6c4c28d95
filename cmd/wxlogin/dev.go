package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/playground"
)

// devAdminToken is the admin token of dev mode: fixed and documented so the
// README's admin curl commands work as written. Dev mode listens on
// loopback and serves only the emulator's fake apps.
const devAdminToken = "wxlogin-dev-admin-token"

func init() {
	commands["dev"] = command{Summary: "run the server and a WeChat emulator for development (nothing to set up)", Run: runDev}
}

func runDev(ctx context.Context, args []string, e env) int {
	fset := flag.NewFlagSet("dev", flag.ContinueOnError)
	fset.SetOutput(e.Stderr)
	addr := fset.String("addr", "127.0.0.1:8080", "address of the API (port 0 picks a free port)")
	emuAddr := fset.String("emulator-addr", "127.0.0.1:8081", "address of the WeChat emulator (port 0 picks a free port)")
	data := fset.String("data", ".wxlogin", "folder for the SQLite store, avatars and the dev master key")
	logLevel := fset.String("log-level", "info", "debug, info, warn or error")
	weCom := fset.Bool("wecom", false, "also serve the WeCom app "+devWeComApp+" (the emulator's first corp; wx.qy.login) and the WeCom suite app "+devSuiteApp+" (the emulator's dev suite, pushed its suite_ticket)")
	policy := fset.String("session-policy", auth.PolicyOwn, "the dev apps' session policy: own, or wechat (a session ends when WeChat's session_key for it dies)")
	checkEvery := fset.Duration("session-check-interval", auth.DefaultKeyCheckInterval, "with --session-policy wechat: least time between two checks of one session's key")
	var webPages pageList
	fset.Var(&webPages, "web-redirect-uri", "another page the dev web apps may return to (repeatable), e.g. your frontend dev server's, which proxies /v1/, /connect/ and /emulator/ to this server")
	autoApprove := fset.String("web-auto-approve", "", "approve every web authorization at once as this simulated user (no phone step)")
	if fset.Parse(args) != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(e.Stderr, "wxlogin dev: %v\n", err)
		return 1
	}
	if _, err := parseLevel(*logLevel); err != nil {
		return fail(err)
	}
	// Each flagged page is checked as a configured redirect_uris entry is,
	// so that the error names the flag rather than an app of dev's own.
	for _, page := range webPages {
		web := emulator.DevWebApps()[0]
		check := auth.Config{Apps: []wxlogin.App{{AppID: web.AppID, Secret: wxlogin.Secret(web.Secret),
			Kind: wxlogin.AppKind(web.Kind), RedirectURIs: []string{page}}}}
		var bad *auth.ConfigError
		if err := check.Validate(); errors.As(err, &bad) {
			return fail(fmt.Errorf("--web-redirect-uri: %s", bad.Problem))
		}
	}
	logger := newLogger(e.Stderr, *logLevel, "text")
	dir, err := filepath.Abs(*data)
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(err)
	}
	keys, err := devMasterKey(filepath.Join(dir, "master.key"))
	if err != nil {
		return fail(err)
	}

	// One clock for both: when a developer moves the server's clock
	// (POST /dev/v1/clock), WeChat's moves too, so watermarks stay fresh
	// and codes age. The emulator's own clock control adds on top of it.
	clock := &offsetClock{}
	em := emulator.New(append(emulator.DevApps(), emulator.DevWebApps()...)...)
	em.Logger = logger.With("component", "emulator")
	em.Now = clock.Now
	em.AutoApproveWeb = *autoApprove
	emuLn, err := net.Listen("tcp", *emuAddr)
	if err != nil {
		return fail(fmt.Errorf("emulator-addr: %v", err))
	}
	emuServer := &http.Server{Handler: em, ReadHeaderTimeout: 10 * time.Second}
	go emuServer.Serve(emuLn)
	defer emuServer.Close()
	emuURL := "http://" + emuLn.Addr().String()

	// Every app the emulator knows, so that the unionid shared by its
	// first two can be tried; a login without appid is for the first.
	var apps []wxlogin.App
	for _, a := range emulator.DevApps() {
		apps = append(apps, wxlogin.App{AppID: a.AppID, Secret: wxlogin.Secret(a.Secret)})
	}
	// The web apps return to the playground, so the API's address must be
	// known before the apps are: a port 0 is turned into a free port now.
	if _, port, err := net.SplitHostPort(*addr); err == nil && port == "0" {
		if ln, err := net.Listen("tcp", *addr); err == nil {
			*addr = ln.Addr().String()
			ln.Close()
		}
	}
	for _, a := range emulator.DevWebApps() {
		apps = append(apps, wxlogin.App{AppID: a.AppID, Secret: wxlogin.Secret(a.Secret), Kind: wxlogin.AppKind(a.Kind),
			OpenPlatform: "dev", RedirectURIs: append(devRedirectURIs(*addr), webPages...)})
	}
	if *weCom {
		// A mini program inside WeCom: its own appid in wxlogin, the
		// emulator's first corp and that corp's fake secret.
		corp := emulator.DevCorps()[0]
		apps = append(apps, wxlogin.App{AppID: devWeComApp, Kind: wxlogin.KindWeCom,
			CorpID: corp.CorpID, Secret: wxlogin.Secret(corp.Secret)}, devSuiteAppConfig())
	}
	app := emulator.DevApps()[0]
	var policies map[string]auth.SessionPolicy
	if *policy != auth.PolicyOwn {
		policies = map[string]auth.SessionPolicy{}
		for _, a := range apps {
			// Only a WeChat mini program's session has a session_key
			// that WeChat's checksession knows.
			if a.KindOf() == wxlogin.KindMiniProgram {
				policies[a.AppID] = auth.SessionPolicy{Mode: *policy, CheckInterval: *checkEvery}
			}
		}
	}
	m := &Main{
		Config: config{
			Addr:          *addr,
			Store:         "sqlite://" + filepath.Join(dir, "wxlogin.db"),
			Data:          dir,
			WeChatBaseURL: emuURL,
			// The emulator serves WeChat's browser pages too, mounted on
			// the API's own origin ("/": the redirect to them is relative),
			// so that the playground's page and WeChat's share it.
			WeChatConnectURL: "/",
			WeComBaseURL:     emuURL,
			apps:             apps,
			policies:         policies,
			DefaultApp:       app.AppID,
			masterKey:        keys,
			adminToken:       wxlogin.Secret(devAdminToken),
			Metrics:          true,
			// Generous limits: a developer clicking around, or a test
			// suite, should not meet production's per-IP login limit.
			Limits: limitsConfig{
				LoginPerIP:        limitConfig{Rate: 100, Burst: 200},
				DecryptPerSession: limitConfig{Rate: 20, Burst: 50},
				AvatarPerUser:     limitConfig{Rate: 1, Burst: 30},
			},
		},
		Logger: logger,
		Now:    clock.Now,
		Dev: &httpapi.DevConfig{
			Emulator:     em,
			Playground:   http.StripPrefix("/playground", playground.Handler()),
			AdvanceClock: clock.Advance,
		},
	}
	if err := m.Start(ctx); err != nil {
		return fail(err)
	}
	printDevWelcome(e, m.APIURL, emuURL, app.AppID)
	if *weCom {
		// The emulator, as WeCom, verifies the callback URL and pushes
		// the suite_ticket at once, then every 10 minutes of its clock.
		defer em.Close()
		if err := em.SetSuiteCallback(emulator.DevSuites()[0].SuiteID, m.APIURL+devSuiteCallbackPath()); err != nil {
			return fail(err)
		}
		printDevWeCom(e, m.APIURL)
	}
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.Close(shutdownCtx); err != nil {
		return fail(err)
	}
	return 0
}

// devRedirectURIs are the pages the dev web apps may return to: the
// playground at addr, and at localhost for a loopback addr.
func devRedirectURIs(addr string) []string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "0" {
		return []string{"http://localhost/playground/", "http://localhost/playground/web-done.html"}
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	var uris []string
	for _, h := range []string{net.JoinHostPort(host, port), "localhost:" + port} {
		uris = append(uris, "http://"+h+"/playground/", "http://"+h+"/playground/web-done.html")
		if host == "localhost" {
			break
		}
	}
	return uris
}

// pageList collects repeated --web-redirect-uri flags. The service checks
// each page as it checks a configured redirect_uris entry.
type pageList []string

func (p *pageList) String() string { return strings.Join(*p, ",") }

func (p *pageList) Set(v string) error {
	*p = append(*p, v)
	return nil
}

// devWeComApp is the appid under which `wxlogin dev --wecom` serves the
// emulator's first WeCom corp.
const devWeComApp = "wecom-dev"

// devSuiteApp is the appid under which `wxlogin dev --wecom` serves the
// emulator's dev suite.
const devSuiteApp = "wecom-suite-dev"

// devSuiteAppConfig is the dev suite's app: its fake, public secrets.
func devSuiteAppConfig() wxlogin.App {
	s := emulator.DevSuites()[0]
	return wxlogin.App{AppID: devSuiteApp, Kind: wxlogin.KindWeComSuite, Secret: wxlogin.Secret(s.Secret),
		Suite: &wxlogin.WeComSuite{SuiteID: s.SuiteID, Token: wxlogin.Secret(s.Token), EncodingAESKey: wxlogin.Secret(s.EncodingAESKey)}}
}

func devSuiteCallbackPath() string {
	return "/v1/wecom/suite/" + emulator.DevSuites()[0].SuiteID + "/callback"
}

func printDevWeCom(e env, api string) {
	corp := emulator.DevCorps()[0]
	suite := emulator.DevSuites()[0]
	w := e.Stdout
	defer func() {
		fmt.Fprintf(w, "WeCom suite: app %s is suite %s (fake secrets, emulator only), installed by both dev corps; the emulator pushes its suite_ticket to %s%s. A member logs in:\n\n",
			devSuiteApp, suite.SuiteID, api, devSuiteCallbackPath())
		fmt.Fprintf(w, `  CODE=$(curl -s %s/emulator/v1/wecom/suites/%s/login -d '{"corpid":"%s","user":"zhangsan"}' | sed 's/.*"code":"\([^"]*\)".*/\1/')`+"\n", api, suite.SuiteID, corp.CorpID)
		fmt.Fprintf(w, `  curl -s %s/v1/login -d "{\"appid\":\"%s\",\"code\":\"$CODE\"}"`+"\n\n", api, devSuiteApp)
	}()
	fmt.Fprintf(w, "WeCom: app %s is corp %s (fake secret, emulator only). Member zhangsan logs in with wx.qy.login:\n\n", devWeComApp, corp.CorpID)
	fmt.Fprintf(w, `  CODE=$(curl -s %s/emulator/v1/wecom/login -d '{"corpid":"%s","user":"zhangsan"}' | sed 's/.*"code":"\([^"]*\)".*/\1/')`+"\n", api, corp.CorpID)
	fmt.Fprintf(w, `  curl -s %s/v1/login -d "{\"appid\":\"%s\",\"code\":\"$CODE\"}"`+"\n\n", api, devWeComApp)
}

// devMasterKey reads the dev master key from path, creating it (mode 0600)
// on first use so that sealed session keys survive restarts.
func devMasterKey(path string) (*keyring.Keyring, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		text := keyring.Format(keyring.Generate("dev1")) + "\n"
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			return nil, fmt.Errorf("master key: %v", err)
		}
		b = []byte(text)
	} else if err != nil {
		return nil, fmt.Errorf("master key: %v", err)
	}
	k, err := keyring.Parse(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("master key %s: %v", path, err)
	}
	return k, nil
}

func printDevWelcome(e env, api, emu, appid string) {
	w := e.Stdout
	fmt.Fprintf(w, "wxlogin dev: api listening on %s\n", api)
	fmt.Fprintf(w, "wxlogin dev: emulator listening on %s\n", emu)
	fmt.Fprintf(w, "wxlogin dev: playground at %s/playground/\n", api)
	fmt.Fprintf(w, "wxlogin dev: dev apps %s (the default: a login without appid), %s and %s (fake secrets, emulator only); admin token %q (dev only)\n\n",
		appid, emulator.DevApps()[1].AppID, emulator.DevApps()[2].AppID, devAdminToken)
	fmt.Fprintf(w, "A first login, as a mini program and its backend would do it:\n\n")
	fmt.Fprintf(w, "  # wx.login() on the simulated phone of user alice gives a one-time code\n")
	fmt.Fprintf(w, "  CODE=$(curl -s %s/emulator/v1/login -d '{\"appid\":\"%s\",\"user\":\"alice\"}' | sed 's/.*\"code\":\"\\([^\"]*\\)\".*/\\1/')\n", api, appid)
	fmt.Fprintf(w, "  # the mini program sends the code to wxlogin and gets its own login token\n")
	fmt.Fprintf(w, "  TOKEN=$(curl -s %s/v1/login -d \"{\\\"code\\\":\\\"$CODE\\\"}\" | sed 's/.*\"token\":\"\\([^\"]*\\)\".*/\\1/')\n", api)
	fmt.Fprintf(w, "  # every later request carries the token\n")
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $TOKEN\" %s/v1/session\n\n", api)
}
