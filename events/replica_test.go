package events_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
)

// replicaRun runs a Replica and records whether it leads.
type replicaRun struct {
	r       *events.Replica
	leading atomic.Bool
	cancel  context.CancelFunc
	done    chan struct{}
}

func startReplica(t *testing.T, js jetstream.JetStream, name string, ttl time.Duration, follow func(*events.Replica, context.Context)) *replicaRun {
	t.Helper()
	r, err := events.NewReplica(context.Background(), js, events.ReplicaConfig{Name: name, TTL: ttl, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rr := &replicaRun{r: r, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(rr.done)
		lead := func(ctx context.Context) {
			rr.leading.Store(true)
			<-ctx.Done()
			rr.leading.Store(false)
		}
		following := func(ctx context.Context) { <-ctx.Done() }
		if follow != nil {
			following = func(ctx context.Context) { follow(r, ctx) }
		}
		if err := r.Run(ctx, lead, following); err != nil {
			t.Errorf("Run(%s) = %v", name, err)
		}
	}()
	t.Cleanup(rr.stop)
	return rr
}

func (rr *replicaRun) stop() {
	rr.cancel()
	<-rr.done
}

// TestReplicaLease: of two replicas exactly one leads; when it stops,
// the other takes over at once (the lease is released), and a lease whose
// holder vanished without releasing it passes on after its TTL.
func TestReplicaLease(t *testing.T) {
	_, _, js := startJS(t)
	const ttl = 1500 * time.Millisecond
	a := startReplica(t, js, "a", ttl, nil)
	waitFor(t, 5*time.Second, "a to lead", a.leading.Load)
	b := startReplica(t, js, "b", ttl, nil)
	time.Sleep(ttl) // b tries a few times meanwhile
	if !a.leading.Load() || b.leading.Load() || !a.r.Leader() || b.r.Leader() {
		t.Fatalf("leading: a %v, b %v; want a only", a.leading.Load(), b.leading.Load())
	}

	start := time.Now()
	a.stop()
	waitFor(t, 5*time.Second, "b to lead after a stopped", b.leading.Load)
	if took := time.Since(start); took > ttl {
		t.Errorf("b took over %s after a released the lease; want within a renewal (%s)", took, ttl/3)
	}

	// A holder that vanished: its lease expires after the TTL.
	b.stop()
	kv, err := js.KeyValue(context.Background(), events.ReplicasBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(context.Background(), "leader", []byte("ghost")); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	c := startReplica(t, js, "c", ttl, nil)
	waitFor(t, 10*time.Second, "c to lead once the ghost's lease expired", c.leading.Load)
	if took := time.Since(start); took < ttl/2 {
		t.Errorf("c led %s after the ghost took the lease, before it expired (TTL %s)", took, ttl)
	}
}

// fakeOutbox records what a follower marks.
type fakeOutbox struct {
	mu      sync.Mutex
	applied uint64
	marked  []uint64
}

func (f *fakeOutbox) MarkPublished(_ context.Context, upTo uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.marked = append(f.marked, upTo)
	return nil
}

func (f *fakeOutbox) AppliedSeq() (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied, nil
}

func (f *fakeOutbox) last() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.marked) == 0 {
		return 0
	}
	return f.marked[len(f.marked)-1]
}

// TestReplicaFollow: the leader records how far it has published; a
// follower marks its outbox up to that, never beyond what it has applied.
func TestReplicaFollow(t *testing.T) {
	_, _, js := startJS(t)
	const ttl = 3 * time.Second
	leader := startReplica(t, js, "a", ttl, nil)
	waitFor(t, 5*time.Second, "a to lead", leader.leading.Load)
	ob := &fakeOutbox{applied: 40}
	startReplica(t, js, "b", ttl, func(r *events.Replica, ctx context.Context) { r.Follow(ctx, ob, 50*time.Millisecond) })

	if err := leader.r.SetPublished(context.Background(), 57); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "b to mark up to what it applied (40)", func() bool { return ob.last() == 40 })
	ob.mu.Lock()
	ob.applied = 90
	ob.mu.Unlock()
	waitFor(t, 5*time.Second, "b to mark up to what a published (57)", func() bool { return ob.last() == 57 })
	if got, err := leader.r.Published(context.Background()); err != nil || got != 57 {
		t.Errorf("Published = %d, %v; want 57", got, err)
	}
}
