package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/workflow"
)

// serveCommand runs the engine.
type serveCommand struct{ env }

// parseServe reads serve's configuration from its arguments and the
// environment (getenv), flags first, and validates it.
func parseServe(args []string, getenv func(string) string, stderr io.Writer) (engine.Config, error) {
	cfg := engine.DefaultConfig()
	fs := newFlagSet("serve", "serve [flags]", stderr)
	ev := envValues{getenv: getenv}
	fs.StringVar(&cfg.DataDir, "data-dir", envOr(getenv, "HOSO_DATA_DIR", cfg.DataDir), "directory of the store (hoso.db) and the embedded JetStream files (env HOSO_DATA_DIR)")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", envOr(getenv, "HOSO_HTTP_ADDR", cfg.HTTPAddr), "HTTP listen address of the API (env HOSO_HTTP_ADDR)")
	fs.StringVar(&cfg.NATSURL, "nats-url", envOr(getenv, "HOSO_NATS_URL", ""), "use this NATS server instead of starting the embedded one (env HOSO_NATS_URL)")
	fs.StringVar(&cfg.NATSUser, "nats-user", envOr(getenv, "HOSO_NATS_USER", ""), "with --nats-url: hoso's NATS user, on every server of a cluster (env HOSO_NATS_USER)")
	fs.StringVar(&cfg.NATSPassword, "nats-password", envOr(getenv, "HOSO_NATS_PASSWORD", ""), "password of --nats-user (env HOSO_NATS_PASSWORD; prefer it: flags show in ps)")
	fs.StringVar(&cfg.NATSCreds, "nats-creds", envOr(getenv, "HOSO_NATS_CREDS", ""), "with --nats-url: hoso's NATS credentials file (JWT and NKey) instead of a user and password (env HOSO_NATS_CREDS)")
	fs.StringVar(&cfg.NATSCA, "nats-ca", envOr(getenv, "HOSO_NATS_CA", ""), "with --nats-url: PEM certificates of the CA the NATS servers' TLS certificates are checked against, instead of the system's (env HOSO_NATS_CA)")
	fs.StringVar(&cfg.NATSCert, "nats-cert", envOr(getenv, "HOSO_NATS_CERT", ""), "with --nats-url: PEM client certificate, with --nats-key, for NATS servers that ask for one (env HOSO_NATS_CERT)")
	fs.StringVar(&cfg.NATSKey, "nats-key", envOr(getenv, "HOSO_NATS_KEY", ""), "PEM private key of --nats-cert (env HOSO_NATS_KEY)")
	fs.StringVar(&cfg.NATSHost, "nats-host", envOr(getenv, "HOSO_NATS_HOST", cfg.NATSHost), "client host of the embedded NATS server (env HOSO_NATS_HOST)")
	fs.IntVar(&cfg.NATSPort, "nats-port", ev.int("nats-port", "HOSO_NATS_PORT", cfg.NATSPort), "client port of the embedded NATS server, 0 for any free port (env HOSO_NATS_PORT)")
	fs.StringVar(&cfg.NATSSync, "nats-sync", envOr(getenv, "HOSO_NATS_SYNC", cfg.NATSSync), "embedded JetStream fsync: \"always\" (every message, survives an OS crash) or an interval (env HOSO_NATS_SYNC)")
	addRulesFlags(fs, &cfg.Rules, getenv)
	fs.DurationVar(&cfg.Deadlines, "deadline-interval", ev.duration("deadline-interval", "HOSO_DEADLINE_INTERVAL", cfg.Deadlines), "how often to look for deadline warnings and expiries; 0 turns the scheduler off (env HOSO_DEADLINE_INTERVAL)")
	addBatchMaxFlag(fs, &cfg.BatchMax, &ev)
	fs.Int64Var(&cfg.MaxEventsPerDossier, "max-events-per-dossier", int64(ev.int("max-events-per-dossier", "HOSO_MAX_EVENTS_PER_DOSSIER", int(cfg.MaxEventsPerDossier))), "most events the log takes on one subject, one source's events about one dossier; a publish beyond is refused (env HOSO_MAX_EVENTS_PER_DOSSIER)")
	fs.Int64Var(&cfg.DeadLettersPerSource, "deadletters-per-source", int64(ev.int("deadletters-per-source", "HOSO_DEADLETTERS_PER_SOURCE", int(cfg.DeadLettersPerSource))), "most dead letters kept of one source, its oldest going first (env HOSO_DEADLETTERS_PER_SOURCE)")
	fs.IntVar(&cfg.StreamReplicas, "stream-replicas", ev.int("stream-replicas", "HOSO_STREAM_REPLICAS", cfg.StreamReplicas), "replicas of the streams, consumers and bucket hoso creates; 0: 3 when the NATS server is part of a cluster, 1 alone (env HOSO_STREAM_REPLICAS)")
	fs.BoolVar(&cfg.UpdateStreams, "update-streams", false, "set hoso's configuration (replicas, limits) on existing streams that differ from it; without it they are kept as the operator left them and the differences logged")
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
	fs.StringVar(&cfg.PublicAddr, "public-addr", envOr(getenv, "HOSO_PUBLIC_ADDR", ""), "address of the public surface (the province's scoreboard, meant for the internet behind a reverse proxy); off when empty (env HOSO_PUBLIC_ADDR)")
	fs.StringVar(&cfg.PublicConfig, "public-config", envOr(getenv, "HOSO_PUBLIC_CONFIG", ""), "public file: the agencies and indicators the public surface withholds; without it every indicator of every agency is published, aggregated (env HOSO_PUBLIC_CONFIG)")
	fs.StringVar(&cfg.PublicLookupKey, "public-lookup-key", envOr(getenv, "HOSO_PUBLIC_LOOKUP_KEY", ""), "lookup key file (hex on one line, mode 0600, made by hoso public keygen) the one-stop-shop makes the dossiers' data.lookup with; with it the public surface offers the applicants' dossier lookup at /lookup (env HOSO_PUBLIC_LOOKUP_KEY)")
	fs.StringVar(&cfg.Replica, "replica", envOr(getenv, "HOSO_REPLICA", ""), "run as the replica of this name among engines sharing --nats-url, each with its own store; one leads (publishes outcomes, runs the scheduler) (env HOSO_REPLICA)")
	fs.DurationVar(&cfg.ReplicaLease, "replica-lease", ev.duration("replica-lease", "HOSO_REPLICA_LEASE", cfg.ReplicaLease), "with --replica: how long the leader's lease lasts unrenewed; a stopped leader is replaced within it (env HOSO_REPLICA_LEASE)")
	fs.StringVar(&cfg.CheckpointKey, "checkpoint-key", envOr(getenv, "HOSO_CHECKPOINT_KEY", ""), "ed25519 private key (PEM, PKCS#8, mode 0600) signing the checkpoints published to HOSO_CHECKPOINTS; without it the store's tamper evidence has no anchor outside its file (env HOSO_CHECKPOINT_KEY)")
	fs.DurationVar(&cfg.CheckpointInterval, "checkpoint-interval", ev.duration("checkpoint-interval", "HOSO_CHECKPOINT_INTERVAL", cfg.CheckpointInterval), "how often the leader publishes a signed checkpoint when the applied sequence moved or the store's schema changed, and once at shutdown; 0 turns them off (env HOSO_CHECKPOINT_INTERVAL)")
	rateBase := fs.String("rate-base", envOr(getenv, "HOSO_RATE_BASE", string(cfg.Rates.Base)), "what the headline rates of the statistics (đạt …%, quá hạn …%) divide by: received or resolved (env HOSO_RATE_BASE)")
	rateRounding := fs.String("rate-rounding", envOr(getenv, "HOSO_RATE_ROUNDING", string(cfg.Rates.Rounding)), "how every rate of the statistics is cut to two decimals: truncate (2,0351… → 2,03) or round (→ 2,04) (env HOSO_RATE_ROUNDING)")
	fs.BoolVar(&cfg.Check, "check", false, "check the configuration and the files it names (definitions, calendar, access file, TLS certificate and key, NATS users file, checkpoint key, public file and lookup key), print what serve would use, and exit without starting")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("serve: unexpected arguments %q", fs.Args())
	}
	if err := ev.check(fs); err != nil {
		return cfg, fmt.Errorf("serve: %w", err)
	}
	cfg.Rates = workflow.Rates{Base: workflow.RateBase(*rateBase), Rounding: workflow.Rounding(*rateRounding)}
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
		return engine.Check(cfg, c.stdout)
	}
	setGC(c.getenv)
	return engine.Run(ctx, cfg, cfg.NewLogger(c.stderr))
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

// addBatchMaxFlag registers --batch-max (env HOSO_BATCH_MAX) on fs, the
// one batch flag of the commands that apply the stream (serve, rebuild).
func addBatchMaxFlag(fs *flag.FlagSet, v *int, ev *envValues) {
	fs.IntVar(v, "batch-max", ev.int("batch-max", "HOSO_BATCH_MAX", *v), fmt.Sprintf("most events applied in one store transaction, 1–%d (env HOSO_BATCH_MAX)", engine.MaxBatchMax))
}

// addRulesFlags registers the rules' flags on fs (--definitions,
// --calendar, --work-hours, --cutoff, each with its environment
// variable), with r's values as defaults: every command that decides events declares them
// here, so they read alike everywhere.
func addRulesFlags(fs *flag.FlagSet, r *engine.RulesConfig, getenv func(string) string) {
	fs.StringVar(&r.Definitions, "definitions", envOr(getenv, "HOSO_DEFINITIONS", r.Definitions), "directory of procedure definition files instead of the shipped ones; every process that applies the stream must use the same (env HOSO_DEFINITIONS)")
	fs.StringVar(&r.Calendar, "calendar", envOr(getenv, "HOSO_CALENDAR", r.Calendar), "directory of calendar year files (YYYY.yaml) instead of the shipped ones (env HOSO_CALENDAR)")
	fs.StringVar(&r.WorkHours, "work-hours", envOr(getenv, "HOSO_WORK_HOURS", r.WorkHours), "the two daily working periods (env HOSO_WORK_HOURS)")
	fs.StringVar(&r.CutOff, "cutoff", envOr(getenv, "HOSO_CUTOFF", r.CutOff), "receipts after this time count from the next working morning (env HOSO_CUTOFF)")
}
