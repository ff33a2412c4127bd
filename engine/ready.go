package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/natsserver"
)

// readiness answers /readyz: connected to NATS, JetStream able to take
// events (embedded: every stream writable), the data disk above its
// reserve, the consumer consuming. The probes that cost a request or a
// file-system call run at most once per readyProbeEvery, however often
// /readyz is asked (it needs no token).
type readiness struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	embedded *natsserver.Server // nil with --nats-url
	consumer interface{ Ready() bool }
	dataDir  string
	minFree  int              // MiB; 0: no check
	now      func() time.Time // nil: time.Now

	mu     sync.Mutex // guards the two below
	probed time.Time  // when probe last ran
	last   error      // what it found
}

const (
	// readyProbeEvery is how long a probe's answer stands.
	readyProbeEvery = time.Second
	// readyProbeTimeout bounds the JetStream request of a probe.
	readyProbeTimeout = 2 * time.Second
)

func (r *readiness) check(ctx context.Context) error {
	switch {
	case !r.nc.IsConnected():
		return fmt.Errorf("not connected to NATS (%s)", r.nc.Status())
	case !r.consumer.Ready():
		return errors.New("consumer not ready: not started yet, the last batch failed to apply, or its durable consumer was changed and is being restored")
	}
	now := time.Now
	if r.now != nil {
		now = r.now
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := now(); t.Sub(r.probed) >= readyProbeEvery {
		r.last, r.probed = r.probe(ctx), t
	}
	return r.last
}

// probe asks JetStream and the file system.
func (r *readiness) probe(ctx context.Context) error {
	if r.embedded != nil {
		if err := r.embedded.JetStreamHealth(); err != nil {
			return fmt.Errorf("the embedded JetStream cannot take events (%v); hoso restarts it once the disk has room", err)
		}
	}
	if err := checkFreeSpace(r.dataDir, r.minFree); err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, readyProbeTimeout)
	defer cancel()
	if _, err := r.js.AccountInfo(pctx); err != nil {
		return fmt.Errorf("JetStream does not answer: %w", err)
	}
	return nil
}

// checkFreeSpace returns an error if the filesystem of dir has less than
// minMiB MiB free for an unprivileged writer (0: no check).
func checkFreeSpace(dir string, minMiB int) error {
	if minMiB <= 0 {
		return nil
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("free space of %s: %w", dir, err)
	}
	free := st.Bavail * uint64(st.Bsize) >> 20
	if free < uint64(minMiB) {
		return fmt.Errorf("the disk of %s has %d MiB free, less than the %d MiB serve keeps (--min-free-mib): publishes would fail; free some space, serve goes on by itself", dir, free, minMiB)
	}
	return nil
}
