package engine_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// TestServeReplicas runs two engine replicas, each a process of its own,
// against one NATS server: both apply every event into their own stores,
// which agree; exactly one leads, publishes each outcome once and alone
// runs the deadline scheduler; the follower keeps its outbox marked; when
// the leader is killed the follower takes over and publishes the outcomes
// of the events that follow, and only those.
func TestServeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two engines and waits out a lease")
	}
	srv := startNATSServer(t)
	natsURL := srv.ClientURL()

	// Every publish of an outcome or of a deadline event, repeats
	// included: the streams would drop a repeat, a core subscriber sees it.
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	watch := map[string]*testutil.PublishWatch{
		"outcome":  testutil.WatchPublishes(t, nc, "hoso.outcomes.>"),
		"deadline": testutil.WatchPublishes(t, nc, "hoso.events."+workflow.SystemSource+".>"),
	}
	// seen returns how many distinct messages of the kind were published,
	// and those published more than once.
	seen := func(kind string) (n int, repeated []string) { return watch[kind].Seen() }

	start := func(name string) *replica { return startReplica(t, name, natsURL, 200*time.Millisecond) }
	a, b := start("a"), start("b")
	leaderOf := func(rs ...*replica) []string {
		var names []string
		for _, r := range rs {
			if testutil.Scrape(t, r.url)["hoso_replica_leader"] == 1 {
				names = append(names, r.name)
			}
		}
		return names
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// emit publishes receipts of n dossiers, as `hoso emit --wait=false`
	// does; with due, each is overdue.
	emit := func(n, from int, due ...time.Time) {
		t.Helper()
		for i := from; i < from+n; i++ {
			ev := &workflow.Event{ID: fmt.Sprintf("replica-%04d", i), SourceURI: "/hoso/emit/tayninh", Source: "tayninh",
				Dossier: fmt.Sprintf("000.00.12.H57-251001-%04d", i), Action: "receive", Procedure: "1.004227", Agency: "H57", Actor: "cb-01",
				Attachments: []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized, Name: "don.pdf"}},
				Time:        time.Date(2025, 10, 1, 9, 0, 0, 0, workflow.Zone)}
			if len(due) > 0 {
				ev.Due = due[0]
			}
			if _, err := testutil.PublishEvent(nc, ev, 10*time.Second); err != nil {
				t.Fatalf("emit %s: %v", ev.Dossier, err)
			}
		}
	}
	state := func(r *replica) api.EngineState {
		var s api.EngineState
		testutil.GetJSON(t, r.url, "/api/v1/admin/state", 200, &s)
		return s
	}
	// onePerEvent checks, once publishing has settled, that each applied
	// message has exactly one outcome, published once.
	onePerEvent := func(applied uint64) {
		t.Helper()
		waitUntil("an outcome for each applied message", func() bool { n, _ := seen("outcome"); return n >= int(applied) })
		time.Sleep(500 * time.Millisecond) // a second publisher would have published by now
		if n, repeated := seen("outcome"); n != int(applied) || len(repeated) > 0 {
			t.Fatalf("%d outcomes for %d applied messages, published more than once: %v", n, applied, repeated)
		}
	}

	waitUntil("one replica to lead", func() bool { return len(leaderOf(a, b)) == 1 })
	emit(20, 1)
	emit(2, 900, time.Date(2025, 10, 15, 0, 0, 0, 0, workflow.Zone)) // overdue: the leader's scheduler publishes their expiries
	waitUntil("deadline events", func() bool { n, _ := seen("deadline"); return n >= 2 })
	time.Sleep(time.Second) // five scans of each scheduler
	deadlines, repeated := seen("deadline")
	if len(repeated) > 0 {
		t.Fatalf("deadline events published more than once (both replicas scheduling?): %v", repeated)
	}
	all := uint64(22 + deadlines)
	waitUntil("both replicas to apply every message", func() bool { return state(a).AppliedSeq == all && state(b).AppliedSeq == all })
	if sa, sb := state(a), state(b); sa.StateHash != sb.StateHash {
		t.Fatalf("the replicas disagree at sequence %d: %s and %s", all, sa.StateHash, sb.StateHash)
	}
	onePerEvent(all)
	leaders := leaderOf(a, b)
	if len(leaders) != 1 {
		t.Fatalf("leaders %v, want one", leaders)
	}
	leader, follower := a, b
	if leaders[0] == "b" {
		leader, follower = b, a
	}
	waitUntil("the follower to mark the leader's outcomes published", func() bool {
		return testutil.Scrape(t, follower.url)["hoso_outbox_backlog"] == 0
	})
	if m := testutil.Scrape(t, follower.url); m["hoso_relay_backlog"] != 0 || m["hoso_replica_leader"] != 0 {
		t.Errorf("the follower reports relay backlog %v and leader %v, want 0 and 0", m["hoso_relay_backlog"], m["hoso_replica_leader"])
	}
	if ls, fs := state(leader), state(follower); ls.Replica != leader.name || !ls.Leader || fs.Replica != follower.name || fs.Leader {
		t.Errorf("admin state: leader %+v, follower %+v; want each named, the leader leading", ls, fs)
	}

	// The leader dies; the follower takes over within the lease.
	leader.p.Kill(t)
	emit(10, 21)
	waitUntil("the follower to apply the 10 new events", func() bool { return state(follower).AppliedSeq == all+10 })
	waitUntil("the follower to lead", func() bool { return len(leaderOf(follower)) == 1 })
	follower.p.WaitFor(t, "leading: publishing outcomes and running the deadline scheduler")
	onePerEvent(all + 10) // the new leader did not republish what the old one had
	if m := testutil.Scrape(t, follower.url); m["hoso_outbox_backlog"] != 0 {
		t.Errorf("the new leader's outbox holds %v outcomes, want 0", m["hoso_outbox_backlog"])
	}
}

// replica is an engine replica running as a process of its own.
type replica struct {
	name string
	p    *testutil.Process
	url  string // its HTTP server
}

// startReplica starts the replica name on the NATS server at natsURL,
// with a lease of 2 s and the deadline scheduler scanning every
// deadlines, and waits until it has started.
func startReplica(t *testing.T, name, natsURL string, deadlines time.Duration) *replica {
	t.Helper()
	addr, err := testutil.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	cfg := engine.DefaultConfig()
	cfg.DataDir = filepath.Join(t.TempDir(), name)
	cfg.HTTPAddr = addr
	cfg.NATSURL = natsURL
	cfg.Replica, cfg.ReplicaLease = name, 2*time.Second
	cfg.Deadlines = deadlines
	cfg.LogFormat = "json"
	p := testutil.StartProcess(t, cfg)
	p.WaitFor(t, "hoso started")
	return &replica{name: name, p: p, url: "http://" + addr}
}
