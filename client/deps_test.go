package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoServerDependency checks what a vendor's program compiles when it
// imports the client: nats.go and hoso's codec, never the NATS server.
func TestNoServerDependency(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/hoso-vn/hoso/client").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	var client, natsgo bool
	for _, d := range deps {
		switch {
		case strings.HasPrefix(d, "github.com/nats-io/nats-server/"):
			t.Errorf("the client compiles %s", d)
		case d == "github.com/nats-io/nats.go":
			natsgo = true
		case d == "github.com/hoso-vn/hoso/client":
			client = true
		}
	}
	if !client || !natsgo {
		t.Errorf("go list -deps lists %d packages without the client or nats.go: %v", len(deps), deps)
	}
}
