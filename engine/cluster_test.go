package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// TestClusterStreams: on a 3-node cluster, Setup gives every stream three
// replicas by default, and the engine's consumer inherits them.
func TestClusterStreams(t *testing.T) {
	c := testutil.StartCluster(t, 3)
	_, js := testutil.ConnectCluster(t, c)
	ctx := context.Background()
	cons, err := events.Setup(ctx, js, events.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{events.EventsStream, events.OutcomesStream, events.DeadLetterStream} {
		st, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if r := st.CachedInfo().Config.Replicas; r != 3 {
			t.Errorf("%s has %d replicas in a 3-node cluster, want 3", name, r)
		}
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Errorf("the consumer runs on %+v, want a leader and two replicas", info.Cluster)
	}

	// Asked for one replica, hoso keeps the three the streams have, and
	// says so; more replicas than servers are refused with the reason.
	var kept []string
	if _, err := events.Setup(ctx, js, events.StreamConfig{Replicas: 1, OnDifference: func(stream string, d []events.StreamDifference, updated bool) {
		kept = append(kept, fmt.Sprintf("%s %s updated=%v", stream, d, updated))
	}}); err != nil {
		t.Fatal(err)
	}
	if st, err := js.Stream(ctx, events.EventsStream); err != nil || st.CachedInfo().Config.Replicas != 3 {
		t.Errorf("Setup with one replica lowered HOSO_EVENTS's three (err %v)", err)
	}
	if want := events.EventsStream + " [replicas 3 (hoso sets 1)] updated=false"; !slices.Contains(kept, want) {
		t.Errorf("Setup with one replica reported %q, want %q", kept, want)
	}
	_, err = events.Setup(ctx, js, events.StreamConfig{Replicas: 5, UpdateStreams: true})
	if err == nil || !strings.Contains(err.Error(), "with 5 replicas: the NATS deployment cannot hold them") {
		t.Errorf("Setup with 5 replicas on 3 servers = %v, want it explained", err)
	}
}

// TestClusterFailover runs two engine replicas, each a process of its
// own, on a 3-node JetStream cluster under a steady load of a
// one-stop-shop's events, published with Nats-Msg-Id and retried until
// acknowledged as the contract asks. Mid-load the leading replica is
// killed, then the NATS node that leads HOSO_EVENTS is stopped for a few
// seconds and started again, and the killed replica restarted. The
// one-stop-shop must keep publishing while the node is down (which fails
// with a log of one replica); at the end every event is in the log once,
// both stores hold exactly what the stream says with equal state hashes,
// and every stream message has exactly one outcome.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 3-node cluster and two engines under load")
	}
	c := testutil.StartCluster(t, 3)
	sc := testutil.NewScenario(400, 4)
	const rate = 250 // events a second

	type replica struct {
		cfg engine.Config
		p   *testutil.Process
		url string
	}
	start := func(r *replica) {
		r.p = testutil.StartProcess(t, r.cfg)
		r.p.WaitFor(t, "hoso started")
	}
	newReplica := func(name string) *replica {
		addr, err := testutil.FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		cfg := engine.DefaultConfig()
		cfg.DataDir = filepath.Join(t.TempDir(), name)
		cfg.HTTPAddr, cfg.NATSURL = addr, c.URLs()
		cfg.Replica, cfg.ReplicaLease = name, 2*time.Second
		cfg.Deadlines = 0 // the scenario is dated in the past
		cfg.LogFormat, cfg.LogLevel = "json", "info"
		r := &replica{cfg: cfg, url: "http://" + addr}
		start(r)
		return r
	}
	a, b := newReplica("a"), newReplica("b")
	state := func(r *replica) (api.EngineState, error) {
		var s api.EngineState
		return s, (&api.Client{BaseURL: r.url, Timeout: 2 * time.Second}).Get(context.Background(), "/api/v1/admin/state", &s)
	}
	leader := func() *replica {
		for _, r := range []*replica{a, b} {
			if s, err := state(r); err == nil && s.Leader {
				return r
			}
		}
		return nil
	}
	waitFor := func(what string, timeout time.Duration, cond func() bool) time.Duration {
		t.Helper()
		began := time.Now()
		for !cond() {
			if time.Since(began) > timeout {
				t.Fatalf("%s: not within %s", what, timeout)
			}
			time.Sleep(20 * time.Millisecond)
		}
		return time.Since(began)
	}

	// The one-stop-shop: each event published until acknowledged.
	_, js := testutil.ConnectCluster(t, c)
	var (
		mu       sync.Mutex
		acks     []time.Time
		failures int
	)
	acked := func() int { mu.Lock(); defer mu.Unlock(); return len(acks) }
	published := make(chan struct{})
	go func() {
		defer close(published)
		tick := time.NewTicker(time.Second / rate)
		defer tick.Stop()
		for _, m := range sc.Messages {
			<-tick.C
			msg := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: nats.Header{}}
			if m.MsgID != "" {
				msg.Header.Set(jetstream.MsgIDHeader, m.MsgID)
			}
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_, err := js.PublishMsg(ctx, msg)
				cancel()
				mu.Lock()
				if err == nil {
					acks = append(acks, time.Now())
				} else {
					failures++
				}
				mu.Unlock()
				if err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()

	// The leading replica dies; the other takes over.
	waitFor("a quarter of the load published", time.Minute, func() bool { return acked() > len(sc.Messages)/4 })
	var dead *replica
	waitFor("a leader", 10*time.Second, func() bool { dead = leader(); return dead != nil })
	alive := b
	if dead == b {
		alive = a
	}
	dead.p.Kill(t)
	replicaFailover := waitFor("the other replica leading", 20*time.Second, func() bool {
		s, err := state(alive)
		return err == nil && s.Leader
	})
	t.Logf("replica %s killed: %s led after %s", dead.cfg.Replica, alive.cfg.Replica, replicaFailover.Round(time.Millisecond))

	// The NATS node leading the log dies; publishing goes on.
	waitFor("half the load published", time.Minute, func() bool { return acked() > len(sc.Messages)/2 })
	node := c.Node(t, c.StreamLeader(t, js, events.EventsStream))
	down := time.Now()
	node.Stop()
	const downFor = 5 * time.Second
	time.Sleep(downFor)
	// Acknowledgements while the node was down, past its first second
	// (those of the first moment may be of publishes it took before it
	// went); and the longest wait between two of them: the failover as the
	// one-stop-shop sees it.
	mu.Lock()
	var during int
	var gap time.Duration
	last := down
	for _, at := range acks {
		if at.After(down) && at.Before(down.Add(downFor)) {
			gap = max(gap, at.Sub(last))
			last = at
			if at.After(down.Add(time.Second)) {
				during++
			}
		}
	}
	mu.Unlock()
	if during < rate { // about rate×(downFor−1s) when publishing goes on
		t.Fatalf("%d events acknowledged between 1 s and %s after node %s, the leader of %s, went down: publishing stopped with the node", during, downFor, node.Name, events.EventsStream)
	}
	t.Logf("node %s (leader of %s) down for %s: %d events acknowledged from its first second on; the longest wait between two acknowledgements %s",
		node.Name, events.EventsStream, downFor, during, gap.Round(time.Millisecond))
	node.Start(t)
	start(dead)

	select {
	case <-published:
	case <-time.After(2 * time.Minute):
		t.Fatal("the load was not published within 2 minutes")
	}
	mu.Lock()
	t.Logf("%d events published, %d publishes failed and were retried", len(acks), failures)
	mu.Unlock()

	// Every event once in the log, applied by both, one outcome each.
	st, err := js.Stream(context.Background(), events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != uint64(sc.Stored()) || info.State.LastSeq != uint64(sc.Stored()) {
		t.Fatalf("the log holds %d messages up to sequence %d, want %d: an event lost or stored twice", info.State.Msgs, info.State.LastSeq, sc.Stored())
	}
	var hashes []string
	for _, r := range []*replica{a, b} {
		waitFor("replica "+r.cfg.Replica+" applying the log", time.Minute, func() bool {
			s, err := state(r)
			return err == nil && s.AppliedSeq == info.State.LastSeq
		})
		s, _ := state(r)
		hashes = append(hashes, s.StateHash)
	}
	if hashes[0] != hashes[1] {
		t.Errorf("the replicas' state hashes differ: %s and %s", hashes[0], hashes[1])
	}
	testutil.WaitOutcomes(t, js, uint64(sc.Stored()), time.Minute)
	c.WaitCurrent(t, js, events.OutcomesStream)
	testutil.ReadOutcomes(t, js, sc.Stored())
	for _, r := range []*replica{a, b} {
		r.p.Terminate(t)
		testutil.CheckStore(t, filepath.Join(r.cfg.DataDir, engine.StoreFile), sc)
	}
}

// TestClusterConfigFile runs three nodes of configs/nats/cluster.conf (on
// loopback ports, each with its own store) with an engine as hoso's user:
// the streams get three replicas, and with any one node down the source's
// user still publishes and the engine still applies.
func TestClusterConfigFile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 3-node cluster and an engine")
	}
	for k, v := range map[string]string{"HOSO_ENGINE_PASSWORD": "engine-secret-3", "TAYNINH_PASSWORD": "tayninh-secret-3",
		"SUPERVISORS_PASSWORD": "supervisors-secret-3", "NATS_SERVER_NAME": "n1"} {
		t.Setenv(k, v)
	}
	c := testutil.StartClusterWith(t, 3, func(int) *server.Options {
		opts, err := server.ProcessConfigFile("../configs/nats/cluster.conf")
		if err != nil {
			t.Fatalf("cluster.conf: %v", err)
		}
		if opts.Cluster.Name != "hoso" || len(opts.Routes) != 3 || !opts.JetStream || len(opts.Users) != 3 {
			t.Fatalf("cluster.conf: cluster %q, %d routes, JetStream %v, %d users; want hoso, 3, true, hoso.conf's 3",
				opts.Cluster.Name, len(opts.Routes), opts.JetStream, len(opts.Users))
		}
		return opts
	}, nats.UserInfo(events.EngineUser, "engine-secret-3"))

	cfg := testutil.Config(t.TempDir())
	cfg.NATSURL, cfg.NATSUser, cfg.NATSPassword = c.URLs(), events.EngineUser, "engine-secret-3"
	in := testutil.Start(t, cfg)

	_, ejs := testutil.ConnectCluster(t, c, nats.UserInfo(events.EngineUser, "engine-secret-3"))
	for _, name := range []string{events.EventsStream, events.OutcomesStream, events.DeadLetterStream} {
		st, err := ejs.Stream(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if r := st.CachedInfo().Config.Replicas; r != 3 {
			t.Errorf("%s has %d replicas, want 3", name, r)
		}
	}
	source, _ := testutil.ConnectCluster(t, c, nats.UserInfo("tayninh-dvc", "tayninh-secret-3"),
		nats.CustomInboxPrefix(events.InboxPrefix("tayninh")))
	for i, nd := range c.Nodes {
		nd.Stop()
		ev := &workflow.Event{ID: fmt.Sprintf("conf-%d", i), SourceURI: "/motcua/tayninh", Source: "tayninh",
			Dossier: fmt.Sprintf("000.00.12.H57-251001-%04d", i), Action: "receive", Procedure: "1.004227", Agency: "H57", Actor: "cb-01",
			Attachments: []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized, Name: "don.pdf"}},
			Time:        time.Date(2025, 10, 1, 9, 0, 0, 0, workflow.Zone)}
		// As the contract asks of a source: publish again until acknowledged.
		began := time.Now()
		for {
			_, err := testutil.PublishEvent(source, ev, 2*time.Second)
			if err == nil || strings.Contains(err.Error(), "duplicate") {
				break
			}
			if time.Since(began) > 30*time.Second {
				t.Fatalf("receipt with node %s down: not acknowledged within 30s: %v", nd.Name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("node %s down: receipt acknowledged after %s", nd.Name, time.Since(began).Round(time.Millisecond))
		nd.Start(t)
		c.WaitJetStream(t)
		c.WaitCurrent(t, ejs, events.EventsStream, events.ConsumerName)
		c.WaitCurrent(t, ejs, events.OutcomesStream)
	}
	var s api.EngineState
	for deadline := time.Now().Add(30 * time.Second); s.AppliedSeq < 3 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		testutil.GetJSON(t, in.HTTPURL, "/api/v1/admin/state", 200, &s)
	}
	if s.AppliedSeq != 3 {
		t.Errorf("the engine applied up to %d, want the 3 receipts, once each", s.AppliedSeq)
	}
	var page api.Page[api.Dossier]
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers", 200, &page)
	if len(page.Items) != 3 {
		t.Errorf("the engine has %d dossiers, want 3", len(page.Items))
	}
}

// BenchmarkClusterDrain drains the same pre-filled stream through an
// engine on one NATS server (streams of one replica) and on a 3-node
// cluster (three replicas, every write agreed by two nodes), in the same
// run, and also times the publishing of the stream to each: the cost of
// replication to the one-stop-shop and to the engine.
//
//	go test ./engine -run '^$' -bench ClusterDrain -benchtime 3x
func BenchmarkClusterDrain(b *testing.B) {
	sc := testutil.NewScenario(1000, 8)
	for _, mode := range []string{"single", "cluster-R3"} {
		b.Run(mode, func(b *testing.B) {
			var drained, published float64
			runs := 0
			for b.Loop() {
				dir := b.TempDir()
				var urls string
				var js jetstream.JetStream
				if mode == "single" {
					urls, js = testutil.StartNATS(b, filepath.Join(dir, "nats"))
				} else {
					c := testutil.StartCluster(b, 3)
					urls = c.URLs()
					_, js = testutil.ConnectCluster(b, c)
					if _, err := events.Setup(context.Background(), js, events.StreamConfig{}); err != nil {
						b.Fatal(err)
					}
				}
				began := time.Now()
				testutil.Publish(b, js, sc.Messages)
				published += float64(len(sc.Messages)) / time.Since(began).Seconds()
				cfg := testutil.Config(filepath.Join(dir, "store"))
				cfg.NATSURL, cfg.LogLevel = urls, "info"
				in := testutil.Start(b, cfg)
				testutil.WaitOutcomes(b, js, uint64(sc.Stored()), 5*time.Minute)
				in.Stop(b)
				drained += outcomeRate(b, js)
				runs++
			}
			b.ReportMetric(drained/float64(runs), "events/s")
			b.ReportMetric(published/float64(runs), "published/s")
		})
	}
}
