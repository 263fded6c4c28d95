package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
)

// DocumentedCode checks that docs/openapi.yaml documents the error code
// answered with status for req: the operation lists that status, and the
// status's description names the code. A request no operation matches may
// only answer not_found or method_not_allowed. The catalogues use it to
// tell "answered as documented" from merely "answered with JSON".
func DocumentedCode(req *http.Request, status int, code string) error {
	router, err := spec()
	if err != nil {
		return err
	}
	r := req.Clone(context.Background())
	r.URL.Scheme, r.URL.Host, r.Host = "", "", ""
	route, _, err := router.FindRoute(r)
	if err != nil {
		if status == http.StatusNotFound && code == "not_found" || status == http.StatusMethodNotAllowed && code == "method_not_allowed" {
			return nil
		}
		return fmt.Errorf("no documented operation, and %d %s is neither not_found nor method_not_allowed", status, code)
	}
	ref := route.Operation.Responses.Status(status)
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("%s %s does not document status %d", route.Method, route.Path, status)
	}
	desc := ""
	if ref.Value.Description != nil {
		desc = *ref.Value.Description
	}
	if !strings.Contains(desc, code) {
		return fmt.Errorf("%s %s %d is documented as %q, which does not name %s", route.Method, route.Path, status, desc, code)
	}
	return nil
}

var summaryMu sync.Mutex

// Summary prints one catalogue's counts on stderr and, when the variable
// WXLOGIN_TEST_SUMMARY names a file, appends them there: go test shows a
// passing package's output only with -v, and scripts/test prints that file
// after the run so the counts are seen on every run.
func Summary(format string, args ...any) {
	line := fmt.Sprintf(format, args...) + "\n"
	summaryMu.Lock()
	defer summaryMu.Unlock()
	fmt.Fprint(os.Stderr, line)
	if path := os.Getenv("WXLOGIN_TEST_SUMMARY"); path != "" {
		if f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			f.WriteString(line)
			f.Close()
		}
	}
}
