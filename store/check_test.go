package store

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/workflow"
)

// checkFile opens a closed store file with bbolt and checks bbolt's own
// consistency and the store's invariants (doc.go): every index and counter
// equals what a scan of the records gives, the statistics rows equal a
// recount of the dossiers under cat, every decided event id is in dedupe,
// and, with chains, every dossier's history verifies.
func checkFile(t testing.TB, path string, cat *workflow.Catalog, chains bool) {
	t.Helper()
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open %s for checking: %v", path, err)
	}
	defer bdb.Close()
	err = bdb.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt check: %v", err)
		}
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		checkInvariants(t, b, cat, chains)
		return nil
	})
	if err != nil {
		t.Fatalf("check %s: %v", path, err)
	}
}

func checkInvariants(t testing.TB, b *buckets, cat *workflow.Catalog, chains bool) {
	t.Helper()
	stats := newStatsDeltas()   // the statistics rows recounted from the dossiers
	want := map[string]uint64{} // expected counters
	wantKeys := map[*bbolt.Bucket]map[string]bool{
		b.byStatus: {}, b.byAgency: {}, b.byProcedure: {}, b.byDue: {}, b.byOverdue: {}, b.byReceived: {},
		b.rejByDossier: {}, b.rejByReason: {}, b.misByDossier: {},
	}
	dedupe := map[string]uint64{} // event id -> seq that decided it

	forEach(t, b.dossiers, func(k, v []byte) {
		var d workflow.Dossier
		mustDecode(t, decodeDossier(v, &d))
		if d.Code != string(k) {
			t.Errorf("dossier under key %q has code %q", k, d.Code)
		}
		want[countDossiers]++
		stats.add(cat, nil, &d)
		for _, ik := range b.indexKeys(&d) {
			if ik.key == nil {
				continue
			}
			wantKeys[ik.bucket][string(ik.key)] = true
			want[ik.count]++
		}
		if chains {
			if r := b.verify(&d); !r.OK {
				t.Errorf("chain of %q: %+v", d.Code, r)
			}
		}
	})
	forEach(t, b.history, func(k, v []byte) {
		var e workflow.HistoryEntry
		mustDecode(t, decodeEntry(k, v, workflow.Hash{}, &e)) // the chains are verified above
		if !bytes.Equal(k, historyKey(e.Dossier, e.Index)) {
			t.Errorf("history entry %s/%d under key %q", e.Dossier, e.Index, k)
		}
		want[countEntries]++
		dedupe[e.EventID] = e.Seq
	})
	forEach(t, b.rejections, func(k, v []byte) {
		var r workflow.Rejection
		mustDecode(t, decodeRejection(v, &r))
		if seqOf(k) != r.Seq {
			t.Errorf("rejection %d under key %d", r.Seq, seqOf(k))
		}
		want[countRejections]++
		want[countReasonPrefix+string(r.Reason)]++
		wantKeys[b.rejByReason][string(prefixSeqKey(string(r.Reason), r.Seq))] = true
		if keyPart(r.Dossier) {
			wantKeys[b.rejByDossier][string(prefixSeqKey(r.Dossier, r.Seq))] = true
		}
		if r.EventID != "" && r.Reason != workflow.ReasonDuplicate {
			dedupe[r.EventID] = r.Seq
		}
	})
	forEach(t, b.mismatches, func(k, v []byte) {
		var m workflow.Mismatch
		mustDecode(t, decodeMismatch(v, &m))
		want[countMismatches]++
		wantKeys[b.misByDossier][string(prefixSeqKey(m.Dossier, m.Seq))] = true
	})
	var outbox []uint64 // every entry's seq, in key and chunk order
	forEach(t, b.outbox, func(k, v []byte) {
		r := newChunkReader(v)
		first := true
		for r.next() {
			var o workflow.Outcome
			mustDecode(t, decodeOutcome(r.record, &o))
			if o.Seq != r.seq {
				t.Errorf("outcome %d under the entry seq %d", o.Seq, r.seq)
			}
			if n := len(outbox); n > 0 && outbox[n-1] >= o.Seq {
				t.Errorf("outcome %d after outcome %d", o.Seq, outbox[n-1])
			}
			outbox = append(outbox, o.Seq)
			want[countOutbox]++
			first = false
		}
		mustDecode(t, r.err)
		if first {
			t.Errorf("outbox chunk %d is empty", seqOf(k))
		} else if last := outbox[len(outbox)-1]; last != seqOf(k) {
			t.Errorf("outbox chunk ending at %d under key %d", last, seqOf(k))
		}
	})

	got := map[string]uint64{}
	forEach(t, b.counts, func(k, v []byte) {
		n, err := decodeUint64(v)
		if err != nil {
			t.Errorf("counter %q: %v", k, err)
		}
		got[string(k)] = n
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counters differ from a scan (-scan +counters):\n%s", diff)
	}
	for ix, keys := range wantKeys {
		gotKeys := map[string]bool{}
		forEach(t, ix, func(k, v []byte) {
			if len(v) != 0 {
				t.Errorf("index key %q has a value", k)
			}
			gotKeys[string(k)] = true
		})
		if diff := cmp.Diff(keys, gotKeys); diff != "" {
			t.Errorf("index differs from a scan (-scan +index):\n%s", diff)
		}
	}
	checkStats(t, b, stats)
	for id, seq := range dedupe {
		v := b.dedupe.Get(appendDedupeKey(nil, id))
		got, n := binary.Uvarint(v)
		if n != len(v) || got != seq {
			t.Errorf("dedupe[%q] = %d (% x); want %d", id, got, v, seq)
		}
	}
	applied, err := appliedSeq(b.meta)
	if err != nil {
		t.Error(err)
	}
	if len(outbox) > 0 && slices.Max(outbox) > applied {
		t.Errorf("outbox holds seq %d above the applied seq %d", slices.Max(outbox), applied)
	}
	if v, _ := decodeUint64(b.meta.Get([]byte(metaSchema))); v != schemaVersion {
		t.Errorf("schema version %d, want %d", v, schemaVersion)
	}
}

// checkStats compares the stats and gauges rows with their recount from
// the dossiers (workflow.StatsDelta(nil, d) of each), and checks that
// every rollup row is the sum of the rows it rolls up.
func checkStats(t testing.TB, b *buckets, recount *statsDeltas) {
	t.Helper()
	for _, x := range []struct {
		name   string
		bucket *bbolt.Bucket
		want   map[string]*workflow.Tally
		prefix int // length of the key prefix before the agency
	}{{bucketStats, b.stats, recount.flows, 1 + len("2006-01") + 1}, {bucketGauges, b.gauges, recount.gauges, 1}} {
		want := map[string]workflow.Tally{}
		for k, t := range x.want {
			want[k] = *t
		}
		got := map[string]workflow.Tally{}
		sums := map[string]workflow.Tally{} // rollup key -> sum of the rows it rolls up
		forEach(t, x.bucket, func(k, v []byte) {
			tally, err := decodeTally(v)
			if err != nil {
				t.Errorf("%s row %q: %v", x.name, k, err)
			}
			if tally.IsZero() {
				t.Errorf("%s row %q is all zero", x.name, k)
			}
			got[string(k)] = tally
			prefix := k[:x.prefix]
			agency, procedure, ok := splitRow(k[x.prefix:])
			if !ok {
				t.Errorf("%s row key %q has no procedure", x.name, k)
				return
			}
			add := func(a, p string) {
				s := sums[string(rowKey(prefix, a, p))]
				s.Add(tally)
				sums[string(rowKey(prefix, a, p))] = s
			}
			switch {
			case agency != statsAll && procedure != statsAll:
				add(agency, statsAll)
				add(statsAll, procedure)
			case agency != statsAll:
				add(statsAll, statsAll)
			}
		})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s rows differ from a recount of the dossiers (-recount +rows):\n%s", x.name, diff)
		}
		for k, s := range sums {
			if got[k] != s {
				t.Errorf("%s rollup row %q = %+v, sum of its rows %+v", x.name, k, got[k], s)
			}
		}
	}
}

func forEach(t testing.TB, b *bbolt.Bucket, fn func(k, v []byte)) {
	t.Helper()
	if err := b.ForEach(func(k, v []byte) error { fn(k, v); return nil }); err != nil {
		t.Fatal(err)
	}
}

func mustDecode(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// statusCounts is a helper for tests that compare Counts.ByStatus.
func statusCounts(pairs ...int) [workflow.MaxStatus + 1]int {
	var a [workflow.MaxStatus + 1]int
	for i := 0; i+1 < len(pairs); i += 2 {
		a[pairs[i]] = pairs[i+1]
	}
	return a
}

// indexKey is the key of a dossier in one of the dossier indexes, and the
// counter of that key's group.
type indexKey struct {
	bucket *bbolt.Bucket
	key    []byte // nil: the dossier is not in this index
	count  string
}

// indexKeys returns the keys of a dossier in each of dossierIndexes, in
// that order.
func (b *buckets) indexKeys(d *workflow.Dossier) []indexKey {
	keys := make([]indexKey, len(dossierIndexes))
	for i, ix := range &dossierIndexes {
		keys[i] = indexKey{bucket: ix.bucket(b), count: ix.count(d)}
		if k, ok := ix.appendKey(nil, d); ok {
			keys[i].key = k
		}
	}
	return keys
}
