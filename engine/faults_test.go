package engine_test

import (
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/natsserver"
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
	srv, err := natsserver.StartServer(natsserver.ServerConfig{Dir: natsDir, Port: -1})
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

	sc := testutil.NewScenario(60, 2)
	half := len(sc.Messages) / 2
	storedHalf := 0
	for _, m := range sc.Messages[:half] {
		if !m.Dropped {
			storedHalf++
		}
	}
	dir := t.TempDir()
	cfg := testutil.Config(dir)
	cfg.NATSURL = natsURL
	in := testutil.Start(t, cfg)
	testutil.WaitReady(t, in.HTTPURL, http.StatusOK)
	nc, js := testutil.Connect(t, natsURL)
	testutil.Publish(t, js, sc.Messages[:half])
	testutil.WaitOutcomes(t, js, uint64(storedHalf), time.Minute)
	nc.Close()

	down := time.Now()
	srv.Shutdown()
	testutil.WaitReady(t, in.HTTPURL, http.StatusServiceUnavailable)
	t.Logf("not ready %s after NATS stopped", time.Since(down).Round(time.Millisecond))

	srv, err = natsserver.StartServer(natsserver.ServerConfig{Dir: natsDir, Port: port})
	if err != nil {
		t.Fatalf("restart NATS on port %d: %v", port, err)
	}
	up := time.Now()
	testutil.WaitReady(t, in.HTTPURL, http.StatusOK)
	t.Logf("ready %s after NATS restarted", time.Since(up).Round(time.Millisecond))
	_, js = testutil.Connect(t, natsURL)
	testutil.Publish(t, js, sc.Messages[half:])
	testutil.WaitOutcomes(t, js, uint64(sc.Stored()), time.Minute)
	t.Logf("second half applied %s after NATS restarted", time.Since(up).Round(time.Millisecond))
	testutil.ReadOutcomes(t, js, sc.Stored())
	in.Stop(t)
	testutil.CheckStore(t, filepath.Join(dir, "hoso.db"), sc)
}

// errDiskFull is the fault TestCommitFailure injects.
var errDiskFull = errors.New("injected: no space left on device")

// TestCommitFailure makes every store commit fail for a while (through
// the store's fault-injection hook): the batch is not acked and is
// retried with backoff, nothing of it is written, /readyz answers 503,
// the log and hoso_apply_errors_total show the failures; once commits
// succeed again every event is applied exactly once.
func TestCommitFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for several retries")
	}
	var failing atomic.Bool
	cfg := testutil.Config(t.TempDir())
	cfg.BeforeCommit = func() error {
		if failing.Load() {
			return errDiskFull
		}
		return nil
	}
	in := testutil.Start(t, cfg)
	_, js := testutil.Connect(t, in.NATSURL)

	sc := testutil.NewScenario(60, 2)
	half := len(sc.Messages) / 2
	storedHalf := 0
	for _, m := range sc.Messages[:half] {
		if !m.Dropped {
			storedHalf++
		}
	}
	testutil.Publish(t, js, sc.Messages[:half])
	testutil.WaitOutcomes(t, js, uint64(storedHalf), time.Minute)
	testutil.WaitReady(t, in.HTTPURL, http.StatusOK)

	failing.Store(true)
	testutil.Publish(t, js, sc.Messages[half:])
	testutil.WaitReady(t, in.HTTPURL, http.StatusServiceUnavailable)
	// Several attempts, backing off: 100 ms, 200 ms, 400 ms…
	var m map[string]float64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		m = testutil.Scrape(t, in.HTTPURL)
		if m["hoso_apply_errors_total"] >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hoso_apply_errors_total = %v after 30s, want at least 3", m["hoso_apply_errors_total"])
		}
	}
	if got := m["hoso_applied_sequence"]; got != float64(storedHalf) {
		t.Errorf("hoso_applied_sequence = %v while commits fail, want %d", got, storedHalf)
	}
	if n := testutil.OutcomeCount(t, js); n != uint64(storedHalf) {
		t.Errorf("%d outcomes while commits fail, want %d", n, storedHalf)
	}
	if logs := in.Logs.String(); !strings.Contains(logs, `"msg":"apply batch"`) || !strings.Contains(logs, errDiskFull.Error()) {
		t.Errorf("the log does not show the failed commits:\n%s", logs)
	}

	failing.Store(false)
	testutil.WaitOutcomes(t, js, uint64(sc.Stored()), time.Minute)
	testutil.WaitReady(t, in.HTTPURL, http.StatusOK)
	testutil.ReadOutcomes(t, js, sc.Stored())
	in.Stop(t)
	testutil.CheckStore(t, filepath.Join(cfg.DataDir, "hoso.db"), sc)
}
