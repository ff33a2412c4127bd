package events

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// AsyncPublisher publishes messages to JetStream asynchronously with a
// bounded window of publishes awaiting their acknowledgement, and counts
// the acknowledgements and the duplicates JetStream dropped (a repeated
// Nats-Msg-Id within the stream's duplicate window): the publisher of
// `hoso simulate` and of the performance suite. It is not safe for
// concurrent use.
type AsyncPublisher struct {
	js      jetstream.JetStream
	window  int
	timeout time.Duration
	pending []jetstream.PubAckFuture // in publication order
	acked   int
	dropped int
}

// NewAsyncPublisher returns a publisher that lets at most window
// publishes await their acknowledgement, and waits at most ackTimeout
// for one. Create js with jetstream.WithPublishAsyncMaxPending of at
// least window.
func NewAsyncPublisher(js jetstream.JetStream, window int, ackTimeout time.Duration) *AsyncPublisher {
	return &AsyncPublisher{js: js, window: max(window, 1), timeout: ackTimeout}
}

// Publish publishes msg. When the window is full it first waits for the
// acknowledgements of its older half; an error of one of them is
// returned.
func (p *AsyncPublisher) Publish(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) error {
	if len(p.pending) >= p.window {
		if err := p.await(ctx, max(p.window/2, 1)); err != nil {
			return err
		}
	}
	f, err := p.js.PublishMsgAsync(msg, opts...)
	if err != nil {
		return fmt.Errorf("publish to %s: %w", msg.Subject, err)
	}
	p.pending = append(p.pending, f)
	return nil
}

// Flush waits for the acknowledgement of every pending publish.
func (p *AsyncPublisher) Flush(ctx context.Context) error { return p.await(ctx, len(p.pending)) }

// Collect counts the acknowledgements that have arrived, without waiting.
func (p *AsyncPublisher) Collect() {
	n := 0
loop:
	for ; n < len(p.pending); n++ {
		select {
		case ack := <-p.pending[n].Ok():
			p.count(ack)
		default:
			break loop
		}
	}
	p.pending = slices.Delete(p.pending, 0, n)
}

// Acked is how many publishes JetStream acknowledged, duplicates
// included; Dropped how many of them it dropped as duplicates.
func (p *AsyncPublisher) Acked() int   { return p.acked }
func (p *AsyncPublisher) Dropped() int { return p.dropped }

// await waits for the acknowledgements of the n oldest pending publishes.
func (p *AsyncPublisher) await(ctx context.Context, n int) error {
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	for i, f := range p.pending[:n] {
		timer.Reset(p.timeout)
		select {
		case ack := <-f.Ok():
			p.count(ack)
		case err := <-f.Err():
			p.pending = slices.Delete(p.pending, 0, i+1)
			return fmt.Errorf("publish to %s: %w", f.Msg().Subject, err)
		case <-timer.C:
			p.pending = slices.Delete(p.pending, 0, i)
			return fmt.Errorf("no acknowledgement from JetStream within %s for %s", p.timeout, f.Msg().Subject)
		case <-ctx.Done():
			p.pending = slices.Delete(p.pending, 0, i)
			return ctx.Err()
		}
	}
	p.pending = slices.Delete(p.pending, 0, n)
	return nil
}

func (p *AsyncPublisher) count(ack *jetstream.PubAck) {
	p.acked++
	if ack.Duplicate {
		p.dropped++
	}
}
