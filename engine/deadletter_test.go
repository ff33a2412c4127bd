package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// TestDeadLetter publishes 1,000 unreadable messages and then a valid
// event to a running `hoso serve`: every unreadable one gets a rejection
// outcome and a dead letter with its original bytes and headers naming the
// reason and stream sequence, so does an event of an unknown type, and the
// valid event after them is applied — the stream never stalls.
func TestDeadLetter(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: skipped with -short")
	}
	in := testutil.Start(t, testutil.Config(t.TempDir()))
	_, js := testutil.Connect(t, in.NATSURL)

	const garbage = 1000
	var msgs []*nats.Msg
	for i := range garbage {
		m := &nats.Msg{Subject: "hoso.events.tayninh.x", Header: nats.Header{}}
		switch i % 5 {
		case 0:
			m.Data = []byte(fmt.Sprintf("garbage %d \xff\xfe", i)) // invalid UTF-8
		case 1:
			m.Data = []byte(fmt.Sprintf(`{"specversion":"1.0","id":%d}`, i)) // wrong types, missing fields
		case 2:
			m.Subject = "hoso.events.NOT-A-SOURCE.x" // unknown source: dead letter on "_"
			m.Data = []byte(`{"`)
		case 3:
			m.Data = []byte(fmt.Sprintf(`{"specversion":"1.0","id":"g-%d","source":"/a","type":"vn.gov.hoso.receive","subject":"HS 1","time":"1999-01-01T00:00:00Z","data":{"procedure":"p","agency":"a","actor":"b"}}`, i))
		case 4:
			m.Data = nil // empty
		}
		m.Header.Set("X-Trace", "t-"+strconv.Itoa(i))
		m.Header.Set(jetstream.MsgIDHeader, "garbage-"+strconv.Itoa(i))
		msgs = append(msgs, m)
	}
	for _, m := range msgs {
		if _, err := js.PublishMsgAsync(m); err != nil {
			t.Fatalf("publish garbage: %v", err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		t.Fatal("garbage not acknowledged within 30s")
	}
	// A readable event of a type no definition knows: rejected as
	// unknown_action, and a dead letter for the operator.
	valid := testutil.NewScenario(1, 1).Messages[0]
	var unknown map[string]any
	if err := json.Unmarshal(valid.Data, &unknown); err != nil {
		t.Fatal(err)
	}
	unknown["id"], unknown["type"] = "unknown-action-1", "vn.gov.hoso.teleport"
	raw, err := json.Marshal(unknown)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Publish(t, js, []testutil.Message{{Subject: valid.Subject, Data: raw}, valid})

	testutil.WaitOutcomes(t, js, garbage+2, 60*time.Second)
	ctx := context.Background()
	os, err := js.Stream(ctx, events.OutcomesStream)
	if err != nil {
		t.Fatal(err)
	}
	last, err := os.GetLastMsgForSubject(ctx, "hoso.outcomes.accepted.>")
	if err != nil {
		t.Fatalf("no accepted outcome after %d garbage messages: %v", garbage, err)
	}
	var acc workflow.Outcome
	if err := json.Unmarshal(last.Data, &acc); err != nil || acc.Seq != garbage+2 {
		t.Fatalf("accepted outcome = %+v (%v), want seq %d", acc, err, garbage+2)
	}
	ua, err := os.GetMsg(ctx, garbage+1)
	var u workflow.Outcome
	if err != nil || json.Unmarshal(ua.Data, &u) != nil || u.Reason != workflow.ReasonUnknownAction {
		t.Fatalf("outcome of the unknown action = %+v (%v), want %s", u, err, workflow.ReasonUnknownAction)
	}

	ds, err := js.Stream(ctx, events.DeadLetterStream)
	if err != nil {
		t.Fatalf("dead-letter stream: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var n uint64
	for time.Now().Before(deadline) {
		info, err := ds.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n = info.State.Msgs; n >= garbage+1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n != garbage+1 {
		t.Fatalf("dead-letter stream holds %d messages, want %d (the garbage and the unknown action)", n, garbage+1)
	}
	seen := map[uint64]bool{}
	for dseq := uint64(1); dseq <= n; dseq++ {
		dl, err := ds.GetMsg(ctx, dseq)
		if err != nil {
			t.Fatalf("dead letter %d: %v", dseq, err)
		}
		seq, err := strconv.ParseUint(dl.Header.Get(events.HeaderStreamSeq), 10, 64)
		if err == nil && seq == garbage+1 {
			if dl.Header.Get(events.HeaderReason) != string(workflow.ReasonUnknownAction) || string(dl.Data) != string(raw) {
				t.Fatalf("dead letter of the unknown action = %q %v", dl.Data, dl.Header)
			}
			seen[seq] = true
			continue
		}
		if err != nil || seq < 1 || seq > garbage || seen[seq] {
			t.Fatalf("dead letter %d: %s = %q (duplicate or out of range)", dseq, events.HeaderStreamSeq, dl.Header.Get(events.HeaderStreamSeq))
		}
		seen[seq] = true
		orig := msgs[seq-1]
		wantSubject := "hoso.deadletter.tayninh"
		if seq%5 == 3 {
			wantSubject = "hoso.deadletter._"
		}
		if dl.Subject != wantSubject || string(dl.Data) != string(orig.Data) ||
			dl.Header.Get(events.HeaderReason) != string(workflow.ReasonMalformed) ||
			dl.Header.Get(events.HeaderSubject) != orig.Subject ||
			dl.Header.Get(events.HeaderDetail) == "" ||
			dl.Header.Get("X-Trace") != orig.Header.Get("X-Trace") ||
			dl.Header.Get(jetstream.MsgIDHeader) != events.DeadLetterMsgID(seq) {
			t.Fatalf("dead letter of seq %d = %s %q %v, want %s with the original %q", seq, dl.Subject, dl.Data, dl.Header, wantSubject, orig.Data)
		}
	}
	// Each garbage message also has its rejection outcome.
	rej, err := os.GetLastMsgForSubject(ctx, "hoso.outcomes.rejected.tayninh._")
	if err != nil {
		t.Fatalf("no rejection of an unattributed message: %v", err)
	}
	var r workflow.Outcome
	if err := json.Unmarshal(rej.Data, &r); err != nil || r.Reason != workflow.ReasonMalformed {
		t.Fatalf("rejection outcome = %+v (%v), want malformed", r, err)
	}
}
