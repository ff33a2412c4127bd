package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ReplicasBucket is the JetStream key-value bucket the replicas of a
// deployment share: the lease of the leader, and how far the leader has
// published outcomes.
const ReplicasBucket = "HOSO_REPLICAS"

// Keys of ReplicasBucket.
const (
	leaderKey    = "leader"    // the name of the replica holding the lease
	publishedKey = "published" // decimal stream sequence: the leader's outcomes are published up to it
)

// DefaultLeaseTTL is how long a lease lasts without renewal: a leader
// that stops is replaced within about this time.
const DefaultLeaseTTL = 10 * time.Second

// ReplicaConsumer returns the durable name of a replica's consumer,
// hoso-engine-<replica>.
func ReplicaConsumer(replica string) string { return ConsumerName + "-" + replica }

// Replica is one of several engines that apply the same stream, each
// through a consumer of its own into a store of its own: replay is
// deterministic, so their stores agree (state-machine replication over
// the stream). What must happen once, publishing outcomes and running the
// deadline scheduler, is done by the leader: the replica that holds a
// lease in ReplicasBucket, renewed every third of its TTL. The others
// follow: they mark in their outbox the outcomes the leader reports
// published, so that whichever takes over publishes only what is left
// (and the outcome stream's duplicate window absorbs the few published
// twice around a change of leader).
type Replica struct {
	kv     jetstream.KeyValue
	name   string
	ttl    time.Duration
	log    *slog.Logger
	leader atomic.Bool
}

// ReplicaConfig configures a Replica.
type ReplicaConfig struct {
	Name string        // the replica's name (a consumer-name token)
	TTL  time.Duration // the lease's; 0 is DefaultLeaseTTL
	// Streams gives the bucket's replica count and the policy for an
	// existing bucket with another (StreamConfig.Replicas, UpdateStreams,
	// OnDifference), as for the streams.
	Streams StreamConfig
	Logger  *slog.Logger // nil discards the log
}

// NewReplica creates or opens ReplicasBucket (its TTL is the lease's) and
// returns the replica cfg.Name.
func NewReplica(ctx context.Context, js jetstream.JetStream, cfg ReplicaConfig) (*Replica, error) {
	ttl, logger := cfg.TTL, cfg.Logger
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	replicas := cfg.Streams.replicas(js)
	if st, err := js.Stream(ctx, "KV_"+ReplicasBucket); err == nil {
		if have := st.CachedInfo().Config.Replicas; have != replicas {
			diff := []StreamDifference{{Field: "replicas", Server: strconv.Itoa(have), Hoso: strconv.Itoa(replicas)}}
			cfg.Streams.report("KV_"+ReplicasBucket, diff, cfg.Streams.UpdateStreams)
			if !cfg.Streams.UpdateStreams {
				replicas = have
			}
		}
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      ReplicasBucket,
		Description: "hoso: the replica that leads (publishes outcomes, runs the deadline scheduler) and how far it has published",
		TTL:         ttl,
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("events: replicas bucket: %w", placementError(ReplicasBucket, replicas, err))
	}
	return &Replica{kv: kv, name: cfg.Name, ttl: ttl, log: logger.With("replica", cfg.Name)}, nil
}

// Leader reports whether this replica holds the lease.
func (r *Replica) Leader() bool { return r.leader.Load() }

// Run competes for the lease until ctx ends. While this replica holds it,
// lead runs, under a context cancelled when the lease is lost; while it
// does not, follow runs likewise. When ctx ends Run waits for the one
// running, releases the lease if held, and returns nil.
func (r *Replica) Run(ctx context.Context, lead, follow func(context.Context)) error {
	var (
		rev     uint64 // of the lease, while held
		cancel  context.CancelFunc
		done    chan struct{}
		leading bool
	)
	stop := func() {
		if cancel != nil {
			cancel()
			<-done
			cancel = nil
		}
	}
	start := func(f func(context.Context)) {
		stop()
		fctx, c := context.WithCancel(ctx)
		cancel, done = c, make(chan struct{})
		go func() {
			defer close(done)
			f(fctx)
		}()
	}
	tick := time.NewTicker(r.ttl / 3)
	defer tick.Stop()
	for {
		switch {
		case leading:
			next, err := r.kv.Update(ctx, leaderKey, []byte(r.name), rev)
			if err == nil {
				rev = next
				break
			}
			if ctx.Err() != nil {
				break
			}
			r.log.Warn("lost the lease: following", "err", err)
			leading = false
			r.leader.Store(false)
			start(follow)
		default:
			next, err := r.kv.Create(ctx, leaderKey, []byte(r.name))
			if err == nil {
				r.log.Info("leading: publishing outcomes and running the deadline scheduler")
				rev, leading = next, true
				r.leader.Store(true)
				start(lead)
				break
			}
			if cancel == nil { // the first round
				if !errors.Is(err, jetstream.ErrKeyExists) {
					r.log.Warn("take the lease", "err", err)
				}
				r.log.Info("following the leader")
				start(follow)
			}
		}
		select {
		case <-ctx.Done():
			stop()
			if leading {
				r.leader.Store(false)
				rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				// Hand over at once rather than after the TTL.
				if err := r.kv.Delete(rctx, leaderKey, jetstream.LastRevision(rev)); err != nil {
					r.log.Warn("release the lease", "err", err)
				}
				rcancel()
			}
			return nil
		case <-tick.C:
		}
	}
}

// SetPublished records, as the leader, that outcomes are published up to
// the stream sequence seq (the relay's OnMark hook).
func (r *Replica) SetPublished(ctx context.Context, seq uint64) error {
	if !r.leader.Load() {
		return nil
	}
	if _, err := r.kv.Put(ctx, publishedKey, strconv.AppendUint(nil, seq, 10)); err != nil {
		return fmt.Errorf("events: record published outcomes: %w", err)
	}
	return nil
}

// Published returns how far the leader has published outcomes; 0 when it
// has recorded nothing within the lease's TTL.
func (r *Replica) Published(ctx context.Context) (uint64, error) {
	e, err := r.kv.Get(ctx, publishedKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("events: read published outcomes: %w", err)
	}
	seq, err := strconv.ParseUint(string(e.Value()), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("events: published outcomes %q: %w", e.Value(), err)
	}
	return seq, nil
}

// FollowOutbox is what a follower marks: a store's outbox and how far it
// has applied the stream (store.DB satisfies it).
type FollowOutbox interface {
	MarkPublished(ctx context.Context, upTo uint64) error
	AppliedSeq() (uint64, error)
}

// Follow marks in ob, every interval until ctx ends, the outcomes the
// leader has published that ob has applied: the follow function of Run.
func (r *Replica) Follow(ctx context.Context, ob FollowOutbox, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var marked uint64
	for {
		published, err := r.Published(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("follow the leader's outcomes", "err", err)
		}
		applied, err := ob.AppliedSeq()
		if err != nil {
			r.log.Warn("follow the leader's outcomes", "err", err)
		}
		if upTo := min(published, applied); upTo > marked && ctx.Err() == nil {
			if err := ob.MarkPublished(ctx, upTo); err != nil {
				r.log.Warn("mark the leader's outcomes published", "up_to", upTo, "err", err)
			} else {
				marked = upTo
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
