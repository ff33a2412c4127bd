package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// benchRun is what one child process measured.
type benchRun struct {
	rate  float64
	cpu   float64 // seconds of CPU (user + system) of the child
	rss   int64   // its peak resident memory, bytes
	batch batchMetrics
}

// benchProcess is hoso running as a child process.
type benchProcess struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr syncBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // of Wait; read after done
	peak   atomic.Int64  // the highest VmHWM read, bytes
}

// start runs the hoso binary bin with args (a subcommand and its flags).
func start(ctx context.Context, bin string, args ...string) (*benchProcess, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	p := &benchProcess{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.stdout, &p.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start hoso %s: %w", args[0], err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	go p.watchMemory()
	return p, nil
}

// watchMemory reads the process's peak resident memory (VmHWM) every
// 20 ms until it exits. The kernel's own figure for a child (getrusage's
// ru_maxrss) would do, but it counts the memory of the parent the child was
// forked from.
func (p *benchProcess) watchMemory() {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		p.notePeak()
		select {
		case <-p.done:
			return
		case <-t.C:
		}
	}
}

// notePeak reads the process's peak resident memory (VmHWM) and keeps the
// highest read.
func (p *benchProcess) notePeak() {
	if hwm, err := procStatus(p.cmd.Process.Pid, "VmHWM"); err == nil {
		p.peak.Store(max(p.peak.Load(), hwm[0]))
	}
}

// procStatus reads the sizes (kB in the file, bytes here) of the given
// fields of /proc/PID/status, such as VmHWM or RssAnon; a field it lacks
// is an error.
func procStatus(pid int, fields ...string) ([]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	sizes := make([]int64, len(fields))
	missing := slices.Clone(fields)
	for line := range strings.SplitSeq(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if i := slices.Index(fields, name); ok && i >= 0 {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(value), "kB")), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("/proc/%d/status: %s: %w", pid, name, err)
			}
			sizes[i] = kb << 10
			missing[i] = ""
		}
	}
	for _, f := range missing {
		if f != "" {
			return nil, fmt.Errorf("no %s in /proc/%d/status", f, pid)
		}
	}
	return sizes, nil
}

func (p *benchProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitFor polls done every 20 ms until it is true, and fails when the
// process exits or timeout passes first; what names what is awaited.
func (p *benchProcess) waitFor(ctx context.Context, timeout time.Duration, what string, done func() bool) error {
	deadline := time.Now().Add(timeout)
	for !done() {
		if p.exited() {
			return fmt.Errorf("hoso %s exited: %s", p.cmd.Args[1], p.output())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("hoso %s: no %s within %s: %s", p.cmd.Args[1], what, timeout, p.output())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// output is the end of what the process wrote to stderr, for errors.
func (p *benchProcess) output() string {
	s := p.stderr.String()
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return strings.TrimSpace(s)
}

// stop ends the process with SIGTERM and returns its CPU time and peak
// memory.
func (p *benchProcess) stop() (benchRun, error) {
	if !p.exited() {
		p.notePeak()
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	return p.wait()
}

// wait waits for the process to exit and returns its CPU time and peak
// memory; an unsuccessful exit is an error.
func (p *benchProcess) wait() (benchRun, error) {
	select {
	case <-p.done:
	case <-time.After(5 * time.Minute):
		p.kill()
		return benchRun{}, fmt.Errorf("hoso %s did not exit", p.cmd.Args[1])
	}
	if p.err != nil {
		return benchRun{}, fmt.Errorf("hoso %s: %w: %s", p.cmd.Args[1], p.err, p.output())
	}
	var run benchRun
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		run.cpu = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)).Seconds()
	}
	run.rss = p.peak.Load()
	return run, nil
}

// kill ends the process if it still runs (a failed measure).
func (p *benchProcess) kill() {
	if !p.exited() {
		p.cmd.Process.Kill()
		<-p.done
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hosoPackage is the hoso command the suite builds when --hoso is empty.
const hosoPackage = "github.com/hoso-vn/hoso/cmd/hoso"

// hosoBinary returns the absolute path of the hoso binary the measures
// run: path when given, which must be an executable file, else a binary
// it builds from hosoPackage with the go command into dir (the module's
// source as the current directory sees it: run the suite inside hoso's
// module, or give path).
func (c *benchCommand) hosoBinary(ctx context.Context, path, dir string) (string, error) {
	if path != "" {
		return executable("--hoso", path)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no go command to build hoso with (%w): pass a hoso binary with --hoso PATH (env HOSO_BENCH_HOSO)", err)
	}
	out, err := filepath.Abs(filepath.Join(dir, "hoso"))
	if err != nil {
		return "", err
	}
	c.logf("building %s into %s (--hoso names a binary instead)", hosoPackage, out)
	if b, err := exec.CommandContext(ctx, gobin, "build", "-o", out, hosoPackage).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s(pass a hoso binary with --hoso PATH)", hosoPackage, err, b)
	}
	return out, nil
}

// executable returns the absolute path of the executable file at path,
// given by the flag flagName.
func executable(flagName, path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flagName, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s %s: not an executable file", flagName, path)
	}
	return filepath.Abs(path)
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
