package engine_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/engine"
)

// TestValidateReportsEveryProblem: a configuration with several mistakes
// is refused with all of them at once, and Open refuses it before it
// touches the data directory.
func TestValidateReportsEveryProblem(t *testing.T) {
	def := engine.DefaultConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
	// A replica needs only its name and the shared NATS server: the lease
	// has its default.
	rep := engine.DefaultConfig()
	rep.Replica, rep.NATSURL = "replica-1", "nats://127.0.0.1:4222"
	if err := rep.Validate(); err != nil {
		t.Errorf("a replica with the default lease does not validate: %v", err)
	}
	cfg := engine.DefaultConfig()
	cfg.DataDir = t.TempDir() + "/never-made"
	cfg.HTTPAddr = "0.0.0.0:8080" // open, and not on loopback
	cfg.BatchMax = engine.MaxBatchMax + 1
	cfg.LogFormat = "xml"
	cfg.Rules.WorkHours = "07:00-11:30"
	cfg.Replica = "Replica One"
	cfg.TLSCert = "cert.pem"
	cfg.NATSUser = "hoso" // with the embedded server, which makes its own
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad configuration")
	}
	for _, want := range []string{"without --access the API is open", "batch max 10001", `log format "xml"`,
		"want two periods", `replica "Replica One"`, "give both --tls-cert and --tls-key", "the embedded server makes its own"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v\nwant it to say %q", err, want)
		}
	}
	if _, err := engine.Open(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "batch max") {
		t.Errorf("Open of a bad configuration = %v, want Validate's error", err)
	}
	if _, err := os.Stat(cfg.DataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open of a bad configuration made its data directory: %v", err)
	}
}
