package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hoso-vn/hoso/events"
)

// benchConfig is what hoso-bench runs.
type benchConfig struct {
	Dossiers     int
	Seed         int64
	Runs         int
	NaiveEvents  int
	Loads        []int
	LoadDuration time.Duration
	Postgres     string // "", "start" or a DSN
	PGClients    []int
	PGEvents     int
	BatchMax     int
	Scale        int  // dossiers of the large store; 0 skips it
	SyncAlways   bool // the bench's NATS server fsyncs every message
	Out          string
	WorkDir      string
	Hoso         string // the hoso binary; "" builds one into the work directory
	// Baseline is a hoso binary of the previous release, measured beside
	// Hoso run by run; "" measures Hoso alone.
	Baseline string
	Doc      string // docs/performance.md, whose results part the run replaces; "" leaves it
}

func defaultBenchConfig() benchConfig {
	return benchConfig{
		Dossiers:     20000,
		Seed:         1,
		Runs:         3,
		NaiveEvents:  3000,
		Loads:        []int{1000, 5000, 10000, 20000},
		LoadDuration: 5 * time.Second,
		PGClients:    []int{1, 16, 64},
		PGEvents:     5000,
		BatchMax:     events.DefaultMaxBatch, // serve's default
		Out:          "bench-results",
	}
}

// parseFlags parses the command line into a config and validates it; the
// environment gives the defaults of --postgres and --hoso.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (benchConfig, error) {
	cfg := defaultBenchConfig()
	fs := flag.NewFlagSet("hoso-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: hoso-bench [flags]\n\nRuns the performance suite of docs/performance.md on a generated stream and writes\nresults.json, results.md and chart.svg to --out.\n\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&cfg.Dossiers, "dossiers", cfg.Dossiers, "dossiers of the generated stream (about 6 events each)")
	fs.Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the generated stream")
	fs.IntVar(&cfg.Runs, "runs", cfg.Runs, "runs of each throughput and latency measure; the tables give the median (of latency, the run with the median p99)")
	fs.IntVar(&cfg.NaiveEvents, "naive-events", cfg.NaiveEvents, "events hoso applies one transaction each (the naive mode); 0 skips it")
	loads := intList(cfg.Loads)
	fs.Var(&loads, "loads", "offered loads, events/s, of the latency measure; empty skips it")
	fs.DurationVar(&cfg.LoadDuration, "load-duration", cfg.LoadDuration, "how long each offered load lasts")
	fs.StringVar(&cfg.Postgres, "postgres", envOr(getenv, "HOSO_BENCH_POSTGRES", ""), "the PostgreSQL peer: a DSN, or \"start\" to start a throwaway server from Debian's postgresql package; empty skips it (env HOSO_BENCH_POSTGRES)")
	pgClients := intList(cfg.PGClients)
	fs.Var(&pgClients, "pg-clients", "client counts of the PostgreSQL peer")
	fs.IntVar(&cfg.PGEvents, "pg-events", cfg.PGEvents, "events the PostgreSQL peer applies per client count")
	fs.IntVar(&cfg.BatchMax, "batch-max", cfg.BatchMax, "hoso serve --batch-max of the drain")
	natsSync := fs.String("nats-sync", "2m", "fsync policy of the bench's JetStream server, as serve's --nats-sync of the embedded server: \"always\" or the default interval")
	fs.IntVar(&cfg.Scale, "scale", cfg.Scale, "dossiers of the large-store measure (ten transitions each: 1000000 is issue 6's 10,000,000 transitions, some minutes); 0 skips it")
	fs.StringVar(&cfg.Out, "out", cfg.Out, "directory the results are written to")
	fs.StringVar(&cfg.WorkDir, "work-dir", "", "directory of the streams and stores while running (default: a temporary directory, removed at the end)")
	fs.StringVar(&cfg.Hoso, "hoso", envOr(getenv, "HOSO_BENCH_HOSO", ""), "the hoso binary the measures run as child processes (serve, rebuild); empty builds "+hosoPackage+" with the go command into the work directory (env HOSO_BENCH_HOSO)")
	fs.StringVar(&cfg.Baseline, "baseline", envOr(getenv, "HOSO_BENCH_BASELINE", ""), "a hoso binary of the previous release (built with go build from a worktree of its revision) whose serve and rebuild every hoso measure also runs, in turn with --hoso run by run, on the same stream: the reports show both (env HOSO_BENCH_BASELINE)")
	fs.StringVar(&cfg.Doc, "doc", "", "replace the results part of this Markdown file (docs/performance.md), between its <!-- hoso-bench results begin --> and end markers, with the run's results.md; the prose around it is left alone")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.Loads, cfg.PGClients = loads, pgClients
	switch *natsSync {
	case "always":
		cfg.SyncAlways = true
	case "2m":
	default:
		return cfg, fmt.Errorf("--nats-sync %q: must be always or 2m", *natsSync)
	}
	return cfg, cfg.validate()
}

// envOr returns the environment variable, or def when it is unset or empty.
func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

func (c benchConfig) validate() error {
	switch {
	case c.Dossiers < 10 || c.Dossiers > 2_000_000:
		return fmt.Errorf("--dossiers %d: must be 10–2,000,000", c.Dossiers)
	case c.Runs < 1 || c.Runs > 50:
		return fmt.Errorf("--runs %d: must be 1–50", c.Runs)
	case c.NaiveEvents < 0:
		return fmt.Errorf("--naive-events %d: must not be negative", c.NaiveEvents)
	case c.PGEvents < 0:
		return fmt.Errorf("--pg-events %d: must not be negative", c.PGEvents)
	case c.LoadDuration <= 0 && len(c.Loads) > 0:
		return fmt.Errorf("--load-duration %s: must be positive", c.LoadDuration)
	case c.Scale < 0 || (c.Scale > 0 && c.Scale < 1000) || c.Scale > 5_000_000:
		return fmt.Errorf("--scale %d: must be 0 (skip) or 1,000–5,000,000", c.Scale)
	case c.BatchMax < 1 || c.BatchMax > 100000:
		return fmt.Errorf("--batch-max %d: must be 1–100000", c.BatchMax)
	}
	for _, l := range c.Loads {
		if l < 1 || l > 1_000_000 {
			return fmt.Errorf("--loads: %d events/s: must be 1–1,000,000", l)
		}
	}
	for _, n := range c.PGClients {
		if n < 1 || n > pgMaxClients {
			return fmt.Errorf("--pg-clients: %d: must be 1–%d", n, pgMaxClients)
		}
	}
	return nil
}

// intList is a flag of comma-separated positive integers.
type intList []int

func (l *intList) String() string {
	s := make([]string, len(*l))
	for i, n := range *l {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(v string) error {
	*l = nil
	if v == "" {
		return nil
	}
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("%q is not a number", f)
		}
		*l = append(*l, n)
	}
	return nil
}

func benchArgs(cfg benchConfig) []string {
	d := defaultBenchConfig()
	var a []string
	add := func(name string, v, def any) {
		if fmt.Sprint(v) != fmt.Sprint(def) {
			a = append(a, fmt.Sprintf("--%s=%v", name, v))
		}
	}
	add("dossiers", cfg.Dossiers, d.Dossiers)
	add("seed", cfg.Seed, d.Seed)
	add("runs", cfg.Runs, d.Runs)
	add("naive-events", cfg.NaiveEvents, d.NaiveEvents)
	l, dl := intList(cfg.Loads), intList(d.Loads)
	add("loads", l.String(), dl.String())
	add("load-duration", cfg.LoadDuration, d.LoadDuration)
	if cfg.Postgres != "" {
		a = append(a, "--postgres=start") // a DSN may hold a password: never printed
	}
	p, dp := intList(cfg.PGClients), intList(d.PGClients)
	add("pg-clients", p.String(), dp.String())
	add("pg-events", cfg.PGEvents, d.PGEvents)
	add("batch-max", cfg.BatchMax, d.BatchMax)
	add("scale", cfg.Scale, d.Scale)
	if cfg.SyncAlways {
		a = append(a, "--nats-sync=always")
	}
	add("baseline", cfg.Baseline, d.Baseline)
	return a
}
