package webhooksig_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin/webhooksig"
)

// A receiver's handler: verify, then parse, then drop an event id already
// processed, then answer 2xx.
func ExampleVerifyRequest() {
	secret := []byte("the contents of secret_file")
	handler := func(w http.ResponseWriter, r *http.Request) {
		body, err := webhooksig.VerifyRequest(r, secret)
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		fmt.Println("verified", r.Header.Get(webhooksig.EventHeader), string(body))
		w.WriteHeader(http.StatusNoContent)
	}

	// What wxlogin sends:
	body := `{"id":"evt_1","type":"user.erased"}`
	r := httptest.NewRequest("POST", "/hooks/wxlogin", strings.NewReader(body))
	r.Header.Set(webhooksig.EventHeader, "user.erased")
	r.Header.Set(webhooksig.SignatureHeader, webhooksig.Sign(secret, time.Now(), []byte(body)))
	w := httptest.NewRecorder()
	handler(w, r)
	fmt.Println(w.Code)

	// A forged one:
	r = httptest.NewRequest("POST", "/hooks/wxlogin", strings.NewReader(body))
	r.Header.Set(webhooksig.SignatureHeader, webhooksig.Sign([]byte("guess"), time.Now(), []byte(body)))
	w = httptest.NewRecorder()
	handler(w, r)
	fmt.Println(w.Code)
	// Output:
	// verified user.erased {"id":"evt_1","type":"user.erased"}
	// 204
	// 401
}
