package emulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Call is one call of a WeChat server API as the emulator served it: what
// a developer would see in a network trace, with the secrets cut out. The
// playground's timeline shows these.
type Call struct {
	Seq    int64     `json:"seq"`
	Time   time.Time `json:"time"`
	API    string    `json:"api"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	// AppID is the app the call was made for: its appid parameter, or
	// the app of its access_token; for a WeCom call, the corpid. Empty
	// when neither names a known app or corp.
	AppID string `json:"appid"`
	// Request holds the query parameters and the JSON body's top-level
	// fields.
	Request map[string]any `json:"request"`
	// Status is the HTTP status answered; ErrCode the answer's errcode
	// (0 on success, and when there was no JSON answer).
	Status  int `json:"status"`
	ErrCode int `json:"errcode"`
	// Response is the JSON answer; a mangled answer (an injected fault)
	// is given as a string, an HTTP error page as null.
	Response any `json:"response"`
}

// maxCalls bounds the calls kept; the oldest go first.
const maxCalls = 256

// redacted replaces every value that must never leave a WeChat client:
// the app secret, session keys, access tokens and signatures. The emulator
// would not leak anything real, but code and people copy what they see.
const redacted = "(redacted)"

var secretFields = map[string]bool{
	"secret": true, "corpsecret": true, "session_key": true, "access_token": true, "signature": true,
	"refresh_token": true, // a web login's, which mints access tokens for 30 days
	"suite_secret":  true, "suite_ticket": true, "suite_access_token": true,
}

func redact(m map[string]any) map[string]any {
	for k := range m {
		if secretFields[k] {
			m[k] = redacted
		}
	}
	return m
}

// recordCallLocked appends one served call to the log.
func (e *Emulator) recordCallLocked(api string, r *http.Request, body []byte, status int, answer []byte, now time.Time) {
	q := r.URL.Query()
	req := make(map[string]any, len(q))
	for k, v := range q {
		if len(v) == 1 {
			req[k] = v[0]
		} else {
			req[k] = v
		}
	}
	var fields map[string]any
	if len(body) > 0 && json.Unmarshal(body, &fields) == nil {
		for k, v := range fields {
			req[k] = v
		}
	} else if len(body) > 0 {
		req["(body)"] = string(body)
	}
	c := Call{
		Time: now, API: api, Method: r.Method, Path: r.URL.Path,
		AppID: e.callAppLocked(q), Request: redact(req), Status: status,
	}
	var ans map[string]any
	switch {
	case status != http.StatusOK:
		// an HTML error page: nothing a client could parse
	case json.Unmarshal(answer, &ans) == nil:
		if code, ok := ans["errcode"].(float64); ok {
			c.ErrCode = int(code)
		}
		c.Response = redact(ans)
	default:
		c.Response = "(not JSON: " + strconv.Itoa(len(answer)) + " bytes)"
	}
	e.callSeq++
	c.Seq = e.callSeq
	if len(e.calls) == maxCalls {
		e.calls = append(e.calls[:0], e.calls[1:]...)
	}
	e.calls = append(e.calls, c)
}

// callAppLocked names the app a call was made for.
func (e *Emulator) callAppLocked(q url.Values) string {
	if a := e.apps[q.Get("appid")]; a != nil {
		return a.AppID
	}
	if c := e.corps[q.Get("corpid")]; c != nil {
		return c.CorpID // WeCom's calls are made for a corp
	}
	if t := e.tokens[q.Get("access_token")]; t != nil {
		if t.corp != nil {
			return t.corp.CorpID
		}
		return t.app.AppID
	}
	return ""
}

// Calls returns the logged calls with a sequence number above after, oldest
// first, and the sequence number to pass next time.
func (e *Emulator) Calls(after int64) (calls []Call, next int64) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	calls = []Call{}
	for _, c := range e.calls {
		if c.Seq > after {
			calls = append(calls, c)
		}
	}
	return calls, e.callSeq
}

// serveCalls is GET /emulator/v1/calls?after=N[&appid=].
func (e *Emulator) serveCalls(r *http.Request) (any, error) {
	var after int64
	if s := r.URL.Query().Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, deviceErr(wxlogin.EInvalidRequest, "", "after must be a non-negative call number")
		}
		after = n
	}
	calls, next := e.Calls(after)
	if appid := r.URL.Query().Get("appid"); appid != "" {
		kept := calls[:0]
		for _, c := range calls {
			if c.AppID == appid {
				kept = append(kept, c)
			}
		}
		calls = kept
	}
	return struct {
		Calls []Call `json:"calls"`
		Next  int64  `json:"next"`
	}{calls, next}, nil
}
