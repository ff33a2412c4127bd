package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/workflow"
)

// Dossiers of the outbox tests besides code1.
const (
	outboxCode2 = "000.00.12.H57-250804-0102"
	outboxCode3 = "000.00.12.H57-250804-0103"
)

// pendingSeqs returns the sequences PendingOutcomes(after, max) returns.
func pendingSeqs(t *testing.T, db *DB, after uint64, max int) []uint64 {
	t.Helper()
	out, err := db.PendingOutcomes(context.Background(), after, max)
	if err != nil {
		t.Fatalf("PendingOutcomes(%d, %d) = %v", after, max, err)
	}
	var seqs []uint64
	for _, o := range out {
		seqs = append(seqs, o.Seq)
	}
	return seqs
}

// TestOutboxChunks: a batch's outcomes are one chunk; MarkPublished can
// stop inside a chunk, and what it leaves is exactly the outcomes above.
func TestOutboxChunks(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	all := h.apply(h.envelopes(standardFlow(code1, 0)...)).Outcomes // seqs 1..5, one chunk
	all = append(all, h.apply(h.envelopes(standardFlow(outboxCode2, 10)...)).Outcomes...)
	if len(all) != 10 {
		t.Fatalf("two batches of 5 gave %d outcomes", len(all))
	}
	got, err := h.db.PendingOutcomes(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(all, got); diff != "" {
		t.Errorf("PendingOutcomes differs from what Apply returned (-apply +outbox):\n%s", diff)
	}

	for _, tt := range []struct {
		after uint64
		max   int
		want  []uint64
	}{
		{0, 3, []uint64{1, 2, 3}},
		{3, 4, []uint64{4, 5, 6, 7}}, // across the two chunks
		{5, 0, []uint64{6, 7, 8, 9, 10}},
		{9, 5, []uint64{10}},
		{10, 5, nil},
	} {
		if got := pendingSeqs(t, h.db, tt.after, tt.max); !slices.Equal(got, tt.want) {
			t.Errorf("PendingOutcomes(%d, %d) = %v, want %v", tt.after, tt.max, got, tt.want)
		}
	}

	for _, tt := range []struct {
		upTo uint64
		left []uint64
	}{
		{2, []uint64{3, 4, 5, 6, 7, 8, 9, 10}}, // inside the first chunk
		{2, []uint64{3, 4, 5, 6, 7, 8, 9, 10}}, // again: nothing to do
		{4, []uint64{5, 6, 7, 8, 9, 10}},       // inside what is left of it
		{7, []uint64{8, 9, 10}},                // the first chunk whole, into the second
		{10, nil},
		{12, nil},
	} {
		if err := h.db.MarkPublished(ctx, tt.upTo); err != nil {
			t.Fatalf("MarkPublished(%d) = %v", tt.upTo, err)
		}
		if got := pendingSeqs(t, h.db, 0, 0); !slices.Equal(got, tt.left) {
			t.Errorf("after MarkPublished(%d): pending %v, want %v", tt.upTo, got, tt.left)
		}
		if n, err := h.db.OutboxLen(); n != len(tt.left) || err != nil {
			t.Errorf("after MarkPublished(%d): OutboxLen() = %d, %v; want %d", tt.upTo, n, err, len(tt.left))
		}
		if err := h.db.Close(); err != nil {
			t.Fatal(err)
		}
		checkFile(t, h.path, h.cat, true) // the chunk left behind is well formed and counted
		h.open()
	}
}

// TestOutboxMalformedChunk: a chunk that does not parse is an error of
// PendingOutcomes and MarkPublished, not a panic or a silent skip.
func TestOutboxMalformedChunk(t *testing.T) {
	for name, chunk := range map[string][]byte{
		"empty":          {},
		"version":        {chunkVersion + 1},
		"cut sequence":   {chunkVersion, 0x80},
		"length too big": {chunkVersion, 1, 50, 1, 2, 3},
	} {
		t.Run(name, func(t *testing.T) {
			h := tamperedHarness(t, func(b *buckets) error { return b.outbox.Put(seqKey(1), chunk) })
			if _, err := h.db.PendingOutcomes(context.Background(), 0, 0); !errors.Is(err, errChunk) {
				t.Errorf("PendingOutcomes = %v, want errChunk", err)
			}
			if err := h.db.MarkPublished(context.Background(), 1); !errors.Is(err, errChunk) {
				t.Errorf("MarkPublished = %v, want errChunk", err)
			}
		})
	}
}

// FuzzChunk: the chunk reader never panics nor reads past the chunk, and
// publishedPrefix counts the leading entries at or below upTo.
func FuzzChunk(f *testing.F) {
	o := workflow.Outcome{Kind: workflow.OutcomeAccepted, Seq: 7, Dossier: code1}
	c, _ := appendChunkOutcome([]byte{chunkVersion}, nil, &o)
	o.Seq = 9
	c, _ = appendChunkOutcome(c, nil, &o)
	f.Add(c, uint64(7))
	f.Add([]byte{chunkVersion}, uint64(0))
	f.Fuzz(func(t *testing.T, c []byte, upTo uint64) {
		var (
			n      int64
			end    = 1
			inside = true // still in the leading entries at or below upTo
		)
		r := newChunkReader(c)
		for r.next() {
			if r.off > len(c) {
				t.Fatalf("entry ends at %d, past the chunk of %d", r.off, len(c))
			}
			if inside = inside && r.seq <= upTo; inside {
				n, end = n+1, r.off
			}
		}
		if r.err != nil && !errors.Is(r.err, errChunk) {
			t.Fatalf("error %v does not wrap errChunk", r.err)
		}
		pn, pend, err := publishedPrefix(c, upTo)
		if r.err == nil && (err != nil || pn != n || pend != end) {
			t.Fatalf("publishedPrefix(%d) = %d, %d, %v; the reader counts %d, %d", upTo, pn, pend, err, n, end)
		}
	})
}

// previousOutboxChunk is an outbox chunk as the build before entry hashes
// wrote it: one accepted outcome (seq 42, history index 2) without one.
const previousOutboxChunk = "012a64010861636365707465642a04652d3432077461796e696e68193030302e30302e31322e4835372d3235303830342d30303031087472616e73666572080ec490616e672078e1bbad206cc3bd08000000000305a0ec938a0de089030405909a80890de08903"

// TestOutboxOfPreviousVersion checks that an outcome the previous build
// left in the outbox still decodes, without an entry hash, and is
// pending as any other; and that the new encoding of an outcome without
// a hash is the previous one.
func TestOutboxOfPreviousVersion(t *testing.T) {
	old, err := hex.DecodeString(previousOutboxChunk)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, nil)
	h.seq = 41
	h.apply(h.envelopes(standardFlow(code1, 0)[0]))
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	tamper(t, h.path, func(b *buckets) error { return b.outbox.Put(seqKey(42), old) })
	h.open()
	got, err := h.db.PendingOutcomes(context.Background(), 0, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("PendingOutcomes = %+v, %v; want the previous build's outcome", got, err)
	}
	o := got[0]
	if o.Seq != 42 || o.Kind != workflow.OutcomeAccepted || o.HistoryIndex == nil || *o.HistoryIndex != 2 || o.EntryHash != nil {
		t.Errorf("previous outcome decodes as %+v", o)
	}
	if js, err := json.Marshal(&o); err != nil || bytes.Contains(js, []byte("entry_hash")) {
		t.Errorf("previous outcome publishes as %s, %v; want no entry_hash", js, err)
	}
	again, _ := appendChunkOutcome([]byte{chunkVersion}, nil, &o)
	if !bytes.Equal(again, old) {
		t.Errorf("an outcome without hash encodes as % x, the previous build wrote % x", again, old)
	}
	hash := workflow.Hash{1, 2, 3}
	o.EntryHash = &hash
	var back workflow.Outcome
	r := newChunkReader(func() []byte { c, _ := appendChunkOutcome([]byte{chunkVersion}, nil, &o); return c }())
	if !r.next() || decodeOutcome(r.record, &back) != nil || back.EntryHash == nil || *back.EntryHash != hash {
		t.Errorf("an outcome with hash reads back as %+v", back)
	}
}
