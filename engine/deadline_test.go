package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// TestDeadlineScheduler runs serve with its deadline scheduler: a dossier
// due within the working day gets a warning, one past its due date an
// expiry; both reach the source as deadline outcomes, flag the dossiers,
// and are published once.
func TestDeadlineScheduler(t *testing.T) {
	cfg := testutil.Config(t.TempDir())
	cfg.Deadlines = 100 * time.Millisecond
	in := testutil.Start(t, cfg)
	nc, js := testutil.Connect(t, in.NATSURL)
	sub, err := nc.SubscribeSync("hoso.outcomes.deadline.tayninh.>")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	soon, past := "000.00.12.H57-261125-0001", "000.00.12.H57-261125-0002"
	var msgs []testutil.Message
	for _, d := range []struct {
		code string
		due  time.Time
	}{{soon, now.Add(2 * time.Hour)}, {past, now.Add(-time.Minute)}} {
		for i, action := range []string{"receive", "assign"} {
			ev := &workflow.Event{ID: d.code + "/" + action, SourceURI: "/motcua/tayninh", Source: "tayninh", Action: action,
				Dossier: d.code, Time: now.Add(time.Duration(i-60) * time.Minute), Procedure: "1.004227", Agency: "H57", Actor: "cb",
				Department: "p", Due: d.due, Attachments: []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized}}}
			data, err := events.Encode(ev)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, testutil.Message{Subject: events.Subject("tayninh", d.code), Data: data, MsgID: ev.ID})
		}
	}
	testutil.Publish(t, js, msgs)

	got := map[string]workflow.Outcome{}
	for len(got) < 2 {
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("deadline outcomes so far %v: %v", got, err)
		}
		var o workflow.Outcome
		if err := json.Unmarshal(m.Data, &o); err != nil {
			t.Fatal(err)
		}
		if o.Kind != workflow.OutcomeDeadline || !strings.HasPrefix(m.Subject, "hoso.outcomes.deadline.tayninh.") {
			t.Fatalf("outcome %+v on %s", o, m.Subject)
		}
		got[o.Dossier] = o
	}
	if got[soon].Action != workflow.DeadlineWarning || got[past].Action != workflow.DeadlineExpired {
		t.Fatalf("deadline outcomes %+v, want a warning for %s and an expiry for %s", got, soon, past)
	}
	var d struct {
		Warned  bool `json:"warned"`
		Overdue bool `json:"overdue"`
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/"+soon, 200, &d)
	if !d.Warned || d.Overdue {
		t.Fatalf("%s: %+v, want warned only", soon, d)
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/"+past, 200, &d)
	if !d.Overdue {
		t.Fatalf("%s: %+v, want overdue", past, d)
	}
	// Later scans publish nothing more: the stream keeps 4 events and 2
	// deadlines through several intervals.
	testutil.WaitOutcomes(t, js, 6, 10*time.Second)
	if m, err := sub.NextMsg(time.Second); err != nats.ErrTimeout {
		t.Fatalf("another deadline outcome after the first two: %v %v", m, err)
	}
	st, err := js.Stream(context.Background(), events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil || info.State.Msgs != 6 {
		t.Fatalf("events stream holds %d messages (%v), want 6", info.State.Msgs, err)
	}
}
