package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
	"github.com/nats-io/nats.go/jetstream"
)

// testOutcomes returns outcomes for seqs from..to-1, of every kind, some of
// unreadable messages (no event id, source or dossier).
func testOutcomes(from, to int) []workflow.Outcome {
	kinds := []workflow.OutcomeKind{workflow.OutcomeAccepted, workflow.OutcomeRejected, workflow.OutcomeCorrection, workflow.OutcomeDeadline}
	var out []workflow.Outcome
	for i := from; i < to; i++ {
		o := workflow.Outcome{
			Kind:    kinds[i%len(kinds)],
			Seq:     uint64(i),
			EventID: fmt.Sprintf("evt-%d", i),
			Source:  "motcua-test",
			Dossier: fmt.Sprintf("000.00.12.H57-241106-%04d", i%7),
			Status:  workflow.StatusReceived,
			Time:    time.Date(2024, 11, 6, 8, 0, i, 0, time.UTC),
		}
		if i%5 == 0 {
			o = workflow.Outcome{Kind: workflow.OutcomeRejected, Seq: uint64(i), Reason: workflow.ReasonMalformed, Time: o.Time}
		}
		out = append(out, o)
	}
	return out
}

// outcomesStream returns the number of messages in HOSO_OUTCOMES.
func outcomesStream(t testing.TB, js jetstream.JetStream) (jetstream.Stream, uint64) {
	t.Helper()
	s, err := js.Stream(t.Context(), events.OutcomesStream)
	if err != nil {
		t.Fatalf("outcomes stream: %v", err)
	}
	return s, s.CachedInfo().State.Msgs
}

// checkPublished checks that HOSO_OUTCOMES holds exactly want, one message
// each, on its subject, with its Nats-Msg-Id.
func checkPublished(t testing.TB, js jetstream.JetStream, want []workflow.Outcome) {
	t.Helper()
	s, n := outcomesStream(t, js)
	if n != uint64(len(want)) {
		t.Fatalf("outcomes stream holds %d messages, want %d", n, len(want))
	}
	got := map[uint64]workflow.Outcome{}
	for seq := uint64(1); seq <= n; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		if err != nil {
			t.Fatalf("get outcome message %d: %v", seq, err)
		}
		var o workflow.Outcome
		if err := json.Unmarshal(m.Data, &o); err != nil {
			t.Fatalf("outcome message %d: %v", seq, err)
		}
		if want := events.OutcomeSubject(o.Kind, o.Source, o.Dossier); m.Subject != want {
			t.Errorf("outcome %d published on %q, want %q", o.Seq, m.Subject, want)
		}
		if id := m.Header.Get(jetstream.MsgIDHeader); id != o.MsgID() {
			t.Errorf("outcome %d has Nats-Msg-Id %q, want %q", o.Seq, id, o.MsgID())
		}
		if _, dup := got[o.Seq]; dup {
			t.Errorf("outcome %d published twice", o.Seq)
		}
		got[o.Seq] = o
	}
	for _, w := range want {
		if diff := cmp.Diff(w, got[w.Seq]); diff != "" {
			t.Errorf("outcome %d (-want +got):\n%s", w.Seq, diff)
		}
	}
}

func TestRelayPublishesOutbox(t *testing.T) {
	_, _, js := startJS(t)
	setup(t, js)
	all := testOutcomes(1, 2501)
	st := &memStore{}
	st.add(all[:2000]...) // pending before the relay starts

	r := events.NewRelay(js, st, testLogger(t))
	run(t, r.Run)
	waitFor(t, 10*time.Second, "the outbox published", func() bool { return st.outboxLen() == 0 })

	// Then the fast path: committed and enqueued.
	st.add(all[2000:]...)
	r.Enqueue(all[2000:])
	waitFor(t, 10*time.Second, "the enqueued outcomes published", func() bool { return st.outboxLen() == 0 })
	checkPublished(t, js, all)

	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.marks) == 0 || len(st.marks) > 10 || st.marks[len(st.marks)-1] != 2500 {
		t.Errorf("MarkPublished calls %v, want a few (coalesced) ending at 2500", st.marks)
	}
	for i := 1; i < len(st.marks); i++ {
		if st.marks[i] <= st.marks[i-1] {
			t.Errorf("MarkPublished went back: %v", st.marks)
		}
	}
}

func TestRelayReadsOutboxOnGap(t *testing.T) {
	_, _, js := startJS(t)
	setup(t, js)
	st := &memStore{}
	r := events.NewRelay(js, st, testLogger(t))
	run(t, r.Run)
	first := testOutcomes(1, 11)
	st.add(first...)
	r.Enqueue(first)
	waitFor(t, 5*time.Second, "the first outcomes published", func() bool { return st.outboxLen() == 0 })

	// Outcomes 11..30 are committed, but only 21..30 are enqueued (hints
	// lost): the relay notices the gap and reads the outbox.
	more := testOutcomes(11, 31)
	st.add(more...)
	r.Enqueue(more[10:])
	waitFor(t, 5*time.Second, "the outcomes behind the gap published", func() bool { return st.outboxLen() == 0 })
	checkPublished(t, js, append(first, more...))
}

func TestRelayRestartDedupes(t *testing.T) {
	_, _, js := startJS(t)
	setup(t, js)
	all := testOutcomes(1, 301)
	st := &memStore{failMark: true}
	st.add(all...)

	// The first relay publishes everything but cannot mark it published.
	r := events.NewRelay(js, st, testLogger(t).With("expect", "injected failures"))
	stop := run(t, r.Run)
	waitFor(t, 10*time.Second, "the outcomes published", func() bool {
		_, n := outcomesStream(t, js)
		return n == uint64(len(all))
	})
	stop()
	if st.outboxLen() != len(all) {
		t.Fatalf("outbox holds %d outcomes, want all %d still unmarked", st.outboxLen(), len(all))
	}

	// A restarted relay republishes them; the stream drops the copies.
	st.mu.Lock()
	st.failMark = false
	st.mu.Unlock()
	r = events.NewRelay(js, st, testLogger(t))
	run(t, r.Run)
	waitFor(t, 10*time.Second, "the outbox marked published", func() bool { return st.outboxLen() == 0 })
	checkPublished(t, js, all)
}

// countingHandler counts the error records logged through it.
type countingHandler struct {
	slog.Handler
	errors *atomic.Int64
}

func (h countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.errors.Add(1)
	}
	return h.Handler.Handle(ctx, r)
}

func TestRelayRetriesPublish(t *testing.T) {
	_, _, js := startJS(t)
	// No outcomes stream yet: publishing fails until Setup creates it.
	st := &memStore{}
	all := testOutcomes(1, 21)
	st.add(all...)
	var errs atomic.Int64
	logger := slog.New(countingHandler{testLogger(t).With("expect", "no stream yet").Handler(), &errs})
	r := events.NewRelay(js, st, logger)
	run(t, r.Run)
	waitFor(t, 5*time.Second, "a failed publish", func() bool { return errs.Load() > 0 })
	if n := st.outboxLen(); n != len(all) {
		t.Fatalf("outbox holds %d outcomes after failed publishes, want %d", n, len(all))
	}
	setup(t, js)
	waitFor(t, 15*time.Second, "the outbox published after Setup", func() bool { return st.outboxLen() == 0 })
	checkPublished(t, js, all)
}

// TestRelayDeadLetters checks that an unreadable message's outcome also
// publishes the original to HOSO_DEADLETTER, once, even when a second
// relay publishes the same outbox again.
func TestRelayDeadLetters(t *testing.T) {
	_, _, js := startJS(t)
	setup(t, js)
	raw := []byte("\xffnot an event")
	if _, err := js.Publish(t.Context(), "hoso.events.motcua-test.x", raw); err != nil {
		t.Fatal(err)
	}
	o := workflow.Outcome{Kind: workflow.OutcomeRejected, Seq: 1, Source: "motcua-test", Reason: workflow.ReasonMalformed,
		MessageEN: "Malformed message: payload is not valid UTF-8\r\ninjected: header", Time: time.Date(2024, 11, 6, 8, 0, 0, 0, time.UTC)}
	other := workflow.Outcome{Kind: workflow.OutcomeRejected, Seq: 2, EventID: "e", Source: "motcua-test", Reason: workflow.ReasonInvalidTransition, Time: o.Time}
	for range 2 {
		st := &memStore{}
		st.add(o, other)
		r := events.NewRelay(js, st, testLogger(t))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		waitFor(t, 10*time.Second, "the outbox published", func() bool { return st.outboxLen() == 0 })
		cancel()
		<-done
	}
	s, err := js.Stream(t.Context(), events.DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("dead-letter stream holds %d messages, want 1 (only the malformed one, once)", info.State.Msgs)
	}
	dl, err := s.GetMsg(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if dl.Subject != "hoso.deadletter.motcua-test" || string(dl.Data) != string(raw) ||
		dl.Header.Get(events.HeaderStreamSeq) != "1" || dl.Header.Get(events.HeaderReason) != "malformed" ||
		dl.Header.Get(events.HeaderDetail) != "Malformed message: payload is not valid UTF-8  injected: header" {
		t.Fatalf("dead letter = %s %q %v", dl.Subject, dl.Data, dl.Header)
	}
}

func TestDeadLetterSubject(t *testing.T) {
	for source, want := range map[string]string{
		"motcua-tn": "hoso.deadletter.motcua-tn", "": "hoso.deadletter._", "Bad": "hoso.deadletter._",
		"a.b": "hoso.deadletter._", ">": "hoso.deadletter._",
	} {
		if got := events.DeadLetterSubject(source); got != want {
			t.Errorf("DeadLetterSubject(%q) = %q, want %q", source, got, want)
		}
	}
}

func TestDeadLettered(t *testing.T) {
	for _, tt := range []struct {
		kind   workflow.OutcomeKind
		reason workflow.Reason
		want   bool
	}{
		{workflow.OutcomeRejected, workflow.ReasonMalformed, true},
		{workflow.OutcomeRejected, workflow.ReasonTokenMismatch, true},
		{workflow.OutcomeRejected, workflow.ReasonInternal, true},
		{workflow.OutcomeRejected, workflow.ReasonUnknownAction, true},
		{workflow.OutcomeRejected, workflow.ReasonUnknownProcedure, true},
		{workflow.OutcomeRejected, workflow.ReasonInvalidTransition, false},
		{workflow.OutcomeRejected, workflow.ReasonDuplicate, false},
		{workflow.OutcomeCorrection, workflow.ReasonStatusMismatch, false},
		{workflow.OutcomeAccepted, "", false},
	} {
		o := workflow.Outcome{Kind: tt.kind, Reason: tt.reason}
		if got := events.DeadLettered(&o); got != tt.want {
			t.Errorf("DeadLettered(%s %s) = %v, want %v", tt.kind, tt.reason, got, tt.want)
		}
	}
}

// TestRelayDeadLetterPayloadMissing: when HOSO_EVENTS no longer holds the
// original (an age limit, a purge), the dead letter is published empty,
// marked so, rather than holding up the outcomes.
func TestRelayDeadLetterPayloadMissing(t *testing.T) {
	_, _, js := startJS(t)
	setup(t, js)
	st := &memStore{}
	st.add(workflow.Outcome{Kind: workflow.OutcomeRejected, Seq: 7, Reason: workflow.ReasonTokenMismatch, Time: time.Date(2024, 11, 6, 8, 0, 0, 0, time.UTC)})
	r := events.NewRelay(js, st, testLogger(t))
	run(t, r.Run)
	waitFor(t, 10*time.Second, "the outbox published", func() bool { return st.outboxLen() == 0 })
	s, err := js.Stream(t.Context(), events.DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	dl, err := s.GetMsg(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if dl.Subject != "hoso.deadletter._" || len(dl.Data) != 0 || dl.Header.Get(events.HeaderPayloadMissing) != "true" ||
		dl.Header.Get(events.HeaderStreamSeq) != "7" || dl.Header.Get(events.HeaderReason) != "token_mismatch" {
		t.Fatalf("dead letter = %s %q %v", dl.Subject, dl.Data, dl.Header)
	}
}
