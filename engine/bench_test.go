package engine_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
)

// BenchmarkPipeline drains a pre-filled JetStream stream through `hoso
// serve` end to end — decode, decide, commit, ack, outcome published — in
// the group-commit mode (batches of up to events.DefaultMaxBatch events per transaction) and
// in the naive mode (BatchMax 1: one transaction, one fsync per event),
// on the same generated stream in the same run. The rate is timed from the
// first outcome to the last, by the outcome stream's own timestamps.
//
//	go test ./engine -run '^$' -bench Pipeline -benchtime 3x
func BenchmarkPipeline(b *testing.B) {
	sc := testutil.NewScenario(1000, 8)
	for _, mode := range []struct {
		name     string
		batchMax int
	}{{"batched", events.DefaultMaxBatch}, {"naive", 1}} {
		b.Run(mode.name, func(b *testing.B) {
			var total float64
			runs := 0
			for b.Loop() {
				total += drain(b, sc, mode.batchMax)
				runs++
			}
			b.ReportMetric(total/float64(runs), "events/s")
		})
	}
}

// drain pre-fills a fresh stream with the scenario, runs serve against it
// and returns the events/s it applied them at.
func drain(b *testing.B, sc *testutil.Scenario, batchMax int) float64 {
	b.Helper()
	dir := b.TempDir()
	natsURL, js := testutil.StartNATS(b, filepath.Join(dir, "nats"))
	testutil.Publish(b, js, sc.Messages)

	cfg := testutil.Config(filepath.Join(dir, "store"))
	cfg.NATSURL = natsURL
	cfg.BatchMax = batchMax
	cfg.LogLevel = "info"
	in := testutil.Start(b, cfg)
	testutil.WaitOutcomes(b, js, uint64(sc.Stored()), 5*time.Minute)
	in.Stop(b)
	return outcomeRate(b, js)
}

// outcomeRate is the events/s a drain published its outcomes at, from
// the first to the last by the outcome stream's own timestamps.
func outcomeRate(b *testing.B, js jetstream.JetStream) float64 {
	b.Helper()
	st, err := js.Stream(context.Background(), events.OutcomesStream)
	if err != nil {
		b.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return float64(info.State.Msgs-1) / info.State.LastTime.Sub(info.State.FirstTime).Seconds()
}
