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

// TestDateOnlyAppointment drives a running engine as a vendor does, with
// raw contract JSON: a receipt whose data.due is a date ("hẹn trả ngày
// …") is due at the end of that day's working hours (17:00 with the
// default hours), so the dossier, its outcome and the deadline expiry the
// scheduler publishes once it passes all name 17:00 of that date, never
// its midnight; a due date before the receipt is refused.
func TestDateOnlyAppointment(t *testing.T) {
	cfg := testutil.Config(t.TempDir())
	cfg.Deadlines = 100 * time.Millisecond
	in := testutil.Start(t, cfg)
	nc, _ := testutil.Connect(t, in.NATSURL)

	// Received three days ago at 08:00, due "yesterday": past, so the
	// scheduler expires it; the expiry must name yesterday 17:00.
	today := time.Now().In(workflow.Zone)
	midnight := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, workflow.Zone)
	received := midnight.AddDate(0, 0, -3).Add(8 * time.Hour)
	yesterday := midnight.AddDate(0, 0, -1)
	wantDue := yesterday.Add(17 * time.Hour)

	sub, err := nc.SubscribeSync("hoso.outcomes.*.tayninh.>")
	if err != nil {
		t.Fatal(err)
	}
	code := "000.00.12.H57-261207-0001"
	publish := func(id, action, due string, at time.Time) uint64 {
		t.Helper()
		payload := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"/motcua/tayninh","type":"vn.gov.hoso.%s","subject":%q,`+
			`"time":%q,"data":{"procedure":"1.004227","agency":"H57","actor":"cb-01","department":"mot-cua",`+
			`"attachments":[{"kind":"input_digitized"}],"due":%q}}`, id, action, code, at.Format(time.RFC3339), due)
		msg := &nats.Msg{Subject: events.Subject("tayninh", code), Data: []byte(payload), Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, id)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ack, err := js.PublishMsg(ctx, msg)
		if err != nil {
			t.Fatal(err)
		}
		return ack.Sequence
	}
	next := func() workflow.Outcome {
		t.Helper()
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("no outcome: %v", err)
		}
		var o workflow.Outcome
		if err := json.Unmarshal(m.Data, &o); err != nil {
			t.Fatal(err)
		}
		return o
	}

	// A due date the day before the receipt is no appointment.
	publish("early", "receive", received.AddDate(0, 0, -1).Format(time.DateOnly), received)
	if o := next(); o.Kind != workflow.OutcomeRejected || o.Reason != workflow.ReasonInvalidDue {
		t.Fatalf("receipt due the day before: %+v, want rejected invalid_due", o)
	}

	publish("r1", "receive", yesterday.Format(time.DateOnly), received)
	o := next()
	if o.Kind != workflow.OutcomeAccepted || o.Due == nil || !o.Due.Equal(wantDue) {
		t.Fatalf("receipt outcome %+v, want accepted and due %s", o, wantDue)
	}
	var d struct {
		Due         time.Time `json:"due"`
		OriginalDue time.Time `json:"original_due"`
		Overdue     bool      `json:"overdue"`
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/"+code, 200, &d)
	if !d.Due.Equal(wantDue) || !d.OriginalDue.Equal(wantDue) {
		t.Fatalf("dossier due %s, original %s; want both %s", d.Due, d.OriginalDue, wantDue)
	}
	for {
		o := next()
		if o.Kind != workflow.OutcomeDeadline {
			t.Fatalf("unexpected outcome %+v", o)
		}
		if o.Due == nil || !o.Due.Equal(wantDue) {
			t.Fatalf("deadline outcome %s names due %v, want %s", o.Action, o.Due, wantDue)
		}
		if o.Action == workflow.DeadlineExpired {
			break
		}
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/"+code, 200, &d)
	if !d.Overdue {
		t.Fatalf("dossier %+v, want overdue after the expiry", d)
	}
}
