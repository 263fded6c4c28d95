package emulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

// deviceRoutes registers the wx.* device API.
func (e *Emulator) deviceRoutes(mux *http.ServeMux, d func(pattern string, h func(*http.Request) (any, error))) {
	d("POST /emulator/v1/phone", e.servePhone)
	d("POST /emulator/v1/userinfo", e.serveUserInfo)
	d("POST /emulator/v1/profile", e.serveProfile)
	d("POST /emulator/v1/werun", e.serveWeRun)
	d("POST /emulator/v1/share", e.serveShare)
	d("GET /emulator/v1/settings", e.serveSettings)
	d("POST /emulator/v1/settings", e.serveOpenSetting)
	d("POST /emulator/v1/authorize", e.serveAuthorize)
	d("GET /emulator/v1/privacy", e.servePrivacySetting)
	d("POST /emulator/v1/privacy", e.serveRequirePrivacy)
	d("POST /emulator/v1/privacy/agree", e.serveAgreePrivacy)
	d("DELETE /emulator/v1/privacy", e.serveResetPrivacy)
	d("POST /emulator/v1/avatar", e.serveAvatar)
	d("POST /emulator/v1/nickname", e.serveNickname)
	// The temporary avatar is an image, not JSON.
	mux.HandleFunc("GET /emulator/v1/tmp/{id}", e.serveTmp)
}

// encryptPayload encrypts v's JSON as WeChat does, with a fresh iv.
func encryptPayload(sessionKey string, v any) (encryptedData, iv string, err error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", "", err
	}
	iv = wxcrypt.NewIV()
	encryptedData, err = wxcrypt.Encrypt(sessionKey, iv, plain)
	return encryptedData, iv, err
}

// accept reads an optional "accept" answer to a prompt: absent means yes.
type accept struct {
	Accept *bool `json:"accept"`
}

func (a accept) value() bool { return a.Accept == nil || *a.Accept }

// privacyTarget is the request of a privacy API. Privacy, when set, is
// the user's answer ("agree" or "disagree") to the privacy popup that
// wx.onNeedPrivacyAuthorization would show if the call needs one, so a
// simulated wx can run that flow in one request.
type privacyTarget struct {
	target
	Privacy string `json:"privacy"`
}

// decodePrivacy decodes a privacy API request into v and settles the
// privacy popup first when the request answers it.
func (e *Emulator) decodePrivacy(r *http.Request, v interface{ privacy() privacyTarget }) error {
	if err := decode(r, v); err != nil {
		return err
	}
	p := v.privacy()
	switch p.Privacy {
	case "":
		return nil
	case "agree", "disagree":
		_, err := e.RequirePrivacyAuthorize(p.AppID, p.User, p.Privacy == "agree")
		return err
	}
	return deviceErr(wxlogin.EInvalidRequest, "", `privacy must be "agree" or "disagree"`)
}

func (p *privacyTarget) privacy() privacyTarget { return *p }

func (e *Emulator) servePhone(r *http.Request) (any, error) {
	var req privacyTarget
	if err := e.decodePrivacy(r, &req); err != nil {
		return nil, err
	}
	return e.Phone(req.AppID, req.User)
}

func (e *Emulator) serveUserInfo(r *http.Request) (any, error) {
	var req privacyTarget
	if err := e.decodePrivacy(r, &req); err != nil {
		return nil, err
	}
	return e.UserInfo(req.AppID, req.User)
}

func (e *Emulator) serveProfile(r *http.Request) (any, error) {
	var req struct {
		privacyTarget
		Desc string `json:"desc"` // shown in the popup; not checked
	}
	if err := e.decodePrivacy(r, &req); err != nil {
		return nil, err
	}
	return e.Profile(req.AppID, req.User)
}

func (e *Emulator) serveWeRun(r *http.Request) (any, error) {
	var req struct {
		privacyTarget
		accept
	}
	if err := e.decodePrivacy(r, &req); err != nil {
		return nil, err
	}
	return e.WeRun(req.AppID, req.User, req.value())
}

func (e *Emulator) serveShare(r *http.Request) (any, error) {
	var req struct {
		target
		Group string `json:"group"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.Group == "" {
		req.Group = "group"
	}
	return e.Share(req.AppID, req.User, req.Group)
}

type settingsResponse struct {
	AuthSetting map[string]bool `json:"authSetting"`
}

func (e *Emulator) serveSettings(r *http.Request) (any, error) {
	t := queryTarget(r)
	s, err := e.Settings(t.AppID, t.User)
	if err != nil {
		return nil, err
	}
	return settingsResponse{s}, nil
}

func (e *Emulator) serveOpenSetting(r *http.Request) (any, error) {
	var req struct {
		target
		AuthSetting map[string]bool `json:"authSetting"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	s, err := e.OpenSetting(req.AppID, req.User, req.AuthSetting)
	if err != nil {
		return nil, err
	}
	return settingsResponse{s}, nil
}

func (e *Emulator) serveAuthorize(r *http.Request) (any, error) {
	var req struct {
		target
		accept
		Scope string `json:"scope"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	prompted, err := e.Authorize(req.AppID, req.User, req.Scope, req.value())
	if err != nil {
		return nil, err
	}
	return map[string]bool{"authorized": true, "prompted": prompted}, nil
}

func (e *Emulator) servePrivacySetting(r *http.Request) (any, error) {
	t := queryTarget(r)
	return e.PrivacySetting(t.AppID, t.User)
}

func (e *Emulator) serveRequirePrivacy(r *http.Request) (any, error) {
	var req struct {
		target
		// Event is the user's answer: "agree" (the default) or "disagree".
		Event    string `json:"event"`
		Decision string `json:"decision"` // an alias of event
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.Event == "" {
		req.Event = req.Decision
	}
	if req.Event != "" && req.Event != "agree" && req.Event != "disagree" {
		return nil, deviceErr(wxlogin.EInvalidRequest, "", `event must be "agree" or "disagree"`)
	}
	prompted, err := e.RequirePrivacyAuthorize(req.AppID, req.User, req.Event != "disagree")
	if err != nil {
		return nil, err
	}
	return map[string]bool{"agreed": true, "prompted": prompted}, nil
}

func (e *Emulator) serveAgreePrivacy(r *http.Request) (any, error) {
	var req target
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := e.AgreePrivacy(req.AppID, req.User); err != nil {
		return nil, err
	}
	return map[string]bool{"agreed": true}, nil
}

func (e *Emulator) serveResetPrivacy(r *http.Request) (any, error) {
	t := queryTarget(r)
	if err := e.ResetPrivacy(t.AppID, t.User); err != nil {
		return nil, err
	}
	return e.PrivacySetting(t.AppID, t.User)
}

// avatarResponse is chooseAvatar's answer: avatarUrl plays the temporary
// file path, fetchable from the emulator; data has the image in base64 for
// clients that cannot fetch.
type avatarResponse struct {
	AvatarURL   string `json:"avatarUrl"`
	Path        string `json:"path"`
	ContentType string `json:"contentType"`
	Size        int    `json:"size"`
	Data        string `json:"data"`
}

func (e *Emulator) serveAvatar(r *http.Request) (any, error) {
	var req privacyTarget
	if err := e.decodePrivacy(r, &req); err != nil {
		return nil, err
	}
	a, err := e.ChooseAvatar(req.AppID, req.User)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := DevicePrefix + "tmp/" + a.ID
	return avatarResponse{
		AvatarURL:   scheme + "://" + r.Host + path,
		Path:        path,
		ContentType: a.ContentType,
		Size:        len(a.Data),
		Data:        base64.StdEncoding.EncodeToString(a.Data),
	}, nil
}

func (e *Emulator) serveNickname(r *http.Request) (any, error) {
	var req privacyTarget
	if err := e.decodePrivacy(r, &req); err != nil {
		return nil, err
	}
	n, err := e.Nickname(req.AppID, req.User)
	if err != nil {
		return nil, err
	}
	return map[string]string{"nickname": n}, nil
}

func (e *Emulator) serveTmp(w http.ResponseWriter, r *http.Request) {
	e.cors(w, r)
	ct, data, ok := e.TmpFile(r.PathValue("id"))
	if !ok {
		writeDeviceError(w, deviceErr(wxlogin.ENotFound, "", "no temporary file %q", r.PathValue("id")))
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(data)
}
