package emulator

// WeCom third-party (suite) apps, played from the service provider's side:
// suites with their secret and callback settings, the corps that installed
// them, wx.qy.login codes of their members under a suite, WeCom's
// get_suite_token and service/miniprogram/jscode2session, and the push of
// the suite_ticket to the suite's callback URL, signed and encrypted as
// WeCom does (after verifying the URL with an echostr), on demand and every
// SuiteTicketInterval of the emulator's clock.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wecomcrypt"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

// Suite is a WeCom third-party app the emulator knows: its suite id and
// secret, its callback settings (token, EncodingAESKey, and the URL WeCom
// pushes to, once set) and the corps that installed it.
type Suite struct {
	SuiteID        string `json:"suite_id"`
	Secret         string `json:"secret"`
	Token          string `json:"token"`
	EncodingAESKey string `json:"encoding_aes_key"`
	// Corps are the corpids (of Emulator.Corps) that installed the suite:
	// only their members get codes under it.
	Corps []string `json:"corps"`
	// CallbackURL is the suite's 指令回调 URL; "" until one is registered
	// (here, or later with SetSuiteCallback or PUT
	// /emulator/v1/wecom/suites/{id}). Once set, tickets are pushed to it
	// every SuiteTicketInterval until Close.
	CallbackURL string `json:"callback_url,omitempty"`
}

// DevSuites returns the suites a zero Emulator serves, which dev mode and
// the README use. The values are fake and public on purpose:
//
//	suite id          wwdec0de0000005001
//	secret            5u17e5ec5u17e5ec5u17e5ec5u17e5ec5u17e5ec001
//	token             devsuitetoken
//	EncodingAESKey    d3hsb2dpbi1kZXYtc3VpdGUtYWVzLWtleS0wMDAwMDE
//
// Both dev corps installed it, so a server allowing only the first
// (corpids) can be shown refusing a member of the second.
func DevSuites() []Suite {
	return []Suite{{
		SuiteID:        "wwdec0de0000005001",
		Secret:         "5u17e5ec5u17e5ec5u17e5ec5u17e5ec5u17e5ec001",
		Token:          "devsuitetoken",
		EncodingAESKey: "d3hsb2dpbi1kZXYtc3VpdGUtYWVzLWtleS0wMDAwMDE",
		Corps:          []string{"wwdec0de000000c001", "wwdec0de000000c002"},
	}}
}

// WeCom suite API names, as used by faults and stats.
const (
	APIWeComSuiteToken          = "wecom_get_suite_token"
	APIWeComSuiteJSCode2Session = "wecom_suite_jscode2session"
)

// Defaults of the suite knobs.
const (
	// SuiteTicketInterval is how often WeCom pushes a new suite_ticket.
	SuiteTicketInterval = 10 * time.Minute
	// SuiteTicketLifetime is how long get_suite_token accepts a ticket.
	SuiteTicketLifetime = 30 * time.Minute
)

// suiteErrmsgs are WeCom's texts for the suite errcodes answered here.
var suiteErrmsgs = map[int]string{
	40082: "invalid suite_access_token",
	40083: "invalid suite_id",
	40085: "invalid suite_ticket",
	42009: "suite_access_token expired",
	41001: "suite_access_token missing",
	47001: "data format error",
}

func (e *Emulator) suiteErr(code int, now time.Time) *wxError {
	w := e.weComErr(code, now)
	if msg, ok := suiteErrmsgs[code]; ok {
		if i := strings.Index(w.msg, ", hint:"); i >= 0 {
			w.msg = msg + w.msg[i:]
		}
	}
	return w
}

// suite is the state of one suite.
type suite struct {
	Suite
	key      wecomcrypt.Key
	corps    map[string]bool
	tickets  map[string]time.Time // issued suite_tickets → when
	token    *suiteToken          // the current suite_access_token
	verified string               // the callback URL verified last; "" if none
	lastPush time.Time            // of the latest ticket, delivered or not
	latest   string               // the latest ticket
	keys     map[string]string    // member WeComKey → session_key under this suite
}

type suiteToken struct {
	value   string
	suite   *suite
	expires time.Time
}

func (e *Emulator) initSuites() {
	suites := e.Suites
	if suites == nil {
		suites = DevSuites()
	}
	e.suites = make(map[string]*suite, len(suites))
	e.suiteTokens = map[string]*suiteToken{}
	for _, s := range suites {
		if _, dup := e.suites[s.SuiteID]; dup {
			continue
		}
		k, err := wecomcrypt.ParseKey(s.EncodingAESKey)
		if err != nil {
			// A suite WeCom would refuse to save; serving it would only
			// make every push fail, so say so and leave it out.
			e.logger().Warn("emulator: suite left out: its EncodingAESKey is not 43 characters of base64", "suite_id", s.SuiteID)
			continue
		}
		st := &suite{Suite: s, key: k, corps: map[string]bool{}, tickets: map[string]time.Time{},
			keys: map[string]string{}}
		st.Corps = append([]string(nil), s.Corps...)
		for _, c := range s.Corps {
			st.corps[c] = true
		}
		e.suites[s.SuiteID] = st
		e.suiteOrder = append(e.suiteOrder, s.SuiteID)
		if s.CallbackURL != "" && e.pushStop == nil {
			// A URL in the configuration is pushed to as one set later.
			e.pushStop = make(chan struct{})
			go e.pushLoop(e.pushStop)
		}
	}
}

// SuiteView is a suite as the device API lists it: without its secrets.
type SuiteView struct {
	SuiteID     string   `json:"suite_id"`
	Corps       []string `json:"corps"`
	CallbackURL string   `json:"callback_url,omitempty"`
	Verified    bool     `json:"verified"`
	LastPush    string   `json:"last_push,omitempty"`
}

// SuiteList returns the suites served, in configured order, without secrets.
func (e *Emulator) SuiteList() []SuiteView {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]SuiteView, 0, len(e.suiteOrder))
	for _, id := range e.suiteOrder {
		s := e.suites[id]
		v := SuiteView{SuiteID: id, Corps: append([]string(nil), s.Corps...), CallbackURL: s.CallbackURL, Verified: s.CallbackURL != "" && s.verified == s.CallbackURL}
		if !s.lastPush.IsZero() {
			v.LastPush = s.lastPush.UTC().Format(time.RFC3339)
		}
		out = append(out, v)
	}
	return out
}

func (e *Emulator) suiteLocked(id string) (*suite, *DeviceError) {
	s := e.suites[id]
	if s == nil {
		return nil, deviceErr(wxlogin.ENotFound, "", "no suite %q", id)
	}
	return s, nil
}

// SuiteLogin is wx.qy.login inside the suite's mini program for user, a
// member of corpid: a one-time code (CodeLifetime) for
// service/miniprogram/jscode2session. The corp must have installed the
// suite.
func (e *Emulator) SuiteLogin(suiteID, corpid, user string) (string, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	s, derr := e.suiteLocked(suiteID)
	if derr != nil {
		return "", derr
	}
	m, derr := e.memberLocked("qy.login", corpid, user)
	if derr != nil {
		return "", derr
	}
	if !s.corps[corpid] {
		return "", deviceErr(wxlogin.EUnknownApp, "qy.login:fail app not installed",
			"the corp %s has not installed the suite %s", corpid, suiteID)
	}
	key := wxcrypt.NewSessionKey()
	s.keys[wxlogin.WeComKey(corpid, m.userID)] = key
	// In the one code table, whose expiry queue keeps the work per new
	// code constant however many are live.
	return e.newCodeLocked(&code{kind: suiteCode, member: m, suite: s, sessionKey: key, issued: e.nowLocked()}), nil
}

// SuiteSessionKey returns the member's current session_key under the suite
// ("" before the first SuiteLogin), for tests that check it never leaks.
func (e *Emulator) SuiteSessionKey(suiteID, corpid, user string) (string, error) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	s, derr := e.suiteLocked(suiteID)
	if derr != nil {
		return "", derr
	}
	return s.keys[wxlogin.WeComKey(corpid, user)], nil
}

// LatestSuiteTicket returns the suite's latest suite_ticket ("" before the
// first push), for tests that check it never leaks. WeCom tells it only
// to the callback URL.
func (e *Emulator) LatestSuiteTicket(suiteID string) string {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.suites[suiteID]
	if s == nil {
		return ""
	}
	return s.latest
}

// OpenUserID is the open_userid the emulator gives a member under a suite:
// stable, as WeCom's is per service provider (the emulator takes each suite
// for a provider of its own).
func OpenUserID(suiteID, corpid, userid string) string {
	return derive("wo", 32, "open_userid", suiteID, corpid, userid)
}

// ExpireSuiteToken ends the suite's current suite_access_token now, as
// WeCom may before the expiry it announced: jscode2session then answers
// 42009 for it, and get_suite_token issues a new one.
func (e *Emulator) ExpireSuiteToken(suiteID string) error {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	s, derr := e.suiteLocked(suiteID)
	if derr != nil {
		return derr
	}
	if s.token != nil {
		s.token.expires = e.nowLocked()
		s.token = nil
	}
	return nil
}

// getSuiteToken is WeCom's get_suite_token: POST
// /cgi-bin/service/get_suite_token {suite_id, suite_secret, suite_ticket}.
// A ticket must be one pushed for this suite in the last 30 minutes
// (40085). As WeCom does, it hands back the same token until it expires.
func (e *Emulator) getSuiteToken(_ *http.Request, body []byte, now time.Time) (any, *wxError) {
	var req struct {
		SuiteID     string `json:"suite_id"`
		SuiteSecret string `json:"suite_secret"`
		SuiteTicket string `json:"suite_ticket"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, e.suiteErr(47001, now)
	}
	s := e.suites[req.SuiteID]
	if s == nil {
		return nil, e.suiteErr(40083, now)
	}
	if req.SuiteSecret != s.Secret {
		return nil, e.weComErr(40001, now)
	}
	issued, ok := s.tickets[req.SuiteTicket]
	if !ok || !now.Before(issued.Add(SuiteTicketLifetime)) {
		return nil, e.suiteErr(40085, now)
	}
	if s.token == nil || !now.Before(s.token.expires) {
		if len(e.suiteTokens) >= 1024 {
			for v, t := range e.suiteTokens {
				if !now.Before(t.expires) {
					delete(e.suiteTokens, v)
				}
			}
		}
		s.token = &suiteToken{value: randomString(64, alnum+"_-"), suite: s, expires: now.Add(e.tokenLifetime())}
		e.suiteTokens[s.token.value] = s.token
	}
	return struct {
		okResponse
		SuiteAccessToken string `json:"suite_access_token"`
		ExpiresIn        int64  `json:"expires_in"`
	}{okAnswer, s.token.value, int64(s.token.expires.Sub(now) / time.Second)}, nil
}

// suiteJSCode2Session is WeCom's code2Session of suite apps: GET
// /cgi-bin/service/miniprogram/jscode2session?suite_access_token=&js_code=&grant_type=authorization_code.
// A code of another suite, or one unknown, used or expired, answers 40029.
func (e *Emulator) suiteJSCode2Session(r *http.Request, _ []byte, now time.Time) (any, *wxError) {
	q := r.URL.Query()
	v := q.Get("suite_access_token")
	if v == "" {
		return nil, e.suiteErr(41001, now)
	}
	t := e.suiteTokens[v]
	switch {
	case t == nil:
		return nil, e.suiteErr(40082, now)
	case !now.Before(t.expires):
		return nil, e.suiteErr(42009, now)
	}
	if q.Get("grant_type") != "authorization_code" {
		return nil, e.weComErr(40002, now)
	}
	js := q.Get("js_code")
	if js == "" {
		return nil, e.weComErr(41008, now)
	}
	c := e.codes[js]
	if c == nil || c.kind != suiteCode || c.suite != t.suite || c.used || !now.Before(c.issued.Add(e.codeLifetime())) {
		return nil, e.weComErr(40029, now)
	}
	c.used = true
	return struct {
		CorpID     string `json:"corpid"`
		UserID     string `json:"userid"`
		SessionKey string `json:"session_key"`
		OpenUserID string `json:"open_userid"`
		okResponse
	}{c.member.corp.CorpID, c.member.userID, c.sessionKey, OpenUserID(t.suite.SuiteID, c.member.corp.CorpID, c.member.userID), okAnswer}, nil
}

// SetSuiteCallback registers the suite's callback URL ("" removes it).
// WeCom verifies a new URL before its first push; so does PushTicket. Once
// a URL is set, a ticket is pushed every SuiteTicketInterval of the
// emulator's clock (see Emulator.PushPoll) until Close.
func (e *Emulator) SetSuiteCallback(suiteID, callbackURL string) error {
	e.init()
	if callbackURL != "" {
		u, err := url.Parse(callbackURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return deviceErr(wxlogin.EInvalidRequest, "", "callback_url must be an absolute http(s) URL")
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, derr := e.suiteLocked(suiteID)
	if derr != nil {
		return derr
	}
	s.CallbackURL = callbackURL
	if callbackURL != "" && e.pushStop == nil && !e.closed {
		e.pushStop = make(chan struct{})
		go e.pushLoop(e.pushStop)
	}
	return nil
}

// Close stops the periodic pushes. The emulator keeps serving.
func (e *Emulator) Close() {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	if e.pushStop != nil {
		close(e.pushStop)
		e.pushStop = nil
	}
}

// DefaultPushPoll is how often, in wall time, the emulator looks for
// suites due a push.
const DefaultPushPoll = time.Second

func (e *Emulator) pushLoop(stop chan struct{}) {
	poll := e.PushPoll
	if poll <= 0 {
		poll = DefaultPushPoll
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		e.mu.Lock()
		now := e.nowLocked()
		var due []string
		for _, id := range e.suiteOrder {
			s := e.suites[id]
			if s.CallbackURL != "" && (s.lastPush.IsZero() || now.Sub(s.lastPush) >= SuiteTicketInterval) {
				due = append(due, id)
			}
		}
		e.mu.Unlock()
		for _, id := range due {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if _, err := e.PushTicket(ctx, id); err != nil {
				e.logger().Warn("emulator: periodic suite_ticket push failed", "suite_id", id, "err", err)
			}
			cancel()
		}
	}
}

// PushResult is the outcome of a push: what the callback URL answered.
type PushResult struct {
	SuiteID string `json:"suite_id"`
	// Verified reports whether the URL was verified by this push (the
	// GET with echostr came first).
	Verified bool   `json:"verified"`
	Status   int    `json:"status"`
	Answer   string `json:"answer"`
	// Delivered reports whether the URL answered 200 "success".
	Delivered bool `json:"delivered"`
}

// maxCallbackAnswer bounds what is read of a callback's answer.
const maxCallbackAnswer = 4 << 10

// PushTicket issues a new suite_ticket (valid SuiteTicketLifetime) and
// POSTs it to the suite's callback URL as WeCom does: the message XML
// encrypted for the suite id, in the <xml><ToUserName/><Encrypt/><AgentID/>
// envelope, msg_signature, timestamp and nonce in the query. A URL not yet
// verified is first sent the GET with an encrypted echostr, and must
// answer its plaintext. The ticket is issued even when the delivery
// fails, as WeCom's is.
func (e *Emulator) PushTicket(ctx context.Context, suiteID string) (PushResult, error) {
	e.init()
	e.mu.Lock()
	s, derr := e.suiteLocked(suiteID)
	if derr != nil {
		e.mu.Unlock()
		return PushResult{}, derr
	}
	cb, token, key, verified := s.CallbackURL, s.Token, s.key, s.verified
	now := e.nowLocked()
	e.mu.Unlock()
	if cb == "" {
		return PushResult{}, deviceErr(wxlogin.EInvalidRequest, "", "the suite %s has no callback_url; set one first", suiteID)
	}
	res := PushResult{SuiteID: suiteID}
	if err := e.verifyOnce(ctx, s, &res, cb, verified, token, key, suiteID, now); err != nil {
		return res, err
	}

	ticket := randomString(64, alnum+"_-")
	e.mu.Lock()
	for t, at := range s.tickets {
		if !now.Before(at.Add(SuiteTicketLifetime)) {
			delete(s.tickets, t)
		}
	}
	s.tickets[ticket] = now
	s.lastPush, s.latest = now, ticket
	e.mu.Unlock()

	msg := "<xml><SuiteId><![CDATA[" + suiteID + "]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType><TimeStamp>" +
		strconv.FormatInt(now.Unix(), 10) + "</TimeStamp><SuiteTicket><![CDATA[" + ticket + "]]></SuiteTicket></xml>"
	return e.postMessage(ctx, res, cb, token, key, suiteID, msg, now)
}

// postMessage POSTs a suite message to the callback URL as WeCom does: the
// XML encrypted for the suite id in the <xml><ToUserName/><Encrypt/><AgentID/>
// envelope, msg_signature, timestamp and nonce in the query.
func (e *Emulator) postMessage(ctx context.Context, res PushResult, cb, token string, key wecomcrypt.Key, suiteID, msg string, now time.Time) (PushResult, error) {
	enc, err := wecomcrypt.Seal(key, suiteID, []byte(msg), rand.Reader)
	if err != nil {
		return res, err
	}
	ts, nonce := strconv.FormatInt(now.Unix(), 10), randomString(10, "0123456789")
	q := url.Values{"msg_signature": {wecomcrypt.Signature(token, ts, nonce, enc)}, "timestamp": {ts}, "nonce": {nonce}}
	body := wecomcrypt.MarshalEnvelope(suiteID, enc, "")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, withQuery(cb, q), strings.NewReader(string(body)))
	if err != nil {
		return res, err
	}
	req.Header.Set("Content-Type", "text/xml")
	res.Status, res.Answer, err = e.callCallback(req)
	if err != nil {
		return res, deviceErr(wxlogin.EUpstreamUnavailable, "", "the callback URL could not be reached: %v", errors.Unwrap(err))
	}
	res.Delivered = res.Status == http.StatusOK && strings.TrimSpace(res.Answer) == "success"
	e.logger().Info("emulator: suite message pushed", "suite_id", suiteID, "status", res.Status, "delivered", res.Delivered)
	return res, nil
}

// UninstallSuite is a corp's admin removing the suite app in WeCom's admin
// console: the corp no longer has it installed (its members' wx.qy.login
// fails, and their codes not yet traded answer 40029 at jscode2session),
// and WeCom's cancel_auth message {SuiteId, InfoType, TimeStamp,
// AuthCorpId} is pushed, encrypted, to the suite's callback URL, if one is
// registered (verifying it first, as any push). The corp's removal stands
// whether or not the push is delivered, as in WeCom.
func (e *Emulator) UninstallSuite(ctx context.Context, suiteID, corpid string) (PushResult, error) {
	e.init()
	e.mu.Lock()
	s, derr := e.suiteLocked(suiteID)
	if derr == nil && !s.corps[corpid] {
		derr = deviceErr(wxlogin.ENotFound, "", "the corp %s has not installed the suite %s", corpid, suiteID)
	}
	if derr != nil {
		e.mu.Unlock()
		return PushResult{}, derr
	}
	delete(s.corps, corpid)
	s.Corps = slices.DeleteFunc(s.Corps, func(c string) bool { return c == corpid })
	// Its codes not yet traded are void (a scan, but of a rare event).
	for v, c := range e.codes {
		if c.kind == suiteCode && c.suite == s && c.member.corp.CorpID == corpid {
			delete(e.codes, v)
		}
	}
	now := e.nowLocked()
	e.mu.Unlock()
	msg := "<xml><SuiteId><![CDATA[" + suiteID + "]]></SuiteId><InfoType><![CDATA[cancel_auth]]></InfoType><TimeStamp>" +
		strconv.FormatInt(now.Unix(), 10) + "</TimeStamp><AuthCorpId><![CDATA[" + corpid + "]]></AuthCorpId></xml>"
	return e.pushAuthChange(ctx, s, suiteID, msg, now)
}

// InstallSuite is a corp's admin installing the suite app from WeCom's app
// market: its members may log in under it, and WeCom's create_auth message
// {SuiteId, AuthCode, InfoType, TimeStamp} is pushed to the callback URL,
// if one is registered. The AuthCode is random: the emulator has no
// permanent-code API to trade it at.
func (e *Emulator) InstallSuite(ctx context.Context, suiteID, corpid string) (PushResult, error) {
	e.init()
	e.mu.Lock()
	s, derr := e.suiteLocked(suiteID)
	if derr == nil && e.corps[corpid] == nil {
		derr = deviceErr(wxlogin.ENotFound, "", "unknown corpid %q", corpid)
	}
	if derr == nil && s.corps[corpid] {
		derr = deviceErr(wxlogin.EInvalidRequest, "", "the corp %s has installed the suite %s already", corpid, suiteID)
	}
	if derr != nil {
		e.mu.Unlock()
		return PushResult{}, derr
	}
	s.corps[corpid] = true
	s.Corps = append(s.Corps, corpid)
	now := e.nowLocked()
	e.mu.Unlock()
	msg := "<xml><SuiteId><![CDATA[" + suiteID + "]]></SuiteId><AuthCode><![CDATA[" + randomString(64, alnum+"_-") +
		"]]></AuthCode><InfoType><![CDATA[create_auth]]></InfoType><TimeStamp>" + strconv.FormatInt(now.Unix(), 10) +
		"</TimeStamp><State><![CDATA[]]></State></xml>"
	return e.pushAuthChange(ctx, s, suiteID, msg, now)
}

// pushAuthChange pushes an authorization message to the suite's callback
// URL; without one registered there is nobody to tell, and the result says
// it was not delivered.
func (e *Emulator) pushAuthChange(ctx context.Context, s *suite, suiteID, msg string, now time.Time) (PushResult, error) {
	e.mu.Lock()
	cb, token, key, verified := s.CallbackURL, s.Token, s.key, s.verified
	e.mu.Unlock()
	res := PushResult{SuiteID: suiteID}
	if cb == "" {
		return res, nil
	}
	if err := e.verifyOnce(ctx, s, &res, cb, verified, token, key, suiteID, now); err != nil {
		return res, err
	}
	return e.postMessage(ctx, res, cb, token, key, suiteID, msg, now)
}

// verifyCallback is WeCom's check of a new callback URL: a GET with an
// encrypted echostr, whose plaintext must come back as the body.
func (e *Emulator) verifyCallback(ctx context.Context, cb, token string, key wecomcrypt.Key, suiteID string, now time.Time) error {
	plain := randomString(19, "0123456789")
	echo, err := wecomcrypt.Seal(key, suiteID, []byte(plain), rand.Reader)
	if err != nil {
		return err
	}
	ts, nonce := strconv.FormatInt(now.Unix(), 10), randomString(10, "0123456789")
	q := url.Values{"msg_signature": {wecomcrypt.Signature(token, ts, nonce, echo)}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {echo}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, withQuery(cb, q), nil)
	if err != nil {
		return err
	}
	status, answer, err := e.callCallback(req)
	if err != nil {
		return deviceErr(wxlogin.EUpstreamUnavailable, "", "the callback URL could not be reached: %v", errors.Unwrap(err))
	}
	if status != http.StatusOK || answer != plain {
		// WeCom's console says the same: the URL failed verification.
		return deviceErr(wxlogin.EInvalidRequest, "", "the callback URL failed verification: it answered HTTP %d without the echostr's plaintext", status)
	}
	return nil
}

func (e *Emulator) callCallback(req *http.Request) (int, string, error) {
	c := e.PushClient
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxCallbackAnswer))
	return resp.StatusCode, string(b), nil
}

func withQuery(u string, q url.Values) string {
	if strings.Contains(u, "?") {
		return u + "&" + q.Encode()
	}
	return u + "?" + q.Encode()
}

// Device routes of suites.

func (e *Emulator) serveSuites(*http.Request) (any, error) { return e.SuiteList(), nil }

func (e *Emulator) servePutSuite(r *http.Request) (any, error) {
	var req struct {
		CallbackURL *string `json:"callback_url"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.CallbackURL == nil {
		return nil, deviceErr(wxlogin.EInvalidRequest, "", "callback_url is required (\"\" removes it)")
	}
	if err := e.SetSuiteCallback(r.PathValue("id"), *req.CallbackURL); err != nil {
		return nil, err
	}
	for _, v := range e.SuiteList() {
		if v.SuiteID == r.PathValue("id") {
			return v, nil
		}
	}
	return nil, deviceErr(wxlogin.ENotFound, "", "no suite %q", r.PathValue("id"))
}

func (e *Emulator) servePushTicket(r *http.Request) (any, error) {
	return e.PushTicket(r.Context(), r.PathValue("id"))
}

func (e *Emulator) serveSuiteLogin(r *http.Request) (any, error) {
	var req weComTarget
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	code, err := e.SuiteLogin(r.PathValue("id"), req.CorpID, req.User)
	if err != nil {
		return nil, err
	}
	return map[string]string{"code": code}, nil
}

func (e *Emulator) serveUninstallSuite(r *http.Request) (any, error) {
	return e.UninstallSuite(r.Context(), r.PathValue("id"), r.PathValue("corpid"))
}

func (e *Emulator) serveInstallSuite(r *http.Request) (any, error) {
	return e.InstallSuite(r.Context(), r.PathValue("id"), r.PathValue("corpid"))
}

func (e *Emulator) serveExpireSuiteToken(r *http.Request) (any, error) {
	if err := e.ExpireSuiteToken(r.PathValue("id")); err != nil {
		return nil, err
	}
	return map[string]bool{"expired": true}, nil
}

func (e *Emulator) suiteRoutes(mux *http.ServeMux, d func(string, func(*http.Request) (any, error))) {
	mux.Handle("POST /cgi-bin/service/get_suite_token", e.wechat(APIWeComSuiteToken, e.getSuiteToken))
	mux.Handle("GET /cgi-bin/service/miniprogram/jscode2session", e.wechat(APIWeComSuiteJSCode2Session, e.suiteJSCode2Session))
	d("GET /emulator/v1/wecom/suites", e.serveSuites)
	d("PUT /emulator/v1/wecom/suites/{id}", e.servePutSuite)
	d("POST /emulator/v1/wecom/suites/{id}/push_ticket", e.servePushTicket)
	d("POST /emulator/v1/wecom/suites/{id}/login", e.serveSuiteLogin)
	d("POST /emulator/v1/wecom/suites/{id}/expire_token", e.serveExpireSuiteToken)
	d("POST /emulator/v1/wecom/suites/{id}/corps/{corpid}/uninstall", e.serveUninstallSuite)
	d("POST /emulator/v1/wecom/suites/{id}/corps/{corpid}/install", e.serveInstallSuite)
}

// verifyOnce verifies the callback URL cb, as WeCom does before its first
// push to a URL, unless cb is the one verified last (verified).
func (e *Emulator) verifyOnce(ctx context.Context, s *suite, res *PushResult, cb, verified, token string, key wecomcrypt.Key, suiteID string, now time.Time) error {
	if verified == cb {
		return nil
	}
	if err := e.verifyCallback(ctx, cb, token, key, suiteID, now); err != nil {
		return err
	}
	e.mu.Lock()
	s.verified = cb
	e.mu.Unlock()
	res.Verified = true
	return nil
}
