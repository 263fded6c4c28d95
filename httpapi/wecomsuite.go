package httpapi

import (
	"net/http"

	"github.com/wxlogin/wxlogin/auth"
)

// maxSuiteCallbackBody bounds a WeCom suite callback: its XML envelope of a
// suite_ticket or an authorization change is well under a kilobyte.
const maxSuiteCallbackBody = 16 << 10

// Plain-text answers of the callback: WeCom reads the body as it is.
var contentTypeText = []string{"text/plain; charset=utf-8"}

func callbackQuery(r *http.Request) auth.SuiteCallbackQuery {
	q := r.URL.Query()
	return auth.SuiteCallbackQuery{Signature: q.Get("msg_signature"), Timestamp: q.Get("timestamp"), Nonce: q.Get("nonce")}
}

// suiteVerifyURL answers WeCom's verification of the suite's callback URL
// with the echostr's plaintext.
func (s *Server) suiteVerifyURL(w http.ResponseWriter, r *http.Request) {
	plain, err := s.svc.SuiteVerifyURL(r.Context(), r.PathValue("suite_id"), callbackQuery(r), r.URL.Query().Get("echostr"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeText(w, plain)
}

// suiteCallback takes a message WeCom pushed to the suite (the
// suite_ticket every 10 minutes) and answers "success", which stops WeCom
// from pushing it again.
func (s *Server) suiteCallback(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, maxSuiteCallbackBody)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.SuiteCallback(r.Context(), r.PathValue("suite_id"), callbackQuery(r), body); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeText(w, []byte("success"))
}

func writeText(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h["Content-Type"] = contentTypeText
	h["Cache-Control"] = noStore
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}
