package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/simulate"
	"github.com/hoso-vn/hoso/workflow"
)

// benchCommand runs the suite. In one invocation, on one stream generated
// by the simulator, it measures the JetStream consumer ceiling, hoso
// draining the pre-filled stream end to end, hoso with one transaction per
// event, the PostgreSQL peer when a server is given or started, the
// rebuild by replay, and the latency from publish to outcome at fixed
// offered loads; run returns the results, which print as a table and
// write as JSON, Markdown and an SVG chart.
//
// hoso runs as a child process (the hoso binary, `hoso serve` and `hoso
// rebuild`), so that its CPU time and peak memory are its own; the NATS
// server runs in the bench process, as the embedded server would.
type benchCommand struct {
	stderr   io.Writer // progress
	hoso     string    // the hoso binary the child processes run; set by run
	baseline string    // the previous release's hoso binary, or ""; set by run
}

// benchResults is what one run of the suite measured.
type benchResults struct {
	Machine benchMachine `json:"machine"`
	Command string       `json:"command"`
	Hoso    benchHoso    `json:"hoso"`
	// Baseline is the previous release's binary, measured beside Hoso:
	// its measures are named with baselineSuffix.
	Baseline *benchHoso     `json:"baseline,omitempty"`
	Dossiers int            `json:"dossiers"`
	Events   int            `json:"events"`    // messages in the pre-filled stream
	Bytes    int            `json:"bytes"`     // their payload bytes
	NATSSync string         `json:"nats_sync"` // the JetStream server's fsync policy
	Rates    []benchRate    `json:"rates"`
	Latency  []benchLatency `json:"latency"`
	Scale    *benchScale    `json:"scale,omitempty"`
	Took     time.Duration  `json:"took_ns"`
}

// benchRate is one throughput measure over its runs.
type benchRate struct {
	Name     string    `json:"name"`
	Baseline bool      `json:"baseline,omitempty"` // a measure of the baseline binary
	What     string    `json:"what"`
	Events   int       `json:"events"`                // per run
	Runs     []float64 `json:"runs"`                  // events/s of each run
	Median   float64   `json:"median"`                // events/s
	CPU      float64   `json:"cpu_seconds,omitempty"` // of hoso (of publish-*, the bench's), median of runs
	// CPUPerEvent is CPU over Events, in µs: what one event costs hoso.
	CPUPerEvent float64 `json:"cpu_us_per_event,omitempty"`
	PeakRSS     int64   `json:"peak_rss_bytes,omitempty"`
	batchMeans          // of hoso serve, median of runs
}

// benchHoso says which hoso binary the measures ran, from the build
// information the go command writes into a binary; what a binary lacks is
// left out.
type benchHoso struct {
	Path     string `json:"path"`
	Built    bool   `json:"built"`              // by the suite, from the source at hand
	Go       string `json:"go,omitempty"`       // the Go version it was built with
	Revision string `json:"revision,omitempty"` // the VCS revision it was built from, 12 digits
	Modified bool   `json:"modified,omitempty"` // built from a work tree with uncommitted changes
}

// hosoInfo describes the hoso binary at path.
func hosoInfo(path string, built bool) benchHoso {
	h := benchHoso{Path: path, Built: built}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return h
	}
	h.Go = bi.GoVersion
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12:
			h.Revision = s.Value[:12]
		case s.Key == "vcs.modified":
			h.Modified = s.Value == "true"
		}
	}
	return h
}

// benchMachine says where the suite ran.
type benchMachine struct {
	CPU      string `json:"cpu"`
	Cores    int    `json:"cores"`
	MemoryGB int    `json:"memory_gib"`
	OS       string `json:"os"`
	Go       string `json:"go"`
	Revision string `json:"revision,omitempty"`
	Date     string `json:"date"`
}

func (c *benchCommand) run(ctx context.Context, cfg benchConfig) (*benchResults, error) {
	began := time.Now()
	work := cfg.WorkDir
	if work == "" {
		dir, err := os.MkdirTemp("", "hoso-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		work = dir
	}
	// The binaries first: a bad --hoso or --baseline, or no go command to
	// build hoso with, fails before the stream is generated.
	if cfg.Baseline != "" {
		b, err := executable("--baseline", cfg.Baseline)
		if err != nil {
			return nil, err
		}
		c.baseline = b
	}
	hoso, err := c.hosoBinary(ctx, cfg.Hoso, work)
	if err != nil {
		return nil, err
	}
	c.hoso = hoso
	if err := checkFlags(ctx, "--hoso", hoso); err != nil {
		return nil, err
	}
	if c.baseline != "" {
		if err := checkFlags(ctx, "--baseline", c.baseline); err != nil {
			return nil, err
		}
	}
	cat, err := engine.DefaultRulesConfig().Load()
	if err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	scfg := simulate.DefaultConfig()
	scfg.Seed, scfg.Dossiers = cfg.Seed, cfg.Dossiers
	// Dated so that the stream ends today: the codec refuses events far
	// from their stream timestamps.
	day := time.Now().In(workflow.Zone).AddDate(0, 0, -scfg.Days)
	scfg.Start = time.Date(day.Year(), day.Month(), day.Day(), 8, 0, 0, 0, workflow.Zone)
	items, _, err := simulate.Generate(scfg, cat)
	if err != nil {
		return nil, err
	}
	msgs, size, err := benchMessages(items)
	if err != nil {
		return nil, err
	}
	res := &benchResults{Machine: machine(), Dossiers: cfg.Dossiers, Events: len(msgs), Bytes: size, NATSSync: "every 2m",
		Command: "hoso-bench " + strings.Join(benchArgs(cfg), " "), Hoso: hosoInfo(hoso, cfg.Hoso == "")}
	if cfg.SyncAlways {
		res.NATSSync = "always"
	}
	if c.baseline != "" {
		b := hosoInfo(c.baseline, false)
		res.Baseline = &b
	}
	bins := c.binaries()
	c.logf("generated %s events of %s dossiers (%d bytes each on average)", commas(len(msgs)), commas(cfg.Dossiers), size/max(len(msgs), 1))

	h, err := startBenchNATS(ctx, filepath.Join(work, "nats"), cfg.SyncAlways)
	if err != nil {
		return nil, err
	}
	defer h.close()
	if err := h.publishAll(ctx, msgs); err != nil {
		return nil, fmt.Errorf("pre-fill the stream: %w", err)
	}

	ceiling := benchRate{Name: "ceiling", What: "JetStream consumer: fetch and ack each message, no work", Events: len(msgs)}
	ceilingAll := benchRate{Name: "ceiling-ack-all", What: "JetStream consumer configured as hoso's: fetch, ack each batch's last message, no work", Events: len(msgs)}
	ceilingOut := benchRate{Name: "ceiling-outcomes", What: "ceiling-ack-all that also publishes one outcome per message to the outcome stream, as hoso's relay does: the NATS work of a drain, no hoso work", Events: len(msgs)}
	pubs := make([]benchRate, len(publishWays))
	pubCPU := make([][]float64, len(publishWays))
	for i, w := range publishWays {
		pubs[i] = benchRate{Name: "publish-" + string(w), What: publishWhat[w], Events: len(msgs)}
	}
	drains := make([]rateRuns, len(bins))
	for i, b := range bins {
		drains[i].rate = benchRate{Name: b.name("hoso"), Baseline: b.baseline, What: "hoso serve draining the stream: decide, commit (fsync), ack, outcome published", Events: len(msgs)}
	}
	for r := range cfg.Runs {
		rate, err := h.ceiling(ctx, len(msgs), cfg.BatchMax, true)
		if err != nil {
			return nil, fmt.Errorf("ceiling: %w", err)
		}
		ceiling.Runs = append(ceiling.Runs, rate)
		rateAll, err := h.ceiling(ctx, len(msgs), cfg.BatchMax, false)
		if err != nil {
			return nil, fmt.Errorf("ceiling: %w", err)
		}
		ceilingAll.Runs = append(ceilingAll.Runs, rateAll)
		rateOut, err := h.ceilingOutcomes(ctx, msgs, cfg.BatchMax)
		if err != nil {
			return nil, fmt.Errorf("ceiling with outcomes: %w", err)
		}
		ceilingOut.Runs = append(ceilingOut.Runs, rateOut)
		c.logf("run %d: ceiling %s events/s (%s acking each batch, %s publishing outcomes)", r+1, commas(int(rate)), commas(int(rateAll)), commas(int(rateOut)))
		for i, w := range publishWays {
			p, err := h.publishOutcomes(ctx, w, len(msgs))
			if err != nil {
				return nil, fmt.Errorf("publish outcomes: %w", err)
			}
			pubs[i].Runs, pubCPU[i] = append(pubs[i].Runs, p.rate), append(pubCPU[i], p.cpu)
			c.logf("run %d: publish %s %s outcomes/s, %.1f µs CPU each (client and server)", r+1, w, commas(int(p.rate)), p.cpu/float64(len(msgs))*1e6)
		}
		for i, b := range bins {
			d, err := drain(ctx, b.path, h, filepath.Join(work, b.dir("drain-%d", r)), len(msgs), len(msgs), cfg.BatchMax)
			if err != nil {
				return nil, fmt.Errorf("drain of %s: %w", b.path, err)
			}
			drains[i].add(d)
			c.logf("run %d: %s %s events/s (%.1f s CPU, %.1f µs an event, peak %d MB)", r+1, b.name("hoso"), commas(int(d.rate)), d.cpu, perEvent(d.cpu, len(msgs)), d.rss>>20)
		}
	}
	res.Rates = append(res.Rates, ceiling.done(), ceilingAll.done(), ceilingOut.done())
	for i := range pubs {
		pubs[i].CPU = median(pubCPU[i])
		res.Rates = append(res.Rates, pubs[i].done())
	}
	for i := range drains {
		res.Rates = append(res.Rates, drains[i].done())
	}

	if n := min(cfg.NaiveEvents, len(msgs)); n > 1 {
		for _, b := range bins {
			naive := rateRuns{rate: benchRate{Name: b.name("hoso-naive"), Baseline: b.baseline, What: "hoso serve --batch-max 1: one transaction, one fsync per event", Events: n}}
			d, err := drain(ctx, b.path, h, filepath.Join(work, b.dir("naive")), len(msgs), n, 1)
			if err != nil {
				return nil, fmt.Errorf("naive of %s: %w", b.path, err)
			}
			naive.add(d)
			c.logf("%s: %s events/s", naive.rate.Name, commas(int(d.rate)))
			res.Rates = append(res.Rates, naive.done())
		}
	}

	rebuilds := make([]rateRuns, len(bins))
	for i, b := range bins {
		rebuilds[i].rate = benchRate{Name: b.name("rebuild"), Baseline: b.baseline, What: "hoso rebuild: replay of the stream into a new store", Events: len(msgs)}
	}
	for r := range cfg.Runs {
		for i, b := range bins {
			d, err := rebuild(ctx, b.path, h, filepath.Join(work, b.dir("rebuild-%d", r)))
			if err != nil {
				return nil, fmt.Errorf("rebuild of %s: %w", b.path, err)
			}
			rebuilds[i].add(d)
			c.logf("run %d: %s %s events/s (%.1f µs CPU an event)", r+1, b.name("rebuild"), commas(int(d.rate)), perEvent(d.cpu, len(msgs)))
		}
	}
	for i := range rebuilds {
		res.Rates = append(res.Rates, rebuilds[i].done())
	}
	h.close()

	if cfg.Postgres != "" && cfg.PGEvents > 0 {
		rates, err := c.postgres(ctx, cfg, filepath.Join(work, "postgres"), cat, items)
		if err != nil {
			return nil, fmt.Errorf("postgres peer: %w", err)
		}
		res.Rates = append(res.Rates, rates...)
	}

	for i, load := range cfg.Loads {
		runs := make([][]benchLatency, len(bins))
		for r := range cfg.Runs {
			for j, b := range bins {
				l, err := latency(ctx, b.path, filepath.Join(work, b.dir("load-%d-%d", i, r)), msgs, load, cfg.LoadDuration, cfg.BatchMax, cfg.SyncAlways)
				if err != nil {
					return nil, fmt.Errorf("latency of %s at %d events/s: %w", b.path, load, err)
				}
				l.Baseline = b.baseline
				c.logf("run %d: %s offered %s events/s: p50 %s, p99 %s, %.1f µs CPU an event", r+1, b.name("hoso"), commas(load),
					l.P50.Round(10*time.Microsecond), l.P99.Round(10*time.Microsecond), l.CPUPerEvent)
				runs[j] = append(runs[j], l)
			}
		}
		for j := range bins {
			res.Latency = append(res.Latency, medianLatency(runs[j]))
		}
	}
	if cfg.Scale > 0 {
		sc, err := c.scale(ctx, filepath.Join(work, "scale"), cat, cfg.Scale)
		if err != nil {
			return nil, fmt.Errorf("scale: %w", err)
		}
		res.Scale = &sc
	}
	res.Took = time.Since(began)
	return res, nil
}

// rateRuns collects the runs of a measure of hoso.
type rateRuns struct {
	rate benchRate // its name and what it is; Runs are added by add
	cpu  []float64
	rss  []int64
	bms  []batchMetrics // of serve; none of rebuild
}

// add adds a run.
func (a *rateRuns) add(d benchRun) {
	a.rate.Runs = append(a.rate.Runs, d.rate)
	a.cpu, a.rss = append(a.cpu, d.cpu), append(a.rss, d.rss)
	if d.batch.batches > 0 {
		a.bms = append(a.bms, d.batch)
	}
}

// done returns the measure over its runs: the median rate and CPU, the
// highest peak memory, the medians of the batch means.
func (a *rateRuns) done() benchRate {
	r := a.rate
	r.CPU, r.PeakRSS = median(a.cpu), slices.Max(a.rss)
	if len(a.bms) > 0 {
		r.setBatches(a.bms)
	}
	return r.done()
}

// logf prints progress to stderr.
func (c *benchCommand) logf(format string, args ...any) {
	fmt.Fprintf(c.stderr, "bench: "+format+"\n", args...)
}

// done fills the median and the CPU per event.
func (r benchRate) done() benchRate {
	r.Median = median(r.Runs)
	r.CPUPerEvent = perEvent(r.CPU, r.Events)
	return r
}

// perEvent returns cpu seconds over n events in µs per event; 0 when
// either is not known.
func perEvent(cpu float64, n int) float64 {
	if cpu <= 0 || n <= 0 {
		return 0
	}
	return cpu / float64(n) * 1e6
}

func median[T int64 | float64](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// perSecond returns n per d, in events/s.
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func machine() benchMachine {
	m := benchMachine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH,
		Go: runtime.Version(), Date: time.Now().UTC().Format(time.DateOnly)}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if i := bytes.Index(b, []byte("model name")); i >= 0 {
			line, _, _ := bytes.Cut(b[i:], []byte("\n"))
			if _, v, ok := bytes.Cut(line, []byte(":")); ok {
				m.CPU = strings.TrimSpace(string(v))
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryGB = int((kb + 1<<19) >> 20)
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				m.Revision = s.Value[:12]
			}
		}
	}
	return m
}
