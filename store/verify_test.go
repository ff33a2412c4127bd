package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/workflow"
)

// inProgressCode is the dossier of everyFlowStore in status 4 with a
// rejection.
const inProgressCode = "000.00.12.H57-250804-0999"

// everyFlowStore builds a store through Apply with every shipped flow,
// online and at the desk, with rejections and mismatches, and closes it.
func everyFlowStore(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, path: t.TempDir() + "/hoso.db", cat: sectorCatalog(t)}
	h.open()
	t.Cleanup(func() { h.db.Close() })
	r := rand.New(rand.NewPCG(7, 2025))
	known, _ := knownStream(r, 400)
	applyRandomBatches(t, h, r, h.envelopes(known...), true)
	applyRandomBatches(t, h, r, h.envelopes(randomStream(r, 400)...), false)
	h.apply(h.envelopes(standardFlow(code1, 0)...))
	// One in progress, with a rejection and a mismatch: what the tampering
	// tests change.
	flow := standardFlow(inProgressCode, 0)
	h.apply(h.envelopes(flow[0], flow[1], flow[2],
		event(inProgressCode+"/x", "return", inProgressCode, 3, claims(workflow.StatusReturned))))
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	return h
}

// verifyEverything runs VerifyStore and VerifyAll and returns every
// finding, the chain problems among them as findings with Field "chain".
func verifyEverything(t *testing.T, db *DB) []workflow.Finding {
	t.Helper()
	ctx := context.Background()
	out, err := db.VerifyStore(ctx)
	if err != nil {
		t.Fatalf("VerifyStore = %v", err)
	}
	_, err = db.VerifyAll(ctx, func(r workflow.ChainReport) error {
		if r.OK != (r.BrokenAt < 0 && len(r.Findings) == 0) {
			t.Errorf("report %+v: OK is %t", r, r.OK)
		}
		if r.BrokenAt >= 0 {
			out = append(out, workflow.Finding{Dossier: r.Dossier, Field: "chain", Problem: r.Problem})
		}
		out = append(out, r.Findings...)
		return nil
	})
	if err != nil {
		t.Fatalf("VerifyAll = %v", err)
	}
	return out
}

// findDossier returns the first dossier (in code order) that match
// accepts, with its history.
func findDossier(t *testing.T, b *buckets, match func(d *workflow.Dossier, entries []workflow.HistoryEntry) bool) (*workflow.Dossier, []workflow.HistoryEntry) {
	t.Helper()
	c := b.dossiers.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		d := new(workflow.Dossier)
		mustDecode(t, decodeDossier(v, d))
		entries, err := b.historyOf(d.Code)
		mustDecode(t, err)
		if match(d, entries) {
			return d, entries
		}
	}
	t.Fatal("no dossier of the store matches")
	return nil, nil
}

// rewriteRecord writes d over its record and, as Apply would, moves its
// index keys and changes the counters and statistics rows from old: the
// store stays consistent but for the record against its history.
func rewriteRecord(b *buckets, cat *workflow.Catalog, old, d *workflow.Dossier) error {
	bt := &batchTx{b: b, catalog: cat, deltas: deltas{}}
	if err := b.dossiers.Put([]byte(d.Code), appendDossier(nil, b.idOf(d.Code), d)); err != nil {
		return err
	}
	if err := bt.moveIndexKeys(&working{stored: old, cur: d, dirty: true}); err != nil {
		return err
	}
	s := newStatsDeltas()
	s.add(cat, old, d)
	if err := s.write(b); err != nil {
		return err
	}
	return bt.deltas.write(b.counts)
}

// rechain writes entries over a dossier's history with every hash
// recomputed from the first changed one, as a forger with the file
// would, and returns the new head.
func rechain(b *buckets, entries []workflow.HistoryEntry) (workflow.Hash, error) {
	var prev workflow.Hash
	for i := range entries {
		e := &entries[i]
		e.PrevHash = prev
		e.Hash = e.ComputeHash()
		prev = e.Hash
		if err := b.history.Put(b.historyKeyOf(e.Dossier, e.Index), appendEntry(nil, e)); err != nil {
			return prev, err
		}
	}
	return prev, nil
}

func TestVerifyCleanStore(t *testing.T) {
	h := everyFlowStore(t)
	h.open()
	if got := verifyEverything(t, h.db); len(got) != 0 {
		t.Errorf("a store built by Apply: findings %+v, want none", got)
	}
}

// TestVerifyNamesTampering changes the file the way someone with write
// access to it would, and checks that verification names each change.
func TestVerifyNamesTampering(t *testing.T) {
	inProgress := func(d *workflow.Dossier, entries []workflow.HistoryEntry) bool {
		return d.Code == inProgressCode && d.Status == workflow.StatusProcessing && d.Rejections > 0 && d.Mismatches > 0 && len(entries) >= 3
	}
	type want struct {
		dossier, field, bucket, key, wantV, gotV string
	}
	tests := []struct {
		name string
		// tamper changes the file and returns the findings that must be
		// reported (each field of want that is set must match).
		tamper func(t *testing.T, b *buckets, cat *workflow.Catalog) []want
	}{
		{"status 4 to 10 in a record", func(t *testing.T, b *buckets, _ *workflow.Catalog) []want {
			d, _ := findDossier(t, b, inProgress)
			d.Status = workflow.StatusReturned
			if err := b.dossiers.Put([]byte(d.Code), appendDossier(nil, b.idOf(d.Code), d)); err != nil {
				t.Fatal(err)
			}
			return []want{
				{dossier: d.Code, field: "status", wantV: "4", gotV: "10"},
				{dossier: d.Code, bucket: bucketByStatus, key: "4 " + d.Code},                     // a key without its record
				{dossier: d.Code, bucket: bucketByStatus, wantV: "10 " + d.Code},                  // a record without its key
				{bucket: bucketCounts, key: "status:4"}, {bucket: bucketCounts, key: "status:10"}, // recounted
			}
		}},
		{"record rewritten with its indexes, counters and rows, history left", func(t *testing.T, b *buckets, cat *workflow.Catalog) []want {
			old, _ := findDossier(t, b, inProgress)
			d := old.Clone()
			d.State, d.Status, d.Terminal, d.ReturnedAt = "returned", workflow.StatusReturned, true, d.UpdatedAt
			if err := rewriteRecord(b, cat, old, d); err != nil {
				t.Fatal(err)
			}
			return []want{
				{dossier: d.Code, field: "status", wantV: "4", gotV: "10"},
				{dossier: d.Code, field: "state", wantV: old.State, gotV: "returned"},
				{dossier: d.Code, field: "terminal", wantV: "false", gotV: "true"},
				{dossier: d.Code, field: "returned_at"},
			}
		}},
		{"index key deleted", func(t *testing.T, b *buckets, _ *workflow.Catalog) []want {
			d, _ := findDossier(t, b, inProgress)
			if err := b.byAgency.Delete(appendCodeKey(nil, d.Agency, d.Code)); err != nil {
				t.Fatal(err)
			}
			return []want{{dossier: d.Code, bucket: bucketByAgency, wantV: d.Agency + " " + d.Code}}
		}},
		{"index key added", func(t *testing.T, b *buckets, _ *workflow.Catalog) []want {
			d, _ := findDossier(t, b, inProgress)
			if err := b.byStatus.Put(append([]byte{byte(workflow.StatusResolved)}, d.Code...), nil); err != nil {
				t.Fatal(err)
			}
			if err := b.byProcedure.Put(appendCodeKey(nil, d.Procedure, "NO-SUCH-DOSSIER"), nil); err != nil {
				t.Fatal(err)
			}
			return []want{
				{dossier: d.Code, bucket: bucketByStatus, key: "9 " + d.Code},
				{dossier: "NO-SUCH-DOSSIER", bucket: bucketByProcedure, key: d.Procedure + " NO-SUCH-DOSSIER"},
			}
		}},
		{"counter changed", func(t *testing.T, b *buckets, _ *workflow.Catalog) []want {
			n, err := decodeUint64(b.counts.Get([]byte(countDossiers)))
			mustDecode(t, err)
			if err := b.counts.Put([]byte(countDossiers), encodeUint64(n+1)); err != nil {
				t.Fatal(err)
			}
			return []want{{bucket: bucketCounts, key: countDossiers, wantV: itoa(n), gotV: itoa(n + 1)}}
		}},
		{"statistics row changed", func(t *testing.T, b *buckets, _ *workflow.Catalog) []want {
			k, v := b.stats.Cursor().First()
			tl, err := decodeTally(v)
			mustDecode(t, err)
			tl.Received++
			if err := b.stats.Put(k, encodeTally(&tl)); err != nil {
				t.Fatal(err)
			}
			return []want{{bucket: bucketStats, key: keyText(bucketStats, k)}}
		}},
		{"rejection deleted, counters untouched", func(t *testing.T, b *buckets, _ *workflow.Catalog) []want {
			d, _ := findDossier(t, b, inProgress)
			var seq uint64
			c := b.rejByDossier.Cursor()
			prefix := prefixKey(d.Code)
			k, _ := c.Seek(prefix)
			seq, ok := seqSuffix(k, prefix)
			if !ok {
				t.Fatalf("no rejection of %s", d.Code)
			}
			var r workflow.Rejection
			mustDecode(t, decodeRejection(b.rejections.Get(seqKey(seq)), &r))
			if err := b.rejections.Delete(seqKey(seq)); err != nil {
				t.Fatal(err)
			}
			return []want{
				{bucket: bucketCounts, key: countRejections},
				{bucket: bucketCounts, key: countReasonPrefix + string(r.Reason)},
				{bucket: bucketRejByDossier, key: d.Code + " " + itoa(seq)},
				{bucket: bucketRejByReason, key: string(r.Reason) + " " + itoa(seq)},
			}
		}},
		{"rejection deleted with its index keys, counters untouched", func(t *testing.T, b *buckets, _ *workflow.Catalog) []want {
			d, _ := findDossier(t, b, inProgress)
			prefix := prefixKey(d.Code)
			k, _ := b.rejByDossier.Cursor().Seek(prefix)
			seq, _ := seqSuffix(k, prefix)
			var r workflow.Rejection
			mustDecode(t, decodeRejection(b.rejections.Get(seqKey(seq)), &r))
			for _, del := range []struct {
				bk  *bbolt.Bucket
				key []byte
			}{{b.rejections, seqKey(seq)}, {b.rejByDossier, prefixSeqKey(d.Code, seq)}, {b.rejByReason, prefixSeqKey(string(r.Reason), seq)}} {
				if err := del.bk.Delete(del.key); err != nil {
					t.Fatal(err)
				}
			}
			return []want{
				{bucket: bucketCounts, key: countRejections},
				{dossier: d.Code, field: "rejections", wantV: itoa(d.Rejections - 1), gotV: itoa(d.Rejections)},
			}
		}},
		{"rejection added at the sequence of an accepted entry", func(t *testing.T, b *buckets, _ *workflow.Catalog) []want {
			d, entries := findDossier(t, b, inProgress)
			e := entries[1]
			r := workflow.Rejection{Seq: e.Seq, Dossier: "X-1", Reason: workflow.ReasonMalformed, Detail: "forged"}
			if err := b.rejections.Put(seqKey(e.Seq), appendRejection(nil, &r)); err != nil {
				t.Fatal(err)
			}
			return []want{
				{dossier: d.Code, field: "history[1].seq", bucket: bucketRejections, key: itoa(e.Seq)},
				{bucket: bucketCounts, key: countRejections},
			}
		}},
		{"chain rewritten, a status changed in history, record left", func(t *testing.T, b *buckets, _ *workflow.Catalog) []want {
			d, entries := findDossier(t, b, inProgress)
			last := len(entries) - 1
			entries[last].ToStatus = workflow.StatusReturned
			head, err := rechain(b, entries)
			if err != nil {
				t.Fatal(err)
			}
			d.Head = head // the chain verifies against the record
			if err := b.dossiers.Put([]byte(d.Code), appendDossier(nil, b.idOf(d.Code), d)); err != nil {
				t.Fatal(err)
			}
			return []want{
				{dossier: d.Code, field: "status", wantV: "10", gotV: "4"},
				{dossier: d.Code, field: "history[" + itoa(last) + "].to_status", wantV: "4", gotV: "10"},
			}
		}},
		{"chain and record rewritten together, an illegal step in history", func(t *testing.T, b *buckets, cat *workflow.Catalog) []want {
			old, entries := findDossier(t, b, inProgress)
			last := len(entries) - 1
			e := &entries[last]
			e.Action, e.To, e.ToStatus = "return", "returned", workflow.StatusReturned
			head, err := rechain(b, entries)
			if err != nil {
				t.Fatal(err)
			}
			d := old.Clone()
			d.Head, d.State, d.Status, d.Terminal, d.ReturnedAt = head, "returned", workflow.StatusReturned, true, e.Time
			if err := rewriteRecord(b, cat, old, d); err != nil {
				t.Fatal(err)
			}
			return []want{{dossier: d.Code, field: "history[" + itoa(last) + "].action", gotV: "return"}}
		}},
		{"entry's event id deleted from dedupe", func(t *testing.T, b *buckets, _ *workflow.Catalog) []want {
			d, entries := findDossier(t, b, inProgress)
			if err := b.dedupe.Delete(appendDedupeKey(nil, entries[0].Source, entries[0].Action, entries[0].EventID)); err != nil {
				t.Fatal(err)
			}
			return []want{{dossier: d.Code, bucket: bucketDedupe, key: entries[0].EventID, gotV: "none"}}
		}},
		{"dossier id not below the next id", func(t *testing.T, b *buckets, _ *workflow.Catalog) []want {
			d, _ := findDossier(t, b, inProgress)
			if err := b.meta.Put([]byte(metaNextDossierID), encodeUint64(uint64(b.idOf(d.Code)))); err != nil {
				t.Fatal(err)
			}
			return []want{{dossier: d.Code, field: "id", bucket: bucketMeta, key: metaNextDossierID}}
		}},
		{"two records with one id", func(t *testing.T, b *buckets, _ *workflow.Catalog) []want {
			d, _ := findDossier(t, b, inProgress)
			other, _ := findDossier(t, b, func(o *workflow.Dossier, _ []workflow.HistoryEntry) bool { return o.Code > d.Code })
			if err := b.dossiers.Put([]byte(other.Code), appendDossier(nil, b.idOf(d.Code), other)); err != nil {
				t.Fatal(err)
			}
			return []want{{dossier: other.Code, field: "id", bucket: bucketDossiers, key: other.Code, gotV: itoa(uint64(b.idOf(d.Code)))}}
		}},
		{"history entry of no dossier", func(t *testing.T, b *buckets, _ *workflow.Catalog) []want {
			_, entries := findDossier(t, b, inProgress)
			e := entries[0]
			if err := b.history.Put(historyKey(1000, 0), appendEntry(nil, &e)); err != nil { // no record holds id 1000
				t.Fatal(err)
			}
			return []want{{bucket: bucketHistory, key: "#1000/0"}, {bucket: bucketCounts, key: countEntries}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := everyFlowStore(t)
			var wants []want
			tamper(t, h.path, func(b *buckets) error {
				wants = tt.tamper(t, b, h.cat)
				return nil
			})
			h.open()
			got := verifyEverything(t, h.db)
			for _, w := range wants {
				if !slices.ContainsFunc(got, func(f workflow.Finding) bool {
					return (w.dossier == "" || f.Dossier == w.dossier) && (w.field == "" || f.Field == w.field) &&
						(w.bucket == "" || f.Bucket == w.bucket) && (w.key == "" || f.Key == w.key) &&
						(w.wantV == "" || f.Want == w.wantV) && (w.gotV == "" || f.Got == w.gotV) && f.Problem != ""
				}) {
					t.Errorf("no finding %+v among:\n%s", w, findingsText(got))
				}
			}
			for _, w := range wants {
				if w.dossier == "" || w.bucket != "" {
					continue
				}
				r, err := h.db.Verify(context.Background(), w.dossier)
				if err != nil || r.OK {
					t.Errorf("Verify(%q) = %+v, %v; want a finding", w.dossier, r, err)
				}
			}
		})
	}
}

func findingsText(fs []workflow.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "\t%+v\n", f)
	}
	return b.String()
}

// TestVerifyStoreStopsWithContext checks that a canceled context ends
// the store check with its error.
func TestVerifyStoreStopsWithContext(t *testing.T) {
	h := everyFlowStore(t)
	h.open()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.db.VerifyStore(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("VerifyStore(canceled) = %v, want context.Canceled", err)
	}
}

func itoa[T int | uint64](n T) string { return strconv.FormatUint(uint64(n), 10) }
