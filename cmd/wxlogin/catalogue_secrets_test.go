package main

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/internal/testlog"
	"github.com/wxlogin/wxlogin/keyring"
)

// secret is one value that must not be seen, in every form it could be
// seen in.
type secret struct {
	kind  string // "app secret", "session_key", "token", "code", "master key", ...
	value string // as the API or WeChat spells it
	forms [][]byte
}

// place is one thing an attacker or a curious operator could read: a
// response, a log line, the metrics, the database. allowed lists the secret
// values it may carry by design (a login answer carries its own token).
type place struct {
	name    string
	data    []byte
	allowed []string
}

// finding is a secret seen where it must not be.
type finding struct {
	place, kind, form string
}

// secretForms returns the forms value can appear in: as it is, query-escaped
// (as in a logged URL), JSON-escaped, and for keys also their decoded
// bytes, raw and as hex.
func secretForms(kind, value string) [][]byte {
	forms := [][]byte{[]byte(value)}
	add := func(b []byte) {
		if len(b) > 0 && !slices.ContainsFunc(forms, func(f []byte) bool { return bytes.Equal(f, b) }) {
			forms = append(forms, b)
		}
	}
	add([]byte(url.QueryEscape(value)))
	if j, err := json.Marshal(value); err == nil {
		add(j[1 : len(j)-1])
	}
	var raw []byte
	switch kind {
	case "session_key":
		raw, _ = base64.StdEncoding.DecodeString(value)
	case "master key":
		_, b64, _ := strings.Cut(value, ":")
		raw, _ = base64.StdEncoding.DecodeString(b64)
		add([]byte(b64))
	case "token":
		add([]byte(strings.TrimPrefix(value, "wxl_")))
	}
	if len(raw) > 0 {
		add(raw)
		add([]byte(hex.EncodeToString(raw)))
		add([]byte(strings.ToUpper(hex.EncodeToString(raw))))
		add([]byte(base64.RawURLEncoding.EncodeToString(raw)))
	}
	return forms
}

func newSecret(kind, value string) secret {
	return secret{kind: kind, value: value, forms: secretForms(kind, value)}
}

// scanSecrets looks for every form of every secret in every place.
func scanSecrets(places []place, secrets []secret) []finding {
	var found []finding
	for _, p := range places {
		for _, s := range secrets {
			if slices.Contains(p.allowed, s.value) {
				continue
			}
			for i, f := range s.forms {
				if bytes.Contains(p.data, f) {
					found = append(found, finding{p.name, s.kind, fmt.Sprintf("form %d of %d", i+1, len(s.forms))})
					break
				}
			}
		}
	}
	return found
}

// TestSecretsScannerFindsPlanted shows that the scanner can fail: each
// kind of secret, planted in one of its less obvious forms, is found, and
// the place that may carry a value by design is not reported for it.
func TestSecretsScannerFindsPlanted(t *testing.T) {
	t.Parallel()
	key := keyring.Generate("k1")
	sk := "AAECAwQFBgcICQoLDA0ODw=="
	secrets := []secret{
		newSecret("session_key", sk),
		newSecret("master key", keyring.Format(key)),
		newSecret("token", "wxl_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
		newSecret("app secret", "0123456789abcdef0123456789abcdef"),
		newSecret("code", "0a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P"),
	}
	places := []place{
		{name: "log: hex key", data: []byte(`{"msg":"x","k":"000102030405060708090a0b0c0d0e0f"}`)},
		{name: "db: raw key bytes", data: append([]byte("page\x00"), key.Secret...)},
		{name: "metrics: token without prefix", data: []byte(`x{t="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"} 1`)},
		{name: "log: escaped secret", data: []byte(`url=/x?secret=0123456789abcdef0123456789abcdef`)},
		{name: "response: code", data: []byte(`{"error":{"message":"code 0a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P"}}`)},
		{name: "log: key escaped in a URL", data: []byte(`k=AAECAwQFBgcICQoLDA0ODw%3D%3D`)},
		{name: "login answer", data: []byte(`{"token":"wxl_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}`),
			allowed: []string{"wxl_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}},
		{name: "clean", data: []byte(`{"ok":true}`)},
	}
	found := scanSecrets(places, secrets)
	var got []string
	for _, f := range found {
		got = append(got, f.place+": "+f.kind)
	}
	want := []string{
		"log: hex key: session_key", "db: raw key bytes: master key", "metrics: token without prefix: token",
		"log: escaped secret: app secret", "response: code: code", "log: key escaped in a URL: session_key",
	}
	if !slices.Equal(got, want) {
		t.Errorf("found %q\nwant  %q", got, want)
	}
}

// TestCatalogueSecrets walks one full flow against a real server at debug
// log level with metrics on: logins, the session, user info (with a fresh
// login_code), the phone by code and legacy payload, a WeRun decrypt, the
// session list and revocations, every admin route, a restart with a new
// master key and rotate-key, and logout. Then every response (headers and
// body), every log line, the metrics, a dump of the database and its raw
// files are scanned for the app secrets, session keys, tokens, codes,
// access tokens, the admin token and the master keys: none may be found,
// but where the API returns one by design (a login answer carries its own
// token, the admin access-token route its access token).
func TestCatalogueSecrets(t *testing.T) {
	t.Parallel()
	em := emulator.New(emulator.DevApps()...)
	em.PushPoll = time.Hour // the suite's ticket is pushed when the test says
	defer em.Close()
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	suite := emulator.DevSuites()[0]
	const suiteApp = "suite-catalogue"
	app := emulator.DevApps()[0]
	const adminToken = "admin-token-for-the-secrets-catalogue"
	old, primary := keyring.Generate("k1"), keyring.Generate("k2")
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "wx.db")
	envs := map[string]string{
		"WXLOGIN_ADDR":            "127.0.0.1:0",
		"WXLOGIN_STORE":           "sqlite://" + dbPath,
		"WXLOGIN_DATA":            dir,
		"WXLOGIN_WECHAT_BASE_URL": wechat.URL,
		"WXLOGIN_WECOM_BASE_URL":  wechat.URL,
		appSecretVar(app.AppID):   app.Secret,
		// A WeCom suite app (apps: in the file below): its suite_secret
		// and callback secrets.
		appSecretVar(suiteApp): suite.Secret,
		"WXLOGIN_APP_CALLBACK_TOKEN_" + strings.ToUpper(suiteApp):   suite.Token,
		"WXLOGIN_APP_ENCODING_AES_KEY_" + strings.ToUpper(suiteApp): suite.EncodingAESKey,
		"WXLOGIN_MASTER_KEY":  keyring.Format(old),
		"WXLOGIN_ADMIN_TOKEN": adminToken,
		"WXLOGIN_LOG_LEVEL":   "debug",
		"WXLOGIN_METRICS":     "true",
	}
	secrets := []secret{newSecret("admin token", adminToken),
		newSecret("master key", keyring.Format(old)), newSecret("master key", keyring.Format(primary))}
	for _, a := range emulator.DevApps() {
		secrets = append(secrets, newSecret("app secret", a.Secret))
	}
	secrets = append(secrets, newSecret("suite secret", suite.Secret), newSecret("callback token", suite.Token),
		newSecret("encoding_aes_key", suite.EncodingAESKey))
	// A webhook receiver: what it is sent is scanned too, and its secret
	// must appear nowhere (the signature is an HMAC of it, never it).
	const webhookSecret = "whsec-for-the-secrets-catalogue-0123"
	secrets = append(secrets, newSecret("webhook secret", webhookSecret))
	var (
		hooksMu sync.Mutex
		hooks   []place
	)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var head bytes.Buffer
		r.Header.Write(&head)
		hooksMu.Lock()
		hooks = append(hooks, place{name: fmt.Sprintf("webhook request %d", len(hooks)+1), data: append(head.Bytes(), body...)})
		hooksMu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	// Outside dir, whose files are scanned: a secret file holds its secret.
	confDir := t.TempDir()
	secretFile := filepath.Join(confDir, "webhook.secret")
	if err := os.WriteFile(secretFile, []byte(webhookSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	envs["WXLOGIN_CONFIG"] = filepath.Join(confDir, "wxlogin.yaml")
	if err := os.WriteFile(envs["WXLOGIN_CONFIG"], []byte("default_app: "+app.AppID+"\napps: [{appid: "+app.AppID+"}, {appid: "+suiteApp+
		", kind: wecom_suite, suite_id: "+suite.SuiteID+"}]\nwebhooks: [{url: '"+receiver.URL+"', secret_file: '"+secretFile+
		"', events: [user.registered, user.erased, sessions.revoked, phone.bound]}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var places []place
	api, stop, stderr := startServe(t, envs)
	// drained waits until the outbox has nothing pending, so that every
	// event of the run reached the receiver.
	drained := func() {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			status, m := get(t, api+"/v1/admin/webhooks?state=pending", adminToken)
			if list, _ := m["deliveries"].([]any); status == 200 && len(list) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("webhook deliveries still pending after 15 s: %d %v", status, m)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var logs []*testlog.Buffer

	// call sends one request and keeps its answer, headers included, as a
	// place; allowed are the secrets it may carry by design.
	call := func(method, path, token string, body any, allowed ...string) (int, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(t.Context(), method, api+path, rd)
		if rd != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		var head bytes.Buffer
		res.Header.Write(&head)
		places = append(places, place{name: fmt.Sprintf("response %d: %s %s", len(places)+1, method, path),
			data: append(head.Bytes(), data...), allowed: allowed})
		var m map[string]any
		json.Unmarshal(data, &m)
		return res.StatusCode, m
	}
	must := func(want, got int, what string, m map[string]any) {
		t.Helper()
		if got != want {
			t.Fatalf("%s: %d %v, want %d", what, got, m, want)
		}
	}
	wxLogin := func(user string) string {
		t.Helper()
		code, err := em.Login(app.AppID, user)
		if err != nil {
			t.Fatal(err)
		}
		key, err := em.SessionKey(app.AppID, user)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, newSecret("code", code), newSecret("session_key", key))
		return code
	}
	login := func(user string) (token string, m map[string]any) {
		t.Helper()
		code := wxLogin(user)
		// The token is only known from the answer, which may carry it.
		var status int
		before := len(places)
		status, m = call("POST", "/v1/login", "", map[string]string{"code": code})
		must(200, status, "login", m)
		token, _ = m["token"].(string)
		places[before].allowed = []string{token}
		secrets = append(secrets, newSecret("token", token))
		return token, m
	}

	tok, lm := login("alice")
	userID := lm["user"].(map[string]any)["id"].(string)
	st, m := call("GET", "/v1/session", tok, nil)
	must(200, st, "session", m)
	st, m = call("GET", "/v1/auth", tok, nil)
	must(200, st, "forward-auth", m)
	for _, u := range []string{"alice", "bob"} {
		if err := em.AgreePrivacy(app.AppID, u); err != nil {
			t.Fatal(err)
		}
	}
	creds, err := em.UserInfo(app.AppID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	st, m = call("POST", "/v1/userinfo", tok, map[string]string{"rawData": creds.RawData, "signature": creds.Signature,
		"encryptedData": creds.EncryptedData, "iv": creds.IV})
	must(200, st, "userinfo", m)
	// A wx.login inside the tap: the payload is sealed with the new key,
	// and the client sends the fresh code with it.
	fresh := wxLogin("alice")
	creds, err = em.UserInfo(app.AppID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	st, m = call("POST", "/v1/userinfo", tok, map[string]string{"rawData": creds.RawData, "signature": creds.Signature,
		"encryptedData": creds.EncryptedData, "iv": creds.IV, "login_code": fresh})
	must(200, st, "userinfo with login_code", m)
	ph, err := em.Phone(app.AppID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, newSecret("code", ph.Code))
	st, m = call("POST", "/v1/phone", tok, map[string]string{"code": ph.Code})
	must(200, st, "phone by code", m)
	st, m = call("POST", "/v1/phone", tok, map[string]string{"code": ph.Code})
	must(401, st, "phone code reused", m)
	st, m = call("POST", "/v1/phone", tok, map[string]string{"encryptedData": ph.EncryptedData, "iv": ph.IV})
	must(200, st, "legacy phone", m)
	werun, err := em.WeRun(app.AppID, "alice", true)
	if err != nil {
		t.Fatal(err)
	}
	st, m = call("POST", "/v1/decrypt", tok, map[string]string{"kind": "werun", "encryptedData": werun.EncryptedData, "iv": werun.IV})
	must(200, st, "decrypt", m)
	st, m = call("POST", "/v1/decrypt", tok, map[string]string{"kind": "werun", "encryptedData": werun.EncryptedData, "iv": ph.IV})
	must(400, st, "decrypt with the wrong iv", m)
	st, m = call("GET", "/v1/me", tok, nil)
	must(200, st, "me", m)

	// A second device: its session is listed and revoked from the first.
	tok2, _ := login("alice")
	st, m = call("GET", "/v1/sessions", tok, nil)
	must(200, st, "sessions", m)
	var other string
	for _, s := range m["sessions"].([]any) {
		if s := s.(map[string]any); s["current"] != true {
			other = s["id"].(string)
		}
	}
	st, m = call("DELETE", "/v1/sessions/"+other, tok, nil)
	must(204, st, "revoke the other session", m)
	st, m = call("GET", "/v1/auth", tok2, nil)
	must(401, st, "forward-auth of a revoked session", m)
	// A replayed code and a stranger's token: errors must not echo them.
	st, m = call("POST", "/v1/login", "", map[string]string{"code": fresh})
	must(401, st, "replayed code", m)
	st, m = call("GET", "/v1/session", "wxl_not-a-token-anyone-issued", nil)
	must(401, st, "unknown token", m)

	// Admin, on bob.
	_, bm := login("bob")
	bobID := bm["user"].(map[string]any)["id"].(string)
	st, m = call("GET", "/v1/admin/users?appid="+app.AppID, adminToken, nil)
	must(200, st, "admin users", m)
	for _, id := range []string{userID, bobID} {
		st, m = call("GET", "/v1/admin/users/"+id, adminToken, nil)
		must(200, st, "admin user", m)
	}
	st, m = call("GET", "/v1/admin/users/"+bobID+"/sessions", adminToken, nil)
	must(200, st, "admin user sessions", m)
	bobSession := m["sessions"].([]any)[0].(map[string]any)["id"].(string)
	st, m = call("DELETE", "/v1/admin/sessions/"+bobSession, adminToken, nil)
	must(204, st, "admin revoke session", m)
	tokBob, _ := login("bob")
	st, m = call("DELETE", "/v1/admin/users/"+bobID+"/sessions", adminToken, nil)
	must(204, st, "admin revoke user sessions", m)
	st, m = call("GET", "/v1/auth", tokBob, nil)
	must(401, st, "forward-auth after admin revocation", m)
	before := len(places)
	st, m = call("GET", "/v1/admin/apps/"+app.AppID+"/access_token", adminToken, nil)
	must(200, st, "admin access token", m)
	accessToken, _ := m["access_token"].(string)
	if accessToken == "" {
		t.Fatalf("no access token in %v", m)
	}
	places[before].allowed = []string{accessToken}
	secrets = append(secrets, newSecret("access token", accessToken))
	st, m = call("GET", "/v1/admin/users", "wrong-admin-token", nil)
	must(401, st, "admin with a wrong token", m)

	// The WeCom suite: WeCom (the emulator) verifies the callback URL and
	// pushes the suite_ticket; a member logs in with it.
	if err := em.SetSuiteCallback(suite.SuiteID, api+"/v1/wecom/suite/"+suite.SuiteID+"/callback"); err != nil {
		t.Fatal(err)
	}
	if res, err := em.PushTicket(t.Context(), suite.SuiteID); err != nil || !res.Delivered {
		t.Fatalf("suite_ticket push: %+v, %v", res, err)
	}
	secrets = append(secrets, newSecret("suite_ticket", em.LatestSuiteTicket(suite.SuiteID)))
	suiteCode, err := em.SuiteLogin(suite.SuiteID, emulator.DevCorps()[0].CorpID, "carol")
	if err != nil {
		t.Fatal(err)
	}
	suiteKey, _ := em.SuiteSessionKey(suite.SuiteID, emulator.DevCorps()[0].CorpID, "carol")
	secrets = append(secrets, newSecret("code", suiteCode), newSecret("session_key", suiteKey))
	before = len(places)
	st, m = call("POST", "/v1/login", "", map[string]string{"appid": suiteApp, "code": suiteCode})
	must(200, st, "suite login", m)
	suiteTok, _ := m["token"].(string)
	places[before].allowed = []string{suiteTok}
	secrets = append(secrets, newSecret("token", suiteTok))
	st, m = call("GET", "/v1/auth", suiteTok, nil)
	must(200, st, "suite forward-auth", m)
	before = len(places)
	st, m = call("GET", "/v1/admin/apps/"+suiteApp+"/access_token", adminToken, nil)
	must(200, st, "admin suite access token", m)
	suiteAccess, _ := m["access_token"].(string)
	places[before].allowed = []string{suiteAccess}
	secrets = append(secrets, newSecret("suite access token", suiteAccess))
	drained()
	st, m = call("GET", "/v1/admin/webhooks", adminToken, nil)
	must(200, st, "admin webhooks", m)

	st, m = call("GET", "/metrics", "", nil)
	must(200, st, "metrics", m)
	// The files while the server has them open: the WAL holds the recent
	// writes.
	places = append(places, rawFiles(t, dir, "while serving")...)
	logs = append(logs, stderr)
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d; stderr:\n%s", code, stderr.String())
	}

	// A new primary key, and everything resealed under it.
	envs["WXLOGIN_MASTER_KEY"] = keyring.Format(primary, old)
	api, stop, stderr = startServe(t, envs)
	logs = append(logs, stderr)
	st, m = call("POST", "/v1/admin/rotate-key", adminToken, nil)
	must(200, st, "rotate-key", m)
	st, m = call("GET", "/v1/me", tok, nil)
	must(200, st, "me after rotate-key", m)
	st, m = call("DELETE", "/v1/session", tok, nil)
	must(204, st, "logout", m)
	st, m = call("GET", "/v1/auth", tok, nil)
	must(401, st, "forward-auth after logout", m)
	st, m = call("GET", "/metrics", "", nil)
	must(200, st, "metrics after restart", m)
	drained()
	hooksMu.Lock()
	if len(hooks) < 6 {
		t.Errorf("the webhook receiver got %d requests, want at least 6 (registrations, phone, revocations)", len(hooks))
	}
	places = append(places, hooks...)
	hooksMu.Unlock()
	places = append(places, rawFiles(t, dir, "after rotate-key")...)
	places = append(places, dumpDatabase(t, dbPath))
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d; stderr:\n%s", code, stderr.String())
	}
	places = append(places, rawFiles(t, dir, "after shutdown")...)
	for i, l := range logs {
		lines := strings.Split(strings.TrimSpace(l.String()), "\n")
		if !strings.Contains(l.String(), `"level":"DEBUG"`) {
			t.Errorf("run %d logged no debug line in its %d lines", i+1, len(lines))
		}
		for n, line := range lines {
			places = append(places, place{name: fmt.Sprintf("log line %d of run %d", n+1, i+1), data: []byte(line)})
		}
	}

	found := scanSecrets(places, secrets)
	for _, f := range found {
		t.Errorf("%s holds a %s (%s)", f.place, f.kind, f.form)
	}
	forms := 0
	for _, s := range secrets {
		forms += len(s.forms)
	}
	summary("catalogue secrets: scanned %d places, found %d (%d secrets in %d forms)", len(places), len(found), len(secrets), forms)
}

// rawFiles returns every file under dir (the database, its WAL and index,
// avatars) as places, byte for byte.
func rawFiles(t *testing.T, dir, when string) []place {
	t.Helper()
	var out []place
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out = append(out, place{name: "file " + rel + " " + when, data: data})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no files in %s", dir)
	}
	return out
}

// dumpDatabase returns every value of every table, text as text and blobs
// as their bytes, as one place.
func dumpDatabase(t *testing.T, path string) place {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var dump bytes.Buffer
	values := 0
	for _, table := range tables {
		rs, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					dump.Write(v)
				default:
					fmt.Fprint(&dump, v)
				}
				dump.WriteByte('|')
				values++
			}
			dump.WriteByte('\n')
		}
		rs.Close()
	}
	if values == 0 {
		t.Fatal("the database dump is empty")
	}
	return place{name: "database dump", data: dump.Bytes()}
}
