package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/internal/testutil"
)

// TestServeCheck: serve --check loads every file serve would and says
// what it found, or names each file that does not load, without starting
// anything.
func TestServeCheck(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := testutil.WriteCert(t, dir, "hoso.tayninh.gov.vn")
	accessFile := filepath.Join(dir, "access.yaml")
	testutil.WriteAccess(t, accessFile, testutil.AccessUser{Name: "alice", Role: "admin"}, testutil.AccessUser{Name: "bob", Role: "viewer"})
	natsUsers := filepath.Join(dir, "nats-users.yaml")
	if err := os.WriteFile(natsUsers, []byte("users:\n  - name: tayninh-dvc\n    password: tayninh-secret-123\n    source: tayninh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	check := func(args ...string) (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		err := run(context.Background(), append([]string{"serve", "--check", "--data-dir", dataDir}, args...), noEnv, strings.NewReader(""), &out, &errb)
		return out.String() + errb.String(), err
	}
	out, err := check("--access", accessFile, "--tls-cert", certFile, "--tls-key", keyFile, "--nats-users", natsUsers, "--http-addr", "0.0.0.0:8443")
	if err != nil {
		t.Fatalf("serve --check with good files: %v\n%s", err, out)
	}
	for _, want := range []string{"5 definitions", "access file " + accessFile + ": 2 users", "hoso.tayninh.gov.vn, valid until", "nats users file " + natsUsers + ": 1 user\n", "configuration OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --check output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("serve --check touched the data directory: %v", err)
	}

	if err := os.WriteFile(accessFile, []byte("users: [oops"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = check("--access", accessFile, "--tls-cert", filepath.Join(dir, "missing.pem"), "--tls-key", keyFile, "--nats-users", natsUsers, "--http-addr", "0.0.0.0:8443")
	if err == nil || !strings.Contains(err.Error(), accessFile) || !strings.Contains(err.Error(), "missing.pem") || strings.Contains(out, "configuration OK") {
		t.Errorf("serve --check with a broken access file and a missing certificate = %v, want both named\n%s", err, out)
	}
}
