package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/natsserver"
)

// crashKills is how many times TestCrashRecovery kills the engine.
const crashKills = 14

// TestCrashRecovery runs an engine as a process of its own against an
// external NATS server under a steady publish load and kills it with
// SIGKILL at random moments — at a random delay after start, right after a
// batch commit, right as the relay publishes outcomes — restarting it each
// time on the same data directory. Afterwards every message the stream
// accepted has exactly one outcome, no transition was applied twice, every
// chain verifies and the bbolt file is consistent.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("kills hoso a dozen times under load")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("HOSO_CRASH_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (rerun with HOSO_CRASH_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	// The stream lives in a server of its own, so it survives the kills.
	natsURL, js := testutil.StartNATS(t, t.TempDir())
	ctx := context.Background()

	sc := testutil.NewScenario(300, 3)
	pubDone := make(chan error, 1)
	pubTook := make(chan time.Duration, 1)
	go func() {
		t0 := time.Now()
		err := publishPaced(ctx, js, sc.Messages, 3*time.Millisecond)
		pubTook <- time.Since(t0)
		pubDone <- err
	}()

	dir := t.TempDir()
	start := time.Now()
	kinds := map[string]int{}
	for i := range crashKills {
		c := testutil.StartProcess(t, crashConfig(dir, natsURL, "debug"))
		// Spread the kills over the publishing: let some runs work a while
		// (its log lines wait in the channel's buffer meanwhile).
		time.Sleep(time.Duration(rng.IntN(600)) * time.Millisecond)
		var kind string
		switch rng.IntN(4) {
		case 0:
			kind = "after start"
			c.WaitFor(t, "hoso started")
			d := time.Duration(rng.IntN(300)) * time.Millisecond
			time.Sleep(d) // a random moment, not a wait for something
		case 1:
			kind = "after commit"
			if !c.WaitUpTo(t, "batch applied", 1+rng.IntN(20)) {
				kind += idle
			}
		case 2:
			// Under load the next batch is being decided or committed.
			kind = "in the next batch"
			if !c.WaitUpTo(t, "batch applied", 1+rng.IntN(20)) {
				kind += idle
			}
			time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond) // a random moment
		case 3:
			kind = "during relay"
			if !c.WaitUpTo(t, "publishing outcomes", 1+rng.IntN(20)) {
				kind += idle
			}
		}
		kinds[kind]++
		c.Kill(t)
		t.Logf("kill %d %s (%d log lines)", i+1, kind, c.Lines())
	}
	killsTook := time.Since(start)
	select {
	case err := <-pubDone:
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("published %d messages in %s", len(sc.Messages), (<-pubTook).Round(time.Millisecond))
	case <-time.After(time.Minute):
		t.Fatal("publisher did not finish within a minute")
	}
	t.Logf("%d kills (%v) in %s", crashKills, kinds, killsTook.Round(time.Millisecond))

	// A last run finishes the stream and stops cleanly.
	// At info level it logs a few lines only: nobody reads them until the end.
	last := testutil.StartProcess(t, crashConfig(dir, natsURL, "info"))
	testutil.WaitOutcomes(t, js, uint64(sc.Stored()), time.Minute)
	last.Terminate(t)

	testutil.ReadOutcomes(t, js, sc.Stored())
	if n := testutil.OutcomeCount(t, js); n != uint64(sc.Stored()) {
		t.Errorf("outcomes stream holds %d messages, want %d (duplicates published)", n, sc.Stored())
	}
	checkBolt(t, filepath.Join(dir, "hoso.db"))
	testutil.CheckStore(t, filepath.Join(dir, "hoso.db"), sc)
}

// idle marks a kill whose wait for a log line timed out.
const idle = " (timed out: stream idle)"

// crashConfig is the configuration of TestCrashRecovery's engines: the
// data in dir, the external NATS server at natsURL, the log at level,
// batches of at most 32 events.
func crashConfig(dir, natsURL, level string) engine.Config {
	cfg := testutil.Config(dir)
	cfg.NATSURL = natsURL
	cfg.LogLevel = level
	cfg.BatchMax = 32
	return cfg
}

// publishPaced publishes msgs one by one, synchronously, pausing between
// them to make a steady load, and checks the duplicates are dropped.
func publishPaced(ctx context.Context, js jetstream.JetStream, msgs []testutil.Message, pause time.Duration) error {
	for i, m := range msgs {
		nm := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: nats.Header{}}
		if m.MsgID != "" {
			nm.Header.Set(jetstream.MsgIDHeader, m.MsgID)
		}
		ack, err := js.PublishMsg(ctx, nm)
		if err != nil {
			return fmt.Errorf("publish message %d: %w", i, err)
		}
		if ack.Duplicate != m.Dropped {
			return fmt.Errorf("message %d: duplicate %t, want %t", i, ack.Duplicate, m.Dropped)
		}
		time.Sleep(pause) // pacing the load
	}
	return nil
}

// startNATSServer starts a NATS server with JetStream of the test's own,
// on a random loopback port, stopped at the end of the test: the stream
// outlives the engines the test starts and kills. Unlike
// testutil.StartNATS it sets up no stream: the engines do.
func startNATSServer(t *testing.T) *natsserver.Server {
	t.Helper()
	srv, err := natsserver.StartServer(natsserver.ServerConfig{Dir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// checkBolt runs bbolt's consistency check over the whole file.
func checkBolt(t *testing.T, path string) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	if err := db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt check: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
