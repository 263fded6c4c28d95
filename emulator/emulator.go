package emulator

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// App is a mini program the emulator knows: its appid, its (fake) secret,
// and whether it is bound to an Open Platform account, which is what makes
// WeChat hand out unionids for it.
type App struct {
	AppID        string `json:"appid"`
	Secret       string `json:"secret"`
	OpenPlatform bool   `json:"open_platform"`
	// Kind is "" (a mini program), "official_account" (web pages in
	// WeChat: connect/oauth2/authorize) or "website" (an Open Platform
	// website app: connect/qrconnect).
	Kind string `json:"kind,omitempty"`
	// RedirectDomains, when set, are the hosts a web authorization may
	// return to (WeChat's 网页授权域名 / 授权回调域); another host is
	// refused with errcode 10003. Empty allows any host.
	RedirectDomains []string `json:"redirect_domains,omitempty"`
}

// DevApps returns the apps a zero Emulator serves, which the dev server and
// the README use. Their secrets are fake and public on purpose:
//
//	wxdec0de0000000001  0123456789abcdef0123456789abcdef  Open Platform
//	wxdec0de0000000002  fedcba9876543210fedcba9876543210  Open Platform
//	wxdec0de0000000003  00112233445566778899aabbccddeeff  not bound (no unionid)
//
// The first two are bound to the same Open Platform account, so a simulated
// user has the same unionid in both.
func DevApps() []App {
	return []App{
		{AppID: "wxdec0de0000000001", Secret: "0123456789abcdef0123456789abcdef", OpenPlatform: true},
		{AppID: "wxdec0de0000000002", Secret: "fedcba9876543210fedcba9876543210", OpenPlatform: true},
		{AppID: "wxdec0de0000000003", Secret: "00112233445566778899aabbccddeeff", OpenPlatform: false},
	}
}

// Defaults of the knobs whose zero value means "as WeChat does".
const (
	DefaultCodeLifetime  = 5 * time.Minute
	DefaultTokenGrace    = 5 * time.Minute
	DefaultTokenLifetime = 7200 * time.Second
	// DefaultBaseLibrary is the base library version of a new simulated
	// device: a current one, so getUserProfile is anonymised and phone
	// codes exist.
	DefaultBaseLibrary = "3.5.0"
	// PrivacyRefusalPause is how long, in emulator time, a new privacy
	// authorization request is refused after the user disagreed.
	PrivacyRefusalPause = 10 * time.Second
)

// Emulator is WeChat, for development and tests: the server APIs at
// WeChat's own paths and the device (wx.*) side under /emulator/v1/. It is
// an http.Handler. Its zero value is ready to use and serves DevApps; New
// serves other apps.
//
// Set the knobs before the first request or method call; the emulator reads
// Apps once. To change a knob while requests are in flight, use Configure
// (or PUT /emulator/v1/config).
type Emulator struct {
	// Apps are the mini programs served. Nil means DevApps(). Read once, on
	// first use.
	Apps []App

	// Corps are the WeCom corps served (WeCom's gettoken and
	// jscode2session, wx.qy.login). Nil means DevCorps(). Read once, on
	// first use.
	Corps []Corp

	// Suites are the WeCom third-party (suite) apps served (get_suite_token,
	// service/miniprogram/jscode2session, the suite_ticket push). Nil
	// means DevSuites(). Read once, on first use.
	Suites []Suite

	// PushClient sends the suite_ticket pushes to the suites' callback
	// URLs; nil means a client with a 10 s timeout.
	PushClient *http.Client

	// PushPoll is how often, in wall time, the emulator looks for suites
	// due their periodic push; zero means DefaultPushPoll (1 s). A push is
	// due every SuiteTicketInterval of the emulator's clock.
	PushPoll time.Duration

	// Now returns the current time; nil means time.Now. The emulator's
	// clock is Now() plus the offset moved by Advance (or POST
	// /emulator/v1/clock), so tests never sleep.
	Now func() time.Time

	// Logger receives a line for every unknown route and every injected
	// fault. Nil means slog.Default(). Secrets (app secrets, codes,
	// session keys, tokens) are never logged.
	Logger *slog.Logger

	// CodeLifetime is how long a login or phone code may be redeemed.
	// Zero means DefaultCodeLifetime (WeChat: 5 minutes).
	CodeLifetime time.Duration

	// TokenGrace is how long the previous cgi-bin/token (and a stable token
	// replaced near its expiry) keeps working after a new one was issued.
	// Zero means DefaultTokenGrace (WeChat: about 5 minutes).
	TokenGrace time.Duration

	// TokenLifetime is the life of an access token (expires_in). Zero means
	// DefaultTokenLifetime (7200 s).
	TokenLifetime time.Duration

	// SessionKeyLifetime, when positive, makes a session_key invalid that
	// long after the login that issued it, as WeChat does after a while
	// without use (its real rule is not published). Zero means a key lives
	// until the next login rotates it.
	SessionKeyLifetime time.Duration

	// SessionKeyIdleTimeout, when positive, makes a session_key invalid
	// once the user has not used the mini program for that long, as WeChat
	// does for a user who stops opening it (its real period is not
	// published and is said to grow with use). The user's activity renews
	// the key: a wx.login (which issues a new one), a wx.checkSession that
	// finds the key valid, the device calls that hand out data signed or
	// encrypted with it (getUserInfo, getUserProfile, getPhoneNumber,
	// getWeRunData, getShareInfo), and Activity (POST /emulator/v1/activity,
	// the user opening the mini program). What a server does is not the
	// user's activity: jscode2session, checksession and the other server
	// APIs never renew a key, so a server that checks keys cannot keep a
	// session alive on its own. Zero means no idle expiry. It applies
	// beside SessionKeyLifetime: a key dies at whichever comes first.
	SessionKeyIdleTimeout time.Duration

	// LoginsPerSecond, when positive, limits the device's wx.login calls
	// per user and app per second (WeChat: 4). Zero disables the limit.
	LoginsPerSecond int

	// Code2SessionPerMinute, when positive, limits jscode2session calls per
	// user and app per minute; calls over it answer 45011 (WeChat documents
	// 100). Zero disables the limit.
	Code2SessionPerMinute int

	// NoPrivacyCheck turns off the privacy authorization of 2023. With the
	// check on (the default, as in today's WeChat) the privacy device APIs
	// (phone, avatar, nickname, userinfo, profile, werun) fail with errno
	// 104 until the user agreed to the app's privacy guidelines. As in
	// WeChat it applies only to devices on base library 2.32.3 or later;
	// older simulated devices are never asked. Turning it off stands for a
	// mini program that declares no privacy guidelines.
	NoPrivacyCheck bool

	// AutoApproveWeb, when set, names the simulated user who approves
	// every web authorization at once (the authorize page and the QR code
	// redirect straight back with a code), for tests that do not drive
	// the phone through the device API.
	AutoApproveWeb string

	// CORSOrigin, when not empty, is sent as Access-Control-Allow-Origin on
	// the device API (/emulator/v1/) and preflight requests are answered,
	// for a page served from another origin. Empty (the default) suits
	// same-origin use, e.g. the dev server mounting the emulator.
	CORSOrigin string

	initOnce sync.Once
	mux      *http.ServeMux

	mu          sync.Mutex
	offset      time.Duration
	apps        map[string]*app
	order       []string               // appids in configured order
	corps       map[string]*corp       // WeCom corps by corpid
	corpOrder   []string               // corpids in configured order
	suites      map[string]*suite      // WeCom suites by suite id
	suiteOrder  []string               // suite ids in configured order
	suiteTokens map[string]*suiteToken // suite_access_tokens
	pushStop    chan struct{}          // closed to stop the periodic pushes; nil when none run
	closed      bool                   // Close was called: no new periodic pushes
	persons     map[string]*person     // by user name
	openIDs     map[string]*account    // by openid
	codes       map[string]*code       // login and phone codes
	// codeQueue holds the codes by issue time, to forget the expired ones.
	codeQueue codeQueue
	// codesExamined counts the codes looked at to find expired ones: the
	// work a test can count per code, where a time would measure the machine.
	codesExamined int64
	tokens        map[string]*token    // access tokens of both endpoints
	faults        []*Fault             // pending, in injection order
	stats         map[string]*APIStats // by API name
	unknown       []string             // unknown routes, "METHOD /path"
	calls         []Call               // the latest WeChat API calls, oldest first
	callSeq       int64                // Seq of the latest call
	tmp           map[string]*tmpFile  // chooseAvatar images
	tmpIDs        []string             // tmp in creation order, to bound memory

	webAuths   map[string]*webAuth  // web authorizations (authorize page, QR) by id
	webOrder   []string             // webAuths in creation order, to bound memory
	webTokens  map[string]*webToken // users' web access tokens
	webRefresh map[string]*webToken // the same, by refresh token
}

// New returns an emulator serving apps, or DevApps when none are given.
func New(apps ...App) *Emulator {
	return &Emulator{Apps: apps}
}

// app is the state of one mini program.
type app struct {
	App
	cgiToken    *token // latest cgi-bin/token
	stableToken *token // current stable_token
	forceDay    string // day (UTC+8) of the force refreshes counted
	forceCount  int
	forceLast   time.Time
	accounts    map[string]*account // by user name
}

func (e *Emulator) init() {
	e.initOnce.Do(func() {
		apps := e.Apps
		if apps == nil {
			apps = DevApps()
		}
		e.apps = make(map[string]*app, len(apps))
		for _, a := range apps {
			if _, dup := e.apps[a.AppID]; dup {
				continue
			}
			e.apps[a.AppID] = &app{App: a, accounts: map[string]*account{}}
			e.order = append(e.order, a.AppID)
		}
		e.initCorps()
		e.initSuites()
		e.persons = map[string]*person{}
		e.openIDs = map[string]*account{}
		e.codes = map[string]*code{}
		e.tokens = map[string]*token{}
		e.stats = map[string]*APIStats{}
		e.tmp = map[string]*tmpFile{}
		e.webAuths = map[string]*webAuth{}
		e.webTokens = map[string]*webToken{}
		e.webRefresh = map[string]*webToken{}
		e.mux = e.routes()
	})
}

// ServeHTTP serves WeChat's server APIs at their own paths and the device
// API under /emulator/v1/. It routes on the full path, so a server may mount
// it on its own mux at "/emulator/v1/" without stripping the prefix.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.init()
	e.mux.ServeHTTP(w, r)
}

// AppList returns the apps served, in configured order.
func (e *Emulator) AppList() []App {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]App, 0, len(e.order))
	for _, id := range e.order {
		out = append(out, e.apps[id].App)
	}
	return out
}

// Advance moves the emulator's clock forward by d (backward when negative)
// and returns the new time.
func (e *Emulator) Advance(d time.Duration) time.Time {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.offset += d
	return e.nowLocked()
}

// Time returns the emulator's current time.
func (e *Emulator) Time() time.Time {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.nowLocked()
}

func (e *Emulator) nowLocked() time.Time {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	return now().Add(e.offset)
}

func (e *Emulator) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.Default()
}

func (e *Emulator) codeLifetime() time.Duration {
	if e.CodeLifetime > 0 {
		return e.CodeLifetime
	}
	return DefaultCodeLifetime
}

func (e *Emulator) tokenGrace() time.Duration {
	if e.TokenGrace > 0 {
		return e.TokenGrace
	}
	return DefaultTokenGrace
}

func (e *Emulator) tokenLifetime() time.Duration {
	if e.TokenLifetime > 0 {
		return e.TokenLifetime
	}
	return DefaultTokenLifetime
}

// alnum is the alphabet of codes and tokens.
const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomString returns n random characters of alphabet (at most 256 long).
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	for i := range b {
		// The bias of the modulo does not matter for test credentials.
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// derive returns a stable identifier derived from parts, so that a
// simulated user keeps the same openid and unionid across restarts of the
// emulator (a dev database stays meaningful).
func derive(prefix string, n int, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	s := base64.RawURLEncoding.EncodeToString(h.Sum(nil))
	return prefix + s[:n-len(prefix)]
}

// requestID returns a request id in the form of WeChat's errmsg suffix.
func (e *Emulator) requestID(now time.Time) string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString([]byte{byte(now.Unix() >> 24), byte(now.Unix() >> 16), byte(now.Unix() >> 8), byte(now.Unix())}) +
		"-" + hex.EncodeToString(b[:4]) + "-" + hex.EncodeToString(b[4:])
}
