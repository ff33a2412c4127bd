package main

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/events"
)

// TestNATSRestart restarts the external NATS server under a running hoso:
// /readyz says 503 while the connection is down and 200 once it is back,
// and the engine goes on applying events published after the restart,
// each exactly once.
func TestNATSRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a NATS server")
	}
	natsDir := t.TempDir()
	srv, err := events.StartServer(events.ServerConfig{Dir: natsDir, Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown() })
	natsURL := srv.ClientURL()
	u, err := url.Parse(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())

	sc := newScenario(60, 2)
	half := len(sc.messages) / 2
	storedHalf := 0
	for _, m := range sc.messages[:half] {
		if !m.dropped {
			storedHalf++
		}
	}
	dir := t.TempDir()
	in := startServe(t, dir, "--nats-url", natsURL)
	waitReady(t, in.httpURL, http.StatusOK)
	nc, js := connect(t, natsURL)
	publish(t, js, sc.messages[:half])
	waitOutcomes(t, js, uint64(storedHalf), time.Minute)
	nc.Close()

	down := time.Now()
	srv.Shutdown()
	waitReady(t, in.httpURL, http.StatusServiceUnavailable)
	t.Logf("not ready %s after NATS stopped", time.Since(down).Round(time.Millisecond))

	srv, err = events.StartServer(events.ServerConfig{Dir: natsDir, Port: port})
	if err != nil {
		t.Fatalf("restart NATS on port %d: %v", port, err)
	}
	up := time.Now()
	waitReady(t, in.httpURL, http.StatusOK)
	t.Logf("ready %s after NATS restarted", time.Since(up).Round(time.Millisecond))
	_, js = connect(t, natsURL)
	publish(t, js, sc.messages[half:])
	waitOutcomes(t, js, uint64(sc.stored()), time.Minute)
	t.Logf("second half applied %s after NATS restarted", time.Since(up).Round(time.Millisecond))
	readOutcomes(t, js, sc.stored())
	in.stop(t)
	checkStore(t, filepath.Join(dir, "hoso.db"), sc)
}

// waitReady polls /readyz until it answers status.
func waitReady(t *testing.T, base string, status int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last int
	var body []byte
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			last = resp.StatusCode
			if last == status {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("GET /readyz = %d %s after 30s, want %d", last, body, status)
}
