package engine_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/store"
)

// TestRestartMidStream stops the engine while it is consuming a stream and
// starts it again on the same data: every event is applied exactly once and
// has exactly one outcome, nothing is lost.
func TestRestartMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes thousands of events")
	}
	sc := testutil.NewScenario(400, 4)
	dir := t.TempDir()
	half := len(sc.Messages) / 2

	// Small batches keep the first run busy long enough to be stopped
	// with events still unapplied.
	cfg := testutil.Config(dir)
	cfg.BatchMax = 4
	first := testutil.Start(t, cfg)
	_, js := testutil.Connect(t, first.NATSURL)
	testutil.Publish(t, js, sc.Messages[:half])
	stored := testutil.StoredOf(sc.Messages[:half])
	testutil.WaitOutcomes(t, js, uint64(stored), time.Minute)
	testutil.Publish(t, js, sc.Messages[half:])
	// Stop once the engine is into the second half.
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if testutil.OutcomeCount(t, js) > uint64(stored)+100 {
			break
		}
	}
	first.Stop(t)

	// How far the first run got.
	cat := testutil.Catalog(t)
	db, err := store.Open(filepath.Join(dir, "hoso.db"), store.Options{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	applied, _ := db.AppliedSeq()
	db.Close()
	t.Logf("first run stopped after applying %d of %d messages", applied, sc.Stored())

	// The embedded server restarts with the JetStream files of the first
	// run, on another random port.
	second := testutil.Start(t, testutil.Config(dir))
	_, js2 := testutil.Connect(t, second.NATSURL)
	testutil.WaitOutcomes(t, js2, uint64(sc.Stored()), time.Minute)
	testutil.ReadOutcomes(t, js2, sc.Stored())
	second.Stop(t)
	testutil.CheckStore(t, filepath.Join(dir, "hoso.db"), sc)
}
