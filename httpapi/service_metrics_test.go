package httpapi_test

import (
	"context"
	gomaps "maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/wechat"
)

// TestE2EServiceMetrics drives logins (new, returning, retried after a busy
// WeChat, refused), verifications, an access-token fetch, a decrypt failure
// and a store failure, then scrapes /metrics: each outcome is counted with
// its labels, and the README's metrics table lists exactly the wxlogin_*
// metrics served, with their types and label names.
func TestE2EServiceMetrics(t *testing.T) { eachStore(t, testE2EServiceMetrics) }

func testE2EServiceMetrics(t *testing.T, kind storeKind) {
	w := newWorldOn(t, kind, func(_ *world, a *auth.Config, h *httpapi.Config) {
		reg := prometheus.NewRegistry()
		sm := httpapi.NewServiceMetrics(reg)
		a.WeChat.(*wechat.Client).Observer = sm
		a.Metrics = sm
		h.Metrics = reg
	}, withSuite())
	w.login(app1, "m")
	lb := w.login(app1, "m")
	if err := w.em.InjectFault(emulator.Fault{API: emulator.APIJSCode2Session, Count: 1, ErrCode: -1}); err != nil {
		t.Fatal(err)
	}
	w.login(app1, "m2")
	w.request("POST", "/v1/login", "", map[string]string{"code": "not-a-code", "appid": app1}).fails(t, 401, "invalid_code")
	w.request("GET", "/v1/auth", lb.Token, nil).ok(t, 200, nil)
	w.request("GET", "/v1/auth", lb.Token, nil).ok(t, 200, nil)
	if _, err := w.svc.AccessToken(context.Background(), app1); err != nil {
		t.Fatal(err)
	}
	w.request("POST", "/v1/phone", lb.Token, map[string]string{"encryptedData": "AAAAAAAAAAAAAAAAAAAAAA==", "iv": "AAAA"}).
		fails(t, 400, "invalid_encrypted_data")
	w.db.Close()
	w.request("GET", "/v1/me", lb.Token, nil).fails(t, 503, "store_unavailable")

	r := w.request("GET", "/metrics", "", nil)
	r.ok(t, 200, nil)
	text := string(r.body)
	for _, want := range []string{
		`wxlogin_logins_total{result="ok",user="created"} 2`,
		`wxlogin_logins_total{result="ok",user="returning"} 1`,
		`wxlogin_logins_total{result="invalid_code",user="none"} 1`,
		`wxlogin_wechat_calls_total{api="jscode2session",errcode="0"} 3`,
		`wxlogin_wechat_calls_total{api="jscode2session",errcode="-1"} 1`,
		`wxlogin_wechat_calls_total{api="jscode2session",errcode="40029"} 1`,
		`wxlogin_wechat_retries_total{api="jscode2session",errcode="-1"} 1`,
		`wxlogin_wechat_access_token_fetches_total{result="ok"} 1`,
		`wxlogin_decrypt_failures_total{reason="iv_length"} 1`,
		`wxlogin_store_errors_total{code="store_unavailable"} 1`,
		`wxlogin_verify_cache_misses_total 1`,
		// The second /v1/auth, /v1/phone and /v1/me.
		`wxlogin_verify_cache_hits_total 3`,
		// The suite app, which WeCom has not pushed a ticket to.
		`wxlogin_wecom_suite_ticket_age_seconds{suite_id="` + devSuite.SuiteID + `"} +Inf`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, secret := range []string{lb.Token, lb.User.OpenID, lb.User.ID, app1} {
		if strings.Contains(text, secret) {
			t.Errorf("metrics contain %q", secret)
		}
	}

	served := servedMetrics(text)
	documented := readmeMetrics(t)
	if got, want := slices.Sorted(gomaps.Keys(documented)), slices.Sorted(gomaps.Keys(served)); !slices.Equal(got, want) {
		t.Errorf("README metrics table lists %v\nserved wxlogin_* metrics are %v", got, want)
	}
	for name, doc := range documented {
		if s, ok := served[name]; ok && s != doc {
			t.Errorf("%s: README says %q, served %q", name, doc, s)
		}
	}
}

var labelName = regexp.MustCompile(`(\w+)="(?:[^"\\]|\\.)*"`)

// servedMetrics returns each wxlogin_* family of a scrape as "type labels"
// with its label names sorted and joined by commas (a histogram's le left out).
func servedMetrics(text string) map[string]string {
	types := map[string]string{}
	labels := map[string]map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[1] == "TYPE" && strings.HasPrefix(f[2], "wxlogin_") {
			types[f[2]], labels[f[2]] = f[3], map[string]bool{}
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		family := name
		if _, ok := types[family]; !ok {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if f, ok := strings.CutSuffix(name, suffix); ok && types[f] == "histogram" {
					family = f
				}
			}
		}
		set, ok := labels[family]
		if !ok || !strings.Contains(line, "{") {
			continue
		}
		labelPart, _, _ := strings.Cut(rest, "}")
		for _, m := range labelName.FindAllStringSubmatch(labelPart, -1) {
			if m[1] != "le" {
				set[m[1]] = true
			}
		}
	}
	out := map[string]string{}
	for name, typ := range types {
		out[name] = typ + " " + strings.Join(slices.Sorted(gomaps.Keys(labels[name])), ",")
	}
	return out
}

// readmeMetrics returns the README's metrics table in servedMetrics' form.
func readmeMetrics(t *testing.T) map[string]string {
	t.Helper()
	row := regexp.MustCompile("(?m)^\\| `(wxlogin_\\w+)` \\| (\\w+) \\|([^|]*)\\|")
	out := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(readme(t), -1) {
		var names []string
		for _, l := range strings.Split(m[3], ",") {
			if l = strings.Trim(strings.TrimSpace(l), "`"); l != "" {
				names = append(names, l)
			}
		}
		slices.Sort(names)
		out[m[1]] = m[2] + " " + strings.Join(names, ",")
	}
	if len(out) == 0 {
		t.Fatal("README.md has no metrics table")
	}
	return out
}
