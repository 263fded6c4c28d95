package loadgen

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func testTokens(prefix string, n int) []string {
	toks := make([]string, n)
	for i := range toks {
		toks[i] = fmt.Sprintf("%s%06d", prefix, i)
	}
	return toks
}

// TestDraws checks the two distributions: uniform draws reach every token
// about equally, Zipf draws (s = 1.1 over 1,000 tokens) give the most
// popular token about 18% of the draws; and the sequence starts over.
func TestDraws(t *testing.T) {
	t.Parallel()
	toks := testTokens("tok", 1000)
	const n = 1 << 16
	share := func(d *draws) (distinct int, top float64) {
		counts := map[string]int{}
		for range n {
			h := d.header()
			tok, ok := strings.CutPrefix(h, "Bearer ")
			if !ok || len(tok) != len(toks[0]) {
				t.Fatalf("header %q, want Bearer and a token", h)
			}
			counts[tok]++
		}
		most := 0
		for _, c := range counts {
			most = max(most, c)
		}
		return len(counts), float64(most) / n
	}
	uni := newDraws("http://x", toks, false, n, 1)
	if distinct, top := share(uni); distinct != len(toks) || top > 0.005 {
		t.Errorf("uniform: %d distinct tokens, the most drawn %.4f of draws; want all %d, none above 0.005", distinct, top, len(toks))
	}
	zipf := newDraws("http://x", toks, true, n, 1)
	if _, top := share(zipf); top < 0.12 || top > 0.25 {
		t.Errorf("zipf: the most drawn token has %.3f of the draws, want about 0.18", top)
	}
	// After n draws the sequence starts over, in the same order.
	first := newDraws("http://x", toks, false, 8, 2)
	var once []string
	for range 8 {
		once = append(once, first.header())
	}
	for i := range 8 {
		if h := first.header(); h != once[i] {
			t.Fatalf("draw %d of the second pass is %q, want %q", i, h, once[i])
		}
	}
	if uni.url != "http://x/v1/auth" {
		t.Errorf("url %q", uni.url)
	}
}

// TestRunSessionsCountsRefusals checks that the verify-sessions workloads
// count what is not a 200 naming a user as an error, and never write a
// token: the server behind one side knows only half of its tokens.
func TestRunSessionsCountsRefusals(t *testing.T) {
	t.Parallel()
	many, few := testTokens("many", 200), testTokens("few", 10)
	known := map[string]bool{}
	for _, tok := range many[:100] {
		known["Bearer "+tok] = true
	}
	for _, tok := range few {
		known["Bearer "+tok] = true
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/auth" || !known[r.Header.Get("Authorization")] {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Wxlogin-User-Id", "usr_test")
	}))
	defer srv.Close()
	rep, err := Run(t.Context(), Config{
		APIURL: srv.URL, EmulatorURL: srv.URL, AppID: "wx0", Secret: "s",
		Clients: 2, Round: 200 * time.Millisecond, Rounds: 2, Workloads: []string{VerifySessionsUniform},
		Sessions: &Sessions{APIURL: srv.URL, Tokens: many, BaselineAPIURL: srv.URL, BaselineTokens: few},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Results[0]
	if r.Wxlogin.Errors == 0 || r.Wxlogin.Ops == 0 || !strings.Contains(r.Wxlogin.FirstErr, "status 401") {
		t.Errorf("side with unknown tokens: %d ops, %d errors, first %q; want both and a 401", r.Wxlogin.Ops, r.Wxlogin.Errors, r.Wxlogin.FirstErr)
	}
	if strings.Contains(r.Wxlogin.FirstErr, "many") {
		t.Errorf("the error names a token: %q", r.Wxlogin.FirstErr)
	}
	if r.BaselineRun.Errors != 0 || r.BaselineRun.Ops == 0 {
		t.Errorf("side with known tokens: %d ops, %d errors (%q); want ops and no errors", r.BaselineRun.Ops, r.BaselineRun.Errors, r.BaselineRun.FirstErr)
	}
	if r.Distribution != "uniform" || r.Sessions != 200 || r.BaselineSessions != 10 {
		t.Errorf("result %+v, want uniform, 200 against 10 sessions", r)
	}

	// A 200 without a principal is not an answer either.
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer bare.Close()
	_, err = Run(t.Context(), Config{
		APIURL: bare.URL, EmulatorURL: bare.URL, AppID: "wx0", Secret: "s",
		Clients: 1, Round: 100 * time.Millisecond, Rounds: 1, Workloads: []string{VerifySessionsZipf},
		Sessions: &Sessions{APIURL: bare.URL, Tokens: few, BaselineAPIURL: bare.URL, BaselineTokens: few},
	})
	if err == nil || !strings.Contains(err.Error(), "200 without X-Wxlogin-User-Id") {
		t.Errorf("Run against a server answering 200 with no principal: %v, want every request failed", err)
	}

	if _, err := Run(t.Context(), Config{APIURL: srv.URL, EmulatorURL: srv.URL, AppID: "wx0", Secret: "s", Workloads: []string{VerifySessionsZipf}}); err == nil {
		t.Error("Run of a verify-sessions workload without Config.Sessions: no error")
	}
}
