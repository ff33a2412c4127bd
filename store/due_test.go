package store

import (
	"context"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// TestDueIndex: Due lists the dossiers whose clock runs, earliest due
// first, up to the time asked; a pause, a resolution or an apology moves
// them out of it or within it.
func TestDueIndex(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	codes := []string{"D-1", "D-2", "D-3"}
	dues := []time.Time{t0.AddDate(0, 0, 12), t0.AddDate(0, 0, 5), t0.AddDate(0, 0, 8)}
	for i, code := range codes {
		h.applyEach(
			event(code+"/1", "receive", code, i, attach(workflow.AttachmentInputDigitized), due(dues[i])),
			event(code+"/2", "assign", code, 10+i, department("p")),
		)
	}
	got := func(at time.Time) []string {
		t.Helper()
		var out []string
		cursor := ""
		for {
			// Pages of one, to walk the cursor.
			list, next, err := h.db.Due(ctx, at, cursor, 1)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range list {
				out = append(out, d.Code)
			}
			if next == "" {
				return out
			}
			cursor = next
		}
	}
	if g := got(t0.AddDate(0, 0, 9)); len(g) != 2 || g[0] != "D-2" || g[1] != "D-3" {
		t.Fatalf("Due(t0+9d) = %v, want [D-2 D-3]", g)
	}
	// D-2 waits for a supplement: its clock stops.
	h.applyEach(event("D-2/3", "request_supplement", "D-2", 20, attach(workflow.AttachmentSupplementRequest)))
	if g := got(t0.AddDate(0, 0, 9)); len(g) != 1 || g[0] != "D-3" {
		t.Fatalf("Due after a pause = %v, want [D-3]", g)
	}
	// D-3 is resolved: it leaves the index.
	h.applyEach(event("D-3/3", "resolve", "D-3", 21, attach(workflow.AttachmentResultElectronic)))
	if g := got(t0.AddDate(0, 0, 30)); len(g) != 1 || g[0] != "D-1" {
		t.Fatalf("Due after resolving D-3 = %v, want [D-1]", g)
	}
	// The supplement arrives: D-2's due moves later by the time waited.
	h.applyEach(event("D-2/4", "supplement", "D-2", 60*24*2))
	d2, err := h.db.Dossier(ctx, "D-2")
	if err != nil {
		t.Fatal(err)
	}
	if !d2.Due.After(dues[1]) {
		t.Fatalf("D-2 due %s after the pause, want later than %s", d2.Due, dues[1])
	}
	if g := got(d2.Due); len(g) != 1 || g[0] != "D-2" {
		t.Fatalf("Due(D-2's new due) = %v, want [D-2]", g)
	}
}
