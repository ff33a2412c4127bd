package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplace: a store file held by an open DB is not replaced; a copy
// leaves its source, a rename takes it; the file replaced is kept under a
// dated name.
func TestReplace(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "hoso.db")
	db, err := Open(live, Options{Catalog: shippedCatalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	if err := os.WriteFile(backup, []byte("the backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(live)
	if kept, err := Replace(live, backup, "before-restore", true); !errors.Is(err, ErrLocked) || kept != "" {
		t.Fatalf("Replace of a store held open = %q, %v; want ErrLocked", kept, err)
	}
	if after, _ := os.ReadFile(live); string(after) != string(before) {
		t.Fatal("the store held open was changed")
	}
	db.Close()

	kept, err := Replace(live, backup, "before-restore", true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(kept), "hoso.db.before-restore-") {
		t.Errorf("kept the old store as %q", kept)
	}
	if old, _ := os.ReadFile(kept); string(old) != string(before) {
		t.Error("the kept file is not the old store")
	}
	if got, _ := os.ReadFile(live); string(got) != "the backup" {
		t.Errorf("the store is %q, want the backup", got)
	}
	if _, err := os.Stat(backup); err != nil {
		t.Errorf("a copy removed its source: %v", err)
	}

	rebuilt := filepath.Join(dir, "hoso.db.rebuild")
	if err := os.WriteFile(rebuilt, []byte("rebuilt"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "new", "hoso.db") // a data directory not made yet
	if kept, err := Replace(empty, rebuilt, "before-rebuild", false); err != nil || kept != "" {
		t.Fatalf("Replace into a new directory = %q, %v", kept, err)
	}
	if _, err := os.Stat(rebuilt); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a rename left its source: %v", err)
	}
	if got, _ := os.ReadFile(empty); string(got) != "rebuilt" {
		t.Errorf("the new store is %q", got)
	}
}
