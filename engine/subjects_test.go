package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// TestSubjectErrors publishes, as a vendor's client would, well-formed
// CloudEvents on subjects that are not hoso.events.<source>.<token>. The
// contract gives each the reason token_mismatch (the payload is fine, the
// subject is wrong), and an outcome a filtered consumer can ask for: on the
// source's own subject when the source token is valid, else on "_", where
// the dead letter goes too.
func TestSubjectErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: skipped with -short")
	}
	in := testutil.Start(t, testutil.Config(t.TempDir()))
	_, js := testutil.Connect(t, in.NATSURL)

	const code = "000.00.12.H57-251001-0001"
	const token = "000_00_12_H57-251001-0001"
	tests := []struct {
		subject     string
		wantOutcome string // the outcome's subject
		wantDead    string // the dead letter's subject
	}{
		// An invalid source token (uppercase): nobody may subscribe to it.
		{"hoso.events.TayNinh." + token, "hoso.outcomes.rejected._." + token, "hoso.deadletter._"},
		// The dossier token missing.
		{"hoso.events.tayninh", "hoso.outcomes.rejected.tayninh." + token, "hoso.deadletter.tayninh"},
		// One token too many.
		{"hoso.events.tayninh." + token + ".x", "hoso.outcomes.rejected.tayninh." + token, "hoso.deadletter.tayninh"},
	}
	for i, tt := range tests {
		id := fmt.Sprintf("subj-%d", i+1)
		payload := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"/motcua/tayninh",
 "type":"vn.gov.hoso.receive","subject":%q,"time":"2025-10-01T08:15:00+07:00",
 "data":{"procedure":"1.004227","agency":"H57","actor":"cb-0142","due":"2025-10-15",
 "attachments":[{"kind":"input_digitized","name":"don.pdf"}]}}`, id, code)
		m := &nats.Msg{Subject: tt.subject, Data: []byte(payload), Header: nats.Header{}}
		m.Header.Set(jetstream.MsgIDHeader, id)
		if _, err := js.PublishMsg(context.Background(), m); err != nil {
			t.Fatalf("publish on %s: %v", tt.subject, err)
		}
	}
	testutil.WaitOutcomes(t, js, uint64(len(tests)), 30*time.Second)

	ctx := context.Background()
	os, err := js.Stream(ctx, events.OutcomesStream)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		m, err := os.GetMsg(ctx, uint64(i+1))
		if err != nil {
			t.Fatalf("outcome %d: %v", i+1, err)
		}
		var o workflow.Outcome
		if err := json.Unmarshal(m.Data, &o); err != nil {
			t.Fatal(err)
		}
		if o.Seq != uint64(i+1) || o.Reason != workflow.ReasonTokenMismatch || m.Subject != tt.wantOutcome {
			t.Errorf("publish on %s: outcome %s on %s (seq %d), want %s on %s", tt.subject, o.Reason, m.Subject, o.Seq,
				workflow.ReasonTokenMismatch, tt.wantOutcome)
		}
	}

	ds, err := js.Stream(ctx, events.DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := ds.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs >= uint64(len(tests)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead-letter stream holds %d messages, want %d", info.State.Msgs, len(tests))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for dseq := uint64(1); dseq <= uint64(len(tests)); dseq++ {
		dl, err := ds.GetMsg(ctx, dseq)
		if err != nil {
			t.Fatal(err)
		}
		var tt = tests[0]
		for _, c := range tests {
			if c.subject == dl.Header.Get(events.HeaderSubject) {
				tt = c
			}
		}
		if dl.Header.Get(events.HeaderSubject) != tt.subject || dl.Subject != tt.wantDead ||
			dl.Header.Get(events.HeaderReason) != string(workflow.ReasonTokenMismatch) {
			t.Errorf("dead letter of %s on %s with reason %s, want %s with %s", dl.Header.Get(events.HeaderSubject), dl.Subject,
				dl.Header.Get(events.HeaderReason), tt.wantDead, workflow.ReasonTokenMismatch)
		}
	}
}
