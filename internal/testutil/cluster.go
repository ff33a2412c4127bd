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
	ports := freePorts(t, 2*n)
	c := &Cluster{Name: "hoso-test"}
	var routes []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+i]))
	}
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		opts := &server.Options{
			ServerName: name, Host: "127.0.0.1", Port: ports[i],
			NoLog: true, NoSigs: true,
			JetStream: true, StoreDir: t.TempDir(),
			Cluster: server.ClusterOpts{Name: c.Name, Host: "127.0.0.1", Port: ports[n+i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		}
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
	nc, js := Connect(t, c.URLs())
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
