package events_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/natstest"
	"github.com/hoso-vn/hoso/workflow"
)

// The embedded server and the helpers the tests of this package share
// with natsserver's.
var (
	testLogger       = natstest.Logger
	startJS          = natstest.StartJS
	startUsersServer = natstest.StartUsersServer
	setup            = natstest.Setup
	waitFor          = natstest.WaitFor
	run              = natstest.Run
)

const enginePassword = natstest.EnginePassword

// testEvent returns the i-th event of a test stream: ten dossiers, taking
// turns.
func testEvent(i int) *workflow.Event {
	return &workflow.Event{
		ID:        fmt.Sprintf("evt-%d", i),
		SourceURI: "/motcua/test",
		Source:    "motcua-test",
		Action:    "receive",
		Dossier:   fmt.Sprintf("000.00.12.H57-241106-%04d", i%10),
		Time:      time.Date(2024, 11, 6, 8, 0, 0, 0, workflow.Zone).Add(time.Duration(i) * time.Second),
		Procedure: "1.004227",
		Agency:    "H57.12",
		Actor:     "canbo-01",
	}
}

// publishEvents publishes events from..to-1 and waits for their acks.
func publishEvents(t testing.TB, js jetstream.JetStream, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		ev := testEvent(i)
		data, err := events.Encode(ev)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		msg := &nats.Msg{Subject: events.Subject(ev.Source, ev.Dossier), Data: data, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
		for {
			_, err := js.PublishMsgAsync(msg)
			if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
				// The window of unacknowledged messages is full on a busy
				// machine: let the server catch up, then go on.
				waitAcks(t, js, from, to)
				continue
			}
			if err != nil {
				t.Fatalf("publish event %d: %v", i, err)
			}
			break
		}
	}
	waitAcks(t, js, from, to)
}

// waitAcks waits until every asynchronous publish of js is acknowledged,
// failing the test after 10 s.
func waitAcks(t testing.TB, js jetstream.JetStream, from, to int) {
	t.Helper()
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(10 * time.Second):
		t.Fatalf("publishing events %d..%d: no acks after 10s", from, to-1)
	}
}

var errInjected = errors.New("injected failure")

// memStore is a small in-memory Applier and Outbox: it applies envelopes
// above its applied sequence, keeps one outcome per applied envelope in an
// outbox, records every Apply call, and fails on demand.
type memStore struct {
	mu        sync.Mutex           // guards every field below
	applied   uint64               // stream sequence of the last applied envelope
	envs      []workflow.Envelope  // applied envelopes, in order
	attempts  [][]uint64           // sequences of every Apply call, failed ones included
	batches   [][]uint64           // sequences of every successful Apply call
	skipped   int                  // envelopes at or below applied (redeliveries)
	gaps      []string             // envelopes that did not continue applied
	outbox    []workflow.Outcome   // outcomes not yet marked published, by Seq
	marks     []uint64             // MarkPublished arguments
	failApply int                  // the next failApply Apply calls fail
	failMark  bool                 // MarkPublished fails
	onApply   func(applied uint64) // called after a successful Apply, lock held
}

func (s *memStore) Apply(ctx context.Context, batch []workflow.Envelope) (workflow.BatchResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seqs := make([]uint64, len(batch))
	for i, env := range batch {
		seqs[i] = env.Seq
	}
	s.attempts = append(s.attempts, seqs)
	if s.failApply > 0 {
		s.failApply--
		return workflow.BatchResult{}, errInjected
	}
	var res workflow.BatchResult
	for _, env := range batch {
		if env.Seq <= s.applied {
			res.Skipped++
			s.skipped++
			continue
		}
		if env.Seq != s.applied+1 {
			s.gaps = append(s.gaps, fmt.Sprintf("%d after %d", env.Seq, s.applied))
		}
		o := workflow.Outcome{Seq: env.Seq, Time: env.Published}
		if e := env.Event; e != nil {
			o.Kind, o.EventID, o.Source, o.Dossier, o.Action = workflow.OutcomeAccepted, e.ID, e.Source, e.Dossier, e.Action
			res.Accepted++
		} else {
			r := env.Rejection
			o.Kind, o.EventID, o.Source, o.Dossier, o.Reason = workflow.OutcomeRejected, r.EventID, r.Source, r.Dossier, r.Reason
			res.Rejected++
		}
		s.outbox = append(s.outbox, o)
		res.Outcomes = append(res.Outcomes, o)
		s.envs = append(s.envs, env)
		s.applied = env.Seq
	}
	res.LastSeq = s.applied
	s.batches = append(s.batches, seqs)
	if s.onApply != nil {
		s.onApply(s.applied)
	}
	return res, nil
}

func (s *memStore) PendingOutcomes(ctx context.Context, after uint64, max int) ([]workflow.Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []workflow.Outcome
	for _, o := range s.outbox {
		if o.Seq > after && len(out) < max {
			out = append(out, o)
		}
	}
	return out, nil
}

func (s *memStore) MarkPublished(ctx context.Context, upTo uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failMark {
		return errInjected
	}
	s.marks = append(s.marks, upTo)
	s.outbox = slices.DeleteFunc(s.outbox, func(o workflow.Outcome) bool { return o.Seq <= upTo })
	return nil
}

// add puts outcomes into the outbox directly, as a committed batch would.
func (s *memStore) add(outcomes ...workflow.Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outbox = append(s.outbox, outcomes...)
}

func (s *memStore) appliedSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied
}

func (s *memStore) outboxLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.outbox)
}

func (s *memStore) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.attempts)
}

// checkApplied checks that Apply saw exactly the sequences 1..n, each once,
// in order, with no gap and no redelivery.
func (s *memStore) checkApplied(t testing.TB, n int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.envs) != n {
		t.Fatalf("applied %d envelopes, want %d", len(s.envs), n)
	}
	for i, env := range s.envs {
		if env.Seq != uint64(i+1) {
			t.Fatalf("envelope %d has seq %d, want %d", i, env.Seq, i+1)
		}
	}
	if len(s.gaps) > 0 {
		t.Errorf("Apply saw gaps: %v", s.gaps)
	}
	if s.skipped > 0 {
		t.Errorf("Apply saw %d redelivered envelopes, want none", s.skipped)
	}
}

// expectMalformed decodes raw as published on subject and fails the test
// unless it is malformed with every one of details in its detail, and
// decoded exactly as the former decoder decodes it.
func expectMalformed(t *testing.T, name, subject string, raw []byte, published time.Time, details []string) {
	t.Helper()
	env := events.Decode(subject, raw, 4, published)
	if env.Rejection == nil || env.Rejection.Reason != workflow.ReasonMalformed {
		t.Errorf("%s: Decode = %+v, want malformed", name, env.Event)
		return
	}
	for _, d := range details {
		if !strings.Contains(env.Rejection.Detail, d) {
			t.Errorf("%s: detail %q does not say %q", name, env.Rejection.Detail, d)
		}
	}
	if diff := cmp.Diff(events.OldDecode(subject, raw, 4, published), env, timeEqual); diff != "" {
		t.Errorf("%s: differs from the former decoder (-old +new):\n%s", name, diff)
	}
}
