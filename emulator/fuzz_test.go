package emulator_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/emulator"
)

// FuzzServeHTTP feeds arbitrary requests to every route: none may panic,
// and every answer must be JSON (WeChat paths) or the error envelope
// (device paths), except the injected-fault and tmp-file answers.
func FuzzServeHTTP(f *testing.F) {
	seeds := []struct{ method, target, body string }{
		{"GET", "/sns/jscode2session?appid=wxdec0de0000000001&secret=0123456789abcdef0123456789abcdef&js_code=x&grant_type=authorization_code", ""},
		{"POST", "/cgi-bin/stable_token", `{"grant_type":"client_credential","appid":"wxdec0de0000000001","secret":"0123456789abcdef0123456789abcdef","force_refresh":true}`},
		{"POST", "/cgi-bin/stable_token", `{"force_refresh":1e999}`},
		{"GET", "/wxa/checksession?access_token=&openid=o&signature=zz&sig_method=hmac_sha256", ""},
		{"POST", "/wxa/business/getuserphonenumber?access_token=x", `{"code":null}`},
		{"POST", "/emulator/v1/login", `{"appid":"wxdec0de0000000001","user":"alice"}`},
		{"POST", "/emulator/v1/login", `{"appid":"wxdec0de0000000001","user":"\u0000"}`},
		{"PUT", "/emulator/v1/users/alice", `{"gender":"x"}`},
		{"PUT", "/emulator/v1/users/alice", `{"baseLibrary":"2.27.1","nickName":"A"}`},
		{"POST", "/emulator/v1/faults", `{"api":"token","delay_ms":9223372036854775807}`},
		{"POST", "/emulator/v1/clock", `{"advance":"-9999999h"}`},
		{"POST", "/emulator/v1/userinfo", `{"appid":"wxdec0de0000000001","user":"alice"}`},
		{"POST", "/emulator/v1/profile", `[]`},
		{"POST", "/emulator/v1/authorize", `{"appid":"wxdec0de0000000001","user":"a","scope":"scope.werun","accept":false}`},
		{"POST", "/emulator/v1/settings", `{"appid":"wxdec0de0000000001","user":"a","authSetting":{"scope.werun":true}}`},
		{"POST", "/emulator/v1/privacy", `{"appid":"wxdec0de0000000001","user":"a","decision":"disagree"}`},
		{"POST", "/emulator/v1/avatar", `{"appid":"wxdec0de0000000001","user":"a"}`},
		{"GET", "/emulator/v1/tmp/%00", ""},
		{"OPTIONS", "/emulator/v1/login", ""},
		{"PUT", "/emulator/v1/config", `{"code_lifetime":"1ns","token_grace":"99999999999h"}`},
		{"POST", "/emulator/v1/settings", `{"appid":"wxdec0de0000000001","user":"a","authSetting":null}`},
		{"POST", "/emulator/v1/werun", `{"appid":"wxdec0de0000000001","user":"a","accept":null}`},
		{"DELETE", "/emulator/v1/privacy?appid=wxdec0de0000000001&user=%ff", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.body)
	}
	em := &emulator.Emulator{
		Now:             func() time.Time { return t0 },
		Logger:          slog.New(slog.DiscardHandler),
		NoPrivacyCheck:  false,
		LoginsPerSecond: 4,
	}
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if !strings.HasPrefix(target, "/") || strings.Contains(target, "/faults") || strings.Contains(target, "/clock") {
			// Faults with delays and clock jumps would slow or skew the
			// other inputs; their decoding is table-tested.
			t.Skip()
		}
		req, err := http.NewRequestWithContext(t.Context(), method, "http://emulator.test"+target, strings.NewReader(body))
		if err != nil {
			t.Skip() // not something an HTTP server would receive
		}
		rec := httptest.NewRecorder()
		em.ServeHTTP(rec, req)
		ct := rec.Header().Get("Content-Type")
		if strings.HasPrefix(ct, "application/json") && !json.Valid(rec.Body.Bytes()) {
			t.Errorf("%s %s: invalid JSON answer %q", method, target, rec.Body.Bytes())
		}
		// Every failure of the device API comes in wxlogin's envelope with
		// a code and a message.
		if rec.Code >= 400 && strings.HasPrefix(req.URL.Path, emulator.DevicePrefix) {
			var env envelope
			if json.Unmarshal(rec.Body.Bytes(), &env) != nil || env.Error.Code == "" || env.Error.Message == "" {
				t.Errorf("%s %s: status %d without the error envelope: %q", method, target, rec.Code, rec.Body.Bytes())
			}
		}
	})
}
