package events

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hoso-vn/hoso/workflow"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Outbox is where outcomes wait until published (store.DB satisfies it).
//
// The outbox is written in the same transaction as the state the outcomes
// describe, so an outcome exists exactly when its event was applied.
type Outbox interface {
	// PendingOutcomes returns, in increasing Seq, up to max outcomes with
	// Seq > after that are not yet marked published.
	PendingOutcomes(ctx context.Context, after uint64, max int) ([]workflow.Outcome, error)
	// MarkPublished records that every outcome with Seq <= upTo is
	// published; the store may then drop them from the outbox.
	MarkPublished(ctx context.Context, upTo uint64) error
}

// Limits of the relay.
const (
	relayChunk    = 1024             // outcomes taken and published at a time, at most
	relayInFlight = 256              // publishes awaiting their PubAck, at most
	relayAckWait  = 10 * time.Second // how long a PubAck may take before the publish is retried
	maxHints      = 1 << 16          // enqueued outcomes held; beyond, the outbox is read instead
	markTimeout   = 5 * time.Second  // MarkPublished at shutdown
)

// Relay publishes outcomes from the outbox to HOSO_OUTCOMES, each on
// OutcomeSubject with the header Nats-Msg-Id = Outcome.MsgID(), so that a
// republished outcome is dropped by the stream's duplicate window. An
// outcome that DeadLettered also has its original message (read back from
// HOSO_EVENTS by its sequence) published to HOSO_DEADLETTER on
// DeadLetterSubject, with Nats-Msg-Id = DeadLetterMsgID(seq); the outcome
// counts as published only once both are acknowledged.
//
// The outbox is the truth. Run starts by publishing everything pending in
// it; Enqueue only saves the relay a read when outcomes arrive in order.
// Whenever the enqueued outcomes do not continue the last one taken (a
// gap: enqueued hints were dropped, or a publish failed) the relay reads
// the outbox instead. An outcome is marked published only after the stream
// acknowledged it and every one before it, so a crash at any point loses
// nothing; it may publish an outcome twice, which the stream's 10-minute
// duplicate window absorbs.
//
// Enqueue and Backlog are safe for concurrent use; Run must not be called
// concurrently.
type Relay struct {
	js  jetstream.JetStream
	ob  Outbox
	log *slog.Logger

	wake chan struct{} // capacity 1: Enqueue added outcomes

	mu    sync.Mutex         // guards hints
	hints []workflow.Outcome // enqueued outcomes not yet taken, in Seq order

	inFlight atomic.Int64 // outcomes taken and not yet marked published
	running  atomic.Bool  // Run is running: Enqueue keeps hints only then

	onMark func(ctx context.Context, seq uint64) // SetOnMark; nil when unset
}

// NewRelay returns a relay that publishes through js the outcomes of ob.
// logger nil discards the log.
func NewRelay(js jetstream.JetStream, ob Outbox, logger *slog.Logger) *Relay {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Relay{js: js, ob: ob, log: logger, wake: make(chan struct{}, 1)}
}

// SetOnMark sets a function the relay calls after each record in the
// outbox of how far it has published (a replica's leader reports it to
// the followers). Call it before Run.
func (r *Relay) SetOnMark(f func(ctx context.Context, seq uint64)) { r.onMark = f }

// Enqueue hands the relay outcomes just committed to the outbox, in Seq
// order. It never blocks; if the relay is far behind it drops them and
// reads the outbox later, and while Run is not running (a replica that
// follows) it keeps nothing.
func (r *Relay) Enqueue(outcomes []workflow.Outcome) {
	if len(outcomes) == 0 || !r.running.Load() {
		return // Run starts by reading the outbox
	}
	r.mu.Lock()
	if len(r.hints)+len(outcomes) > maxHints {
		r.hints = nil // the gap sends Run to the outbox
	}
	r.hints = append(r.hints, outcomes...)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Backlog returns how many outcomes the relay holds that are not yet
// published: enqueued ones and those being published. Outcomes only in the
// outbox (after a restart, or dropped hints) are not counted.
func (r *Relay) Backlog() int {
	r.mu.Lock()
	n := len(r.hints)
	r.mu.Unlock()
	return n + int(r.inFlight.Load())
}

// Run publishes outcomes until ctx ends, then returns nil. Errors (of the
// outbox, of publishing) are logged and retried with backoff from the last
// outcome marked published.
func (r *Relay) Run(ctx context.Context) error {
	var (
		cursor     uint64 // Seq of the last outcome published and confirmed; those after it are still to publish
		fromOutbox = true // read the outbox rather than the hints
		bo         backoff
	)
	r.running.Store(true) // before the first read of the outbox, so no outcome falls between
	defer func() {
		r.running.Store(false)
		r.mu.Lock()
		r.hints = nil
		r.mu.Unlock()
	}()
	m := &marker{ob: r.ob, log: r.log, wake: make(chan struct{}, 1), onMark: r.onMark}
	marked := make(chan struct{})
	go func() {
		defer close(marked)
		m.run(ctx)
	}()
	defer func() { <-marked }() // the marker records the last cursor when ctx ends
	for ctx.Err() == nil {
		chunk, err := r.take(ctx, cursor, &fromOutbox)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Error("read outbox", "after_seq", cursor, "err", err)
				bo.wait(ctx)
			}
			continue
		}
		if len(chunk) == 0 {
			select {
			case <-ctx.Done():
			case <-r.wake:
			}
			continue
		}
		r.inFlight.Store(int64(len(chunk)))
		r.log.Debug("publishing outcomes", "first_seq", chunk[0].Seq, "last_seq", chunk[len(chunk)-1].Seq)
		confirmed, err := r.publish(ctx, chunk)
		if confirmed > 0 {
			cursor = confirmed
			m.set(confirmed)
		}
		r.inFlight.Store(0)
		if err == nil {
			bo.reset()
			continue
		}
		if ctx.Err() != nil {
			break
		}
		// Retry from the outbox after the last outcome confirmed.
		r.log.Error("publish outcomes", "first_seq", chunk[0].Seq, "last_seq", chunk[len(chunk)-1].Seq, "confirmed_seq", confirmed, "err", err)
		fromOutbox = true
		bo.wait(ctx)
	}
	return nil
}

// markInterval is the least time between two MarkPublished calls of a
// relay under steady load.
const markInterval = 100 * time.Millisecond

// marker records in the outbox how far the relay has published, in its
// own goroutine and at most every markInterval, so that publishing never
// waits for the store's commit (an fsync) and the store commits a mark a
// few times a second rather than once per chunk. A crash forgets at most
// the last interval's marks: those outcomes are published again at the
// next start, and the outcome stream's duplicate window drops them.
type marker struct {
	ob     Outbox
	log    *slog.Logger
	wake   chan struct{} // capacity 1: set raised want
	onMark func(ctx context.Context, seq uint64)

	mu   sync.Mutex // guards want
	want uint64     // the highest Seq confirmed published
}

// set notes that every outcome up to seq is confirmed published.
func (m *marker) set(seq uint64) {
	m.mu.Lock()
	m.want = max(m.want, seq)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// run marks what set noted until ctx ends, then marks the last of it.
func (m *marker) run(ctx context.Context) {
	var done uint64 // marked in the outbox
	mark := func() {
		m.mu.Lock()
		seq := m.want
		m.mu.Unlock()
		if seq <= done {
			return
		}
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
		defer cancel()
		if err := m.ob.MarkPublished(mctx, seq); err != nil {
			m.log.Error("mark outcomes published", "up_to_seq", seq, "err", err)
			select { // try again after the interval
			case m.wake <- struct{}{}:
			default:
			}
			return
		}
		done = seq
		if m.onMark != nil {
			m.onMark(mctx, seq)
		}
	}
	t := time.NewTimer(markInterval)
	t.Stop()
	for {
		select {
		case <-ctx.Done():
			mark()
			return
		case <-m.wake:
		}
		mark()
		t.Reset(markInterval)
		select {
		case <-ctx.Done():
			mark()
			return
		case <-t.C:
		}
	}
}

// take returns the next outcomes to publish after cursor: a run of
// enqueued hints continuing cursor, or else a read of the outbox.
func (r *Relay) take(ctx context.Context, cursor uint64, fromOutbox *bool) ([]workflow.Outcome, error) {
	if !*fromOutbox {
		chunk, gap := r.takeHints(cursor)
		if !gap {
			return chunk, nil
		}
		*fromOutbox = true
	}
	pending, err := r.ob.PendingOutcomes(ctx, cursor, relayChunk)
	if err != nil {
		return nil, err
	}
	// Keep only a strictly increasing run after cursor, whatever the
	// outbox returned.
	last := cursor
	n := 0
	for _, o := range pending {
		if o.Seq <= last {
			continue
		}
		pending[n] = o
		n++
		last = o.Seq
	}
	pending = pending[:n]
	if len(pending) < relayChunk {
		*fromOutbox = false // caught up with the outbox: hints from here on
	}
	if len(pending) == 0 {
		// The outbox holds nothing after cursor. Hints beyond a gap are then
		// outcomes it no longer lists; publishing them again is harmless.
		chunk, _ := r.takeHints(cursor)
		if len(chunk) == 0 {
			chunk = r.takeAnyHints(cursor)
		}
		return chunk, nil
	}
	return pending, nil
}

// takeHints removes from the hints those at or below cursor and returns a
// run that continues cursor without a gap, up to relayChunk. gap is set
// when hints remain that do not continue cursor.
func (r *Relay) takeHints(cursor uint64) (chunk []workflow.Outcome, gap bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropHints(cursor)
	if len(r.hints) == 0 {
		return nil, false
	}
	if r.hints[0].Seq != cursor+1 {
		return nil, true
	}
	n := 1
	for n < len(r.hints) && n < relayChunk && r.hints[n].Seq == r.hints[n-1].Seq+1 {
		n++
	}
	chunk = append([]workflow.Outcome(nil), r.hints[:n]...)
	r.hints = r.hints[n:]
	return chunk, false
}

// takeAnyHints returns the first increasing run of hints after cursor,
// gap or not, up to relayChunk.
func (r *Relay) takeAnyHints(cursor uint64) []workflow.Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropHints(cursor)
	n := 0
	for n < len(r.hints) && n < relayChunk && (n == 0 || r.hints[n].Seq > r.hints[n-1].Seq) {
		n++
	}
	chunk := append([]workflow.Outcome(nil), r.hints[:n]...)
	r.hints = r.hints[n:]
	return chunk
}

// dropHints drops the hints at or below cursor. r.mu must be held.
func (r *Relay) dropHints(cursor uint64) {
	i := 0
	for i < len(r.hints) && r.hints[i].Seq <= cursor {
		i++
	}
	if i == len(r.hints) {
		r.hints = nil
		return
	}
	r.hints = r.hints[i:]
}

// publish publishes the chunk with at most relayInFlight PubAcks awaited
// at once, and returns the Seq of the last outcome that the stream
// acknowledged together with every one before it (0 if none).
func (r *Relay) publish(ctx context.Context, chunk []workflow.Outcome) (confirmed uint64, err error) {
	type pending struct {
		seq  uint64
		f    jetstream.PubAckFuture
		dead jetstream.PubAckFuture // the dead letter's, if the outcome has one
	}
	window := make([]pending, 0, relayInFlight)
	timer := time.NewTimer(relayAckWait)
	defer timer.Stop()
	// await waits for the oldest publish in the window.
	await := func() error {
		p := window[0]
		window = window[1:]
		timer.Reset(relayAckWait)
		for _, f := range [...]jetstream.PubAckFuture{p.f, p.dead} {
			if f == nil {
				continue
			}
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return fmt.Errorf("publish outcome %d: %w", p.seq, err)
			case <-timer.C:
				return fmt.Errorf("publish outcome %d: no acknowledgement after %s", p.seq, relayAckWait)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		confirmed = p.seq
		return nil
	}
	for i := range chunk {
		o := &chunk[i]
		if len(window) == relayInFlight {
			if err := await(); err != nil {
				return confirmed, err
			}
		}
		data, err := marshalOutcome(o)
		if err != nil {
			return confirmed, fmt.Errorf("encode outcome %d: %w", o.Seq, err)
		}
		msg := &nats.Msg{Subject: OutcomeSubject(o.Kind, o.Source, o.Dossier), Data: data, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, o.MsgID())
		f, err := r.js.PublishMsgAsync(msg, jetstream.WithExpectStream(OutcomesStream))
		if err != nil {
			return confirmed, fmt.Errorf("publish outcome %d: %w", o.Seq, err)
		}
		p := pending{seq: o.Seq, f: f}
		if DeadLettered(o) {
			dl, err := r.deadLetter(ctx, o)
			if err != nil {
				return confirmed, err
			}
			if p.dead, err = r.js.PublishMsgAsync(dl, jetstream.WithExpectStream(DeadLetterStream)); err != nil {
				return confirmed, fmt.Errorf("publish dead letter %d: %w", o.Seq, err)
			}
		}
		window = append(window, p)
	}
	for len(window) > 0 {
		if err := await(); err != nil {
			return confirmed, err
		}
	}
	return confirmed, nil
}
