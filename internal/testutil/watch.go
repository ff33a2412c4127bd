package testutil

import (
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// PublishWatch counts every publish on a subject by its Nats-Msg-Id, the
// repeats a stream drops as duplicates included: a core subscription sees
// each publish, the stream keeps one.
type PublishWatch struct {
	mu   sync.Mutex
	seen map[string]int // Nats-Msg-Id -> publishes
}

// WatchPublishes subscribes nc to subject (a wildcard) for the rest of
// the test.
func WatchPublishes(t testing.TB, nc *nats.Conn, subject string) *PublishWatch {
	t.Helper()
	w := &PublishWatch{seen: map[string]int{}}
	if _, err := nc.Subscribe(subject, func(m *nats.Msg) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.seen[m.Header.Get(jetstream.MsgIDHeader)]++
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return w
}

// Seen returns how many distinct messages were published, and the ids
// of those published more than once.
func (w *PublishWatch) Seen() (n int, repeated []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, c := range w.seen {
		if c > 1 {
			repeated = append(repeated, id)
		}
	}
	return len(w.seen), repeated
}
