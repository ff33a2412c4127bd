package store

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/workflow"
)

// periodClose builds the period-close event of a month, from source.
func periodClose(source, month string, at time.Time) *workflow.Event {
	return &workflow.Event{ID: workflow.PeriodCloseID(month), SourceURI: "/hoso/scheduler", Source: source,
		Action: workflow.PeriodCloseAction, Dossier: workflow.PeriodSubject(month), Time: at, Actor: "hoso", Period: month}
}

// periodStream is a stream of August and September 2025 (t0 is Monday 4
// August 2025, 08:00):
//
//	1 A receive at H57, due 18 August
//	2 B receive at H58, due t0+2h
//	3 B expires at t0+2h: overdue, no apology
//	4 C receive at H57, then 5 assign
//	6 a period close of 2025-08 from tayninh: rejected, only hoso closes
//	7 the close of 2025-08, at 1 September 00:00: in progress A, B, C;
//	  at H57 A and C on time, at H58 B overdue without apology
//	8 the same close again: a duplicate
//	9 A assign, 10 A resolve, 11 D receive, in September
//
// After the close, A is resolved and D received: the gauges now are B,
// C and D in progress, A awaiting return; the snapshot stays.
func periodStream() []*workflow.Event {
	const a, b, c, d = "000.00.12.H57-250804-0001", "000.00.12.H58-250804-0002", "000.00.12.H57-250804-0003", "000.00.12.H57-250902-0004"
	h58 := agency("000.00.12.H58")
	bDue := t0.Add(2 * time.Hour)
	sep1 := time.Date(2025, 9, 1, 0, 0, 0, 0, workflow.Zone)
	expire := &workflow.Event{ID: "expire-b", SourceURI: "/hoso/scheduler", Source: workflow.SystemSource,
		Action: workflow.DeadlineExpired, Dossier: b, Time: bDue, Procedure: "1.004227", Agency: "000.00.12.H58",
		Actor: workflow.SystemSource, Due: bDue}
	forged := periodClose("tayninh", "2025-08", sep1)
	forged.ID = "forged-close"
	return []*workflow.Event{
		event("a1", "receive", a, 0, attach(workflow.AttachmentInputDigitized), due(time.Date(2025, 8, 18, 17, 0, 0, 0, workflow.Zone))),
		event("b1", "receive", b, 1, h58, attach(workflow.AttachmentInputDigitized), due(bDue)),
		expire,
		event("c1", "receive", c, 3, attach(workflow.AttachmentInputDigitized), due(time.Date(2025, 8, 20, 17, 0, 0, 0, workflow.Zone))),
		event("c2", "assign", c, 4, department("p")),
		forged,
		periodClose(workflow.SystemSource, "2025-08", sep1),
		periodClose(workflow.SystemSource, "2025-08", sep1.Add(time.Minute)),
		event("a2", "assign", a, 60*24*29, department("p")),
		event("a3", "resolve", a, 60*24*29+1, attach(workflow.AttachmentResultElectronic)),
		event("d1", "receive", d, 60*24*29+2, attach(workflow.AttachmentInputDigitized), due(time.Date(2025, 9, 20, 17, 0, 0, 0, workflow.Zone))),
	}
}

// TestPeriodClose applies periodStream one envelope per batch and in one
// batch, and reads the end of August from the snapshot both ways.
func TestPeriodClose(t *testing.T) {
	evs := periodStream()
	one := newHarness(t, nil)
	var outcomes []workflow.Outcome
	for _, env := range one.envelopes(evs...) {
		outcomes = append(outcomes, one.apply([]workflow.Envelope{env}).Outcomes...)
	}
	all := newHarness(t, nil)
	all.apply(all.envelopes(evs...))

	wantKinds := []workflow.OutcomeKind{"accepted", "accepted", "deadline", "accepted", "accepted",
		"rejected", "accepted", "rejected", "accepted", "accepted", "accepted"}
	for i, o := range outcomes {
		if o.Kind != wantKinds[i] {
			t.Errorf("outcome %d (%s %s) = %s (%s %s), want %s", i+1, o.Dossier, o.Action, o.Kind, o.Reason, o.MessageEN, wantKinds[i])
		}
	}
	if o := outcomes[5]; o.Reason != workflow.ReasonUnknownAction {
		t.Errorf("a close from tayninh: %s, want unknown_action", o.Reason)
	}
	if o := outcomes[6]; o.Source != workflow.SystemSource || o.Dossier != "period_2025_08" {
		t.Errorf("the close's outcome goes to %q about %q, want hoso about period_2025_08", o.Source, o.Dossier)
	}
	if o := outcomes[7]; o.Reason != workflow.ReasonDuplicate {
		t.Errorf("the close again: %s, want duplicate", o.Reason)
	}

	ctx := context.Background()
	h1, err := one.db.StateHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := all.db.StateHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h1 != h2 {
		t.Errorf("state hash one envelope per batch %s, in one batch %s", h1, h2)
	}

	taken := time.Date(2025, 9, 1, 0, 0, 0, 0, workflow.Zone)
	for name, db := range map[string]*DB{"one per batch": one.db, "one batch": all.db} {
		if last, err := db.LastPeriod(ctx); err != nil || last != "2025-08" {
			t.Errorf("%s: LastPeriod() = %q, %v; want 2025-08", name, last, err)
		}
		res, err := db.Stats(ctx, workflow.StatsQuery{From: "2025-08", To: "2025-08", By: workflow.ByAgency})
		if err != nil {
			t.Fatal(err)
		}
		// A, B, C in progress at the close; B overdue without apology.
		want := &workflow.PeriodEnd{Month: "2025-08", TakenAt: taken, Seq: 7, InProgress: 3, OnTime: 2, Overdue: 1, OverdueWithoutApology: 1}
		if diff := cmp.Diff(want, res.AtEnd); diff != "" || res.AtEndMissing != "" {
			t.Errorf("%s: end of August (-want +got):\n%s%s", name, diff, res.AtEndMissing)
		}
		wantRows := map[string]*workflow.PeriodEnd{
			"000.00.12.H57": {Month: "2025-08", TakenAt: taken, Seq: 7, InProgress: 2, OnTime: 2},
			"000.00.12.H58": {Month: "2025-08", TakenAt: taken, Seq: 7, InProgress: 1, Overdue: 1, OverdueWithoutApology: 1},
		}
		gotRows := map[string]*workflow.PeriodEnd{}
		for _, r := range res.Rows {
			gotRows[r.Key] = r.AtEnd
		}
		if diff := cmp.Diff(wantRows, gotRows); diff != "" {
			t.Errorf("%s: end of August by agency (-want +got):\n%s", name, diff)
		}
		// Now: B, C, D in progress (B overdue), A resolved: not what the
		// snapshot says.
		if g := res.Total; g.InProgress != 3 || g.InProgressOverdue != 1 || g.AwaitingReturn != 1 {
			t.Errorf("%s: gauges now %d in progress, %d overdue, %d awaiting return; want 3, 1, 1", name, g.InProgress, g.InProgressOverdue, g.AwaitingReturn)
		}
		// September is not closed.
		res, err = db.Stats(ctx, workflow.StatsQuery{From: "2025-08", To: "2025-09", Now: time.Date(2025, 9, 15, 0, 0, 0, 0, workflow.Zone)})
		if err != nil {
			t.Fatal(err)
		}
		if res.AtEnd != nil || res.AtEndMissing != "the period has not ended: 2025-09 is not over" {
			t.Errorf("%s: end of September %+v, %q; want none, not ended", name, res.AtEnd, res.AtEndMissing)
		}
	}

	// verify finds a rollup snapshot row that is not the sum of its rows,
	// then nothing once it is put back.
	key := append(statsPrefix(statsKindDossier, "2025-08"), "*\x00*"...)
	var saved []byte
	tamper := func(v func([]byte) []byte) {
		t.Helper()
		err := all.db.update(ctx, func(b *buckets) error {
			old := b.snapshots.Get(key)
			if old == nil {
				t.Fatalf("no snapshot row %q", key)
			}
			saved = bytes.Clone(old)
			return b.snapshots.Put(key, v(old))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	tamper(func(old []byte) []byte {
		tt, _ := decodeTally(old)
		tt.InProgress++
		return encodeTally(&tt)
	})
	fs, err := all.db.VerifyStore(ctx)
	if err != nil || len(fs) != 1 || fs[0].Bucket != bucketSnapshots {
		t.Errorf("VerifyStore(a rollup snapshot one off) = %+v, %v; want one finding in %s", fs, err, bucketSnapshots)
	}
	good := saved
	tamper(func([]byte) []byte { return good })
	if fs, err := all.db.VerifyStore(ctx); err != nil || len(fs) != 0 {
		t.Errorf("VerifyStore(restored) = %+v, %v", fs, err)
	}
}
