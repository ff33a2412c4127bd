package testutil

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// CheckStore opens the bbolt file of a stopped instance and checks every
// dossier, every chain and every counter against the scenario.
func CheckStore(t testing.TB, path string, sc *Scenario) {
	t.Helper()
	db := OpenStore(t, path)
	defer db.Close()
	ctx := context.Background()
	for code, state := range sc.Final {
		d, err := db.Dossier(ctx, code)
		if err != nil {
			t.Fatalf("dossier %s: %v", code, err)
		}
		if d.State != state || d.History != sc.History[code] {
			t.Errorf("dossier %s: state %s with %d entries, want %s with %d", code, d.State, d.History, state, sc.History[code])
		}
	}
	broken := 0
	checked, err := db.VerifyAll(ctx, func(r workflow.ChainReport) error {
		if !r.OK {
			broken++
			t.Errorf("chain of %s broken: %s", r.Dossier, r.Problem)
		}
		return nil
	})
	if err != nil || checked != len(sc.Final) {
		t.Errorf("VerifyAll checked %d dossiers (%v), want %d", checked, err, len(sc.Final))
	}
	counts, err := db.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range workflow.Reasons() {
		if counts.ByReason[r] != sc.Rejections[r] {
			t.Errorf("store counts %d rejections %s, want %d", counts.ByReason[r], r, sc.Rejections[r])
		}
	}
	if counts.Mismatches != sc.Mismatches || counts.Dossiers != len(sc.Final) {
		t.Errorf("store counts %d mismatches and %d dossiers, want %d and %d", counts.Mismatches, counts.Dossiers, sc.Mismatches, len(sc.Final))
	}
	if seq, _ := db.AppliedSeq(); seq != uint64(sc.Stored()) {
		t.Errorf("applied sequence %d, want %d", seq, sc.Stored())
	}
}

// ReadOutcomes reads the whole outcomes stream and checks that there is
// exactly one outcome per stream sequence 1..n.
func ReadOutcomes(t testing.TB, js jetstream.JetStream, n int) []workflow.Outcome {
	t.Helper()
	ctx := context.Background()
	cons, err := js.OrderedConsumer(ctx, events.OutcomesStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	bySeq := make(map[uint64]workflow.Outcome, n)
	var out []workflow.Outcome
	// A fetch may come back empty while a cluster moves the stream's
	// leader: read on until nothing new comes for 30 s.
	idle := time.Now().Add(30 * time.Second)
	for len(out) < n {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			var o workflow.Outcome
			if err := json.Unmarshal(m.Data(), &o); err != nil {
				t.Fatalf("outcome %s: %v", m.Data(), err)
			}
			if prev, dup := bySeq[o.Seq]; dup {
				t.Fatalf("two outcomes for stream sequence %d: %+v and %+v", o.Seq, prev, o)
			}
			if want := events.OutcomeSubject(o.Kind, o.Source, o.Dossier); m.Subject() != want {
				t.Fatalf("outcome for seq %d on %s, want %s", o.Seq, m.Subject(), want)
			}
			if m.Headers().Get(jetstream.MsgIDHeader) != o.MsgID() {
				t.Fatalf("outcome for seq %d has Nats-Msg-Id %q, want %q", o.Seq, m.Headers().Get(jetstream.MsgIDHeader), o.MsgID())
			}
			bySeq[o.Seq] = o
			out = append(out, o)
		}
		switch {
		case got > 0:
			idle = time.Now().Add(30 * time.Second)
		case time.Now().After(idle):
			t.Fatalf("read %d outcomes, want %d", len(out), n)
		}
	}
	for seq := uint64(1); seq <= uint64(n); seq++ {
		if _, ok := bySeq[seq]; !ok {
			t.Fatalf("no outcome for stream sequence %d", seq)
		}
	}
	return out
}
