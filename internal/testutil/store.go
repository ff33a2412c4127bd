package testutil

import (
	"testing"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/workflow"
)

// Catalog returns the shipped definitions, as the engines of the tests
// decide by.
func Catalog(t testing.TB) *workflow.Catalog {
	t.Helper()
	cat, err := engine.LoadDefinitions("")
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// OpenStore opens the store file at path (of a stopped engine) with the
// shipped definitions; the caller closes it.
func OpenStore(t testing.TB, path string) *store.DB {
	t.Helper()
	db, err := store.Open(path, store.Options{Catalog: Catalog(t)})
	if err != nil {
		t.Fatalf("open the store %s: %v", path, err)
	}
	return db
}
