package httpapi

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/webhook"
	"github.com/wxlogin/wxlogin/wechat"
)

// ServiceMetrics counts what happens behind the HTTP layer: WeChat calls,
// retries and access-token fetches (as a wechat.Observer) and logins, store
// errors and decrypt failures (as auth.Metrics). Set it as the
// wechat.Client's Observer and the auth.Config's Metrics. Every label comes
// from a fixed set: API names, documented errcodes, error codes, reasons.
//
// The Prometheus implementation lives here, next to the request metrics
// and the /metrics handler, so that the domain, wechat and auth packages
// stay free of the dependency and take only small interfaces.
type ServiceMetrics struct {
	calls, retries *prometheus.CounterVec
	tokenFetches   *prometheus.CounterVec
	logins         *prometheus.CounterVec
	storeErrors    *prometheus.CounterVec
	decrypts       *prometheus.CounterVec
	webhooks       *prometheus.CounterVec
}

var (
	_ wechat.Observer = (*ServiceMetrics)(nil)
	_ auth.Metrics    = (*ServiceMetrics)(nil)
	_ webhook.Metrics = (*ServiceMetrics)(nil)
)

// NewServiceMetrics registers the service metrics on reg. Registering twice
// on one registry reuses the collectors already there.
func NewServiceMetrics(reg prometheus.Registerer) *ServiceMetrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wxlogin", Name: name, Help: help,
		}, labels))
	}
	m := &ServiceMetrics{
		calls: counter("wechat_calls_total",
			"Attempts of WeChat API calls, by API and errcode (0, a documented errcode, other, or unavailable).",
			"api", "errcode"),
		retries: counter("wechat_retries_total",
			"Attempts of WeChat API calls that were retried, by API and the errcode of the failed attempt.",
			"api", "errcode"),
		tokenFetches: counter("wechat_access_token_fetches_total",
			"Access tokens fetched from WeChat (not served from the cache), by result (ok or error).",
			"result"),
		logins: counter("logins_total",
			"Finished logins, by result (ok or the error code) and user (created, returning, or none for a failure).",
			"result", "user"),
		storeErrors: counter("store_errors_total",
			"Store failures, by the error code they were answered with.",
			"code"),
		decrypts: counter("decrypt_failures_total",
			"Encrypted data that did not open, by reason; the reason is never told to the client.",
			"reason"),
		webhooks: counter("webhook_attempts_total",
			"Webhook delivery attempts, by event and result (delivered, retry, or failed: given up after a day).",
			"event", "result"),
	}
	// Every webhook series exists from the start at 0, so that an alert on
	// increase(...{result="failed"}) sees the first failure, not only the
	// second.
	for _, e := range wxlogin.EventTypes() {
		for _, r := range []string{webhook.Delivered, webhook.Retry, webhook.Failed} {
			m.webhooks.WithLabelValues(e, r)
		}
	}
	return m
}

// WeChatCall implements wechat.Observer.
func (m *ServiceMetrics) WeChatCall(api, errcode string, retrying bool) {
	m.calls.WithLabelValues(api, errcode).Inc()
	if retrying {
		m.retries.WithLabelValues(api, errcode).Inc()
	}
}

// AccessTokenFetch implements wechat.Observer.
func (m *ServiceMetrics) AccessTokenFetch(ok bool) {
	result := "ok"
	if !ok {
		result = "error"
	}
	m.tokenFetches.WithLabelValues(result).Inc()
}

// Login implements auth.Metrics.
func (m *ServiceMetrics) Login(result string, created bool) {
	user := "returning"
	switch {
	case result != "ok":
		user = "none"
	case created:
		user = "created"
	}
	m.logins.WithLabelValues(result, user).Inc()
}

// StoreError implements auth.Metrics.
func (m *ServiceMetrics) StoreError(code string) { m.storeErrors.WithLabelValues(code).Inc() }

// DecryptFailure implements auth.Metrics.
func (m *ServiceMetrics) DecryptFailure(reason string) { m.decrypts.WithLabelValues(reason).Inc() }

// initCacheMetrics registers the verification cache's counters, read from
// the service at scrape time so that a cache hit costs one atomic add.
func (s *Server) initCacheMetrics(reg prometheus.Registerer) {
	svc := s.svc
	register(reg, newSuiteTicketCollector(svc))
	register(reg, prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "wxlogin", Name: "verify_cache_hits_total",
		Help: "Token verifications answered from the in-memory cache.",
	}, func() float64 { return float64(svc.CacheStats().Hits) }))
	register(reg, prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "wxlogin", Name: "verify_cache_misses_total",
		Help: "Token verifications that read the session store.",
	}, func() float64 { return float64(svc.CacheStats().Misses) }))
	// The wechat session policy's checker, read the same way: it runs in
	// the background, and an operator wants to see it end sessions.
	for result, count := range map[string]func(auth.KeyCheckStats) uint64{
		"valid": func(k auth.KeyCheckStats) uint64 { return k.Valid },
		"ended": func(k auth.KeyCheckStats) uint64 { return k.Ended },
		"kept":  func(k auth.KeyCheckStats) uint64 { return k.Kept },
	} {
		register(reg, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "wxlogin", Name: "session_key_checks_total",
			Help:        "Sessions of session_policy wechat apps whose session_key was checked, by result.",
			ConstLabels: prometheus.Labels{"result": result},
		}, func() float64 { return float64(count(svc.KeyCheckStats())) }))
	}
	register(reg, prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "wxlogin", Name: "session_key_check_calls_total",
		Help: "checksession calls the session_key checker made to WeChat.",
	}, func() float64 { return float64(svc.KeyCheckStats().Calls) }))
}

// WebhookAttempt implements webhook.Metrics.
func (m *ServiceMetrics) WebhookAttempt(event, result string) {
	m.webhooks.WithLabelValues(event, result).Inc()
}
