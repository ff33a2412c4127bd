package store

import (
	"context"
	"encoding/binary"
	"testing"

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
	// The calendars the store recorded, as Open puts them in force.
	h, err := calendarHistory(b.calendars, cat.Calendar().Config())
	if err != nil {
		t.Errorf("calendars: %v", err)
	}
	if len(h) > 0 {
		cat = cat.WithCalendarHistory(h)
	}
	findings, err := b.verifyStore(context.Background(), cat)
	if err != nil {
		t.Fatalf("verify store: %v", err)
	}
	for _, f := range findings {
		t.Errorf("verify store: %+v", f)
	}
	applied, err := appliedSeq(b.meta)
	if err != nil {
		t.Error(err)
	}
	forEach(t, b.dossiers, func(k, v []byte) {
		var d workflow.Dossier
		mustDecode(t, decodeDossier(v, &d))
		if chains {
			if _, r := b.verifyDossier(cat, applied, nil, &d); !r.OK {
				t.Errorf("verify %q: %+v", d.Code, r)
			}
		}
	})
	// Beyond what verification checks: the rollup rows add up, and the
	// event id of every rejection decided (not a duplicate) is in dedupe.
	checkRollups(t, b)
	forEach(t, b.rejections, func(k, v []byte) {
		var r workflow.Rejection
		mustDecode(t, decodeRejection(v, &r))
		if r.EventID == "" || r.Reason == workflow.ReasonDuplicate {
			return
		}
		v = b.dedupe.Get(appendDedupeKey(nil, r.Source, r.Action, r.EventID))
		got, n := binary.Uvarint(v)
		if n != len(v) || got != r.Seq {
			t.Errorf("dedupe[%q] = %d (% x); want %d", r.EventID, got, v, r.Seq)
		}
	})
}

// checkRollups checks that every rollup row of the stats and gauges
// buckets is the sum of the rows it rolls up.
func checkRollups(t testing.TB, b *buckets) {
	t.Helper()
	for _, x := range []struct {
		name   string
		bucket *bbolt.Bucket
		prefix int // length of the key prefix before the agency
	}{{bucketStats, b.stats, 1 + len("2006-01") + 1}, {bucketGauges, b.gauges, 1}} {
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
