package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
)

// crashKills is how many times TestCrashRecovery kills `hoso serve`.
const crashKills = 14

// TestCrashRecovery runs `hoso serve` as a child process against an
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
	srv := startNATSServer(t)
	_, js := testutil.Connect(t, srv.ClientURL())
	ctx := context.Background()
	if _, err := events.Setup(ctx, js, events.StreamConfig{}); err != nil {
		t.Fatal(err)
	}

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
		c := startChild(t, dir, srv.ClientURL(), "debug")
		// Spread the kills over the publishing: let some runs work a while
		// (its log lines wait in the channel's buffer meanwhile).
		time.Sleep(time.Duration(rng.IntN(600)) * time.Millisecond)
		var kind string
		switch rng.IntN(4) {
		case 0:
			kind = "after start"
			c.waitFor(t, "hoso started")
			d := time.Duration(rng.IntN(300)) * time.Millisecond
			time.Sleep(d) // a random moment, not a wait for something
		case 1:
			kind = "after commit"
			c.waitUpTo(t, "batch applied", 1+rng.IntN(20), &kind)
		case 2:
			// Under load the next batch is being decided or committed.
			kind = "in the next batch"
			c.waitUpTo(t, "batch applied", 1+rng.IntN(20), &kind)
			time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond) // a random moment
		case 3:
			kind = "during relay"
			c.waitUpTo(t, "publishing outcomes", 1+rng.IntN(20), &kind)
		}
		kinds[kind]++
		c.kill(t)
		t.Logf("kill %d %s (%d log lines)", i+1, kind, c.lines)
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
	last := startChild(t, dir, srv.ClientURL(), "info")
	testutil.WaitOutcomes(t, js, uint64(sc.Stored()), time.Minute)
	last.terminate(t)

	testutil.ReadOutcomes(t, js, sc.Stored())
	if n := testutil.OutcomeCount(t, js); n != uint64(sc.Stored()) {
		t.Errorf("outcomes stream holds %d messages, want %d (duplicates published)", n, sc.Stored())
	}
	checkBolt(t, filepath.Join(dir, "hoso.db"))
	testutil.CheckStore(t, filepath.Join(dir, "hoso.db"), sc)
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

// child is `hoso serve` running as a process (see TestMain).
type child struct {
	cmd   *exec.Cmd
	msgs  chan string // the msg of each JSON log line; closed at exit
	lines int
	log   []string // the last lines read, for failures
}

func startChild(t *testing.T, dir, natsURL, level string) *child {
	t.Helper()
	return startChildArgs(t, "serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0",
		"--nats-url", natsURL, "--log-level", level, "--log-format", "json",
		"--deadline-interval", "0", "--batch-max", "32")
}

// startNATSServer starts a NATS server with JetStream of the test's own,
// on a random loopback port, stopped at the end of the test: the stream
// outlives the hoso processes the test starts and kills.
func startNATSServer(t *testing.T) *events.Server {
	t.Helper()
	srv, err := events.StartServer(events.ServerConfig{Dir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// startChildArgs runs the test binary as `hoso args…`.
func startChildArgs(t *testing.T, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "HOSO_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, msgs: make(chan string, 8192)}
	go func() {
		defer close(c.msgs)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				Msg string `json:"msg"`
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				line.Msg = sc.Text()
			}
			c.msgs <- line.Msg
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return c
}

// waitFor reads the log until a line with the message msg.
func (c *child) waitFor(t *testing.T, msg string) { t.Helper(); c.waitN(t, msg, 1) }

// waitN reads the log until the n-th line with the message msg.
func (c *child) waitN(t *testing.T, msg string, n int) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for n > 0 {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				t.Fatalf("hoso ended before logging %q:\n%s", msg, strings.Join(c.log, "\n"))
			}
			c.lines++
			c.log = append(c.log, m)
			if len(c.log) > 50 {
				c.log = c.log[1:]
			}
			if m == msg {
				n--
			}
		case <-timeout:
			t.Fatalf("no %q within 30s:\n%s", msg, strings.Join(c.log, "\n"))
		}
	}
}

// waitUpTo reads the log until the n-th line with the message msg, or
// until no such line came for 5 s (the stream may be all applied): then
// it marks kind as timed out. It fails the test if hoso ended.
func (c *child) waitUpTo(t *testing.T, msg string, n int, kind *string) {
	t.Helper()
	quiet := time.NewTimer(5 * time.Second)
	defer quiet.Stop()
	for n > 0 {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				t.Fatalf("hoso ended before logging %q:\n%s", msg, strings.Join(c.log, "\n"))
			}
			c.lines++
			c.log = append(c.log, m)
			if len(c.log) > 50 {
				c.log = c.log[1:]
			}
			if m == msg {
				n--
				quiet.Reset(5 * time.Second)
			}
		case <-quiet.C:
			*kind += " (timed out: stream idle)"
			return
		}
	}
}

// kill sends SIGKILL and reaps the process.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for range c.msgs { // drain until the pipe closes
	}
	_ = c.cmd.Wait()
}

// terminate sends SIGTERM and expects a clean exit.
func (c *child) terminate(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, "stopped")
	for range c.msgs {
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("hoso exited with %v after SIGTERM:\n%s", err, strings.Join(c.log, "\n"))
	}
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
