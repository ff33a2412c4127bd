package engine_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/workflow"
)

// TestReplayGivesTheSameState applies one stream twice, into two fresh
// stores, with different batch sizes: the state — dossiers, histories,
// rejections, indexes, counters and statistics — is identical, because a
// decision never depends on anything but the stream and the rules.
func TestReplayGivesTheSameState(t *testing.T) {
	if testing.Short() {
		t.Skip("applies a stream twice")
	}
	dir := t.TempDir()
	natsURL, js := testutil.StartNATS(t, filepath.Join(dir, "nats"))
	sc := testutil.NewScenario(300, 3)
	testutil.Publish(t, js, sc.Messages)

	hashes := map[string]workflow.Hash{}
	for _, run := range []struct {
		name  string
		batch int
	}{{"one", 512}, {"two", 7}} {
		data := filepath.Join(dir, run.name)
		cfg := testutil.Config(data)
		cfg.NATSURL, cfg.BatchMax = natsURL, run.batch
		in := testutil.Start(t, cfg)
		// The second run finds the outcomes of the first in the stream:
		// wait for its store to have applied the whole stream instead.
		testutil.WaitApplied(t, in, uint64(sc.Stored()))
		in.Stop(t)
		cat := testutil.Catalog(t)
		db, err := store.Open(filepath.Join(data, "hoso.db"), store.Options{Catalog: cat})
		if err != nil {
			t.Fatal(err)
		}
		h, err := db.StateHash(context.Background())
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		hashes[run.name] = h
		testutil.CheckStore(t, filepath.Join(data, "hoso.db"), sc)
	}
	if hashes["one"] != hashes["two"] {
		t.Fatalf("state hashes differ: %s and %s", hashes["one"], hashes["two"])
	}
	// The state hash sees a change of state.
	cat := testutil.Catalog(t)
	db, err := store.Open(filepath.Join(dir, "two", "hoso.db"), store.Options{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	env := workflow.Envelope{Seq: uint64(sc.Stored()) + 1, Subject: "hoso.events.tayninh.x", Published: time.Unix(0, 0),
		Rejection: &workflow.Rejection{Reason: workflow.ReasonMalformed, Detail: "x"}}
	if _, err := db.Apply(context.Background(), []workflow.Envelope{env}); err != nil {
		t.Fatal(err)
	}
	if h, _ := db.StateHash(context.Background()); h == hashes["two"] {
		t.Fatal("state hash unchanged after applying one more message")
	}
}
