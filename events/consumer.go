package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hoso-vn/hoso/workflow"
	"github.com/nats-io/nats.go/jetstream"
)

// Applier applies a batch of envelopes atomically (store.DB satisfies it).
//
// Apply commits the whole batch or nothing. It receives envelopes in
// strictly increasing stream sequence and must skip those at or below the
// sequence it has already applied (a redelivery after a crash between
// commit and ack), so that applying a batch twice is a no-op. An error
// means nothing was committed: the consumer retries the same batch.
// Apply must not keep the slice.
type Applier interface {
	Apply(ctx context.Context, batch []workflow.Envelope) (workflow.BatchResult, error)
}

// DefaultMaxBatch is the default largest batch the consumer applies.
const DefaultMaxBatch = 8192

// DefaultCheckInterval is how often, by default, the consumer checks that
// its durable consumer is configured as it was set up.
const DefaultCheckInterval = 10 * time.Second

// Timeouts of the consumer's JetStream requests.
const (
	ackTimeout   = 5 * time.Second  // waiting for the server to confirm a batch's ack
	resetTimeout = 10 * time.Second // rewinding the consumer
	stopTimeout  = 5 * time.Second  // waiting for a stopped subscription to close
	checkTimeout = 10 * time.Second // checking or restoring the durable's configuration, or a gap
)

// errDrift ends a session whose durable consumer no longer delivers what
// the engine set it up to: its configuration changed, or it delivered a
// message past one still in the stream.
var errDrift = errors.New("events: consumer configuration changed")

// errConsumeClosed says the server or the client library ended a consume
// session the consumer did not stop (consumer deleted, connection closed).
var errConsumeClosed = errors.New("events: consuming stopped unexpectedly")

// ConsumerConfig configures a Consumer. Zero fields take the defaults.
type ConsumerConfig struct {
	// MaxBatch is the largest number of events applied in one batch (one
	// transaction); default DefaultMaxBatch. The consumer prefetches twice
	// as many.
	MaxBatch int
	// Logger receives the consumer's log; nil discards it.
	Logger *slog.Logger
	// OnBatch, if set, is called after each committed and acked batch with
	// its result and how long the successful Apply call took (a metrics
	// hook). It runs on the consumer's goroutine and must be quick.
	OnBatch func(workflow.BatchResult, time.Duration)
	// OnError, if set, is called with the error of each failed Apply
	// attempt (not when ctx ended) before the consumer backs off and
	// retries the batch (a metrics hook). It runs on the consumer's
	// goroutine and must be quick.
	OnError func(error)
	// CheckInterval is how often the consumer compares its durable
	// consumer's configuration on the server with the one it was set up
	// with (it also does so at every start); default
	// DefaultCheckInterval. Anyone allowed to create or update the durable
	// can change what it delivers.
	CheckInterval time.Duration
	// OnDrift, if set, is called with a description of each change the
	// consumer found in its durable's configuration (or "deleted"), before
	// it restores it (a metrics hook). It runs on the consumer's
	// goroutines and must be quick.
	OnDrift func(what string)
	// OnGap, if set, is called when the consumer passes over stream
	// sequences from..to (inclusive) that are no longer in the stream
	// (deleted by an operator, or aged out): there is nothing there to
	// apply (a metrics hook). It runs on the consumer's goroutine and
	// must be quick.
	OnGap func(from, to uint64)
	// StartSeq is the stream sequence Run resumes from: the Applier's
	// applied sequence + 1. 0 resumes from the consumer's ack floor, which
	// is right unless the store is behind it (restored from a backup, or
	// rebuilt from an empty file); then events would be skipped. Events
	// between StartSeq and the ack floor are redelivered and skipped by the
	// Applier, so a StartSeq too low costs time, never correctness.
	StartSeq uint64
}

// Consumer applies the event stream to an Applier in stream order, in
// batches, and acks each batch after it is committed.
//
// It consumes with a prefetch of 2×MaxBatch into a buffer. A collector
// goroutine decodes messages into the next batch while the previous one is
// applied: it blocks for the first message of a batch and then adds
// whatever arrives until the applier takes the batch, up to MaxBatch. A
// lone event on an idle stream is applied at once in a batch of one; under
// load, batches grow for as long as a commit takes and its cost is shared.
// Each message is decoded with Decode (an unreadable message becomes a
// rejection and is applied like any other: it never stops the stream).
// After Apply succeeds, the outcomes are handed to the Relay and the
// batch's last message is acked — the consumer is AckAll, so that acks the
// batch. When Apply fails nothing is acked: the same batch is retried with
// exponential backoff (100 ms up to 5 s) until it succeeds, so no message
// is skipped or reordered.
//
// The consumer hands Apply a gapless run of stream sequences. At every
// start it rewinds the durable consumer to StartSeq, or else to the first
// sequence not yet acked, so that events a previous run received but did
// not apply are delivered again at once rather than after the ack wait. If
// a delivery is lost on the way (a reconnect), it notices the jump in
// delivery sequence, applies what it has, and rewinds to the missing
// sequence.
//
// The consumer defends its durable. Anyone allowed to create or update it
// (a credential with $JS.API.CONSUMER.CREATE.<stream>, whose body names
// the durable) can give it a filter that hides chosen events, a pause or
// an inactivity threshold. At every start and every CheckInterval the
// consumer compares the durable's configuration with the one it was set
// up with; on a difference it logs, calls OnDrift, stops (Ready is false),
// restores the configuration (recreating the durable if it must) and
// rewinds to the next sequence to apply. And it never moves past a stream
// sequence it has not applied: when a delivery jumps over sequences, it
// asks the stream whether they are still there. Deleted ones (an
// operator's, or aged out) are passed over (OnGap); present ones mean the
// durable is hiding them, which is handled as a change of configuration.
//
// This needs NATS server 2.14 or later (the consumer reset API), and one
// Consumer per durable at a time.
//
// Run must not be called concurrently; Ready may be called from any
// goroutine.
type Consumer struct {
	js       jetstream.JetStream
	cons     jetstream.Consumer
	stream   string // the consumer's stream
	name     string // the consumer's durable name
	app      Applier
	relay    *Relay
	maxBatch int
	log      *slog.Logger
	onBatch  func(workflow.BatchResult, time.Duration)
	onError  func(error)
	onDrift  func(string)
	onGap    func(from, to uint64)
	startSeq uint64
	check    time.Duration
	want     jetstream.ConsumerConfig // the durable's configuration as set up

	ready atomic.Bool // consuming, and the last Apply succeeded
}

// NewConsumer returns a consumer of cons (as returned by Setup) that
// applies to app and hands outcomes to relay. js is the JetStream context
// cons belongs to (used to rewind it). relay may be nil: outcomes then
// wait in the outbox for a relay elsewhere. The configuration cons had
// when Setup returned it is the one the consumer defends.
func NewConsumer(js jetstream.JetStream, cons jetstream.Consumer, app Applier, relay *Relay, cfg ConsumerConfig) *Consumer {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = DefaultCheckInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	info := cons.CachedInfo()
	return &Consumer{
		js:       js,
		cons:     cons,
		stream:   info.Stream,
		name:     info.Name,
		app:      app,
		relay:    relay,
		maxBatch: cfg.MaxBatch,
		log:      cfg.Logger,
		onBatch:  cfg.OnBatch,
		onError:  cfg.OnError,
		onDrift:  cfg.OnDrift,
		onGap:    cfg.OnGap,
		startSeq: cfg.StartSeq,
		check:    cfg.CheckInterval,
		want:     info.Config,
	}
}

// Ready reports whether the consumer is consuming and its last Apply
// succeeded (a readiness probe).
func (c *Consumer) Ready() bool { return c.ready.Load() }

// Run consumes and applies events until ctx ends, then stops consuming and
// returns nil. Failures (of Apply, of the connection, of the server) are
// logged and retried; they make Ready false meanwhile. Messages received
// but not applied when ctx ends are not acked: the next Run gets them.
func (c *Consumer) Run(ctx context.Context) error {
	defer c.ready.Store(false)
	next := c.startSeq // stream sequence of the next event to apply; 0 until known
	var bo backoff
	for ctx.Err() == nil {
		if err := c.defend(ctx); err != nil {
			if ctx.Err() != nil {
				break
			}
			c.log.Error("restore consumer", "stream", c.stream, "consumer", c.name, "err", err)
			bo.wait(ctx)
			continue
		}
		s, err := c.start(ctx, next)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.log.Error("start consuming", "stream", c.stream, "consumer", c.name, "next_seq", next, "err", err)
			bo.wait(ctx)
			continue
		}
		var applied bool
		next, applied, err = c.consume(ctx, s)
		s.stop()
		c.ready.Store(false)
		if ctx.Err() != nil {
			break
		}
		switch {
		case errors.Is(err, errConsumeClosed):
			c.log.Warn("consuming stopped, restarting", "stream", c.stream, "consumer", c.name, "next_seq", next)
		case errors.Is(err, errDrift):
			continue // defend restores the durable, then the session restarts at next
		}
		// Restart at once after progress; back off when sessions keep
		// ending without any (e.g. a second engine on the same durable).
		if applied {
			bo.reset()
		} else {
			bo.wait(ctx)
		}
	}
	return nil
}

// session is one Consume subscription, from a rewind to a stop.
type session struct {
	cc    jetstream.ConsumeContext
	msgs  chan jetstream.Msg // prefetched messages, in delivery order
	done  chan struct{}      // closed by stop: releases a handler blocked on msgs
	drift chan struct{}      // closed by the configuration check on a change
	seq   sequencer
}

// start rewinds the durable consumer to next (to its ack floor when next
// is 0) and starts consuming.
func (c *Consumer) start(ctx context.Context, next uint64) (*session, error) {
	rctx, cancel := context.WithTimeout(ctx, resetTimeout)
	defer cancel()
	var resp *jetstream.ConsumerResetResponse
	var err error
	if next == 0 {
		resp, err = c.js.ResetConsumer(rctx, c.stream, c.name)
	} else {
		resp, err = c.js.ResetConsumerToSequence(rctx, c.stream, c.name, next)
	}
	if err != nil {
		return nil, fmt.Errorf("rewind consumer to %d: %w", next, err)
	}
	s := &session{
		msgs:  make(chan jetstream.Msg, 2*c.maxBatch),
		done:  make(chan struct{}),
		drift: make(chan struct{}),
		seq:   sequencer{next: resp.ResetSeq},
	}
	if next != 0 && resp.ResetSeq != next {
		// The server rewound elsewhere than asked (a filter of somebody
		// else's skips next): the session starts at next all the same,
		// so that a jump past it is checked.
		s.seq.next = next
	}
	handler := func(m jetstream.Msg) {
		select {
		case s.msgs <- m:
		case <-s.done:
		}
	}
	onErr := func(_ jetstream.ConsumeContext, err error) {
		c.log.Warn("consume", "stream", c.stream, "consumer", c.name, "err", err)
	}
	s.cc, err = c.cons.Consume(handler, jetstream.PullMaxMessages(2*c.maxBatch), jetstream.ConsumeErrHandler(onErr))
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", c.name, err)
	}
	c.log.Debug("consuming", "stream", c.stream, "consumer", c.name, "from_seq", resp.ResetSeq)
	return s, nil
}

// stop ends the session's subscription; prefetched messages are dropped
// unacked.
func (s *session) stop() {
	s.cc.Stop()
	close(s.done)
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-s.cc.Closed():
	case <-t.C:
	}
}

// consume applies batches of the session until ctx ends, the session
// closes or it must be rewound. It returns the next sequence to apply and
// whether any batch was applied.
//
// It runs in two stages: a collector goroutine reads and decodes messages
// into the next batch while this goroutine applies (decides, commits,
// fsyncs) the previous one, so decoding overlaps the commit and a batch
// grows for exactly as long as the commit before it takes.
func (c *Consumer) consume(ctx context.Context, s *session) (next uint64, applied bool, err error) {
	c.ready.Store(true)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan batch) // unbuffered: the collector keeps growing its batch until taken
	var cerr error              // the collector's error; read after batches is closed
	go func() {
		defer close(batches)
		cerr = c.collect(cctx, s, batches)
	}()
	go c.watch(cctx, s)
	for b := range batches {
		if !c.apply(ctx, b) {
			cancel()
			for range batches { // let the collector end; what it holds is not acked
			}
			return s.seq.next, applied, ctx.Err()
		}
		applied = true
	}
	// The collector has ended and every batch it made is applied: s.seq
	// is its to read now.
	if errors.Is(cerr, errRewind) {
		cerr = nil
	}
	return s.seq.next, applied, cerr
}

// batch is a run of envelopes with consecutive stream positions and the
// message to ack once they are committed.
type batch struct {
	envs []workflow.Envelope
	last jetstream.Msg
}

// errRewind ends a collection whose session must be restarted at
// s.seq.next because a delivery was lost.
var errRewind = errors.New("events: rewind")

// collect reads the session's messages into batches and hands them to out
// in stream order, until ctx ends (ctx.Err()), the session closes
// (errConsumeClosed) or a delivery is lost (errRewind; the batch before
// the loss is handed out first).
//
// It blocks for the first message of a batch, then offers the batch to out
// while adding whatever else arrives, up to maxBatch: on an idle stream a
// lone event goes out at once in a batch of one; while the previous batch
// is being applied, the next one grows, so batches follow the load without
// any fixed wait.
func (c *Consumer) collect(ctx context.Context, s *session, out chan<- batch) error {
	closed := s.cc.Closed()
	var b batch
	for {
		var (
			in   <-chan jetstream.Msg = s.msgs
			send chan<- batch
		)
		if len(b.envs) > 0 {
			send = out
		}
		if len(b.envs) >= c.maxBatch {
			in = nil // full: wait for the applier
		}
		var m jetstream.Msg
		select {
		case send <- b:
			b = batch{}
			continue
		case m = <-in:
		case <-ctx.Done():
			return ctx.Err()
		case <-closed:
			return flush(ctx, out, b, len(b.envs), errConsumeClosed)
		case <-s.drift:
			return flush(ctx, out, b, len(b.envs), errDrift)
		}
		meta, err := m.Metadata()
		if err != nil {
			c.log.Error("message without metadata, rewinding", "subject", m.Subject(), "err", err)
			return flush(ctx, out, b, len(b.envs), errRewind)
		}
		seq := meta.Sequence.Stream
		switch s.seq.check(seq, meta.Sequence.Consumer) {
		case deliveryStale:
			c.log.Debug("skip redelivery", "seq", seq, "next_seq", s.seq.next)
			continue
		case deliveryLost:
			c.log.Warn("delivery lost, rewinding", "next_seq", s.seq.next, "got_seq", seq)
			return flush(ctx, out, b, len(b.envs), errRewind)
		case deliveryJump:
			gone, err := streamGone(ctx, c.js, c.stream, s.seq.next, seq)
			switch {
			case err != nil:
				c.log.Warn("check skipped sequences, rewinding", "next_seq", s.seq.next, "got_seq", seq, "err", err)
				return flush(ctx, out, b, len(b.envs), errRewind)
			case !gone:
				what := fmt.Sprintf("delivered sequence %d before %d, which the stream holds", seq, s.seq.next)
				c.log.Error("consumer skipped events", "stream", c.stream, "consumer", c.name, "next_seq", s.seq.next, "got_seq", seq)
				if c.onDrift != nil {
					c.onDrift(what)
				}
				return flush(ctx, out, b, len(b.envs), errDrift)
			}
			c.log.Warn("passing over deleted messages", "stream", c.stream, "from_seq", s.seq.next, "to_seq", seq-1)
			if c.onGap != nil {
				c.onGap(s.seq.next, seq-1)
			}
			s.seq.take(seq)
		}
		env := DecodeMsg(m.Subject(), m.Headers(), m.Data(), seq, meta.Timestamp.UTC())
		if r := env.Rejection; r != nil {
			c.log.Debug("unreadable event", "seq", seq, "subject", m.Subject(), "reason", r.Reason, "detail", r.Detail)
		}
		b.envs = append(b.envs, env)
		b.last = m
	}
}

// flush hands out the last batch of a collection (of n envelopes), if
// any, and returns why the collection ends; the consumer and Replay
// collect alike.
func flush[B any](ctx context.Context, out chan<- B, b B, n int, why error) error {
	if n == 0 {
		return why
	}
	select {
	case out <- b:
		return why
	case <-ctx.Done():
		return ctx.Err()
	}
}

// apply applies the batch until it succeeds, then hands its outcomes on
// and acks it. It returns false, nothing acked, if ctx ended first.
func (c *Consumer) apply(ctx context.Context, b batch) bool {
	first, last := b.envs[0].Seq, b.envs[len(b.envs)-1].Seq
	var bo backoff
	for attempt := 1; ; attempt++ {
		start := time.Now()
		res, err := c.app.Apply(ctx, b.envs)
		if err == nil {
			took := time.Since(start)
			c.ready.Store(true)
			// Committed: the outcomes may go out while the ack travels.
			if c.relay != nil {
				c.relay.Enqueue(res.Outcomes)
			}
			c.ack(ctx, b.last, last)
			if c.onBatch != nil {
				c.onBatch(res, took)
			}
			return true
		}
		c.ready.Store(false)
		if ctx.Err() != nil {
			return false
		}
		c.log.Error("apply batch", "first_seq", first, "last_seq", last, "size", len(b.envs), "attempt", attempt, "err", err)
		if c.onError != nil {
			c.onError(err)
		}
		if !bo.wait(ctx) {
			return false
		}
	}
}

// ack acks a committed batch through its last message. While consuming it
// does not wait for the server's confirmation, so that the next batch is
// not held up by a round trip; once ctx has ended (the engine is stopping)
// it waits, so that the ack reaches the server before the connection
// closes. A failed or lost ack costs only a redelivery, which the Applier
// skips: the batch is committed.
func (c *Consumer) ack(ctx context.Context, m jetstream.Msg, seq uint64) {
	if ctx.Err() == nil {
		if err := m.Ack(); err != nil {
			c.log.Warn("ack batch", "last_seq", seq, "err", err)
		}
		return
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	if err := m.DoubleAck(actx); err != nil {
		c.log.Warn("ack batch", "last_seq", seq, "err", err)
	}
}

// delivery is the sequencer's verdict on a delivered message.
type delivery int

const (
	deliveryNext  delivery = iota // the next event in stream order: apply it
	deliveryStale                 // a redelivery of an event already taken: skip it
	deliveryLost                  // an earlier delivery was lost: rewind
	deliveryJump                  // no delivery lost, but stream sequences passed over: check them, then take
)

// sequencer keeps the events handed to Apply a gapless run of the stream.
// The server delivers new messages in stream order and numbers every
// delivery (consumer sequence, restarting at 1 after a rewind). A jump in
// stream sequence with a delivery missing before it is a lost delivery; a
// jump with none missing is either messages deleted from the stream or a
// durable that filters them out, which the caller tells apart (take).
type sequencer struct {
	next     uint64 // stream sequence of the next event to take
	delivery uint64 // consumer sequence of the last delivery seen; 0 after a rewind
}

func (s *sequencer) check(stream, consumer uint64) delivery {
	contiguous := consumer == s.delivery+1
	s.delivery = consumer
	switch {
	case stream < s.next:
		return deliveryStale
	case stream == s.next:
		s.next = stream + 1
		return deliveryNext
	case contiguous:
		return deliveryJump
	}
	return deliveryLost
}

// take takes stream as the next event after a jump found legitimate.
func (s *sequencer) take(stream uint64) { s.next = stream + 1 }
