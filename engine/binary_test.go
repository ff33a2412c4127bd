package engine_test

import (
	"cmp"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// TestBinaryContentMode publishes a receipt the way the CloudEvents Go
// SDK's NATS JetStream sender does by default, in binary content mode
// (the attributes as ce-* headers, the data alone as the body), to one
// engine, and the same receipt in structured mode to another: both are
// accepted at stream sequence 1 with the same history entry, hash
// included. A binary-mode message with an empty body is rejected as
// malformed, attributed to its event, and dead-lettered with its headers.
// A rebuild of the stream gives the live engine's state.
func TestBinaryContentMode(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: skipped with -short")
	}
	const (
		code    = "000.00.12.H57-251001-0001"
		subject = "hoso.events.tayninh.000_00_12_H57-251001-0001"
		body    = `{"procedure":"1.004227","agency":"H57","actor":"cb-0142","due":"2025-10-15",` +
			`"attachments":[{"kind":"input_digitized","name":"don.pdf","sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}]}`
	)
	type entry = map[string]any
	// run publishes msgs to a fresh engine and returns its outcomes, the
	// dossier's history and the engine.
	run := func(t *testing.T, msgs ...*nats.Msg) ([]workflow.Outcome, []entry, *testutil.Instance, engine.Config) {
		cfg := testutil.Config(t.TempDir())
		in := testutil.Start(t, cfg)
		_, js := testutil.Connect(t, in.NATSURL)
		for i, m := range msgs {
			ack, err := js.PublishMsg(context.Background(), m)
			if err != nil || ack.Sequence != uint64(i+1) {
				t.Fatalf("publish %d: %+v, %v; want stream sequence %d", i+1, ack, err, i+1)
			}
		}
		outs := testutil.ReadOutcomes(t, js, len(msgs))
		slices.SortFunc(outs, func(a, b workflow.Outcome) int { return cmp.Compare(a.Seq, b.Seq) })
		var d struct {
			History []entry `json:"history"`
		}
		testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/"+code, 200, &d)
		return outs, d.History, in, cfg
	}

	structured := &nats.Msg{Subject: subject, Header: nats.Header{}, Data: []byte(`{"specversion":"1.0","id":"ev-0001",
 "source":"/motcua/tayninh","type":"vn.gov.hoso.receive","subject":"` + code + `","time":"2025-10-01T01:15:00Z",
 "datacontenttype":"application/json","traceparent":"00-1","data":` + body + `}`)}
	structured.Header.Set(jetstream.MsgIDHeader, "ev-0001")
	wantOuts, wantHistory, _, _ := run(t, structured)
	if o := wantOuts[0]; o.Kind != workflow.OutcomeAccepted || o.Status != workflow.StatusReceived || o.EventID != "ev-0001" || o.EntryHash == nil {
		t.Fatalf("structured receipt: outcome %+v, want accepted, status 2, with an entry hash", o)
	}

	// As the SDK writes it: lowercase names, the time in UTC (RFC 3339
	// with nanoseconds, none here).
	binary := &nats.Msg{Subject: subject, Header: nats.Header{}, Data: []byte(body)}
	for k, v := range map[string]string{
		"ce-specversion": "1.0", "ce-id": "ev-0001", "ce-source": "/motcua/tayninh", "ce-type": "vn.gov.hoso.receive",
		"ce-subject": code, "ce-time": "2025-10-01T01:15:00Z", "ce-datacontenttype": "application/json",
		"ce-traceparent": "00-1", jetstream.MsgIDHeader: "ev-0001",
	} {
		binary.Header.Set(k, v)
	}
	empty := &nats.Msg{Subject: subject, Header: nats.Header{}}
	for k, v := range binary.Header {
		empty.Header[k] = v
	}
	empty.Header.Set("ce-id", "ev-0002")
	empty.Header.Set("ce-type", "vn.gov.hoso.assign")
	empty.Header.Set(jetstream.MsgIDHeader, "ev-0002")
	outs, history, in, cfg := run(t, binary, empty)

	o := outs[0]
	if o.Kind != workflow.OutcomeAccepted || o.Status != workflow.StatusReceived || o.EventID != "ev-0001" {
		t.Fatalf("binary receipt: outcome %s %s (%s), want accepted, status 2", o.Kind, o.Reason, o.MessageEN)
	}
	if o.EntryHash == nil || *o.EntryHash != *wantOuts[0].EntryHash {
		t.Errorf("binary receipt: entry hash %v, structured %s; want them equal", o.EntryHash, wantOuts[0].EntryHash)
	}
	if diff := gocmp.Diff(wantHistory, history); diff != "" {
		t.Errorf("history after the binary receipt (-structured +binary):\n%s", diff)
	}

	r := outs[1]
	const detail = "Malformed message: data: required (the message body is empty)"
	if r.Kind != workflow.OutcomeRejected || r.Reason != workflow.ReasonMalformed || r.EventID != "ev-0002" ||
		r.Dossier != code || r.Action != "assign" || r.Source != "tayninh" || r.MessageEN != detail {
		t.Fatalf("binary message with an empty body: outcome %+v, want malformed, of ev-0002, assign, %s, tayninh", r, code)
	}
	_, js := testutil.Connect(t, in.NATSURL)
	dl := deadLetterOf(t, js, 2)
	if dl.Subject != "hoso.deadletter.tayninh" || len(dl.Data) != 0 || dl.Header.Get("ce-id") != "ev-0002" ||
		dl.Header.Get("ce-type") != "vn.gov.hoso.assign" || dl.Header.Get("ce-specversion") != "1.0" ||
		dl.Header.Get(events.HeaderReason) != string(workflow.ReasonMalformed) || dl.Header.Get(events.HeaderDetail) != detail {
		t.Fatalf("dead letter of the empty binary message: %s %q %v", dl.Subject, dl.Data, dl.Header)
	}

	var state struct {
		AppliedSeq uint64 `json:"applied_seq"`
		StateHash  string `json:"state_hash"`
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/admin/state", 200, &state)
	in.Stop(t)
	res, err := engine.Rebuild(context.Background(), engine.RebuildConfig{DataDir: cfg.DataDir, Out: filepath.Join(t.TempDir(), "r.db"), Rules: cfg.Rules})
	if err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	if state.AppliedSeq != 2 || res.AppliedSeq != 2 || res.StateHash.String() != state.StateHash {
		t.Fatalf("rebuild: sequence %d, state hash %s; the live engine had %d, %s; want 2 and the same hash",
			res.AppliedSeq, res.StateHash, state.AppliedSeq, state.StateHash)
	}
}

// deadLetterOf waits for the dead letter of the message at seq in
// HOSO_EVENTS and returns it.
func deadLetterOf(t *testing.T, js jetstream.JetStream, seq uint64) *jetstream.RawStreamMsg {
	t.Helper()
	ctx := context.Background()
	ds, err := js.Stream(ctx, events.DeadLetterStream)
	if err != nil {
		t.Fatalf("dead-letter stream: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		info, err := ds.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for dseq := info.State.FirstSeq; dseq <= info.State.LastSeq && info.State.Msgs > 0; dseq++ {
			m, err := ds.GetMsg(ctx, dseq)
			if err == nil && m.Header.Get(events.HeaderStreamSeq) == jsonNumber(seq) {
				return m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no dead letter of stream sequence %d within 30s", seq)
	return nil
}

func jsonNumber(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
