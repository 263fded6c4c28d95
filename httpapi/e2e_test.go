package httpapi_test

// End-to-end tests: the Server over real HTTP in front of the real
// auth.Service, the real WeChat client, the emulator (also over HTTP) and
// the store (SQLite in a temp dir, or a schema of the test PostgreSQL: most
// tests run on both, see eachStore), all on one fake clock. Every response is validated
// against docs/openapi.yaml as it arrives.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/internal/testlog"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/store/pgstore"
	"github.com/wxlogin/wxlogin/wechat"
	"github.com/wxlogin/wxlogin/wxcrypt"

	_ "modernc.org/sqlite" // the "sqlite" driver of the snapshot's own connection
)

// The emulator's dev apps: the first two share an Open Platform account
// (same unionid for one person), the third has none.
const (
	app1 = "wxdec0de0000000001"
	app2 = "wxdec0de0000000002"
	app3 = "wxdec0de0000000003"
)

const adminToken = "test-admin-token-0123456789"

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// world is one test's whole system.
type world struct {
	t       testing.TB
	clock   *fakeClock
	em      *emulator.Emulator
	kind    storeKind
	db      testStore
	dbDir   string        // SQLite: the file and its WAL
	raw     *sql.DB       // SQLite: a read-only connection of its own to the file
	pg      *pgstore.DB   // PostgreSQL: the store (also the blob store)
	pgRaw   *pgxpool.Pool // PostgreSQL: a pool of its own on the world's schema
	blobDir string        // SQLite: the avatar folder of withBlobs
	key     keyring.Key
	svc     *auth.Service
	srv     *httptest.Server
	logs    *testlog.Buffer
	acfg    auth.Config
	hcfg    httpapi.Config
}

type option func(*world, *auth.Config, *httpapi.Config)

// newWorld is a world on SQLite.
func newWorld(t testing.TB, opts ...option) *world {
	t.Helper()
	return newWorldOn(t, onSQLite, opts...)
}

// newWorldOn is a world whose store of record is kind.
func newWorldOn(t testing.TB, kind storeKind, opts ...option) *world {
	t.Helper()
	w := &world{t: t, clock: &fakeClock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}, logs: &testlog.Buffer{}}
	log := slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	w.em = &emulator.Emulator{Now: w.clock.Now, Logger: log}
	emSrv := httptest.NewServer(w.em)
	t.Cleanup(emSrv.Close)
	wc := &wechat.Client{
		BaseURL: emSrv.URL, WeComBaseURL: emSrv.URL, HTTPClient: emSrv.Client(), Logger: log, Now: w.clock.Now,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	}
	w.openStore(kind)
	db := w.db
	w.key = keyring.Generate("k1")
	keys, err := keyring.New(w.key)
	if err != nil {
		t.Fatal(err)
	}
	var apps []wxlogin.App
	for _, a := range emulator.DevApps() {
		apps = append(apps, wxlogin.App{AppID: a.AppID, Secret: wxlogin.Secret(a.Secret)})
	}
	acfg := auth.Config{
		Apps: apps, Users: db, Sessions: db, WeChat: wc, Keys: keys,
		Now: w.clock.Now, Logger: log, SweepInterval: -1,
	}
	hcfg := httpapi.Config{AdminToken: adminToken, Logger: log}
	for _, o := range opts {
		o(w, &acfg, &hcfg)
	}
	w.acfg, w.hcfg = acfg, hcfg
	w.start()
	return w
}

// start runs a new auth.Service and Server from the world's configuration.
func (w *world) start() {
	w.t.Helper()
	svc, err := auth.New(w.acfg)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { svc.Close() })
	w.svc = svc
	hcfg := w.hcfg
	hcfg.Service = svc
	w.srv = httptest.NewServer(httpapi.New(hcfg))
	w.t.Cleanup(w.srv.Close)
}

// restartWith stops the server and starts a new one over the same store,
// emulator and clock with the master keys given (the primary first), as an
// operator restarts with a new WXLOGIN_MASTER_KEY. In-process state (the
// verification cache, limits) starts afresh.
func (w *world) restartWith(keys ...keyring.Key) {
	w.t.Helper()
	kr, err := keyring.New(keys...)
	if err != nil {
		w.t.Fatal(err)
	}
	w.srv.Close()
	w.svc.Close()
	w.acfg.Keys = kr
	w.start()
}

// response is one recorded exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// request sends one request over HTTP and validates the answer against the
// OpenAPI document. body is JSON-encoded unless it is a string or []byte.
func (w *world) request(method, path, token string, body any, header ...string) response {
	w.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			w.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, w.srv.URL+path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := w.srv.Client().Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	httpapi.CheckSpec(w.t, req, res.StatusCode, res.Header, data)
	return response{res.StatusCode, res.Header, data}
}

// ok fails unless r has status want, and decodes its body into v.
func (r response) ok(t testing.TB, want int, v any) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status = %d, want %d; body %s", r.status, want, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("decoding %s: %v", r.body, err)
		}
	}
}

type apiError struct {
	Error struct{ Code, Message string } `json:"error"`
}

// fails checks that r is the error envelope with status and code.
func (r response) fails(t testing.TB, status int, code string) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("status %d body %s: not the error envelope (%v)", r.status, r.body, err)
	}
	if r.status != status || e.Error.Code != code {
		t.Fatalf("got %d %s (%q), want %d %s", r.status, e.Error.Code, e.Error.Message, status, code)
	}
	if status == 401 && r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("401 without WWW-Authenticate")
	}
	return e
}

type loginBody struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      userBody  `json:"user"`
}

type userBody struct {
	ID        string    `json:"id"`
	AppID     string    `json:"appid"`
	OpenID    string    `json:"openid"`
	UnionID   string    `json:"unionid"`
	CreatedAt time.Time `json:"created_at"`
	Created   *bool     `json:"created"`
}

type meBody struct {
	userBody
	UpdatedAt time.Time `json:"updated_at"`
	Profile   struct {
		Nickname  string  `json:"nickname"`
		AvatarURL *string `json:"avatar_url"`
		Source    string  `json:"source"`
	} `json:"profile"`
	UserInfo map[string]any `json:"user_info"`
	Phone    *wxlogin.Phone `json:"phone"`
}

type sessionsBody struct {
	Sessions []struct {
		ID         string    `json:"id"`
		Current    bool      `json:"current"`
		IP         string    `json:"ip"`
		UserAgent  string    `json:"user_agent"`
		CreatedAt  time.Time `json:"created_at"`
		LastSeenAt time.Time `json:"last_seen_at"`
		ExpiresAt  time.Time `json:"expires_at"`
	} `json:"sessions"`
}

// code is a wx.login on the simulated device.
func (w *world) code(appid, user string) string {
	w.t.Helper()
	c, err := w.em.Login(appid, user)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// login logs user in to appid and returns the answer.
func (w *world) login(appid, user string) loginBody {
	w.t.Helper()
	var b loginBody
	w.request("POST", "/v1/login", "", map[string]string{"code": w.code(appid, user), "appid": appid}).ok(w.t, 200, &b)
	return b
}

// sessionKey is the user's current session_key as WeChat knows it.
func (w *world) sessionKey(appid, user string) string {
	w.t.Helper()
	k, err := w.em.SessionKey(appid, user)
	if err != nil {
		w.t.Fatal(err)
	}
	return k
}

// seal encrypts a payload as WeChat does for the user's current key.
func (w *world) seal(appid, user string, payload any) (encryptedData, iv string) {
	w.t.Helper()
	plain, err := json.Marshal(payload)
	if err != nil {
		w.t.Fatal(err)
	}
	iv = wxcrypt.NewIV()
	enc, err := wxcrypt.Encrypt(w.sessionKey(appid, user), iv, plain)
	if err != nil {
		w.t.Fatal(err)
	}
	return enc, iv
}

func (w *world) watermark(appid string) wxcrypt.Envelope {
	return wxcrypt.Envelope{Watermark: wxcrypt.Watermark{AppID: appid, Timestamp: w.clock.Now().Unix()}}
}

// userInfoRequest is what getUserInfo gives the mini program, built with
// the user's current session_key.
func (w *world) userInfoRequest(appid, user, nick string) map[string]string {
	w.t.Helper()
	id, err := w.em.Identity(appid, user)
	if err != nil {
		w.t.Fatal(err)
	}
	info := wxcrypt.UserInfo{OpenID: id.OpenID, UnionID: id.UnionID, NickName: nick, AvatarURL: "https://thirdwx.qlogo.cn/x/132", Language: "zh_CN", Envelope: w.watermark(appid)}
	raw, _ := json.Marshal(map[string]any{"nickName": nick, "gender": 0, "language": "zh_CN", "city": "", "province": "", "country": "", "avatarUrl": info.AvatarURL})
	enc, iv := w.seal(appid, user, info)
	return map[string]string{
		"rawData": string(raw), "signature": wxcrypt.Signature(string(raw), w.sessionKey(appid, user)),
		"encryptedData": enc, "iv": iv,
	}
}

// snapshot is everything the store holds that a request could change. The
// sessions are every row of the sessions table, read directly, so a session
// left behind by a user that no longer exists shows too.
type snapshot struct {
	Users    []wxlogin.User
	Sessions []sessionRow
}

// sessionRow is one row of the sessions table, times as Unix microseconds.
type sessionRow struct {
	ID, UserID, AppID, OpenID, UnionID string
	SealedSessionKey                   []byte
	CreatedAt, LastSeenAt              int64
	IdleExpiresAt, ExpiresAt           int64
	UserAgent, IP                      string
}

func (w *world) snapshot() snapshot {
	w.t.Helper()
	ctx := context.Background()
	users, err := w.db.FindUsers(ctx, wxlogin.UserFilter{Limit: 1000})
	if err != nil {
		w.t.Fatal(err)
	}
	return snapshot{Users: users, Sessions: w.sessionRows()}
}

// assertNotStored fails when what the store keeps (storedData) holds a
// token or a session_key in any usable form: as text, or for a session_key
// also as its 16 raw bytes or their hex. A dump must reveal neither.
func (w *world) assertNotStored(tokens, sessionKeys []string) {
	w.t.Helper()
	var needles [][]byte
	for _, tok := range tokens {
		needles = append(needles, []byte(tok), []byte(strings.TrimPrefix(tok, "wxl_")))
	}
	for _, k := range sessionKeys {
		raw, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			w.t.Fatalf("session_key %q: %v", k, err)
		}
		needles = append(needles, []byte(k), raw, []byte(hex.EncodeToString(raw)))
	}
	for name, data := range w.storedData() {
		for _, n := range needles {
			if bytes.Contains(data, n) {
				w.t.Errorf("%s holds a secret in clear (%d bytes)", name, len(n))
			}
		}
	}
}

// assertNoSecrets fails when a secret of the world reached the log.
func (w *world) assertNoSecrets(secrets ...string) {
	w.t.Helper()
	logs := w.logs.String()
	for _, a := range emulator.DevApps() {
		secrets = append(secrets, a.Secret)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			w.t.Errorf("the log contains the secret %q", s)
		}
	}
	if strings.Contains(logs, "Bearer ") {
		w.t.Error("the log contains an Authorization header")
	}
}

func TestE2EFullFlow(t *testing.T) { eachStore(t, testE2EFullFlow) }

func testE2EFullFlow(t *testing.T, kind storeKind) {
	w := newWorldOn(t, kind)
	var secrets []string

	// code → login
	code := w.code(app1, "alice")
	secrets = append(secrets, code)
	var lb loginBody
	w.request("POST", "/v1/login", "", map[string]string{"code": code, "appid": app1}, "User-Agent", "alice-phone").ok(t, 200, &lb)
	id, _ := w.em.Identity(app1, "alice")
	if lb.User.OpenID != id.OpenID || lb.User.UnionID != id.UnionID || lb.User.AppID != app1 {
		t.Fatalf("login user = %+v, want the emulator's identity %+v", lb.User, id)
	}
	if lb.User.Created == nil || !*lb.User.Created {
		t.Errorf("first login: created = %v, want true", lb.User.Created)
	}
	if !strings.HasPrefix(lb.Token, "wxl") || len(lb.Token) < 43 {
		t.Errorf("token %q: want a prefixed token of at least 256 bits", lb.Token)
	}
	tok := lb.Token
	aliceKey := w.sessionKey(app1, "alice")
	secrets = append(secrets, tok, aliceKey)

	// session
	var sess struct {
		User      userBody  `json:"user"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	w.request("GET", "/v1/session", tok, nil).ok(t, 200, &sess)
	if sess.User.ID != lb.User.ID || sess.User.Created != nil {
		t.Errorf("session user = %+v, want %s without created", sess.User, lb.User.ID)
	}

	// user info: signature + decrypt
	var ui struct {
		UserInfo map[string]any `json:"user_info"`
	}
	w.request("POST", "/v1/userinfo", tok, w.userInfoRequest(app1, "alice", "Alice")).ok(t, 200, &ui)
	if ui.UserInfo["nickName"] != "Alice" || ui.UserInfo["watermark"] != nil {
		t.Errorf("user_info = %v, want nickName Alice and no watermark", ui.UserInfo)
	}

	// a wx.login on the device rotates the key: the session's key is stale
	loginCode := w.code(app1, "alice")
	secrets = append(secrets, loginCode, w.sessionKey(app1, "alice"))
	req := w.userInfoRequest(app1, "alice", "Alice2")
	w.request("POST", "/v1/userinfo", tok, req).fails(t, 400, "invalid_signature")
	// ...and with the fresh code as login_code the server catches up.
	req["login_code"] = loginCode
	w.request("POST", "/v1/userinfo", tok, req).ok(t, 200, &ui)
	if ui.UserInfo["nickName"] != "Alice2" {
		t.Errorf("after rotation: user_info = %v", ui.UserInfo)
	}

	// phone, by code and legacy
	// Today's WeChat asks for privacy agreement first.
	if err := w.em.AgreePrivacy(app1, "alice"); err != nil {
		t.Fatal(err)
	}
	ph, err := w.em.Phone(app1, "alice")
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, ph.Code)
	var phone wxlogin.Phone
	w.request("POST", "/v1/phone", tok, map[string]string{"code": ph.Code}).ok(t, 200, &phone)
	user, _ := w.em.User("alice")
	if phone.PurePhoneNumber != user.PhoneNumber || phone.CountryCode != user.CountryCode {
		t.Errorf("phone = %+v, want %s/%s", phone, user.PhoneNumber, user.CountryCode)
	}
	var legacy wxlogin.Phone
	w.request("POST", "/v1/phone", tok, map[string]string{"encryptedData": ph.EncryptedData, "iv": ph.IV}).ok(t, 200, &legacy)
	if legacy != phone {
		t.Errorf("legacy phone = %+v, want %+v", legacy, phone)
	}
	// A phone code works once.
	w.request("POST", "/v1/phone", tok, map[string]string{"code": ph.Code}).fails(t, 401, "invalid_code")

	// WeRun
	steps := []wxcrypt.Step{{Timestamp: w.clock.Now().Add(-24 * time.Hour).Unix(), Step: 4321}, {Timestamp: w.clock.Now().Unix(), Step: 1234}}
	enc, iv := w.seal(app1, "alice", wxcrypt.WeRun{StepInfoList: steps, Envelope: w.watermark(app1)})
	var run struct {
		StepInfoList []wxcrypt.Step `json:"stepInfoList"`
		Watermark    any            `json:"watermark"`
	}
	w.request("POST", "/v1/decrypt", tok, map[string]string{"kind": "werun", "encryptedData": enc, "iv": iv}).ok(t, 200, &run)
	if !cmp.Equal(run.StepInfoList, steps) || run.Watermark != nil {
		t.Errorf("werun = %+v, want %v without watermark", run, steps)
	}

	// me: everything stored
	var me meBody
	w.request("GET", "/v1/me", tok, nil).ok(t, 200, &me)
	if me.UserInfo["nickName"] != "Alice2" || me.Phone == nil || *me.Phone != phone {
		t.Errorf("me = %+v", me)
	}
	// Nothing filled in: the profile shows the classic user info.
	if me.Profile.Nickname != "Alice2" || me.Profile.AvatarURL == nil || *me.Profile.AvatarURL != me.UserInfo["avatarUrl"] || me.Profile.Source != "user_info" {
		t.Errorf("profile = %+v, want the classic user info's nickname and avatar", me.Profile)
	}

	// a second device: the sessions list shows both
	lb2 := w.login(app1, "alice")
	if lb2.User.Created == nil || *lb2.User.Created || lb2.User.ID != lb.User.ID {
		t.Errorf("second login user = %+v, want the same user, created false", lb2.User)
	}
	var list sessionsBody
	w.request("GET", "/v1/sessions", tok, nil).ok(t, 200, &list)
	if len(list.Sessions) != 2 {
		t.Fatalf("sessions = %+v, want 2", list)
	}
	current := 0
	for _, s := range list.Sessions {
		if s.Current {
			current++
			if s.UserAgent != "alice-phone" || s.IP != "127.0.0.1" {
				t.Errorf("current session = %+v, want UA alice-phone from 127.0.0.1", s)
			}
		}
	}
	if current != 1 {
		t.Errorf("%d sessions marked current, want 1", current)
	}

	// logout → 401, the other device unaffected
	w.request("DELETE", "/v1/session", tok, nil).ok(t, 204, nil)
	w.request("GET", "/v1/session", tok, nil).fails(t, 401, "session_invalid")
	w.request("GET", "/v1/auth", tok, nil).fails(t, 401, "session_invalid")
	w.request("GET", "/v1/session", lb2.Token, nil).ok(t, 200, nil)

	w.assertNoSecrets(append(secrets, lb2.Token)...)
	w.assertNotStored([]string{tok, lb2.Token}, []string{aliceKey, w.sessionKey(app1, "alice")})
}

func TestE2EExpiry(t *testing.T) { eachStore(t, testE2EExpiry) }

func testE2EExpiry(t *testing.T, kind storeKind) {
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		w := newWorldOn(t, kind)
		tok := w.login(app1, "idle").Token
		w.clock.Advance(6 * 24 * time.Hour)
		w.request("GET", "/v1/session", tok, nil).ok(t, 200, nil)
		w.clock.Advance(7*24*time.Hour - time.Second)
		w.request("GET", "/v1/session", tok, nil).ok(t, 200, nil) // renewed by the request before
		w.clock.Advance(7 * 24 * time.Hour)
		w.request("GET", "/v1/session", tok, nil).fails(t, 401, "session_invalid")
	})
	t.Run("absolute", func(t *testing.T) {
		t.Parallel()
		w := newWorldOn(t, kind)
		login := w.clock.Now()
		lb := w.login(app1, "abs")
		const idle, absolute = 7 * 24 * time.Hour, 30 * 24 * time.Hour
		if want := login.Add(idle); !lb.ExpiresAt.Equal(want) {
			t.Errorf("login expires_at = %v, want %v", lb.ExpiresAt, want)
		}
		// expires_at slides with each request, by whole days here; the
		// 30 s step is inside one touch interval, so the idle deadline the
		// store holds (and the answer) stays where the last touch put it;
		// from day 24 on, the absolute deadline is the earlier one.
		for i, step := range []time.Duration{30 * time.Second, 6 * 24 * time.Hour, 6 * 24 * time.Hour, 6 * 24 * time.Hour, 6 * 24 * time.Hour} {
			w.clock.Advance(step)
			var s struct {
				ExpiresAt time.Time `json:"expires_at"`
			}
			w.request("GET", "/v1/session", lb.Token, nil).ok(t, 200, &s)
			want := w.clock.Now().Add(idle)
			if i == 0 {
				want = login.Add(idle)
			}
			if abs := login.Add(absolute); abs.Before(want) {
				want = abs
			}
			if !s.ExpiresAt.Equal(want) {
				t.Errorf("step %d: expires_at = %v, want %v", i, s.ExpiresAt, want)
			}
		}
		// 24 days in, still active: the absolute lifetime ends it at 30.
		w.clock.Advance(6*24*time.Hour - 30*time.Second + time.Second)
		w.request("GET", "/v1/session", lb.Token, nil).fails(t, 401, "session_invalid")
	})
	t.Run("dev expire", func(t *testing.T) {
		t.Parallel()
		w := newWorldOn(t, kind, func(w *world, _ *auth.Config, h *httpapi.Config) {
			h.Dev = &httpapi.DevConfig{AdvanceClock: w.clock.Advance, Emulator: w.em}
		})
		// The playground's same-origin path: wx.login through the API
		// port's /emulator/v1/, then the login it feeds.
		res, err := w.srv.Client().Post(w.srv.URL+"/emulator/v1/login", "application/json", strings.NewReader(`{"appid":"`+app1+`","user":"dev"}`))
		if err != nil {
			t.Fatal(err)
		}
		var dc struct{ Code string }
		json.NewDecoder(res.Body).Decode(&dc)
		res.Body.Close()
		if res.StatusCode != 200 || dc.Code == "" {
			t.Fatalf("emulator through the API port: %d, code %q", res.StatusCode, dc.Code)
		}
		var lb loginBody
		w.request("POST", "/v1/login", "", map[string]string{"code": dc.Code, "appid": app1}).ok(t, 200, &lb)
		tok := lb.Token
		w.request("POST", "/dev/v1/session/expire", tok, nil).ok(t, 204, nil)
		w.request("GET", "/v1/session", tok, nil).fails(t, 401, "session_invalid")

		tok = w.login(app1, "dev").Token
		var c struct{ Now time.Time }
		w.request("POST", "/dev/v1/clock", "", map[string]string{"advance": "169h"}).ok(t, 200, &c)
		if want := time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC); !c.Now.Equal(want) {
			t.Errorf("now = %v, want %v", c.Now, want)
		}
		w.request("GET", "/v1/session", tok, nil).fails(t, 401, "session_invalid")
	})
}

// TestE2ETimes checks the times the API reports: each session's created_at,
// last_seen_at (moved by a touch) and expires_at, and the user's
// created_at and updated_at.
func TestE2ETimes(t *testing.T) { eachStore(t, testE2ETimes) }

func testE2ETimes(t *testing.T, kind storeKind) {
	w := newWorldOn(t, kind)
	t0 := w.clock.Now()
	const idle = 7 * 24 * time.Hour
	a := w.login(app1, "times")
	t1 := w.clock.Advance(2 * time.Minute)
	w.request("GET", "/v1/session", a.Token, nil).ok(t, 200, nil) // touches a
	b := w.login(app1, "times")

	var list sessionsBody
	w.request("GET", "/v1/sessions", b.Token, nil).ok(t, 200, &list)
	type times struct {
		Current                          bool
		CreatedAt, LastSeenAt, ExpiresAt time.Time
	}
	var got []times
	for _, s := range list.Sessions {
		got = append(got, times{s.Current, s.CreatedAt, s.LastSeenAt, s.ExpiresAt})
	}
	want := []times{
		{false, t0, t1, t1.Add(idle)}, // a: oldest first
		{true, t1, t1, t1.Add(idle)},  // b: the caller's
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("sessions (-want +got):\n%s", d)
	}

	t2 := w.clock.Advance(time.Hour)
	var me meBody
	w.request("PUT", "/v1/me/profile", b.Token, map[string]string{"nickname": "Tim"}).ok(t, 200, &me)
	if !me.CreatedAt.Equal(t0) || !me.UpdatedAt.Equal(t2) {
		t.Errorf("user created_at %v updated_at %v, want %v and %v", me.CreatedAt, me.UpdatedAt, t0, t2)
	}
}

func TestE2ERevocation(t *testing.T) { eachStore(t, testE2ERevocation) }

func testE2ERevocation(t *testing.T, kind storeKind) {
	w := newWorldOn(t, kind)
	a := w.login(app1, "rev")
	b := w.login(app1, "rev")
	c := w.login(app1, "rev")
	other := w.login(app1, "someone-else")

	// by the user: one session
	var list sessionsBody
	w.request("GET", "/v1/sessions", a.Token, nil).ok(t, 200, &list)
	var idB string
	for _, s := range list.Sessions {
		if !s.Current && idB == "" {
			idB = s.ID
		}
	}
	w.request("DELETE", "/v1/sessions/"+idB, a.Token, nil).ok(t, 204, nil)
	alive := 0
	for _, tok := range []string{b.Token, c.Token} {
		if w.request("GET", "/v1/auth", tok, nil).status == 200 {
			alive++
		}
	}
	if alive != 1 {
		t.Errorf("%d of the two other sessions alive after revoking one, want 1", alive)
	}
	// someone else's session id is not found for me
	var otherList sessionsBody
	w.request("GET", "/v1/sessions", other.Token, nil).ok(t, 200, &otherList)
	w.request("DELETE", "/v1/sessions/"+otherList.Sessions[0].ID, a.Token, nil).fails(t, 404, "not_found")
	w.request("GET", "/v1/session", other.Token, nil).ok(t, 200, nil)

	// by the user: everywhere
	w.request("DELETE", "/v1/sessions", a.Token, nil).ok(t, 204, nil)
	for _, tok := range []string{a.Token, b.Token, c.Token} {
		w.request("GET", "/v1/session", tok, nil).fails(t, 401, "session_invalid")
	}

	// by an admin: one session, then all of a user's
	d := w.login(app1, "rev")
	e := w.login(app1, "rev")
	var ds sessionsBody
	w.request("GET", "/v1/admin/users/"+d.User.ID+"/sessions", adminToken, nil).ok(t, 200, &ds)
	if len(ds.Sessions) != 2 {
		t.Fatalf("admin sees %d sessions, want 2", len(ds.Sessions))
	}
	w.request("GET", "/v1/sessions", d.Token, nil).ok(t, 200, &list)
	var idD string
	for _, s := range list.Sessions {
		if s.Current {
			idD = s.ID
		}
	}
	w.request("DELETE", "/v1/admin/sessions/"+idD, adminToken, nil).ok(t, 204, nil)
	w.request("GET", "/v1/session", d.Token, nil).fails(t, 401, "session_invalid")
	w.request("GET", "/v1/session", e.Token, nil).ok(t, 200, nil)
	w.request("DELETE", "/v1/admin/users/"+e.User.ID+"/sessions", adminToken, nil).ok(t, 204, nil)
	w.request("GET", "/v1/auth", e.Token, nil).fails(t, 401, "session_invalid")
	// the admin token is not a login token, nor the other way round
	w.request("GET", "/v1/session", adminToken, nil).fails(t, 401, "session_invalid")
	w.request("GET", "/v1/admin/users/"+e.User.ID, other.Token, nil).fails(t, 401, "unauthorized")
}

func TestE2EErase(t *testing.T) { eachStore(t, testE2EErase) }

func testE2EErase(t *testing.T, kind storeKind) {
	w := newWorldOn(t, kind)
	a := w.login(app1, "erase-me")
	a2 := w.login(app1, "erase-me")
	b := w.login(app1, "erase-admin")
	keep := w.login(app1, "keep")

	w.request("DELETE", "/v1/me", a.Token, nil).ok(t, 204, nil)
	w.request("GET", "/v1/session", a2.Token, nil).fails(t, 401, "session_invalid")
	w.request("GET", "/v1/admin/users/"+a.User.ID, adminToken, nil).fails(t, 404, "not_found")

	w.request("DELETE", "/v1/admin/users/"+b.User.ID, adminToken, nil).ok(t, 204, nil)
	w.request("GET", "/v1/session", b.Token, nil).fails(t, 401, "session_invalid")

	snap := w.snapshot()
	if len(snap.Users) != 1 || snap.Users[0].ID != keep.User.ID {
		t.Errorf("users left = %+v, want only %s", snap.Users, keep.User.ID)
	}
	// Every row of the sessions table, not only those of users that still
	// exist: an erased user's session must not linger unseen.
	var owners []string
	for _, r := range snap.Sessions {
		owners = append(owners, r.UserID)
	}
	if want := []string{keep.User.ID}; !slices.Equal(owners, want) {
		t.Errorf("sessions left belong to %v, want %v", owners, want)
	}
	// logging in again registers a new user
	again := w.login(app1, "erase-me")
	if again.User.Created == nil || !*again.User.Created || again.User.ID == a.User.ID {
		t.Errorf("login after erase = %+v, want a new user", again.User)
	}
}

func TestE2ERepeatedCode(t *testing.T) { eachStore(t, testE2ERepeatedCode) }

func testE2ERepeatedCode(t *testing.T, kind storeKind) {
	w := newWorldOn(t, kind)
	code := w.code(app1, "tap")
	body := map[string]string{"code": code, "appid": app1}
	var first, second loginBody
	w.request("POST", "/v1/login", "", body).ok(t, 200, &first)
	w.clock.Advance(auth.DefaultCodeReuseWindow - time.Second)
	w.request("POST", "/v1/login", "", body).ok(t, 200, &second)
	if first.Token == second.Token || first.User.ID != second.User.ID {
		t.Errorf("double tap: tokens equal %v, users %s %s; want two sessions of one user", first.Token == second.Token, first.User.ID, second.User.ID)
	}
	if n := w.em.Stats().APIs[emulator.APIJSCode2Session].Calls; n != 1 {
		t.Errorf("jscode2session called %d times, want 1", n)
	}
	w.clock.Advance(2 * time.Second)
	before := w.snapshot()
	w.request("POST", "/v1/login", "", body).fails(t, 401, "invalid_code")
	w.request("POST", "/v1/login", "", map[string]string{"code": "never-issued", "appid": app1}).fails(t, 401, "invalid_code")
	// expired: older than WeChat's five minutes
	stale := w.code(app1, "tap")
	w.clock.Advance(6 * time.Minute)
	w.request("POST", "/v1/login", "", map[string]string{"code": stale, "appid": app1}).fails(t, 401, "invalid_code")
	if d := cmp.Diff(before, w.snapshot()); d != "" {
		t.Errorf("refused codes changed the store:\n%s", d)
	}
}

func TestE2EWeChatFailures(t *testing.T) { eachStore(t, testE2EWeChatFailures) }

func testE2EWeChatFailures(t *testing.T, kind storeKind) {
	tests := []struct {
		name       string
		fault      emulator.Fault
		status     int
		code       string
		retryAfter bool
	}{
		{"blocked user", emulator.Fault{ErrCode: 40226}, 403, "code_blocked", false},
		{"minute quota", emulator.Fault{ErrCode: 45011}, 503, "upstream_unavailable", true},
		{"busy every time", emulator.Fault{ErrCode: -1}, 503, "upstream_unavailable", true},
		{"gateway error", emulator.Fault{HTTPStatus: 502}, 503, "upstream_unavailable", true},
		{"broken body", emulator.Fault{Body: emulator.BodyTruncated}, 503, "upstream_unavailable", true},
		{"bad secret", emulator.Fault{ErrCode: 40125}, 502, "upstream_rejected", false},
		{"bad appid", emulator.Fault{ErrCode: 40013}, 502, "upstream_rejected", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorldOn(t, kind)
			before := w.snapshot()
			f := tt.fault
			f.API = emulator.APIJSCode2Session
			if err := w.em.InjectFault(f); err != nil {
				t.Fatal(err)
			}
			r := w.request("POST", "/v1/login", "", map[string]string{"code": w.code(app1, "f"), "appid": app1})
			r.fails(t, tt.status, tt.code)
			if got := r.header.Get("Retry-After") != ""; got != tt.retryAfter {
				t.Errorf("Retry-After %q, want present=%v", r.header.Get("Retry-After"), tt.retryAfter)
			}
			if d := cmp.Diff(before, w.snapshot()); d != "" {
				t.Errorf("a failed login wrote to the store:\n%s", d)
			}
		})
	}
	// WeChat that does not answer: the client's own timeout ends the wait
	// (a real one, short, since it is the transport's), and the login is
	// a 503 with Retry-After like any other outage, nothing written.
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		w := newWorldOn(t, kind, func(_ *world, a *auth.Config, _ *httpapi.Config) {
			wc := a.WeChat.(*wechat.Client)
			hc := *wc.HTTPClient
			hc.Timeout = 50 * time.Millisecond
			wc.HTTPClient = &hc
		})
		if err := w.em.InjectFault(emulator.Fault{API: emulator.APIJSCode2Session, Delay: time.Hour}); err != nil {
			t.Fatal(err)
		}
		before := w.snapshot()
		code := w.code(app1, "slow")
		r := w.request("POST", "/v1/login", "", map[string]string{"code": code, "appid": app1})
		r.fails(t, 503, "upstream_unavailable")
		// A transport error names the URL it failed on; that URL carries
		// the code and the app secret, and neither may reach the log.
		w.assertNoSecrets(code)
		if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("Retry-After = %q, want whole seconds", r.header.Get("Retry-After"))
		}
		if d := cmp.Diff(before, w.snapshot()); d != "" {
			t.Errorf("a timed-out login wrote to the store:\n%s", d)
		}
	})
	t.Run("misconfigured secret", func(t *testing.T) {
		t.Parallel()
		w := newWorldOn(t, kind, func(_ *world, a *auth.Config, _ *httpapi.Config) {
			a.Apps[0].Secret = "not-the-secret-wechat-knows"
		})
		before := w.snapshot()
		r := w.request("POST", "/v1/login", "", map[string]string{"code": w.code(app1, "m"), "appid": app1})
		r.fails(t, 502, "upstream_rejected")
		if d := cmp.Diff(before, w.snapshot()); d != "" {
			t.Errorf("a rejected login wrote to the store:\n%s", d)
		}
		if strings.Contains(string(r.body), "not-the-secret") {
			t.Error("the response repeats the secret")
		}
		w.assertNoSecrets("not-the-secret-wechat-knows")
	})
}

// TestForwardAuthOneApp checks ?appid= on forward-auth: a proxy guarding
// the backend of one app lets only that app's tokens through, answering
// another app's valid token as it would an unknown one.
func TestForwardAuthOneApp(t *testing.T) { eachStore(t, testForwardAuthOneApp) }

func testForwardAuthOneApp(t *testing.T, kind storeKind) {
	w := newWorldOn(t, kind)
	one := w.login(app1, "carol")
	two := w.login(app2, "carol")
	for _, tc := range []struct {
		name, query, token string
		status             int
		code, appid        string
	}{
		{"no parameter, app 1", "", one.Token, 200, "", app1},
		{"no parameter, app 2", "", two.Token, 200, "", app2},
		{"own app", "?appid=" + app1, one.Token, 200, "", app1},
		{"own app among other parameters", "?x=1&appid=" + app2 + "&y", two.Token, 200, "", app2},
		{"escaped appid", "?appid=wxdec0de000000000%32", two.Token, 200, "", app2},
		{"other app", "?appid=" + app1, two.Token, 401, "session_invalid", ""},
		{"other app, reversed", "?appid=" + app2, one.Token, 401, "session_invalid", ""},
		{"unknown app", "?appid=wx0000000000000000", one.Token, 401, "session_invalid", ""},
		{"first appid counts", "?appid=" + app2 + "&appid=" + app1, one.Token, 401, "session_invalid", ""},
		{"empty appid", "?appid=", one.Token, 400, "invalid_request", ""},
		{"bad escape", "?appid=%zz", one.Token, 400, "invalid_request", ""},
		{"no token", "?appid=" + app1, "", 401, "session_invalid", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.request("GET", "/v1/auth"+tc.query, tc.token, nil)
			if tc.status != 200 {
				r.fails(t, tc.status, tc.code)
				if r.header.Get("X-Wxlogin-User-Id") != "" {
					t.Errorf("a denied answer carries identity headers: %v", r.header)
				}
				return
			}
			r.ok(t, 200, nil)
			if got := r.header.Get("X-Wxlogin-Appid"); got != tc.appid {
				t.Errorf("X-Wxlogin-Appid = %q, want %q", got, tc.appid)
			}
		})
	}
}

func TestE2EApps(t *testing.T) { eachStore(t, testE2EApps) }

func testE2EApps(t *testing.T, kind storeKind) {
	w := newWorldOn(t, kind)
	w.request("POST", "/v1/login", "", map[string]string{"code": w.code(app1, "bob")}).fails(t, 400, "invalid_request")
	w.request("POST", "/v1/login", "", map[string]string{"code": w.code(app1, "bob"), "appid": "wx0000000000000000"}).fails(t, 400, "unknown_app")

	one := w.login(app1, "bob")
	two := w.login(app2, "bob")
	three := w.login(app3, "bob")
	if one.User.ID == two.User.ID || one.User.UnionID == "" || one.User.UnionID != two.User.UnionID {
		t.Errorf("apps 1 and 2: %+v %+v, want two users sharing a unionid", one.User, two.User)
	}
	if three.User.UnionID != "" {
		t.Errorf("app 3 is not bound to Open Platform, got unionid %q", three.User.UnionID)
	}
	// A token of app 2 speaks for app 2's user.
	r := w.request("GET", "/v1/auth", two.Token, nil)
	r.ok(t, 200, nil)
	if r.header.Get("X-Wxlogin-Appid") != app2 || r.header.Get("X-Wxlogin-User-Id") != two.User.ID {
		t.Errorf("forward-auth headers %v", r.header)
	}
	var found struct{ Users []meBody }
	w.request("GET", "/v1/admin/users?unionid="+one.User.UnionID, adminToken, nil).ok(t, 200, &found)
	ids := []string{}
	for _, u := range found.Users {
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	want := []string{one.User.ID, two.User.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("users by unionid = %v, want %v", ids, want)
	}
	w.request("GET", "/v1/admin/users?appid="+app3+"&openid="+three.User.OpenID, adminToken, nil).ok(t, 200, &found)
	if len(found.Users) != 1 || found.Users[0].ID != three.User.ID {
		t.Errorf("users by appid+openid = %+v", found.Users)
	}

	t.Run("one app: appid optional", func(t *testing.T) {
		t.Parallel()
		w := newWorldOn(t, kind, func(_ *world, a *auth.Config, _ *httpapi.Config) { a.Apps = a.Apps[:1] })
		var lb loginBody
		w.request("POST", "/v1/login", "", map[string]string{"code": w.code(app1, "solo")}).ok(t, 200, &lb)
		if lb.User.AppID != app1 {
			t.Errorf("appid = %q", lb.User.AppID)
		}
		w.request("POST", "/v1/login", "", map[string]string{"code": w.code(app2, "solo"), "appid": app2}).fails(t, 400, "unknown_app")
	})
}

func TestE2ERateLimits(t *testing.T) { eachStore(t, testE2ERateLimits) }

func testE2ERateLimits(t *testing.T, kind storeKind) {
	w := newWorldOn(t, kind, func(_ *world, a *auth.Config, _ *httpapi.Config) {
		a.Limits.LoginPerIP = auth.Limit{Rate: 1, Burst: 2}
		a.Limits.DecryptPerSession = auth.Limit{Rate: 0.5, Burst: 1}
	})
	w.login(app1, "rl")
	w.login(app1, "rl")
	before := w.snapshot()
	r := w.request("POST", "/v1/login", "", map[string]string{"code": w.code(app1, "rl"), "appid": app1})
	r.fails(t, 429, "rate_limited")
	if ra := r.header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After = %q, want 1", ra)
	}
	if d := cmp.Diff(before, w.snapshot()); d != "" {
		t.Errorf("a limited login wrote to the store:\n%s", d)
	}
	w.clock.Advance(time.Second)
	// The latest wx.login rotated the key: decrypt with this session's.
	tok := w.login(app1, "rl").Token

	enc, iv := w.seal(app1, "rl", wxcrypt.WeRun{StepInfoList: []wxcrypt.Step{{Timestamp: 1, Step: 2}}, Envelope: w.watermark(app1)})
	body := map[string]string{"kind": "werun", "encryptedData": enc, "iv": iv}
	w.request("POST", "/v1/decrypt", tok, body).ok(t, 200, nil)
	r = w.request("POST", "/v1/decrypt", tok, body)
	r.fails(t, 429, "rate_limited")
	if ra := r.header.Get("Retry-After"); ra != "2" {
		t.Errorf("decrypt Retry-After = %q, want 2", ra)
	}
}

func TestE2EForwardAuth(t *testing.T) { eachStore(t, testE2EForwardAuth) }

func testE2EForwardAuth(t *testing.T, kind storeKind) {
	w := newWorldOn(t, kind)
	lb := w.login(app1, "fwd")
	for _, method := range []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"} {
		t.Run(method, func(t *testing.T) {
			r := w.request(method, "/v1/auth", lb.Token, nil)
			if r.status != 200 {
				t.Fatalf("%s /v1/auth = %d %s", method, r.status, r.body)
			}
			want := map[string]string{
				"X-Wxlogin-User-Id": lb.User.ID, "X-Wxlogin-Openid": lb.User.OpenID,
				"X-Wxlogin-Appid": app1, "X-Wxlogin-Unionid": lb.User.UnionID,
			}
			for k, v := range want {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if len(r.body) != 0 || r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("body %q, Cache-Control %q: want no body and no-store", r.body, r.header.Get("Cache-Control"))
			}
		})
	}
	// The path is dispatched before the mux; spelled with an escape it
	// goes through the mux, to the same answer.
	for _, path := range []string{"/v1/auth", "/v1/%61uth"} {
		r := w.request("GET", path, lb.Token, nil)
		if r.status != 200 || r.header.Get("X-Wxlogin-User-Id") != lb.User.ID {
			t.Errorf("GET %s = %d, user %q", path, r.status, r.header.Get("X-Wxlogin-User-Id"))
		}
	}
	w.request("GET", "/v1/auth/", lb.Token, nil).fails(t, 404, "not_found")
	// no unionid: the header is present and empty, replacing a forged one
	three := w.login(app3, "fwd")
	r := w.request("GET", "/v1/auth", three.Token, nil, "X-Wxlogin-Unionid", "forged")
	if v, ok := r.header["X-Wxlogin-Unionid"]; r.status != 200 || !ok || len(v) != 1 || v[0] != "" {
		t.Errorf("unionid header = %q (present %v), want present and empty", v, ok)
	}
	// lowercase scheme is still Bearer (RFC 9110)
	w.request("GET", "/v1/auth", "", nil, "Authorization", "bearer "+lb.Token).ok(t, 200, nil)
	denied := w.request("GET", "/v1/auth", "", nil)
	denied.fails(t, 401, "session_invalid")
	if got := denied.header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("401 X-Content-Type-Options = %q, want nosniff", got)
	}
	w.request("GET", "/v1/auth", lb.Token+"x", nil).fails(t, 401, "session_invalid")
	w.request("GET", "/v1/auth", "wxl_not_a_real_token_at_all_000000000000000000", nil).fails(t, 401, "session_invalid")
	w.request("GET", "/readyz", "", nil).ok(t, 200, nil)

	// The store goes away: an unknown token cannot be judged, so 503, and
	// never 200; readiness follows.
	gone := w.login(app1, "fwd-gone").Token
	w.request("DELETE", "/v1/session", gone, nil).ok(t, 204, nil)
	if err := w.db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"GET", "POST"} {
		r = w.request(method, "/v1/auth", gone, nil)
		r.fails(t, 503, "store_unavailable")
	}
	w.request("GET", "/readyz", "", nil).fails(t, 503, "store_unavailable")
	// Once the outage is known, even a token verified a moment ago (and
	// cached) gets 503: forward-auth never answers 200 while the store is down.
	w.request("GET", "/v1/auth", lb.Token, nil).fails(t, 503, "store_unavailable")
	w.request("GET", "/healthz", "", nil).ok(t, 200, nil)
	w.assertNoSecrets(lb.Token, three.Token)
}

func TestE2EAdmin(t *testing.T) { eachStore(t, testE2EAdmin) }

func testE2EAdmin(t *testing.T, kind storeKind) {
	w := newWorldOn(t, kind)
	lb := w.login(app1, "adm")
	var u meBody
	w.request("GET", "/v1/admin/users/"+lb.User.ID, adminToken, nil).ok(t, 200, &u)
	if u.OpenID != lb.User.OpenID {
		t.Errorf("admin user = %+v", u)
	}
	w.request("GET", "/v1/admin/users/nope", adminToken, nil).fails(t, 404, "not_found")
	// Every route of a missing user says so, the bulk logout included.
	w.request("GET", "/v1/admin/users/nope/sessions", adminToken, nil).fails(t, 404, "not_found")
	w.request("DELETE", "/v1/admin/users/nope/sessions", adminToken, nil).fails(t, 404, "not_found")
	w.request("DELETE", "/v1/admin/users/nope", adminToken, nil).fails(t, 404, "not_found")
	w.request("GET", "/v1/admin/users?limit=0", adminToken, nil).fails(t, 400, "invalid_request")

	var tok struct {
		AccessToken string    `json:"access_token"`
		ExpiresAt   time.Time `json:"expires_at"`
	}
	w.request("GET", "/v1/admin/apps/"+app1+"/access_token", adminToken, nil).ok(t, 200, &tok)
	var again struct {
		AccessToken string `json:"access_token"`
	}
	w.request("GET", "/v1/admin/apps/"+app1+"/access_token", adminToken, nil).ok(t, 200, &again)
	if tok.AccessToken == "" || again.AccessToken != tok.AccessToken || !tok.ExpiresAt.After(w.clock.Now()) {
		t.Errorf("access tokens %q then %q expiring %v: want one cached, live token", tok.AccessToken, again.AccessToken, tok.ExpiresAt)
	}
	w.request("GET", "/v1/admin/apps/wx0000000000000000/access_token", adminToken, nil).fails(t, 400, "unknown_app")

	// Key rotation as the README tells an operator: two sessions sealed
	// under k1; restart with k2 first and k1 after it; rotate-key re-seals
	// both under k2; then k1 can go, and the sessions' keys still open.
	other := w.login(app1, "adm-2")
	k2 := keyring.Generate("k2")
	w.restartWith(k2, w.key)
	var rot struct{ Resealed int }
	w.request("POST", "/v1/admin/rotate-key", adminToken, nil).ok(t, 200, &rot)
	if rot.Resealed != 2 {
		t.Errorf("rotate-key resealed %d, want the 2 sessions sealed under k1", rot.Resealed)
	}
	for _, r := range w.sessionRows() {
		if id, err := keyring.SealedWith(r.SealedSessionKey); id != "k2" {
			t.Errorf("session %s sealed with %q (%v) after rotate-key, want k2", r.ID, id, err)
		}
	}
	w.request("POST", "/v1/admin/rotate-key", adminToken, nil).ok(t, 200, &rot)
	if rot.Resealed != 0 {
		t.Errorf("a second rotate-key resealed %d, want 0", rot.Resealed)
	}
	w.restartWith(k2)
	for _, s := range []struct {
		user string
		tok  string
	}{{"adm", lb.Token}, {"adm-2", other.Token}} {
		enc, iv := w.seal(app1, s.user, wxcrypt.WeRun{StepInfoList: []wxcrypt.Step{{Timestamp: 1, Step: 7}}, Envelope: w.watermark(app1)})
		w.request("POST", "/v1/decrypt", s.tok, map[string]string{"kind": "werun", "encryptedData": enc, "iv": iv}).ok(t, 200, nil)
	}
	w.assertNoSecrets(tok.AccessToken, lb.Token, other.Token)

	t.Run("off without a token", func(t *testing.T) {
		t.Parallel()
		w := newWorldOn(t, kind, func(_ *world, _ *auth.Config, h *httpapi.Config) { h.AdminToken = "" })
		u := w.login(app1, "adm-off")
		// Every admin route, with no token and with a guess at the empty
		// one: none exists, and nothing is touched.
		routes := []string{
			"GET /v1/admin/users?openid=" + u.User.OpenID,
			"GET /v1/admin/users/" + u.User.ID,
			"GET /v1/admin/users/" + u.User.ID + "/sessions",
			"DELETE /v1/admin/users/" + u.User.ID + "/sessions",
			"DELETE /v1/admin/sessions/ses_x",
			"DELETE /v1/admin/users/" + u.User.ID,
			"GET /v1/admin/apps/" + app1 + "/access_token",
			"POST /v1/admin/rotate-key",
		}
		before := w.snapshot()
		for _, route := range routes {
			method, path, _ := strings.Cut(route, " ")
			w.request(method, path, "", nil).fails(t, 404, "not_found")
			w.request(method, path, "", nil, "Authorization", "Bearer ").fails(t, 404, "not_found")
		}
		if d := cmp.Diff(before, w.snapshot()); d != "" {
			t.Errorf("admin routes acted while off:\n%s", d)
		}
		w.request("GET", "/v1/session", u.Token, nil).ok(t, 200, nil)
	})
}

// TestE2EMalformedRequests sends requests that must be refused, each with
// its documented code, and checks that none of them wrote anything.
func TestE2EMalformedRequests(t *testing.T) { eachStore(t, testE2EMalformedRequests) }

func testE2EMalformedRequests(t *testing.T, kind storeKind) {
	w := newWorldOn(t, kind)
	lb := w.login(app1, "mal")
	tok := lb.Token
	w.request("POST", "/v1/userinfo", tok, w.userInfoRequest(app1, "mal", "Mal")).ok(t, 200, nil)
	before := w.snapshot()

	goodInfo := w.userInfoRequest(app1, "mal", "Changed")
	badSig := maps(goodInfo, "signature", strings.Repeat("0", 40))
	tampered := maps(goodInfo, "rawData", `{"nickName":"Eve"}`)
	garbled := maps(goodInfo, "encryptedData", "AAAAAAAAAAAAAAAAAAAAAA==")
	badIV := maps(goodInfo, "iv", "short")
	otherApp, otherIV := w.seal(app1, "mal", wxcrypt.WeRun{StepInfoList: []wxcrypt.Step{}, Envelope: w.watermark(app2)})
	stale, staleIV := w.seal(app1, "mal", wxcrypt.WeRun{StepInfoList: []wxcrypt.Step{}, Envelope: wxcrypt.Envelope{Watermark: wxcrypt.Watermark{AppID: app1, Timestamp: w.clock.Now().Add(-48 * time.Hour).Unix()}}})

	tests := []struct {
		name, method, path string
		token              string
		body               any
		ctype              string
		status             int
		code               string
	}{
		{"login: no body", "POST", "/v1/login", "", "", "", 400, "invalid_request"},
		{"login: not JSON", "POST", "/v1/login", "", "code=abc", "", 400, "invalid_request"},
		{"login: form encoded", "POST", "/v1/login", "", "code=abc", "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"login: multipart", "POST", "/v1/login", "", "--b\r\nContent-Disposition: form-data; name=\"code\"\r\n\r\nabc\r\n--b--\r\n", "multipart/form-data; boundary=b", 415, "unsupported_media_type"},
		{"login: malformed Content-Type", "POST", "/v1/login", "", `{"code":"x"}`, "application/json; charset", 415, "unsupported_media_type"},
		{"userinfo: form encoded", "POST", "/v1/userinfo", tok, "rawData=a&signature=b&encryptedData=c&iv=d", "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"profile: multipart", "PUT", "/v1/me/profile", tok, "--b\r\nContent-Disposition: form-data; name=\"nickname\"\r\n\r\nMal\r\n--b--\r\n", "multipart/form-data; boundary=b", 415, "unsupported_media_type"},
		{"login: wrong type", "POST", "/v1/login", "", `{"code":42,"appid":"` + app1 + `"}`, "", 400, "invalid_request"},
		{"login: trailing garbage", "POST", "/v1/login", "", `{"code":"x","appid":"` + app1 + `"}]`, "", 400, "invalid_request"},
		{"login: missing code", "POST", "/v1/login", "", `{"appid":"` + app1 + `"}`, "", 400, "invalid_request"},
		{"login: huge body", "POST", "/v1/login", "", `{"code":"x","pad":"` + strings.Repeat("a", 70<<10) + `"}`, "", 413, "request_too_large"},
		// The limit is 64 KiB exactly: a body of that size is read (and its
		// unknown field ignored), one byte more is refused unread.
		{"login: body of 64 KiB", "POST", "/v1/login", "", paddedLogin(64 << 10), "", 401, "invalid_code"},
		{"login: body of 64 KiB + 1", "POST", "/v1/login", "", paddedLogin(64<<10 + 1), "", 413, "request_too_large"},
		{"login: unknown app", "POST", "/v1/login", "", `{"code":"x","appid":"wxnope"}`, "", 400, "unknown_app"},
		{"login: unknown code", "POST", "/v1/login", "", `{"code":"nope","appid":"` + app1 + `"}`, "", 401, "invalid_code"},
		{"userinfo: no token", "POST", "/v1/userinfo", "", goodInfo, "", 401, "session_invalid"},
		{"userinfo: bad token", "POST", "/v1/userinfo", tok + "0", goodInfo, "", 401, "session_invalid"},
		{"userinfo: missing iv", "POST", "/v1/userinfo", tok, maps(goodInfo, "iv", ""), "", 400, "invalid_request"},
		{"userinfo: bad signature", "POST", "/v1/userinfo", tok, badSig, "", 400, "invalid_signature"},
		{"userinfo: tampered rawData", "POST", "/v1/userinfo", tok, tampered, "", 400, "invalid_signature"},
		{"userinfo: garbled data", "POST", "/v1/userinfo", tok, garbled, "", 400, "invalid_encrypted_data"},
		{"userinfo: bad iv", "POST", "/v1/userinfo", tok, badIV, "", 400, "invalid_encrypted_data"},
		{"userinfo: unknown login_code", "POST", "/v1/userinfo", tok, maps(goodInfo, "login_code", "nope"), "", 401, "invalid_code"},
		{"phone: nothing", "POST", "/v1/phone", tok, `{}`, "", 400, "invalid_request"},
		{"phone: unknown code", "POST", "/v1/phone", tok, `{"code":"nope"}`, "", 401, "invalid_code"},
		{"phone: garbled legacy", "POST", "/v1/phone", tok, `{"encryptedData":"AAAAAAAAAAAAAAAAAAAAAA==","iv":"AAAAAAAAAAAAAAAAAAAAAA=="}`, "", 400, "invalid_encrypted_data"},
		{"decrypt: bad kind", "POST", "/v1/decrypt", tok, `{"kind":"phone","encryptedData":"a","iv":"b"}`, "", 400, "invalid_request"},
		{"decrypt: other app's watermark", "POST", "/v1/decrypt", tok, map[string]string{"kind": "werun", "encryptedData": otherApp, "iv": otherIV}, "", 400, "invalid_encrypted_data"},
		{"decrypt: stale watermark", "POST", "/v1/decrypt", tok, map[string]string{"kind": "werun", "encryptedData": stale, "iv": staleIV}, "", 400, "invalid_encrypted_data"},
		{"profile: missing nickname", "PUT", "/v1/me/profile", tok, `{"name":"x"}`, "", 400, "invalid_request"},
		{"profile: control characters", "PUT", "/v1/me/profile", tok, `{"nickname":"a\u0000b"}`, "", 400, "invalid_request"},
		{"profile: too long", "PUT", "/v1/me/profile", tok, `{"nickname":"` + strings.Repeat("长", 200) + `"}`, "", 400, "invalid_request"},
		{"profile: 33 characters", "PUT", "/v1/me/profile", tok, `{"nickname":"` + strings.Repeat("长", 33) + `"}`, "", 400, "invalid_request"},
		{"profile: bidi override", "PUT", "/v1/me/profile", tok, `{"nickname":"abc\u202Edef"}`, "", 400, "invalid_request"},
		{"profile: only spaces", "PUT", "/v1/me/profile", tok, `{"nickname":"   "}`, "", 400, "invalid_request"},
		{"avatar: no image", "POST", "/v1/me/avatar", tok, "", "image/png", 400, "invalid_request"},
		{"sessions: unknown id", "DELETE", "/v1/sessions/nope", tok, nil, "", 404, "not_found"},
		{"method not allowed", "PATCH", "/v1/me", tok, nil, "", 405, "method_not_allowed"},
		{"unknown route", "GET", "/v1/users", tok, nil, "", 404, "not_found"},
		{"admin: wrong token", "DELETE", "/v1/admin/users/" + lb.User.ID, tok, nil, "", 401, "unauthorized"},
		{"admin: unknown session", "DELETE", "/v1/admin/sessions/nope", adminToken, nil, "", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.ctype != "" {
				hdr = []string{"Content-Type", tt.ctype}
			}
			r := w.request(tt.method, tt.path, tt.token, tt.body, hdr...)
			e := r.fails(t, tt.status, tt.code)
			for _, secret := range []string{tok, adminToken} {
				if strings.Contains(e.Error.Message, secret) {
					t.Errorf("message repeats a secret: %q", e.Error.Message)
				}
			}
		})
	}
	if d := cmp.Diff(before, w.snapshot(), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("refused requests changed the store (-before +after):\n%s", d)
	}
}

// TestE2ENoPaddingOracle sends, in a fresh session with its whole decrypt
// budget, ciphertexts under the session's own key that fail at each step
// an attacker probes (padding, then JSON, then the watermark) and checks
// that each is a real decrypt failure with one and the same answer.
func TestE2ENoPaddingOracle(t *testing.T) { eachStore(t, testE2ENoPaddingOracle) }

func testE2ENoPaddingOracle(t *testing.T, kind storeKind) {
	w := newWorldOn(t, kind)
	tok := w.login(app1, "oracle").Token
	key := w.sessionKey(app1, "oracle")
	iv := wxcrypt.NewIV()
	// One block of 'x': Encrypt pads it with a second, whole block of 16s;
	// the first block alone decrypts to a last byte of 'x', bad PKCS#7.
	twoBlocks, err := wxcrypt.Encrypt(key, iv, []byte(strings.Repeat("x", 16)))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(twoBlocks)
	badPadding := base64.StdEncoding.EncodeToString(raw[:16])
	badJSON, err := wxcrypt.Encrypt(key, iv, []byte("not json at all"))
	if err != nil {
		t.Fatal(err)
	}
	otherApp, otherIV := w.seal(app1, "oracle", wxcrypt.WeRun{StepInfoList: []wxcrypt.Step{}, Envelope: w.watermark(app2)})
	good, goodIV := w.seal(app1, "oracle", wxcrypt.WeRun{StepInfoList: []wxcrypt.Step{}, Envelope: w.watermark(app1)})

	// The session's key is the one used: a good payload opens.
	w.request("POST", "/v1/decrypt", tok, map[string]string{"kind": "werun", "encryptedData": good, "iv": goodIV}).ok(t, 200, nil)
	cases := []struct{ name, enc, iv, reason string }{
		{"bad padding", badPadding, iv, wxcrypt.ReasonPadding},
		{"bad JSON", badJSON, iv, wxcrypt.ReasonJSON},
		{"other app's watermark", otherApp, otherIV, wxcrypt.ReasonAppID},
	}
	var first response
	for i, c := range cases {
		logged := strings.Count(w.logs.String(), c.reason)
		r := w.request("POST", "/v1/decrypt", tok, map[string]string{"kind": "werun", "encryptedData": c.enc, "iv": c.iv})
		// The status first: a 429 here would make every answer alike
		// without a single decrypt having run.
		r.fails(t, 400, "invalid_encrypted_data")
		// The server log, and only it, names the step that failed: the
		// case is the failure it claims to be.
		if strings.Count(w.logs.String(), c.reason) != logged+1 {
			t.Errorf("%s: the log does not name the reason %q", c.name, c.reason)
		}
		if strings.Contains(string(r.body), c.reason) {
			t.Errorf("%s: the answer names the reason: %s", c.name, r.body)
		}
		if i == 0 {
			first = r
			continue
		}
		if !bytes.Equal(r.body, first.body) || r.status != first.status {
			t.Errorf("%s answers differently from %s (a padding oracle):\n%d %s\n%d %s", c.name, cases[0].name, first.status, first.body, r.status, r.body)
		}
	}
}

// paddedLogin is a login request with a never-issued code, padded by an
// unknown field to exactly size bytes.
func paddedLogin(size int) string {
	head, tail := `{"code":"never-issued","appid":"`+app1+`","pad":"`, `"}`
	return head + strings.Repeat("a", size-len(head)-len(tail)) + tail
}

// maps returns a copy of m with key set to value ("" deletes it).
func maps(m map[string]string, key, value string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	if value == "" {
		delete(out, key)
	} else {
		out[key] = value
	}
	return out
}

// BenchmarkForwardAuth measures GET /v1/auth through the handler with the
// token already in the verification cache: the hot path a reverse proxy hits
// on every request. "bare" is a plain net/http handler writing the same
// identity headers, the baseline of docs/BENCHMARKS.md's ratio.
func BenchmarkForwardAuth(b *testing.B) {
	w := newWorld(b, func(_ *world, _ *auth.Config, h *httpapi.Config) {
		h.Logger = slog.New(slog.DiscardHandler)
	})
	lb := w.login(app1, "bench")
	bare := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			rw.WriteHeader(401)
			return
		}
		h := rw.Header()
		h.Set("X-Wxlogin-User-Id", lb.User.ID)
		h.Set("X-Wxlogin-Openid", lb.User.OpenID)
		h.Set("X-Wxlogin-Appid", app1)
		h.Set("X-Wxlogin-Unionid", lb.User.UnionID)
		rw.WriteHeader(http.StatusOK)
	})
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"wxlogin", w.srv.Config.Handler}, {"bare", bare}} {
		b.Run(bc.name, func(b *testing.B) {
			benchForwardAuth(b, bc.h, "/v1/auth", lb.Token)
		})
		if bc.name == "wxlogin" {
			// The cost of guarding one app: the query scan and compare.
			b.Run("wxlogin-appid", func(b *testing.B) {
				benchForwardAuth(b, bc.h, "/v1/auth?appid="+app1, lb.Token)
			})
			// A web session: the same token in the session cookie, beside
			// the other cookies a site sets; a GET needs no CSRF token.
			b.Run("wxlogin-cookie", func(b *testing.B) {
				benchForwardAuth(b, bc.h, "/v1/auth", "", "Cookie", "_ga=GA1.2.3; "+httpapi.SessionCookie+"="+lb.Token+"; lang=zh")
			})
		}
		// The same over loopback HTTP with keep-alive, closer to what a
		// proxy sees.
		b.Run(bc.name+"-http", func(b *testing.B) {
			srv := httptest.NewServer(bc.h)
			defer srv.Close()
			client := srv.Client()
			client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", srv.URL+"/v1/auth", nil)
					req.Header.Set("Authorization", "Bearer "+lb.Token)
					res, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						b.Fatalf("status %d", res.StatusCode)
					}
				}
			})
		})
	}
}

func TestE2EMetrics(t *testing.T) { eachStore(t, testE2EMetrics) }

func testE2EMetrics(t *testing.T, kind storeKind) {
	w := newWorldOn(t, kind, func(_ *world, _ *auth.Config, h *httpapi.Config) {
		h.Metrics = prometheus.NewRegistry()
	})
	lb := w.login(app1, "metrics")
	w.request("GET", "/v1/auth", lb.Token, nil).ok(t, 200, nil)
	w.request("GET", "/v1/auth", "", nil).fails(t, 401, "session_invalid")
	w.request("GET", "/v1/sessions/"+lb.User.OpenID, "", nil).fails(t, 405, "method_not_allowed")
	r := w.request("GET", "/metrics", "", nil)
	r.ok(t, 200, nil)
	text := string(r.body)
	for _, want := range []string{
		`wxlogin_http_requests_total{code="200",route="POST /v1/login"} 1`,
		`wxlogin_http_requests_total{code="200",route="/v1/auth"} 1`,
		`wxlogin_http_requests_total{code="401",route="/v1/auth"} 1`,
		`wxlogin_http_requests_total{code="405",route="unmatched"} 1`,
		`wxlogin_http_request_duration_seconds_bucket{route="/v1/auth",le="+Inf"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, secret := range []string{lb.Token, lb.User.OpenID, lb.User.ID} {
		if strings.Contains(text, secret) {
			t.Errorf("metrics contain %q", secret)
		}
	}
}

// TestE2EClientIP checks that the per-IP login limit and the sessions list
// see the client behind a trusted proxy, and that a client talking directly
// cannot pick its own address with a forged header.
func TestE2EClientIP(t *testing.T) { eachStore(t, testE2EClientIP) }

func testE2EClientIP(t *testing.T, kind storeKind) {
	limitOne := func(trusted bool) option {
		return func(_ *world, a *auth.Config, h *httpapi.Config) {
			a.Limits.LoginPerIP = auth.Limit{Rate: 1, Burst: 1}
			if trusted {
				h.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
			}
		}
	}
	loginFrom := func(w *world, xff string) response {
		return w.request("POST", "/v1/login", "", map[string]string{"code": w.code(app1, "ip"), "appid": app1}, "X-Forwarded-For", xff)
	}
	t.Run("behind a trusted proxy", func(t *testing.T) {
		t.Parallel()
		w := newWorldOn(t, kind, limitOne(true))
		var lb loginBody
		loginFrom(w, "198.51.100.1").ok(t, 200, &lb)
		loginFrom(w, "198.51.100.2").ok(t, 200, nil)
		loginFrom(w, "198.51.100.1").fails(t, 429, "rate_limited")
		var list sessionsBody
		w.request("GET", "/v1/sessions", lb.Token, nil).ok(t, 200, &list)
		for _, s := range list.Sessions {
			if s.Current && s.IP != "198.51.100.1" {
				t.Errorf("session ip = %q, want the client's 198.51.100.1", s.IP)
			}
		}
	})
	t.Run("direct client forging the header", func(t *testing.T) {
		t.Parallel()
		w := newWorldOn(t, kind, limitOne(false))
		var lb loginBody
		loginFrom(w, "198.51.100.1").ok(t, 200, &lb)
		loginFrom(w, "198.51.100.2").fails(t, 429, "rate_limited")
		var list sessionsBody
		w.request("GET", "/v1/sessions", lb.Token, nil).ok(t, 200, &list)
		if len(list.Sessions) != 1 || list.Sessions[0].IP != "127.0.0.1" {
			t.Errorf("sessions = %+v, want one from 127.0.0.1", list.Sessions)
		}
	})
}

// benchForwardAuth runs target through h in process with token, which must
// answer 200 (the warm-up puts the token in the verification cache).
func benchForwardAuth(b *testing.B, h http.Handler, target, token string, header ...string) {
	req := httptest.NewRequest("GET", target, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	warm := httptest.NewRecorder()
	h.ServeHTTP(warm, req)
	if warm.Code != 200 {
		b.Fatalf("warm-up: %d %s", warm.Code, warm.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}
