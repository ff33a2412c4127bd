package events_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
	"github.com/nats-io/nats.go/jetstream"
)

// ackFloor returns the consumer's ack floor and pending acks.
func ackFloor(t testing.TB, cons jetstream.Consumer) (floor uint64, pending int) {
	t.Helper()
	info, err := cons.Info(t.Context())
	if err != nil {
		t.Fatalf("consumer info: %v", err)
	}
	return info.AckFloor.Stream, info.NumAckPending
}

func TestConsumerAppliesInStreamOrder(t *testing.T) {
	_, _, js := startJS(t)
	cons := setup(t, js)
	const n = 2000
	publishEvents(t, js, 0, n/2)

	st := &memStore{}
	var mu sync.Mutex
	var results []workflow.BatchResult
	c := events.NewConsumer(js, cons, st, nil, events.ConsumerConfig{
		MaxBatch: 100,
		Logger:   testLogger(t),
		OnBatch: func(r workflow.BatchResult, d time.Duration) {
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		},
	})
	run(t, c.Run)
	publishEvents(t, js, n/2, n) // while consuming
	waitFor(t, 10*time.Second, "all events applied", func() bool { return st.appliedSeq() == n })
	st.checkApplied(t, n)

	for i, env := range st.envs {
		if env.Event == nil || env.Event.ID != testEvent(i).ID {
			t.Fatalf("envelope %d = %+v, want event %s", i, env, testEvent(i).ID)
		}
	}
	for _, b := range st.batches {
		if len(b) > 100 {
			t.Errorf("batch of %d, want at most MaxBatch 100", len(b))
		}
	}
	waitFor(t, 5*time.Second, "ack floor at the last event", func() bool {
		floor, pending := ackFloor(t, cons)
		return floor == n && pending == 0
	})
	if !c.Ready() {
		t.Errorf("Ready() = false while consuming after successful batches")
	}
	mu.Lock()
	if len(results) != len(st.batches) {
		t.Errorf("OnBatch called %d times for %d batches", len(results), len(st.batches))
	}
	mu.Unlock()
}

func TestConsumerRetriesFailedBatch(t *testing.T) {
	_, _, js := startJS(t)
	cons := setup(t, js)
	publishEvents(t, js, 0, 10)

	const failures = 3
	st := &memStore{failApply: failures}
	c := events.NewConsumer(js, cons, st, nil, events.ConsumerConfig{Logger: testLogger(t).With("expect", "injected failures")})
	run(t, c.Run)

	waitFor(t, 5*time.Second, "a failed Apply", func() bool { return st.calls() >= 1 })
	if c.Ready() {
		t.Errorf("Ready() = true while Apply fails")
	}
	if floor, _ := ackFloor(t, cons); floor != 0 {
		t.Errorf("ack floor = %d while Apply fails, want 0 (nothing acked)", floor)
	}
	waitFor(t, 10*time.Second, "all events applied", func() bool { return st.appliedSeq() == 10 })
	st.checkApplied(t, 10)

	st.mu.Lock()
	for i := 1; i <= failures; i++ {
		if !slices.Equal(st.attempts[i], st.attempts[0]) {
			t.Errorf("attempt %d = %v, want the failed batch %v again", i, st.attempts[i], st.attempts[0])
		}
	}
	st.mu.Unlock()
	waitFor(t, 5*time.Second, "ack floor at 10", func() bool { floor, _ := ackFloor(t, cons); return floor == 10 })
	if !c.Ready() {
		t.Errorf("Ready() = false after Apply succeeded")
	}
}

func TestConsumerBatchesAdapt(t *testing.T) {
	_, _, js := startJS(t)
	cons := setup(t, js)
	const n = 5000
	publishEvents(t, js, 0, n)

	st := &memStore{}
	c := events.NewConsumer(js, cons, st, nil, events.ConsumerConfig{MaxBatch: 512, Logger: testLogger(t)})
	run(t, c.Run)
	waitFor(t, 20*time.Second, "the backlog applied", func() bool { return st.appliedSeq() == n })
	st.checkApplied(t, n)
	st.mu.Lock()
	batches := len(st.batches)
	st.mu.Unlock()
	if avg := float64(n) / float64(batches); avg < 10 {
		t.Errorf("backlog of %d applied in %d batches (%.1f per batch), want large batches", n, batches, avg)
	} else {
		t.Logf("backlog of %d applied in %d batches (%.1f per batch)", n, batches, avg)
	}

	// A lone event on an idle stream is applied at once, alone.
	publishEvents(t, js, n, n+1)
	waitFor(t, 2*time.Second, "the lone event applied", func() bool { return st.appliedSeq() == n+1 })
	st.mu.Lock()
	if last := st.batches[len(st.batches)-1]; len(last) != 1 || last[0] != n+1 {
		t.Errorf("lone event applied in batch %v, want [%d]", last, n+1)
	}
	st.mu.Unlock()
}

func TestConsumerIdleSingleEvent(t *testing.T) {
	_, _, js := startJS(t)
	cons := setup(t, js)
	st := &memStore{}
	c := events.NewConsumer(js, cons, st, nil, events.ConsumerConfig{Logger: testLogger(t)})
	run(t, c.Run)
	waitFor(t, 5*time.Second, "Ready", c.Ready)

	publishEvents(t, js, 0, 1)
	waitFor(t, 2*time.Second, "the event applied", func() bool { return st.appliedSeq() == 1 })
	st.checkApplied(t, 1)
}

func TestConsumerMalformedDoesNotBlock(t *testing.T) {
	_, nc, js := startJS(t)
	cons := setup(t, js)
	// Core NATS publishes, as any client could: garbage, then a valid event.
	if err := nc.Publish("hoso.events.motcua-test.X", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the garbage stored", func() bool {
		s, err := js.Stream(t.Context(), events.EventsStream)
		return err == nil && s.CachedInfo().State.Msgs == 1
	})
	publishEvents(t, js, 0, 1)

	st := &memStore{}
	c := events.NewConsumer(js, cons, st, nil, events.ConsumerConfig{Logger: testLogger(t)})
	run(t, c.Run)
	waitFor(t, 5*time.Second, "both applied", func() bool { return st.appliedSeq() == 2 })
	st.checkApplied(t, 2)

	bad := st.envs[0]
	if bad.Event != nil || bad.Rejection == nil || bad.Rejection.Reason != workflow.ReasonMalformed {
		t.Fatalf("garbage decoded to %+v, want a malformed rejection", bad)
	}
	if r := bad.Rejection; r.Source != "motcua-test" || r.Seq != 1 || r.Subject != "hoso.events.motcua-test.X" || r.Time.IsZero() {
		t.Errorf("rejection = %+v, want attributed to source motcua-test, seq 1, with the stream time", r)
	}
	if ok := st.envs[1]; ok.Event == nil || ok.Event.ID != "evt-0" {
		t.Errorf("event after the garbage = %+v, want evt-0", ok)
	}
	waitFor(t, 5*time.Second, "both acked", func() bool { floor, _ := ackFloor(t, cons); return floor == 2 })
}

func TestConsumerRestart(t *testing.T) {
	_, _, js := startJS(t)
	cons := setup(t, js)
	const n = 3000
	publishEvents(t, js, 0, n)

	// The first consumer stops after about a third of the stream, with
	// prefetched messages received but not applied.
	st := &memStore{}
	ctx, cancel := context.WithCancel(t.Context())
	st.onApply = func(applied uint64) {
		if applied < n/3 || ctx.Err() != nil {
			return
		}
		// Stop once the server has delivered beyond what is applied.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if info, err := cons.Info(t.Context()); err == nil && info.Delivered.Stream > applied {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}
	c1 := events.NewConsumer(js, cons, st, nil, events.ConsumerConfig{MaxBatch: 100, Logger: testLogger(t)})
	if err := c1.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if c1.Ready() {
		t.Errorf("Ready() = true after Run returned")
	}
	stopped := st.appliedSeq()
	if stopped < n/3 || stopped == n {
		t.Fatalf("first consumer applied up to %d, want about %d", stopped, n/3)
	}
	floor, pending := ackFloor(t, cons)
	if floor != stopped {
		t.Errorf("ack floor after stop = %d, want the applied seq %d", floor, stopped)
	}
	if pending == 0 {
		t.Errorf("no pending acks after stop: the test did not leave delivered, unapplied messages")
	}

	// A new consumer on the same durable continues without waiting for the
	// ack wait (30s): acked events are not delivered again, unacked ones are.
	cons2, err := js.Consumer(t.Context(), events.EventsStream, events.ConsumerName)
	if err != nil {
		t.Fatal(err)
	}
	c2 := events.NewConsumer(js, cons2, st, nil, events.ConsumerConfig{MaxBatch: 100, Logger: testLogger(t)})
	st.mu.Lock()
	st.onApply = nil
	st.mu.Unlock()
	run(t, c2.Run)
	waitFor(t, 10*time.Second, "the rest applied", func() bool { return st.appliedSeq() == n })
	st.checkApplied(t, n)
}

func TestConsumerStartSeq(t *testing.T) {
	_, _, js := startJS(t)
	cons := setup(t, js)
	publishEvents(t, js, 0, 20)

	st := &memStore{}
	c := events.NewConsumer(js, cons, st, nil, events.ConsumerConfig{Logger: testLogger(t)})
	stop := run(t, c.Run)
	waitFor(t, 5*time.Second, "all applied", func() bool { return st.appliedSeq() == 20 })
	stop()

	// A store restored from an older backup resumes from its own applied
	// sequence, behind the consumer's ack floor.
	restored := &memStore{applied: 5}
	c = events.NewConsumer(js, cons, restored, nil, events.ConsumerConfig{StartSeq: 6, Logger: testLogger(t)})
	run(t, c.Run)
	waitFor(t, 5*time.Second, "the restored store caught up", func() bool { return restored.appliedSeq() == 20 })
	restored.mu.Lock()
	defer restored.mu.Unlock()
	if first := restored.envs[0].Seq; first != 6 || len(restored.envs) != 15 || restored.skipped != 0 {
		t.Errorf("restored store applied %d envelopes from seq %d (%d skipped), want 15 from 6", len(restored.envs), first, restored.skipped)
	}
}

func TestConsumerWithRelay(t *testing.T) {
	_, _, js := startJS(t)
	cons := setup(t, js)
	const n = 500
	publishEvents(t, js, 0, n)

	st := &memStore{}
	relay := events.NewRelay(js, st, testLogger(t))
	c := events.NewConsumer(js, cons, st, relay, events.ConsumerConfig{Logger: testLogger(t)})
	run(t, relay.Run)
	run(t, c.Run)
	waitFor(t, 10*time.Second, "every outcome published", func() bool {
		s, err := js.Stream(t.Context(), events.OutcomesStream)
		return err == nil && s.CachedInfo().State.Msgs == n && st.outboxLen() == 0
	})
	if b := relay.Backlog(); b != 0 {
		t.Errorf("Backlog() = %d after everything was published", b)
	}
}

func TestConsumerRecoversLostDelivery(t *testing.T) {
	_, _, js := startJS(t)
	cons := setup(t, js)
	st := &memStore{}
	c := events.NewConsumer(js, cons, st, nil, events.ConsumerConfig{Logger: testLogger(t)})
	run(t, c.Run)
	waitFor(t, 5*time.Second, "the consumer's pull request", func() bool {
		info, err := cons.Info(t.Context())
		return err == nil && info.NumWaiting == 1
	})

	// A second puller on the same durable takes one delivery and never acks
	// it: to the consumer, that delivery is lost. The server serves waiting
	// pull requests in turn, so one of the next events goes to the thief.
	thief, err := js.Consumer(t.Context(), events.EventsStream, events.ConsumerName)
	if err != nil {
		t.Fatal(err)
	}
	stolen := make(chan uint64, 1)
	go func() {
		batch, err := thief.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			stolen <- 0
			return
		}
		var seq uint64
		for m := range batch.Messages() {
			if meta, err := m.Metadata(); err == nil {
				seq = meta.Sequence.Stream
			}
		}
		stolen <- seq
	}()
	waitFor(t, 5*time.Second, "the thief's pull request", func() bool {
		info, err := cons.Info(t.Context())
		return err == nil && info.NumWaiting == 2
	})
	publishEvents(t, js, 0, 3)
	if seq := <-stolen; seq == 0 {
		t.Fatalf("the thief got no event; the test did not lose a delivery")
	} else {
		t.Logf("event %d was delivered to the thief", seq)
	}

	// Without the rewind, the stolen event would come back only after the
	// ack wait (30s), or be acked away by a later batch.
	waitFor(t, 10*time.Second, "all three applied", func() bool { return st.appliedSeq() == 3 })
	st.checkApplied(t, 3)
}

// BenchmarkPipeline measures events published to the embedded server and
// applied, in batches, to an in-memory store: the throughput of the NATS
// side of the engine without the real store's commit.
func BenchmarkPipeline(b *testing.B) {
	_, _, js := startJS(b)
	// Ten dossiers take every event: lift the per-dossier limit.
	cons, err := events.Setup(b.Context(), js, events.StreamConfig{MaxEventsPerDossier: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	st := &memStore{}
	c := events.NewConsumer(js, cons, st, nil, events.ConsumerConfig{Logger: testLogger(b)})
	run(b, c.Run)
	const perLoop = 1000
	published := 0
	b.ReportAllocs()
	for b.Loop() {
		publishEvents(b, js, published, published+perLoop)
		published += perLoop
		waitFor(b, 10*time.Second, "events applied", func() bool { return st.appliedSeq() == uint64(published) })
	}
	b.ReportMetric(float64(published)/b.Elapsed().Seconds(), "events/s")
	st.mu.Lock()
	b.ReportMetric(float64(len(st.envs))/float64(len(st.batches)), "events/batch")
	st.mu.Unlock()
}
