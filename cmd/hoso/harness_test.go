package main

import (
	"io"
	"testing"

	"github.com/hoso-vn/hoso/internal/testutil"
)

func noEnv(string) string { return "" }

// startServe starts an engine in-process from `hoso serve`'s flags: the
// defaults of testutil.Config (random loopback ports, JSON log at debug
// level, no deadline scheduler) and then extra.
func startServe(t testing.TB, dataDir string, extra ...string) *testutil.Instance {
	t.Helper()
	args := append([]string{"--data-dir", dataDir, "--http-addr", "127.0.0.1:0", "--nats-port", "0",
		"--log-format", "json", "--log-level", "debug", "--deadline-interval", "0"}, extra...)
	cfg, err := parseServe(args, noEnv, io.Discard)
	if err != nil {
		t.Fatalf("serve %q: %v", extra, err)
	}
	return testutil.Start(t, cfg)
}
