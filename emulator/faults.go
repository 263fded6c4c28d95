package emulator

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
)

// WeChat server API names, as used by faults and stats.
const (
	APIJSCode2Session      = "jscode2session"
	APIToken               = "token"
	APIStableToken         = "stable_token"
	APICheckSession        = "checksession"
	APIResetUserSessionKey = "resetusersessionkey"
	APIGetUserPhoneNumber  = "getuserphonenumber"
	APIGetPaidUnionID      = "getpaidunionid"
	APIOAuth2AccessToken   = "oauth2_access_token"
	APIOAuth2RefreshToken  = "oauth2_refresh_token"
	APISNSUserInfo         = "sns_userinfo"
	APISNSAuth             = "sns_auth"
	// WeCom's: APIWeComGetToken, APIWeComJSCode2Session (wecom.go),
	// APIWeComSuiteToken, APIWeComSuiteJSCode2Session (suite.go).
)

// APIs returns the names of the WeChat server APIs the emulator serves.
func APIs() []string {
	return []string{APIJSCode2Session, APIToken, APIStableToken, APICheckSession,
		APIResetUserSessionKey, APIGetUserPhoneNumber, APIGetPaidUnionID,
		APIOAuth2AccessToken, APIOAuth2RefreshToken, APISNSUserInfo, APISNSAuth,
		APIWeComGetToken, APIWeComJSCode2Session, APIWeComSuiteToken, APIWeComSuiteJSCode2Session}
}

// Fault bodies.
const (
	// BodyTruncated sends the first half of the real answer: the request
	// was processed (a code is consumed) but the client cannot read it.
	BodyTruncated = "truncated"
	// BodyEmpty sends the real status with no body at all.
	BodyEmpty = "empty"
)

// Fault makes the next calls of one WeChat server API misbehave. At least
// one of ErrCode, HTTPStatus, Delay or Body must be set; they combine as
// follows: the Delay is waited first (returning early when the client gives
// up); then ErrCode answers that errcode without processing the request,
// else HTTPStatus answers that status with an HTML gateway page without
// processing the request, else the request is processed and Body, when set,
// mangles the answer.
type Fault struct {
	// API is the API name, one of APIs() (e.g. "jscode2session").
	API string `json:"api"`
	// Count is how many calls the fault affects; 0 means every call until
	// ClearFaults.
	Count int `json:"count,omitempty"`
	// ErrCode, when not 0, is answered as {"errcode", "errmsg"} (e.g. -1
	// for "system busy", 45011, 40226).
	ErrCode int `json:"errcode,omitempty"`
	// HTTPStatus, when not 0, is the HTTP status answered (e.g. 502).
	HTTPStatus int `json:"http_status,omitempty"`
	// Delay is waited before answering, in wall-clock time.
	Delay time.Duration `json:"-"`
	// DelayMS is Delay in milliseconds, as the HTTP API takes it.
	DelayMS int64 `json:"delay_ms,omitempty"`
	// Body, when set, is BodyTruncated or BodyEmpty.
	Body string `json:"body,omitempty"`
}

// maxDelay bounds a fault's delay (and keeps delay_ms from overflowing).
const maxDelay = 24 * time.Hour

func (f *Fault) validate() error {
	if !slices.Contains(APIs(), f.API) {
		return fmt.Errorf("unknown api %q (one of %v)", f.API, APIs())
	}
	if f.DelayMS < 0 || f.DelayMS > maxDelay.Milliseconds() || f.Delay > maxDelay {
		return fmt.Errorf("delay must be between 0 and %v", maxDelay)
	}
	if f.DelayMS != 0 && f.Delay == 0 {
		f.Delay = time.Duration(f.DelayMS) * time.Millisecond
	}
	f.DelayMS = f.Delay.Milliseconds()
	switch {
	case f.Count < 0:
		return fmt.Errorf("count must not be negative")
	case f.Delay < 0:
		return fmt.Errorf("delay must not be negative")
	case f.HTTPStatus != 0 && (f.HTTPStatus < 200 || f.HTTPStatus > 599):
		return fmt.Errorf("http_status %d is not an HTTP status", f.HTTPStatus)
	case f.Body != "" && f.Body != BodyTruncated && f.Body != BodyEmpty:
		return fmt.Errorf("body must be %q or %q", BodyTruncated, BodyEmpty)
	case f.ErrCode == 0 && f.HTTPStatus == 0 && f.Delay == 0 && f.Body == "":
		return fmt.Errorf("a fault needs errcode, http_status, delay_ms or body")
	}
	return nil
}

// InjectFault queues f. Faults of one API apply in the order injected.
func (e *Emulator) InjectFault(f Fault) error {
	e.init()
	if err := f.validate(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, &f)
	return nil
}

// ClearFaults removes every pending fault.
func (e *Emulator) ClearFaults() {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
}

// Faults returns the pending faults, with the calls they have left in Count.
func (e *Emulator) Faults() []Fault {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Fault, 0, len(e.faults))
	for _, f := range e.faults {
		out = append(out, *f)
	}
	return out
}

// takeFaultLocked returns the fault for this call of api, if any, and
// consumes one of its calls.
func (e *Emulator) takeFaultLocked(api string) *Fault {
	for i, f := range e.faults {
		if f.API != api {
			continue
		}
		taken := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				e.faults = slices.Delete(e.faults, i, i+1)
			}
		}
		return &taken
	}
	return nil
}

// APIStats counts the calls of one API.
type APIStats struct {
	Calls int `json:"calls"`
	// ErrCodes counts answers by errcode ("0" for success). An injected
	// HTTP status counts as "http_502" and so on; a call the client gave
	// up during an injected delay counts as "canceled".
	ErrCodes map[string]int `json:"errcodes"`
}

// Stats is what the emulator has served.
type Stats struct {
	APIs map[string]APIStats `json:"apis"`
	// UnknownRoutes lists the distinct requests that matched no route,
	// as "METHOD /path", in the order first seen. A test can assert it
	// is empty.
	UnknownRoutes []string `json:"unknown_routes"`
}

// Stats returns a copy of the counters.
func (e *Emulator) Stats() Stats {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Stats{APIs: make(map[string]APIStats, len(e.stats)), UnknownRoutes: slices.Clone(e.unknown)}
	if s.UnknownRoutes == nil {
		s.UnknownRoutes = []string{}
	}
	for name, st := range e.stats {
		s.APIs[name] = APIStats{Calls: st.Calls, ErrCodes: maps.Clone(st.ErrCodes)}
	}
	return s
}

// ResetStats zeroes the counters.
func (e *Emulator) ResetStats() {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats = map[string]*APIStats{}
	e.unknown = nil
}

func (e *Emulator) recordLocked(api, outcome string) {
	st := e.stats[api]
	if st == nil {
		st = &APIStats{ErrCodes: map[string]int{}}
		e.stats[api] = st
	}
	st.Calls++
	st.ErrCodes[outcome]++
}

func errcodeOutcome(code int) string { return strconv.Itoa(code) }

// maxUnknownRoutes bounds the list of unknown routes a scanner could grow.
const maxUnknownRoutes = 1000

func (e *Emulator) recordUnknownLocked(route string) {
	if len(e.unknown) < maxUnknownRoutes && !slices.Contains(e.unknown, route) {
		e.unknown = append(e.unknown, route)
	}
}
