package engine_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/internal/testutil"
)

// TestServeReloadsOnSIGHUP runs an engine as a process with an access
// file, a TLS certificate and a NATS users file, replaces the three
// files, and sends SIGHUP: new connections get the new certificate, a
// removed user's token is refused and a new one accepted, a removed NATS
// user is disconnected and a new one let in. A broken access file leaves
// the previous users in force and shows in the reload metric until a
// good one is loaded; so does an access file anyone may write.
func TestServeReloadsOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, certA := testutil.WriteCert(t, t.TempDir(), "hoso A")
	accessFile := filepath.Join(dir, "access.yaml")
	writeUsers := func(names ...string) map[string]string {
		t.Helper()
		var users []testutil.AccessUser
		for _, n := range names {
			users = append(users, testutil.AccessUser{Name: n, Role: "admin"})
		}
		return testutil.WriteAccess(t, accessFile, users...)
	}
	before := writeUsers("alice", "bob")
	natsUsersFile := filepath.Join(dir, "nats-users.yaml")
	writeNATSUsers := func(sources ...string) {
		t.Helper()
		var b strings.Builder
		b.WriteString("users:\n")
		for _, src := range sources {
			fmt.Fprintf(&b, "  - name: %s-dvc\n    password: %s-secret-123\n    source: %s\n", src, src, src)
		}
		if err := os.WriteFile(natsUsersFile, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeNATSUsers("tayninh", "hanoi")

	addr, err := testutil.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	natsAddr, err := testutil.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, natsPort, _ := net.SplitHostPort(natsAddr)
	cfg := engine.DefaultConfig()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.HTTPAddr = addr
	cfg.NATSPort, err = strconv.Atoi(natsPort)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Access, cfg.TLSCert, cfg.TLSKey, cfg.NATSUsers = accessFile, certFile, keyFile, natsUsersFile
	cfg.LogFormat = "json"
	c := testutil.StartProcess(t, cfg)
	c.WaitFor(t, "hoso started")
	natsConnect := func(source string) (*nats.Conn, chan struct{}, error) {
		closed := make(chan struct{})
		nc, err := nats.Connect("nats://"+natsAddr, nats.UserInfo(source+"-dvc", source+"-secret-123"), nats.MaxReconnects(0),
			nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
		if err == nil {
			t.Cleanup(nc.Close)
		}
		return nc, closed, err
	}
	_, tayClosed, err := natsConnect("tayninh")
	if err != nil {
		t.Fatalf("tayninh connects to NATS: %v", err)
	}
	if _, _, err := natsConnect("camau"); err == nil {
		t.Fatal("camau connected to NATS before it was in the users file")
	}

	pool := x509.NewCertPool()
	pool.AddCert(certA)
	// get does GET path on a new connection, returning the status, the
	// body and the name of the certificate the server presented.
	get := func(path, token string) (int, string, string) {
		t.Helper()
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
		req, _ := http.NewRequest("GET", "https://"+addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.TLS.PeerCertificates[0].Subject.CommonName
	}
	if code, _, cn := get("/api/v1/definitions", before["bob"]); code != 200 || cn != "hoso A" {
		t.Fatalf("before the reload: %d from %q, want 200 from hoso A", code, cn)
	}

	// Rotate the certificate and remove bob.
	_, _, certB := testutil.WriteCert(t, filepath.Dir(certFile), "hoso B") // overwrites cert.pem and key.pem
	pool.AddCert(certB)
	after := writeUsers("alice", "carol")
	writeNATSUsers("hanoi", "camau") // tayninh leaves, camau arrives
	c.Signal(t, syscall.SIGHUP)
	c.WaitFor(t, "access file reloaded")
	c.WaitFor(t, "TLS certificate reloaded")
	c.WaitFor(t, "nats users file reloaded")
	select {
	case <-tayClosed:
	case <-time.After(10 * time.Second):
		t.Error("tayninh's NATS connection is still open 10s after it left the users file")
	}
	if _, _, err := natsConnect("camau"); err != nil {
		t.Errorf("camau, added to the users file, connects to NATS: %v", err)
	}
	for _, tt := range []struct {
		user  string
		token string
		want  int
	}{{"bob (removed)", before["bob"], 401}, {"carol (added)", after["carol"], 200}} {
		if code, _, cn := get("/api/v1/definitions", tt.token); code != tt.want || cn != "hoso B" {
			t.Errorf("after the reload, %s: %d from %q, want %d from hoso B", tt.user, code, cn, tt.want)
		}
	}
	if _, metrics, _ := get("/metrics", after["alice"]); !strings.Contains(metrics, "hoso_config_last_reload_successful 1") {
		t.Errorf("metrics after a good reload lack hoso_config_last_reload_successful 1")
	}

	// A broken access file: the users in force stay.
	if err := os.WriteFile(accessFile, []byte("users: [oops"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Signal(t, syscall.SIGHUP)
	c.WaitFor(t, "reload failed; the previous files stay in force")
	if code, _, _ := get("/api/v1/definitions", after["carol"]); code != 200 {
		t.Errorf("after a failed reload, carol: %d, want 200 (the previous file in force)", code)
	}
	if _, metrics, _ := get("/metrics", after["alice"]); !strings.Contains(metrics, "hoso_config_last_reload_successful 0") {
		t.Errorf("metrics after a failed reload lack hoso_config_last_reload_successful 0")
	}

	// A good access file anyone may write is refused too: whoever wrote
	// it does not get in.
	planted := writeUsers("alice", "carol", "mallory")
	if err := os.Chmod(accessFile, 0o666); err != nil {
		t.Fatal(err)
	}
	c.Signal(t, syscall.SIGHUP)
	c.WaitFor(t, "reload failed; the previous files stay in force")
	if code, _, _ := get("/api/v1/definitions", planted["mallory"]); code != 401 {
		t.Errorf("after the reload of a world-writable access file, its new user: %d, want 401", code)
	}
	if code, _, _ := get("/api/v1/definitions", after["carol"]); code != 200 {
		t.Errorf("after the reload of a world-writable access file, carol: %d, want 200 (the previous file in force)", code)
	}
}
