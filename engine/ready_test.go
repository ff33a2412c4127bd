package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/natsserver"
)

type readyConsumer bool

func (r readyConsumer) Ready() bool { return bool(r) }

// TestReadinessProbesAtMostOncePerSecond: /readyz needs no token, so its
// JetStream request runs at most once per readyProbeEvery however often
// it is asked, and again once that has passed.
func TestReadinessProbesAtMostOncePerSecond(t *testing.T) {
	srv, err := natsserver.StartServer(natsserver.ServerConfig{Dir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, js := connect(t, srv.ClientURL())
	watcher, _ := connect(t, srv.ClientURL())
	// A synchronous subscription: the reader queues a message before it
	// reads the PONG of a later Flush, so Pending counts it by then.
	asked, err := watcher.SubscribeSync("$JS.API.INFO")
	if err != nil {
		t.Fatal(err)
	}
	if err := watcher.Flush(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	r := &readiness{nc: nc, js: js, embedded: srv, consumer: readyConsumer(true), dataDir: t.TempDir(),
		now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	for range 20 {
		if err := r.check(context.Background()); err != nil {
			t.Fatalf("check: %v", err)
		}
	}
	flushed := func(want int) {
		t.Helper()
		if err := watcher.Flush(); err != nil {
			t.Fatal(err)
		}
		if n, _, err := asked.Pending(); err != nil || n != want {
			t.Errorf("JetStream asked %d times, want %d", n, want)
		}
	}
	flushed(1)
	mu.Lock()
	now = now.Add(readyProbeEvery)
	mu.Unlock()
	if err := r.check(context.Background()); err != nil {
		t.Fatal(err)
	}
	flushed(2)
	if err := (&readiness{nc: nc, js: js, consumer: readyConsumer(false)}).check(context.Background()); err == nil {
		t.Error("ready with a consumer that is not")
	}
}

// connect returns a JetStream client of the NATS server at url.
func connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}
