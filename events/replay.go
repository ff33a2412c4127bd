package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hoso-vn/hoso/workflow"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrSkipped is returned by Replay when a delivery passed over stream
// sequences that the stream still holds: applying on would leave events
// out of the store.
var ErrSkipped = errors.New("events: a delivery passed over messages the stream holds")

// errReplayed ends a replay's collection once the last sequence to apply
// is in the batches handed out.
var errReplayed = errors.New("events: replayed")

// ReplayConfig configures Replay. Zero fields take the defaults.
type ReplayConfig struct {
	// FromSeq is the first stream sequence to apply; 0 (or 1) starts at
	// the stream's first message.
	FromSeq uint64
	// ToSeq is the last stream sequence to apply; 0 is the stream's last
	// sequence when Replay starts. A ToSeq beyond it is an error: the
	// replay would wait for events that may never come.
	ToSeq uint64
	// MaxBatch is the largest number of events applied in one Apply call;
	// default DefaultMaxBatch. Replay prefetches twice as many.
	MaxBatch int
	// Logger receives the replay's log; nil discards it.
	Logger *slog.Logger
	// OnBatch, if set, is called after each applied batch with the
	// progress so far (a progress line, a time left). It runs on Replay's
	// goroutine and must be quick.
	OnBatch func(ReplayProgress)
	// OnGap, if set, is called when the replay passes over stream
	// sequences from..to (inclusive) that are no longer in the stream
	// (deleted, aged out, or before its first message). It runs on one of
	// Replay's goroutines and must be quick.
	OnGap func(from, to uint64)
}

// ReplayProgress is how far a replay has come.
type ReplayProgress struct {
	// Messages is the number of messages handed to Apply so far.
	Messages int
	// Seq is the stream sequence of the last message applied; 0 before
	// the first batch.
	Seq uint64
	// From and Last are the first and the last stream sequence the
	// replay covers (Last is where it stops).
	From, Last uint64
}

// Replay applies the stream HOSO_EVENTS to app in stream order, from
// cfg.FromSeq to cfg.ToSeq (by default from its first message to its last
// as of the call), in batches of up to cfg.MaxBatch, and returns how far
// it came. It is what rebuilds a store from the stream.
//
// Replay reads the stream with an ordered consumer of its own: the
// engine's durable consumer is not touched, nothing is acked and nothing
// is published (the Applier's outcomes are dropped; a store rebuilt this
// way marks them published itself). It hands Apply the same gapless run
// of stream sequences as the Consumer, under the same rules: a lost
// delivery rewinds the replay to the next sequence to apply, and a jump
// in stream sequence is checked with the stream — sequences deleted or
// aged out are passed over (cfg.OnGap), held ones end the replay with
// ErrSkipped. Unlike the Consumer, Replay does not retry: an Apply error,
// or a failure to check a jump, ends it with that error, the batches
// before it applied. It returns ctx's error if ctx ends first.
//
// Messages published after the last sequence to apply are not applied.
func Replay(ctx context.Context, js jetstream.JetStream, app Applier, cfg ReplayConfig) (ReplayProgress, error) {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	str, err := js.Stream(ctx, EventsStream)
	if err != nil {
		return ReplayProgress{}, fmt.Errorf("replay: stream %s: %w", EventsStream, err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		return ReplayProgress{}, fmt.Errorf("replay: stream %s: %w", EventsStream, err)
	}
	p := ReplayProgress{From: max(cfg.FromSeq, 1), Last: info.State.LastSeq}
	if cfg.ToSeq > p.Last {
		return p, fmt.Errorf("replay: sequence %d is beyond the stream's last message %d", cfg.ToSeq, p.Last)
	}
	if cfg.ToSeq > 0 {
		p.Last = cfg.ToSeq
	}
	if p.From > p.Last {
		return p, nil
	}
	r := &replayer{js: js, str: str, app: app, cfg: cfg, last: p.Last}
	// Nothing would be delivered up to Last if all of it is gone: there is
	// nothing to wait for.
	gone, err := streamGone(ctx, js, EventsStream, p.From, p.Last+1)
	if err != nil {
		return p, fmt.Errorf("replay: %w", err)
	}
	if gone {
		r.gap(p.From, p.Last)
		return p, nil
	}
	next := p.From
	for {
		s, err := r.start(ctx, next)
		if err != nil {
			return p, fmt.Errorf("replay: %w", err)
		}
		err = r.consume(ctx, s, &p)
		s.stop()
		next = s.seq.next
		switch {
		case errors.Is(err, errRewind):
			continue
		case errors.Is(err, errReplayed):
			return p, nil
		case err != nil && ctx.Err() != nil:
			return p, ctx.Err()
		case err != nil:
			return p, fmt.Errorf("replay: %w", err)
		}
	}
}

// replayer is one Replay call.
type replayer struct {
	js   jetstream.JetStream
	str  jetstream.Stream
	app  Applier
	cfg  ReplayConfig
	last uint64 // stream sequence of the last message to apply
}

// start starts an ordered consumer at stream sequence next.
func (r *replayer) start(ctx context.Context, next uint64) (*session, error) {
	cons, err := r.str.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   next,
	})
	if err != nil {
		return nil, fmt.Errorf("ordered consumer: %w", err)
	}
	s := &session{
		msgs: make(chan jetstream.Msg, 2*r.cfg.MaxBatch),
		done: make(chan struct{}),
		seq:  sequencer{next: next},
	}
	handler := func(m jetstream.Msg) {
		select {
		case s.msgs <- m:
		case <-s.done:
		}
	}
	onErr := func(_ jetstream.ConsumeContext, err error) {
		r.cfg.Logger.Warn("replay consume", "stream", EventsStream, "err", err)
	}
	s.cc, err = cons.Consume(handler, jetstream.PullMaxMessages(2*r.cfg.MaxBatch), jetstream.ConsumeErrHandler(onErr))
	if err != nil {
		return nil, fmt.Errorf("consume: %w", err)
	}
	return s, nil
}

// consume applies the session's batches until the last sequence is
// applied (errReplayed), ctx ends, a delivery is lost (errRewind), or
// something fails; it updates p after each batch. As in the Consumer, a
// collector goroutine decodes the next batch while this one applies.
func (r *replayer) consume(ctx context.Context, s *session, p *ReplayProgress) error {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []workflow.Envelope) // unbuffered: the collector grows its batch until taken
	free := make(chan []workflow.Envelope, 2) // applied batches, for the collector to fill again
	var cerr error                            // the collector's error; read after batches is closed
	go func() {
		defer close(batches)
		cerr = r.collect(cctx, s, batches, free)
	}()
	for b := range batches {
		if _, err := r.app.Apply(ctx, b); err != nil {
			cancel()
			for range batches { // let the collector end
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("apply sequences %d to %d: %w", b[0].Seq, b[len(b)-1].Seq, err)
		}
		p.Messages += len(b)
		p.Seq = b[len(b)-1].Seq
		if r.cfg.OnBatch != nil {
			r.cfg.OnBatch(*p)
		}
		select {
		case free <- b[:0]:
		default:
		}
	}
	return cerr
}

// collect reads the session's messages into batches of up to MaxBatch
// and hands them to out in stream order, until the last sequence is handed
// out (errReplayed), ctx ends, the session closes, a delivery is lost
// (errRewind) or a jump cannot be passed over. The batch before the end
// is handed out first.
func (r *replayer) collect(ctx context.Context, s *session, out chan<- []workflow.Envelope, free <-chan []workflow.Envelope) error {
	closed := s.cc.Closed()
	var b []workflow.Envelope
	for {
		var (
			in   <-chan jetstream.Msg = s.msgs
			send chan<- []workflow.Envelope
		)
		if len(b) > 0 {
			send = out
		}
		if len(b) >= r.cfg.MaxBatch {
			in = nil // full: wait for the applier
		}
		var m jetstream.Msg
		select {
		case send <- b:
			b = nil
			continue
		case m = <-in:
		case <-ctx.Done():
			return ctx.Err()
		case <-closed:
			return flush(ctx, out, b, len(b), errConsumeClosed)
		}
		meta, err := m.Metadata()
		if err != nil {
			r.cfg.Logger.Error("message without metadata, rewinding", "subject", m.Subject(), "err", err)
			return flush(ctx, out, b, len(b), errRewind)
		}
		seq := meta.Sequence.Stream
		switch s.seq.check(seq, meta.Sequence.Consumer) {
		case deliveryStale:
			continue
		case deliveryLost:
			r.cfg.Logger.Warn("delivery lost, rewinding", "next_seq", s.seq.next, "got_seq", seq)
			return flush(ctx, out, b, len(b), errRewind)
		case deliveryJump:
			// Only the sequences up to last matter: a message past it ends
			// the replay once they are known to be gone.
			if to := min(seq, r.last+1); s.seq.next < to {
				gone, err := streamGone(ctx, r.js, EventsStream, s.seq.next, to)
				if err != nil {
					return flush(ctx, out, b, len(b), fmt.Errorf("check sequences %d to %d: %w", s.seq.next, to-1, err))
				}
				if !gone {
					return flush(ctx, out, b, len(b), fmt.Errorf("%w: delivered sequence %d before %d", ErrSkipped, seq, s.seq.next))
				}
				r.gap(s.seq.next, to-1)
			}
			s.seq.take(seq)
		}
		if seq > r.last {
			return flush(ctx, out, b, len(b), errReplayed)
		}
		if b == nil {
			select {
			case b = <-free:
			default:
				b = make([]workflow.Envelope, 0, r.cfg.MaxBatch)
			}
		}
		b = append(b, DecodeMsg(m.Subject(), m.Headers(), m.Data(), seq, meta.Timestamp.UTC()))
		if seq == r.last {
			return flush(ctx, out, b, len(b), errReplayed)
		}
		if meta.NumPending == 0 {
			// The stream holds nothing past seq: the rest up to last is
			// deleted, or a later message will come to tell.
			gone, err := streamGone(ctx, r.js, EventsStream, seq+1, r.last+1)
			if err == nil && gone {
				r.gap(seq+1, r.last)
				return flush(ctx, out, b, len(b), errReplayed)
			}
		}
	}
}

// gap logs and reports sequences from..to passed over.
func (r *replayer) gap(from, to uint64) {
	r.cfg.Logger.Warn("passing over deleted messages", "stream", EventsStream, "from_seq", from, "to_seq", to)
	if r.cfg.OnGap != nil {
		r.cfg.OnGap(from, to)
	}
}
