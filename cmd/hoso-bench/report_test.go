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
