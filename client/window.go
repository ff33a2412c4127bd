package client

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
)

// Window publishes many events without awaiting each acknowledgement:
// at most its size await theirs at once. It is for bulk loads (a
// migration, a replay of a queue after an outage); Publish is simpler
// for one event at a time. A failed window is not retried for you: on an
// error, publish every event from the first one not acknowledged again,
// with the same ids, and the stream keeps one copy of each. Not safe for
// concurrent use.
type Window struct {
	s   *Source
	pub *events.AsyncPublisher
}

// NewWindow returns a window of size publishes awaiting their
// acknowledgement, each awaited at most ackTimeout. It makes its own
// JetStream context on the Source's connection.
func (s *Source) NewWindow(size int, ackTimeout time.Duration) (*Window, error) {
	size = max(size, 1)
	js, err := jetstream.New(s.nc, jetstream.WithPublishAsyncMaxPending(2*size))
	if err != nil {
		return nil, err
	}
	return &Window{s: s, pub: events.NewAsyncPublisher(js, size, ackTimeout)}, nil
}

// Publish validates ev and publishes it with Nats-Msg-Id = ev.ID. When
// the window is full it first awaits the older half of it; their error
// is returned.
func (w *Window) Publish(ctx context.Context, ev *Event) error {
	subject, payload, err := ev.Encode(w.s.source, w.s.sourceURI)
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: subject, Data: payload, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
	return w.pub.Publish(ctx, msg)
}

// PublishMsg publishes msg as it is, unchecked: for tools that send
// faulty messages on purpose (`hoso simulate`). A vendor uses Publish.
func (w *Window) PublishMsg(ctx context.Context, msg *nats.Msg) error {
	return w.pub.Publish(ctx, msg)
}

// Flush awaits the acknowledgement of every publish.
func (w *Window) Flush(ctx context.Context) error { return w.pub.Flush(ctx) }

// Collect counts the acknowledgements that have arrived, without waiting.
func (w *Window) Collect() { w.pub.Collect() }

// Acked is how many publishes JetStream acknowledged, duplicates
// included; Dropped how many of them it dropped as duplicates.
func (w *Window) Acked() int   { return w.pub.Acked() }
func (w *Window) Dropped() int { return w.pub.Dropped() }
