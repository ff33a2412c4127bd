package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/workflow"
)

// expire returns the deadline expiry the scheduler would publish for a
// dossier due at due.
func expire(code string, due time.Time, minute int) *workflow.Event {
	return event("expire/"+code, workflow.DeadlineExpired, code, minute, func(e *workflow.Event) {
		e.Source, e.Actor, e.Due = workflow.SystemSource, workflow.SystemSource, due
	})
}

// TestDeadlines: the overdue index holds the dossiers an expiry flagged
// while in progress, in due order both ways, filtered and paged; the due
// index answers "due by then"; both leave with the state; Totals counts
// them.
func TestDeadlines(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	type spec struct {
		code, agency string
		due          time.Time
	}
	specs := []spec{
		{"O-1", "H57", t0.AddDate(0, 0, 3)},
		{"O-2", "H58", t0.AddDate(0, 0, 1)},
		{"O-3", "H57", t0.AddDate(0, 0, 2)},
		{"R-1", "H57", t0.AddDate(0, 0, 20)},
	}
	for i, s := range specs {
		h.applyEach(
			event(s.code+"/1", "receive", s.code, i, agency(s.agency), attach(workflow.AttachmentInputDigitized), due(s.due)),
			event(s.code+"/2", "assign", s.code, 10+i, agency(s.agency), department("p")),
		)
	}
	for i, s := range specs[:3] {
		h.applyEach(expire(s.code, s.due, 60*24*5+i))
	}
	codes := func(q workflow.DeadlineQuery) []string {
		t.Helper()
		var out []string
		for {
			list, next, err := h.db.Deadlines(ctx, q)
			if err != nil {
				t.Fatalf("Deadlines(%+v): %v", q, err)
			}
			for _, d := range list {
				out = append(out, d.Code)
			}
			if next == "" {
				return out
			}
			q.After = next
		}
	}
	for _, c := range []struct {
		q    workflow.DeadlineQuery
		want []string
	}{
		{workflow.DeadlineQuery{Overdue: true, Limit: 1}, []string{"O-2", "O-3", "O-1"}},
		{workflow.DeadlineQuery{Overdue: true, Desc: true, Limit: 1}, []string{"O-1", "O-3", "O-2"}},
		{workflow.DeadlineQuery{Overdue: true, Agency: "H57", Limit: 1}, []string{"O-3", "O-1"}},
		{workflow.DeadlineQuery{Overdue: true, Agency: "H57", Desc: true}, []string{"O-1", "O-3"}},
		{workflow.DeadlineQuery{Overdue: true, Agency: "H99"}, nil},
		{workflow.DeadlineQuery{Overdue: true, Until: t0.AddDate(0, 0, 2), Desc: true, Limit: 1}, []string{"O-3", "O-2"}},
		{workflow.DeadlineQuery{Overdue: true, Until: t0.AddDate(0, 0, 2)}, []string{"O-2", "O-3"}},
		{workflow.DeadlineQuery{}, []string{"R-1"}},
		{workflow.DeadlineQuery{Until: t0.AddDate(0, 0, 19)}, nil},
		{workflow.DeadlineQuery{Until: t0.AddDate(0, 0, 20), Desc: true}, []string{"R-1"}},
	} {
		if got := codes(c.q); !slices.Equal(got, c.want) {
			t.Errorf("Deadlines(%+v) = %v, want %v", c.q, got, c.want)
		}
	}
	tot, err := h.db.Totals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := workflow.Totals{Dossiers: 4, ClockRunning: 1, Overdue: 3}
	want.ByStatus[workflow.StatusProcessing] = 4
	if diff := cmp.Diff(want, tot); diff != "" {
		t.Errorf("Totals (-want +got):\n%s", diff)
	}

	// Resolved late, O-2 leaves the overdue index.
	h.applyEach(event("O-2/3", "resolve", "O-2", 60*24*9, agency("H58"), attach(workflow.AttachmentResultElectronic)))
	if got := codes(workflow.DeadlineQuery{Overdue: true}); !slices.Equal(got, []string{"O-3", "O-1"}) {
		t.Errorf("overdue after resolving O-2 = %v, want [O-3 O-1]", got)
	}
	if _, _, err := h.db.Deadlines(ctx, workflow.DeadlineQuery{After: "zz"}); !errors.Is(err, ErrBadCursor) {
		t.Errorf("Deadlines with a bad cursor: %v, want ErrBadCursor", err)
	}
}
