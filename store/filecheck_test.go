package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hoso-vn/hoso/workflow"
)

// filledStore applies dossiers of the standard flow to a new store in
// two batches, the second larger, closes it and returns its path and
// bytes.
func filledStore(t *testing.T) (string, []byte) {
	t.Helper()
	h := newHarness(t, nil)
	var first, second []*workflow.Event
	for i := range 300 {
		flow := standardFlow(fmt.Sprintf("T-%04d", i), 0)
		if i < 20 {
			first = append(first, flow...)
		} else {
			second = append(second, flow...)
		}
	}
	h.apply(h.envelopes(first...))
	h.apply(h.envelopes(second...))
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(h.path)
	if err != nil {
		t.Fatal(err)
	}
	h.open() // for the harness's own check when the test ends
	return h.path, b
}

// metas returns the two meta pages of a bbolt file's bytes.
func metas(t *testing.T, b []byte) (m0, m1 boltMeta) {
	t.Helper()
	m0, ok0 := parseBoltMeta(b)
	m1, ok1 := parseBoltMeta(b[m0.pageSize:])
	if !ok0 || !ok1 {
		t.Fatalf("meta pages valid: %t %t", ok0, ok1)
	}
	return m0, m1
}

func TestOpenRefusesTruncatedFile(t *testing.T) {
	_, full := filledStore(t)
	m0, m1 := metas(t, full)
	latest, older := m0, m1
	if m1.txid > m0.txid {
		latest, older = m1, m0
	}
	page := int(latest.pageSize)
	if older.pgid >= latest.pgid {
		t.Fatalf("the last commit did not grow the file: pgid %d then %d", older.pgid, latest.pgid)
	}
	dir := t.TempDir()
	for _, size := range []int{
		2 * page,                     // just after the meta pages
		2*page + page/2,              // mid-page
		int(older.pgid) * page,       // enough for the older meta only
		int(latest.pgid)*page - 1,    // one byte short
		int(latest.pgid)*page - page, // the last page missing
	} {
		path := filepath.Join(dir, fmt.Sprintf("cut-%d.db", size))
		if err := os.WriteFile(path, full[:size], 0o600); err != nil {
			t.Fatal(err)
		}
		if db, err := Open(path, Options{Catalog: shippedCatalog(t)}); !errors.Is(err, ErrTruncated) {
			if err == nil {
				db.Close()
			}
			t.Errorf("Open(file cut to %d of %d bytes) = %v, want ErrTruncated", size, len(full), err)
		}
		if _, err := Inspect(context.Background(), path); !errors.Is(err, ErrTruncated) {
			t.Errorf("Inspect(file cut to %d of %d bytes) = %v, want ErrTruncated", size, len(full), err)
		}
	}
}

// TestFileSizeCheckReadsBothMetas checks the meta pages' choice: a damaged
// first meta page leaves the second, both damaged is ErrNotStore, and a
// whole file opens.
func TestFileSizeCheckReadsBothMetas(t *testing.T) {
	_, full := filledStore(t)
	m0, m1 := metas(t, full)
	page := int(m0.pageSize)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	damage := func(b []byte, off int) []byte {
		b = append([]byte(nil), b...)
		b[off+boltMetaChecksum] ^= 0xff
		return b
	}
	if err := checkFileSize(write("whole.db", full)); err != nil {
		t.Errorf("checkFileSize(whole) = %v", err)
	}
	noFirst := damage(full, 0)
	if err := checkFileSize(write("no-first.db", noFirst)); err != nil {
		t.Errorf("checkFileSize(first meta damaged) = %v, want the second used", err)
	}
	if err := checkFileSize(write("no-first-cut.db", noFirst[:int(m1.pgid)*page-1])); !errors.Is(err, ErrTruncated) {
		t.Errorf("checkFileSize(first meta damaged, cut) = %v, want ErrTruncated", err)
	}
	if err := checkFileSize(write("no-meta.db", damage(noFirst, page))); !errors.Is(err, ErrNotStore) {
		t.Errorf("checkFileSize(both metas damaged) = %v, want ErrNotStore", err)
	}
	if err := checkFileSize(write("meta-only.db", full[:100])); !errors.Is(err, ErrTruncated) {
		t.Errorf("checkFileSize(100 bytes: a whole meta) = %v, want ErrTruncated", err)
	}
	if err := checkFileSize(write("short.db", full[:50])); !errors.Is(err, ErrNotStore) {
		t.Errorf("checkFileSize(50 bytes) = %v, want ErrNotStore", err)
	}
	if err := checkFileSize(filepath.Join(dir, "missing.db")); err != nil {
		t.Errorf("checkFileSize(missing) = %v, want nil (Open creates it)", err)
	}
}
