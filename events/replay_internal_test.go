package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/workflow"
)

// fakeMsg is a delivery with the given stream and consumer sequences.
type fakeMsg struct {
	jetstream.Msg
	stream, consumer, pending uint64
}

func (m fakeMsg) Subject() string { return Subject("src", "d") }
func (m fakeMsg) Data() []byte    { return []byte("{}") }

// Headers are none, as a structured-mode event may have.
func (m fakeMsg) Headers() nats.Header { return nil }
func (m fakeMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: m.stream, Consumer: m.consumer}, NumPending: m.pending}, nil
}

// openCC is a consume context that never closes.
type openCC struct{}

func (openCC) Stop()                   {}
func (openCC) Drain()                  {}
func (openCC) Closed() <-chan struct{} { return nil }

// TestReplayCollectJumps feeds a replay's collector deliveries as the
// server might make them, against a real stream of 6 messages whose 3rd
// is deleted: a jump over the deleted message is passed over, a jump over
// one the stream holds ends the replay with ErrSkipped, a missing
// delivery rewinds, and a delivery past the last sequence ends it.
func TestReplayCollectJumps(t *testing.T) {
	// The server itself, as package natsserver (which imports this one)
	// would start it.
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(srv.Shutdown)
	nc, err := Connect(srv.ClientURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Setup(t.Context(), js, StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		if _, err := js.Publish(t.Context(), Subject("src", "d"), []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	str, err := js.Stream(t.Context(), EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := str.DeleteMsg(t.Context(), 3); err != nil {
		t.Fatal(err)
	}

	type d struct{ stream, consumer uint64 }
	tests := []struct {
		name       string
		last       uint64
		deliveries []d
		want       error
		applied    string // sequences handed out
		next       uint64 // next sequence to apply, after
	}{
		{"in order", 5, []d{{1, 1}, {2, 2}, {4, 3}, {5, 4}}, errReplayed, "[1 2 4 5]", 6},
		{"a held message passed over", 6, []d{{1, 1}, {2, 2}, {4, 3}, {6, 4}}, ErrSkipped, "[1 2 4]", 5},
		{"a lost delivery", 6, []d{{1, 1}, {2, 2}, {5, 4}}, errRewind, "[1 2]", 3},
		{"past the last, which is deleted", 3, []d{{1, 1}, {2, 2}, {4, 3}}, errReplayed, "[1 2]", 5},
		{"past the last, which is held", 5, []d{{1, 1}, {2, 2}, {4, 3}, {6, 4}}, ErrSkipped, "[1 2 4]", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &replayer{js: js, str: str, cfg: ReplayConfig{MaxBatch: 100, Logger: slog.New(slog.DiscardHandler)}, last: tt.last}
			s := &session{cc: openCC{}, msgs: make(chan jetstream.Msg, len(tt.deliveries)), done: make(chan struct{}), seq: sequencer{next: 1}}
			for _, dl := range tt.deliveries {
				s.msgs <- fakeMsg{stream: dl.stream, consumer: dl.consumer, pending: 1}
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			out := make(chan []workflow.Envelope)
			errc := make(chan error, 1)
			go func() { errc <- r.collect(ctx, s, out, nil) }()
			var seqs []uint64
		collect:
			for {
				select {
				case b := <-out:
					for _, env := range b {
						seqs = append(seqs, env.Seq)
					}
				case err = <-errc:
					break collect
				}
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("collect = %v, want %v", err, tt.want)
			}
			if got := fmt.Sprint(seqs); got != tt.applied {
				t.Errorf("handed out %s, want %s", got, tt.applied)
			}
			if s.seq.next != tt.next {
				t.Errorf("next sequence %d, want %d", s.seq.next, tt.next)
			}
		})
	}
}
