package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/workflow"
)

// rfc6962Root is the Merkle tree hash of RFC 6962 section 2.1, written as
// the RFC's recursion.
func rfc6962Root(leaves [][]byte) workflow.Hash {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return sha256.Sum256(append([]byte{0}, leaves[0]...))
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := rfc6962Root(leaves[:k]), rfc6962Root(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

func TestMerkleRootIsRFC6962(t *testing.T) {
	for n := range 40 {
		var (
			leaves [][]byte
			m      merkle
		)
		for i := range n {
			d := fmt.Appendf(nil, "leaf %d", i)
			leaves = append(leaves, d)
			m.push(leafHash(d))
		}
		if got, want := m.root(), rfc6962Root(leaves); got != want {
			t.Errorf("root of %d leaves = %s, want %s", n, got, want)
		}
	}
	// The empty tree is SHA-256 of nothing (RFC 6962 section 2.1).
	var m merkle
	if got := m.root().String(); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("root of no leaves = %s", got)
	}
}

const (
	code2 = "000.00.12.H57-250804-0002"
	code3 = "000.00.12.H57-250804-0003"
	code4 = "000.00.12.H57-250804-0004"
)

// checkpointSeq is the sequence checkpointHarness takes its checkpoint at.
const checkpointSeq = 7

// checkpointHarness applies, one event a batch: code1 received, assigned
// and transferred (1–3), code2 received and assigned (4–5), an unreadable
// message (6, a rejection), code1 resolved claiming status 10 (7, a
// mismatch), and returns the checkpoint then; then code1 returned (8),
// code2 transferred, resolved and returned (9–11), code3 received and
// assigned (12–13), an unreadable message (14) and a return of code3
// claiming 10 (15, a rejection and a mismatch). The store is not checked
// when the test ends: tests change it behind its back.
func checkpointHarness(t *testing.T) (*harness, workflow.Checkpoint) {
	t.Helper()
	h := &harness{t: t, path: filepath.Join(t.TempDir(), "hoso.db"), cat: shippedCatalog(t)}
	h.open()
	t.Cleanup(func() { h.db.Close() })
	f1, f2, f3 := standardFlow(code1, 0), standardFlow(code2, 10), standardFlow(code3, 20)
	h.applyEach(f1[0], f1[1], f1[2], f2[0], f2[1])
	h.apply([]workflow.Envelope{h.codecRejection(workflow.ReasonMalformed, "")})
	f1[3].ClaimedStatus = workflow.StatusReturned
	h.applyEach(f1[3])
	cp, err := h.db.Checkpoint(context.Background())
	if err != nil || cp.Seq != checkpointSeq {
		t.Fatalf("Checkpoint() = %+v, %v; want seq %d", cp, err, checkpointSeq)
	}
	h.applyEach(f1[4], f2[2], f2[3], f2[4], f3[0], f3[1])
	h.apply([]workflow.Envelope{h.codecRejection(workflow.ReasonMalformed, "")})
	h.applyEach(event("late", "return", code3, 30, claims(workflow.StatusReturned)))
	return h, cp
}

func TestCheckpointOfAStore(t *testing.T) {
	h, cp := checkpointHarness(t)
	ctx := context.Background()
	// A checkpoint says which schema it was computed under (7 keys the
	// history by dossier id).
	if cp.Dossiers != 2 || cp.Schema != 7 || cp.StateHash.IsZero() || cp.HeadsRoot.IsZero() || cp.RejectionsDigest.IsZero() {
		t.Errorf("Checkpoint() at %d = %+v, want schema 7, 2 dossiers and every hash set", checkpointSeq, cp)
	}
	// The leaves by hand: code1 with its 4 entries up to 7, code2 with 2.
	var leaves [][]byte
	for _, c := range []struct {
		code string
		n    int
	}{{code1, 4}, {code2, 2}} {
		entries, err := h.db.History(ctx, c.code)
		if err != nil {
			t.Fatal(err)
		}
		leaf := fmt.Appendf(nil, "\x00\x00\x00%c%s\x00\x00\x00\x00\x00\x00\x00%c", len(c.code), c.code, c.n)
		leaves = append(leaves, append(leaf, entries[c.n-1].Hash[:]...))
	}
	if want := rfc6962Root(leaves); cp.HeadsRoot != want {
		t.Errorf("HeadsRoot = %s, want %s from the leaves of the recipe", cp.HeadsRoot, want)
	}

	now, err := h.db.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := h.db.StateHash(ctx)
	if err != nil || now.Seq != 15 || now.Dossiers != 3 || now.StateHash != st {
		t.Errorf("Checkpoint() at the end = %+v, %v; want seq 15, 3 dossiers, state hash %s", now, err, st)
	}
	// The digest by hand: the rejections of 6 and 14, then the rejection
	// and the mismatch of 15, each as tag, sequence, length, record; the
	// mismatch of 7 in its place.
	dh := sha256.New()
	dh.Write([]byte("hoso-checkpoint-rejections-v1"))
	if err := h.db.view(ctx, func(b *buckets) error {
		for _, row := range []struct {
			tag byte
			seq uint64
		}{{'r', 6}, {'m', 7}, {'r', 14}, {'r', 15}, {'m', 15}} {
			bk := b.rejections
			if row.tag == 'm' {
				bk = b.mismatches
			}
			v := bk.Get(seqKey(row.seq))
			if v == nil {
				return fmt.Errorf("no %c row %d", row.tag, row.seq)
			}
			dh.Write(append(append([]byte{row.tag}, seqKey(row.seq)...), seqKey(uint64(len(v)))...))
			dh.Write(v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := workflow.Hash(dh.Sum(nil)); now.RejectionsDigest != want {
		t.Errorf("RejectionsDigest at 15 = %s, want %s from the rows of the recipe", now.RejectionsDigest, want)
	}
	if now.HeadsRoot == cp.HeadsRoot || now.RejectionsDigest == cp.RejectionsDigest {
		t.Errorf("Checkpoint() at 15 = %+v, the same roots as at 7 %+v", now, cp)
	}

	// As of 7, from the store that applied up to 15: the same but for the
	// state hash, which is not kept. Repeats and any order are answered.
	got, applied, err := h.db.CheckpointsAt(ctx, []uint64{15, checkpointSeq, 12, checkpointSeq})
	if err != nil || applied != 15 || len(got) != 4 {
		t.Fatalf("CheckpointsAt(15, 7, 12, 7) = %+v, %d, %v", got, applied, err)
	}
	old := cp
	old.StateHash = workflow.Hash{}
	if diff := cmp.Diff([]workflow.Checkpoint{now, old, got[2], old}, got); diff != "" {
		t.Errorf("CheckpointsAt(15, 7, 12, 7) (-want +got):\n%s", diff)
	}
	if got[2].Seq != 12 || got[2].Schema != 7 || got[2].Dossiers != 3 || !got[2].StateHash.IsZero() {
		t.Errorf("CheckpointsAt(12) = %+v, want schema 7, 3 dossiers (code3 entered at 12) and no state hash", got[2])
	}
	one, _, err := h.db.CheckpointsAt(ctx, []uint64{12})
	if err != nil || one[0] != got[2] {
		t.Errorf("CheckpointsAt(12) alone = %+v, %v; want %+v as computed with others", one, err, got[2])
	}
	// Code3 has one entry as of 12: a leaf of its own.
	before, _, err := h.db.CheckpointsAt(ctx, []uint64{11})
	if err != nil || before[0].Dossiers != 2 || before[0].HeadsRoot == got[2].HeadsRoot {
		t.Errorf("CheckpointsAt(11) = %+v, %v; want 2 dossiers and a root other than at 12", before, err)
	}
}

func TestCheckpointsAtRefusesWhatIsNotApplied(t *testing.T) {
	h, _ := checkpointHarness(t)
	_, applied, err := h.db.CheckpointsAt(context.Background(), []uint64{3, 16})
	if !errors.Is(err, ErrNotApplied) || applied != 15 {
		t.Errorf("CheckpointsAt(3, 16) with 15 applied = %v, %d; want ErrNotApplied and 15", err, applied)
	}
	if _, _, err := h.db.CheckpointsAt(context.Background(), []uint64{15}); err != nil {
		t.Errorf("CheckpointsAt(15) with 15 applied = %v", err)
	}
}

func TestCheckpointOfAnEmptyStore(t *testing.T) {
	h := newHarness(t, nil)
	cp, err := h.db.Checkpoint(context.Background())
	empty := sha256.Sum256([]byte(rejectionsDomain))
	if err != nil || cp.Seq != 0 || cp.Dossiers != 0 || cp.HeadsRoot != sha256.Sum256(nil) || cp.RejectionsDigest != empty {
		t.Errorf("Checkpoint() of an empty store = %+v, %v", cp, err)
	}
}

// relink rewrites a dossier's history from the entry index on as a forger
// who knows the format would: edit changes the entry, every hash from it
// on is recomputed and linked to the one before, and the dossier's head is
// set to the new last hash, so that the chain check passes.
func relink(code string, index int, edit func(e *workflow.HistoryEntry)) func(b *buckets) error {
	return func(b *buckets) error {
		entries, err := b.historyOf(code)
		if err != nil {
			return err
		}
		edit(&entries[index])
		for i := index; i < len(entries); i++ {
			if i > 0 {
				entries[i].PrevHash = entries[i-1].Hash
			}
			entries[i].Hash = entries[i].ComputeHash()
			if err := b.history.Put(b.historyKeyOf(code, i), appendEntry(nil, &entries[i])); err != nil {
				return err
			}
		}
		d, err := b.dossier(code)
		if err != nil {
			return err
		}
		d.Head = entries[len(entries)-1].Hash
		return b.dossiers.Put([]byte(code), appendDossier(nil, b.idOf(code), d))
	}
}

// deleteDossier removes a dossier's record and history.
func deleteDossier(code string) func(b *buckets) error {
	return func(b *buckets) error {
		for i := 0; b.history.Get(b.historyKeyOf(code, i)) != nil; i++ {
			if err := b.history.Delete(b.historyKeyOf(code, i)); err != nil {
				return err
			}
		}
		return b.dossiers.Delete([]byte(code))
	}
}

// editRow changes a rejection's or mismatch's stored record.
func editRow(bucket string, seq uint64, edit func(v []byte) []byte) func(b *buckets) error {
	return func(b *buckets) error {
		bk := b.tx.Bucket([]byte(bucket))
		v := bk.Get(seqKey(seq))
		if v == nil {
			return fmt.Errorf("%s has no row %d", bucket, seq)
		}
		if nv := edit(append([]byte(nil), v...)); nv != nil {
			return bk.Put(seqKey(seq), nv)
		}
		return bk.Delete(seqKey(seq))
	}
}

func TestCheckpointNamesARewriteAtOrBeforeIt(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(b *buckets) error
		// atCheckpoint: the roots as of checkpointSeq change; the roots
		// as of the applied sequence change in every case.
		atCheckpoint bool
	}{
		{"status of an entry before, chain re-linked", relink(code1, 1, func(e *workflow.HistoryEntry) { e.ToStatus = workflow.StatusReceived }), true},
		{"entry applied exactly at the checkpoint, re-linked", relink(code1, 3, func(e *workflow.HistoryEntry) { e.Note = "đã sửa" }), true},
		{"entry applied after, re-linked", relink(code1, 4, func(e *workflow.HistoryEntry) { e.Actor = "canbo-99" }), false},
		{"entry moved past the checkpoint, re-linked", relink(code1, 2, func(e *workflow.HistoryEntry) { e.Seq = checkpointSeq + 1 }), true},
		{"dossier of before removed", deleteDossier(code2), true},
		{"dossier of after removed", deleteDossier(code3), false},
		{"dossier added as if applied before", func(b *buckets) error {
			// The record too: the history is found through the id it holds.
			e := workflow.HistoryEntry{Dossier: code4, Seq: 5, EventID: "x", Source: "tayninh", Action: "receive", To: "da_tiep_nhan", ToStatus: workflow.StatusReceived}
			e.Hash = e.ComputeHash()
			const id = 1000
			d := &workflow.Dossier{Code: code4, Source: "tayninh", Status: workflow.StatusReceived, History: 1, Head: e.Hash}
			if err := b.dossiers.Put([]byte(code4), appendDossier(nil, id, d)); err != nil {
				return err
			}
			return b.history.Put(historyKey(id, 0), appendEntry(nil, &e))
		}, true},
		{"rejection before changed", editRow(bucketRejections, 6, func(v []byte) []byte { v[len(v)-1] ^= 1; return v }), true},
		{"mismatch at the checkpoint removed", editRow(bucketMismatches, checkpointSeq, func([]byte) []byte { return nil }), true},
		{"rejection after removed", editRow(bucketRejections, 14, func([]byte) []byte { return nil }), false},
		{"mismatch after changed", editRow(bucketMismatches, 15, func(v []byte) []byte { v[len(v)-1] ^= 1; return v }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			h, _ := checkpointHarness(t)
			want, _, err := h.db.CheckpointsAt(ctx, []uint64{checkpointSeq, 15})
			if err != nil {
				t.Fatal(err)
			}
			if err := h.db.Close(); err != nil {
				t.Fatal(err)
			}
			tamper(t, h.path, tt.tamper)
			h.open()
			// The forger's chains pass the chain check: only the
			// checkpoint can tell.
			for _, code := range []string{code1, code2, code3} {
				if err := h.db.view(ctx, func(b *buckets) error {
					d, err := b.dossier(code)
					if errors.Is(err, workflow.ErrNotFound) {
						return nil
					}
					if err != nil {
						return err
					}
					entries, err := b.historyOf(code)
					if r := workflow.VerifyChain(d, entries); err != nil || !r.OK {
						t.Errorf("chain of %s after the rewrite = %+v, %v; want it to pass", code, r, err)
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			got, _, err := h.db.CheckpointsAt(ctx, []uint64{checkpointSeq, 15})
			if err != nil {
				t.Fatal(err)
			}
			changed := func(a, b workflow.Checkpoint) bool {
				return a.HeadsRoot != b.HeadsRoot || a.RejectionsDigest != b.RejectionsDigest || a.Dossiers != b.Dossiers
			}
			if changed(want[0], got[0]) != tt.atCheckpoint {
				t.Errorf("as of %d: before %+v, after %+v; want changed = %v", checkpointSeq, want[0], got[0], tt.atCheckpoint)
			}
			if !changed(want[1], got[1]) || want[1].StateHash == got[1].StateHash {
				t.Errorf("as of 15: before %+v, after %+v; want changed", want[1], got[1])
			}
		})
	}
}

func TestCheckpointOfAnUnreadableEntry(t *testing.T) {
	h, _ := checkpointHarness(t)
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	tamper(t, h.path, func(b *buckets) error { return b.history.Put(b.historyKeyOf(code2, 1), []byte{recordVersion, 0x80}) })
	h.open()
	if _, _, err := h.db.CheckpointsAt(context.Background(), []uint64{checkpointSeq}); !errors.Is(err, errBadRecord) {
		t.Errorf("CheckpointsAt over an unreadable entry = %v, want errBadRecord", err)
	}
}

// BenchmarkCheckpoint measures a checkpoint of a store of 100,000
// dossiers and 1,000,000 history entries (realisticStream), computed at
// the applied sequence (what the engine publishes) and recomputed as of
// one and of 100 earlier sequences in one walk (what an audit asks).
func BenchmarkCheckpoint(b *testing.B) {
	const dossiers, active = 100000, 2000
	db, err := Open(filepath.Join(b.TempDir(), "hoso.db"), Options{Catalog: shippedCatalog(b), NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	transitions, _, _ := realisticStream(b, db, dossiers, active)
	applied, err := db.AppliedSeq()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("now", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cp, err := db.Checkpoint(ctx)
			if err != nil || cp.Dossiers != dossiers {
				b.Fatalf("Checkpoint() = %+v, %v", cp, err)
			}
		}
		b.ReportMetric(float64(transitions), "entries")
	})
	for _, n := range []int{1, 100} {
		seqs := make([]uint64, n)
		for i := range seqs {
			seqs[i] = applied * uint64(i+1) / uint64(n+1)
		}
		b.Run(fmt.Sprintf("as-of-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := db.CheckpointsAt(ctx, seqs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
