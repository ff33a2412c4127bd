package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/internal/openapitest"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/store"
)

// TestMain lets a test run the hoso binary itself: the test binary re-runs
// as `hoso` when HOSO_TEST_MAIN is set. Run in the tests, the commands'
// API clients (http.DefaultClient) check every response against
// docs/openapi.json (openapitest.Transport).
func TestMain(m *testing.M) {
	if os.Getenv("HOSO_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	http.DefaultTransport = openapitest.Transport(http.DefaultTransport)
	os.Exit(m.Run())
}

// TestServeStopsOnSIGTERM runs `hoso serve` as a process, sends it SIGTERM
// and expects a clean exit that releases the store.
func TestServeStopsOnSIGTERM(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--nats-port", "0")
			cmd.Env = append(os.Environ(), "HOSO_TEST_MAIN=1")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := make(chan string, 100)
			go func() {
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			var log []string
			waitFor := func(msg string) {
				t.Helper()
				timeout := time.After(20 * time.Second)
				for {
					select {
					case l, ok := <-lines:
						if !ok {
							t.Fatalf("hoso ended before logging %q:\n%s", msg, strings.Join(log, "\n"))
						}
						log = append(log, l)
						if strings.Contains(l, msg) {
							return
						}
					case <-timeout:
						_ = cmd.Process.Kill()
						t.Fatalf("no %q within 20s:\n%s", msg, strings.Join(log, "\n"))
					}
				}
			}
			waitFor(`msg="hoso started"`)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			waitFor(`msg="shutting down"`)
			waitFor(`msg=stopped`)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("hoso exited with %v after %s:\n%s", err, sig, strings.Join(log, "\n"))
			}
			cat := testutil.Catalog(t)
			db, err := store.Open(filepath.Join(dir, "hoso.db"), store.Options{Catalog: cat})
			if err != nil {
				t.Fatalf("store after shutdown: %v", err)
			}
			db.Close()
		})
	}
}
