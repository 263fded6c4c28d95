package loadgen

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// SideBackend is the login workloads' second reference: the same
// wx.login, then POST /v1/login at a bare backend (BareLoginHandler).
const SideBackend = "backend"

// BareLoginHandler is the least a mini program's login endpoint can do:
// read the code from POST /v1/login, trade it at jscode2session with one
// request, and answer a random token. It keeps nothing, so it is no
// login server; it is what any backend pays before it stores anything:
// the mini program's request, which the emulator round trip alone (the
// first baseline) leaves out.
func BareLoginHandler(emulatorURL, appID, secret string, client *http.Client) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/login" {
			http.NotFound(w, r)
			return
		}
		var in struct {
			Code string `json:"code"`
		}
		if json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&in) != nil || in.Code == "" {
			http.Error(w, `{"error":{"code":"bad_request"}}`, http.StatusBadRequest)
			return
		}
		q := url.Values{"appid": {appID}, "secret": {secret}, "js_code": {in.Code}, "grant_type": {"authorization_code"}}
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, emulatorURL+"/sns/jscode2session?"+q.Encode(), nil)
		if err != nil {
			http.Error(w, `{"error":{"code":"internal"}}`, http.StatusInternalServerError)
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, `{"error":{"code":"wechat_unavailable"}}`, http.StatusBadGateway)
			return
		}
		var out struct {
			OpenID  string `json:"openid"`
			ErrCode int    `json:"errcode"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || out.ErrCode != 0 || out.OpenID == "" {
			http.Error(w, `{"error":{"code":"invalid_code"}}`, http.StatusBadRequest)
			return
		}
		var tok [32]byte
		rand.Read(tok[:])
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"token":%q}`, hex.EncodeToString(tok[:]))
	})
}
