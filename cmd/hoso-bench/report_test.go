package main

import (
	"strings"
	"testing"
	"time"
)

// fakeResults returns the results of a run that measured nothing, made up
// for the tests of the reports: the drain 60,000 events/s with 1.2 s of
// CPU for 100,000 events (12 µs each), rebuild 160,000, the best
// PostgreSQL client count 4,000.
func fakeResults() *benchResults {
	r := &benchResults{
		Command: "hoso-bench --dossiers=2000", Dossiers: 2000, Events: 100000, Bytes: 42600000, NATSSync: "every 2m",
		Machine: benchMachine{CPU: "Test CPU", Cores: 2, MemoryGB: 24, OS: "linux/amd64", Go: "go1.26.8", Date: "2026-12-08"},
	}
	for _, x := range []benchRate{
		{Name: "ceiling", What: "no work", Events: 100000, Runs: []float64{200000}},
		{Name: "ceiling-outcomes", What: "outcomes, no work", Events: 100000, Runs: []float64{100000}},
		{Name: "hoso", What: "the drain", Events: 100000, Runs: []float64{60000}, CPU: 1.2},
		{Name: "hoso-naive", What: "one fsync per event", Events: 1000, Runs: []float64{2000}, CPU: 0.5},
		{Name: "rebuild", What: "replay", Events: 100000, Runs: []float64{160000}, CPU: 0.9},
		{Name: "postgres-1", What: "peer", Events: 5000, Runs: []float64{1000}},
		{Name: "postgres-64", What: "peer", Events: 5000, Runs: []float64{4000}},
	} {
		r.Rates = append(r.Rates, x.done())
	}
	for _, load := range []int{10000, 20000} {
		n := load * 5
		r.Latency = append(r.Latency, benchLatency{Load: load, Achieved: float64(load), Events: n,
			P50: 2 * time.Millisecond, P90: 5 * time.Millisecond, P99: time.Duration(load) * time.Microsecond, Max: 40 * time.Millisecond,
			CPU: 4, CPUPerEvent: perEvent(4, n), PeakRSS: 100 << 20, P99Runs: []time.Duration{time.Duration(load) * time.Microsecond}})
	}
	return r
}

// TestCPUPerEvent checks the CPU per event of the measures and its
// columns in the reports.
func TestCPUPerEvent(t *testing.T) {
	r := fakeResults()
	for name, want := range map[string]float64{"hoso": 12, "rebuild": 9, "hoso-naive": 500, "ceiling": 0} {
		if got := r.rate(name).CPUPerEvent; got < want-1e-9 || got > want+1e-9 {
			t.Errorf("%s: CPUPerEvent = %v, want %v", name, got, want)
		}
	}
	if got := r.Latency[0].CPUPerEvent; got != 80 {
		t.Errorf("latency at 10,000/s: CPUPerEvent = %v, want 80", got)
	}
	md := r.markdown()
	for _, s := range []string{
		"| measure | events/s (median) | runs | events | CPU s | CPU µs/event |",
		"| hoso — the drain | 60,000 | 60,000 | 100,000 | 1.2 | 12.0 |",
		"| ceiling — no work | 200,000 | 200,000 | 100,000 | – | – |",
		"| serve CPU s | serve CPU µs/event |",
		"| 10,000 | 10,000 | 50,000 | 2.00 ms | 5.00 ms | 10.00 ms | 40.00 ms | 10.0 | 4.0 | 80.0 |",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
	if txt := r.text(); !strings.Contains(txt, "CPU µs/event") {
		t.Errorf("text report lacks the CPU µs/event column:\n%s", txt)
	}
}

// TestTargets checks the targets of the round: each met at its
// threshold and not met just past it, the p99 at 20,000 events/s reported
// without a threshold, and the baseline's figure beside each.
func TestTargets(t *testing.T) {
	const (
		pg      = "drain / PostgreSQL peer at its best client count (postgres-64)"
		cpu     = "hoso's CPU per event in the drain"
		co      = "drain / ceiling-outcomes (both publishing outcomes as the relay does)"
		naive   = "drain / naive mode"
		rebuild = "rebuild by replay"
		p99     = "p99 publish → outcome at 10,000 events/s"
		p99at20 = "p99 publish → outcome at 20,000 events/s"
		size    = "store size per transition (1,000,000 dossiers)"
	)
	byWhat := func(ts []benchTarget) map[string]benchTarget {
		m := map[string]benchTarget{}
		for _, x := range ts {
			m[x.What] = x
		}
		return m
	}

	// At the thresholds: met.
	r := fakeResults()
	r.Scale = &benchScale{Dossiers: 1000000, BytesPerEntry: 300.4}
	got := byWhat(r.targets())
	for what, want := range map[string]string{pg: "15.0x", cpu: "12.0 µs", co: "0.60", naive: "30.0x", rebuild: "160,000 events/s", p99: "10.00 ms", size: "300 B"} {
		if x, ok := got[what]; !ok || x.Got != want || !x.Met || x.Want == "" {
			t.Errorf("target %q = %+v, want %s, met", what, x, want)
		}
	}
	if x := got[p99at20]; x.Got != "20.00 ms" || x.Want != "" || x.mark("met", "not met") != "–" {
		t.Errorf("target %q = %+v, want 20.00 ms without a threshold", p99at20, x)
	}
	if _, ok := got["drain / consumer ceiling"]; ok {
		t.Errorf("the drain is still judged against the consumer ceiling")
	}

	// Just past them: not met.
	r = fakeResults()
	r.Scale = &benchScale{Dossiers: 1000000, BytesPerEntry: 300.5}
	r.rate("hoso").Median = 59000
	r.rate("hoso").CPUPerEvent = 12.05
	r.rate("rebuild").Median = 149999
	r.Latency[0].P99 = 20*time.Millisecond + 10*time.Microsecond
	got = byWhat(r.targets())
	for what, want := range map[string]string{pg: "14.8x", cpu: "12.1 µs", co: "0.59", rebuild: "149,999 events/s", p99: "20.01 ms", size: "301 B"} {
		if x, ok := got[what]; !ok || x.Got != want || x.Met {
			t.Errorf("target %q = %+v, want %s, not met", what, x, want)
		}
	}

	// With a baseline: its figure beside each, in the reports too.
	r = fakeResults()
	r.Baseline = &benchHoso{Path: "/tmp/hoso-prev", Revision: "f194fd7aaaaa", Go: "go1.26.8"}
	r.Rates = append(r.Rates,
		benchRate{Name: "hoso" + baselineSuffix, Baseline: true, Events: 100000, Runs: []float64{40000}, CPU: 2}.done(),
		benchRate{Name: "rebuild" + baselineSuffix, Baseline: true, Events: 100000, Runs: []float64{60000}, CPU: 2}.done())
	r.Latency = append(r.Latency, benchLatency{Load: 10000, Baseline: true, Events: 50000, P99: 30 * time.Millisecond})
	got = byWhat(r.targets())
	for what, want := range map[string]string{pg: "10.0x", cpu: "20.0 µs", co: "0.40", rebuild: "60,000 events/s", p99: "30.00 ms", naive: ""} {
		if x := got[what]; x.Baseline != want {
			t.Errorf("target %q: baseline %q, want %q", what, x.Baseline, want)
		}
	}
	md := r.markdown()
	for _, s := range []string{
		"| target | measured | baseline | wanted |  |",
		"| " + cpu + " | 12.0 µs | 20.0 µs | ≤ 12 µs | met |",
		"| " + naive + " | 30.0x | – | ≥ 10x | met |",
		"| " + p99at20 + " | 20.00 ms | – | no target | – |",
		"| 10,000 (baseline) |",
		"hoso drains at 0.60 of ceiling-outcomes (100,000 events/s) (the baseline at 0.40)",
		"; baseline /tmp/hoso-prev, revision f194fd7aaaaa, go1.26.8",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
	if txt := r.text(); !strings.Contains(txt, "baseline 20.0 µs") {
		t.Errorf("text report lacks the baseline's figure of a target:\n%s", txt)
	}
}
