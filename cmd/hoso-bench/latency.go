package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
)

// benchLatency is the publish → outcome latency at one offered load.
type benchLatency struct {
	Load     int           `json:"offered"`            // events/s offered
	Baseline bool          `json:"baseline,omitempty"` // a measure of the baseline binary
	Achieved float64       `json:"achieved"`           // events/s published
	Events   int           `json:"events"`
	P50      time.Duration `json:"p50_ns"`
	P90      time.Duration `json:"p90_ns"`
	P99      time.Duration `json:"p99_ns"`
	Max      time.Duration `json:"max_ns"`
	CPU      float64       `json:"cpu_seconds"` // of hoso serve
	// CPUPerEvent is CPU over Events, in µs.
	CPUPerEvent float64 `json:"cpu_us_per_event"`
	PeakRSS     int64   `json:"peak_rss_bytes"`
	// CPU of the bench process from the first publish to the last
	// outcome: the NATS server, the publisher and the outcome subscriber.
	NATSCPU    float64 `json:"nats_cpu_seconds"`
	batchMeans         // of hoso serve
	// P99Runs is the p99 of every run at this load, in run order; the
	// other fields are those of the run whose p99 is the median.
	P99Runs []time.Duration `json:"p99_runs_ns"`
}

// medianLatency returns the run whose p99 is the median of the runs (of
// an even number of runs, the higher of the middle two), with the p99 of
// every run.
func medianLatency(runs []benchLatency) benchLatency {
	p99s := make([]time.Duration, len(runs))
	for i := range runs {
		p99s[i] = runs[i].P99
	}
	sorted := slices.Clone(runs)
	slices.SortStableFunc(sorted, func(a, b benchLatency) int { return cmp.Compare(a.P99, b.P99) })
	m := sorted[len(sorted)/2]
	m.P99Runs = p99s
	return m
}

// latency runs serve of the hoso binary bin on a fresh NATS server and
// store, publishes the stream at load events/s for d, and measures for
// each event the time from its publish to the arrival of its outcome. A server that cannot
// take the load holds the publisher back (the achieved rate says so).
func latency(ctx context.Context, bin, dir string, msgs []benchMessage, load int, d time.Duration, batchMax int, syncAlways bool) (benchLatency, error) {
	h, err := startBenchNATS(ctx, filepath.Join(dir, "nats"), syncAlways)
	if err != nil {
		return benchLatency{}, err
	}
	defer h.close()
	n := min(len(msgs), int(float64(load)*d.Seconds()))
	if n < 1 {
		return benchLatency{}, errors.New("no event to offer")
	}
	arrived := make([]time.Time, n) // by stream sequence - 1
	var mu sync.Mutex
	got := 0
	all := make(chan struct{})
	sub, err := h.nc.Subscribe(events.OutcomesSubject, func(m *nats.Msg) {
		now := time.Now()
		var o struct {
			Seq uint64 `json:"seq"`
		}
		if json.Unmarshal(m.Data, &o) != nil || o.Seq < 1 || o.Seq > uint64(n) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if arrived[o.Seq-1].IsZero() {
			arrived[o.Seq-1] = now
			if got++; got == n {
				close(all)
			}
		}
	})
	if err != nil {
		return benchLatency{}, err
	}
	defer sub.Unsubscribe()
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return benchLatency{}, err
	}
	addr, err := freeAddr()
	if err != nil {
		return benchLatency{}, err
	}
	p, err := start(ctx, bin, serveArgs(filepath.Join(dir, "store"), h.url(), addr, batchMax)...)
	if err != nil {
		return benchLatency{}, err
	}
	defer p.kill()
	if err := waitConsumer(ctx, h, p); err != nil {
		return benchLatency{}, err
	}

	cpu0, err := selfCPU()
	if err != nil {
		return benchLatency{}, err
	}
	sent := make([]time.Time, n)
	futures := make([]jetstream.PubAckFuture, n)
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	for i := 0; i < n; {
		due := min(n, int(time.Since(start).Seconds()*float64(load))+1)
		for ; i < due; i++ {
			sent[i] = time.Now()
			f, err := h.js.PublishMsgAsync(benchMsg(msgs[i]), jetstream.WithStallWait(time.Minute))
			if err != nil {
				tick.Stop()
				return benchLatency{}, err
			}
			futures[i] = f
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			tick.Stop()
			return benchLatency{}, ctx.Err()
		}
	}
	tick.Stop()
	published := time.Since(start)
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			if ack.Sequence != uint64(i+1) {
				return benchLatency{}, fmt.Errorf("event %d stored at sequence %d", i, ack.Sequence)
			}
		case err := <-f.Err():
			return benchLatency{}, err
		case <-ctx.Done():
			return benchLatency{}, ctx.Err()
		}
	}
	select {
	case <-all:
	case <-ctx.Done():
		return benchLatency{}, ctx.Err()
	case <-time.After(time.Minute):
		mu.Lock()
		defer mu.Unlock()
		return benchLatency{}, fmt.Errorf("%d of %d outcomes arrived: %s", got, n, p.output())
	}
	cpu1, err := selfCPU()
	if err != nil {
		return benchLatency{}, err
	}
	bm, err := scrapeBatches(ctx, "http://"+addr+"/metrics")
	if err != nil {
		return benchLatency{}, err
	}
	run, err := p.stop()
	if err != nil {
		return benchLatency{}, err
	}
	mu.Lock()
	lat := make([]time.Duration, n)
	for i := range lat {
		lat[i] = arrived[i].Sub(sent[i])
	}
	mu.Unlock()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(n-1, int(p*float64(n)))] }
	return benchLatency{Load: load, Achieved: perSecond(n, published), Events: n,
		P50: pct(0.50), P90: pct(0.90), P99: pct(0.99), Max: lat[n-1], CPU: run.cpu, CPUPerEvent: perEvent(run.cpu, n), PeakRSS: run.rss, NATSCPU: cpu1 - cpu0, batchMeans: bm.means()}, nil
}

// selfCPU returns the CPU time (user and system) of this process so far,
// in seconds.
func selfCPU() (float64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)).Seconds(), nil
}

// waitConsumer waits until the engine has created its consumer: from then
// on, published events are applied as they come.
func waitConsumer(ctx context.Context, h *benchNATS, p *benchProcess) error {
	return p.waitFor(ctx, 30*time.Second, "its consumer", func() bool {
		_, err := h.js.Consumer(ctx, events.EventsStream, events.ConsumerName)
		return err == nil
	})
}
