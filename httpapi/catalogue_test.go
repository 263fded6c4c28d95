package httpapi_test

// Shared by the catalogues: a request that never follows a redirect and is
// checked against docs/openapi.yaml (schema and documented code), and a
// dump of every table of the database.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin/httpapi"
)

// sent is one catalogue request.
type sent struct {
	method, path string
	header       []string // name, value pairs; "Authorization" is set verbatim
	body         []byte
}

// answered is what a catalogue request got.
type answered struct {
	status     int
	header     http.Header
	body       []byte
	code       string // the envelope's code; "" when the body is not the envelope
	documented error  // why the answer is not as docs/openapi.yaml says, nil when it is
}

// noRedirects is a client that reports a redirect instead of following it,
// so that a redirect answer is seen as what it is.
func noRedirects(w *world) *http.Client {
	c := *w.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// send sends s as it is (no Content-Type unless given) and checks the
// answer against the document without failing the test: the catalogues
// count mismatches and report them together.
func (w *world) send(c *http.Client, s sent) answered {
	w.t.Helper()
	var rd io.Reader
	if s.body != nil {
		rd = bytes.NewReader(s.body)
	}
	req, err := http.NewRequestWithContext(context.Background(), s.method, w.srv.URL+s.path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	if strings.Contains(s.path, "%") || strings.Contains(s.path, "..") || strings.Contains(s.path, "//") {
		// Keep the path exactly as written, escapes and dots included;
		// the query, already in RawQuery, stays out of it.
		p, _, _ := strings.Cut(s.path, "?")
		req.URL.Opaque = "//" + req.URL.Host + p
	}
	for i := 0; i+1 < len(s.header); i += 2 {
		req.Header[http.CanonicalHeaderKey(s.header[i])] = []string{s.header[i+1]}
	}
	res, err := c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	a := answered{status: res.StatusCode, header: res.Header, body: data}
	var env struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(data, &env) == nil && env.Error.Code != "" && env.Error.Message != "" {
		a.code = env.Error.Code
	}
	spec := &recordingTB{TB: w.t}
	httpapi.CheckSpec(spec, req, res.StatusCode, res.Header, data)
	switch {
	case spec.failure != "":
		a.documented = fmt.Errorf("%s", spec.failure)
	case a.code == "":
		a.documented = fmt.Errorf("not the error envelope: %d %q", res.StatusCode, truncate(data))
	case res.Header.Get("Content-Type") != "application/json":
		a.documented = fmt.Errorf("Content-Type %q", res.Header.Get("Content-Type"))
	default:
		a.documented = httpapi.DocumentedCode(req, res.StatusCode, a.code)
	}
	return a
}

// recordingTB takes CheckSpec's failure instead of failing the test.
type recordingTB struct {
	testing.TB
	failure string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.failure += fmt.Sprintf(format, args...)
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// dump is every row of every table of the database, read through the
// world's own read-only connection, as text: two dumps are equal when
// nothing was written.
func (w *world) dump() []string {
	w.t.Helper()
	rows, err := w.raw.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		w.t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			w.t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) == 0 {
		w.t.Fatal("the database has no tables")
	}
	var out []string
	for _, table := range tables {
		rs, err := w.raw.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			w.t.Fatal(err)
		}
		cols, _ := rs.Columns()
		var lines []string
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				w.t.Fatal(err)
			}
			lines = append(lines, table+": "+fmt.Sprintf("%q", fmt.Sprint(vals...)))
		}
		if err := rs.Err(); err != nil {
			w.t.Fatal(err)
		}
		rs.Close()
		slices.Sort(lines)
		out = append(out, lines...)
	}
	return out
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
