package natsserver_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/natsserver"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestStartServer(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := natsserver.StartServer(natsserver.ServerConfig{Dir: t.TempDir(), Port: -1, SyncAlways: true, Logger: logger})
	if err != nil {
		t.Fatalf("StartServer: %v", err)
	}
	defer srv.Shutdown()
	if u := srv.ClientURL(); !strings.HasPrefix(u, "nats://127.0.0.1:") || strings.HasSuffix(u, ":-1") {
		t.Errorf("ClientURL() = %q, want nats://127.0.0.1:<port>", u)
	}

	// Both a network and an in-process connection reach JetStream.
	for name, connect := range map[string]func() (*nats.Conn, error){
		"tcp":        func() (*nats.Conn, error) { return events.Connect(srv.ClientURL(), nil) },
		"in-process": func() (*nats.Conn, error) { return events.Connect("", nil, nats.InProcessServer(srv)) },
	} {
		nc, err := connect()
		if err != nil {
			t.Fatalf("%s connect: %v", name, err)
		}
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.AccountInfo(t.Context()); err != nil {
			t.Errorf("%s: AccountInfo: %v", name, err)
		}
		nc.Close()
	}

	srv.Shutdown()
	srv.Shutdown() // a second call is harmless
	if !strings.Contains(logs.String(), `msg="nats server"`) {
		t.Errorf("server log not routed to slog; got:\n%s", logs.String())
	}
}

func TestStartServerErrors(t *testing.T) {
	if _, err := natsserver.StartServer(natsserver.ServerConfig{}); !errors.Is(err, natsserver.ErrNoStoreDir) {
		t.Errorf("StartServer without Dir: error %v, want ErrNoStoreDir", err)
	}

	// A port in use fails at once, not after the readiness timeout.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	start := time.Now()
	srv, err := natsserver.StartServer(natsserver.ServerConfig{Dir: t.TempDir(), Port: port})
	if err == nil {
		srv.Shutdown()
		t.Fatalf("StartServer on busy port %d succeeded", port)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("StartServer on a busy port took %s to fail", took)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Errorf("StartServer on a busy port: error %q does not name the port", err)
	}
}

func TestSetup(t *testing.T) {
	_, _, js := startJS(t)
	ctx := t.Context()
	setup(t, js)
	cons := setup(t, js) // idempotent

	s, err := js.Stream(ctx, events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	if len(cfg.Subjects) != 1 || cfg.Subjects[0] != events.EventsSubject || cfg.Retention != jetstream.LimitsPolicy ||
		cfg.Storage != jetstream.FileStorage || cfg.MaxAge != 0 || cfg.Duplicates != events.DefaultDuplicateWindow {
		t.Errorf("events stream config = %+v", cfg)
	}
	s, err = js.Stream(ctx, events.OutcomesStream)
	if err != nil {
		t.Fatal(err)
	}
	cfg = s.CachedInfo().Config
	if len(cfg.Subjects) != 1 || cfg.Subjects[0] != events.OutcomesSubject || cfg.MaxAge != events.DefaultOutcomesMaxAge ||
		cfg.Duplicates != 10*time.Minute || cfg.Storage != jetstream.FileStorage {
		t.Errorf("outcomes stream config = %+v", cfg)
	}
	cc := cons.CachedInfo().Config
	if cc.Durable != events.ConsumerName || cc.AckPolicy != jetstream.AckAllPolicy || cc.DeliverPolicy != jetstream.DeliverAllPolicy ||
		cc.MaxDeliver != -1 || cc.AckWait != events.DefaultAckWait || cc.MaxAckPending != events.DefaultMaxAckPending {
		t.Errorf("consumer config = %+v", cc)
	}

	// A changed setting is reported and kept; asked, Setup sets it.
	var diffs []events.StreamDifference
	report := func(stream string, d []events.StreamDifference, updated bool) {
		if stream == events.OutcomesStream {
			diffs = d
		}
	}
	if _, err := events.Setup(ctx, js, events.StreamConfig{OutcomesMaxAge: time.Hour, OnDifference: report}); err != nil {
		t.Fatalf("Setup with a new outcomes age: %v", err)
	}
	if s, err = js.Stream(ctx, events.OutcomesStream); err != nil || s.CachedInfo().Config.MaxAge != events.DefaultOutcomesMaxAge {
		t.Errorf("outcomes stream max age changed without being asked (err %v)", err)
	}
	if len(diffs) != 1 || diffs[0] != (events.StreamDifference{Field: "max_age", Server: "720h0m0s", Hoso: "1h0m0s"}) {
		t.Errorf("differences reported: %+v", diffs)
	}
	if _, err := events.Setup(ctx, js, events.StreamConfig{OutcomesMaxAge: time.Hour, UpdateStreams: true}); err != nil {
		t.Fatalf("Setup --update-streams with a new outcomes age: %v", err)
	}
	if s, err = js.Stream(ctx, events.OutcomesStream); err != nil || s.CachedInfo().Config.MaxAge != time.Hour {
		t.Errorf("outcomes stream max age not updated when asked (err %v)", err)
	}

	// The events stream stores a slightly oversized message (Decode rejects
	// it) and refuses a much larger one at publish.
	if _, err := js.Publish(ctx, "hoso.events.a.b", make([]byte, events.MaxMessageSize+100)); err != nil {
		t.Errorf("publish just over MaxMessageSize: %v", err)
	}
	if _, err := js.Publish(ctx, "hoso.events.a.b", make([]byte, 2*events.MaxMessageSize)); err == nil {
		t.Errorf("publish of twice MaxMessageSize succeeded, want it refused")
	}
}
