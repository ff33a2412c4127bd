package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.etcd.io/bbolt"

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

// TestOpenUpgradesSchema3: a file of schema 3 (one outcome per outbox key)
// opens as schema 4 with the same pending outcomes and state hash, and
// Inspect reads it before the upgrade.
func TestOpenUpgradesSchema3(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.apply(h.envelopes(standardFlow(code1, 0)...))
	h.apply(h.envelopes(standardFlow(outboxCode2, 10)...))
	if err := h.db.MarkPublished(ctx, 2); err != nil {
		t.Fatal(err)
	}
	want, err := h.db.PendingOutcomes(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	before := h.snapshot()
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	liveInfo, err := Inspect(ctx, h.path)
	if err != nil {
		t.Fatal(err)
	}

	// Write the outbox as schema 3 did.
	tamper(t, h.path, func(b *buckets) error {
		if err := b.tx.DeleteBucket([]byte(bucketOutbox)); err != nil {
			return err
		}
		ob, err := b.tx.CreateBucket([]byte(bucketOutbox))
		if err != nil {
			return err
		}
		for i := range want {
			if err := ob.Put(seqKey(want[i].Seq), appendOutcome(nil, &want[i])); err != nil {
				return err
			}
		}
		return b.meta.Put([]byte(metaSchema), encodeUint64(3))
	})
	oldInfo, err := Inspect(ctx, h.path)
	if err != nil {
		t.Fatalf("Inspect(schema 3) = %v", err)
	}
	if oldInfo.Schema != 3 || oldInfo.AppliedSeq != liveInfo.AppliedSeq {
		t.Errorf("Inspect(schema 3) = %+v, want schema 3 at the applied seq of %+v", oldInfo, liveInfo)
	}

	h.open()
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	if upgraded, err := Inspect(ctx, h.path); err != nil || upgraded != liveInfo {
		t.Errorf("Inspect after the upgrade = %+v, %v; want %+v, as before the downgrade", upgraded, err, liveInfo)
	}
	h.open()
	if diff := cmp.Diff(before, h.snapshot()); diff != "" {
		t.Errorf("the upgrade changed the store (-before +after):\n%s", diff)
	}
	if err := h.db.bolt.View(func(tx *bbolt.Tx) error {
		if v, _ := decodeUint64(tx.Bucket([]byte(bucketMeta)).Get([]byte(metaSchema))); v != schemaVersion {
			t.Errorf("schema after the upgrade = %d, want %d", v, schemaVersion)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The upgraded outbox goes on as any other.
	h.apply(h.envelopes(standardFlow(outboxCode3, 20)...))
	if err := h.db.MarkPublished(ctx, 12); err != nil {
		t.Fatal(err)
	}
	if got := pendingSeqs(t, h.db, 0, 0); !slices.Equal(got, []uint64{13, 14, 15}) {
		t.Errorf("pending after the upgrade and a batch: %v, want 13..15", got)
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

// TestOpenUpgradesSchema4: a file of schema 4 (no online flag on the
// dossiers, counter rows without online receipts) opens as schema 5 with
// the dossiers submitted online flagged and counted: the same dossiers,
// counters and state hash as a store built by this version, and one
// that passes the invariant check.
func TestOpenUpgradesSchema4(t *testing.T) {
	cat := sectorCatalog(t)
	h := newHarness(t, cat)
	ctx := context.Background()
	// Every flow, online and at the desk, with rejections and mismatches.
	r := rand.New(rand.NewPCG(4, 2025))
	known, _ := knownStream(r, 600)
	applyRandomBatches(t, h, r, h.envelopes(known...), true)
	applyRandomBatches(t, h, r, h.envelopes(randomStream(r, 600)...), false)
	const online1, online2 = "000.00.12.H57-250804-0101", "000.00.12.H57-250804-0102"
	h.apply(h.envelopes(standardFlow(code1, 0)...)) // received at the desk
	h.apply(h.envelopes(
		event("o1/1", "submit", online1, 0),
		event("o1/2", "receive", online1, 60, due(t0.AddDate(0, 0, 10))),
		event("o2/1", "submit", online2, 0), // submitted, not yet received
	))
	before := h.snapshot()
	online := map[string]bool{}
	for _, d := range before.Dossiers {
		online[d.Code] = d.Online
	}
	if !online[online1] || !online[online2] || online[code1] {
		t.Fatalf("online flags %v: want %s and %s online, %s not", online, online1, online2, code1)
	}
	stats, err := h.db.Stats(ctx, workflow.StatsQuery{})
	if err != nil || stats.Total.ReceivedOnline == 0 || stats.Total.ReceivedOnline >= stats.Total.Received {
		t.Fatalf("Stats = %+v, %v; want some but not all receipts online", stats.Total, err)
	}
	feedback, err := h.db.Stats(ctx, workflow.StatsQuery{Kind: workflow.KindFeedback})
	if err != nil || feedback.Total.Received == 0 {
		t.Fatalf("feedback Stats = %+v, %v; want feedback in the stream", feedback.Total, err)
	}
	_, hash, err := h.db.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}

	// Write the dossiers and counter rows as schema 4 did.
	tamper(t, h.path, func(b *buckets) error {
		var codes [][]byte
		if err := b.dossiers.ForEach(func(k, _ []byte) error { codes = append(codes, bytes.Clone(k)); return nil }); err != nil {
			return err
		}
		for _, k := range codes {
			var d workflow.Dossier
			if err := decodeDossier(b.dossiers.Get(k), &d); err != nil {
				return err
			}
			d.Online = false
			if err := b.dossiers.Put(k, appendDossier(nil, &d)); err != nil {
				return err
			}
		}
		for _, bk := range []*bbolt.Bucket{b.stats, b.gauges} {
			rows := map[string][]byte{}
			if err := bk.ForEach(func(k, v []byte) error { rows[string(k)] = bytes.Clone(v); return nil }); err != nil {
				return err
			}
			for k, v := range rows {
				tl, err := decodeTally(v)
				if err != nil {
					return err
				}
				tl.ReceivedOnline = 0
				if err := bk.Put([]byte(k), encodeTally(&tl)[:8*18]); err != nil { // the 18 counters of schema 4
					return err
				}
			}
		}
		return b.meta.Put([]byte(metaSchema), encodeUint64(4))
	})
	if info, err := Inspect(ctx, h.path); err != nil || info.Schema != 4 {
		t.Fatalf("Inspect(schema 4) = %+v, %v", info, err)
	}

	h.open()
	if diff := cmp.Diff(before, h.snapshot()); diff != "" {
		t.Errorf("the upgrade did not restore the store (-built +upgraded):\n%s", diff)
	}
	if got, err := h.db.Stats(ctx, workflow.StatsQuery{By: workflow.ByMonth}); err != nil || got.Total != stats.Total {
		t.Errorf("Stats after the upgrade = %+v, %v; want %+v", got.Total, err, stats.Total)
	}
	if _, got, err := h.db.State(ctx); err != nil || got != hash {
		t.Errorf("state hash after the upgrade %s, %v; want %s, that of the store as built", got, err, hash)
	}
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	checkFile(t, h.path, h.cat, true)
	h.open()
	// The upgraded store goes on as any other.
	h.apply(h.envelopes(event("o2/2", "receive", online2, 120, due(t0.AddDate(0, 0, 10)))))
	if got, err := h.db.Stats(ctx, workflow.StatsQuery{}); err != nil || got.Total.ReceivedOnline != stats.Total.ReceivedOnline+1 {
		t.Errorf("online receipts after a receipt on the upgraded store = %+v, %v; want %d", got.Total, err, stats.Total.ReceivedOnline+1)
	}
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
