package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/natsserver"
	"github.com/hoso-vn/hoso/simulate"
)

// publishWindow is the most publishes awaiting their acknowledgement, as
// in hoso simulate.
const publishWindow = 2048

// benchMessage is one message of the stream as published.
type benchMessage struct {
	subject string
	msgID   string
	data    []byte
}

// payload returns the bytes an item is published as, as hoso simulate
// publishes it: an unreadable item's raw bytes, else its CloudEvent.
func payload(it simulate.Item) ([]byte, error) {
	if it.Event == nil {
		return it.Raw, nil
	}
	return events.Encode(it.Event)
}

func benchMessages(items []simulate.Item) ([]benchMessage, int, error) {
	msgs := make([]benchMessage, len(items))
	size := 0
	for i, it := range items {
		data, err := payload(it)
		if err != nil {
			return nil, 0, fmt.Errorf("item %d: %w", i, err)
		}
		msgs[i] = benchMessage{subject: it.Subject, msgID: it.MsgID, data: data}
		size += len(data)
	}
	return msgs, size, nil
}

// benchNATS is the bench's NATS server, holding the pre-filled stream.
type benchNATS struct {
	srv  *natsserver.Server
	nc   *nats.Conn
	js   jetstream.JetStream
	once sync.Once
}

func startBenchNATS(ctx context.Context, dir string, syncAlways bool) (*benchNATS, error) {
	// As the embedded server of serve: file storage, fsync by interval by
	// default (hoso's own store is fsynced at every commit).
	srv, err := natsserver.StartServer(natsserver.ServerConfig{Dir: dir, Port: -1, SyncInterval: 2 * time.Minute, SyncAlways: syncAlways})
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(srv.ClientURL(), nats.Name("hoso-bench"))
	if err != nil {
		srv.Shutdown()
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(2*publishWindow))
	if err != nil {
		nc.Close()
		srv.Shutdown()
		return nil, err
	}
	h := &benchNATS{srv: srv, nc: nc, js: js}
	if _, err := events.Setup(ctx, js, events.StreamConfig{}); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

func (h *benchNATS) url() string { return h.srv.ClientURL() }

func (h *benchNATS) close() {
	h.once.Do(func() {
		h.nc.Close()
		h.srv.Shutdown()
	})
}

// publishAll publishes msgs into the events stream, checking that each
// lands at the next sequence.
func (h *benchNATS) publishAll(ctx context.Context, msgs []benchMessage) error {
	st, err := h.js.Stream(ctx, events.EventsStream)
	if err != nil {
		return err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return err
	}
	first := info.State.LastSeq + 1
	p := events.NewAsyncPublisher(h.js, publishWindow, time.Minute)
	for _, m := range msgs {
		if err := p.Publish(ctx, benchMsg(m), jetstream.WithStallWait(time.Minute)); err != nil {
			return err
		}
	}
	if err := p.Flush(ctx); err != nil {
		return err
	}
	info, err = st.Info(ctx)
	if err != nil {
		return err
	}
	if got := info.State.LastSeq - first + 1; got != uint64(len(msgs)) {
		return fmt.Errorf("stream holds %d new messages, published %d (deduplicated?)", got, len(msgs))
	}
	return nil
}

func benchMsg(m benchMessage) *nats.Msg {
	msg := &nats.Msg{Subject: m.subject, Data: m.data}
	if m.msgID != "" {
		msg.Header = nats.Header{jetstream.MsgIDHeader: []string{m.msgID}}
	}
	return msg
}

// reset removes the engine's consumer and the streams it writes, so that a
// new serve starts over on the pre-filled stream.
func (h *benchNATS) reset(ctx context.Context) error {
	if err := h.js.DeleteConsumer(ctx, events.EventsStream, events.ConsumerName); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return err
	}
	for _, s := range []string{events.OutcomesStream, events.DeadLetterStream} {
		if err := h.js.DeleteStream(ctx, s); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return err
		}
	}
	return nil
}
