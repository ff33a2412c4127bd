package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/store"
)

// TestRestartMidStream stops the engine while it is consuming a stream and
// starts it again on the same data: every event is applied exactly once and
// has exactly one outcome, nothing is lost.
func TestRestartMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes thousands of events")
	}
	sc := newScenario(400, 4)
	dir := t.TempDir()
	half := len(sc.messages) / 2

	// Small batches keep the first run busy long enough to be stopped
	// with events still unapplied.
	first := startServe(t, dir, "--batch-max", "4")
	_, js := connect(t, first.natsURL)
	publish(t, js, sc.messages[:half])
	stored := stored(sc.messages[:half])
	waitOutcomes(t, js, uint64(stored), time.Minute)
	publish(t, js, sc.messages[half:])
	// Stop once the engine is into the second half.
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if outcomeCount(t, js) > uint64(stored)+100 {
			break
		}
	}
	first.stop(t)

	// How far the first run got.
	cat, err := engine.LoadDefinitions("")
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "hoso.db"), store.Options{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	applied, _ := db.AppliedSeq()
	db.Close()
	t.Logf("first run stopped after applying %d of %d messages", applied, sc.stored())

	// The embedded server restarts with the JetStream files of the first
	// run, on another random port.
	second := startServe(t, dir)
	_, js2 := connect(t, second.natsURL)
	waitOutcomes(t, js2, uint64(sc.stored()), time.Minute)
	readOutcomes(t, js2, sc.stored())
	second.stop(t)
	checkStore(t, filepath.Join(dir, "hoso.db"), sc)
}
