package events_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/events"
)

// TestReplayAppliesInStreamOrder: Replay hands Apply the whole stream, in
// order, with no gap and no redelivery, and reports its progress after
// each batch.
func TestReplayAppliesInStreamOrder(t *testing.T) {
	_, _, js := startJS(t)
	cons := setup(t, js)
	const n = 1000
	publishEvents(t, js, 0, n)

	st := &memStore{}
	var progress []events.ReplayProgress
	p, err := events.Replay(t.Context(), js, st, events.ReplayConfig{MaxBatch: 64, Logger: testLogger(t),
		OnBatch: func(p events.ReplayProgress) { progress = append(progress, p) }})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	st.checkApplied(t, n)
	for i, env := range st.envs {
		if env.Event == nil || env.Event.ID != testEvent(i).ID {
			t.Fatalf("envelope %d = %+v, want event %s", i, env, testEvent(i).ID)
		}
	}
	if want := (events.ReplayProgress{Messages: n, Seq: n, From: 1, Last: n}); p != want {
		t.Errorf("Replay = %+v, want %+v", p, want)
	}
	if len(progress) != len(st.batches) {
		t.Fatalf("OnBatch called %d times for %d batches", len(progress), len(st.batches))
	}
	messages := 0
	for i, b := range st.batches {
		messages += len(b)
		if want := (events.ReplayProgress{Messages: messages, Seq: b[len(b)-1], From: 1, Last: n}); progress[i] != want {
			t.Fatalf("progress after batch %d = %+v, want %+v", i, progress[i], want)
		}
	}
	// Nothing was acked on the engine's durable consumer.
	if floor, _ := ackFloor(t, cons); floor != 0 {
		t.Errorf("engine consumer's ack floor = %d after a replay, want 0", floor)
	}
}

// TestReplayBatchBound: no batch is larger than MaxBatch, and batches grow
// up to it while a commit takes its time.
func TestReplayBatchBound(t *testing.T) {
	_, _, js := startJS(t)
	setup(t, js)
	const n = 300
	publishEvents(t, js, 0, n)
	for _, bound := range []int{1, 10} {
		t.Run(fmt.Sprint(bound), func(t *testing.T) {
			st := &memStore{}
			first := true
			st.onApply = func(uint64) {
				if first {
					// A slow first commit: the collector fills the next
					// batch meanwhile, up to the bound.
					first = false
					time.Sleep(100 * time.Millisecond)
				}
			}
			if _, err := events.Replay(t.Context(), js, st, events.ReplayConfig{MaxBatch: bound, Logger: testLogger(t)}); err != nil {
				t.Fatalf("Replay: %v", err)
			}
			st.checkApplied(t, n)
			biggest := 0
			for _, b := range st.batches {
				biggest = max(biggest, len(b))
			}
			if biggest != bound {
				t.Errorf("largest batch %d, want MaxBatch %d", biggest, bound)
			}
		})
	}
}

// TestReplayPassesOverDeleted: messages deleted from the stream — the
// first, in the middle, the last — are passed over and reported; the
// replay still ends at the stream's last sequence.
func TestReplayPassesOverDeleted(t *testing.T) {
	_, _, js := startJS(t)
	setup(t, js)
	publishEvents(t, js, 0, 20)
	str, err := js.Stream(t.Context(), events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{1, 5, 6, 12, 20} {
		if err := str.DeleteMsg(t.Context(), seq); err != nil {
			t.Fatal(err)
		}
	}
	// Waiting for the deleted last message would never end.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	st := &memStore{}
	var gaps []uint64
	p, err := events.Replay(ctx, js, st, events.ReplayConfig{MaxBatch: 4, Logger: testLogger(t),
		OnGap: func(from, to uint64) { gaps = append(gaps, from, to) }})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	if len(st.envs) != 15 || p.Messages != 15 || p.Seq != 19 {
		t.Errorf("applied %d envelopes (%+v), want the 15 left in the stream, up to 19", len(st.envs), p)
	}
	var prev uint64
	for _, env := range st.envs {
		if env.Seq <= prev {
			t.Fatalf("sequence %d after %d", env.Seq, prev)
		}
		prev = env.Seq
	}
	if fmt.Sprint(gaps) != "[1 1 5 6 12 12 20 20]" {
		t.Errorf("gaps reported = %v, want [1 1 5 6 12 12 20 20] (from, to of each)", gaps)
	}

	// A stream with nothing left to apply ends at once.
	if err := str.Purge(t.Context()); err != nil {
		t.Fatal(err)
	}
	gaps = nil
	if p, err := events.Replay(t.Context(), js, &memStore{}, events.ReplayConfig{
		OnGap: func(from, to uint64) { gaps = append(gaps, from, to) }}); err != nil || p.Messages != 0 {
		t.Errorf("Replay of a purged stream = %+v, %v, want nothing applied", p, err)
	}
	if fmt.Sprint(gaps) != "[1 20]" {
		t.Errorf("gaps reported = %v, want [1 20]", gaps)
	}
}

// TestReplayStopsAtLast: Replay stops at ToSeq, or at the stream's last
// sequence when it started, even while more events arrive; it starts at
// FromSeq; a ToSeq beyond the stream is an error.
func TestReplayStopsAtLast(t *testing.T) {
	_, _, js := startJS(t)
	setup(t, js)
	publishEvents(t, js, 0, 100)

	st := &memStore{}
	if p, err := events.Replay(t.Context(), js, st, events.ReplayConfig{ToSeq: 30, MaxBatch: 8}); err != nil || p.Seq != 30 {
		t.Fatalf("Replay to 30 = %+v, %v, want applied up to 30", p, err)
	}
	st.checkApplied(t, 30)

	st = &memStore{}
	published := false
	p, err := events.Replay(t.Context(), js, st, events.ReplayConfig{MaxBatch: 8,
		OnBatch: func(events.ReplayProgress) {
			if !published {
				published = true
				publishEvents(t, js, 100, 150) // while replaying
			}
		}})
	if err != nil || p.Seq != 100 || p.Last != 100 {
		t.Fatalf("Replay = %+v, %v, want applied up to 100, the last sequence at its start", p, err)
	}
	st.checkApplied(t, 100)

	st = &memStore{}
	if p, err := events.Replay(t.Context(), js, st, events.ReplayConfig{FromSeq: 140}); err != nil || p.Messages != 11 || st.envs[0].Seq != 140 {
		t.Fatalf("Replay from 140 = %+v, %v, want 140..150", p, err)
	}

	if p, err := events.Replay(t.Context(), js, &memStore{}, events.ReplayConfig{ToSeq: 151}); err == nil {
		t.Errorf("Replay to 151 of a stream ending at 150 = %+v, want an error", p)
	}
}

// TestReplayReturnsApplyError: an Apply error ends the replay with that
// error, without a retry; the batches before it stay applied.
func TestReplayReturnsApplyError(t *testing.T) {
	_, _, js := startJS(t)
	setup(t, js)
	publishEvents(t, js, 0, 50)
	st := &memStore{}
	st.onApply = func(applied uint64) {
		if applied >= 20 {
			st.failApply = 1 // lock held by Apply
		}
	}
	p, err := events.Replay(t.Context(), js, st, events.ReplayConfig{MaxBatch: 10})
	if !errors.Is(err, errInjected) {
		t.Fatalf("Replay = %v, want the Apply error", err)
	}
	if p.Messages != len(st.envs) || p.Seq != st.appliedSeq() || p.Seq < 20 {
		t.Errorf("Replay reported %+v, applied %d up to %d", p, len(st.envs), st.appliedSeq())
	}
	if got := st.calls(); got != len(st.batches)+1 {
		t.Errorf("%d Apply calls for %d batches applied, want one failed call and no retry", got, len(st.batches))
	}
}
