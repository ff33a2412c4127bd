package store

import (
	"context"
	"fmt"

	"github.com/hoso-vn/hoso/workflow"
)

// PendingOutcomes returns up to max outcomes of the outbox with a stream
// sequence above after, in ascending order. max <= 0 means MaxLimit.
//
// The outbox holds the outcome of every applied message until
// MarkPublished removes it: a relay publishes what PendingOutcomes
// returns (with Outcome.MsgID as Nats-Msg-Id, so that a retry after a
// crash is deduplicated downstream), then marks it published.
func (db *DB) PendingOutcomes(ctx context.Context, after uint64, max int) ([]workflow.Outcome, error) {
	if max <= 0 {
		max = MaxLimit
	}
	var list []workflow.Outcome
	err := db.view(ctx, func(b *buckets) error {
		c := b.outbox.Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(list) < max; k, v = c.Next() {
			var o workflow.Outcome
			if err := decodeOutcome(v, &o); err != nil {
				return fmt.Errorf("outcome %d: %w", seqOf(k), err)
			}
			list = append(list, o)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pending outcomes: %w", err)
	}
	return list, nil
}

// MarkPublished removes the outcomes with a stream sequence up to upTo
// from the outbox, in a transaction of its own.
func (db *DB) MarkPublished(ctx context.Context, upTo uint64) error {
	err := db.update(ctx, func(b *buckets) error {
		// The keys first, then the deletes: Next after Cursor.Delete can
		// skip a key (etcd-io/bbolt#146), and First after each Delete walks
		// the emptied leaves again and again.
		var keys []byte // 8-byte keys, back to back
		c := b.outbox.Cursor()
		for k, _ := c.First(); k != nil && seqOf(k) <= upTo; k, _ = c.Next() {
			keys = append(keys, k...)
		}
		removed := int64(len(keys) / 8)
		if removed == 0 {
			return nil
		}
		for i := 0; i < len(keys); i += 8 {
			if err := b.outbox.Delete(keys[i : i+8 : i+8]); err != nil {
				return err
			}
		}
		return deltas{countOutbox: -removed}.write(b.counts)
	})
	if err != nil {
		return fmt.Errorf("mark published up to %d: %w", upTo, err)
	}
	return nil
}

// OutboxLen returns how many outcomes wait in the outbox.
func (db *DB) OutboxLen() (int, error) {
	var n int
	err := db.view(context.Background(), func(b *buckets) error {
		var err error
		n, err = counter(b.counts, countOutbox)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("outbox length: %w", err)
	}
	return n, nil
}
