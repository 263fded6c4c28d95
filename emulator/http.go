package emulator

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
)

// DevicePrefix is the path under which the device API and the emulator's
// controls live.
const DevicePrefix = "/emulator/v1/"

func (e *Emulator) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/", e.serveUnknown)

	mux.Handle("GET /sns/jscode2session", e.wechat(APIJSCode2Session, e.jscode2session))
	mux.Handle("GET /cgi-bin/token", e.wechat(APIToken, e.cgiToken))
	mux.Handle("POST /cgi-bin/stable_token", e.wechat(APIStableToken, e.stableToken))
	mux.Handle("GET /wxa/checksession", e.wechat(APICheckSession, e.checkSession))
	mux.Handle("GET /wxa/resetusersessionkey", e.wechat(APIResetUserSessionKey, e.resetUserSessionKey))
	mux.Handle("POST /wxa/business/getuserphonenumber", e.wechat(APIGetUserPhoneNumber, e.getUserPhoneNumber))
	mux.Handle("GET /wxa/getpaidunionid", e.wechat(APIGetPaidUnionID, e.getPaidUnionID))

	d := func(pattern string, h func(*http.Request) (any, error)) {
		mux.Handle(pattern, e.device(h))
	}
	d("GET /emulator/v1/apps", e.serveApps)
	d("POST /emulator/v1/login", e.serveLogin)
	d("GET /emulator/v1/session", e.serveSession)
	d("POST /emulator/v1/activity", e.serveActivity)
	d("GET /emulator/v1/users/{user}", e.serveGetUser)
	d("PUT /emulator/v1/users/{user}", e.servePutUser)
	d("GET /emulator/v1/stats", e.serveStats)
	d("GET /emulator/v1/calls", e.serveCalls)
	d("DELETE /emulator/v1/stats", e.serveResetStats)
	d("GET /emulator/v1/faults", e.serveFaults)
	d("POST /emulator/v1/faults", e.serveInjectFault)
	d("DELETE /emulator/v1/faults", e.serveClearFaults)
	d("GET /emulator/v1/clock", e.serveClock)
	d("POST /emulator/v1/clock", e.serveAdvance)
	d("GET /emulator/v1/config", e.serveConfig)
	d("PUT /emulator/v1/config", e.servePutConfig)
	e.deviceRoutes(mux, d)
	e.webRoutes(mux, d)
	e.weComRoutes(mux, d)
	e.suiteRoutes(mux, d)
	return mux
}

// serveUnknown answers every request no route matches: loudly, so a client
// calling a wrong path or method notices, and counted in Stats.
func (e *Emulator) serveUnknown(w http.ResponseWriter, r *http.Request) {
	device := strings.HasPrefix(r.URL.Path, DevicePrefix) || r.URL.Path+"/" == DevicePrefix
	if device && e.cors(w, r) {
		return // a preflight
	}
	route := r.Method + " " + r.URL.Path
	if len(route) > 300 {
		route = route[:300] + "..."
	}
	e.mu.Lock()
	now := e.nowLocked()
	e.recordUnknownLocked(route)
	e.mu.Unlock()
	e.logger().Warn("emulator: unknown route", "route", route)
	msg := "the WeChat emulator has no route " + route
	if device {
		writeDeviceError(w, deviceErr(wxlogin.ENotFound, "", "%s", msg))
		return
	}
	writeJSON(w, http.StatusNotFound, okResponse{40066, "invalid url: " + msg + " rid: " + e.requestID(now)})
}

// cors adds the CORS headers when CORSOrigin is set and reports whether the
// request was a preflight, now answered.
func (e *Emulator) cors(w http.ResponseWriter, r *http.Request) bool {
	if e.CORSOrigin == "" {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", e.CORSOrigin)
	h.Add("Vary", "Origin")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
		h.Set("Access-Control-Allow-Headers", "Content-Type")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// device wraps a device API handler: JSON out, errors in wxlogin's envelope.
func (e *Emulator) device(h func(*http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.init()
		e.cors(w, r)
		resp, err := h(r)
		if err != nil {
			var derr *DeviceError
			if !errors.As(err, &derr) {
				derr = deviceErr(wxlogin.EInternal, "", "%v", err)
			}
			writeDeviceError(w, derr)
			return
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // unreachable: answers are plain data
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"encoding failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// errorBody is wxlogin's error envelope, plus WeChat's errMsg and errno
// where the simulated wx.* call would give them.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		ErrMsg  string `json:"errMsg,omitempty"`
		Errno   int    `json:"errno,omitempty"`
	} `json:"error"`
}

func writeDeviceError(w http.ResponseWriter, e *DeviceError) {
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.ErrMsg, b.Error.Errno = e.Code, e.Message, e.ErrMsg, e.Errno
	writeJSON(w, e.status(), b)
}

// maxDeviceBody bounds device API request bodies.
const maxDeviceBody = 64 << 10

// decode reads a JSON request body into v. An empty body decodes as {}.
func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxDeviceBody+1))
	if err != nil {
		return deviceErr(wxlogin.EInvalidRequest, "", "reading the body: %v", err)
	}
	if len(b) > maxDeviceBody {
		return deviceErr(wxlogin.EInvalidRequest, "", "body over %d bytes", maxDeviceBody)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return deviceErr(wxlogin.EInvalidRequest, "", "body is not the expected JSON: %v", err)
	}
	return nil
}

// target names the simulated user and app of a device call.
type target struct {
	AppID string `json:"appid"`
	User  string `json:"user"`
}

func queryTarget(r *http.Request) target {
	q := r.URL.Query()
	return target{AppID: q.Get("appid"), User: q.Get("user")}
}

func (e *Emulator) serveApps(*http.Request) (any, error) { return e.AppList(), nil }

func (e *Emulator) serveLogin(r *http.Request) (any, error) {
	var req target
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	code, err := e.Login(req.AppID, req.User)
	if err != nil {
		return nil, err
	}
	return map[string]string{"code": code}, nil
}

func (e *Emulator) serveSession(r *http.Request) (any, error) {
	t := queryTarget(r)
	valid, err := e.SessionKeyValid(t.AppID, t.User)
	if err != nil {
		return nil, err
	}
	return map[string]bool{"valid": valid}, nil
}

func (e *Emulator) serveActivity(r *http.Request) (any, error) {
	var req target
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	valid, err := e.Activity(req.AppID, req.User)
	if err != nil {
		return nil, err
	}
	return map[string]bool{"valid": valid}, nil
}

func (e *Emulator) serveGetUser(r *http.Request) (any, error) {
	return e.User(r.PathValue("user"))
}

// servePutUser changes only the fields the body carries: it decodes the
// JSON onto the user's current data.
func (e *Emulator) servePutUser(r *http.Request) (any, error) {
	name := r.PathValue("user")
	var raw json.RawMessage
	if err := decode(r, &raw); err != nil {
		return nil, err
	}
	var decodeErr error
	err := e.UpdateUser(name, func(u *User) {
		if len(raw) == 0 {
			return
		}
		next := *u
		if decodeErr = json.Unmarshal(raw, &next); decodeErr == nil {
			*u = next
		}
	})
	if err != nil {
		return nil, err
	}
	if decodeErr != nil {
		return nil, deviceErr(wxlogin.EInvalidRequest, "", "body is not a user: %v", decodeErr)
	}
	return e.User(name)
}

func (e *Emulator) serveStats(*http.Request) (any, error) { return e.Stats(), nil }

func (e *Emulator) serveResetStats(*http.Request) (any, error) {
	e.ResetStats()
	return e.Stats(), nil
}

func (e *Emulator) serveFaults(*http.Request) (any, error) {
	return map[string][]Fault{"faults": e.Faults()}, nil
}

func (e *Emulator) serveInjectFault(r *http.Request) (any, error) {
	var f Fault
	if err := decode(r, &f); err != nil {
		return nil, err
	}
	if err := e.InjectFault(f); err != nil {
		return nil, deviceErr(wxlogin.EInvalidRequest, "", "%v", err)
	}
	return map[string][]Fault{"faults": e.Faults()}, nil
}

func (e *Emulator) serveClearFaults(*http.Request) (any, error) {
	e.ClearFaults()
	return map[string][]Fault{"faults": {}}, nil
}

type clockResponse struct {
	Now    time.Time `json:"now"`
	Unix   int64     `json:"unix"`
	Offset string    `json:"offset"`
}

func (e *Emulator) clock() clockResponse {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.nowLocked()
	return clockResponse{now, now.Unix(), e.offset.String()}
}

func (e *Emulator) serveClock(*http.Request) (any, error) { return e.clock(), nil }

func (e *Emulator) serveAdvance(r *http.Request) (any, error) {
	var req struct {
		Advance string `json:"advance"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	d, err := time.ParseDuration(req.Advance)
	if err != nil {
		return nil, deviceErr(wxlogin.EInvalidRequest, "", "advance must be a Go duration like \"6m\"")
	}
	e.Advance(d)
	return e.clock(), nil
}
