package testutil

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// EmitAll emits the events (dossier, action) of source tayninh on the
// NATS server at natsURL (which may carry a user and password), one a
// minute from minute past 09:00 on 2025-10-01, each with what its action
// needs and waiting for its outcome, so that all are applied when it
// returns; a rejected event fails the test.
func EmitAll(t testing.TB, natsURL string, minute int, steps [][2]string) {
	t.Helper()
	nc, err := nats.Connect(natsURL, nats.CustomInboxPrefix(events.InboxPrefix("tayninh")))
	if err != nil {
		t.Fatalf("connect %s: %v", events.RedactURL(natsURL), err)
	}
	defer nc.Close()
	at := time.Date(2025, 10, 1, 9, minute, 0, 0, workflow.Zone)
	for i, s := range steps {
		ev := &workflow.Event{ID: rand.Text(), SourceURI: "/hoso/emit/tayninh", Source: "tayninh", Dossier: s[0], Action: s[1],
			Procedure: "1.004227", Agency: "H57", Actor: "cb-01", Time: at.Add(time.Duration(i) * time.Minute)}
		switch s[1] {
		case "receive":
			ev.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized, Name: "don.pdf"}}
		case "assign":
			ev.Department = "tu-phap"
		case "resolve":
			ev.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentResultElectronic, Name: "kq.pdf"}}
		}
		o, err := Emit(nc, ev, 10*time.Second)
		if err != nil || o.Kind != workflow.OutcomeAccepted && o.Kind != workflow.OutcomeCorrection {
			t.Fatalf("emit %s %s: %v %s (%s) %s", s[0], s[1], err, o.Kind, o.Reason, o.MessageEN)
		}
	}
}

// Checkpoints returns the checkpoints of HOSO_CHECKPOINTS, failing the
// test on one it cannot read.
func Checkpoints(t testing.TB, js jetstream.JetStream) []events.CheckpointMessage {
	t.Helper()
	var out []events.CheckpointMessage
	err := events.ReadCheckpoints(context.Background(), js, false, func(uint64) {}, func(_ uint64, m *events.CheckpointMessage, err error) error {
		if err != nil {
			return err
		}
		out = append(out, *m)
		return nil
	})
	if err != nil {
		t.Fatalf("read checkpoints: %v", err)
	}
	return out
}

// WaitCheckpoint waits until HOSO_CHECKPOINTS holds a checkpoint of seq,
// and fails the test if it does not within 20 seconds.
func WaitCheckpoint(t testing.TB, js jetstream.JetStream, seq uint64) {
	t.Helper()
	waitCheckpoint(t, js, fmt.Sprintf("a checkpoint of %d", seq), func(m *events.CheckpointMessage) bool { return m.Seq == seq })
}

// WaitCheckpointSchema waits until HOSO_CHECKPOINTS holds a checkpoint
// of seq computed under the store schema schema, and fails the test if
// it does not within 20 seconds.
func WaitCheckpointSchema(t testing.TB, js jetstream.JetStream, seq uint64, schema int) {
	t.Helper()
	waitCheckpoint(t, js, fmt.Sprintf("a checkpoint of %d under schema %d", seq, schema), func(m *events.CheckpointMessage) bool {
		return m.Seq == seq && m.Schema == schema
	})
}

func waitCheckpoint(t testing.TB, js jetstream.JetStream, what string, ok func(m *events.CheckpointMessage) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var seen []string
		if _, err := js.Stream(context.Background(), events.CheckpointsStream); err == nil {
			for _, m := range Checkpoints(t, js) {
				if ok(&m) {
					return
				}
				seen = append(seen, fmt.Sprintf("%d (schema %d)", m.Seq, m.Schema))
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 20s; checkpoints of %v", what, seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
