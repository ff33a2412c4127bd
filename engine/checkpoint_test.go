package engine_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
)

// checkpointKey writes a new checkpoint key (Config.CheckpointKey) into
// dir and returns its path and its public key.
func checkpointKey(t *testing.T, dir string) (string, ed25519.PublicKey) {
	t.Helper()
	path := filepath.Join(dir, "checkpoint.pem")
	pub, err := events.GenerateCheckpointKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, pub
}

// verifyCheckpoints checks the store of in against the checkpoints of js
// as `hoso audit verify --public-key` does: there is one at least, each
// is signed with pub, and the store recomputes each as of its sequence
// with the same fields (the state hash where it recomputes it: at its
// own applied sequence).
func verifyCheckpoints(t *testing.T, in *testutil.Instance, js jetstream.JetStream, pub ed25519.PublicKey) {
	t.Helper()
	cps := testutil.Checkpoints(t, js)
	if len(cps) == 0 {
		t.Errorf("no checkpoint in %s for the store of %s", events.CheckpointsStream, in.HTTPURL)
	}
	for _, m := range cps {
		if err := m.Verify(pub); err != nil {
			t.Errorf("checkpoint %d: %v", m.Seq, err)
			continue
		}
		var ans api.Checkpoints
		testutil.GetJSON(t, in.HTTPURL, testutil.Pathf("/api/v1/audit/checkpoint?seq=%d", m.Seq), 200, &ans)
		if len(ans.Items) != 1 {
			t.Fatalf("asked the checkpoint of %d of %s, answered %+v", m.Seq, in.HTTPURL, ans)
		}
		if d := m.Differences(ans.Items[0]); len(d) > 0 {
			t.Errorf("checkpoint %d: the store of %s differs: %+v", m.Seq, in.HTTPURL, d)
		}
	}
}

// TestServeWithoutCheckpointKey: an engine without a key says once that
// its store has no anchor outside its file, and publishes no checkpoint.
func TestServeWithoutCheckpointKey(t *testing.T) {
	natsURL, js := testutil.StartNATS(t, t.TempDir())
	cfg := testutil.Config(t.TempDir())
	cfg.NATSURL = natsURL
	in := testutil.Start(t, cfg)
	testutil.EmitAll(t, natsURL, 0, [][2]string{{"000.00.12.H57-251001-0001", "receive"}})
	in.Stop(t)
	if n := strings.Count(in.Logs.String(), engine.CheckpointsOff); n != 1 {
		t.Errorf("serve without a checkpoint key logged %q %d times, want once:\n%s", engine.CheckpointsOff, n, in.Logs.String())
	}
	if _, err := js.Stream(context.Background(), events.CheckpointsStream); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("serve without a checkpoint key: stream %s: %v, want none", events.CheckpointsStream, err)
	}
}

// TestCheckpointAtShutdown: an engine whose interval has not come yet
// publishes the checkpoint of what it applied when it stops, and one
// restarted with nothing new applied publishes none.
func TestCheckpointAtShutdown(t *testing.T) {
	keyPath, pub := checkpointKey(t, t.TempDir())
	natsURL, js := testutil.StartNATS(t, t.TempDir())
	cfg := testutil.Config(t.TempDir())
	cfg.NATSURL, cfg.CheckpointKey, cfg.CheckpointInterval = natsURL, keyPath, time.Hour
	in := testutil.Start(t, cfg)
	testutil.EmitAll(t, natsURL, 0, [][2]string{{"000.00.12.H57-251001-0001", "receive"}, {"000.00.12.H57-251001-0001", "assign"}})
	if cps := testutil.Checkpoints(t, js); len(cps) != 0 {
		t.Fatalf("checkpoints before the first interval: %+v", cps)
	}
	in.Stop(t)
	in = testutil.Start(t, cfg)
	in.Stop(t)
	cps := testutil.Checkpoints(t, js)
	if len(cps) != 1 || cps[0].Seq != 2 || cps[0].Dossiers != 1 || cps[0].Verify(pub) != nil {
		t.Errorf("checkpoints after two stops = %+v; want one, of 2, signed", cps)
	}
}

// TestCheckpointsOfReplicas: of two replicas, only the leader publishes
// checkpoints, on its own subject, and the store of each verifies
// against them.
func TestCheckpointsOfReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two engines")
	}
	keyPath, pub := checkpointKey(t, t.TempDir())
	natsURL, js := testutil.StartNATS(t, t.TempDir())
	start := func(name string) *testutil.Instance {
		cfg := testutil.Config(filepath.Join(t.TempDir(), name))
		cfg.NATSURL, cfg.Replica, cfg.ReplicaLease = natsURL, name, events.DefaultLeaseTTL
		cfg.CheckpointKey, cfg.CheckpointInterval = keyPath, 20*time.Millisecond
		return testutil.Start(t, cfg)
	}
	a, b := start("a"), start("b")
	code := "000.00.12.H57-251001-0001"
	testutil.EmitAll(t, natsURL, 0, [][2]string{{code, "receive"}, {code, "assign"}})
	testutil.WaitCheckpoint(t, js, 2)
	s, err := js.Stream(context.Background(), events.CheckpointsStream)
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[string]int{}
	for seq := uint64(1); seq <= s.CachedInfo().State.LastSeq; seq++ {
		m, err := s.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		subjects[m.Subject]++
	}
	leaders := 0
	for _, in := range []*testutil.Instance{a, b} {
		leaders += strings.Count(in.Logs.String(), "leading: publishing outcomes")
	}
	if len(subjects) != 1 || leaders != 1 || (subjects["hoso.checkpoints.a"] == 0 && subjects["hoso.checkpoints.b"] == 0) {
		t.Errorf("checkpoints by subject %v with %d leaders; want all on the leader's subject", subjects, leaders)
	}
	for _, in := range []*testutil.Instance{a, b} {
		testutil.WaitApplied(t, in, 2)
		verifyCheckpoints(t, in, js, pub)
	}
}
