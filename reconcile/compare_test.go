package reconcile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/workflow"
)

// hosoState is a hand-made set of dossiers, as hoso would hold them.
type hosoState map[string]*workflow.Dossier

func (h hosoState) add(code, agency string, st workflow.Status, terminal bool, due time.Time, attachments ...string) {
	slices.Sort(attachments)
	h[code] = &workflow.Dossier{Code: code, Agency: agency, Source: "tayninh", Status: st, Terminal: terminal,
		Due: due, Attachments: attachments}
}

func (h hosoState) lookup(codes []string) (map[string]*workflow.Dossier, error) {
	out := make(map[string]*workflow.Dossier)
	for _, c := range codes {
		if d, ok := h[c]; ok {
			out[c] = d
		}
	}
	return out, nil
}

// known yields the dossiers in scope, in the order of codes.
func (h hosoState) known(s Scope, codes []string) func(yield func(*workflow.Dossier) bool) error {
	return func(yield func(*workflow.Dossier) bool) error {
		for _, c := range codes {
			if d := h[c]; s.Includes(d) && !yield(d) {
				return nil
			}
		}
		return nil
	}
}

func (h hosoState) codes() []string {
	var out []string
	for c := range h {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// compareFixture is a state and an export covering every kind of
// difference, and rows that must not differ.
func compareFixture() (hosoState, []Row) {
	const (
		result    = workflow.AttachmentResultElectronic
		digitized = workflow.AttachmentInputDigitized
	)
	due := time.Date(2025, 10, 15, 17, 0, 0, 0, workflow.Zone)
	h := hosoState{}
	h.add("A-01", "H57", 10, true, due, digitized, result) // agrees in every value
	h.add("A-02", "H57", 4, false, due, digitized)         // status, result, due differ
	h.add("A-03", "H57", 10, true, due, result)            // result missing in the export; digitized differs
	h.add("A-04", "H57", 4, false, due)                    // export: no result, not yet due: agrees
	h.add("A-05", "H57", 10, true, due)                    // a procedure without a result: agrees
	h.add("A-06", "H57", 2, false, time.Time{})            // hoso has no due date
	h.add("A-07", "H57", 1, false, time.Time{})            // open, not in the export
	h.add("A-08", "H57", 8, true, due)                     // closed, not in the export
	h.add("B-01", "H58", 4, false, due)                    // another agency's, open, not in the export
	h.add("B-02", "H58", 3, true, time.Time{})             // another agency's, closed, not in the export
	rows := []Row{
		{Line: 2, Code: "A-01", Status: 10, HasResult: flag(true), Digitized: flag(true), Due: day(2025, 10, 15)},
		{Line: 3, Code: "A-02", Status: 9, HasResult: flag(true), Digitized: flag(true), Due: day(2025, 10, 16)},
		{Line: 4, Code: "A-03", Status: 10, HasResult: flag(false), Digitized: flag(true)},
		{Line: 5, Code: "A-04", Status: 4, HasResult: flag(false), Digitized: flag(false)},
		{Line: 6, Code: "A-05", HasResult: flag(false)},
		{Line: 7, Code: "A-06", Status: 2, Due: day(2025, 10, 20)},
		{Line: 8, Code: "Z-99", Status: 4, HasResult: flag(true)},
		{Line: 9, Code: "Z-98"},
	}
	return h, rows
}

func TestCompare(t *testing.T) {
	h, rows := compareFixture()
	items := func(d ...Difference) []Difference {
		if d == nil {
			return []Difference{}
		}
		return d
	}
	report := func(missing ...Difference) Report {
		groups := []Group{
			{KindStatus, 1, items(Difference{Kind: KindStatus, Code: "A-02", Line: 3, Export: "9", Hoso: "4", Agency: "H57", Status: 4})},
			{KindUnknown, 2, items(
				Difference{Kind: KindUnknown, Code: "Z-98", Line: 9},
				Difference{Kind: KindUnknown, Code: "Z-99", Line: 8, Export: "4"})},
			{KindResult, 2, items(
				Difference{Kind: KindResult, Code: "A-02", Line: 3, Export: "yes", Hoso: "no", Agency: "H57", Status: 4},
				Difference{Kind: KindResult, Code: "A-03", Line: 4, Export: "no", Hoso: "yes", Agency: "H57", Status: 10})},
			{KindDigitized, 1, items(Difference{Kind: KindDigitized, Code: "A-03", Line: 4, Export: "yes", Hoso: "no", Agency: "H57", Status: 10})},
			{KindDue, 2, items(
				Difference{Kind: KindDue, Code: "A-02", Line: 3, Export: "2025-10-16", Hoso: "2025-10-15", Agency: "H57", Status: 4},
				Difference{Kind: KindDue, Code: "A-06", Line: 7, Export: "2025-10-20", Hoso: "", Agency: "H57", Status: 2})},
			{KindMissing, len(missing), items(missing...)},
		}
		r := Report{Rows: 8, Known: 6, Agreeing: 3, Counts: map[Kind]int{}, Groups: groups}
		for _, g := range groups {
			r.Counts[g.Kind] = g.Count
			r.Differences += g.Count
		}
		return r
	}
	missing := func(code, agency string, st workflow.Status) Difference {
		return Difference{Kind: KindMissing, Code: code, Hoso: fmt.Sprint(int(st)), Agency: agency, Status: st}
	}
	tests := []struct {
		name  string
		scope *Scope // nil: no check of missing dossiers
		want  Report
	}{
		{"open dossiers of every agency", &Scope{}, report(missing("A-07", "H57", 1), missing("B-01", "H58", 4))},
		{"open dossiers of one agency", &Scope{Agency: "H57"}, report(missing("A-07", "H57", 1))},
		{"every dossier of one agency", &Scope{Agency: "H57", Closed: true}, report(missing("A-07", "H57", 1), missing("A-08", "H57", 8))},
		{"every dossier", &Scope{Closed: true}, report(missing("A-07", "H57", 1), missing("A-08", "H57", 8),
			missing("B-01", "H58", 4), missing("B-02", "H58", 3))},
		{"no check of missing dossiers", nil, report()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var known func(func(*workflow.Dossier) bool) error
			if tt.scope != nil {
				known = h.known(*tt.scope, h.codes())
			}
			got, err := Compare(rows, h.lookup, known)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Compare() (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("deterministic whatever the order", func(t *testing.T) {
		want, err := Compare(rows, h.lookup, h.known(Scope{Closed: true}, h.codes()))
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for range 20 {
			shuffled, codes := slices.Clone(rows), h.codes()
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			rng.Shuffle(len(codes), func(i, j int) { codes[i], codes[j] = codes[j], codes[i] })
			got, err := Compare(shuffled, h.lookup, h.known(Scope{Closed: true}, codes))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("Compare() of shuffled input (-want +got):\n%s", diff)
			}
		}
	})

	t.Run("an empty export", func(t *testing.T) {
		got, err := Compare(nil, h.lookup, h.known(Scope{Agency: "H58"}, h.codes()))
		if err != nil {
			t.Fatal(err)
		}
		if got.Rows != 0 || got.Differences != 1 || got.Counts[KindMissing] != 1 || len(got.Groups) != len(Kinds()) || got.Group(KindStatus).Items == nil {
			t.Fatalf("Compare(nil) = %+v", got)
		}
	})
}

func TestCompareBatches(t *testing.T) {
	h := hosoState{}
	var rows []Row
	const n = 2*LookupBatch + 100
	for i := range n {
		code := fmt.Sprintf("C-%05d", i)
		if i%2 == 0 {
			h.add(code, "H57", 4, false, time.Time{})
		}
		rows = append(rows, Row{Line: i + 2, Code: code, Status: 4})
	}
	calls := 0
	lookup := func(codes []string) (map[string]*workflow.Dossier, error) {
		calls++
		if len(codes) > LookupBatch {
			t.Errorf("lookup of %d codes, want at most %d", len(codes), LookupBatch)
		}
		return h.lookup(codes)
	}
	rep, err := Compare(rows, lookup, nil)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3 || rep.Known != n/2 || rep.Agreeing != n/2 || rep.Counts[KindUnknown] != n/2 {
		t.Fatalf("Compare(%d rows): %d lookups, report %d known, %d agreeing, %v", n, calls, rep.Known, rep.Agreeing, rep.Counts)
	}
}

func TestCompareErrors(t *testing.T) {
	h, rows := compareFixture()
	boom := errors.New("boom")
	_, err := Compare(rows, func([]string) (map[string]*workflow.Dossier, error) { return nil, boom }, nil)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "look up 8 dossiers") {
		t.Fatalf("Compare() with a failing lookup: %v", err)
	}
	_, err = Compare(rows, h.lookup, func(func(*workflow.Dossier) bool) error { return boom })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "scan the dossiers the export should list") {
		t.Fatalf("Compare() with a failing scan: %v", err)
	}
}

func TestCorrections(t *testing.T) {
	h, rows := compareFixture()
	rep, err := Compare(rows, h.lookup, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 10, 20, 9, 0, 0, 0, workflow.Zone)
	run := RunID([]byte("the export"))
	if len(run) != 32 || run != RunID([]byte("the export")) || run == RunID([]byte("another export")) {
		t.Fatalf("RunID() = %q: want 32 hex digits, the same for the same file only", run)
	}
	got, err := Corrections(&rep, run, at, h.lookup)
	if err != nil {
		t.Fatal(err)
	}
	due := time.Date(2025, 10, 15, 17, 0, 0, 0, workflow.Zone)
	want := []workflow.Outcome{{
		Kind: workflow.OutcomeCorrection, EventID: "reconcile:" + run + ":A-02", Source: "tayninh", Dossier: "A-02",
		Action: "reconcile", Status: 4, StatusName: "Đang xử lý", ClaimedStatus: 9, Reason: workflow.ReasonStatusMismatch,
		MessageVI: "Đối soát dữ liệu xuất từ phần mềm một cửa (lần đối soát " + run + "): trạng thái đúng là 4 Đang xử lý, không phải 9 Đã xử lý xong",
		MessageEN: "Reconciliation of the one-stop-shop's export (run " + run + "): the status is 4 In progress, not 9 Resolved",
		Due:       &due, Time: at,
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Corrections() (-want +got):\n%s", diff)
	}
	if id := got[0].MsgID(); id != "reconcile:"+run+":A-02@0" {
		t.Errorf("MsgID() = %q", id)
	}

	// A dossier that has since reached the exported status, or that hoso
	// no longer has, gets no correction.
	h["A-02"].Status = 9
	if got, err := Corrections(&rep, run, at, h.lookup); err != nil || len(got) != 0 {
		t.Fatalf("Corrections() after the dossier converged = %v, %v; want none", got, err)
	}
	delete(h, "A-02")
	if got, err := Corrections(&rep, run, at, h.lookup); err != nil || len(got) != 0 {
		t.Fatalf("Corrections() after the dossier vanished = %v, %v; want none", got, err)
	}
	rep.Group(KindStatus).Items[0].Export = "eleven"
	if _, err := Corrections(&rep, run, at, h.lookup); err == nil {
		t.Fatal("Corrections() of a report with a bad exported status: no error")
	}
}
