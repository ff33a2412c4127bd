package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// benchStream generates an endless stream of standard-flow events over a
// window of dossiers in flight: event k belongs to slot k%active, at the
// step (k/active)%5 of its flow; after the fifth step the slot starts a new
// dossier. A batch of consecutive events thus touches that many different
// dossiers, as the stream of a province would.
type benchStream struct {
	active int
	k      int
	seq    uint64
}

var benchSteps = []struct {
	action string
	opts   []func(*workflow.Event)
}{
	{"receive", []func(*workflow.Event){attach(workflow.AttachmentInputDigitized), due(t0.AddDate(0, 0, 10))}},
	{"assign", []func(*workflow.Event){department("phong-tn")}},
	{"transfer", []func(*workflow.Event){department("phong-kt")}},
	{"resolve", []func(*workflow.Event){attach(workflow.AttachmentResultElectronic)}},
	{"return", nil},
}

// next returns the next n envelopes of the stream.
func (s *benchStream) next(n int) []workflow.Envelope {
	envs := make([]workflow.Envelope, n)
	for i := range envs {
		slot, round := s.k%s.active, s.k/s.active
		step := benchSteps[round%len(benchSteps)]
		code := fmt.Sprintf("000.00.12.H57-%06d-%04d", round/len(benchSteps), slot)
		e := event(fmt.Sprintf("%s/%d", code, round%len(benchSteps)), step.action, code, 0, step.opts...)
		e.Time = t0.Add(time.Duration(s.k) * time.Second)
		s.k++
		s.seq++
		envs[i] = workflow.Envelope{Seq: s.seq, Subject: "hoso.events.tayninh." + workflow.DossierToken(code), Published: e.Time, Event: e}
	}
	return envs
}

const (
	benchBatch    = 256  // envelopes per batch
	benchDossiers = 1000 // dossiers in flight
)

// benchApply applies benchBatch events per iteration, in batches of
// batchSize, and reports events/s.
func benchApply(b *testing.B, batchSize int, noSync bool) {
	db, err := Open(filepath.Join(b.TempDir(), "hoso.db"), Options{Catalog: shippedCatalog(b), NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	s := &benchStream{active: benchDossiers}
	events := 0
	b.ReportAllocs()
	for b.Loop() {
		envs := s.next(benchBatch)
		for i := 0; i < len(envs); i += batchSize {
			res, err := db.Apply(ctx, envs[i:min(i+batchSize, len(envs))])
			if err != nil {
				b.Fatal(err)
			}
			if res.Rejected != 0 {
				b.Fatalf("Apply rejected %d events: %+v", res.Rejected, res.Outcomes[0])
			}
		}
		events += len(envs)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkApplyBatch applies batches of 256 events over 1,000 dossiers in
// flight, durably: one transaction and one fsync per batch.
func BenchmarkApplyBatch(b *testing.B) { benchApply(b, benchBatch, false) }

// BenchmarkApplyNaive applies the same events one envelope per Apply call:
// one transaction and one fsync per event.
func BenchmarkApplyNaive(b *testing.B) { benchApply(b, 1, false) }

// BenchmarkApplyBatchNoSync is BenchmarkApplyBatch without fsync: the
// cost of deciding and writing alone.
func BenchmarkApplyBatchNoSync(b *testing.B) { benchApply(b, benchBatch, true) }
