package events_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
)

// TestAsyncPublisher publishes through a window far smaller than the
// messages, some repeating an earlier Nats-Msg-Id: every publish is
// acknowledged once, the repeats are counted as dropped, and the stream
// holds exactly the others.
func TestAsyncPublisher(t *testing.T) {
	_, _, js := startJS(t)
	setup(t, js)
	ctx := context.Background()
	p := events.NewAsyncPublisher(js, 8, 10*time.Second)
	const n, repeats = 100, 7
	for i := range n + repeats {
		id := i
		if i >= n {
			id = i - n // the first messages again
		}
		msg := &nats.Msg{Subject: fmt.Sprintf("hoso.events.tayninh.d%d", id), Data: []byte("{}"),
			Header: nats.Header{jetstream.MsgIDHeader: []string{fmt.Sprintf("m-%d", id)}}}
		if err := p.Publish(ctx, msg); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		if i%10 == 0 {
			p.Collect()
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if p.Acked() != n+repeats || p.Dropped() != repeats {
		t.Errorf("acked %d, dropped %d; want %d and %d", p.Acked(), p.Dropped(), n+repeats, repeats)
	}
	st, err := js.Stream(ctx, events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != n {
		t.Errorf("the stream holds %d messages, want %d", info.State.Msgs, n)
	}
}

// TestAsyncPublisherErrors: a publish no stream takes is an error naming
// its subject; a publish nobody acknowledges is an error once the ack
// timeout passes, and a context that ends stops the wait with its error.
func TestAsyncPublisherErrors(t *testing.T) {
	_, nc, js := startJS(t)
	setup(t, js)
	p := events.NewAsyncPublisher(js, 4, 10*time.Second)
	if err := p.Publish(context.Background(), &nats.Msg{Subject: "nowhere.at.all", Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), "nowhere.at.all") {
		t.Errorf("Flush after a publish no stream takes = %v, want an error naming its subject", err)
	}

	// A subscriber that takes the publishes and never answers them.
	sub, err := nc.SubscribeSync("silent.>")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	p = events.NewAsyncPublisher(js, 4, 100*time.Millisecond)
	if err := p.Publish(context.Background(), &nats.Msg{Subject: "silent.one", Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), "no acknowledgement from JetStream within 100ms for silent.one") {
		t.Errorf("Flush of an unanswered publish = %v, want the ack timeout", err)
	}
	p = events.NewAsyncPublisher(js, 4, time.Minute)
	if err := p.Publish(context.Background(), &nats.Msg{Subject: "silent.two", Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush with a cancelled context = %v, want context.Canceled", err)
	}
}
