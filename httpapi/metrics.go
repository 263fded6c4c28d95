package httpapi

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// initMetrics registers the request metrics. Their only labels are the
// route pattern and the status: never a token, an openid or a raw path.
// Registering twice on one registry (two Servers in one process) reuses the
// collectors already there.
func (s *Server) initMetrics(reg prometheus.Registerer) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "wxlogin",
		Name:      "http_requests_total",
		Help:      "HTTP requests answered, by route pattern and status code.",
	}, []string{"route", "code"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "wxlogin",
		Name:      "http_request_duration_seconds",
		Help:      "Time to answer an HTTP request, by route pattern.",
		Buckets:   []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route"})
	s.metrics = &requestMetrics{
		requests: register(reg, requests),
		latency:  register(reg, latency),
		series:   make(map[seriesKey]routeSeries),
	}

	gatherer := prometheus.DefaultGatherer
	if g, ok := reg.(prometheus.Gatherer); ok {
		gatherer = g
	}
	s.metricsHandler = promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var dup prometheus.AlreadyRegisteredError
		if errors.As(err, &dup) {
			if existing, ok := dup.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic("httpapi: registering metrics: " + err.Error())
	}
	return c
}

// requestMetrics counts requests and their latency. It keeps the resolved
// series of each (route, status) so the hot path (forward-auth) does not
// hash label values on every request; routes are patterns and statuses few,
// so the map stays small.
type requestMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	mu     sync.RWMutex
	series map[seriesKey]routeSeries
}

type seriesKey struct {
	route  string
	status int
}

type routeSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

func (m *requestMetrics) observe(route string, status int, d time.Duration) {
	k := seriesKey{route, status}
	m.mu.RLock()
	sr, ok := m.series[k]
	m.mu.RUnlock()
	if !ok {
		sr = routeSeries{
			count:   m.requests.WithLabelValues(route, strconv.Itoa(status)),
			latency: m.latency.WithLabelValues(route),
		}
		m.mu.Lock()
		m.series[k] = sr
		m.mu.Unlock()
	}
	sr.count.Inc()
	sr.latency.Observe(d.Seconds())
}
