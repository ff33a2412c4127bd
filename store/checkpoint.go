package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/hoso-vn/hoso/workflow"
)

// A checkpoint (workflow.Checkpoint) commits to what the store had applied
// up to a stream sequence N, in a form that can be recomputed later from a
// store that has applied more since:
//
// HeadsRoot is the Merkle tree hash of RFC 6962 (section 2.1) over one
// leaf per dossier that has at least one history entry applied at or
// before N, in code order (bytewise). A dossier's history as of N is the
// longest prefix of its entries, in index order, whose stream sequences
// (HistoryEntry.Seq) are all at most N; its leaf data is
//
//	uint32 big-endian length of the code, the code's bytes,
//	uint64 big-endian number of entries in that prefix,
//	the 32-byte Hash of the prefix's last entry
//
// A leaf's hash is SHA-256(0x00 || leaf data), an inner node's
// SHA-256(0x01 || left || right), the root of no leaves SHA-256 of nothing.
//
// RejectionsDigest is SHA-256 over the text "hoso-checkpoint-rejections-v1"
// followed by every rejection and status mismatch recorded at a stream
// sequence at most N, in sequence order (a rejection before a mismatch of
// the same sequence), each as
//
//	one byte 'r' (rejection) or 'm' (mismatch),
//	uint64 big-endian sequence,
//	uint64 big-endian length of the stored record, the stored record
//
// where the stored record is the value of the rejections or mismatches
// bucket (codec.go). A store that only appended after N gives the same
// HeadsRoot and RejectionsDigest as of N; rewriting, removing or adding
// an entry, a rejection or a mismatch at or before N changes them.
//
// The root is over the hashes the entries carry: that each entry's hash
// matches its content and links to the one before is the chain check's
// (DB.Verify, DB.VerifyAll). An entry rewritten with its own hash
// recomputed and its successors re-linked passes the chain check, but
// changes the head of every prefix that includes it, so the root as of
// any checkpoint at or after it.

// ErrNotApplied is returned when a checkpoint is asked for as of a stream
// sequence the store has not applied yet.
var ErrNotApplied = errors.New("store: sequence not applied yet")

// rejectionsDomain starts the RejectionsDigest.
const rejectionsDomain = "hoso-checkpoint-rejections-v1"

// Checkpoint returns the checkpoint of the store at its applied sequence,
// read in one transaction: the applied sequence, the store's schema
// version, the state hash, and the heads root, dossier count and
// rejections digest as of that sequence.
func (db *DB) Checkpoint(ctx context.Context) (workflow.Checkpoint, error) {
	var cp workflow.Checkpoint
	err := db.view(ctx, func(b *buckets) error {
		applied, err := appliedSeq(b.meta)
		if err != nil {
			return err
		}
		cps, err := checkpointsAt(ctx, b, []uint64{applied})
		if err != nil {
			return err
		}
		cp = cps[0]
		cp.StateHash, err = stateHash(ctx, b)
		return err
	})
	if err != nil {
		return cp, fmt.Errorf("checkpoint: %w", err)
	}
	return cp, nil
}

// CheckpointsAt recomputes, in one read transaction and one walk of the
// histories, the checkpoints as of each of the stream sequences seqs, in
// the order given, from the store as it is now: what an auditor compares
// with checkpoints published earlier. Schema is the store's schema
// version, as now: a checkpoint signed under another schema is not
// comparable with them. StateHash is set only for a
// sequence equal to the applied one; the state at an earlier sequence is
// not kept. A sequence past the applied one is an error wrapping
// ErrNotApplied, and applied is returned with it.
func (db *DB) CheckpointsAt(ctx context.Context, seqs []uint64) (cps []workflow.Checkpoint, applied uint64, err error) {
	err = db.view(ctx, func(b *buckets) error {
		if applied, err = appliedSeq(b.meta); err != nil {
			return err
		}
		sorted := slices.Clone(seqs)
		slices.Sort(sorted)
		sorted = slices.Compact(sorted)
		if len(sorted) > 0 && sorted[len(sorted)-1] > applied {
			return fmt.Errorf("%w: asked as of %d, applied %d", ErrNotApplied, sorted[len(sorted)-1], applied)
		}
		got, err := checkpointsAt(ctx, b, sorted)
		if err != nil {
			return err
		}
		cps = make([]workflow.Checkpoint, len(seqs))
		for i, s := range seqs {
			j, _ := slices.BinarySearch(sorted, s)
			cps[i] = got[j]
		}
		if slices.Contains(seqs, applied) {
			h, err := stateHash(ctx, b)
			if err != nil {
				return err
			}
			for i := range cps {
				if cps[i].Seq == applied {
					cps[i].StateHash = h
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, applied, fmt.Errorf("checkpoints as of %v: %w", seqs, err)
	}
	return cps, applied, nil
}

// headEntry is what a checkpoint reads of a history entry.
type headEntry struct {
	seq  uint64
	hash workflow.Hash
}

// checkpointsAt computes the checkpoints as of seqs, which are sorted
// ascending without repeats, in the transaction of b, each of the schema
// this build writes (the only one Open accepts). StateHash is left zero.
func checkpointsAt(ctx context.Context, b *buckets, seqs []uint64) ([]workflow.Checkpoint, error) {
	cps := make([]workflow.Checkpoint, len(seqs))
	trees := make([]merkle, len(seqs))
	var (
		code    []byte      // of the dossier being read
		entries []headEntry // its entries, in index order
		leaf    []byte      // leaf data, reused
		n       int         // keys read, for the context checks
	)
	flush := func() {
		if len(entries) == 0 {
			return
		}
		// The prefix as of seqs[i] grows with i: p entries lead with
		// sequences at most seqs[i]. A leaf repeated from the previous
		// sequence is not hashed again.
		p, lastP := 0, -1
		var lh workflow.Hash
		for i, s := range seqs {
			for p < len(entries) && entries[p].seq <= s {
				p++
			}
			if p == 0 {
				continue
			}
			if p != lastP {
				leaf = binary.BigEndian.AppendUint32(leaf[:0], uint32(len(code)))
				leaf = append(leaf, code...)
				leaf = binary.BigEndian.AppendUint64(leaf, uint64(p))
				leaf = append(leaf, entries[p-1].hash[:]...)
				lh = leafHash(leaf)
				lastP = p
			}
			trees[i].push(lh)
			cps[i].Dossiers++
		}
		entries = entries[:0]
	}
	// One leaf per dossier in code order: the dossiers bucket's, each
	// dossier's entries found by the id its record holds.
	dc, hc := b.dossiers.Cursor(), b.history.Cursor()
	for dk, dv := dc.First(); dk != nil; dk, dv = dc.Next() {
		id, err := dossierIDOf(dv)
		if err != nil {
			return nil, fmt.Errorf("dossier %q: %w", dk, err)
		}
		code = append(code[:0], dk...)
		prefix := historyPrefix(id)
		for k, v := hc.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = hc.Next() {
			if n++; n%ctxEvery == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			e, err := readHeadEntry(v)
			if err != nil {
				return nil, fmt.Errorf("history of %q: entry %d: %w", code, len(entries), err)
			}
			entries = append(entries, e)
		}
		flush()
	}
	flush()
	for i := range cps {
		cps[i].Seq = seqs[i]
		cps[i].Schema = schemaVersion
		cps[i].HeadsRoot = trees[i].root()
	}
	if err := rejectionsDigests(ctx, b, seqs, cps); err != nil {
		return nil, err
	}
	return cps, nil
}

// readHeadEntry reads the sequence and the hash of a stored history
// entry (appendEntry): the sequence follows the version, the hash ends
// the record.
func readHeadEntry(v []byte) (headEntry, error) {
	var e headEntry
	if len(v) < 2+len(e.hash) || v[0] != recordVersion {
		return e, fmt.Errorf("%w: not a history entry of version %d", errBadRecord, recordVersion)
	}
	seq, n := binary.Uvarint(v[1:])
	if n <= 0 || 1+n > len(v)-len(e.hash) {
		return e, fmt.Errorf("%w: bad sequence", errBadRecord)
	}
	e.seq = seq
	copy(e.hash[:], v[len(v)-len(e.hash):])
	return e, nil
}

// rejectionsDigests sets the RejectionsDigest of each of cps, whose
// sequences seqs are sorted ascending, in one walk of the rejections and
// mismatches.
func rejectionsDigests(ctx context.Context, b *buckets, seqs []uint64, cps []workflow.Checkpoint) error {
	h := sha256.New()
	h.Write([]byte(rejectionsDomain))
	rc, mc := b.rejections.Cursor(), b.mismatches.Cursor()
	rk, rv := rc.First()
	mk, mv := mc.First()
	i, n := 0, 0
	var row []byte
	for rk != nil || mk != nil {
		if n++; n%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var (
			tag  byte
			k, v []byte
		)
		if mk == nil || (rk != nil && bytes.Compare(rk, mk) <= 0) {
			tag, k, v = 'r', rk, rv
			rk, rv = rc.Next()
		} else {
			tag, k, v = 'm', mk, mv
			mk, mv = mc.Next()
		}
		if len(k) != 8 {
			return fmt.Errorf("%c row: %w: key %x is not a sequence", tag, errBadRecord, k)
		}
		seq := seqOf(k)
		for i < len(seqs) && seq > seqs[i] {
			h.Sum(cps[i].RejectionsDigest[:0])
			i++
		}
		if i == len(seqs) {
			return nil
		}
		row = append(append(row[:0], tag), k...)
		row = binary.BigEndian.AppendUint64(row, uint64(len(v)))
		h.Write(row)
		h.Write(v)
	}
	for ; i < len(seqs); i++ {
		h.Sum(cps[i].RejectionsDigest[:0])
	}
	return nil
}

// merkle computes the RFC 6962 Merkle tree hash of a sequence of leaves
// pushed one at a time, keeping only the roots of the complete subtrees
// on the right edge (one per bit of the number of leaves).
type merkle struct {
	stack []merkleNode
}

type merkleNode struct {
	hash   workflow.Hash
	leaves uint64 // a power of two
}

// push adds the next leaf, by its leaf hash.
func (m *merkle) push(leaf workflow.Hash) {
	m.stack = append(m.stack, merkleNode{leaf, 1})
	for len(m.stack) >= 2 {
		l, r := m.stack[len(m.stack)-2], m.stack[len(m.stack)-1]
		if l.leaves != r.leaves {
			break
		}
		m.stack = m.stack[:len(m.stack)-2]
		m.stack = append(m.stack, merkleNode{nodeHash(l.hash, r.hash), l.leaves * 2})
	}
}

// root returns the tree hash of the leaves pushed: the complete subtrees
// joined right to left, as RFC 6962's recursive split (the largest power
// of two on the left) does.
func (m *merkle) root() workflow.Hash {
	if len(m.stack) == 0 {
		return sha256.Sum256(nil)
	}
	r := m.stack[len(m.stack)-1].hash
	for i := len(m.stack) - 2; i >= 0; i-- {
		r = nodeHash(m.stack[i].hash, r)
	}
	return r
}

// leafHash returns SHA-256(0x00 || data).
func leafHash(data []byte) workflow.Hash {
	return prefixedHash(0x00, data)
}

// nodeHash returns SHA-256(0x01 || left || right).
func nodeHash(l, r workflow.Hash) workflow.Hash {
	var b [64]byte
	copy(b[:32], l[:])
	copy(b[32:], r[:])
	return prefixedHash(0x01, b[:])
}

// prefixedHash returns SHA-256(prefix || data), hashing one buffer (on
// the stack for any leaf of a code up to maxKeyPart bytes).
func prefixedHash(prefix byte, data []byte) workflow.Hash {
	var buf [1 + 4 + maxKeyPart + 8 + 32]byte
	return sha256.Sum256(append(append(buf[:0], prefix), data...))
}
