package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestBenchCommand runs the whole suite small: serve and rebuild as child
// processes (the hoso binary built once, see hosoBinary, and a copy of it
// as the baseline), on a real JetStream server, and checks what it wrote.
func TestBenchCommand(t *testing.T) {
	hoso := hosoBinary(t)
	baseline := filepath.Join(t.TempDir(), "hoso-prev")
	if b, err := os.ReadFile(hoso); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(baseline, b, 0o755); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	doc := filepath.Join(t.TempDir(), "performance.md")
	if err := os.WriteFile(doc, []byte("# Performance\n\n"+docBegin+"\nold\n"+docEnd+"\n\nProse.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"--dossiers", "150", "--runs", "2", "--naive-events", "60",
		"--loads", "300,600", "--load-duration", "1s", "--scale", "1000",
		"--postgres", "start", "--pg-clients", "1,2", "--pg-events", "120", "--nats-sync", "always", "--out", out, "--work-dir", t.TempDir(),
		"--hoso", hoso, "--baseline", baseline, "--doc", doc}
	if err := run(context.Background(), args, noEnv, &stdout, &stderr); err != nil {
		t.Fatalf("hoso-bench: %v\nstderr:\n%s", err, stderr.String())
	}

	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res benchResults
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if res.Hoso.Path != hoso || res.Hoso.Built || !strings.HasPrefix(res.Hoso.Go, "go1.") {
		t.Errorf("hoso binary recorded as %+v, want %s, given (not built), with its Go version", res.Hoso, hoso)
	}
	if res.Baseline == nil || res.Baseline.Path != baseline || res.Baseline.Built {
		t.Errorf("baseline binary recorded as %+v, want %s, given", res.Baseline, baseline)
	}
	if res.NATSSync != "always" {
		t.Errorf("JetStream fsync %q, want always", res.NATSSync)
	}
	if res.Events < 150 || res.Dossiers != 150 || res.Bytes < 100*res.Events {
		t.Errorf("stream: %d events, %d dossiers, %d bytes", res.Events, res.Dossiers, res.Bytes)
	}
	want := map[string]struct{ runs, events int }{
		"ceiling": {2, res.Events}, "ceiling-ack-all": {2, res.Events}, "ceiling-outcomes": {2, res.Events}, "hoso": {2, res.Events},
		"publish-async": {2, res.Events}, "publish-fast-batch": {2, res.Events}, "publish-atomic-batch": {2, res.Events},
		"hoso-naive": {1, 60}, "rebuild": {2, res.Events},
		"hoso (baseline)": {2, res.Events}, "hoso-naive (baseline)": {1, 60}, "rebuild (baseline)": {2, res.Events},
		// Unreadable messages of the stream are not PostgreSQL transactions.
		"postgres-1": {2, -1}, "postgres-2": {2, -1},
	}
	for _, r := range res.Rates {
		w, ok := want[r.Name]
		if !ok {
			t.Errorf("unexpected measure %q", r.Name)
			continue
		}
		delete(want, r.Name)
		if w.events < 0 && r.Events > 100 && r.Events <= 120 {
			w.events = r.Events
		}
		if len(r.Runs) != w.runs || r.Events != w.events {
			t.Errorf("%s: %d runs of %d events, want %d of %d", r.Name, len(r.Runs), r.Events, w.runs, w.events)
		}
		for _, v := range r.Runs {
			if v <= 0 {
				t.Errorf("%s: a run measured %v events/s", r.Name, v)
			}
		}
		if lo, hi := min(r.Runs[0], r.Runs[len(r.Runs)-1]), max(r.Runs[0], r.Runs[len(r.Runs)-1]); r.Median < lo || r.Median > hi {
			t.Errorf("%s: median %v outside its runs %v", r.Name, r.Median, r.Runs)
		}
		if strings.HasPrefix(r.Name, "hoso") || strings.HasPrefix(r.Name, "rebuild") {
			if r.CPU <= 0 || r.PeakRSS < 10<<20 || r.CPUPerEvent != r.CPU/float64(r.Events)*1e6 {
				t.Errorf("%s: CPU %v s (%v µs an event), peak RSS %d bytes: not measured", r.Name, r.CPU, r.CPUPerEvent, r.PeakRSS)
			}
		}
		if r.Baseline != strings.HasSuffix(r.Name, baselineSuffix) {
			t.Errorf("%s: baseline %v", r.Name, r.Baseline)
		}
	}
	for name := range want {
		t.Errorf("measure %q missing", name)
	}

	// Each load measured with the baseline, then with the current binary.
	if len(res.Latency) != 4 {
		t.Fatalf("%d latency measures, want 4", len(res.Latency))
	}
	for i, l := range res.Latency {
		if l.Load != []int{300, 300, 600, 600}[i] || l.Events != l.Load || l.Baseline != (i%2 == 0) {
			t.Errorf("latency %d: offered %d with %d events (baseline %v), want %d events in 1s", i, l.Load, l.Events, l.Baseline, l.Load)
		}
		if len(l.P99Runs) != 2 || !slices.Contains(l.P99Runs, l.P99) || l.P99 != max(l.P99Runs[0], l.P99Runs[1]) {
			t.Errorf("latency at %d/s: p99 %v is not the median (the higher) of its two runs %v", l.Load, l.P99, l.P99Runs)
		}
		if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
			t.Errorf("latency at %d/s: percentiles out of order: %+v", l.Load, l)
		}
		if l.CPU <= 0 || l.NATSCPU <= 0 || l.PeakRSS <= 0 || l.CPUPerEvent != l.CPU/float64(l.Events)*1e6 {
			t.Errorf("latency at %d/s: CPU %v s, NATS CPU %v s, peak RSS %d: not measured", l.Load, l.CPU, l.NATSCPU, l.PeakRSS)
		}
		if l.Achieved < 0.5*float64(l.Load) || l.Achieved > 1.5*float64(l.Load) {
			t.Errorf("latency at %d/s: published at %v/s", l.Load, l.Achieved)
		}
	}

	// The large store: every synthetic transition accepted and verified
	// through the API, and the memory read from /proc.
	sc := res.Scale
	if sc == nil {
		t.Fatal("no large-store measure")
	}
	if sc.Dossiers != 1000 || sc.Transitions != 1000*len(scaleSteps) || sc.Verified != 1000 {
		t.Errorf("large store: %d dossiers, %d transitions, %d verified", sc.Dossiers, sc.Transitions, sc.Verified)
	}
	if sc.FileBytes < int64(sc.Transitions)*50 || sc.BytesPerEntry != float64(sc.FileBytes)/float64(sc.Transitions) {
		t.Errorf("large store: %d bytes, %v per transition", sc.FileBytes, sc.BytesPerEntry)
	}
	if sc.RSSAnon <= 0 || sc.RSS < sc.RSSAnon || sc.RSSVerified <= 0 || sc.RSSAnonVerified <= 0 {
		t.Errorf("large store: memory not measured: %+v", sc)
	}
	if !(0 < sc.LookupP50 && sc.LookupP50 <= sc.LookupP99 && 0 < sc.StatsP50 && sc.StatsP50 <= sc.StatsMax && sc.VerifyRate > 0 && sc.VerifyWarmRate > 0) {
		t.Errorf("large store: timings: %+v", sc)
	}

	// The chart is SVG with one bar per measure and three per load.
	svg, err := os.ReadFile(filepath.Join(out, "chart.svg"))
	if err != nil {
		t.Fatal(err)
	}
	bars := 0
	dec := xml.NewDecoder(bytes.NewReader(svg))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("chart.svg is not XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" && len(se.Attr) > 0 {
			for _, a := range se.Attr {
				if a.Name.Local == "class" {
					bars++
				}
			}
		}
	}
	if want := len(res.Rates) + 3*len(res.Latency); bars != want {
		t.Errorf("chart has %d bars, want %d", bars, want)
	}

	md, err := os.ReadFile(filepath.Join(out, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| hoso — ", "| hoso (baseline) — ", "| rebuild — ", "| rebuild (baseline) — ", "| ceiling-outcomes — ", "of ceiling-outcomes (",
		"(the baseline at ", "| 600 |", "| 600 (baseline) |", "| target | measured | baseline | wanted |", "drain / naive mode", "drain / PostgreSQL peer", "; baseline " + baseline} {
		if !bytes.Contains(md, []byte(s)) {
			t.Errorf("results.md lacks %q:\n%s", s, md)
		}
	}
	if b, err := os.ReadFile(doc); err != nil || string(b) != "# Performance\n\n"+docBegin+"\n\n"+strings.TrimSpace(string(md))+"\n\n"+docEnd+"\n\nProse.\n" {
		t.Errorf("--doc wrote (%v):\n%s\nwant results.md between the markers", err, b)
	}
	for _, s := range []string{"ceiling-ack-all", "hoso drains at ", "p99", "targets:", "large store:", "store size per transition"} {
		if !strings.Contains(stdout.String(), s) {
			t.Errorf("printed report lacks %q:\n%s", s, stdout.String())
		}
	}
}

// TestBenchFlags checks that bad settings are refused before anything runs.
func TestBenchFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--dossiers", "3"},
		{"--runs", "0"},
		{"--loads", "10,x"},
		{"--loads", "0"},
		{"--pg-clients", "0"},
		{"--batch-max", "0"},
		{"--scale", "10"},
		{"--nats-sync", "sometimes"},
		{"--load-duration", "0s"},
		{"--hoso", filepath.Join(t.TempDir(), "none")},
		{"--hoso", t.TempDir()},
		{"--baseline", filepath.Join(t.TempDir(), "none")},
		{"--doc", filepath.Join(t.TempDir(), "none.md")},
		{"extra"},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), append([]string{"--out", t.TempDir()}, args...), noEnv, io.Discard, &stderr)
		if err == nil {
			t.Errorf("hoso-bench %v: no error", args)
		}
	}
}

// TestBenchWithoutGo checks that, without --hoso and without a go command
// to build hoso with, the suite stops before it runs and says to pass
// --hoso.
func TestBenchWithoutGo(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := run(context.Background(), []string{"--out", t.TempDir()}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--hoso PATH") {
		t.Errorf("hoso-bench without go = %v, want an error saying to pass --hoso PATH", err)
	}
}

// hosoBinary returns the hoso binary the suite runs in tests, built once
// by the first test that needs it (go test puts the go command first in
// PATH) into a directory TestMain removes.
func hosoBinary(t *testing.T) string {
	t.Helper()
	hoso.once.Do(func() {
		hoso.path = filepath.Join(hoso.dir, "hoso")
		out, err := exec.Command("go", "build", "-o", hoso.path, hosoPackage).CombinedOutput()
		if err != nil {
			hoso.err = fmt.Errorf("go build %s: %w\n%s", hosoPackage, err, out)
		}
	})
	if hoso.err != nil {
		t.Fatal(hoso.err)
	}
	return hoso.path
}

// hoso is the hoso binary of the tests (hosoBinary).
var hoso struct {
	once sync.Once
	dir  string // made by TestMain
	path string
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hoso-bench-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hoso.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func noEnv(string) string { return "" }
