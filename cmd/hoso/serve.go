package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/web"
	"github.com/hoso-vn/hoso/workflow"
)

// ServeConfig is the configuration of `hoso serve`. Flags override
// environment variables (HOSO_…), which override the defaults.
type ServeConfig struct {
	DataDir   string        // store file and embedded JetStream storage; default ./data
	HTTPAddr  string        // HTTP listen address; default 127.0.0.1:8080
	NATSURL   string        // external NATS server; "" starts the embedded one
	NATSHost  string        // embedded server's client host; default 127.0.0.1
	NATSPort  int           // embedded server's client port; default 4222, 0 picks a free one
	NATSSync  string        // embedded JetStream fsync policy: "always" or an interval such as "2m" (default)
	Rules     RulesConfig   // definitions and calendar
	Deadlines time.Duration // how often the deadline scheduler scans; 0 turns it off
	BatchMax  int           // most events applied in one transaction; default events.DefaultMaxBatch
	// MaxEventsPerDossier is the most events HOSO_EVENTS takes on one
	// subject (one source, one dossier); default
	// events.DefaultMaxEventsPerDossier. DeadLettersPerSource is the most
	// dead letters kept of one source; default
	// events.DefaultDeadLettersPerSource.
	MaxEventsPerDossier  int64
	DeadLettersPerSource int64
	// SourceQuotaMiB is the most each source of the embedded server's
	// users file may publish on its event subjects in an hour, in MiB;
	// past it the server refuses its events until the hour ends (see
	// events.Quota). Default 64; 0 turns the quota off. It needs
	// --nats-users.
	SourceQuotaMiB int
	// MinFreeMiB is the free space, in MiB, that the data directory's
	// filesystem must keep for serve to be ready (/readyz); default 100,
	// 0 turns the check off. The embedded JetStream and the store write
	// there: a full disk refuses every publish.
	MinFreeMiB int
	LogLevel   string        // debug, info, warn or error; default info
	LogFormat  string        // text or json; default text
	Shutdown   time.Duration // how long a clean shutdown may take; default 15s
	// Access is the HTTP access file (users, token hashes, roles); ""
	// leaves the API open, allowed only on a loopback HTTPAddr unless
	// InsecureOpen.
	Access       string
	InsecureOpen bool   // serve without an access file on any address
	TLSCert      string // PEM certificate chain for HTTPS; "" serves plain HTTP
	TLSKey       string // PEM private key of TLSCert
	// NATSUsers is the embedded server's users file (sources and
	// supervisors, see events.ParseUsers); "" leaves the embedded server
	// open to any client on NATSHost.
	NATSUsers string
	// Replica names this engine among several that apply the same stream
	// from one NATS deployment (--nats-url), each into its own store: it
	// consumes through a consumer of its own, and only the leader among
	// them publishes outcomes and runs the deadline scheduler. "" runs
	// alone.
	Replica string
	// ReplicaLease is how long the leader's lease lasts without renewal:
	// a stopped leader is replaced within it. Default 10s.
	ReplicaLease time.Duration
	// CheckpointKey is the ed25519 private key (PEM, PKCS#8, mode 0600 or
	// stricter) that signs the checkpoints the leader publishes to
	// HOSO_CHECKPOINTS every CheckpointInterval (0 turns them off;
	// default 10m); "" publishes none.
	CheckpointKey      string
	CheckpointInterval time.Duration
	// Check makes serve load and check the files above and exit
	// (--check) instead of starting.
	Check bool

	// beforeCommit is store.Options.BeforeCommit: a fault-injection hook
	// that only tests set (no flag); nil in production.
	beforeCommit func() error
}

// Files of the data directory (ServeConfig.DataDir).
const (
	storeFile = "hoso.db" // the store
	natsDir   = "nats"    // the embedded JetStream's files
)

// DefaultServeConfig returns the defaults of `hoso serve`.
func DefaultServeConfig() ServeConfig {
	return ServeConfig{
		DataDir:        "data",
		HTTPAddr:       "127.0.0.1:8080",
		NATSHost:       "127.0.0.1",
		NATSPort:       4222,
		NATSSync:       "2m",
		BatchMax:       events.DefaultMaxBatch,
		LogLevel:       "info",
		LogFormat:      "text",
		Shutdown:       15 * time.Second,
		Rules:          DefaultRulesConfig(),
		Deadlines:      events.DefaultSchedulerInterval,
		MinFreeMiB:     defaultMinFreeMiB,
		SourceQuotaMiB: defaultSourceQuotaMiB,

		MaxEventsPerDossier:  events.DefaultMaxEventsPerDossier,
		DeadLettersPerSource: events.DefaultDeadLettersPerSource,

		CheckpointInterval: defaultCheckpointInterval,
	}
}

// Validate checks the configuration and reports every problem at once.
func (c *ServeConfig) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir: must not be empty"))
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("http addr %q: %w", c.HTTPAddr, err))
	}
	if c.NATSURL == "" && (c.NATSPort < 0 || c.NATSPort > 65535) {
		errs = append(errs, fmt.Errorf("nats port %d: must be 0–65535", c.NATSPort))
	}
	if _, _, err := c.syncPolicy(); err != nil {
		errs = append(errs, err)
	}
	if err := checkBatchMax(c.BatchMax); err != nil {
		errs = append(errs, err)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log format %q: must be text or json", c.LogFormat))
	}
	if c.Shutdown <= 0 {
		errs = append(errs, fmt.Errorf("shutdown timeout %s: must be positive", c.Shutdown))
	}
	if _, err := c.Rules.calendarConfig(); err != nil {
		errs = append(errs, err)
	}
	if c.Replica != "" && !replicaName.MatchString(c.Replica) {
		errs = append(errs, fmt.Errorf("replica %q: 1–32 lowercase letters, digits, - or _", c.Replica))
	}
	if c.Replica != "" && c.ReplicaLease < time.Second {
		errs = append(errs, fmt.Errorf("replica lease %s: at least 1s", c.ReplicaLease))
	}
	if c.Replica != "" && c.NATSURL == "" {
		errs = append(errs, errors.New("replica: replicas share one NATS deployment; give its --nats-url (an embedded server is each engine's own)"))
	}
	if c.MaxEventsPerDossier < 1 {
		errs = append(errs, fmt.Errorf("max events per dossier %d: must be at least 1", c.MaxEventsPerDossier))
	}
	if c.DeadLettersPerSource < 1 {
		errs = append(errs, fmt.Errorf("dead letters per source %d: must be at least 1", c.DeadLettersPerSource))
	}
	if c.SourceQuotaMiB < 0 {
		errs = append(errs, fmt.Errorf("source quota %d MiB: must not be negative", c.SourceQuotaMiB))
	}
	if c.MinFreeMiB < 0 {
		errs = append(errs, fmt.Errorf("min free MiB %d: must not be negative", c.MinFreeMiB))
	}
	if c.Deadlines < 0 {
		errs = append(errs, fmt.Errorf("deadline interval %s: must not be negative", c.Deadlines))
	}
	if c.CheckpointInterval < 0 {
		errs = append(errs, fmt.Errorf("checkpoint interval %s: must not be negative", c.CheckpointInterval))
	}
	errs = append(errs, c.validateAccess()...)
	return errors.Join(errs...)
}

func (c *ServeConfig) syncPolicy() (always bool, every time.Duration, err error) {
	if c.NATSSync == "always" {
		return true, 0, nil
	}
	d, err := time.ParseDuration(c.NATSSync)
	if err != nil || d <= 0 {
		return false, 0, fmt.Errorf("nats sync %q: must be \"always\" or a positive interval such as 2m", c.NATSSync)
	}
	return false, d, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level %q: must be debug, info, warn or error", s)
	}
	return l, nil
}

// replicaName is the form of --replica: a token of consumer names.
var replicaName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// serveCommand runs the engine.
type serveCommand struct{ env }

// parseServe reads serve's configuration from its arguments and the
// environment (getenv), flags first, and validates it.
func parseServe(args []string, getenv func(string) string, stderr io.Writer) (ServeConfig, error) {
	cfg := DefaultServeConfig()
	fs := newFlagSet("serve", "serve [flags]", stderr)
	ev := envValues{getenv: getenv}
	fs.StringVar(&cfg.DataDir, "data-dir", envOr(getenv, "HOSO_DATA_DIR", cfg.DataDir), "directory of the store (hoso.db) and the embedded JetStream files (env HOSO_DATA_DIR)")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", envOr(getenv, "HOSO_HTTP_ADDR", cfg.HTTPAddr), "HTTP listen address of the API (env HOSO_HTTP_ADDR)")
	fs.StringVar(&cfg.NATSURL, "nats-url", envOr(getenv, "HOSO_NATS_URL", ""), "use this NATS server instead of starting the embedded one (env HOSO_NATS_URL)")
	fs.StringVar(&cfg.NATSHost, "nats-host", envOr(getenv, "HOSO_NATS_HOST", cfg.NATSHost), "client host of the embedded NATS server (env HOSO_NATS_HOST)")
	fs.IntVar(&cfg.NATSPort, "nats-port", ev.int("nats-port", "HOSO_NATS_PORT", cfg.NATSPort), "client port of the embedded NATS server, 0 for any free port (env HOSO_NATS_PORT)")
	fs.StringVar(&cfg.NATSSync, "nats-sync", envOr(getenv, "HOSO_NATS_SYNC", cfg.NATSSync), "embedded JetStream fsync: \"always\" (every message, survives an OS crash) or an interval (env HOSO_NATS_SYNC)")
	cfg.Rules.addFlags(fs, getenv)
	fs.DurationVar(&cfg.Deadlines, "deadline-interval", ev.duration("deadline-interval", "HOSO_DEADLINE_INTERVAL", cfg.Deadlines), "how often to look for deadline warnings and expiries; 0 turns the scheduler off (env HOSO_DEADLINE_INTERVAL)")
	addBatchMaxFlag(fs, &cfg.BatchMax, &ev)
	fs.Int64Var(&cfg.MaxEventsPerDossier, "max-events-per-dossier", int64(ev.int("max-events-per-dossier", "HOSO_MAX_EVENTS_PER_DOSSIER", int(cfg.MaxEventsPerDossier))), "most events the log takes on one subject, one source's events about one dossier; a publish beyond is refused (env HOSO_MAX_EVENTS_PER_DOSSIER)")
	fs.Int64Var(&cfg.DeadLettersPerSource, "deadletters-per-source", int64(ev.int("deadletters-per-source", "HOSO_DEADLETTERS_PER_SOURCE", int(cfg.DeadLettersPerSource))), "most dead letters kept of one source, its oldest going first (env HOSO_DEADLETTERS_PER_SOURCE)")
	fs.IntVar(&cfg.SourceQuotaMiB, "source-quota-mib", ev.int("source-quota-mib", "HOSO_SOURCE_QUOTA_MIB", cfg.SourceQuotaMiB), "with --nats-users: the most MiB of events each source may publish in an hour; past it its publishes are refused until the hour ends; 0 for no quota (env HOSO_SOURCE_QUOTA_MIB)")
	fs.IntVar(&cfg.MinFreeMiB, "min-free-mib", ev.int("min-free-mib", "HOSO_MIN_FREE_MIB", cfg.MinFreeMiB), "free space (MiB) the data directory's filesystem must keep for serve to be ready, 0 for no check (env HOSO_MIN_FREE_MIB)")
	fs.StringVar(&cfg.LogLevel, "log-level", envOr(getenv, "HOSO_LOG_LEVEL", cfg.LogLevel), "debug, info, warn or error (env HOSO_LOG_LEVEL)")
	fs.StringVar(&cfg.LogFormat, "log-format", envOr(getenv, "HOSO_LOG_FORMAT", cfg.LogFormat), "text or json (env HOSO_LOG_FORMAT)")
	fs.DurationVar(&cfg.Shutdown, "shutdown-timeout", cfg.Shutdown, "how long a clean shutdown may take")
	fs.StringVar(&cfg.Access, "access", envOr(getenv, "HOSO_ACCESS", ""), "access file of HTTP users, token hashes and roles, read again on SIGHUP; without it the API is open and must listen on loopback (env HOSO_ACCESS)")
	fs.StringVar(&cfg.NATSUsers, "nats-users", envOr(getenv, "HOSO_NATS_USERS", ""), "users file of the embedded NATS server: each source may publish and read only its own subjects (env HOSO_NATS_USERS)")
	fs.BoolVar(&cfg.InsecureOpen, "insecure-open", false, "serve without an access file on a non-loopback address: anyone who can connect reads everything (requests are answered by IP address, never by another name than localhost)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", envOr(getenv, "HOSO_TLS_CERT", ""), "PEM certificate (chain) to serve HTTPS, read again with its key on SIGHUP (env HOSO_TLS_CERT)")
	fs.StringVar(&cfg.TLSKey, "tls-key", envOr(getenv, "HOSO_TLS_KEY", ""), "PEM private key of --tls-cert (env HOSO_TLS_KEY)")
	fs.StringVar(&cfg.Replica, "replica", envOr(getenv, "HOSO_REPLICA", ""), "run as the replica of this name among engines sharing --nats-url, each with its own store; one leads (publishes outcomes, runs the scheduler) (env HOSO_REPLICA)")
	fs.DurationVar(&cfg.ReplicaLease, "replica-lease", ev.duration("replica-lease", "HOSO_REPLICA_LEASE", events.DefaultLeaseTTL), "with --replica: how long the leader's lease lasts unrenewed; a stopped leader is replaced within it (env HOSO_REPLICA_LEASE)")
	fs.StringVar(&cfg.CheckpointKey, "checkpoint-key", envOr(getenv, "HOSO_CHECKPOINT_KEY", ""), "ed25519 private key (PEM, PKCS#8, mode 0600) signing the checkpoints published to HOSO_CHECKPOINTS; without it the store's tamper evidence has no anchor outside its file (env HOSO_CHECKPOINT_KEY)")
	fs.DurationVar(&cfg.CheckpointInterval, "checkpoint-interval", ev.duration("checkpoint-interval", "HOSO_CHECKPOINT_INTERVAL", cfg.CheckpointInterval), "how often the leader publishes a signed checkpoint when the applied sequence moved, and once at shutdown; 0 turns them off (env HOSO_CHECKPOINT_INTERVAL)")
	fs.BoolVar(&cfg.Check, "check", false, "check the configuration and the files it names (definitions, calendar, access file, TLS certificate and key, NATS users file, checkpoint key), print what serve would use, and exit without starting")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("serve: unexpected arguments %q", fs.Args())
	}
	if err := ev.check(fs); err != nil {
		return cfg, fmt.Errorf("serve: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("serve: %w", err)
	}
	return cfg, nil
}

func (c *serveCommand) Run(ctx context.Context, args []string) error {
	cfg, err := parseServe(args, c.getenv, c.stderr)
	if err != nil {
		return err
	}
	if cfg.Check {
		return checkServe(cfg, c.stdout)
	}
	level, _ := parseLevel(cfg.LogLevel)
	var h slog.Handler = slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level})
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(c.stderr, &slog.HandlerOptions{Level: level})
	}
	setGC(c.getenv)
	return serve(ctx, cfg, slog.New(h))
}

// The garbage collector's settings of serve, unless GOGC or GOMEMLIMIT
// are set. The engine's live heap is small (tens of MB) and it allocates
// fast while applying, so Go's default GOGC of 100 collects many times a
// second; at 400 the heap may grow to five times the live heap between
// collections, and the p50 latency at 10,000 events/s roughly halves
// (docs/performance.md). The soft limit makes collections more frequent
// again when the heap nears it (draining a backlog in large batches), so
// that memory stays bounded.
const (
	serveGCPercent   = 400
	serveMemoryLimit = 256 << 20
)

// setGC applies serveGCPercent and serveMemoryLimit where the environment
// does not set them.
func setGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
}

// envValues reads the environment variables behind flags that are not
// strings. A value that does not parse is an error, unless its flag is
// given on the command line and overrides it.
type envValues struct {
	getenv func(string) string
	bad    map[string]error // by flag name
}

// envValue returns the variable key parsed, def when it is unset, and
// def with an error recorded for flagName when it does not parse.
func envValue[T any](e *envValues, flagName, key string, def T, parse func(string) (T, error), want string) T {
	v := e.getenv(key)
	if v == "" {
		return def
	}
	x, err := parse(v)
	if err != nil {
		if e.bad == nil {
			e.bad = map[string]error{}
		}
		e.bad[flagName] = fmt.Errorf("environment %s=%q: not %s", key, v, want)
		return def
	}
	return x
}

func (e *envValues) int(flagName, key string, def int) int {
	return envValue(e, flagName, key, def, strconv.Atoi, "a whole number")
}

func (e *envValues) duration(flagName, key string, def time.Duration) time.Duration {
	return envValue(e, flagName, key, def, time.ParseDuration, "a duration such as 30s or 2m")
}

// check returns the errors of the values whose flags fs was not given.
func (e *envValues) check(fs *flag.FlagSet) error {
	fs.Visit(func(f *flag.Flag) { delete(e.bad, f.Name) })
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(e.bad)) {
		errs = append(errs, e.bad[name])
	}
	return errors.Join(errs...)
}

// checkServe loads what serve would load at start, and reload on SIGHUP,
// from cfg, without opening the store or NATS (a running serve holds
// them), and prints a summary: `hoso serve --check` before a restart or a
// reload.
func checkServe(cfg ServeConfig, w io.Writer) error {
	var errs []error
	cat, err := cfg.Rules.load()
	if err != nil {
		errs = append(errs, fmt.Errorf("rules: %w", err))
	} else {
		fmt.Fprintf(w, "rules: %d definitions, calendar %s, work hours %s, cut-off %s\n", len(cat.Definitions()),
			cmp.Or(cfg.Rules.Calendar, "(shipped)"), cfg.Rules.WorkHours, cfg.Rules.CutOff)
	}
	files, err := loadConfigFiles(cfg)
	if err != nil {
		errs = append(errs, err)
	}
	switch {
	case files.access != nil:
		fmt.Fprintf(w, "access file %s: %s\n", cfg.Access, plural(len(files.access.Users()), "user"))
	case cfg.Access == "":
		fmt.Fprintf(w, "access: open (no access file), HTTP on %s\n", cfg.HTTPAddr)
	}
	if c := files.cert; c != nil {
		fmt.Fprintf(w, "TLS certificate %s: %s, valid until %s\n", cfg.TLSCert, c.Leaf.Subject.CommonName, c.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if files.natsUsers != nil {
		fmt.Fprintf(w, "nats users file %s: %s\n", cfg.NATSUsers, plural(len(files.natsUsers), "user"))
	}
	if cfg.Replica != "" {
		fmt.Fprintf(w, "replica %s of the engines sharing %s, consumer %s, lease %s\n", cfg.Replica, redactURL(cfg.NATSURL),
			events.ReplicaConsumer(cfg.Replica), cfg.ReplicaLease)
	}
	if err := checkCheckpointKey(cfg, w); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("serve --check: %w", err)
	}
	fmt.Fprintln(w, "configuration OK")
	return nil
}

// replicaState is web.Config.Replica for a replica; nil for an engine
// alone.
func replicaState(name string, r *events.Replica) func() (string, bool) {
	if r == nil {
		return nil
	}
	return func() (string, bool) { return name, r.Leader() }
}

// plural returns "1 user", "2 users".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// serve runs hoso until ctx ends, then shuts it down in order: HTTP server,
// deadline scheduler, consumer, outbox relay, NATS connection, embedded
// server, store.
func serve(ctx context.Context, cfg ServeConfig, log *slog.Logger) error {
	hup, stopHUP := notifyHUP()
	defer stopHUP()
	cat, err := cfg.Rules.load()
	if err != nil {
		return fmt.Errorf("load rules: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	files, err := loadConfigFiles(cfg)
	if err != nil {
		return err
	}
	access, tlsCert := files.access, files.cert
	m := newMetrics()
	db, err := store.Open(filepath.Join(cfg.DataDir, storeFile), store.Options{Catalog: cat, Logger: log, OnCommit: m.observeCommit, BeforeCommit: cfg.beforeCommit})
	if err != nil {
		return err
	}
	defer closeLogged(log, "store", db.Close)

	url := cfg.NATSURL
	var natsOpts []nats.Option // the engine's credentials on the embedded server
	var embedded *events.Server
	if url == "" {
		always, every, _ := cfg.syncPolicy()
		port := cfg.NATSPort
		if port == 0 {
			port = -1 // nats-server's "any free port"
		}
		users := files.natsUsers
		var password string
		if len(users) > 0 {
			if password, err = enginePassword(); err != nil {
				return err
			}
			natsOpts = append(natsOpts, nats.UserInfo(events.EngineUser, password))
		}
		srv, err := events.StartServer(events.ServerConfig{
			Dir: filepath.Join(cfg.DataDir, natsDir), Host: cfg.NATSHost, Port: port,
			SyncInterval: every, SyncAlways: always, Logger: log,
			Users: users, EnginePassword: password,
		})
		if err != nil {
			return fmt.Errorf("start embedded NATS: %w", err)
		}
		defer srv.Shutdown()
		embedded = srv
		url = srv.ClientURL()
		log.Info("embedded nats listening", "url", url, "sync", cfg.NATSSync, "users", len(users))
	}

	closed := make(chan struct{})
	nc, err := nats.Connect(url, append(natsOpts, nats.Name("hoso"), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("nats disconnected", "err", err) }),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "url", c.ConnectedUrlRedacted()) }))...)
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", redactURL(url), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	setupCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	streams := events.StreamConfig{MaxEventsPerDossier: cfg.MaxEventsPerDossier, DeadLettersPerSource: cfg.DeadLettersPerSource}
	var replica *events.Replica
	if cfg.Replica != "" {
		streams.Consumer = events.ReplicaConsumer(cfg.Replica)
		if replica, err = events.NewReplica(setupCtx, js, cfg.Replica, cfg.ReplicaLease, log); err != nil {
			cancel()
			return err
		}
	}
	cons, err := events.Setup(setupCtx, js, streams)
	cancel()
	if err != nil {
		return fmt.Errorf("set up streams: %w", err)
	}
	checkpoints, err := newCheckpoints(ctx, cfg, js, db, log)
	if err != nil {
		return fmt.Errorf("set up checkpoints: %w", err)
	}

	feed := web.NewFeed(0)
	relay := events.NewRelay(js, db, log)
	applied, err := db.AppliedSeq()
	if err != nil {
		return err
	}
	consumer := events.NewConsumer(js, cons, db, relay, events.ConsumerConfig{
		MaxBatch: cfg.BatchMax, Logger: log, StartSeq: applied + 1,
		OnError: m.observeApplyError,
		OnDrift: func(string) { m.drift.Inc() },
		OnGap:   func(from, to uint64) { m.gaps.Add(float64(to - from + 1)) },
		OnBatch: func(r workflow.BatchResult, took time.Duration) {
			m.observeBatch(r, took)
			feed.Publish(r)
		},
	})
	m.watch(db, relay, cons, log)
	if replica != nil {
		m.watchReplica(replica)
	}

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	api := web.New(web.Config{
		Store: db, Admin: db, Catalog: cat, Logger: log, Metrics: m.handler(), Feed: feed,
		Publisher: events.NewOutcomePublisher(js), Access: access, Replica: replicaState(cfg.Replica, replica),
		AnyIPHost: cfg.InsecureOpen,
		Ready:     (&readiness{nc: nc, js: js, embedded: embedded, consumer: consumer, dataDir: cfg.DataDir, minFree: cfg.MinFreeMiB}).check,
	})
	// No ReadTimeout or WriteTimeout: the live feed and backups stream for
	// as long as they need (uploads are bounded in size instead). An idle
	// keep-alive connection is closed after two minutes, so that clients
	// that never close theirs do not pile up.
	httpSrv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	httpSrv.RegisterOnShutdown(feed.Close) // live feed streams never go idle by themselves
	reload := &reloader{hup: hup, cfg: cfg, api: api, nats: embedded, log: log, metrics: m}
	if tlsCert != nil {
		reload.cert.Store(tlsCert)
		httpSrv.TLSConfig = &tls.Config{GetCertificate: reload.getCertificate, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, httpSrv.TLSConfig)
	}
	log.Info("http listening", "addr", ln.Addr().String(), "tls", tlsCert != nil, "access_control", access != nil)

	// Each part runs under its own context so they stop one after the other.
	errc := make(chan error, 4)
	var stages []*stage
	run := func(name string, f func(context.Context) error) {
		stages = append(stages, startStage(ctx, name, f, errc))
	}
	var sched *events.Scheduler
	if cfg.Deadlines > 0 {
		sched = events.NewScheduler(js, db, events.SchedulerConfig{Interval: cfg.Deadlines, Calendar: cat.Calendar(), Logger: log})
	}
	guard := events.NewGuard(nc, js, events.GuardConfig{Logger: log,
		OnRemove: func(string, string, string) { m.removed.Inc() }})
	if replica == nil {
		if sched != nil {
			run("scheduler", sched.Run)
		}
		run("guard", guard.Run)
		run("consumer", consumer.Run)
		run("relay", relay.Run)
		if checkpoints != nil { // after the consumer: the last checkpoint covers all it applied
			run("checkpoints", checkpoints.Run)
		}
	} else {
		// The leader publishes and schedules; a follower marks what the
		// leader published. The consumer stops first, then the replica.
		relay.SetOnMark(func(ctx context.Context, seq uint64) {
			if err := replica.SetPublished(ctx, seq); err != nil {
				log.Warn("record published outcomes for the other replicas", "err", err)
			}
		})
		lead := func(ctx context.Context) {
			var wg sync.WaitGroup
			wg.Go(func() { _ = guard.Run(ctx) }) // logs its failures; returns nil
			if sched != nil {
				wg.Go(func() {
					if err := sched.Run(ctx); err != nil {
						log.Error("scheduler", "err", err)
					}
				})
			}
			if checkpoints != nil {
				wg.Go(func() { _ = checkpoints.Run(ctx) }) // logs its failures; returns nil
			}
			if err := relay.Run(ctx); err != nil {
				log.Error("relay", "err", err)
			}
			wg.Wait()
		}
		follow := func(ctx context.Context) { replica.Follow(ctx, db, time.Second) }
		run("consumer", consumer.Run)
		run("replica", func(ctx context.Context) error { return replica.Run(ctx, lead, follow) })
	}
	run("reloader", reload.run)
	if embedded != nil {
		run("jetstream", func(ctx context.Context) error { return embedded.KeepJetStream(ctx, jetStreamRetry, log) })
		if len(files.natsUsers) > 0 && cfg.SourceQuotaMiB > 0 {
			quota := events.NewQuota(embedded, nc, events.QuotaConfig{MaxBytes: int64(cfg.SourceQuotaMiB) << 20, Logger: log,
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
		if err := httpSrv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	log.Info("hoso started", "data_dir", cfg.DataDir, "definitions", len(cat.Definitions()))

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-errc:
		log.Error("stopping after failure", "err", runErr)
	}
	shutCtx, cancelShut := context.WithTimeout(context.Background(), cfg.Shutdown)
	defer cancelShut()
	if err := httpSrv.Shutdown(shutCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	<-httpDone
	for _, st := range stages { // scheduler, guard, consumer, relay (or consumer, replica), reloader: in the order started
		st.stop()
	}
	if err := nc.Drain(); err != nil {
		log.Warn("nats drain", "err", err)
	}
	select {
	case <-closed:
	case <-shutCtx.Done():
		log.Warn("nats drain timed out")
	}
	// The deferred calls close the embedded server, then the store.
	log.Info("stopped")
	return runErr
}

// maxBatchMax is the largest --batch-max: a batch is one store
// transaction, held in memory whole.
const maxBatchMax = 10000

// addBatchMaxFlag registers --batch-max (env HOSO_BATCH_MAX) on fs, the
// one batch flag of the commands that apply the stream (serve, rebuild).
func addBatchMaxFlag(fs *flag.FlagSet, v *int, ev *envValues) {
	fs.IntVar(v, "batch-max", ev.int("batch-max", "HOSO_BATCH_MAX", *v), fmt.Sprintf("most events applied in one store transaction, 1–%d (env HOSO_BATCH_MAX)", maxBatchMax))
}

// checkBatchMax checks a --batch-max.
func checkBatchMax(n int) error {
	if n < 1 || n > maxBatchMax {
		return fmt.Errorf("batch max %d: must be 1–%d", n, maxBatchMax)
	}
	return nil
}

// Defaults of serve, and how often it retries an embedded JetStream.
const (
	// defaultMinFreeMiB is ServeConfig.MinFreeMiB's default.
	defaultMinFreeMiB = 100
	// defaultSourceQuotaMiB is ServeConfig.SourceQuotaMiB's default: some
	// 30,000 events an hour of an ordinary size, far above what a
	// province's busiest one-stop-shop sends.
	defaultSourceQuotaMiB = 64
	// jetStreamRetry is how often serve tries to restart an embedded
	// JetStream that turned itself off (its disk filled).
	jetStreamRetry = 2 * time.Second
)

// closeLogged closes something at shutdown and logs a failure.
func closeLogged(log *slog.Logger, what string, close func() error) {
	if err := close(); err != nil {
		log.Error("close "+what, "err", err)
	}
}

// stage is a part of serve running in its own goroutine until stopped.
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
