package conformance

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/internal/openapitest"
)

// hosoBin is the hoso binary TestMain builds from ../cmd/hoso.
var hosoBin string

// repoRoot is the repository's root directory.
var repoRoot string

// TestMain builds hoso; the tests' HTTP clients check every response
// against docs/openapi.json (openapitest.Transport).
func TestMain(m *testing.M) {
	http.DefaultTransport = openapitest.Transport(http.DefaultTransport)
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hoso-conformance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if repoRoot, err = filepath.Abs(".."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hosoBin = filepath.Join(dir, "hoso")
	build := exec.Command("go", "build", "-o", hosoBin, "./cmd/hoso")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ./cmd/hoso: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// source is a one-stop-shop system's NATS user in the users file.
type source struct {
	Token, User, Password string
}

// sources are the users every server of these tests has: two source
// systems, so that a test can check one never sees the other's outcomes.
var sources = map[string]source{
	"tayninh": {"tayninh", "tayninh-dvc", "tayninh-secret-1"},
	"hanoi":   {"hanoi", "hanoi-dvc", "hanoi-secret-22"},
}

// hoso is a running `hoso serve` with access control on.
type hoso struct {
	NATSURL   string // nats://127.0.0.1:<port>
	HTTPURL   string // http://127.0.0.1:<port>
	DataDir   string
	UsersFile string
	cmd       *exec.Cmd
	log       *logLines
}

// logLines keeps the JSON log lines of a hoso process.
type logLines struct {
	mu    sync.Mutex
	lines []map[string]any
	raw   []string
	added chan struct{}
}

func (l *logLines) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		_ = json.Unmarshal(sc.Bytes(), &rec)
		l.mu.Lock()
		l.lines = append(l.lines, rec)
		l.raw = append(l.raw, sc.Text())
		l.mu.Unlock()
		select {
		case l.added <- struct{}{}:
		default:
		}
	}
	close(l.added)
}

// find returns the first line logged with message msg.
func (l *logLines) find(msg string) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, rec := range l.lines {
		if rec["msg"] == msg {
			return rec
		}
	}
	return nil
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.raw, "\n")
}

// startHoso runs `hoso serve` on free loopback ports with a users file of
// the sources above, in the repository's root, and stops it with SIGTERM
// when the test ends. The extra args are added to serve's flags.
func startHoso(t *testing.T, extra ...string) *hoso {
	t.Helper()
	dir := t.TempDir()
	users := filepath.Join(dir, "nats-users.yaml")
	var b strings.Builder
	b.WriteString("users:\n")
	for _, s := range []string{"tayninh", "hanoi"} {
		fmt.Fprintf(&b, "  - name: %s\n    password: %s\n    source: %s\n", sources[s].User, sources[s].Password, s)
	}
	b.WriteString("  - name: supervisors\n    password: supervisors-secret-3\n    supervisor: true\n")
	if err := os.WriteFile(users, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"serve", "--data-dir", filepath.Join(dir, "data"), "--http-addr", "127.0.0.1:0", "--nats-port", "0",
		"--nats-users", users, "--log-format", "json"}, extra...)
	h := runServe(t, repoRoot, os.Environ(), args...)
	h.DataDir, h.UsersFile = filepath.Join(dir, "data"), users
	return h
}

// runServe runs hoso with args (serve and its flags) in dir with the
// environment env, which must make it log JSON (--log-format json or
// HOSO_LOG_FORMAT=json) and should give it free ports (port 0 by flag or
// environment); it waits until hoso is ready, and stops it with SIGTERM
// when the test ends. DataDir and UsersFile are left to the caller.
func runServe(t *testing.T, dir string, env []string, args ...string) *hoso {
	t.Helper()
	h := &hoso{log: &logLines{added: make(chan struct{}, 1)}}
	h.cmd = exec.Command(hosoBin, args...)
	h.cmd.Dir = dir
	h.cmd.Env = env
	stderr, err := h.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go h.log.read(stderr)
	t.Cleanup(func() {
		_ = h.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- h.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("hoso serve exited with %v:\n%s", err, h.log)
			}
		case <-time.After(30 * time.Second):
			_ = h.cmd.Process.Kill()
			t.Errorf("hoso serve did not stop within 30 s of SIGTERM:\n%s", h.log)
		}
	})
	deadline := time.After(60 * time.Second)
	for h.log.find("hoso started") == nil {
		select {
		case _, ok := <-h.log.added:
			if !ok {
				t.Fatalf("hoso serve ended before it started:\n%s", h.log)
			}
		case <-deadline:
			t.Fatalf("hoso serve did not start within 60 s:\n%s", h.log)
		}
	}
	h.NATSURL, _ = h.log.find("embedded nats listening")["url"].(string)
	addr, _ := h.log.find("http listening")["addr"].(string)
	if h.NATSURL == "" || addr == "" {
		t.Fatalf("hoso serve logged no NATS URL or HTTP address:\n%s", h.log)
	}
	h.HTTPURL = "http://" + addr
	h.waitReady(t)
	return h
}

// waitReady waits until /readyz says the engine applies the stream.
func (h *hoso) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(h.HTTPURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hoso serve not ready within 60 s (%v):\n%s", err, h.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// getJSON fetches path from hoso's HTTP API into v.
func (h *hoso) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.HTTPURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}
