package httpapi

import (
	"context"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wxlogin/wxlogin/auth"
)

// suiteTicketCollector reports each WeCom suite app's suite_ticket age,
// read from the shared cache at scrape time, so that every instance shows
// the ticket any of them received. Its one label is the suite id, from
// the configuration (one suite is one app): never the ticket.
type suiteTicketCollector struct {
	svc  *auth.Service
	desc *prometheus.Desc
}

// suiteTicketScrapeTimeout bounds the cache reads of one scrape.
const suiteTicketScrapeTimeout = 2 * time.Second

func newSuiteTicketCollector(svc *auth.Service) *suiteTicketCollector {
	return &suiteTicketCollector{svc: svc, desc: prometheus.NewDesc("wxlogin_wecom_suite_ticket_age_seconds",
		"Seconds since WeCom issued the suite's latest suite_ticket (+Inf when none is kept); WeCom pushes one every 600 s and a ticket lasts 1800 s.",
		[]string{"suite_id"}, nil)}
}

func (c *suiteTicketCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *suiteTicketCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), suiteTicketScrapeTimeout)
	defer cancel()
	for _, a := range c.svc.SuiteTicketAges(ctx) {
		v := math.Inf(1)
		if a.Known {
			v = a.Age.Seconds()
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, a.SuiteID)
	}
}
