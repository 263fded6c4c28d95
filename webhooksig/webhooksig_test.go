package webhooksig_test

import (
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/webhooksig"
)

var (
	secret = []byte("whsec-test")
	body   = []byte(`{"id":"evt_1"}`)
	sent   = time.Unix(1700000000, 0)
)

// TestSignKnownAnswer checks Sign against a signature computed by openssl:
//
//	printf '%s' '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac 'whsec-test' -r
func TestSignKnownAnswer(t *testing.T) {
	t.Parallel()
	const want = "t=1700000000,v1=ab0f82fa9f9ae7a690c998696fb56441e102a1546c14f8c2077dd1c92a67f65c"
	if got := webhooksig.Sign(secret, sent, body); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	good := webhooksig.Sign(secret, sent, body)
	other := webhooksig.Sign([]byte("old-secret"), sent, body)
	tests := []struct {
		name      string
		header    string
		body      string
		now       time.Time
		wantErr   error
		wantStale bool
	}{
		{name: "valid", header: good, body: string(body), now: sent},
		{name: "valid within tolerance", header: good, body: string(body), now: sent.Add(4 * time.Minute)},
		{name: "two signatures, one matching (secret rotation)", header: other + ",v1=" + strings.Split(good, "v1=")[1], body: string(body), now: sent},
		{name: "stale", header: good, body: string(body), now: sent.Add(6 * time.Minute), wantErr: webhooksig.ErrInvalid, wantStale: true},
		{name: "from the future", header: good, body: string(body), now: sent.Add(-6 * time.Minute), wantErr: webhooksig.ErrInvalid, wantStale: true},
		{name: "body changed", header: good, body: `{"id":"evt_2"}`, now: sent, wantErr: webhooksig.ErrInvalid},
		{name: "other secret", header: other, body: string(body), now: sent, wantErr: webhooksig.ErrInvalid},
		{name: "timestamp changed", header: strings.Replace(good, "t=1700000000", "t=1700000001", 1), body: string(body), now: sent, wantErr: webhooksig.ErrInvalid},
		{name: "empty", header: "", body: string(body), now: sent, wantErr: webhooksig.ErrInvalid},
		{name: "no signature", header: "t=1700000000", body: string(body), now: sent, wantErr: webhooksig.ErrInvalid},
		{name: "short signature", header: "t=1700000000,v1=ab0f", body: string(body), now: sent, wantErr: webhooksig.ErrInvalid},
		{name: "not hex", header: "t=1700000000,v1=" + strings.Repeat("zz", 32), body: string(body), now: sent, wantErr: webhooksig.ErrInvalid},
		{name: "no timestamp", header: "v1=" + strings.Split(good, "v1=")[1], body: string(body), now: sent, wantErr: webhooksig.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := webhooksig.Verify(secret, tc.header, []byte(tc.body), tc.now, 0)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tc.wantErr)
			}
			if got := errors.Is(err, webhooksig.ErrTimestamp); got != tc.wantStale {
				t.Errorf("errors.Is(err, ErrTimestamp) = %v, want %v", got, tc.wantStale)
			}
		})
	}
}

func TestVerifyRequest(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("POST", "/hook", strings.NewReader(string(body)))
	r.Header.Set(webhooksig.SignatureHeader, webhooksig.Sign(secret, time.Now(), body))
	got, err := webhooksig.VerifyRequest(r, secret)
	if err != nil || string(got) != string(body) {
		t.Errorf("VerifyRequest = %q, %v; want the body, nil", got, err)
	}
	r = httptest.NewRequest("POST", "/hook", strings.NewReader(string(body)+" "))
	r.Header.Set(webhooksig.SignatureHeader, webhooksig.Sign(secret, time.Now(), body))
	if _, err := webhooksig.VerifyRequest(r, secret); !errors.Is(err, webhooksig.ErrInvalid) {
		t.Errorf("VerifyRequest of a changed body = %v, want ErrInvalid", err)
	}
}

// FuzzVerify checks that no header makes Verify panic or accept a body it
// was not signed over.
func FuzzVerify(f *testing.F) {
	f.Add(webhooksig.Sign(secret, sent, body), []byte("x"))
	f.Add("t=1,v1=,v1=00", []byte{})
	f.Add("t=-9223372036854775808,v1="+strings.Repeat("0", 64), body)
	f.Fuzz(func(t *testing.T, header string, b []byte) {
		if webhooksig.Verify(secret, header, b, sent, 0) != nil {
			return
		}
		// Accepted: the header must hold the true signature of b at its t.
		for _, part := range strings.Split(header, ",") {
			if ts, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
				sec, err := strconv.ParseInt(ts, 10, 64)
				if err != nil {
					t.Fatalf("accepted a header whose t=%q is not a number", ts)
				}
				want := strings.Split(webhooksig.Sign(secret, time.Unix(sec, 0), b), "v1=")[1]
				if !strings.Contains(strings.ToLower(header), want) {
					t.Fatalf("accepted %q for a body it does not sign", header)
				}
			}
		}
	})
}
