package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/natsserver"
)

// TestClientsWithNATSUsers: against a NATS server with users, as
// configs/nats/ sets one up, simulate publishes as a source's user and
// rebuild reads the log as hoso's own, each with --nats-user and
// --nats-password; without a user the server refuses them.
func TestClientsWithNATSUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes and applies a simulated stream twice")
	}
	dir := t.TempDir()
	srv, err := natsserver.StartServer(natsserver.ServerConfig{Dir: filepath.Join(dir, "nats"), Port: -1, EnginePassword: "engine-secret-9",
		Users: []natsserver.User{{Name: "tayninh-dvc", Password: "tayninh-secret-1", Source: "tayninh"}, {Name: "giamsat", Password: "giamsat-secret-4", Supervisor: true}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	u := strings.TrimPrefix(srv.ClientURL(), "nats://")
	in := startServe(t, filepath.Join(dir, "live"), "--nats-url", "nats://hoso:engine-secret-9@"+u)

	hoso := func(args ...string) (string, error) {
		t.Helper()
		var out, errb testutil.SyncBuffer
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := run(ctx, args, noEnv, strings.NewReader(""), &out, &errb)
		return out.String() + errb.String(), err
	}
	sim := []string{"simulate", "--nats-url", srv.ClientURL(), "--dossiers", "30", "--seed", "5", "--start", "2025-07-01"}
	if out, err := hoso(sim...); err == nil || !strings.Contains(err.Error(), "Authorization Violation") {
		t.Errorf("simulate without a user = %v\n%s\nwant the server's refusal", err, out)
	}
	out, err := hoso(append(sim, "--nats-user", "tayninh-dvc", "--nats-password", "tayninh-secret-1")...)
	if err != nil {
		t.Fatalf("simulate as the source's user: %v\n%s", err, out)
	}
	out, err = hoso("emit", "--nats-url", srv.ClientURL(), "--nats-user", "tayninh-dvc", "--nats-password", "tayninh-secret-1",
		"--source", "tayninh", "--dossier", "000.00.12.H57-251201-0001", "--action", "receive", "--procedure", "1.004227",
		"--agency", "H57", "--actor", "cb-01", "--attach", "input_digitized:don.pdf", "-o", "json")
	if err != nil || !strings.Contains(out, `"kind":"accepted"`) {
		t.Fatalf("emit as the source's user: %v\n%s", err, out)
	}
	engine, err := nats.Connect(srv.ClientURL(), nats.UserInfo(events.EngineUser, "engine-secret-9"))
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	js, _ := jetstream.New(engine)
	st, err := js.Stream(context.Background(), events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil || info.State.Msgs == 0 {
		t.Fatalf("the log after simulate: %+v, %v", info, err)
	}
	testutil.WaitOutcomes(t, js, info.State.Msgs, time.Minute)
	var live struct {
		StateHash string `json:"state_hash"`
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/admin/state", 200, &live)

	rebuild := []string{"rebuild", "--nats-url", srv.ClientURL(), "--data-dir", filepath.Join(dir, "rebuilt")}
	if out, err := hoso(rebuild...); err == nil {
		t.Errorf("rebuild without a user succeeded:\n%s", out)
	}
	out, err = hoso(append(rebuild, "--nats-user", events.EngineUser, "--nats-password", "engine-secret-9")...)
	if err != nil {
		t.Fatalf("rebuild as hoso's user: %v\n%s", err, out)
	}
	if !strings.Contains(out, "state hash "+live.StateHash) {
		t.Errorf("rebuild as hoso's user:\n%s\nwant the live state hash %s", out, live.StateHash)
	}
}

// TestSimulateOnACluster: simulate given the URLs of a cluster's servers
// publishes through whichever runs, the first one stopped.
func TestSimulateOnACluster(t *testing.T) {
	c := testutil.StartCluster(t, 3)
	_, js := testutil.ConnectCluster(t, c)
	if _, err := events.Setup(context.Background(), js, events.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	c.Nodes[0].Stop()
	var out, errb testutil.SyncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := run(ctx, []string{"simulate", "--nats-url", c.URLs(), "--dossiers", "20", "--seed", "2", "--start", "2025-07-01"},
		noEnv, strings.NewReader(""), &out, &errb)
	if err != nil {
		t.Fatalf("simulate on a cluster with a node down: %v\n%s", err, errb.String())
	}
	st, err := js.Stream(ctx, events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("published %s events", commas(int(info.State.Msgs))); info.State.Msgs == 0 || !strings.Contains(errb.String(), want) {
		t.Errorf("the log holds %d events; simulate said:\n%s", info.State.Msgs, errb.String())
	}
}

// TestClientsOverTLS: against a NATS server that takes only TLS clients,
// with a certificate of its own CA, simulate publishes when given the CA
// (--nats-ca) and fails on the certificate without it.
func TestClientsOverTLS(t *testing.T) {
	url, ca := testutil.StartTLSNATS(t, t.TempDir())
	sim := []string{"simulate", "--nats-url", url, "--dossiers", "10", "--seed", "4", "--start", "2025-07-01"}
	var out, errb testutil.SyncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, sim, noEnv, strings.NewReader(""), &out, &errb); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("simulate without the CA = %v, want the certificate refused", err)
	}
	if err := run(ctx, append(sim, "--nats-ca", ca), noEnv, strings.NewReader(""), &out, &errb); err != nil {
		t.Fatalf("simulate with --nats-ca: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "published ") {
		t.Errorf("simulate with --nats-ca said:\n%s", errb.String())
	}
}

// TestClientsWithCreds: against a NATS server in operator mode, simulate
// publishes with a credentials file (--nats-creds) and is refused
// without one.
func TestClientsWithCreds(t *testing.T) {
	url, creds := testutil.StartCredsNATS(t, t.TempDir())
	sim := []string{"simulate", "--nats-url", url, "--dossiers", "10", "--seed", "6", "--start", "2025-07-01"}
	var out, errb testutil.SyncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, sim, noEnv, strings.NewReader(""), &out, &errb); err == nil || !strings.Contains(err.Error(), "Authorization Violation") {
		t.Errorf("simulate without credentials = %v, want the server's refusal", err)
	}
	if err := run(ctx, append(sim, "--nats-creds", creds), noEnv, strings.NewReader(""), &out, &errb); err != nil {
		t.Fatalf("simulate with --nats-creds: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "published ") {
		t.Errorf("simulate with --nats-creds said:\n%s", errb.String())
	}
}
