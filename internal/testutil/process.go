package testutil

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/engine"
)

// ProcessConfigEnv is the environment variable through which StartProcess
// hands a JSON-encoded engine.Config to the test binary it starts. The
// TestMain of a package whose tests call StartProcess must, when it is
// set, run that engine until SIGINT or SIGTERM, logging to stderr with
// cfg.NewLogger, and exit 0 on a clean stop and 1 on an error (see
// engine/main_test.go).
const ProcessConfigEnv = "HOSO_TEST_ENGINE_CONFIG"

// Process is an engine running as a process of its own, the test binary
// started again by StartProcess: a test can kill it with SIGKILL, send it
// SIGHUP or limit what it may write, as it would `hoso serve`. Its log
// is read line by line from its stderr; the Wait methods consume it, so
// one goroutine reads it at a time.
type Process struct {
	cmd   *exec.Cmd
	msgs  chan string // the msg of each JSON log line; closed at exit
	lines int         // log lines read so far
	log   []string    // the last lines read, for failures
	// started records that the log said "hoso started": the engine
	// handles SIGTERM from then on (before, the signal kills it silently).
	started bool
}

// StartProcess starts the test binary as a process that runs an engine of
// cfg and kills it, if it still runs, when the test ends. cfg.LogFormat
// must be "json", for its lines to be read; cfg.BeforeCommit, a function,
// cannot cross to another process: it must be nil.
func StartProcess(t testing.TB, cfg engine.Config) *Process {
	t.Helper()
	if cfg.LogFormat != "json" {
		t.Fatalf("StartProcess: log format %q, want json", cfg.LogFormat)
	}
	if cfg.BeforeCommit != nil {
		t.Fatal("StartProcess: cfg.BeforeCommit cannot cross to another process")
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// What the process will run is what the test configured, every field
	// of it: a field JSON does not carry would be lost silently.
	var back engine.Config
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, cfg) {
		t.Fatalf("StartProcess: the configuration does not survive JSON:\n%+v\nbecomes\n%+v", cfg, back)
	}
	// -test.run=^$: a binary whose TestMain does not run the engine runs
	// no test either, and exits without logging.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), ProcessConfigEnv+"="+string(data))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Process{cmd: cmd, msgs: make(chan string, 8192)}
	go func() {
		defer close(p.msgs)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				Msg string `json:"msg"`
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				line.Msg = sc.Text()
			}
			p.msgs <- line.Msg
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return p
}

// Pid returns the process ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Lines returns how many log lines the Wait methods have read.
func (p *Process) Lines() int { return p.lines }

// Messages returns the msg of each of the process's JSON log lines (a
// line that is not JSON whole), closed when the process closes its
// stderr. A test that reads it itself uses no Wait method but Wait.
func (p *Process) Messages() <-chan string { return p.msgs }

// Signal sends sig to the process.
func (p *Process) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// Wait waits for the process to exit and returns its exit error
// (exec.Cmd.Wait).
func (p *Process) Wait() error { return p.cmd.Wait() }

// WaitFor reads the log until a line with the message msg; it fails the
// test if the process ends first or none comes within 30 s.
func (p *Process) WaitFor(t testing.TB, msg string) {
	t.Helper()
	if !p.wait(t, msg, 1, 30*time.Second) {
		t.Fatalf("no %q within 30s:\n%s", msg, strings.Join(p.log, "\n"))
	}
}

// WaitUpTo reads the log until the n-th line with the message msg, or
// until no such line came for 5 s (the stream may be all applied): then
// it returns false. It fails the test if the process ended.
func (p *Process) WaitUpTo(t testing.TB, msg string, n int) bool {
	t.Helper()
	return p.wait(t, msg, n, 5*time.Second)
}

// wait reads the log until the n-th line with the message msg, and
// reports false when none came for quiet; it fails the test if the
// process ends first.
func (p *Process) wait(t testing.TB, msg string, n int, quiet time.Duration) bool {
	t.Helper()
	timer := time.NewTimer(quiet)
	defer timer.Stop()
	for n > 0 {
		select {
		case m, ok := <-p.msgs:
			if !ok {
				t.Fatalf("hoso ended before logging %q:\n%s", msg, strings.Join(p.log, "\n"))
			}
			p.read(m)
			if m == msg {
				n--
				timer.Reset(quiet)
			}
		case <-timer.C:
			return false
		}
	}
	return true
}

// read counts the line with the message m and keeps it among the last 50.
func (p *Process) read(m string) {
	p.lines++
	if m == "hoso started" {
		p.started = true
	}
	p.log = append(p.log, m)
	if len(p.log) > 50 {
		p.log = p.log[1:]
	}
}

// Kill sends SIGKILL and reaps the process.
func (p *Process) Kill(t testing.TB) {
	t.Helper()
	p.Signal(t, syscall.SIGKILL)
	for range p.msgs { // drain until the pipe closes
	}
	_ = p.cmd.Wait()
}

// Terminate sends SIGTERM and expects a clean exit, logged "stopped".
func (p *Process) Terminate(t testing.TB) {
	t.Helper()
	if !p.started {
		// A SIGTERM before the engine's handler is in place ends the
		// process without a word.
		p.WaitFor(t, "hoso started")
	}
	p.Signal(t, syscall.SIGTERM)
	p.WaitFor(t, "stopped")
	for range p.msgs {
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("hoso exited with %v after SIGTERM:\n%s", err, strings.Join(p.log, "\n"))
	}
}
