package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/hoso-vn/hoso/workflow"
)

// The outbox keeps the outcomes of one Apply as one record, a chunk, under
// the stream sequence of its last outcome: a batch puts one key rather
// than one per event, and MarkPublished deletes one key per batch. Chunks
// hold disjoint, increasing ranges of sequences, so key order is
// sequence order, and the first chunk whose key is at or above a
// sequence is the one that may hold it.
//
//	chunk:   chunkVersion, then entries up to the end
//	entry:   seq(uvarint) length(uvarint) outcome record (codec.go)
//
// The seq of each entry repeats the one in its record, so that
// MarkPublished and PendingOutcomes skip published entries without
// decoding them.

// chunkVersion is the format version that starts every outbox chunk.
const chunkVersion = 1

// outboxPerOutcome is the bytes of chunk reserved per envelope of a batch;
// an outcome record is about 150 to 250.
const outboxPerOutcome = 256

// errChunk is returned for an outbox chunk that does not parse.
var errChunk = errors.New("outbox chunk is malformed")

// appendChunkOutcome appends the entry of o to the chunk c, using
// scratch (returned grown) to encode the record before its length is known.
func appendChunkOutcome(c, scratch []byte, o *workflow.Outcome) (chunk, grown []byte) {
	scratch = appendOutcome(scratch[:0], o)
	c = binary.AppendUvarint(c, o.Seq)
	c = binary.AppendUvarint(c, uint64(len(scratch)))
	return append(c, scratch...), scratch
}

// chunkReader walks the entries of a chunk in order, as bufio.Scanner
// walks lines:
//
//	r := newChunkReader(v)
//	for r.next() {
//		... r.seq, r.record
//	}
//	if r.err != nil { ... }
type chunkReader struct {
	c      []byte
	off    int    // offset just past the current entry
	seq    uint64 // of the current entry
	record []byte // of the current entry: its outcome record, bbolt's memory when read from a bucket
	err    error
}

func newChunkReader(c []byte) *chunkReader {
	r := &chunkReader{c: c, off: 1}
	if len(c) == 0 || c[0] != chunkVersion {
		r.err = fmt.Errorf("%w: format version %v, want %d", errChunk, c[:min(len(c), 1)], chunkVersion)
	}
	return r
}

// next moves to the next entry; false at the end of the chunk or on an
// error, which r.err then holds.
func (r *chunkReader) next() bool {
	if r.err != nil || r.off == len(r.c) {
		return false
	}
	seq, n := binary.Uvarint(r.c[r.off:])
	if n <= 0 {
		r.err = fmt.Errorf("%w: entry at %d: bad sequence", errChunk, r.off)
		return false
	}
	at := r.off + n
	size, n := binary.Uvarint(r.c[at:])
	if n <= 0 || size > uint64(len(r.c)-at-n) {
		r.err = fmt.Errorf("%w: entry at %d: bad length", errChunk, r.off)
		return false
	}
	at += n
	r.seq, r.record, r.off = seq, r.c[at:at+int(size)], at+int(size)
	return true
}

// publishedPrefix returns how many leading entries of chunk c have a
// sequence at or below upTo, and the offset just past them.
func publishedPrefix(c []byte, upTo uint64) (n int64, end int, err error) {
	r := newChunkReader(c)
	end = 1
	for r.next() && r.seq <= upTo {
		n, end = n+1, r.off
	}
	return n, end, r.err
}

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
			r := newChunkReader(v)
			for len(list) < max && r.next() {
				if r.seq <= after {
					continue
				}
				var o workflow.Outcome
				if err := decodeOutcome(r.record, &o); err != nil {
					return fmt.Errorf("outcome %d: %w", r.seq, err)
				}
				list = append(list, o)
			}
			if r.err != nil {
				return fmt.Errorf("chunk %d: %w", seqOf(k), r.err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pending outcomes: %w", err)
	}
	return list, nil
}

// MarkPublished removes the outcomes with a stream sequence up to upTo
// from the outbox, in a transaction of its own: the chunks that end at or
// below it, and the leading entries of the chunk it falls in.
func (db *DB) MarkPublished(ctx context.Context, upTo uint64) error {
	err := db.update(ctx, func(b *buckets) error {
		// The keys first, then the deletes: Next after Cursor.Delete can
		// skip a key (etcd-io/bbolt#146).
		var (
			gone    [][]byte // keys of the chunks published whole
			removed int64
			rest    []byte // the chunk upTo falls in, without its published entries
			restKey []byte
		)
		c := b.outbox.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			n, end, err := publishedPrefix(v, upTo)
			if err != nil {
				return fmt.Errorf("chunk %d: %w", seqOf(k), err)
			}
			removed += n
			if seqOf(k) <= upTo {
				gone = append(gone, bytes.Clone(k))
				continue
			}
			if n > 0 {
				restKey = bytes.Clone(k)
				rest = append([]byte{chunkVersion}, v[end:]...)
			}
			break
		}
		if removed == 0 {
			return nil
		}
		for _, k := range gone {
			if err := b.outbox.Delete(k); err != nil {
				return err
			}
		}
		if rest != nil {
			if err := b.outbox.Put(restKey, rest); err != nil {
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
