package httpapi

import (
	"errors"

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
	s.requests = register(reg, requests)
	s.latency = register(reg, latency)

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
