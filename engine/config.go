package engine

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"time"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// Config is the configuration of an engine (`hoso serve`'s flags and
// environment variables). DefaultConfig gives its defaults; Open checks
// it with Validate.
type Config struct {
	DataDir   string        // store file and embedded JetStream storage; default ./data
	HTTPAddr  string        // HTTP listen address; default 127.0.0.1:8080
	NATSURL   string        // external NATS servers (one URL, or a cluster's separated by commas); "" starts the embedded one
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
	// StreamReplicas is the replica count of the streams, consumers and
	// bucket hoso creates; 0 is 3 when the NATS server is part of a
	// cluster and 1 alone (events.StreamConfig.Replicas).
	StreamReplicas int
	// UpdateStreams makes hoso set its configuration on existing streams
	// that differ from it; without it they are kept and the differences
	// logged (events.StreamConfig.UpdateStreams).
	UpdateStreams bool
	// SourceQuotaMiB is the most each source of the embedded server's
	// users file may publish on its event subjects in an hour, in MiB;
	// past it the server refuses its events until the hour ends (see
	// natsserver.Quota). Default 64; 0 turns the quota off. It needs
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
	// PublicAddr is the address of the public surface (package public:
	// the province's scoreboard, meant to face the internet, behind a
	// reverse proxy); "" (the default) serves none. It shares nothing
	// with HTTPAddr's server but the store and, with TLSCert, the
	// certificate.
	PublicAddr string
	// PublicConfig is the public file: the agencies and indicators the
	// public surface withholds (public.ParseSettings); "" publishes every
	// indicator of every agency, aggregated. It needs PublicAddr.
	PublicConfig string
	// PublicLookupKey is the file of the deployment's lookup key (hex on
	// one line, mode 0600: ReadLookupKey), the key the one-stop-shop
	// makes the dossiers' lookup digests (data.lookup) with; with it the
	// public surface offers the applicants' dossier lookup, without it
	// the lookup's routes say it is not offered. It needs PublicAddr.
	PublicLookupKey string
	// NATSUser and NATSPassword, or NATSCreds (a credentials file: JWT
	// and NKey), are hoso's credentials on the external NATS servers of
	// NATSURL, for every server of a cluster (credentials in a URL hold
	// for that server only).
	NATSUser     string
	NATSPassword string
	NATSCreds    string
	// NATSCA is the PEM certificates of the CA the external servers' TLS
	// certificates are checked against ("" trusts the system's); NATSCert
	// and NATSKey a client certificate for servers that ask for one.
	NATSCA, NATSCert, NATSKey string
	// NATSUsers is the embedded server's users file (sources and
	// supervisors, see natsserver.ParseUsers); "" leaves the embedded server
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
	// Rates is the base of the statistics' headline rates (received or
	// resolved) and the rounding of every rate (truncate or round, to two
	// decimals): a provincial choice, default received and truncated as
	// Tây Ninh's reports print (--rate-base, --rate-rounding). A request
	// to GET /api/v1/stats may override it for its report.
	Rates workflow.Rates
	// Check makes serve load and check the files above and exit
	// (--check) instead of starting.
	Check bool

	// BeforeCommit is store.Options.BeforeCommit: a fault-injection hook
	// of tests (no flag sets it); nil in production.
	BeforeCommit func() error `json:"-"`
	// Now is the engine's clock: the time of the events it publishes
	// itself (calendar changes, deadline warnings and expiries) and the
	// date the dashboard and hoso_calendar_confirmed go by. Nil is
	// time.Now; tests fake it (no flag sets it).
	Now func() time.Time `json:"-"`
}

// Files of the data directory (Config.DataDir).
const (
	StoreFile = "hoso.db" // the store
	NATSDir   = "nats"    // the embedded JetStream's files
)

// DefaultConfig returns the defaults of an engine.
func DefaultConfig() Config {
	return Config{
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
		ReplicaLease:       events.DefaultLeaseTTL,
		Rates:              workflow.DefaultRates(),
	}
}

// Validate checks the configuration and reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir: must not be empty"))
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("http addr %q: %w", c.HTTPAddr, err))
	}
	if c.PublicAddr != "" {
		if _, port, err := net.SplitHostPort(c.PublicAddr); err != nil {
			errs = append(errs, fmt.Errorf("public addr %q: %w", c.PublicAddr, err))
		} else if c.PublicAddr == c.HTTPAddr && port != "0" {
			errs = append(errs, fmt.Errorf("public addr %q: must not be the HTTP address: the public surface has a listener of its own", c.PublicAddr))
		}
	}
	if c.PublicConfig != "" && c.PublicAddr == "" {
		errs = append(errs, errors.New("public config: give --public-addr too; without it nothing is public"))
	}
	if c.PublicLookupKey != "" && c.PublicAddr == "" {
		errs = append(errs, errors.New("public lookup key: give --public-addr too; the lookup is on the public listener"))
	}
	if c.NATSURL == "" && (c.NATSPort < 0 || c.NATSPort > 65535) {
		errs = append(errs, fmt.Errorf("nats port %d: must be 0–65535", c.NATSPort))
	}
	if _, _, err := c.syncPolicy(); err != nil {
		errs = append(errs, err)
	}
	if err := CheckBatchMax(c.BatchMax); err != nil {
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
	if _, err := c.Rules.CalendarConfig(); err != nil {
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
	if c.StreamReplicas < 0 || c.StreamReplicas > maxStreamReplicas {
		errs = append(errs, fmt.Errorf("stream replicas %d: must be 0 (3 in a cluster, 1 alone) to %d", c.StreamReplicas, maxStreamReplicas))
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
	if err := c.Rates.Validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateAccess()...)
	return errors.Join(errs...)
}

func (c *Config) syncPolicy() (always bool, every time.Duration, err error) {
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

// Defaults of serve, and how often it retries an embedded JetStream.
const (
	// defaultMinFreeMiB is Config.MinFreeMiB's default.
	defaultMinFreeMiB = 100
	// defaultSourceQuotaMiB is Config.SourceQuotaMiB's default: some
	// 30,000 events an hour of an ordinary size, far above what a
	// province's busiest one-stop-shop sends.
	defaultSourceQuotaMiB = 64
	// jetStreamRetry is how often serve tries to restart an embedded
	// JetStream that turned itself off (its disk filled).
	jetStreamRetry = 2 * time.Second
)

// maxStreamReplicas is JetStream's largest replica count.
const maxStreamReplicas = 5

// MaxBatchMax is the largest Config.BatchMax (--batch-max): a batch is
// one store transaction, held in memory whole.
const MaxBatchMax = 10000

// CheckBatchMax checks a batch size (Config.BatchMax, rebuild's
// --batch-max).
func CheckBatchMax(n int) error {
	if n < 1 || n > MaxBatchMax {
		return fmt.Errorf("batch max %d: must be 1–%d", n, MaxBatchMax)
	}
	return nil
}

// NewLogger returns the logger of a configuration's LogLevel and
// LogFormat, writing to w. The configuration must be valid.
func (c *Config) NewLogger(w io.Writer) *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
