package events

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/workflow"
)

// publishAckWait is how long OutcomePublisher waits for the stream to
// acknowledge one outcome.
const publishAckWait = 10 * time.Second

// OutcomePublisher publishes outcomes that no inbound event produced, and
// so no outbox holds: the corrections of a reconciliation. Each goes to
// HOSO_OUTCOMES on OutcomeSubject with the header Nats-Msg-Id =
// Outcome.MsgID(), so that publishing the same outcome again within the
// stream's duplicate window (10 minutes) stores nothing new.
//
// An OutcomePublisher is safe for concurrent use.
type OutcomePublisher struct {
	js jetstream.JetStream
}

// NewOutcomePublisher returns a publisher that publishes through js.
func NewOutcomePublisher(js jetstream.JetStream) *OutcomePublisher {
	return &OutcomePublisher{js: js}
}

// PublishOutcomes publishes the outcomes, at most relayInFlight awaiting
// their acknowledgement at once, and waits for every acknowledgement. It
// returns how many the stream stored; the others it dropped as duplicates
// of an earlier publication. On an error some outcomes may be published
// and others not; publishing them all again is safe.
func (p *OutcomePublisher) PublishOutcomes(ctx context.Context, outcomes []workflow.Outcome) (stored int, err error) {
	window := make([]jetstream.PubAckFuture, 0, relayInFlight)
	timer := time.NewTimer(publishAckWait)
	defer timer.Stop()
	await := func() error {
		f := window[0]
		window = window[1:]
		timer.Reset(publishAckWait)
		select {
		case ack := <-f.Ok():
			if !ack.Duplicate {
				stored++
			}
			return nil
		case err := <-f.Err():
			return fmt.Errorf("publish outcome on %s: %w", f.Msg().Subject, err)
		case <-timer.C:
			return fmt.Errorf("publish outcome on %s: no acknowledgement after %s", f.Msg().Subject, publishAckWait)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for i := range outcomes {
		o := &outcomes[i]
		if len(window) == relayInFlight {
			if err := await(); err != nil {
				return stored, err
			}
		}
		data, err := marshalOutcome(o)
		if err != nil {
			return stored, fmt.Errorf("encode outcome for %s: %w", o.Dossier, err)
		}
		msg := &nats.Msg{Subject: OutcomeSubject(o.Kind, o.Source, o.Dossier), Data: data, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, o.MsgID())
		f, err := p.js.PublishMsgAsync(msg, jetstream.WithExpectStream(OutcomesStream))
		if err != nil {
			return stored, fmt.Errorf("publish outcome on %s: %w", msg.Subject, err)
		}
		window = append(window, f)
	}
	for len(window) > 0 {
		if err := await(); err != nil {
			return stored, err
		}
	}
	return stored, nil
}
