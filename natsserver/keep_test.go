package natsserver_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/natsserver"
)

// recordingHandler keeps the messages of the records logged through it.
type recordingHandler struct {
	slog.Handler
	mu   sync.Mutex
	msgs []string
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordingHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	h.msgs = append(h.msgs, r.Message)
	h.mu.Unlock()
	return nil
}

func (h *recordingHandler) count(text string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.msgs {
		if strings.Contains(m, text) {
			n++
		}
	}
	return n
}

// TestKeepJetStreamBacksOff: a server a restart does not cure (a stream
// directory it cannot recover) is restarted less and less often, not at
// every interval: each restart disconnects every client.
func TestKeepJetStreamBacksOff(t *testing.T) {
	dir := t.TempDir()
	srv, err := natsserver.StartServer(natsserver.ServerConfig{Dir: dir, Port: -1, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	if err := srv.JetStreamHealth(); err != nil {
		t.Fatalf("a new server: %v", err)
	}
	// A stream the server cannot recover.
	if err := os.MkdirAll(filepath.Join(dir, "jetstream", "$G", "streams", "BROKEN"), 0o750); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the broken stream seen", func() bool { return srv.JetStreamHealth() != nil })
	h := &recordingHandler{Handler: slog.DiscardHandler}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.KeepJetStream(ctx, 20*time.Millisecond, slog.New(h)) }()
	time.Sleep(time.Second) // the span over which restarts are counted, not a wait for anything
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Every 20 ms would be some 50 restarts; doubling waits, at most 6
	// (a slow machine restarts less often still, never more).
	n := h.count("restart")
	if n < 1 || n > 8 {
		t.Errorf("%d restarts in a second at a 20 ms interval, want a few (1 to 8), each wait twice the last", n)
	}
}
