package httpapi

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestCallbackURL: the callback's scheme and host come from public_url,
// else from the request, corrected by a trusted proxy's X-Forwarded-Proto
// and X-Forwarded-Host (the nearest proxy's value); nobody else's headers
// count, and a value that is no bare scheme or host[:port] is ignored.
func TestCallbackURL(t *testing.T) {
	const proxy, client = "10.0.0.7:5000", "203.0.113.9:5000"
	tests := []struct {
		name      string
		publicURL string
		remote    string
		tls       bool
		header    map[string][]string
		want      string
	}{
		{"plain", "", client, false, nil, "http://wx.internal:8080/p/v1/web/callback"},
		{"tls", "", client, true, nil, "https://wx.internal:8080/p/v1/web/callback"},
		{"public_url wins", "https://www.example.com", proxy, false,
			map[string][]string{"X-Forwarded-Proto": {"http"}, "X-Forwarded-Host": {"other.example"}},
			"https://www.example.com/p/v1/web/callback"},
		{"trusted proxy", "", proxy, false,
			map[string][]string{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"www.example.com"}},
			"https://www.example.com/p/v1/web/callback"},
		{"nearest proxy's value", "", proxy, false,
			map[string][]string{"X-Forwarded-Proto": {"http, HTTPS"}, "X-Forwarded-Host": {"forged.example", "www.example.com:8443"}},
			"https://www.example.com:8443/p/v1/web/callback"},
		{"untrusted client", "", client, false,
			map[string][]string{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"evil.example"}},
			"http://wx.internal:8080/p/v1/web/callback"},
		{"unknown scheme", "", proxy, true,
			map[string][]string{"X-Forwarded-Proto": {"javascript"}},
			"https://wx.internal:8080/p/v1/web/callback"},
		{"host with a path", "", proxy, false,
			map[string][]string{"X-Forwarded-Host": {"evil.example/x?"}},
			"http://wx.internal:8080/p/v1/web/callback"},
		{"host with a user", "", proxy, false,
			map[string][]string{"X-Forwarded-Host": {"a@evil.example"}},
			"http://wx.internal:8080/p/v1/web/callback"},
		{"empty host", "", proxy, false,
			map[string][]string{"X-Forwarded-Host": {" "}},
			"http://wx.internal:8080/p/v1/web/callback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{publicURL: tt.publicURL, prefix: "/p", trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
			r := httptest.NewRequest("GET", "http://wx.internal:8080/p/v1/web/authorize", nil)
			r.RemoteAddr = tt.remote
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for k, vs := range tt.header {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if got := s.callbackURL(r); got != tt.want {
				t.Errorf("callbackURL = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestWantsHTML: only an Accept that prefers HTML to JSON gets the error
// page; no Accept, */*, or JSON first keep the JSON error.
func TestWantsHTML(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                 false,
		"*/*":              false,
		"application/json": false,
		"text/html":        true,
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8": true,
		"application/xhtml+xml":                   true,
		"application/json, text/html;q=0.5":       false,
		"text/html;q=0.5, application/json;q=0.4": true,
		"text/html;q=0":                           false,
		"text/html;q=abc":                         false,
		"text/html;;;":                            false,
	} {
		r := httptest.NewRequest("GET", "/v1/web/callback", nil)
		r.Header.Set("Accept", accept)
		if got := wantsHTML(r); got != want {
			t.Errorf("Accept %q: wantsHTML = %v, want %v", accept, got, want)
		}
	}
}
