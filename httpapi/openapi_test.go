package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/prometheus/client_golang/prometheus"
)

// errorSchema is the document's error envelope, for answers to routes the
// document does not list.
var errorSchema *openapi3.SchemaRef

// spec is docs/openapi.yaml, loaded and validated once for every test.
var spec = sync.OnceValues(func() (routers.Router, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("../docs/openapi.yaml")
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	for _, ct := range []string{"image/png", "image/jpeg", "image/webp", "image/*", "application/octet-stream", "text/html"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
	// The server answers with an absolute-path-only view of the spec;
	// drop the servers so the router matches any test server's host.
	doc.Servers = nil
	errorSchema = doc.Components.Schemas["Error"]
	if errorSchema == nil {
		return nil, errors.New("no Error schema")
	}
	return legacy.NewRouter(doc)
})

// checkSpec validates one real exchange against docs/openapi.yaml and fails
// the test on any mismatch: an undocumented route or status, a body or a
// required header that differs from its schema.
func checkSpec(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if err := specError(req, status, header, body); err != nil {
		t.Errorf("%s %s -> %d does not match docs/openapi.yaml: %v\nbody: %s", req.Method, req.URL.Path, status, err, truncate(body))
	}
}

func specError(req *http.Request, status int, header http.Header, body []byte) error {
	router, err := spec()
	if err != nil {
		return err
	}
	// The router matches on the URL; give it one with no host so that
	// the doc's server-less paths match.
	r := req.Clone(context.Background())
	r.URL.Scheme, r.URL.Host, r.Host = "", "", ""
	route, params, err := router.FindRoute(r)
	if err != nil {
		// A path or method the document does not list is answered with
		// 404 or 405 and the error envelope; check exactly that. (The
		// legacy router reports a missing method on a templated path as a
		// missing operation, so the status decides which it is.)
		methodMissing := status == http.StatusMethodNotAllowed
		if status != http.StatusNotFound && !methodMissing {
			return err
		}
		if methodMissing && header.Get("Allow") == "" {
			return errors.New("405 without Allow")
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return err
		}
		return errorSchema.Value.VisitJSON(v)
	}
	covered.Store(route.Method+" "+route.Path, true)
	// The validator checks a body against the documented content but lets
	// a body through where the document has none (forward-auth's 200, the
	// 204s); an undocumented body is a mismatch too.
	if ref := route.Operation.Responses.Status(status); ref != nil && ref.Value != nil && len(ref.Value.Content) == 0 && len(body) > 0 {
		return fmt.Errorf("%d has no documented body, got %d bytes", status, len(body))
	}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: r, PathParams: params, Route: route,
		},
		Status: status,
		Header: header,
		Body:   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	})
}

// covered holds the documented operations ("METHOD /path") that answered at
// least once in this test run.
var covered sync.Map

// TestMain fails a full run (no -run filter) in which some documented
// operation never answered a validated request: a route nobody tests is a
// route whose documentation nobody checks.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code != 0 || flag.Lookup("test.run").Value.String() != "" || flag.Lookup("test.bench").Value.String() != "" {
		os.Exit(code)
	}
	doc, err := openapi3.NewLoader().LoadFromFile("../docs/openapi.yaml")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	var missing []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if _, ok := covered.Load(method + " " + path); !ok {
				missing = append(missing, method+" "+path)
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		fmt.Printf("FAIL: documented operations no test exercised:\n  %s\n", strings.Join(missing, "\n  "))
		os.Exit(1)
	}
	os.Exit(0)
}

func truncate(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "..."
	}
	return string(b)
}

func TestOpenAPILoads(t *testing.T) {
	t.Parallel()
	if _, err := spec(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenAPIRoutesMatchServer checks that each route the server mounts is
// in the spec and each path of the spec is a route.
func TestOpenAPIRoutesMatchServer(t *testing.T) {
	t.Parallel()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Logger: slog.New(slog.DiscardHandler), AdminToken: "x", Dev: &DevConfig{}})
	// Everything mounted with every option on is documented, except the
	// dev-only mounts of other components (the emulator's device API and
	// the playground and WeChat's browser pages, documented with the
	// emulator).
	all := New(Config{Logger: slog.New(slog.DiscardHandler), AdminToken: "x", Metrics: prometheus.NewRegistry(),
		Dev: &DevConfig{Emulator: http.NotFoundHandler(), Playground: http.NotFoundHandler(), AdvanceClock: func(time.Duration) time.Time { return time.Time{} }}})
	for _, pattern := range all.patterns {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			method, path = "", pattern
		}
		switch path {
		case "/emulator/v1/", "/connect/", "/playground/", "/playground", "/{$}":
			continue
		}
		item := doc.Paths.Find(path)
		switch {
		case item == nil:
			t.Errorf("%s is mounted but not documented", pattern)
		case method != "" && item.GetOperation(method) == nil:
			t.Errorf("%s is mounted but its method is not documented", pattern)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if path == "/metrics" || path == "/dev/v1/clock" {
				continue // mounted only with Metrics or AdvanceClock set
			}
			concrete := strings.NewReplacer("{id}", "x1", "{appid}", "wx1").Replace(path)
			r := httptest.NewRequest(method, concrete, nil)
			if _, pattern := s.mux.Handler(r); pattern == "" {
				t.Errorf("%s %s is documented but not mounted", method, path)
			}
		}
	}
}

// TestSpecCoversRefusals validates the answers of the service-free unit
// tests' requests: the envelope, 401/404/405/413 and the probes.
func TestSpecCoversRefusals(t *testing.T) {
	t.Parallel()
	s := New(Config{Logger: slog.New(slog.DiscardHandler), MaxBodyBytes: 64, AdminToken: "admin"})
	tests := []struct{ method, path, body, auth string }{
		{"GET", "/healthz", "", ""},
		{"POST", "/v1/login", `{"code":1}`, ""},
		{"POST", "/v1/login", `{"code":"` + strings.Repeat("a", 100) + `"}`, ""},
		{"POST", "/v1/login", ``, ""},
		{"GET", "/v1/session", "", ""},
		{"DELETE", "/v1/sessions/abc", "", ""},
		{"GET", "/v1/auth", "", ""},
		{"POST", "/v1/auth", "", ""},
		{"GET", "/v1/admin/users", "", "Bearer nope"},
		{"GET", "/v1/me", "", ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequestWithContext(t.Context(), tt.method, tt.path, strings.NewReader(tt.body))
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		checkSpec(t, r, w.Code, w.Header(), w.Body.Bytes())
	}
}

// TestSpecCatchesMismatches proves the validator can fail: each of these
// answers breaks the spec.
func TestSpecCatchesMismatches(t *testing.T) {
	t.Parallel()
	json := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
	}{
		{"undocumented route", "GET", "/v1/nope", 200, json, `{}`},
		{"login without token", "POST", "/v1/login", 200, json, `{"expires_at":"2026-01-01T00:00:00Z","user":{"id":"u","appid":"a","openid":"o","created_at":"2026-01-01T00:00:00Z","created":true}}`},
		{"login with a leaked field", "POST", "/v1/login", 200, json, `{"token":"t","session_key":"k","expires_at":"2026-01-01T00:00:00Z","user":{"id":"u","appid":"a","openid":"o","created_at":"2026-01-01T00:00:00Z","created":true}}`},
		{"error with an unknown code", "GET", "/v1/session", 401, http.Header{"Content-Type": {"application/json"}, "Www-Authenticate": {"Bearer"}}, `{"error":{"code":"nope","message":"m"}}`},
		{"error in another shape", "GET", "/v1/session", 500, json, `{"error":"boom"}`},
		{"rate limited without Retry-After", "POST", "/v1/login", 429, json, `{"error":{"code":"rate_limited","message":"m"}}`},
		{"unavailable without Retry-After", "POST", "/v1/login", 503, json, `{"error":{"code":"upstream_unavailable","message":"m"}}`},
		{"session with created", "GET", "/v1/session", 200, json, `{"expires_at":"2026-01-01T00:00:00Z","user":{"id":"u","appid":"a","openid":"o","created_at":"2026-01-01T00:00:00Z","created":false}}`},
		{"me with created", "GET", "/v1/me", 200, json, `{"id":"u","appid":"a","openid":"o","created_at":"2026-01-01T00:00:00Z","created":true,"updated_at":"2026-01-01T00:00:00Z","profile":{"nickname":"","avatar_url":null}}`},
		{"phone with watermark", "POST", "/v1/phone", 200, json, `{"phoneNumber":"1","purePhoneNumber":"1","countryCode":"86","watermark":{}}`},
		{"forward auth without headers", "GET", "/v1/auth", 200, http.Header{"Cache-Control": {"no-store"}}, ``},
		{"forward auth with a body", "GET", "/v1/auth", 200, http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}, "X-Wxlogin-User-Id": {"u"}, "X-Wxlogin-Openid": {"o"}, "X-Wxlogin-Appid": {"a"}, "X-Wxlogin-Unionid": {""}}, `{"user_id":"u"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if err := specError(r, tt.status, tt.header, []byte(tt.body)); err == nil {
				t.Error("validated, want a mismatch")
			}
		})
	}
}
