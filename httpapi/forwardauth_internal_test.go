package httpapi

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzQueryParam checks forward-auth's in-place query scan against
// url.ParseQuery on the queries both read alike: those without escapes in
// a key (ParseQuery unescapes keys; a proxy configuration spells appid
// plainly).
func FuzzQueryParam(f *testing.F) {
	for _, s := range []string{"", "appid=wx1", "x=1&appid=wx%32&appid=wx3", "appid", "appid=", "appid=a+b", "appid=%zz", "a%70pid=wx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, found, err := queryParam(raw, "appid")
		want, perr := url.ParseQuery(raw)
		if perr != nil || escapedKey(raw) {
			return
		}
		if err != nil {
			t.Fatalf("queryParam(%q) failed (%v) where ParseQuery did not", raw, err)
		}
		if found != want.Has("appid") || got != want.Get("appid") {
			t.Fatalf("queryParam(%q) = %q, %v; ParseQuery says %q, %v", raw, got, found, want.Get("appid"), want.Has("appid"))
		}
	})
}

// escapedKey reports whether a key of raw holds an escape.
func escapedKey(raw string) bool {
	for _, part := range strings.Split(raw, "&") {
		k, _, _ := strings.Cut(part, "=")
		if strings.ContainsAny(k, "%+") {
			return true
		}
	}
	return false
}
