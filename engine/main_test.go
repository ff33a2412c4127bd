package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/internal/openapitest"
	"github.com/hoso-vn/hoso/internal/testutil"
)

// TestMain checks every response of http.Get and http.DefaultClient (and
// so of api.Client without an HTTP client of its own) against
// docs/openapi.json (openapitest.Transport). It also lets a test run an engine as a process of its own
// (testutil.StartProcess): the test binary started again with
// testutil.ProcessConfigEnv set runs the engine of that configuration
// instead of the tests.
func TestMain(m *testing.M) {
	if data, ok := os.LookupEnv(testutil.ProcessConfigEnv); ok {
		os.Exit(runProcess(data))
	}
	http.DefaultTransport = openapitest.Transport(http.DefaultTransport)
	os.Exit(m.Run())
}

// runProcess runs the engine of the JSON-encoded configuration data until
// SIGINT or SIGTERM, as `hoso serve` does, and returns the exit status: 0
// after a clean stop, 1 after an error.
func runProcess(data string) int {
	var cfg engine.Config
	if err := json.Unmarshal([]byte(data), &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", testutil.ProcessConfigEnv, err)
		return 1
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", testutil.ProcessConfigEnv, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := cfg.NewLogger(os.Stderr)
	if err := engine.Run(ctx, cfg, log); err != nil {
		log.Error("engine failed", "err", err)
		return 1
	}
	return 0
}
