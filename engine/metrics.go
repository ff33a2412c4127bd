package engine

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/natsserver"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/workflow"
)

// lagTimeout bounds the JetStream consumer-info request a scrape makes
// for hoso_consumer_lag: a slow or absent NATS server must not hold the
// scrape.
const lagTimeout = 2 * time.Second

// metrics are the Prometheus metrics of `hoso serve`. Every metric is
// documented in docs/api.md; TestMetrics checks that each is exposed.
//
// The histograms and counters are fed by hooks (store.Options.OnCommit,
// events.ConsumerConfig.OnBatch and OnError); the gauges are read at scrape time from
// the store's counters, the relay and the JetStream consumer, which watch
// sets once before the HTTP server starts.
type metrics struct {
	reg     *prometheus.Registry
	events  *prometheus.CounterVec
	batch   prometheus.Histogram
	apply   prometheus.Histogram
	commit  prometheus.Histogram
	applied prometheus.Gauge
	lagErrs prometheus.Counter
	errs    prometheus.Counter // failed Apply attempts
	drift   prometheus.Counter // changes found in the engine's consumer
	gaps    prometheus.Counter // deleted stream messages passed over
	removed prometheus.Counter // forbidden consumers the guard removed
	// streamDiffs counts the settings of existing streams kept that
	// differ from hoso's (set at start).
	streamDiffs prometheus.Gauge
	blocks      prometheus.Counter // sources blocked for going over their quota

	reloadOK   prometheus.Gauge // 1 if the last SIGHUP reload loaded every file
	reloadTime prometheus.Gauge // when a reload last loaded every file

	// Set by watch, watchReplica and watchQuota before the first scrape,
	// read-only afterwards.
	replica *events.Replica
	quota   *natsserver.Quota
	db      *store.DB
	relay   *events.Relay
	cons    jetstream.Consumer
	log     *slog.Logger
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hoso_events_total",
			Help: "Stream messages decided, by outcome kind (accepted, correction, rejected, deadline) and rejection reason.",
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
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hoso_batch_commit_seconds",
			Help:    "Time of the store commit of one batch: writing its pages and the fsync, without the decisions.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14),
		}),
		applied: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hoso_applied_sequence",
			Help: "Stream sequence of the last applied message.",
		}),
		errs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hoso_apply_errors_total",
			Help: "Attempts to apply a batch that failed (store commit or I/O error); the batch is not acked and is retried with backoff.",
		}),
		lagErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hoso_consumer_lag_errors_total",
			Help: "Scrapes that could not read the consumer's info from JetStream, and so report no hoso_consumer_lag.",
		}),
		drift: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hoso_consumer_drift_total",
			Help: "Changes found in the engine's durable consumer (its configuration changed, it was deleted, or it delivered past a message the stream holds); each is logged and undone, and the engine is not ready until it is.",
		}),
		gaps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hoso_stream_gap_messages_total",
			Help: "Stream sequences the engine passed over because they were no longer in HOSO_EVENTS (deleted or aged out): events it never applied.",
		}),
		streamDiffs: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hoso_stream_config_differences",
			Help: "Settings of the existing streams (and the replicas' bucket) that differ from what hoso would set and were kept at start; the log names them; serve --update-streams sets hoso's.",
		}),
		removed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hoso_consumers_removed_total",
			Help: "Consumers of hoso's streams that no client may have (a push consumer, a source's outcome consumer filtered beyond its own outcomes) removed by the leader's guard.",
		}),
		blocks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hoso_source_blocks_total",
			Help: "Times a source went over its hourly quota of events (--source-quota-mib) and the embedded server refused its publishes until the hour ended.",
		}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hoso_config_last_reload_successful",
			Help: "1 if the last reload of the access file, TLS certificate, NATS users file and calendar year files (SIGHUP, and the calendar files at start) loaded every file, 0 if one failed and its previous version stayed in force; 1 before any reload.",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hoso_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last reload (SIGHUP) that loaded every file, or of the start.",
		}),
	}
	m.reloadOK.Set(1)
	m.reloadTime.SetToCurrentTime()
	m.reg.MustRegister(m.events, m.batch, m.apply, m.commit, m.applied, m.lagErrs, m.errs, m.drift, m.gaps, m.removed, m.streamDiffs, m.blocks, m.reloadOK, m.reloadTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hoso_relay_backlog",
			Help: "Outcomes the relay holds in memory, committed but not yet confirmed published (a subset of hoso_outbox_backlog).",
		}, func() float64 {
			if m.relay == nil {
				return 0
			}
			return float64(m.relay.Backlog())
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hoso_replica_leader",
			Help: "1 while this engine leads: publishes outcomes and runs the deadline scheduler (always, for an engine without --replica); 0 while it follows the replica that does.",
		}, func() float64 {
			if m.replica == nil || m.replica.Leader() {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hoso_sources_blocked",
			Help: "Sources whose publishes the embedded server refuses now, for going over their hourly quota (0 without --nats-users).",
		}, func() float64 {
			if m.quota == nil {
				return 0
			}
			return float64(len(m.quota.Blocked()))
		}),
		&storeCollector{m: m},
		&lagCollector{m: m},
	)
	return m
}

// watchReplica makes hoso_replica_leader report r's leadership; without
// a call (an engine alone) it reports 1. Call it before the handler
// serves.
func (m *metrics) watchReplica(r *events.Replica) { m.replica = r }

// watchQuota makes hoso_sources_blocked report q's blocked sources. Call
// it before the handler serves.
func (m *metrics) watchQuota(q *natsserver.Quota) { m.quota = q }

// watch gives the metrics what they read at scrape time. It must be
// called once, before the handler serves.
func (m *metrics) watch(db *store.DB, relay *events.Relay, cons jetstream.Consumer, log *slog.Logger) {
	m.db, m.relay, m.cons, m.log = db, relay, cons, log
}

func (m *metrics) observeBatch(r workflow.BatchResult, took time.Duration) {
	m.batch.Observe(float64(len(r.Outcomes) + r.Skipped))
	m.apply.Observe(took.Seconds())
	m.applied.Set(float64(r.LastSeq))
	for _, o := range r.Outcomes {
		m.events.WithLabelValues(string(o.Kind), string(o.Reason)).Inc()
	}
}

// observeApplyError is the consumer's OnError hook.
func (m *metrics) observeApplyError(error) { m.errs.Inc() }

// observeCommit is the store's OnCommit hook.
func (m *metrics) observeCommit(took time.Duration) { m.commit.Observe(took.Seconds()) }

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// storeCollector reports the store's counters at scrape time: one read
// transaction of the counts bucket, no scan.
type storeCollector struct{ m *metrics }

var (
	dossiersDesc = prometheus.NewDesc("hoso_dossiers", "Dossiers by national status code.", []string{"status"}, nil)
	overdueDesc  = prometheus.NewDesc("hoso_dossiers_overdue",
		"Dossiers overdue and in progress: in status 2 or 4, not terminal, flagged by a recorded deadline expiry.", nil, nil)
	outboxDesc = prometheus.NewDesc("hoso_outbox_backlog",
		"Outcomes in the store's outbox: committed, not yet confirmed published on NATS.", nil, nil)
	irregularDesc = prometheus.NewDesc("hoso_irregularities_total",
		"Irregularities recorded on accepted events, by kind (late_entry, late_apology, repeated_supplement), read from the store's counters.", []string{"kind"}, nil)
	lagDesc = prometheus.NewDesc("hoso_consumer_lag",
		"Events in the stream the engine has not yet applied and acked: the durable consumer's pending plus ack-pending messages, read from JetStream at scrape time.", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dossiersDesc
	ch <- overdueDesc
	ch <- outboxDesc
	ch <- irregularDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	if c.m.db == nil {
		return
	}
	counts, err := c.m.db.Counts(context.Background())
	if err != nil {
		for _, d := range []*prometheus.Desc{dossiersDesc, overdueDesc, outboxDesc, irregularDesc} {
			ch <- prometheus.NewInvalidMetric(d, err)
		}
		return
	}
	for s := workflow.StatusSubmitted; s <= workflow.MaxStatus; s++ {
		ch <- prometheus.MustNewConstMetric(dossiersDesc, prometheus.GaugeValue, float64(counts.ByStatus[s]), strconv.Itoa(int(s)))
	}
	ch <- prometheus.MustNewConstMetric(overdueDesc, prometheus.GaugeValue, float64(counts.Overdue))
	ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(counts.Outbox))
	// A counter: the store only adds irregularities (a store rebuilt from
	// the stream counts them again from zero, as a restart resets one).
	for _, k := range workflow.IrregularityKinds {
		ch <- prometheus.MustNewConstMetric(irregularDesc, prometheus.CounterValue, float64(counts.Irregularities[k]), string(k))
	}
}

// lagCollector asks JetStream for the consumer's info at scrape time. When
// it cannot within lagTimeout, the scrape goes on without the lag and
// hoso_consumer_lag_errors_total counts the failure.
type lagCollector struct{ m *metrics }

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- lagDesc }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	if c.m.cons == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), lagTimeout)
	defer cancel()
	info, err := c.m.cons.Info(ctx)
	if err != nil {
		c.m.lagErrs.Inc()
		if c.m.log != nil {
			c.m.log.Warn("consumer info for metrics", "err", err)
		}
		return
	}
	ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(info.NumPending)+float64(info.NumAckPending))
}

// calendarDesc is hoso_calendar_confirmed.
var calendarDesc = prometheus.NewDesc("hoso_calendar_confirmed",
	"1 if the working-day calendar of the year (this one and the next, in Vietnam) follows an official announcement, 0 if it is computed from the lunar calendar and its due dates may move.", []string{"year"}, nil)

// calendarCollector reports, at scrape time, whether this year's and next
// year's calendars are confirmed (workflow.Calendar.Confirmed) in the
// calendar in force.
type calendarCollector struct {
	cal func() *workflow.Calendar
	now func() time.Time
}

func (c *calendarCollector) Describe(ch chan<- *prometheus.Desc) { ch <- calendarDesc }

func (c *calendarCollector) Collect(ch chan<- prometheus.Metric) {
	year := c.now().In(workflow.Zone).Year()
	for y := year; y <= year+1; y++ {
		v := 0.0
		if c.cal().Confirmed(y) {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(calendarDesc, prometheus.GaugeValue, v, strconv.Itoa(y))
	}
}

// watchCalendar makes hoso_calendar_confirmed report the years of the
// calendar in force (cal) around the date now gives. Call it before the
// handler serves.
func (m *metrics) watchCalendar(cal func() *workflow.Calendar, now func() time.Time) {
	m.reg.MustRegister(&calendarCollector{cal: cal, now: now})
}

// observeReload records the result of a SIGHUP reload.
func (m *metrics) observeReload(err error) {
	if err != nil {
		m.reloadOK.Set(0)
		return
	}
	m.reloadOK.Set(1)
	m.reloadTime.SetToCurrentTime()
}
