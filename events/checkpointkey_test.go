package events_test

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/events"
)

// TestCheckpointKeyFiles: a generated key loads back as the same pair, is
// written only where no file is, and is refused once others may read it.
func TestCheckpointKeyFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "checkpoint.key")
	pub, err := events.GenerateCheckpointKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	priv, err := events.LoadCheckpointKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.Public().(ed25519.PublicKey).Equal(pub) {
		t.Error("the loaded private key is not the generated one")
	}
	pubPath := filepath.Join(dir, "checkpoint.pub")
	if err := os.WriteFile(pubPath, events.PublicKeyPEM(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := events.LoadCheckpointPublicKey(pubPath); err != nil || !got.Equal(pub) {
		t.Errorf("LoadCheckpointPublicKey = %v, %v; want the generated key", got, err)
	}
	if _, err := events.GenerateCheckpointKey(path); err == nil {
		t.Error("GenerateCheckpointKey over an existing file succeeded")
	}
	if _, err := events.LoadCheckpointKey(pubPath); err == nil || !strings.Contains(err.Error(), "mode 0644") {
		t.Errorf("LoadCheckpointKey of a file others may read = %v, want its mode refused", err)
	}
	if err := os.Chmod(pubPath, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := events.LoadCheckpointKey(pubPath); err == nil || !strings.Contains(err.Error(), `not a PEM "PRIVATE KEY"`) {
		t.Errorf("LoadCheckpointKey of a public key = %v", err)
	}
}
