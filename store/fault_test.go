package store

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestApplyCommitFault fails commits through Options.BeforeCommit: Apply
// returns the fault, the store is unchanged, and the same batch applies
// once the fault clears.
func TestApplyCommitFault(t *testing.T) {
	h := newHarness(t, nil)
	errFull := errors.New("injected: no space left on device")
	fail := true
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(h.path, Options{Catalog: h.cat, NoSync: true, BeforeCommit: func() error {
		if fail {
			return errFull
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	h.db = db

	flow := standardFlow(code1, 0)
	fail = false
	h.apply(h.envelopes(flow[:2]...))
	before := h.snapshot()
	rest := h.envelopes(flow[2:]...)
	fail = true
	for range 3 {
		res, err := h.db.Apply(context.Background(), rest)
		if !errors.Is(err, errFull) {
			t.Fatalf("Apply with failing commits = %+v, %v; want %v", res, err, errFull)
		}
		if diff := cmp.Diff(before, h.snapshot()); diff != "" {
			t.Fatalf("the failed commit changed the store (-before +after):\n%s", diff)
		}
	}
	fail = false
	if res := h.apply(rest); res.Accepted != len(rest) {
		t.Errorf("Apply after the fault cleared = %+v, want %d accepted", res, len(rest))
	}
	// A redelivery writes nothing, so it does not reach the hook.
	fail = true
	if res, err := h.db.Apply(context.Background(), rest); err != nil || res.Skipped != len(rest) {
		t.Errorf("redelivery with failing commits = %+v, %v; want %d skipped", res, err, len(rest))
	}
	fail = false
}
