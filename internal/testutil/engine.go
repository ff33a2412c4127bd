package testutil

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/engine"
)

// Instance is an engine running in-process, on the ports its Config
// chose.
type Instance struct {
	Engine  *engine.Engine
	HTTPURL string // "http://" and the HTTP server's address (with TLS too)
	// PublicURL is "http://" and the public surface's address; "" without
	// one (Config.PublicAddr).
	PublicURL string
	NATSURL   string // the NATS server the engine uses
	Logs      *SyncBuffer
	cancel    context.CancelFunc
	done      chan error
}

// Config returns the configuration tests start engines with: the data in
// dataDir, HTTP and the embedded NATS server on free loopback ports, the
// log in JSON at debug level, and the deadline scheduler off (test
// streams are dated in the past: it would add expiries to them; tests of
// the scheduler turn it back on).
func Config(dataDir string) engine.Config {
	cfg := engine.DefaultConfig()
	cfg.DataDir = dataDir
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.NATSPort = 0
	cfg.LogFormat = "json"
	cfg.LogLevel = "debug"
	cfg.Deadlines = 0
	return cfg
}

// Start opens an engine from cfg and runs it until the test ends; it
// fails the test if the engine does not open.
func Start(t testing.TB, cfg engine.Config) *Instance {
	t.Helper()
	logs := &SyncBuffer{}
	e, err := engine.Open(context.Background(), cfg, cfg.NewLogger(logs))
	if err != nil {
		t.Fatalf("open engine: %v\n%s", err, logs.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &Instance{Engine: e, HTTPURL: "http://" + e.HTTPAddr().String(), NATSURL: e.NATSURL(),
		Logs: logs, cancel: cancel, done: make(chan error, 1)}
	if a := e.PublicAddr(); a != nil {
		in.PublicURL = "http://" + a.String()
	}
	go func() { in.done <- e.Run(ctx) }()
	t.Cleanup(func() { in.Stop(t) })
	return in
}

// Stop shuts the instance down cleanly and fails the test if it does not.
func (in *Instance) Stop(t testing.TB) {
	t.Helper()
	if in.cancel == nil {
		return
	}
	in.cancel()
	in.cancel = nil
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("engine returned %v\n%s", err, in.Logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("engine did not stop within 30s")
	}
}

// SyncBuffer is a bytes.Buffer safe for concurrent writes and reads: a
// log written by an engine while a test reads it.
type SyncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
