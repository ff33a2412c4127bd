// Package natstest starts the embedded NATS server for the tests of the
// packages below the engine (events, natsserver), which cannot use
// internal/testutil: it imports the engine, which imports them.
package natstest

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/natsserver"
)

// Logger logs warnings and errors into the test's output.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// StartJS starts an embedded server in a temporary directory and connects
// to it; both are closed when the test ends.
func StartJS(t testing.TB) (*natsserver.Server, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	srv, err := natsserver.StartServer(natsserver.ServerConfig{Dir: t.TempDir(), Port: -1, Logger: Logger(t)})
	if err != nil {
		t.Fatalf("StartServer: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := events.Connect(srv.ClientURL(), Logger(t))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream.New: %v", err)
	}
	return srv, nc, js
}

// UsersFile is a users file with two sources, tayninh and hanoi, and the
// supervisors.
const UsersFile = `users:
  - name: tayninh-dvc
    password: tayninh-secret-1
    source: tayninh
  - name: hanoi-dvc
    password: hanoi-secret-22
    source: hanoi
  - name: supervisors
    password: supervisors-secret-3
    supervisor: true
`

// EnginePassword is the engine's password in the servers with users.
const EnginePassword = "engine-password-xyz"

// StartUsersServer starts an embedded server with the users of UsersFile
// and connects as the engine's user; both are closed when the test ends.
func StartUsersServer(t testing.TB) (*natsserver.Server, []natsserver.User, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	users, err := natsserver.ParseUsers(strings.NewReader(UsersFile), "users.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := natsserver.StartServer(natsserver.ServerConfig{Dir: t.TempDir(), Port: -1, Logger: Logger(t),
		Users: users, EnginePassword: EnginePassword})
	if err != nil {
		t.Fatalf("StartServer: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL(), nats.UserInfo(events.EngineUser, EnginePassword))
	if err != nil {
		t.Fatalf("connect as the engine: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return srv, users, nc, js
}

// Setup runs events.Setup with the defaults.
func Setup(t testing.TB, js jetstream.JetStream) jetstream.Consumer {
	t.Helper()
	cons, err := events.Setup(t.Context(), js, events.StreamConfig{})
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return cons
}

// WaitFor polls cond until it is true, failing the test after the timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Run runs f in a goroutine until the returned stop is called (or the test
// ends), and checks it returns nil.
func Run(t testing.TB, f func(ctx context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return 10s after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
