package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/workflow"
)

// TestDossiersOverdueAndReceived lists dossiers by the overdue flag and by
// receipt date, alone and with the other filters, page by page, and
// compares every answer with a filter and sort of all dossiers.
func TestDossiersOverdueAndReceived(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	agencies := []string{"A", "B"}
	var events []*workflow.Event
	for i := range 40 {
		code := fmt.Sprintf("000.00.12.H57-250804-%04d", 39-i)
		// Receipts spread over six days, some just before and after
		// midnight in Vietnam (a different date in UTC).
		minute := (i%6)*24*60 + []int{0, 15*60 + 45, 16*60 + 15}[i%3]
		opts := []func(*workflow.Event){agency(agencies[i%2]), func(e *workflow.Event) { e.Time = e.Time.Add(time.Duration(i) * time.Second) }}
		flow := standardFlow(code, minute, opts...)
		flow[0].Due = t0.AddDate(0, 0, 6+i%7) // after the latest receipt: a due date before the receipt is refused
		switch i % 5 {
		case 0: // submitted online, never received
			events = append(events, event(code+"/s", "submit", code, minute, opts...))
		case 1: // received, overdue while processing
			events = append(events, flow[:2]...)
			events = append(events, expiry(code, flow[0].Due, minute+60*24*9))
		case 2: // overdue, then resolved: no longer in progress
			events = append(events, flow[:2]...)
			events = append(events, expiry(code, flow[0].Due, minute+60*24*9), flow[3])
		case 3: // received, overdue while only received
			events = append(events, flow[0], expiry(code, flow[0].Due, minute+60*24*9))
		default:
			events = append(events, flow[:1+i%4]...)
		}
	}
	h.applyEach(events...)

	all, _, err := h.db.Dossiers(ctx, workflow.DossierQuery{Limit: MaxLimit})
	if err != nil || len(all) != 40 {
		t.Fatalf("Dossiers(all) = %d, %v; want 40", len(all), err)
	}
	receipt := func(d *workflow.Dossier) string {
		if d.ReceivedAt.IsZero() {
			return ""
		}
		return d.ReceivedAt.In(workflow.Zone).Format(time.DateOnly)
	}
	overdueNow := func(d *workflow.Dossier) bool {
		return d.Overdue && !d.Terminal && (d.Status == workflow.StatusReceived || d.Status == workflow.StatusProcessing)
	}
	var overdue int
	for _, d := range all {
		if overdueNow(&d) {
			overdue++
		}
	}
	if c, err := h.db.Counts(ctx); err != nil || c.Overdue != overdue || overdue != 16 {
		t.Fatalf("Counts().Overdue = %d, %v; want %d (16)", c.Overdue, err, overdue)
	}

	yes, no := true, false
	day := func(n int) string { return t0.AddDate(0, 0, n).Format(time.DateOnly) }
	for _, od := range []*bool{nil, &yes, &no} {
		for _, rng := range [][2]string{{"", ""}, {day(1), ""}, {"", day(2)}, {day(1), day(3)}, {day(4), day(4)}, {day(9), ""}} {
			for _, ag := range []string{"", "B"} {
				for _, status := range []workflow.Status{0, 4} {
					for _, lim := range []int{1, 3, 0} {
						q := workflow.DossierQuery{Overdue: od, ReceivedFrom: rng[0], ReceivedTo: rng[1], Agency: ag, Status: status, Limit: lim}
						var want []workflow.Dossier
						for _, d := range all {
							r := receipt(&d)
							switch {
							case od != nil && overdueNow(&d) != *od,
								ag != "" && d.Agency != ag,
								status != 0 && d.Status != status,
								(rng[0] != "" || rng[1] != "") && r == "",
								rng[0] != "" && r < rng[0],
								rng[1] != "" && r > rng[1]:
								continue
							}
							want = append(want, d)
						}
						switch {
						case od != nil && *od:
							slices.SortFunc(want, func(a, b workflow.Dossier) int {
								return cmp.Or(a.Due.Compare(b.Due), cmp.Compare(a.Code, b.Code))
							})
						case rng[0] != "" || rng[1] != "":
							slices.SortFunc(want, func(a, b workflow.Dossier) int {
								return cmp.Or(cmp.Compare(receipt(&a), receipt(&b)), cmp.Compare(a.Code, b.Code))
							})
						}
						var wantCodes, got []string
						for _, d := range want {
							wantCodes = append(wantCodes, d.Code)
						}
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
							q.After = next
						}
						if diff := gocmp.Diff(wantCodes, got); diff != "" {
							t.Errorf("Dossiers(overdue %v, received %v, agency %q, status %d, limit %d) (-want +got):\n%s",
								fmtBool(od), rng, ag, status, lim, diff)
						}
					}
				}
			}
		}
	}

	for _, q := range []workflow.DossierQuery{
		{Overdue: &yes, After: "not-hex"},
		{Overdue: &yes, After: "0011"},
		{ReceivedFrom: day(1), After: "000.00.12.H57-250804-0001"},
		{ReceivedTo: day(1), After: "2025-08-04~"},
	} {
		if _, _, err := h.db.Dossiers(ctx, q); !errors.Is(err, ErrBadCursor) {
			t.Errorf("Dossiers(%+v) = %v, want ErrBadCursor", q, err)
		}
	}
}

func fmtBool(b *bool) string {
	if b == nil {
		return "nil"
	}
	return fmt.Sprint(*b)
}

// expiry returns the deadline expiry the scheduler publishes for a
// dossier due at due.
func expiry(code string, due time.Time, minute int) *workflow.Event {
	return event(code+"/expired", workflow.DeadlineExpired, code, minute, func(e *workflow.Event) {
		e.Source, e.Actor, e.Due = workflow.SystemSource, workflow.SystemSource, due
	})
}

// TestVerifyPage pages through every chain and finds the broken one.
func TestVerifyPage(t *testing.T) {
	const n = 23
	h := tamperedHarness(t, func(b *buckets) error { return b.history.Delete(b.historyKeyOf(code1, 4)) })
	ctx := context.Background()
	var events []*workflow.Event
	for i := range n - 1 {
		events = append(events, standardFlow(fmt.Sprintf("V-%04d", i), 0)[:1+i%3]...)
	}
	h.apply(h.envelopes(events...))
	for _, lim := range []int{1, 5, n - 1, n, 0} {
		var codes []string
		after := ""
		for pages := 0; ; pages++ {
			reps, next, err := h.db.VerifyPage(ctx, after, lim)
			if err != nil || len(reps) > limit(lim) || pages > n {
				t.Fatalf("VerifyPage(%q, %d) = %d reports, %v", after, lim, len(reps), err)
			}
			for _, r := range reps {
				if r.OK == (r.Dossier == code1) {
					t.Errorf("VerifyPage: %+v; want only %s broken", r, code1)
				}
				codes = append(codes, r.Dossier)
			}
			if next == "" {
				break
			}
			if next != reps[len(reps)-1].Dossier {
				t.Fatalf("VerifyPage(%q, %d) next %q, last %q", after, lim, next, reps[len(reps)-1].Dossier)
			}
			after = next
		}
		if len(codes) != n || !slices.IsSorted(codes) {
			t.Errorf("VerifyPage with limit %d visited %v, want %d codes in order", lim, codes, n)
		}
	}
}

// TestProblemsByAgency: rejections and mismatches of an agency are those
// whose event named it and those of a dossier stored under it; a page
// passes over at most maxSkipped others and then returns, short, with a
// cursor that leads on to the rest.
func TestProblemsByAgency(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	const codeX = "000.00.12.X99-250804-0001"
	x99 := agency("000.00.12.X99")
	h.apply(h.envelopes(
		event("h-submit", "submit", code1, 0),                                         // seq 1: H57's dossier
		event("x-submit", "submit", codeX, 0, x99),                                    // 2: X99's dossier
		event("h-bad", "resolve", code1, 1),                                           // 3: rejected, H57 by event and dossier
		event("x-bad", "resolve", codeX, 1, x99),                                      // 4: rejected, X99
		event("h-named-x", "resolve", code1, 2, x99),                                  // 5: rejected, names X99, dossier of H57
		event("h-claim", "receive", code1, 3, claims(workflow.StatusProcessing)),      // 6: mismatch, H57
		event("x-claim", "receive", codeX, 3, x99, claims(workflow.StatusProcessing)), // 7: mismatch, X99
	))
	seqs := func(q workflow.RejectionQuery) []uint64 {
		t.Helper()
		list, next, err := h.db.Rejections(ctx, q)
		if err != nil || next != 0 {
			t.Fatalf("Rejections(%+v) = %v, next %d", q, err, next)
		}
		var s []uint64
		for _, r := range list {
			s = append(s, r.Seq)
		}
		return s
	}
	for _, tt := range []struct {
		q    workflow.RejectionQuery
		want []uint64
	}{
		{workflow.RejectionQuery{Agency: "000.00.12.H57"}, []uint64{5, 3}},
		{workflow.RejectionQuery{Agency: "000.00.12.X99"}, []uint64{5, 4}}, // 5 named X99
		{workflow.RejectionQuery{Agency: "000.00.12.X99", Dossier: codeX}, []uint64{4}},
		{workflow.RejectionQuery{Agency: "000.00.12.A01"}, nil},
		{workflow.RejectionQuery{}, []uint64{5, 4, 3}},
	} {
		if got := seqs(tt.q); !slices.Equal(got, tt.want) {
			t.Errorf("Rejections(%+v) = seqs %v, want %v", tt.q, got, tt.want)
		}
	}
	mis, _, err := h.db.Mismatches(ctx, workflow.MismatchQuery{Agency: "000.00.12.X99"})
	if err != nil || len(mis) != 1 || mis[0].Seq != 7 {
		t.Errorf("Mismatches(X99) = %+v, %v; want seq 7", mis, err)
	}

	// maxSkipped unreadable messages (no agency, no dossier) after them.
	var batch []workflow.Envelope
	for range maxSkipped + 10 {
		batch = append(batch, h.codecRejection(workflow.ReasonMalformed, ""))
	}
	h.apply(batch)
	q := workflow.RejectionQuery{Agency: "000.00.12.X99", Limit: 10}
	var got []uint64
	pages := 0
	for {
		list, next, err := h.db.Rejections(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range list {
			got = append(got, r.Seq)
		}
		if next == 0 {
			break
		}
		q.Before = next
	}
	if !slices.Equal(got, []uint64{5, 4}) || pages != 2 {
		t.Errorf("X99 behind %d others: seqs %v in %d pages, want 5, 4 in 2 (one short page with a cursor)", maxSkipped+10, got, pages)
	}
}

// TestDossiersSkipBound: a page of dossiers passes over at most
// maxSkipped that fail its filters, then returns short with a cursor
// that leads on to the rest.
func TestDossiersSkipBound(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	// Received the same day: maxSkipped+10 dossiers of H57, then (in the
	// received index's date-then-code order) two of X99.
	var events []*workflow.Event
	for i := range maxSkipped + 10 {
		code := fmt.Sprintf("000.00.12.H57-250804-%05d", i)
		events = append(events, standardFlow(code, 0)[0])
	}
	for i := range 2 {
		code := fmt.Sprintf("000.00.12.X99-250804-%05d", i)
		events = append(events, standardFlow(code, 0, agency("000.00.12.X99"))[0])
	}
	h.apply(h.envelopes(events...))

	q := workflow.DossierQuery{Agency: "000.00.12.X99", ReceivedFrom: t0.Format(time.DateOnly), Limit: 10}
	var sizes []int
	var got []string
	for {
		list, next, err := h.db.Dossiers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(list))
		for _, d := range list {
			got = append(got, d.Code)
		}
		if next == "" {
			break
		}
		q.After = next
	}
	want := []string{"000.00.12.X99-250804-00000", "000.00.12.X99-250804-00001"}
	if !slices.Equal(got, want) || !slices.Equal(sizes, []int{0, 2}) {
		t.Errorf("X99 behind %d others: %v in pages of %v, want %v in an empty page with a cursor, then 2", maxSkipped+10, got, sizes, want)
	}
}
