package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/natsserver"
	"github.com/hoso-vn/hoso/public"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/web"
	"github.com/hoso-vn/hoso/workflow"
)

// Engine is hoso opened from a Config: its store, its NATS connection
// (and embedded server), its streams and durable consumer, the outbox
// relay, the deadline scheduler, the replica lease, the HTTP server and
// its listener. Open acquires them; Run runs them until its context ends
// and then releases them in the stop order of the package doc.
type Engine struct {
	cfg Config
	log *slog.Logger

	stopHUP  func()
	cat      *workflow.Catalog
	files    configFiles
	metrics  *metrics
	db       *store.DB
	embedded *natsserver.Server // nil with Config.NATSURL
	natsURL  string
	nc       *nats.Conn
	closed   chan struct{} // closed by the NATS connection's ClosedHandler
	js       jetstream.JetStream

	replica     *events.Replica // nil alone
	consumer    *events.Consumer
	relay       *events.Relay
	sched       *events.Scheduler // nil with Config.Deadlines 0
	guard       *events.Guard
	checkpoints *events.CheckpointPublisher // nil without a key
	feed        *web.Feed
	reload      *reloader

	ln      net.Listener
	httpSrv *http.Server

	// The public surface (Config.PublicAddr): nil without one.
	publicLn  net.Listener
	publicSrv *http.Server

	// undo releases, in reverse order, what Open acquired: the store,
	// the embedded server, the NATS connection.
	undo []func()
	ran  bool
}

// Run opens an engine from cfg and runs it until ctx ends: `hoso serve`.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	e, err := Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	return e.Run(ctx)
}

// Open loads the rules and the files cfg names, opens the store, starts
// the embedded NATS server (unless cfg.NATSURL) and connects to NATS,
// sets up the streams, the durable consumer and the replica lease, and
// listens for HTTP. Nothing runs yet: call Run, or Close to release what
// Open acquired. SIGHUP is noted from here on and acted on by Run.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (_ *Engine, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{cfg: cfg, log: log}
	hup, stopHUP := notifyHUP()
	e.undo = append(e.undo, stopHUP)
	defer func() {
		if err != nil {
			e.release()
		}
	}()
	if e.cat, err = cfg.Rules.Load(); err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if e.files, err = loadConfigFiles(cfg); err != nil {
		return nil, err
	}
	e.metrics = newMetrics()
	if e.db, err = store.Open(filepath.Join(cfg.DataDir, StoreFile), store.Options{Catalog: e.cat, Logger: log,
		OnCommit: e.metrics.observeCommit, BeforeCommit: cfg.BeforeCommit}); err != nil {
		return nil, err
	}
	e.undo = append(e.undo, func() { closeLogged(log, "store", e.db.Close) })
	if err := e.connect(); err != nil {
		return nil, err
	}
	if err := e.setup(ctx); err != nil {
		return nil, err
	}
	if err := e.listen(hup); err != nil {
		return nil, err
	}
	return e, nil
}

// connect starts the embedded server, unless the configuration names an
// external one, and connects to NATS.
func (e *Engine) connect() error {
	cfg, log := e.cfg, e.log
	e.natsURL = cfg.NATSURL
	var natsOpts []nats.Option // the engine's credentials
	if cfg.NATSUser != "" {
		natsOpts = append(natsOpts, nats.UserInfo(cfg.NATSUser, cfg.NATSPassword))
	}
	if cfg.NATSCreds != "" {
		natsOpts = append(natsOpts, nats.UserCredentials(cfg.NATSCreds))
	}
	natsOpts = append(natsOpts, events.TLSOptions(cfg.NATSCA, cfg.NATSCert, cfg.NATSKey)...)
	if e.natsURL == "" {
		always, every, _ := cfg.syncPolicy()
		port := cfg.NATSPort
		if port == 0 {
			port = -1 // nats-server's "any free port"
		}
		users := e.files.natsUsers
		var password string
		if len(users) > 0 {
			var err error
			if password, err = enginePassword(); err != nil {
				return err
			}
			natsOpts = append(natsOpts, nats.UserInfo(events.EngineUser, password))
		}
		srv, err := natsserver.StartServer(natsserver.ServerConfig{
			Dir: filepath.Join(cfg.DataDir, NATSDir), Host: cfg.NATSHost, Port: port,
			SyncInterval: every, SyncAlways: always, Logger: log,
			Users: users, EnginePassword: password,
		})
		if err != nil {
			return fmt.Errorf("start embedded NATS: %w", err)
		}
		e.undo = append(e.undo, srv.Shutdown)
		e.embedded = srv
		e.natsURL = srv.ClientURL()
		log.Info("embedded nats listening", "url", e.natsURL, "sync", cfg.NATSSync, "users", len(users))
	}
	e.closed = make(chan struct{})
	nc, err := nats.Connect(e.natsURL, append(natsOpts, nats.Name(events.ClientName), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true),
		nats.ClosedHandler(func(*nats.Conn) { close(e.closed) }),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("nats disconnected", "err", err) }),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "url", c.ConnectedUrlRedacted()) }))...)
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", events.RedactURL(e.natsURL), err)
	}
	e.nc = nc
	e.undo = append(e.undo, nc.Close)
	if e.js, err = jetstream.New(nc); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	return nil
}

// setup sets up the streams, the durable consumer, the replica lease and
// the checkpoints, and makes the parts that will run.
func (e *Engine) setup(ctx context.Context) error {
	cfg, log, m := e.cfg, e.log, e.metrics
	setupCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	streams := events.StreamConfig{MaxEventsPerDossier: cfg.MaxEventsPerDossier, DeadLettersPerSource: cfg.DeadLettersPerSource,
		Replicas: cfg.StreamReplicas, UpdateStreams: cfg.UpdateStreams, OnDifference: e.streamDifferences}
	if cfg.Replica != "" {
		streams.Consumer = events.ReplicaConsumer(cfg.Replica)
		var err error
		if e.replica, err = events.NewReplica(setupCtx, e.js, events.ReplicaConfig{Name: cfg.Replica, TTL: cfg.ReplicaLease, Streams: streams, Logger: log}); err != nil {
			return err
		}
	}
	cons, err := events.Setup(setupCtx, e.js, streams)
	if err != nil && !e.nc.IsConnected() {
		// The client retries in the background: say why it cannot
		// connect (a refused certificate, a wrong password) rather than
		// that the setup ran out of time.
		return fmt.Errorf("set up streams: not connected to NATS at %s: %v (%w)", events.RedactURL(e.natsURL), e.nc.LastError(), err)
	}
	if err != nil {
		return fmt.Errorf("set up streams: %w", err)
	}
	if e.checkpoints, err = newCheckpoints(ctx, cfg, e.js, e.db, streams, log); err != nil {
		return fmt.Errorf("set up checkpoints: %w", err)
	}
	e.feed = web.NewFeed(0)
	e.relay = events.NewRelay(e.js, e.db, log)
	applied, err := e.db.AppliedSeq()
	if err != nil {
		return err
	}
	e.consumer = events.NewConsumer(e.js, cons, e.db, e.relay, events.ConsumerConfig{
		MaxBatch: cfg.BatchMax, Logger: log, StartSeq: applied + 1,
		OnError: m.observeApplyError,
		OnDrift: func(string) { m.drift.Inc() },
		OnGap:   func(from, to uint64) { m.gaps.Add(float64(to - from + 1)) },
		OnBatch: func(r workflow.BatchResult, took time.Duration) {
			m.observeBatch(r, took)
			e.feed.Publish(r)
		},
	})
	m.watch(e.db, e.relay, cons, log)
	m.watchCalendar(e.calendar, e.now)
	if e.replica != nil {
		m.watchReplica(e.replica)
	}
	if err := e.startCalendar(setupCtx); err != nil {
		return fmt.Errorf("set up the calendar: %w", err)
	}
	if cfg.Deadlines > 0 {
		e.sched = events.NewScheduler(e.js, e.db, events.SchedulerConfig{Interval: cfg.Deadlines, Calendar: e.calendar,
			Now: cfg.Now, Periods: e.db, Logger: log})
	}
	e.guard = events.NewGuard(e.nc, e.js, events.GuardConfig{Logger: log,
		OnRemove: func(string, string, string) { m.removed.Inc() }})
	return nil
}

// streamDifferences logs how the streams hoso found differ from what it
// would set (events.StreamConfig.OnDifference), and counts what is kept.
func (e *Engine) streamDifferences(stream string, diffs []events.StreamDifference, updated bool) {
	text := make([]string, len(diffs))
	for i, d := range diffs {
		text[i] = d.String()
	}
	if updated {
		e.log.Info("stream configuration set to hoso's", "stream", stream, "was", strings.Join(text, "; "))
		return
	}
	e.metrics.streamDiffs.Add(float64(len(diffs)))
	e.log.Warn("stream configuration differs from hoso's; kept (serve --update-streams sets hoso's)", "stream", stream,
		"differences", strings.Join(text, "; "))
}

// listen makes the HTTP server and listens on its address.
func (e *Engine) listen(hup <-chan os.Signal) error {
	cfg, log := e.cfg, e.log
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	e.undo = append(e.undo, func() { ln.Close() })
	access, tlsCert := e.files.access, e.files.cert
	api := web.New(web.Config{
		Store: e.db, Admin: e.db, Catalog: e.cat, Calendar: e.calendar, Now: cfg.Now, Logger: log, Metrics: e.metrics.handler(), Feed: e.feed,
		Publisher: events.NewOutcomePublisher(e.js), Access: access, Replica: replicaState(cfg.Replica, e.replica),
		AnyIPHost: cfg.InsecureOpen, Rates: cfg.Rates,
		Ready: (&readiness{nc: e.nc, js: e.js, embedded: e.embedded, consumer: e.consumer,
			dataDir: cfg.DataDir, minFree: cfg.MinFreeMiB}).check,
	})
	// No ReadTimeout or WriteTimeout: the live feed and backups stream for
	// as long as they need (uploads are bounded in size instead). An idle
	// keep-alive connection is closed after two minutes, so that clients
	// that never close theirs do not pile up.
	e.httpSrv = &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	e.httpSrv.RegisterOnShutdown(e.feed.Close) // live feed streams never go idle by themselves
	e.reload = &reloader{hup: hup, cfg: cfg, api: api, nats: e.embedded, log: log, metrics: e.metrics,
		calendar: func(ctx context.Context) error { return e.syncCalendar(ctx, e.replica == nil || e.replica.Leader()) }}
	if tlsCert != nil {
		e.reload.cert.Store(tlsCert)
		e.httpSrv.TLSConfig = &tls.Config{GetCertificate: e.reload.getCertificate, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, e.httpSrv.TLSConfig)
	}
	e.ln = ln
	log.Info("http listening", "addr", ln.Addr().String(), "tls", tlsCert != nil, "access_control", access != nil)
	return e.listenPublic()
}

// listenPublic makes the public surface's server and listens on its
// address, when the configuration has one. It shares the store and the
// TLS certificate (reloaded with it) with the official server, nothing
// else: no handler, session, cookie or token.
func (e *Engine) listenPublic() error {
	cfg, log := e.cfg, e.log
	if cfg.PublicAddr == "" {
		return nil
	}
	pub, err := public.New(public.Config{Store: e.db, Settings: e.files.public, Rates: cfg.Rates, Now: cfg.Now, Logger: log,
		LookupKey: e.files.lookupKey})
	if err != nil {
		return err
	}
	e.reload.public = pub
	ln, err := net.Listen("tcp", cfg.PublicAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (public): %w", cfg.PublicAddr, err)
	}
	e.undo = append(e.undo, func() { ln.Close() })
	// Every public answer is short and computed at once: unlike the
	// official server's, reads and writes have deadlines, so that slow
	// clients on the internet hold no connection for long.
	e.publicSrv = &http.Server{Handler: pub, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if e.httpSrv.TLSConfig != nil {
		e.publicSrv.TLSConfig = &tls.Config{GetCertificate: e.reload.getCertificate, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, e.publicSrv.TLSConfig)
	}
	e.publicLn = ln
	log.Info("public listening", "addr", ln.Addr().String(), "tls", e.publicSrv.TLSConfig != nil,
		"withheld_agencies", len(e.files.public.Withhold.Agencies), "withheld_indicators", len(e.files.public.Withhold.Indicators),
		"lookup", e.files.lookupKey != nil)
	return nil
}

// PublicAddr is the address the public surface listens on; nil without
// one (Config.PublicAddr "").
func (e *Engine) PublicAddr() net.Addr {
	if e.publicLn == nil {
		return nil
	}
	return e.publicLn.Addr()
}

// HTTPAddr is the address the HTTP server listens on (its port chosen
// when Config.HTTPAddr's is 0).
func (e *Engine) HTTPAddr() net.Addr { return e.ln.Addr() }

// NATSURL is the client URL of the NATS server the engine uses: the
// embedded one's, or Config.NATSURL.
func (e *Engine) NATSURL() string { return e.natsURL }

// Reload re-reads the files that SIGHUP reloads (the access file, the
// TLS certificate and key, the NATS users file, the calendar year files)
// and puts in force each that loads; the error names each that did not.
// A calendar year file that differs from the calendar in force is
// published as a calendar event, which the engine applies in stream
// order: Reload returns once it is published, not applied.
func (e *Engine) Reload() error { return e.reload.reload() }

// calendar returns the calendar in force: the store's.
func (e *Engine) calendar() *workflow.Calendar { return e.db.Catalog().Calendar() }

// Close releases what Open acquired, for an engine that is not Run.
func (e *Engine) Close() {
	if !e.ran {
		e.release()
	}
}

// release runs the undo stack, newest first.
func (e *Engine) release() {
	for _, f := range slices.Backward(e.undo) {
		f()
	}
	e.undo = nil
}

// Run runs the engine until ctx ends or a part fails, then shuts it down
// in order: the HTTP servers (public, then official), deadline scheduler, guard, consumer, outbox
// relay (or consumer, then replica), reloader, NATS connection (drained),
// embedded server, store. An engine runs once.
func (e *Engine) Run(ctx context.Context) error {
	if e.ran {
		return errors.New("engine: Run called twice")
	}
	e.ran = true
	defer e.release()
	cfg, log, m := e.cfg, e.log, e.metrics

	// Each part runs under its own context so they stop one after the other.
	errc := make(chan error, 4)
	var stages []*stage
	run := func(name string, f func(context.Context) error) {
		stages = append(stages, startStage(ctx, name, f, errc))
	}
	if e.replica == nil {
		// The calendar files may differ from the calendar in force: a year
		// announced while the engine was stopped.
		if err := e.syncCalendar(ctx, true); err != nil {
			log.Error("calendar not published; the calendar in force stays", "err", err)
			m.observeReload(err)
		}
		if e.sched != nil {
			run("scheduler", e.sched.Run)
		}
		run("guard", e.guard.Run)
		run("consumer", e.consumer.Run)
		run("relay", e.relay.Run)
		if e.checkpoints != nil { // after the consumer: the last checkpoint covers all it applied
			run("checkpoints", e.checkpoints.Run)
		}
	} else {
		// The leader publishes and schedules; a follower marks what the
		// leader published. The consumer stops first, then the replica.
		e.relay.SetOnMark(func(ctx context.Context, seq uint64) {
			if err := e.replica.SetPublished(ctx, seq); err != nil {
				log.Warn("record published outcomes for the other replicas", "err", err)
			}
		})
		run("consumer", e.consumer.Run)
		run("replica", func(ctx context.Context) error { return e.replica.Run(ctx, e.lead, e.follow) })
	}
	run("reloader", e.reload.run)
	if e.embedded != nil {
		run("jetstream", func(ctx context.Context) error { return e.embedded.KeepJetStream(ctx, jetStreamRetry, log) })
		if len(e.files.natsUsers) > 0 && cfg.SourceQuotaMiB > 0 {
			quota := natsserver.NewQuota(e.embedded, e.nc, natsserver.QuotaConfig{MaxBytes: int64(cfg.SourceQuotaMiB) << 20, Logger: log,
				OnBlock: func(_ string, until time.Time) {
					if !until.IsZero() {
						m.blocks.Inc()
					}
				}})
			m.watchQuota(quota)
			run("quota", quota.Run)
		}
	}
	httpDone := make(chan struct{})
	go func() {
		defer close(httpDone)
		if err := e.httpSrv.Serve(e.ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	publicDone := make(chan struct{})
	if e.publicSrv != nil {
		go func() {
			defer close(publicDone)
			if err := e.publicSrv.Serve(e.publicLn); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("public http: %w", err)
			}
		}()
	} else {
		close(publicDone)
	}
	log.Info("hoso started", "data_dir", cfg.DataDir, "definitions", len(e.cat.Definitions()))

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-errc:
		log.Error("stopping after failure", "err", runErr)
	}
	shutCtx, cancelShut := context.WithTimeout(context.Background(), cfg.Shutdown)
	defer cancelShut()
	if e.publicSrv != nil {
		if err := e.publicSrv.Shutdown(shutCtx); err != nil {
			log.Warn("public http shutdown", "err", err)
		}
	}
	<-publicDone
	if err := e.httpSrv.Shutdown(shutCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	<-httpDone
	for _, st := range stages { // in the order started
		st.stop()
	}
	if err := e.nc.Drain(); err != nil {
		log.Warn("nats drain", "err", err)
	}
	select {
	case <-e.closed:
	case <-shutCtx.Done():
		log.Warn("nats drain timed out")
	}
	// The deferred release closes the embedded server, then the store.
	log.Info("stopped")
	return runErr
}

// lead is what a replica runs while it leads: the guard, the scheduler,
// the checkpoints and the relay, until ctx ends.
func (e *Engine) lead(ctx context.Context) {
	if err := e.syncCalendar(ctx, true); err != nil && ctx.Err() == nil {
		e.log.Error("calendar not published; the calendar in force stays", "err", err)
		e.metrics.observeReload(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = e.guard.Run(ctx) }) // logs its failures; returns nil
	if e.sched != nil {
		wg.Go(func() {
			if err := e.sched.Run(ctx); err != nil {
				e.log.Error("scheduler", "err", err)
			}
		})
	}
	if e.checkpoints != nil {
		wg.Go(func() { _ = e.checkpoints.Run(ctx) }) // logs its failures; returns nil
	}
	if err := e.relay.Run(ctx); err != nil {
		e.log.Error("relay", "err", err)
	}
	wg.Wait()
}

// follow is what a replica runs while another leads: it marks what the
// leader published.
func (e *Engine) follow(ctx context.Context) { e.replica.Follow(ctx, e.db, time.Second) }

// replicaState is web.Config.Replica for a replica; nil for an engine
// alone.
func replicaState(name string, r *events.Replica) func() (string, bool) {
	if r == nil {
		return nil
	}
	return func() (string, bool) { return name, r.Leader() }
}

// closeLogged closes something at shutdown and logs a failure.
func closeLogged(log *slog.Logger, what string, close func() error) {
	if err := close(); err != nil {
		log.Error("close "+what, "err", err)
	}
}

// stage is a part of the engine running in its own goroutine until
// stopped.
type stage struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startStage runs f under a context of its own (keeping ctx's values, not
// its cancellation) and reports its error on errc.
func startStage(ctx context.Context, name string, f func(context.Context) error, errc chan<- error) *stage {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	st := &stage{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(st.done)
		if err := f(sctx); err != nil {
			errc <- fmt.Errorf("%s: %w", name, err)
		}
	}()
	return st
}

// stop cancels the stage and waits for it to return.
func (st *stage) stop() {
	st.cancel()
	<-st.done
}
