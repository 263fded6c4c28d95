package playground

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerServesThePage(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.StripPrefix("/playground", Handler()))
	t.Cleanup(srv.Close)

	tests := []struct {
		name     string
		path     string
		wantType string
		wantBody string
	}{
		{"page", "/playground/", "text/html", `<script src="app.js"></script>`},
		// The browser asks for /favicon.ico (a 404) unless the page names
		// an icon; this one needs no request at all.
		{"icon", "/playground/", "text/html", `<link rel="icon" href="data:,">`},
		{"bundle", "/playground/app.js", "text/javascript", "createSimulatedWx"},
		{"styles", "/playground/style.css", "text/css", ".timeline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d", tt.path, res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, tt.wantType) {
				t.Errorf("Content-Type = %q, want %s", got, tt.wantType)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body lacks %q", tt.wantBody)
			}
		})
	}
}

func TestHandlerRefusesWrites(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("x")))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", rec.Code)
	}
}

func TestHandlerHidesSources(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/src/app.ts", "/app.ts", "/missing.js"} {
		rec := httptest.NewRecorder()
		Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, rec.Code)
		}
	}
}
