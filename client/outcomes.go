package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
)

// fetchWait bounds one pull request of Outcomes.Next, which makes new
// ones until its context ends.
const fetchWait = 30 * time.Second

// Outcomes reads the source's outcomes, of every kind and dossier, in the
// order hoso published them, through the source's durable pull consumer
// outcomes-<source> of HOSO_OUTCOMES (filter hoso.outcomes.*.<source>.>,
// explicit acks). The consumer is kept by the server: a reader that
// stops, or loses its connection, resumes after the last outcome it
// acknowledged. It is the one consumer a source's user may use; one
// reader at a time per source keeps the order. Not safe for concurrent
// use.
type Outcomes struct {
	cons jetstream.Consumer
}

// Outcomes creates or binds the source's outcome consumer. A new one
// starts at the first outcome the stream keeps (30 days by default).
func (s *Source) Outcomes(ctx context.Context) (*Outcomes, error) {
	cons, err := s.js.CreateOrUpdateConsumer(ctx, events.OutcomesStream, jetstream.ConsumerConfig{
		Durable:       events.OutcomeConsumer(s.source),
		FilterSubject: strings.TrimSuffix(events.OutcomesSubject, ">") + "*." + s.source + ".>",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("outcome consumer %s: %w", events.OutcomeConsumer(s.source), err)
	}
	return &Outcomes{cons: cons}, nil
}

// Message is one outcome read from Outcomes, to acknowledge once handled.
type Message struct {
	Outcome
	msg jetstream.Msg
}

// Ack acknowledges the outcome and waits for the server to confirm it: it
// is not delivered again, and a reader resumes after it. Call it after
// handling the outcome (fixing a status, storing the receipt); an
// outcome not acknowledged within the consumer's ack wait (30 seconds)
// is delivered again.
func (m *Message) Ack(ctx context.Context) error {
	if err := m.msg.DoubleAck(ctx); err != nil {
		return fmt.Errorf("ack outcome of event %s: %w", m.EventID, err)
	}
	return nil
}

// Next returns the next outcome, waiting for one until ctx ends. An
// outcome message that is not an outcome of the contract is acknowledged
// and skipped with an error wrapping ErrBadOutcome, so that it does not
// block the ones after it.
func (o *Outcomes) Next(ctx context.Context) (*Message, error) {
	for {
		fctx, cancel := context.WithTimeout(ctx, fetchWait)
		batch, err := o.cons.Fetch(1, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("fetch outcome: %w", err)
		}
		var got jetstream.Msg
		for m := range batch.Messages() {
			got = m
		}
		cancel()
		if got != nil {
			out, err := parseOutcome(got.Data())
			if err != nil {
				_ = got.Ack()
				return nil, fmt.Errorf("%w on %s: %w", ErrBadOutcome, got.Subject(), err)
			}
			return &Message{Outcome: *out, msg: got}, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, jetstream.ErrNoHeartbeat) {
			return nil, fmt.Errorf("fetch outcome: %w", err)
		}
	}
}

// ErrBadOutcome is returned (wrapped) by Outcomes.Next for a message of
// the outcome stream that is not an outcome.
var ErrBadOutcome = errors.New("client: not an outcome")
