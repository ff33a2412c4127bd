package main

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/web"
)

// TestServeReplicas runs two `hoso serve` replicas against one NATS
// server: both apply every event into their own stores, which agree;
// exactly one leads and publishes each outcome, once; the follower keeps
// its outbox marked; when the leader is killed the follower takes over
// and publishes the outcomes of the events that follow.
func TestServeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two engines and waits out a lease")
	}
	srv := startNATSServer(t)
	natsURL := srv.ClientURL()

	// Every outcome publish, duplicates included: the outcome stream would
	// drop a repeat, a core subscriber sees it.
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	var published atomic.Int64
	if _, err := nc.Subscribe("hoso.outcomes.>", func(*nats.Msg) { published.Add(1) }); err != nil {
		t.Fatal(err)
	}

	type replica struct {
		name string
		c    *child
		url  string
	}
	start := func(name string) *replica {
		addr, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		c := startChildArgs(t, "serve", "--data-dir", filepath.Join(t.TempDir(), name), "--http-addr", addr,
			"--nats-url", natsURL, "--replica", name, "--replica-lease", "2s", "--log-format", "json")
		c.waitFor(t, "hoso started")
		return &replica{name: name, c: c, url: "http://" + addr}
	}
	a, b := start("a"), start("b")
	leaderOf := func(rs ...*replica) []string {
		var names []string
		for _, r := range rs {
			if scrape(t, r.url)["hoso_replica_leader"] == 1 {
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
	emit := func(n, from int) {
		t.Helper()
		for i := from; i < from+n; i++ {
			code := fmt.Sprintf("000.00.12.H57-251001-%04d", i)
			args := []string{"emit", "--wait=false", "--nats-url", natsURL, "--source", "tayninh", "--dossier", code,
				"--action", "receive", "--procedure", "1.004227", "--agency", "H57", "--actor", "cb-01",
				"--attach", "input_digitized:don.pdf", "--time", "2025-10-01T09:00:00+07:00"}
			if out, err := hosoRun(t, args...); err != nil {
				t.Fatalf("emit: %v\n%s", err, out)
			}
		}
	}
	state := func(r *replica) web.State {
		var s web.State
		getJSON(t, r.url, "/api/v1/admin/state", 200, &s)
		return s
	}

	waitUntil("one replica to lead", func() bool { return len(leaderOf(a, b)) == 1 })
	emit(20, 1)
	waitUntil("both replicas to apply the 20 events", func() bool { return state(a).AppliedSeq == 20 && state(b).AppliedSeq == 20 })
	if sa, sb := state(a), state(b); sa.StateHash != sb.StateHash {
		t.Fatalf("the replicas disagree at sequence 20: %s and %s", sa.StateHash, sb.StateHash)
	}
	waitUntil("20 outcomes published", func() bool { return published.Load() >= 20 })
	leaders := leaderOf(a, b)
	if len(leaders) != 1 {
		t.Fatalf("leaders %v, want one", leaders)
	}
	leader, follower := a, b
	if leaders[0] == "b" {
		leader, follower = b, a
	}
	waitUntil("the follower to mark the leader's outcomes published", func() bool {
		return scrape(t, follower.url)["hoso_outbox_backlog"] == 0
	})
	if m := scrape(t, follower.url); m["hoso_relay_backlog"] != 0 || m["hoso_replica_leader"] != 0 {
		t.Errorf("the follower reports relay backlog %v and leader %v, want 0 and 0", m["hoso_relay_backlog"], m["hoso_replica_leader"])
	}
	if ls, fs := state(leader), state(follower); ls.Replica != leader.name || !ls.Leader || fs.Replica != follower.name || fs.Leader {
		t.Errorf("admin state: leader %+v, follower %+v; want each named, the leader leading", ls, fs)
	}
	time.Sleep(500 * time.Millisecond) // a follower that published would have by now
	if got := published.Load(); got != 20 {
		t.Fatalf("%d outcome publishes for 20 events: the follower published too, or the leader twice", got)
	}

	// The leader dies; the follower takes over within the lease.
	leader.c.kill(t)
	emit(10, 21)
	waitUntil("the follower to apply the 10 new events", func() bool { return state(follower).AppliedSeq == 30 })
	waitUntil("the follower to lead", func() bool { return len(leaderOf(follower)) == 1 })
	waitUntil("the 10 new outcomes published", func() bool { return published.Load() >= 30 })
	time.Sleep(500 * time.Millisecond)
	if got := published.Load(); got != 30 {
		t.Errorf("%d outcome publishes for 30 events, want 30: the new leader republished what the old one had", got)
	}
	if m := scrape(t, follower.url); m["hoso_outbox_backlog"] != 0 {
		t.Errorf("the new leader's outbox holds %v outcomes, want 0", m["hoso_outbox_backlog"])
	}
	follower.c.waitFor(t, "leading: publishing outcomes and running the deadline scheduler")
}
