package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/workflow"
)

// tamper changes a closed store file behind the store's back.
func tamper(t *testing.T, path string, fn func(b *buckets) error) {
	t.Helper()
	bdb, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = bdb.Update(func(tx *bbolt.Tx) error {
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		return fn(b)
	})
	if err != nil {
		t.Fatalf("tamper with %s: %v", path, err)
	}
}

// tamperedHarness is a store holding code1 through the standard flow,
// closed, then changed by fn and reopened.
func tamperedHarness(t *testing.T, fn func(b *buckets) error) *harness {
	t.Helper()
	h := &harness{t: t, path: filepath.Join(t.TempDir(), "hoso.db"), cat: shippedCatalog(t)}
	h.open()
	t.Cleanup(func() { h.db.Close() })
	h.applyEach(standardFlow(code1, 0)...)
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	tamper(t, h.path, fn)
	h.open()
	return h
}

func TestVerifyDetectsTampering(t *testing.T) {
	editEntry := func(index int, edit func(e *workflow.HistoryEntry)) func(b *buckets) error {
		return func(b *buckets) error {
			entries, err := b.historyOf(code1)
			if err != nil {
				return err
			}
			e := &entries[index]
			edit(e)
			return b.history.Put(b.historyKeyOf(code1, index), appendEntry(nil, e))
		}
	}
	tests := []struct {
		name     string
		tamper   func(b *buckets) error
		brokenAt int
		problem  string
	}{
		{"actor changed", editEntry(2, func(e *workflow.HistoryEntry) { e.Actor = "someone-else" }), 2, "content hashes to"},
		{"hash recomputed over a changed entry", func(b *buckets) error {
			// The forger fixes the entry's own hash; the next entry's
			// hash covers the original.
			return editEntry(1, func(e *workflow.HistoryEntry) {
				e.Department = "phong-khac"
				e.Hash = e.ComputeHash()
			})(b)
		}, 2, "content hashes to"},
		{"last entry deleted", func(b *buckets) error {
			return b.history.Delete(b.historyKeyOf(code1, 4))
		}, 4, "dossier records 5 entries, found 4"},
		{"middle entry deleted", func(b *buckets) error {
			return b.history.Delete(b.historyKeyOf(code1, 1))
		}, 1, "has index 2"},
		{"entry unreadable", func(b *buckets) error {
			return b.history.Put(b.historyKeyOf(code1, 3), []byte("{not a record"))
		}, 3, "does not decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tamperedHarness(t, tt.tamper)
			r, err := h.db.Verify(context.Background(), code1)
			if err != nil {
				t.Fatalf("Verify(%q) = %v", code1, err)
			}
			if r.OK || r.BrokenAt != tt.brokenAt || !strings.Contains(r.Problem, tt.problem) {
				t.Errorf("Verify(%q) = %+v, want broken at %d with %q", code1, r, tt.brokenAt, tt.problem)
			}
			var reports []workflow.ChainReport
			n, err := h.db.VerifyAll(context.Background(), func(r workflow.ChainReport) error {
				reports = append(reports, r)
				return nil
			})
			if err != nil || n != 1 || len(reports) != 1 || reports[0].OK {
				t.Errorf("VerifyAll = %d, %v, reports %+v; want one broken", n, err, reports)
			}
		})
	}
}

func TestVerifyAll(t *testing.T) {
	h := newHarness(t, nil)
	const n = verifyChunk + 44 // more than one read transaction
	var events []*workflow.Event
	for i := range n {
		code := fmt.Sprintf("D-%04d", i)
		events = append(events, standardFlow(code, 0)[:1+i%3]...)
	}
	h.apply(h.envelopes(events...))

	var codes []string
	checked, err := h.db.VerifyAll(context.Background(), func(r workflow.ChainReport) error {
		if !r.OK {
			t.Errorf("VerifyAll: %+v", r)
		}
		codes = append(codes, r.Dossier)
		return nil
	})
	if err != nil || checked != n {
		t.Fatalf("VerifyAll = %d, %v; want %d", checked, err, n)
	}
	if !slices.IsSorted(codes) || len(slices.Compact(codes)) != n {
		t.Errorf("VerifyAll visited %d dossiers, not each once in code order", len(codes))
	}

	stop := errors.New("stop")
	checked, err = h.db.VerifyAll(context.Background(), func(r workflow.ChainReport) error {
		if r.Dossier == "D-0010" {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || checked != 10 {
		t.Errorf("VerifyAll stopped by fn = %d, %v; want 10, stop", checked, err)
	}
}

func TestReadsOfUnknownDossier(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.applyEach(standardFlow(code1, 0)[:1]...)
	const code = "no-such-dossier"
	if _, err := h.db.Dossier(ctx, code); !errors.Is(err, workflow.ErrNotFound) {
		t.Errorf("Dossier(%q) = %v, want ErrNotFound", code, err)
	}
	if _, err := h.db.History(ctx, code); !errors.Is(err, workflow.ErrNotFound) {
		t.Errorf("History(%q) = %v, want ErrNotFound", code, err)
	}
	if _, _, err := h.db.DossierHistory(ctx, code); !errors.Is(err, workflow.ErrNotFound) {
		t.Errorf("DossierHistory(%q) = %v, want ErrNotFound", code, err)
	}
	if _, err := h.db.Verify(ctx, code); !errors.Is(err, workflow.ErrNotFound) {
		t.Errorf("Verify(%q) = %v, want ErrNotFound", code, err)
	}
	d, entries, err := h.db.DossierHistory(ctx, code1)
	if err != nil || d.History != 1 || len(entries) != 1 {
		t.Errorf("DossierHistory(%q) = %v, %d entries, %v; want 1 entry", code1, d, len(entries), err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.db.Dossier(canceled, code1); !errors.Is(err, context.Canceled) {
		t.Errorf("Dossier(canceled ctx) = %v, want context.Canceled", err)
	}
}

func TestDossiersFilters(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	agencies := []string{"A", "B", "C"}
	procedures := []string{"1.000001", "2.000002"}
	var events []*workflow.Event
	for i := range 60 {
		code := fmt.Sprintf("000.00.12.H57-250804-%04d", 59-i) // created out of code order
		opts := []func(*workflow.Event){agency(agencies[i%3]), procedure(procedures[i%2])}
		events = append(events, standardFlow(code, 0, opts...)[:1+i%5]...)
	}
	h.apply(h.envelopes(events...))

	all, next, err := h.db.Dossiers(ctx, workflow.DossierQuery{Limit: MaxLimit})
	if err != nil || len(all) != 60 || next != "" {
		t.Fatalf("Dossiers(all) = %d dossiers, %q, %v; want 60", len(all), next, err)
	}
	if !slices.IsSortedFunc(all, func(a, b workflow.Dossier) int { return strings.Compare(a.Code, b.Code) }) {
		t.Error("Dossiers(all) not in code order")
	}

	for _, status := range []workflow.Status{0, 2, 4, 9, 10, 3} {
		for _, ag := range []string{"", "A", "C", "Z"} {
			for _, proc := range []string{"", "2.000002", "9.9"} {
				for _, lim := range []int{1, 7, 0} {
					q := workflow.DossierQuery{Status: status, Agency: ag, Procedure: proc, Limit: lim}
					var want []string
					for _, d := range all {
						if (status == 0 || d.Status == status) && (ag == "" || d.Agency == ag) && (proc == "" || d.Procedure == proc) {
							want = append(want, d.Code)
						}
					}
					var got []string
					for pages := 0; ; pages++ {
						list, next, err := h.db.Dossiers(ctx, q)
						if err != nil {
							t.Fatalf("Dossiers(%+v) = %v", q, err)
						}
						if len(list) > limit(lim) || pages > 100 {
							t.Fatalf("Dossiers(%+v) returned %d, limit %d", q, len(list), limit(lim))
						}
						for _, d := range list {
							got = append(got, d.Code)
						}
						if next == "" {
							break
						}
						if len(list) != limit(lim) || next != list[len(list)-1].Code {
							t.Fatalf("Dossiers(%+v): next %q after a page of %d", q, next, len(list))
						}
						q.After = next
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("Dossiers(status %d, agency %q, procedure %q, limit %d) (-want +got):\n%s", status, ag, proc, lim, diff)
					}
				}
			}
		}
	}

	c, err := h.db.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var byStatus [workflow.MaxStatus + 1]int
	for _, d := range all {
		byStatus[d.Status]++
	}
	if c.Dossiers != 60 || c.ByStatus != byStatus || c.Entries != len(events) {
		t.Errorf("Counts = %+v, want 60 dossiers, %v, %d entries", c, byStatus, len(events))
	}
}

func TestLimit(t *testing.T) {
	for _, tt := range []struct{ in, want int }{{-1, DefaultLimit}, {0, DefaultLimit}, {1, 1}, {MaxLimit, MaxLimit}, {MaxLimit + 1, MaxLimit}} {
		if got := limit(tt.in); got != tt.want {
			t.Errorf("limit(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestOpenLocked(t *testing.T) {
	h := newHarness(t, nil)
	_, err := Open(h.path, Options{Catalog: h.cat, Timeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), h.path) {
		t.Errorf("Open(locked file) = %v, want ErrLocked naming the file", err)
	}
}

func TestOpenRefusesOtherSchemas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hoso.db")
	db, err := Open(path, Options{Catalog: shippedCatalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	tamper(t, path, func(b *buckets) error {
		return b.meta.Put([]byte(metaSchema), encodeUint64(schemaVersion+1))
	})
	if _, err := Open(path, Options{Catalog: shippedCatalog(t)}); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("Open(schema %d) = %v, want ErrSchemaTooNew", schemaVersion+1, err)
	}
	if _, err := Open(path, Options{}); err == nil {
		t.Error("Open without a catalog succeeded")
	}
	// Schema 6 is upgraded in place (upgrade_test.go); older ones are
	// rebuilt.
	tamper(t, path, func(b *buckets) error {
		return b.meta.Put([]byte(metaSchema), encodeUint64(upgradableSchema-1))
	})
	if _, err := Open(path, Options{Catalog: shippedCatalog(t)}); !errors.Is(err, ErrSchemaOld) {
		t.Errorf("Open(schema %d) = %v, want ErrSchemaOld", upgradableSchema-1, err)
	}
	if _, err := Inspect(context.Background(), path); !errors.Is(err, ErrSchemaOld) {
		t.Errorf("Inspect(schema %d) = %v, want ErrSchemaOld", upgradableSchema-1, err)
	}
}

func TestBackup(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.applyEach(standardFlow(code1, 0)...)
	var buf bytes.Buffer
	n, err := h.db.Backup(ctx, &buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("Backup = %d, %v; wrote %d", n, err, buf.Len())
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, h.cat, true)
	cp, err := Open(path, Options{Catalog: h.cat})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	want, _ := h.db.Dossier(ctx, code1)
	got, err := cp.Dossier(ctx, code1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dossier in the backup (-store +backup):\n%s", diff)
	}
}

func TestReadsDuringApply(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	const dossiers = 50
	var batches [][]workflow.Envelope
	for step := range 5 {
		var events []*workflow.Event
		for i := range dossiers {
			events = append(events, standardFlow(fmt.Sprintf("D-%03d", i), 0)[step])
		}
		batches = append(batches, h.envelopes(events...))
	}

	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for {
			select {
			case <-done:
				return
			default:
			}
			// Every read sees whole batches: the dossiers are all at the
			// same step, and every chain verifies.
			list, _, err := h.db.Dossiers(ctx, workflow.DossierQuery{Limit: MaxLimit})
			if err != nil {
				errs <- err
				return
			}
			for _, d := range list {
				if d.History != list[0].History || len(list) != dossiers {
					errs <- fmt.Errorf("read a half-applied batch: %s has %d entries, %s %d, %d dossiers", d.Code, d.History, list[0].Code, list[0].History, len(list))
					return
				}
			}
			if _, err := h.db.VerifyAll(ctx, func(r workflow.ChainReport) error {
				if !r.OK {
					return fmt.Errorf("chain broken during apply: %+v", r)
				}
				return nil
			}); err != nil {
				errs <- err
				return
			}
		}
	}()
	for _, b := range batches {
		h.apply(b)
	}
	close(done)
	if err := <-errs; err != nil {
		t.Error(err)
	}
}
