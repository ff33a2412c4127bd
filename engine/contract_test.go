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

// TestContractRules drives, with raw publishes, the rules of
// docs/contract.md a vendor meets first: a receipt dated before every
// definition version's effective date is unknown_procedure; a procedure
// code no definition names is taken by the catch-all "*" definition; an
// outcome's time is the event's, or the stream's arrival time for a
// message that could not be read; the rejection record has the arrival
// time, the mismatch record the event's; a retry must reuse the event id.
func TestContractRules(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: skipped with -short")
	}
	in := testutil.Start(t, testutil.Config(t.TempDir()))
	_, js := testutil.Connect(t, in.NATSURL)
	ctx := context.Background()
	const (
		old     = "000.00.12.H57-160301-0001"
		unknown = "000.00.12.H57-251001-0001"
	)
	receipt := func(id, code, procedure, at string) string {
		return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"/motcua/tayninh",
 "type":"vn.gov.hoso.receive","subject":%q,"time":%q,
 "data":{"procedure":%q,"agency":"H57","actor":"cb-0142","claimed_status":4,"due":"2025-10-15",
 "attachments":[{"kind":"input_digitized","name":"don.pdf"}]}}`, id, code, at, procedure)
	}
	msgs := []struct{ subject, data, msgID string }{
		// 1: a receipt of 1 March 2016, before standard version 1 (21 June
		// 2018), the earliest version covering 1.004227.
		{"hoso.events.tayninh.000_00_12_H57-160301-0001", receipt("ev-1", old, "1.004227", "2016-03-01T08:00:00+07:00"), "ev-1"},
		// 2: a procedure code no definition names, claiming status 4 (it is 2).
		{"hoso.events.tayninh.000_00_12_H57-251001-0001", receipt("ev-2", unknown, "9.999999", "2025-10-01T08:15:00+07:00"), "ev-2"},
		// 3: unreadable.
		{"hoso.events.tayninh.000_00_12_H57-251001-0001", `{`, "ev-3"},
		// 4: message 2 retried as the contract says, same id and time
		// (without Nats-Msg-Id, so the stream keeps it).
		{"hoso.events.tayninh.000_00_12_H57-251001-0001", receipt("ev-2", unknown, "9.999999", "2025-10-01T08:15:00+07:00"), ""},
	}
	for _, m := range msgs {
		nm := &nats.Msg{Subject: m.subject, Data: []byte(m.data), Header: nats.Header{}}
		if m.msgID != "" {
			nm.Header.Set(jetstream.MsgIDHeader, m.msgID)
		}
		if _, err := js.PublishMsg(ctx, nm); err != nil {
			t.Fatal(err)
		}
	}
	testutil.WaitOutcomes(t, js, uint64(len(msgs)), 30*time.Second)
	evs, err := js.Stream(ctx, events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := js.Stream(ctx, events.OutcomesStream)
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		Kind   string `json:"kind"`
		Seq    uint64 `json:"seq"`
		Reason string `json:"reason"`
		Time   string `json:"time"`
	}
	arrival := map[uint64]time.Time{}
	got := map[uint64]outcome{}
	for seq := uint64(1); seq <= uint64(len(msgs)); seq++ {
		e, err := evs.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		arrival[seq] = e.Time
		o, err := outs.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		var oc outcome
		if err := json.Unmarshal(o.Data, &oc); err != nil {
			t.Fatal(err)
		}
		got[oc.Seq] = oc
	}
	instant := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("time %q: %v", s, err)
		}
		return tm
	}
	want := []struct {
		kind, reason string
		time         time.Time
	}{
		1: {string(workflow.OutcomeRejected), string(workflow.ReasonUnknownProcedure), time.Date(2016, 3, 1, 1, 0, 0, 0, time.UTC)},
		2: {"correction", "status_mismatch", time.Date(2025, 10, 1, 1, 15, 0, 0, time.UTC)},
		3: {"rejected", "malformed", arrival[3]},
		4: {"rejected", "duplicate", time.Date(2025, 10, 1, 1, 15, 0, 0, time.UTC)},
	}
	for seq := uint64(1); seq <= 4; seq++ {
		o, w := got[seq], want[seq]
		if o.Kind != w.kind || o.Reason != w.reason || !instant(o.Time).Equal(w.time) {
			t.Errorf("outcome of message %d = %s %s at %s, want %s %s at %s", seq, o.Kind, o.Reason, o.Time, w.kind, w.reason, w.time)
		}
	}

	// The catch-all definition took the unknown code.
	var d struct {
		Definition struct {
			ID string `json:"id"`
		} `json:"definition"`
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/"+unknown, 200, &d)
	if d.Definition.ID != "standard" {
		t.Errorf("dossier of procedure 9.999999 pinned to %q, want the catch-all standard", d.Definition.ID)
	}
	// The effective dates are listed: standard version 1
	// (standard-2018.yaml) from 21 June 2018.
	var defs struct {
		Items []struct {
			ID        string `json:"id"`
			Effective string `json:"effective"`
		} `json:"items"`
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/definitions", 200, &defs)
	found := false
	for _, def := range defs.Items {
		found = found || def.ID == "standard" && def.Effective == "2018-06-21"
	}
	if !found {
		t.Errorf("GET /api/v1/definitions = %+v, want standard effective 2018-06-21", defs.Items)
	}

	// Records: a rejection has the arrival time, a mismatch the event's.
	var rej struct {
		Items []struct {
			Seq  uint64    `json:"seq"`
			Time time.Time `json:"time"`
		} `json:"items"`
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/rejections?dossier="+old, 200, &rej)
	if len(rej.Items) != 1 || rej.Items[0].Seq != 1 || !rej.Items[0].Time.Equal(arrival[1]) {
		t.Errorf("rejections of %s = %+v, want seq 1 at its arrival %s", old, rej.Items, arrival[1])
	}
	var mis struct {
		Items []struct {
			Seq  uint64    `json:"seq"`
			Time time.Time `json:"time"`
		} `json:"items"`
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/mismatches?dossier="+unknown, 200, &mis)
	if len(mis.Items) != 1 || mis.Items[0].Seq != 2 || !mis.Items[0].Time.Equal(time.Date(2025, 10, 1, 1, 15, 0, 0, time.UTC)) {
		t.Errorf("mismatches of %s = %+v, want seq 2 at the event's time 2025-10-01T08:15:00+07:00", unknown, mis.Items)
	}
}
