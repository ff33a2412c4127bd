package testutil

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster is a JetStream cluster of NATS servers in this process, on
// loopback: nats-server's own clustering (routes, Raft), each node with
// its own store directory and ports fixed at start, so that a stopped
// node starts again where it was, with what it stored.
type Cluster struct {
	Name  string
	Nodes []*ClusterNode
	user  []nats.Option // the credentials WaitJetStream connects with
}

// ClusterNode is one server of a Cluster.
type ClusterNode struct {
	Name string
	URL  string // its client URL
	opts *server.Options
	srv  *server.Server // nil while stopped
}

// StartCluster starts a cluster of n servers and waits until its
// JetStream answers (a meta leader is elected). The servers stop at the
// end of the test.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	return StartClusterWith(t, n, func(int) *server.Options { return &server.Options{} })
}

// StartClusterWith starts a cluster of n servers of the options base
// returns for each (a configuration file's, with its users), on loopback:
// their addresses, ports, routes and store directories are the test's.
// It connects as user to see JetStream answer ("" for none).
func StartClusterWith(t testing.TB, n int, base func(i int) *server.Options, user ...nats.Option) *Cluster {
	t.Helper()
	ports := freePorts(t, 2*n)
	c := &Cluster{Name: "hoso-test", user: user}
	var routes []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+i]))
	}
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		opts := base(i)
		opts.ServerName, opts.Host, opts.Port = name, "127.0.0.1", ports[i]
		opts.NoLog, opts.NoSigs = true, true
		opts.JetStream, opts.StoreDir = true, t.TempDir()
		opts.Cluster.Name, opts.Cluster.Host, opts.Cluster.Port = c.Name, "127.0.0.1", ports[n+i]
		opts.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		c.Nodes = append(c.Nodes, &ClusterNode{Name: name, URL: fmt.Sprintf("nats://127.0.0.1:%d", ports[i]), opts: opts})
	}
	for _, nd := range c.Nodes {
		nd.Start(t)
	}
	t.Cleanup(func() {
		for _, nd := range c.Nodes {
			nd.Stop()
		}
	})
	c.WaitJetStream(t)
	return c
}

// URLs is the comma-separated client URLs of every node, as a client
// that follows the cluster is given them.
func (c *Cluster) URLs() string {
	var urls []string
	for _, nd := range c.Nodes {
		urls = append(urls, nd.URL)
	}
	return strings.Join(urls, ",")
}

// Node returns the node of that name.
func (c *Cluster) Node(t testing.TB, name string) *ClusterNode {
	t.Helper()
	for _, nd := range c.Nodes {
		if nd.Name == name {
			return nd
		}
	}
	t.Fatalf("no node %q in the cluster", name)
	return nil
}

// WaitJetStream waits until the cluster's JetStream answers through the
// nodes that run.
func (c *Cluster) WaitJetStream(t testing.TB) {
	t.Helper()
	nc, js := ConnectCluster(t, c, c.user...)
	defer nc.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster's JetStream does not answer within 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// StreamLeader returns the name of the node that leads the stream.
func (c *Cluster) StreamLeader(t testing.TB, js jetstream.JetStream, stream string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := js.Stream(ctx, stream)
		var info *jetstream.StreamInfo
		if err == nil {
			info, err = st.Info(ctx)
		}
		cancel()
		if err == nil && info.Cluster != nil && info.Cluster.Leader != "" {
			return info.Cluster.Leader
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s has no leader within 30s: %v", stream, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Start starts the node (again), on its ports and its store directory.
func (nd *ClusterNode) Start(t testing.TB) {
	t.Helper()
	srv, err := server.NewServer(nd.opts)
	if err != nil {
		t.Fatalf("node %s: %v", nd.Name, err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(20 * time.Second) {
		srv.Shutdown()
		t.Fatalf("node %s does not take connections within 20s", nd.Name)
	}
	nd.srv = srv
}

// Stop shuts the node down, as a node that dies: its clients are cut
// off and the cluster goes on without it.
func (nd *ClusterNode) Stop() {
	if nd.srv != nil {
		nd.srv.Shutdown()
		nd.srv.WaitForShutdown()
		nd.srv = nil
	}
}

// freePorts returns n loopback ports free at the time of the call.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// ConnectCluster connects to every node of the cluster, reconnecting to
// whichever runs.
func ConnectCluster(t testing.TB, c *Cluster, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(c.URLs(), append([]nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(100 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// WaitCurrent waits until the stream, and each of its consumers named,
// has a leader and every replica current: the cluster can lose any one
// node again.
func (c *Cluster) WaitCurrent(t testing.TB, js jetstream.JetStream, stream string, consumers ...string) {
	t.Helper()
	current := func(ci *jetstream.ClusterInfo) bool {
		if ci == nil || ci.Leader == "" || len(ci.Replicas) != len(c.Nodes)-1 {
			return false
		}
		for _, r := range ci.Replicas {
			if !r.Current || r.Offline {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := false
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if st, err := js.Stream(ctx, stream); err == nil {
			if info, err := st.Info(ctx); err == nil && current(info.Cluster) {
				ok = true
				for _, name := range consumers {
					cons, err := st.Consumer(ctx, name)
					var ci *jetstream.ConsumerInfo
					if err == nil {
						ci, err = cons.Info(ctx)
					}
					if err != nil || !current(ci.Cluster) {
						ok = false
					}
				}
			}
		}
		cancel()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s and its consumers %v not current on every node within 30s", stream, consumers)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
