package engine_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// TestReservedSource publishes, with access control off (the first-run
// default, where NATS lets anyone publish anywhere), a vendor's receipt on
// the reserved source: hoso.events.hoso.<token>. hoso refuses it as
// unknown_action, as it refuses hoso's own actions from a vendor's source,
// and the dossier is not created.
func TestReservedSource(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: skipped with -short")
	}
	in := testutil.Start(t, testutil.Config(t.TempDir()))
	_, js := testutil.Connect(t, in.NATSURL)
	const code = "000.00.12.H57-251001-0001"
	payload := `{"specversion":"1.0","id":"ev-0001","source":"/motcua/tayninh",
 "type":"vn.gov.hoso.receive","subject":"` + code + `","time":"2025-10-01T08:15:00+07:00",
 "data":{"procedure":"1.004227","agency":"H57","actor":"cb-0142","due":"2025-10-15",
 "attachments":[{"kind":"input_digitized","name":"don.pdf"}]}}`
	m := &nats.Msg{Subject: "hoso.events.hoso.000_00_12_H57-251001-0001", Data: []byte(payload), Header: nats.Header{}}
	m.Header.Set(jetstream.MsgIDHeader, "ev-0001")
	if _, err := js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	testutil.WaitOutcomes(t, js, 1, 30*time.Second)
	st, err := js.Stream(context.Background(), events.OutcomesStream)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := st.GetMsg(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var o workflow.Outcome
	if err := json.Unmarshal(raw.Data, &o); err != nil {
		t.Fatal(err)
	}
	if o.Kind != workflow.OutcomeRejected || o.Reason != workflow.ReasonUnknownAction ||
		raw.Subject != "hoso.outcomes.rejected.hoso.000_00_12_H57-251001-0001" {
		t.Fatalf("receipt on the reserved source: %s %s on %s (%s), want rejected %s on hoso.outcomes.rejected.hoso.000_00_12_H57-251001-0001",
			o.Kind, o.Reason, raw.Subject, o.MessageEN, workflow.ReasonUnknownAction)
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/"+code, 404, nil)
}
