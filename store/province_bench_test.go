package store

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/simulate"
	"github.com/hoso-vn/hoso/workflow"
)

// provinceStream is the stream hoso-bench drains: the simulator's
// province of 20,000 dossiers, every kind of fault included, as
// envelopes (an unreadable message as the codec's rejection).
var provinceStream = sync.OnceValues(func() ([]workflow.Envelope, error) { return simulatedStream(20000) })

// simulatedStream is the simulator's province of the given number of
// dossiers as envelopes.
func simulatedStream(dossiers int) ([]workflow.Envelope, error) {
	cat, err := workflow.Load(configs.FS, configs.DefinitionsDir)
	if err != nil {
		return nil, err
	}
	cfg := simulate.DefaultConfig()
	cfg.Dossiers = dossiers
	items, _, err := simulate.Generate(cfg, cat)
	if err != nil {
		return nil, err
	}
	envs := make([]workflow.Envelope, len(items))
	for i, it := range items {
		seq := uint64(i + 1)
		envs[i] = workflow.Envelope{Seq: seq, Subject: it.Subject, Published: it.Time, Event: it.Event}
		if it.Event == nil {
			envs[i].Rejection = workflow.Reject(seq, it.Subject, it.Time, workflow.ReasonMalformed, "unreadable")
		}
	}
	return envs, nil
}

// BenchmarkApplyProvince applies the province stream of hoso-bench into a
// fresh store without fsync, in batches of 128, 1,024 and 8,192 events
// (serve's default --batch-max, reached under a backlog): the store's
// share of a drain's and a rebuild's CPU on the events a province sends,
// and how it falls as batches grow (serve's batches follow the load: about
// 40 events at 10,000 events/s on two cores). pages/event counts the
// pages the commits wrote.
//
//	go test ./store -run '^$' -bench ApplyProvince -benchtime 2x
func BenchmarkApplyProvince(b *testing.B) {
	envs, err := provinceStream()
	if err != nil {
		b.Fatal(err)
	}
	defer func(cores int) { pipelineCores = cores }(pipelineCores)
	pipelineCores = 1 // decide on a goroutine of its own whatever the cores
	for _, batch := range []int{128, 1024, 8192} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchApplyProvince(b, envs, batch) })
	}
}

func benchApplyProvince(b *testing.B, envs []workflow.Envelope, batch int) {
	ctx := context.Background()
	applied := 0
	var pages int64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		db, err := Open(filepath.Join(b.TempDir(), "hoso.db"), Options{Catalog: shippedCatalog(b), NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for i := 0; i < len(envs); i += batch {
			res, err := db.Apply(ctx, envs[i:min(i+batch, len(envs))])
			if err != nil {
				b.Fatal(err)
			}
			applied += res.Accepted + res.Rejected
		}
		b.StopTimer()
		st := db.bolt.Stats()
		pages += st.TxStats.GetWrite()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	if applied == 0 {
		b.Fatal("nothing applied")
	}
	b.ReportMetric(float64(applied)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(b.Elapsed().Seconds()*1e6/float64(applied), "µs/event")
	b.ReportMetric(float64(pages)/float64(applied), "pages/event")
}

// BenchmarkApplyProvinceOneGoroutine is BenchmarkApplyProvince's batches
// of 8,192 decided and written on one goroutine, the baseline of the
// pipelined Apply.
func BenchmarkApplyProvinceOneGoroutine(b *testing.B) {
	envs, err := provinceStream()
	if err != nil {
		b.Fatal(err)
	}
	defer func(old int) { pipelineMin = old }(pipelineMin)
	pipelineMin = math.MaxInt
	benchApplyProvince(b, envs, 8192)
}
