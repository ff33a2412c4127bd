package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/hoso-vn/hoso/workflow"
)

// StateHash returns a SHA-256 digest of the store's state: every bucket,
// key and value, in order, but for what depends on when outcomes were
// published rather than on the stream (the outbox and its counter). Two
// stores that applied the same stream with the same rules have the same
// state hash, whatever their batch sizes; it is how a rebuild or a replica
// proves it holds what the live store holds.
func (db *DB) StateHash(ctx context.Context) (workflow.Hash, error) {
	var out workflow.Hash
	err := db.view(ctx, func(b *buckets) error {
		var err error
		out, err = stateHash(ctx, b)
		return err
	})
	return out, err
}

// State returns the applied sequence and the state hash, read in one
// transaction so that the hash is that of the state at that sequence.
func (db *DB) State(ctx context.Context) (applied uint64, hash workflow.Hash, err error) {
	err = db.view(ctx, func(b *buckets) error {
		if applied, err = appliedSeq(b.meta); err != nil {
			return err
		}
		hash, err = stateHash(ctx, b)
		return err
	})
	return applied, hash, err
}

// stateHash computes StateHash in the transaction of b.
func stateHash(ctx context.Context, b *buckets) (workflow.Hash, error) {
	h := sha256.New()
	var n [8]byte
	write := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	err := func() error {
		for _, name := range slices.Sorted(slices.Values(allBuckets)) {
			if name == bucketOutbox {
				continue
			}
			bk := b.tx.Bucket([]byte(name))
			if bk == nil {
				continue
			}
			write([]byte(name))
			c := bk.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if name == bucketCounts && string(k) == countOutbox {
					continue
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				write(k)
				write(v)
			}
		}
		return nil
	}()
	var out workflow.Hash
	h.Sum(out[:0])
	return out, err
}
