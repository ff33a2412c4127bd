package engine_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/store"
)

// BenchmarkRebuild replays a pre-filled stream into a fresh store as
// `hoso rebuild` does (ordered consumer, batches of up to 8192 events, one
// fsync at the end), timed from the first message fetched to the last
// committed. Issue 6 wants 150,000 events/s.
//
//	go test ./engine -run '^$' -bench Rebuild -benchtime 3x
func BenchmarkRebuild(b *testing.B) {
	sc := testutil.NewScenario(5000, 8)
	dir := b.TempDir()
	_, js := testutil.StartNATS(b, filepath.Join(dir, "nats"))
	testutil.Publish(b, js, sc.Messages)
	cat := testutil.Catalog(b)
	var applied, took float64
	i := 0
	for b.Loop() {
		i++
		db, err := store.Open(filepath.Join(dir, testutil.Pathf("rebuild-%d.db", i)), store.Options{Catalog: cat, NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		p, err := events.Replay(context.Background(), js, db, events.ReplayConfig{ToSeq: uint64(sc.Stored()), MaxBatch: 8192})
		took += time.Since(start).Seconds()
		db.Close()
		if err != nil {
			b.Fatal(err)
		}
		applied += float64(p.Messages)
	}
	b.ReportMetric(applied/took, "events/s")
}
