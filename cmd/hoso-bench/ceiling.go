package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// ceiling drains the events stream with a durable pull consumer that does
// no work and returns its events/s from the first message to the last.
// With ackEach it acks every message (an explicit-ack consumer, the usual
// JetStream consumer); otherwise it is configured as the engine's (ack
// all) and acks the last message of every batch, as the engine does.
func (h *benchNATS) ceiling(ctx context.Context, total, batch int, ackEach bool) (float64, error) {
	cons, remove, err := h.ceilingConsumer(ctx, "hoso-bench-ceiling", batch, ackEach)
	if err != nil {
		return 0, err
	}
	defer remove()
	var (
		n           int
		first, last time.Time
		done        = make(chan struct{})
	)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		n++
		if n == 1 {
			first = time.Now()
		}
		if ackEach || n%batch == 0 || n == total {
			m.Ack()
		}
		if n == total {
			last = time.Now()
			close(done)
		}
	}, jetstream.PullMaxMessages(2*batch))
	if err != nil {
		return 0, err
	}
	defer cc.Stop()
	select {
	case <-done:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(time.Minute + time.Duration(total)*time.Millisecond):
		return 0, fmt.Errorf("consumed %d of %d messages", n, total)
	}
	return perSecond(total-1, last.Sub(first)), nil
}

// ceilingConsumer creates the durable consumer name on the events
// stream for a ceiling measure: configured as the engine's (ack all), or
// acking each message with ackEach. remove deletes it.
func (h *benchNATS) ceilingConsumer(ctx context.Context, name string, batch int, ackEach bool) (cons jetstream.Consumer, remove func(), err error) {
	cfg := jetstream.ConsumerConfig{
		Durable: name, DeliverPolicy: jetstream.DeliverAllPolicy, AckPolicy: jetstream.AckAllPolicy,
		AckWait: 30 * time.Second, MaxDeliver: -1, MaxAckPending: 4 * batch,
	}
	if ackEach {
		cfg.AckPolicy = jetstream.AckExplicitPolicy
	}
	if cons, err = h.js.CreateOrUpdateConsumer(ctx, events.EventsStream, cfg); err != nil {
		return nil, nil, err
	}
	return cons, func() { h.js.DeleteConsumer(context.WithoutCancel(ctx), events.EventsStream, name) }, nil
}

// ceilingOutcomes drains the events stream as ceiling does with ack all,
// and for every message publishes an outcome to the outcome stream as the
// engine's relay does (asynchronously, with a Nats-Msg-Id, awaiting every
// acknowledgement). It returns its events/s from the first message to the
// last acknowledged outcome: what the NATS server allows a drain that does
// all of the engine's messaging and none of its work.
func (h *benchNATS) ceilingOutcomes(ctx context.Context, msgs []benchMessage, batch int) (float64, error) {
	if err := h.reset(ctx); err != nil {
		return 0, err
	}
	defer h.reset(context.WithoutCancel(ctx))
	if _, err := events.Setup(ctx, h.js, events.StreamConfig{}); err != nil {
		return 0, err
	}
	due, index := time.Date(2026, 12, 10, 17, 0, 0, 0, workflow.Zone), 1
	template := workflow.Outcome{
		Kind: workflow.OutcomeAccepted, EventID: "8a6e0804-2bd0-4672-b79d-d97027f9071a", Source: "tayninh",
		Dossier: "000.00.12.H57-261125-0001", Action: "assign", Status: workflow.StatusProcessing, StatusName: "Đang xử lý",
		PreviousStatus: workflow.StatusReceived, Due: &due, HistoryIndex: &index, Time: due.AddDate(0, 0, -10),
	}
	data, err := json.Marshal(template)
	if err != nil {
		return 0, err
	}
	subject := events.OutcomeSubject(template.Kind, template.Source, template.Dossier)
	cons, remove, err := h.ceilingConsumer(ctx, "hoso-bench-ceiling-outcomes", batch, false)
	if err != nil {
		return 0, err
	}
	defer remove()
	var (
		n        int // messages consumed, by the callback only
		consumed atomic.Int64
		first    time.Time // set before the first future is sent
		futures  = make(chan jetstream.PubAckFuture, 4*batch)
		failed   = make(chan error, 1)
		returned = make(chan struct{}) // the callback must not wait on futures after
	)
	defer close(returned)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		n++
		if n == 1 {
			first = time.Now()
		}
		meta, err := m.Metadata()
		if err == nil {
			msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
			msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s@%d", template.EventID, meta.Sequence.Stream))
			var f jetstream.PubAckFuture
			if f, err = h.js.PublishMsgAsync(msg, jetstream.WithExpectStream(events.OutcomesStream), jetstream.WithStallWait(time.Minute)); err == nil {
				select {
				case futures <- f:
				case <-returned:
				}
			}
		}
		if err != nil {
			select {
			case failed <- err:
			default:
			}
		}
		if n%batch == 0 || n == len(msgs) {
			m.Ack()
		}
		consumed.Store(int64(n))
	}, jetstream.PullMaxMessages(2*batch))
	if err != nil {
		return 0, err
	}
	defer cc.Stop()
	timeout := time.After(time.Minute + time.Duration(len(msgs))*time.Millisecond)
	for range msgs {
		select {
		case f := <-futures:
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return 0, fmt.Errorf("publish outcome: %w", err)
			case <-timeout:
				return 0, errors.New("no acknowledgement of an outcome")
			}
		case err := <-failed:
			return 0, err
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-timeout:
			return 0, fmt.Errorf("consumed %d of %d messages", consumed.Load(), len(msgs))
		}
	}
	return perSecond(len(msgs)-1, time.Since(first)), nil
}
