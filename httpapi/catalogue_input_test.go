package httpapi_test

import (
	"bytes"
	"compress/zlib"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/wecomcrypt"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

// bombPNG is a PNG header claiming w×h pixels with a tiny, highly
// compressed IDAT: a decoder that trusted the header would allocate w×h.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0 // 8-bit grey
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// TestCatalogueBadInput sends malformed requests to every endpoint. Each
// must answer the JSON envelope with a code docs/openapi.yaml documents for
// that route and status, and the database must be the same afterwards (the
// clock is frozen, so a valid token's touch writes nothing either).
func TestCatalogueBadInput(t *testing.T) {
	t.Parallel()
	var blobs string
	w := newWorld(t, withBlobs(&blobs), func(_ *world, a *auth.Config, _ *httpapi.Config) {
		// Every case must reach the check it is about, not a limit.
		a.Limits = auth.Limits{LoginPerIP: auth.Limit{Rate: -1}, LoginPerApp: auth.Limit{Rate: -1},
			DecryptPerSession: auth.Limit{Rate: -1}, AvatarPerUser: auth.Limit{Rate: -1}}
	}, withSuite())
	lb := w.login(app1, "cat")
	tok := lb.Token
	other := newWorld(t).login(app1, "elsewhere").Token // a real token of another server
	app2Tok := w.login(app2, "cat").Token
	w.request("POST", "/v1/userinfo", tok, w.userInfoRequest(app1, "cat", "Cat")).ok(t, 200, nil)
	info := w.userInfoRequest(app1, "cat", "Changed")
	key := w.sessionKey(app1, "cat")
	werun, werunIV := w.seal(app1, "cat", wxcrypt.WeRun{StepInfoList: []wxcrypt.Step{{Timestamp: 1, Step: 2}}, Envelope: w.watermark(app1)})
	raw, _ := base64.StdEncoding.DecodeString(werun)
	b64 := base64.StdEncoding.EncodeToString
	enc := func(b []byte) string { return b64(b) }
	iv16 := b64(bytes.Repeat([]byte{1}, 16))
	badPad := func(last byte) string { // a last block whose padding byte is last
		plain := append(bytes.Repeat([]byte("{"), 15), last)
		e, err := wxcrypt.Encrypt(key, iv16, plain)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := base64.StdEncoding.DecodeString(e)
		return b64(r[:16]) // the padding block cut off: plain's own last byte is the "padding"
	}
	decrypt := func(kind, data, iv string) []byte {
		return []byte(`{"kind":"` + kind + `","encryptedData":"` + data + `","iv":"` + iv + `"}`)
	}
	j := func(s string) []byte { return []byte(s) }
	jsonCT := []string{"Content-Type", "application/json"}
	bearer := func(token string, more ...string) []string {
		return append([]string{"Authorization", "Bearer " + token, "Content-Type", "application/json"}, more...)
	}
	admin := bearer(adminToken)
	big := j(`{"code":"x","pad":"` + strings.Repeat("a", 70<<10) + `"}`)

	type kase struct {
		name string
		req  sent
		code string // the documented code expected
	}
	cases := []kase{
		// JSON bodies
		{"login: empty", sent{"POST", "/v1/login", jsonCT, j("")}, "invalid_request"},
		{"login: whitespace", sent{"POST", "/v1/login", jsonCT, j(" \n\t")}, "invalid_request"},
		{"login: null", sent{"POST", "/v1/login", jsonCT, j("null")}, "invalid_request"},
		{"login: array", sent{"POST", "/v1/login", jsonCT, j(`["code"]`)}, "invalid_request"},
		{"login: string", sent{"POST", "/v1/login", jsonCT, j(`"code"`)}, "invalid_request"},
		{"login: truncated object", sent{"POST", "/v1/login", jsonCT, j(`{"code":"abc"`)}, "invalid_request"},
		{"login: truncated value", sent{"POST", "/v1/login", jsonCT, j(`{"code":`)}, "invalid_request"},
		{"login: truncated string", sent{"POST", "/v1/login", jsonCT, j(`{"code":"ab`)}, "invalid_request"},
		{"login: trailing garbage", sent{"POST", "/v1/login", jsonCT, j(`{"code":"x"}}`)}, "invalid_request"},
		{"login: two objects", sent{"POST", "/v1/login", jsonCT, j(`{"code":"x"}{"code":"y"}`)}, "invalid_request"},
		{"login: duplicate key, last empty", sent{"POST", "/v1/login", jsonCT, j(`{"code":"x","code":""}`)}, "invalid_request"},
		{"login: duplicate key, last unknown", sent{"POST", "/v1/login", jsonCT, j(`{"appid":"` + app1 + `","code":"` + w.code(app1, "dup") + `","code":"nope"}`)}, "invalid_code"},
		{"login: code a number", sent{"POST", "/v1/login", jsonCT, j(`{"code":42}`)}, "invalid_request"},
		{"login: code an object", sent{"POST", "/v1/login", jsonCT, j(`{"code":{"a":1}}`)}, "invalid_request"},
		{"login: code null", sent{"POST", "/v1/login", jsonCT, j(`{"code":null}`)}, "invalid_request"},
		{"login: code too long", sent{"POST", "/v1/login", jsonCT, j(`{"code":"` + strings.Repeat("c", 300) + `"}`)}, "invalid_request"},
		{"login: NUL in code", sent{"POST", "/v1/login", jsonCT, j(`{"appid":"` + app1 + `","code":"a\u0000b"}`)}, "invalid_code"},
		{"login: raw NUL byte", sent{"POST", "/v1/login", jsonCT, j("{\"code\":\"a\x00b\"}")}, "invalid_request"},
		{"login: invalid UTF-8 in code", sent{"POST", "/v1/login", jsonCT, j("{\"appid\":\"" + app1 + "\",\"code\":\"\xff\xfe\"}")}, "invalid_code"},
		{"login: invalid UTF-8 outside strings", sent{"POST", "/v1/login", jsonCT, j("{\xff\"code\":\"x\"}")}, "invalid_request"},
		{"login: BOM", sent{"POST", "/v1/login", jsonCT, j("\xef\xbb\xbf{\"code\":\"x\"}")}, "invalid_request"},
		{"login: unknown app", sent{"POST", "/v1/login", jsonCT, j(`{"code":"x","appid":"wx0000000000000000"}`)}, "unknown_app"},
		{"login: appid with NUL", sent{"POST", "/v1/login", jsonCT, j(`{"code":"x","appid":"wx\u0000"}`)}, "unknown_app"},
		{"login: unknown code", sent{"POST", "/v1/login", jsonCT, j(`{"code":"never-issued","appid":"` + app1 + `"}`)}, "invalid_code"},
		{"login: oversized body", sent{"POST", "/v1/login", jsonCT, big}, "request_too_large"},
		{"login: deep nesting", sent{"POST", "/v1/login", jsonCT, j(`{"pad":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`)}, "invalid_request"},
		// content types
		{"login: form encoded", sent{"POST", "/v1/login", []string{"Content-Type", "application/x-www-form-urlencoded"}, j("code=abc")}, "unsupported_media_type"},
		{"login: multipart", sent{"POST", "/v1/login", []string{"Content-Type", "multipart/form-data; boundary=b"}, j("--b\r\nContent-Disposition: form-data; name=\"code\"\r\n\r\nabc\r\n--b--\r\n")}, "unsupported_media_type"},
		{"login: malformed Content-Type", sent{"POST", "/v1/login", []string{"Content-Type", "application/json; charset"}, j(`{"code":"x"}`)}, "unsupported_media_type"},
		{"login: Content-Type garbage", sent{"POST", "/v1/login", []string{"Content-Type", ";;;"}, j(`{"code":"x"}`)}, "unsupported_media_type"},
		{"login: XML", sent{"POST", "/v1/login", []string{"Content-Type", "application/xml"}, j(`<code>x</code>`)}, "invalid_request"},
		{"userinfo: form encoded", sent{"POST", "/v1/userinfo", bearer(tok, "Content-Type", "application/x-www-form-urlencoded"), j("rawData=a&signature=b")}, "unsupported_media_type"},
		{"profile: multipart", sent{"PUT", "/v1/me/profile", bearer(tok, "Content-Type", "multipart/form-data; boundary=b"), j("--b--\r\n")}, "unsupported_media_type"},
		{"phone: oversized", sent{"POST", "/v1/phone", bearer(tok), big}, "request_too_large"},
		{"decrypt: oversized", sent{"POST", "/v1/decrypt", bearer(tok), big}, "request_too_large"},
		// Authorization forms
		{"session: no Authorization", sent{"GET", "/v1/session", nil, nil}, "session_invalid"},
		{"session: empty Authorization", sent{"GET", "/v1/session", []string{"Authorization", ""}, nil}, "session_invalid"},
		{"session: Bearer only", sent{"GET", "/v1/session", []string{"Authorization", "Bearer"}, nil}, "session_invalid"},
		{"session: Bearer and spaces", sent{"GET", "/v1/session", []string{"Authorization", "Bearer    "}, nil}, "session_invalid"},
		{"session: Basic", sent{"GET", "/v1/session", []string{"Authorization", "Basic " + b64([]byte("a:b"))}, nil}, "session_invalid"},
		{"session: token without scheme", sent{"GET", "/v1/session", []string{"Authorization", tok}, nil}, "session_invalid"},
		{"session: token with a byte changed", sent{"GET", "/v1/session", []string{"Authorization", "Bearer " + tok[:len(tok)-1] + "x"}, nil}, "session_invalid"},
		{"session: token truncated", sent{"GET", "/v1/session", []string{"Authorization", "Bearer " + tok[:20]}, nil}, "session_invalid"},
		{"session: token doubled", sent{"GET", "/v1/session", []string{"Authorization", "Bearer " + tok + tok}, nil}, "session_invalid"},
		{"session: two tokens", sent{"GET", "/v1/session", []string{"Authorization", "Bearer " + tok + " " + tok}, nil}, "session_invalid"},
		{"session: token of another server", sent{"GET", "/v1/session", []string{"Authorization", "Bearer " + other}, nil}, "session_invalid"},
		{"session: admin token as a user's", sent{"GET", "/v1/session", []string{"Authorization", "Bearer " + adminToken}, nil}, "session_invalid"},
		{"session: very long token", sent{"GET", "/v1/session", []string{"Authorization", "Bearer " + strings.Repeat("t", 8000)}, nil}, "session_invalid"},
		{"auth: no token", sent{"GET", "/v1/auth", nil, nil}, "session_invalid"},
		{"auth: other server's token", sent{"GET", "/v1/auth", []string{"Authorization", "Bearer " + other}, nil}, "session_invalid"},
		{"admin: a user's token", sent{"GET", "/v1/admin/users", []string{"Authorization", "Bearer " + tok}, nil}, "unauthorized"},
		{"admin: another app's user token", sent{"DELETE", "/v1/admin/users/" + lb.User.ID, []string{"Authorization", "Bearer " + app2Tok}, nil}, "unauthorized"},
		{"admin: token with a suffix", sent{"POST", "/v1/admin/rotate-key", []string{"Authorization", "Bearer " + adminToken + "x"}, nil}, "unauthorized"},
		{"admin: lower-case token", sent{"GET", "/v1/admin/apps/" + app1 + "/access_token", []string{"Authorization", "Bearer " + strings.ToUpper(adminToken)}, nil}, "unauthorized"},
		{"admin: bad limit", sent{"GET", "/v1/admin/users?limit=-1", admin, nil}, "invalid_request"},
		{"admin: limit not a number", sent{"GET", "/v1/admin/users?limit=ten", admin, nil}, "invalid_request"},
		{"admin: unknown app's token", sent{"GET", "/v1/admin/apps/wx0000000000000000/access_token", admin, nil}, "unknown_app"},
		{"admin: unknown user", sent{"GET", "/v1/admin/users/usr_nope", admin, nil}, "not_found"},
		{"admin: unknown user's sessions", sent{"DELETE", "/v1/admin/users/usr_nope/sessions", admin, nil}, "not_found"},
		{"admin: erase unknown user", sent{"DELETE", "/v1/admin/users/usr_nope", admin, nil}, "not_found"},
		{"admin: unknown session", sent{"DELETE", "/v1/admin/sessions/ses_nope", admin, nil}, "not_found"},
		// encrypted data: base64, lengths, padding
		{"userinfo: missing iv", sent{"POST", "/v1/userinfo", bearer(tok), mustJSON(t, maps(info, "iv", ""))}, "invalid_request"},
		{"userinfo: missing rawData", sent{"POST", "/v1/userinfo", bearer(tok), mustJSON(t, maps(info, "rawData", ""))}, "invalid_request"},
		{"userinfo: bad signature", sent{"POST", "/v1/userinfo", bearer(tok), mustJSON(t, maps(info, "signature", strings.Repeat("0", 40)))}, "invalid_signature"},
		{"userinfo: data not base64", sent{"POST", "/v1/userinfo", bearer(tok), mustJSON(t, maps(info, "encryptedData", "!!!!"))}, "invalid_encrypted_data"},
		{"userinfo: unknown login_code", sent{"POST", "/v1/userinfo", bearer(tok), mustJSON(t, maps(info, "login_code", "nope"))}, "invalid_code"},
		{"decrypt: unknown kind", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("phone", werun, werunIV)}, "invalid_request"},
		{"decrypt: kind upper case", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("WERUN", werun, werunIV)}, "invalid_request"},
		{"decrypt: werun sent as share", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("share", werun, werunIV)}, "invalid_encrypted_data"},
		{"decrypt: URL-safe base64", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("werun", base64.URLEncoding.EncodeToString(raw)+"-_", werunIV)}, "invalid_encrypted_data"},
		{"decrypt: unpadded base64", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("werun", strings.TrimRight(werun, "=")+"A", werunIV)}, "invalid_encrypted_data"},
		{"decrypt: base64 with a space", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("werun", werun[:8]+" "+werun[8:], werunIV)}, "invalid_encrypted_data"},
		{"decrypt: ciphertext of 15 bytes", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("werun", enc(raw[:15]), werunIV)}, "invalid_encrypted_data"},
		{"decrypt: ciphertext of 17 bytes", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("werun", enc(raw[:17]), werunIV)}, "invalid_encrypted_data"},
		{"decrypt: ciphertext cut by a block", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("werun", enc(raw[:len(raw)-16]), werunIV)}, "invalid_encrypted_data"},
		{"decrypt: empty ciphertext", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("werun", "", werunIV)}, "invalid_request"},
		{"decrypt: iv of 15 bytes", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("werun", werun, b64(make([]byte, 15)))}, "invalid_encrypted_data"},
		{"decrypt: iv of 17 bytes", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("werun", werun, b64(make([]byte, 17)))}, "invalid_encrypted_data"},
		{"decrypt: iv of 32 bytes", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("werun", werun, b64(make([]byte, 32)))}, "invalid_encrypted_data"},
		{"decrypt: wrong iv", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("werun", werun, iv16)}, "invalid_encrypted_data"},
		{"decrypt: padding byte 0", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("werun", badPad(0), iv16)}, "invalid_encrypted_data"},
		{"decrypt: padding byte 17", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("werun", badPad(17), iv16)}, "invalid_encrypted_data"},
		{"decrypt: padding byte 0xff", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("werun", badPad(0xff), iv16)}, "invalid_encrypted_data"},
		{"decrypt: inconsistent padding", sent{"POST", "/v1/decrypt", bearer(tok), decrypt("werun", badPad(2), iv16)}, "invalid_encrypted_data"},
		{"phone: nothing", sent{"POST", "/v1/phone", bearer(tok), j(`{}`)}, "invalid_request"},
		{"phone: iv without data", sent{"POST", "/v1/phone", bearer(tok), j(`{"iv":"` + iv16 + `"}`)}, "invalid_request"},
		{"phone: unknown code", sent{"POST", "/v1/phone", bearer(tok), j(`{"code":"nope"}`)}, "invalid_code"},
		{"phone: a login code", sent{"POST", "/v1/phone", bearer(tok), j(`{"code":"` + w.code(app1, "cat2") + `"}`)}, "invalid_code"},
		// profile and avatar
		{"profile: missing nickname", sent{"PUT", "/v1/me/profile", bearer(tok), j(`{"name":"x"}`)}, "invalid_request"},
		{"profile: NUL", sent{"PUT", "/v1/me/profile", bearer(tok), j(`{"nickname":"a\u0000b"}`)}, "invalid_request"},
		{"profile: newline inside", sent{"PUT", "/v1/me/profile", bearer(tok), j(`{"nickname":"a\nb"}`)}, "invalid_request"},
		{"profile: escape sequence", sent{"PUT", "/v1/me/profile", bearer(tok), j(`{"nickname":"a\u001b[31mb"}`)}, "invalid_request"},
		{"profile: bidi override", sent{"PUT", "/v1/me/profile", bearer(tok), j(`{"nickname":"abc\u202Edef"}`)}, "invalid_request"},
		{"profile: zero-width only", sent{"PUT", "/v1/me/profile", bearer(tok), j(`{"nickname":"\u200b\u200b"}`)}, "invalid_request"},
		{"profile: only spaces", sent{"PUT", "/v1/me/profile", bearer(tok), j(`{"nickname":"   "}`)}, "invalid_request"},
		{"profile: too long", sent{"PUT", "/v1/me/profile", bearer(tok), j(`{"nickname":"` + strings.Repeat("长", 33) + `"}`)}, "invalid_request"},
		{"profile: nickname a number", sent{"PUT", "/v1/me/profile", bearer(tok), j(`{"nickname":7}`)}, "invalid_request"},
		{"avatar: empty", sent{"POST", "/v1/me/avatar", bearer(tok, "Content-Type", "image/png"), j("")}, "invalid_request"},
		{"avatar: text as png", sent{"POST", "/v1/me/avatar", bearer(tok, "Content-Type", "image/png"), j("hello, not an image")}, "unsupported_media_type"},
		{"avatar: GIF", sent{"POST", "/v1/me/avatar", bearer(tok, "Content-Type", "image/gif"), j("GIF89a\x01\x00\x01\x00\x00\x00\x00;")}, "unsupported_media_type"},
		{"avatar: SVG", sent{"POST", "/v1/me/avatar", bearer(tok, "Content-Type", "image/svg+xml"), j(`<svg xmlns="http://www.w3.org/2000/svg"/>`)}, "unsupported_media_type"},
		{"avatar: truncated PNG", sent{"POST", "/v1/me/avatar", bearer(tok, "Content-Type", "image/png"), testImage(t, "png")[:40]}, "unsupported_media_type"},
		{"avatar: decompression bomb 100000²", sent{"POST", "/v1/me/avatar", bearer(tok, "Content-Type", "image/png"), bombPNG(100000, 100000)}, "unsupported_media_type"},
		{"avatar: decompression bomb 4096²", sent{"POST", "/v1/me/avatar", bearer(tok, "Content-Type", "image/png"), bombPNG(4096, 4096)}, "unsupported_media_type"},
		{"avatar: 2049 wide", sent{"POST", "/v1/me/avatar", bearer(tok, "Content-Type", "image/png"), sizedPNG(t, 2049, 1)}, "unsupported_media_type"},
		{"avatar: over 2 MiB", sent{"POST", "/v1/me/avatar", bearer(tok, "Content-Type", "image/png"), make([]byte, 2<<20+1)}, "request_too_large"},
		// routes and path tricks
		{"sessions: unknown id", sent{"DELETE", "/v1/sessions/ses_nope", bearer(tok), nil}, "not_found"},
		{"avatars: unknown id", sent{"GET", "/v1/avatars/avt_nope", nil, nil}, "not_found"},
		{"path: dot-dot out of avatars", sent{"GET", "/v1/avatars/../x", nil, nil}, "not_found"},
		{"path: dot-dot onto session", sent{"GET", "/v1/avatars/../session", bearer(tok), nil}, "not_found"},
		{"path: dot segment", sent{"GET", "/v1/./session", bearer(tok), nil}, "not_found"},
		{"path: double slash", sent{"GET", "//v1/session", bearer(tok), nil}, "not_found"},
		{"path: escaped dot-dot", sent{"GET", "/v1/avatars/%2e%2e/x", nil, nil}, "not_found"},
		{"path: escaped slash", sent{"GET", "/v1/avatars/a%2Fb", nil, nil}, "not_found"},
		{"path: upper case", sent{"GET", "/V1/SESSION", bearer(tok), nil}, "not_found"},
		{"path: NUL escaped", sent{"GET", "/v1/avatars/a%00b", nil, nil}, "not_found"},
		{"method: PATCH me", sent{"PATCH", "/v1/me", bearer(tok), nil}, "method_not_allowed"},
		{"method: GET login", sent{"GET", "/v1/login", nil, nil}, "method_not_allowed"},
		{"method: POST avatars", sent{"POST", "/v1/avatars/x", nil, nil}, "method_not_allowed"},
		{"unknown route", sent{"GET", "/v1/users", nil, nil}, "not_found"},
	}
	for _, c := range suiteCallbackCases(t, w) {
		cases = append(cases, kase(c))
	}

	c := noRedirects(w)
	before := w.dump()
	filesBefore := countFiles(t, blobs)
	names := map[string]bool{}
	var asDocumented int
	for _, k := range cases {
		if names[k.name] {
			t.Fatalf("case %q twice", k.name)
		}
		names[k.name] = true
		a := w.send(c, k.req)
		switch {
		case a.documented != nil:
			t.Errorf("%s: %d %s: %v", k.name, a.status, a.code, a.documented)
		case a.code != k.code:
			t.Errorf("%s: answered %d %s, want %s (%s)", k.name, a.status, a.code, k.code, truncate(a.body))
		default:
			asDocumented++
		}
		if a.status >= 500 {
			t.Errorf("%s: %d", k.name, a.status)
		}
	}
	after := w.dump()
	written := 0
	if d := cmp.Diff(before, after); d != "" {
		written = 1
		t.Errorf("the bad requests changed the database (-before +after):\n%s", d)
	}
	written += countFiles(t, blobs) - filesBefore
	// The suite callback's one write is a suite_ticket, kept in the token
	// cache rather than the database.
	for _, a := range w.svc.SuiteTicketAges(t.Context()) {
		if a.Known {
			written++
			t.Errorf("the bad callbacks left a suite_ticket for %s", a.SuiteID)
		}
	}
	if len(cases) < 80 {
		t.Errorf("only %d cases", len(cases))
	}
	httpapi.Summary("catalogue bad-input: tried %d, answered as documented %d, written %d", len(cases), asDocumented, written)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := jsonMarshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// suiteCallbackCases are the WeCom suite callback's bad requests: forged or
// missing signatures, bodies truncated, garbled or too large, another
// suite, messages that open but carry nothing usable, and GET
// verifications with a garbage echostr. None may keep a ticket or end a
// session.
func suiteCallbackCases(t *testing.T, w *world) []struct {
	name string
	req  sent
	code string
} {
	now := w.clock.Now()
	path := suiteCallbackPath(devSuite.SuiteID)
	xmlCT := []string{"Content-Type", "text/xml"}
	ticket := ticketMessage(devSuite.SuiteID, "catalogue-ticket-0123456789", now)
	goodQ, goodBody := sealedPush(t, devSuite.Token, devSuite.SuiteID, ticket, now)
	post := func(q url.Values, body []byte) sent { return sent{"POST", path + "?" + q.Encode(), xmlCT, body} }
	get := func(q url.Values) sent { return sent{"GET", path + "?" + q.Encode(), nil, nil} }
	without := func(q url.Values, drop string) url.Values {
		out := url.Values{}
		for k, v := range q {
			if k != drop {
				out[k] = v
			}
		}
		return out
	}
	signed := func(enc string) url.Values { // a correct signature over enc
		ts := goodQ.Get("timestamp")
		return url.Values{"msg_signature": {wecomcrypt.Signature(devSuite.Token, ts, "1234", enc)}, "timestamp": {ts}, "nonce": {"1234"}}
	}
	withEcho := func(q url.Values, echo string) url.Values { q.Set("echostr", echo); return q }
	forgedQ, forgedBody := sealedPush(t, "not-the-token", devSuite.SuiteID, ticket, now)
	_, otherBody := sealedPush(t, devSuite.Token, devSuite.SuiteID, ticketMessage(devSuite.SuiteID, "another-ticket-0123", now), now)
	badCorpQ, badCorpBody := sealedPush(t, devSuite.Token, devSuite.SuiteID, cancelAuthMessage(devSuite.SuiteID, "../wwdec0de000000c001", now), now)
	noCorpQ, noCorpBody := sealedPush(t, devSuite.Token, devSuite.SuiteID, cancelAuthMessage(devSuite.SuiteID, "", now), now)
	notXMLQ, notXMLBody := sealedPush(t, devSuite.Token, devSuite.SuiteID, "ticket=abc", now)
	garbledEnc := "!!!!not base64!!!!"
	otherEcho := sealFor(t, "wwsomeoneelse", "12345")
	// Plaintext that is no whole number of AES blocks.
	shortEnc := base64.StdEncoding.EncodeToString([]byte("fifteen bytes.."))
	type kase = struct {
		name string
		req  sent
		code string
	}
	return []kase{
		{"suite callback: wrong token's signature", post(forgedQ, forgedBody), "invalid_signature"},
		{"suite callback: signature of another body", post(goodQ, otherBody), "invalid_signature"},
		{"suite callback: signature changed", post(url.Values{"msg_signature": {flip(goodQ.Get("msg_signature"))}, "timestamp": goodQ["timestamp"], "nonce": goodQ["nonce"]}, goodBody), "invalid_signature"},
		{"suite callback: no msg_signature", post(without(goodQ, "msg_signature"), goodBody), "invalid_signature"},
		{"suite callback: no timestamp", post(without(goodQ, "timestamp"), goodBody), "invalid_signature"},
		{"suite callback: no nonce", post(without(goodQ, "nonce"), goodBody), "invalid_signature"},
		{"suite callback: no query", post(url.Values{}, goodBody), "invalid_signature"},
		{"suite callback: empty body", post(goodQ, nil), "invalid_request"},
		{"suite callback: truncated body", post(goodQ, goodBody[:len(goodBody)/2]), "invalid_request"},
		{"suite callback: body cut before its end tag", post(goodQ, goodBody[:len(goodBody)-3]), "invalid_request"},
		{"suite callback: garbled body", post(goodQ, bytes.Repeat([]byte{0xfe, 0x00, '<'}, 200)), "invalid_request"},
		{"suite callback: JSON body", post(goodQ, []byte(`{"Encrypt":"abc"}`)), "invalid_request"},
		{"suite callback: Encrypt not base64, signed", post(signed(garbledEnc), wecomcrypt.MarshalEnvelope(devSuite.SuiteID, garbledEnc, "")), "invalid_request"},
		{"suite callback: Encrypt not whole blocks, signed", post(signed(shortEnc), wecomcrypt.MarshalEnvelope(devSuite.SuiteID, shortEnc, "")), "invalid_request"},
		{"suite callback: message not XML", post(notXMLQ, notXMLBody), "invalid_request"},
		{"suite callback: cancel_auth with a bad AuthCorpId", post(badCorpQ, badCorpBody), "invalid_request"},
		{"suite callback: cancel_auth without AuthCorpId", post(noCorpQ, noCorpBody), "invalid_request"},
		{"suite callback: oversize body", post(goodQ, []byte("<xml><Encrypt>"+strings.Repeat("A", 17<<10)+"</Encrypt></xml>")), "request_too_large"},
		{"suite callback: unknown suite", sent{"POST", suiteCallbackPath("wwnosuchsuite") + "?" + goodQ.Encode(), xmlCT, goodBody}, "not_found"},
		{"suite callback: suite id with a slash", sent{"POST", "/v1/wecom/suite/a%2Fb/callback?" + goodQ.Encode(), xmlCT, goodBody}, "not_found"},
		{"suite callback: PUT", sent{"PUT", path + "?" + goodQ.Encode(), xmlCT, goodBody}, "method_not_allowed"},
		{"suite verify: no echostr", get(goodQ), "invalid_request"},
		{"suite verify: no query", get(url.Values{}), "invalid_request"},
		{"suite verify: echostr with a bad signature", get(withEcho(url.Values{"msg_signature": {strings.Repeat("0", 40)}, "timestamp": goodQ["timestamp"], "nonce": goodQ["nonce"]}, "abc")), "invalid_signature"},
		{"suite verify: garbage echostr, signed", get(withEcho(signed(garbledEnc), garbledEnc)), "invalid_request"},
		{"suite verify: echostr not whole blocks, signed", get(withEcho(signed(shortEnc), shortEnc)), "invalid_request"},
		{"suite verify: echostr of another receiver", get(withEcho(signed(otherEcho), otherEcho)), "invalid_request"},
		{"suite verify: unknown suite", sent{"GET", suiteCallbackPath("wwnosuchsuite") + "?" + withEcho(signed("abc"), "abc").Encode(), nil, nil}, "not_found"},
	}
}

// sealFor seals plain for receiver with the dev suite's key.
func sealFor(t *testing.T, receiver, plain string) string {
	t.Helper()
	k, err := wecomcrypt.ParseKey(devSuite.EncodingAESKey)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := wecomcrypt.Seal(k, receiver, []byte(plain), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// flip changes the first character of a hex signature.
func flip(sig string) string {
	if sig[0] == '0' {
		return "1" + sig[1:]
	}
	return "0" + sig[1:]
}
