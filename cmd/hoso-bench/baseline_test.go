package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckFlags checks the check of a hoso binary's flags: the binary of
// the source at hand knows every flag the measures pass; one that lacks
// a flag is refused with the flag named; a program that lists no flags is
// refused.
func TestCheckFlags(t *testing.T) {
	ctx := context.Background()
	if err := checkFlags(ctx, "--hoso", hosoBinary(t)); err != nil {
		t.Errorf("checkFlags(the hoso of the source at hand) = %v", err)
	}

	dir := t.TempDir()
	// An older hoso, say, whose serve has no --batch-max.
	old := filepath.Join(dir, "hoso-old")
	script := `#!/bin/sh
cat >&2 <<'USAGE'
Usage: hoso $1 [flags]

  -data-dir string
    	directory of the store
  -nats-url string
    	NATS server
  -http-addr string
    	HTTP listen address
  -deadline-interval duration
    	how often
  -log-level string
    	debug, info, warn or error
USAGE
exit 2
`
	if err := os.WriteFile(old, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	err := checkFlags(ctx, "--baseline", old)
	if err == nil || !strings.Contains(err.Error(), "hoso serve --batch-max") || strings.Contains(err.Error(), "rebuild") || !strings.Contains(err.Error(), "--baseline "+old) {
		t.Errorf("checkFlags(a hoso without serve --batch-max) = %v, want an error naming --baseline, it and only it", err)
	}

	none := filepath.Join(dir, "true")
	if err := os.WriteFile(none, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkFlags(ctx, "--baseline", none); err == nil || !strings.Contains(err.Error(), "lists no flags") {
		t.Errorf("checkFlags(a program that lists no flags) = %v, want an error", err)
	}
}
