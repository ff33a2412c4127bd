package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// reconcileOutcomes returns corrections of a reconciliation run: no stream
// sequence, an event id per dossier.
func reconcileOutcomes(run string, from, to int) []workflow.Outcome {
	var out []workflow.Outcome
	for i := from; i < to; i++ {
		code := fmt.Sprintf("000.00.12.H57-251001-%04d", i)
		out = append(out, workflow.Outcome{
			Kind: workflow.OutcomeCorrection, EventID: "reconcile:" + run + ":" + code, Source: "tayninh", Dossier: code,
			Action: "reconcile", Status: 4, ClaimedStatus: 9, Reason: workflow.ReasonStatusMismatch,
			Time: time.Date(2025, 10, 20, 9, 0, 0, 0, time.UTC),
		})
	}
	return out
}

func TestOutcomePublisher(t *testing.T) {
	_, _, js := startJS(t)
	setup(t, js)
	p := events.NewOutcomePublisher(js)
	ctx := t.Context()
	count := func() uint64 {
		t.Helper()
		s, err := js.Stream(ctx, events.OutcomesStream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}

	first := reconcileOutcomes("run1", 0, 600) // more than one window of acknowledgements
	if stored, err := p.PublishOutcomes(ctx, first); err != nil || stored != 600 || count() != 600 {
		t.Fatalf("PublishOutcomes(600) = %d, %v; stream holds %d", stored, err, count())
	}
	// The same outcomes again: the stream drops them all.
	if stored, err := p.PublishOutcomes(ctx, first); err != nil || stored != 0 || count() != 600 {
		t.Fatalf("PublishOutcomes(the same 600) = %d, %v; stream holds %d", stored, err, count())
	}
	// Half of them again, and another run's.
	more := append(reconcileOutcomes("run1", 300, 600), reconcileOutcomes("run2", 0, 10)...)
	if stored, err := p.PublishOutcomes(ctx, more); err != nil || stored != 10 || count() != 610 {
		t.Fatalf("PublishOutcomes(300 old, 10 new) = %d, %v; stream holds %d", stored, err, count())
	}
	if stored, err := p.PublishOutcomes(ctx, nil); err != nil || stored != 0 {
		t.Fatalf("PublishOutcomes(nil) = %d, %v", stored, err)
	}

	s, err := js.Stream(ctx, events.OutcomesStream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got workflow.Outcome
	if err := json.Unmarshal(m.Data, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first[0], got); diff != "" {
		t.Errorf("first outcome (-want +got):\n%s", diff)
	}
	if want := "hoso.outcomes.correction.tayninh.000_00_12_H57-251001-0000"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	if id := m.Header.Get(jetstream.MsgIDHeader); id != "reconcile:run1:000.00.12.H57-251001-0000@0" {
		t.Errorf("Nats-Msg-Id %q", id)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.PublishOutcomes(canceled, reconcileOutcomes("run3", 0, 5)); err == nil {
		t.Error("PublishOutcomes(canceled) = nil error")
	}
}
