package conformance

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// vn is Vietnam's time.
var vn = time.FixedZone("ICT", 7*3600)

// ceEvent builds a contract event with the CloudEvents Go SDK, id and
// time set by the vendor (a retry must reuse both).
func ceEvent(t *testing.T, id, action, dossier string, at time.Time, data map[string]any) cloudevents.Event {
	t.Helper()
	ev := cloudevents.NewEvent()
	ev.SetID(id)
	ev.SetSource("/motcua/tayninh")
	ev.SetType("vn.gov.hoso." + action)
	ev.SetSubject(dossier)
	ev.SetTime(at)
	if err := ev.SetData(cloudevents.ApplicationJSON, data); err != nil {
		t.Fatal(err)
	}
	if err := ev.Validate(); err != nil {
		t.Fatal(err)
	}
	return ev
}

// subjectOf is the contract's subject of a dossier's events of tayninh.
func subjectOf(dossier string) string {
	return "hoso.events.tayninh." + strings.ReplaceAll(dossier, ".", "_")
}

// TestCloudEventsGoSDK drives hoso the way a vendor using the CloudEvents
// Go SDK's NATS JetStream binding does, under access control: the SDK's
// sender (binary content mode, its default, and structured mode), and
// the SDK's message writer with a publish of the vendor's own carrying
// Nats-Msg-Id. Each event gets the outcome docs/contract.md says.
func TestCloudEventsGoSDK(t *testing.T) {
	h := startHoso(t)
	nc := connectSource(t, h, "tayninh")
	outcomes := newOutcomeReader(t, nc, "tayninh")
	hanoi := newOutcomeReader(t, connectSource(t, h, "hanoi"), "hanoi")
	received := time.Date(2025, 9, 1, 8, 15, 0, 0, vn)
	base := map[string]any{"procedure": "1.004227", "agency": "H57", "actor": "cb-0142"}
	digitized := []map[string]string{{"kind": "input_digitized", "name": "don-de-nghi.pdf"}}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}

	for i, mode := range []struct {
		name string
		ctx  func(context.Context) context.Context
	}{
		{"binary", func(ctx context.Context) context.Context { return ctx }}, // the SDK's default
		{"structured", cloudevents.WithEncodingStructured},
	} {
		t.Run(mode.name, func(t *testing.T) {
			dossier := fmt.Sprintf("000.00.12.H57-250901-%04d", 101+i)
			// The binding reads the stream's information before it sends
			// (and would try to create the stream if it could not).
			sender, err := cejs.NewSenderFromConn(nc, "HOSO_EVENTS", subjectOf(dossier), []nats.JSOpt{nats.MaxWait(5 * time.Second)})
			if err != nil {
				t.Fatalf("the SDK's sender under access control: %v", err)
			}
			client, err := cloudevents.NewClient(sender)
			if err != nil {
				t.Fatal(err)
			}
			ctx := mode.ctx(t.Context())
			send := func(ev cloudevents.Event) {
				t.Helper()
				if res := client.Send(ctx, ev); !cloudevents.IsACK(res) {
					t.Fatalf("send %s: %v", ev.ID(), res)
				}
			}
			id := func(n int) string { return fmt.Sprintf("sdkgo-%s-%d", mode.name, n) }
			send(ceEvent(t, id(1), "receive", dossier, received, with(map[string]any{"claimed_status": 2, "due": "2025-09-15", "attachments": digitized})))
			send(ceEvent(t, id(2), "assign", dossier, received.Add(24*time.Hour), with(map[string]any{"department": "phong-tu-phap", "claimed_status": 9})))
			send(ceEvent(t, id(3), "resolve", dossier, received.Add(25*time.Hour), with(map[string]any{"claimed_status": 9})))
			send(ceEvent(t, id(4), "assign", dossier, received.Add(26*time.Hour), map[string]any{"agency": "H57", "actor": "cb-0142"}))

			got := outcomes.next(4)
			want := []struct {
				kind, action, reason string
				status               int
			}{
				// Received: status 2, due at the end of the working day 15/9.
				{"accepted", "receive", "", 2},
				// Assigned (status 4), but the system shows 9.
				{"correction", "assign", "status_mismatch", 4},
				// Resolving needs the electronic result: refused, the
				// dossier stays in status 4.
				{"rejected", "resolve", "missing_attachment", 4},
				// data.procedure is required; the dossier keeps status 4.
				{"rejected", "", "malformed", 4},
			}
			for j, o := range got {
				w := want[j]
				if o.EventID != id(j+1) || o.Dossier != dossier {
					t.Errorf("outcome %d is of %s/%s, want %s/%s", j, o.EventID, o.Dossier, id(j+1), dossier)
				}
				if w.kind != "" && (o.Kind != w.kind || o.Reason != w.reason || o.Status != w.status) {
					t.Errorf("outcome of %s: %s/%s status %d, want %s/%s status %d", o.EventID, o.Kind, o.Reason, o.Status, w.kind, w.reason, w.status)
				}
				if w.action != "" && o.Action != w.action {
					t.Errorf("outcome of %s: action %q, want %q", o.EventID, o.Action, w.action)
				}
				if wantSubj := fmt.Sprintf("hoso.outcomes.%s.tayninh.%s", o.Kind, strings.ReplaceAll(dossier, ".", "_")); o.Subject != wantSubj {
					t.Errorf("outcome of %s on %s, want %s", o.EventID, o.Subject, wantSubj)
				}
			}
			if got[0].Due != "2025-09-15T17:00:00+07:00" {
				t.Errorf("receive's due = %q, want the end of the working day 2025-09-15T17:00:00+07:00", got[0].Due)
			}
		})
	}

	// The SDK's writer and a publish of one's own: the Nats-Msg-Id header
	// makes JetStream drop a repeat, with no second outcome.
	t.Run("writer with Nats-Msg-Id", func(t *testing.T) {
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		dossier := "000.00.12.H57-250901-0103"
		ev := ceEvent(t, "sdkgo-writer-1", "receive", dossier, received, with(map[string]any{"claimed_status": 2, "attachments": digitized}))
		for attempt := 1; attempt <= 2; attempt++ {
			var body bytes.Buffer
			header, err := cejs.WriteMsg(t.Context(), binding.ToMessage(&ev), &body)
			if err != nil {
				t.Fatal(err)
			}
			msg := &nats.Msg{Subject: subjectOf(dossier), Header: header, Data: body.Bytes()}
			msg.Header.Set(jetstream.MsgIDHeader, ev.ID())
			ack, err := js.PublishMsg(t.Context(), msg)
			if err != nil {
				t.Fatalf("publish attempt %d: %v", attempt, err)
			}
			if ack.Duplicate != (attempt == 2) {
				t.Errorf("attempt %d: duplicate = %v", attempt, ack.Duplicate)
			}
		}
		o := outcomes.next(1)[0]
		if o.Kind != "accepted" || o.Status != 2 || o.EventID != ev.ID() {
			t.Errorf("outcome %+v, want accepted, status 2, of %s", o, ev.ID())
		}
		if o.MsgID == "" || !strings.HasPrefix(o.MsgID, ev.ID()+"@") {
			t.Errorf("outcome's Nats-Msg-Id %q, want %s@<stream sequence>", o.MsgID, ev.ID())
		}
		outcomes.none()
	})
	// The other source saw none of it.
	hanoi.none()
}
