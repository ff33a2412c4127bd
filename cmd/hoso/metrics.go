package main

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/workflow"
)

// metrics are the Prometheus metrics of `hoso serve`.
type metrics struct {
	reg     *prometheus.Registry
	events  *prometheus.CounterVec
	batch   prometheus.Histogram
	apply   prometheus.Histogram
	applied prometheus.Gauge
	relay   *events.Relay // set once built; read by the backlog gauge
}

func newMetrics(db *store.DB) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hoso_events_total",
			Help: "Stream messages decided, by outcome kind (accepted, correction, rejected) and rejection reason.",
		}, []string{"outcome", "reason"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hoso_batch_size",
			Help:    "Messages per applied batch (one store transaction each).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}),
		apply: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hoso_batch_apply_seconds",
			Help:    "Time to decide and commit one batch, fsync included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		applied: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hoso_applied_sequence",
			Help: "Stream sequence of the last applied message.",
		}),
	}
	m.reg.MustRegister(m.events, m.batch, m.apply, m.applied,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hoso_outbox_backlog",
			Help: "Outcomes committed but not yet confirmed published on NATS.",
		}, func() float64 {
			if m.relay == nil {
				return 0
			}
			return float64(m.relay.Backlog())
		}),
		&countsCollector{db: db, desc: prometheus.NewDesc("hoso_dossiers", "Dossiers by national status code.", []string{"status"}, nil)},
	)
	return m
}

func (m *metrics) observeBatch(r workflow.BatchResult, took time.Duration) {
	m.batch.Observe(float64(len(r.Outcomes) + r.Skipped))
	m.apply.Observe(took.Seconds())
	m.applied.Set(float64(r.LastSeq))
	for _, o := range r.Outcomes {
		m.events.WithLabelValues(string(o.Kind), string(o.Reason)).Inc()
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// countsCollector reports the store's counters at scrape time.
type countsCollector struct {
	db   *store.DB
	desc *prometheus.Desc
}

func (c *countsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *countsCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := c.db.Counts(context.Background())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for s := workflow.StatusSubmitted; s <= workflow.MaxStatus; s++ {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts.ByStatus[s]), strconv.Itoa(int(s)))
	}
}
