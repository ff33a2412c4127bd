package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/engine"
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
	for _, run := range []struct{ name, batch string }{{"one", "512"}, {"two", "7"}} {
		data := filepath.Join(dir, run.name)
		in := startServe(t, data, "--nats-url", natsURL, "--batch-max", run.batch)
		// The second run finds the outcomes of the first in the stream:
		// wait for its store to have applied the whole stream instead.
		waitApplied(t, in, uint64(sc.Stored()))
		in.Stop(t)
		cat, err := engine.LoadDefinitions("")
		if err != nil {
			t.Fatal(err)
		}
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
	db, err := store.Open(filepath.Join(dir, "two", "hoso.db"), store.Options{Catalog: mustCatalog(t)})
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

func mustCatalog(t *testing.T) *workflow.Catalog {
	t.Helper()
	cat, err := engine.LoadDefinitions("")
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// waitApplied polls the instance's metrics until it has applied the
// stream up to seq.
func waitApplied(t *testing.T, in *testutil.Instance, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var got uint64
	for time.Now().Before(deadline) {
		resp, err := http.Get(in.HTTPURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(line, "hoso_applied_sequence "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				got = uint64(f)
			}
		}
		if got >= seq {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("instance applied up to sequence %d, want %d, within a minute", got, seq)
}
