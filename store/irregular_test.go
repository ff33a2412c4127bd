package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/workflow"
)

// The dossiers and agencies of irregularStream.
const (
	irrD1      = "000.00.12.H57-250804-0101"
	irrD2      = "000.00.12.H58-250806-0102"
	irrD3      = "000.00.12.H57-250808-0103"
	irrAgencyA = "000.00.12.H57"
	irrAgencyB = "000.00.12.H58"
)

// aug is a time of August 2025 in Vietnam. Monday 4 to Friday 15 August
// are working days, 07:00–11:30 and 13:30–17:00.
func aug(day, hour, minute int) time.Time {
	return time.Date(2025, 8, day, hour, minute, 0, 0, workflow.Zone)
}

// irregularStream applies, one envelope at a time, a stream in which each
// kind of irregularity occurs, with the stream's timestamp of each
// message set by hand, and returns the sequences:
//
//	1  D1 receive, event Mon 4 08:00, reached the stream Wed 6 08:00: a
//	   late entry of cb-01 at agency A, 16 working hours (Mon 7 h, Tue 8 h,
//	   Wed 07:00–08:00 1 h) — more than the one working day allowed
//	2  D1 assign, on time
//	3  D2 receive at agency B, due Thu 7 17:00
//	4  D1 request_supplement, the first: no irregularity
//	5  D1 supplement
//	6  D2 assign
//	7  D2 apologize Thu 7 09:00: 6 working hours before the due time
//	   (09:00–11:30, 13:30–17:00), less than a working day: a late apology
//	   of cb-03 at agency B
//	8  D1 request_supplement again, event Thu 7 10:00, reached the stream
//	   Fri 8 16:00: a repeated supplement request and a late entry of cb-02
//	   at agency A, 12 working hours (Thu 10:00–11:30 and 13:30–17:00 5 h,
//	   Fri 07:00–11:30 and 13:30–16:00 7 h)
//	9  D3 receive, on time
//	10 D3 assign, event Fri 8 16:40, reached the stream Tue 12 16:40: a late
//	   entry of cb-01 at agency A, 16 working hours (Fri 20 min, Mon 8 h,
//	   Tue 7 h 40 min)
func irregularStream(h *harness) {
	h.t.Helper()
	for _, env := range irregularEnvelopes(h) {
		res := h.apply([]workflow.Envelope{env})
		if o := res.Outcomes[0]; o.Kind != workflow.OutcomeAccepted {
			h.t.Fatalf("%s %s = %s (%s) %s; want accepted", env.Event.Dossier, env.Event.Action, o.Kind, o.Reason, o.MessageEN)
		}
	}
}

// irregularEnvelopes returns the envelopes of irregularStream, of the
// harness's next sequences.
func irregularEnvelopes(h *harness) []workflow.Envelope {
	on := func(actor string, at time.Time, opts ...func(*workflow.Event)) []func(*workflow.Event) {
		return append([]func(*workflow.Event){func(e *workflow.Event) { e.Actor, e.Time = actor, at }}, opts...)
	}
	steps := []struct {
		e       *workflow.Event
		arrived time.Time
	}{
		{event(irrD1+"/1", "receive", irrD1, 0, on("cb-01", aug(4, 8, 0), attach(workflow.AttachmentInputDigitized), due(aug(15, 17, 0)))...), aug(6, 8, 0)},
		{event(irrD1+"/2", "assign", irrD1, 0, on("cb-02", aug(6, 9, 0), department("phong-tn"))...), aug(6, 9, 0)},
		{event(irrD2+"/1", "receive", irrD2, 0, on("cb-03", aug(6, 9, 30), agency(irrAgencyB), attach(workflow.AttachmentInputDigitized), due(aug(7, 17, 0)))...), aug(6, 9, 30)},
		{event(irrD1+"/3", "request_supplement", irrD1, 0, on("cb-02", aug(6, 10, 0), attach("supplement_request"))...), aug(6, 10, 0)},
		{event(irrD1+"/4", "supplement", irrD1, 0, on("cong-dan", aug(7, 8, 0))...), aug(7, 8, 0)},
		{event(irrD2+"/2", "assign", irrD2, 0, on("cb-03", aug(7, 8, 30), agency(irrAgencyB), department("phong-tn"))...), aug(7, 8, 30)},
		{event(irrD2+"/3", "apologize", irrD2, 0, on("cb-03", aug(7, 9, 0), agency(irrAgencyB), attach("apology_letter"), func(e *workflow.Event) {
			e.NewDue, e.Reason = aug(11, 17, 0), "chờ ý kiến của sở"
		})...), aug(7, 9, 0)},
		{event(irrD1+"/5", "request_supplement", irrD1, 0, on("cb-02", aug(7, 10, 0), attach("supplement_request"))...), aug(8, 16, 0)},
		{event(irrD3+"/1", "receive", irrD3, 0, on("cb-01", aug(8, 16, 30), attach(workflow.AttachmentInputDigitized), due(aug(15, 17, 0)))...), aug(8, 16, 30)},
		{event(irrD3+"/2", "assign", irrD3, 0, on("cb-01", aug(8, 16, 40), department("phong-tn"))...), aug(12, 16, 40)},
	}
	var envs []workflow.Envelope
	for _, s := range steps {
		env := h.envelopes(s.e)[0]
		env.Published = s.arrived
		envs = append(envs, env)
	}
	return envs
}

// irr is what a test compares of an irregularity.
type irr struct {
	Seq     uint64
	Kind    workflow.IrregularityKind
	Dossier string
	Agency  string
	Actor   string
	Delay   time.Duration
}

func irrsOf(list []workflow.Irregularity) []irr {
	out := []irr{}
	for _, ir := range list {
		out = append(out, irr{ir.Seq, ir.Kind, ir.Dossier, ir.Agency, ir.Actor, ir.Delay})
	}
	return out
}

// The irregularities of irregularStream, newest first.
var (
	irr10 = irr{10, workflow.IrregularLateEntry, irrD3, irrAgencyA, "cb-01", 16 * time.Hour}
	irr8a = irr{8, workflow.IrregularLateEntry, irrD1, irrAgencyA, "cb-02", 12 * time.Hour}
	irr8b = irr{8, workflow.IrregularRepeatedSupplement, irrD1, irrAgencyA, "cb-02", 0}
	irr7  = irr{7, workflow.IrregularLateApology, irrD2, irrAgencyB, "cb-03", 6 * time.Hour}
	irr1  = irr{1, workflow.IrregularLateEntry, irrD1, irrAgencyA, "cb-01", 16 * time.Hour}
)

// TestIrregularities lists the irregularities of a stream with each kind
// by every filter and page size, and checks their records, counters and
// tallies.
func TestIrregularities(t *testing.T) {
	h := newHarness(t, nil)
	irregularStream(h)
	ctx := context.Background()

	for _, tt := range []struct {
		q    workflow.IrregularityQuery
		want []irr
	}{
		{workflow.IrregularityQuery{}, []irr{irr10, irr8a, irr8b, irr7, irr1}},
		{workflow.IrregularityQuery{Kind: workflow.IrregularLateEntry}, []irr{irr10, irr8a, irr1}},
		{workflow.IrregularityQuery{Kind: workflow.IrregularLateApology}, []irr{irr7}},
		{workflow.IrregularityQuery{Kind: workflow.IrregularRepeatedSupplement}, []irr{irr8b}},
		{workflow.IrregularityQuery{Dossier: irrD1}, []irr{irr8a, irr8b, irr1}},
		{workflow.IrregularityQuery{Dossier: irrD1, Kind: workflow.IrregularRepeatedSupplement}, []irr{irr8b}},
		{workflow.IrregularityQuery{Dossier: irrD2, Kind: workflow.IrregularLateEntry}, []irr{}},
		{workflow.IrregularityQuery{Agency: irrAgencyA}, []irr{irr10, irr8a, irr8b, irr1}},
		{workflow.IrregularityQuery{Agency: irrAgencyB}, []irr{irr7}},
		{workflow.IrregularityQuery{Agency: "000.00.12.H59"}, []irr{}},
		{workflow.IrregularityQuery{Actor: "cb-01"}, []irr{irr10, irr1}},
		{workflow.IrregularityQuery{Actor: "cb-02", Kind: workflow.IrregularLateEntry}, []irr{irr8a}},
		{workflow.IrregularityQuery{Actor: "cong-dan"}, []irr{}},
		{workflow.IrregularityQuery{Agency: irrAgencyA, Actor: "cb-03"}, []irr{}},
		{workflow.IrregularityQuery{Before: 8}, []irr{irr7, irr1}},
	} {
		list, next, err := h.db.Irregularities(ctx, tt.q)
		if err != nil {
			t.Fatalf("Irregularities(%+v) = %v", tt.q, err)
		}
		if diff := cmp.Diff(tt.want, irrsOf(list)); diff != "" || next != 0 {
			t.Errorf("Irregularities(%+v): next %d, want 0; (-want +got):\n%s", tt.q, next, diff)
		}
	}

	// Pages hold Limit events; the two irregularities of event 8 are
	// never split between pages.
	for _, tt := range []struct {
		q     workflow.IrregularityQuery
		pages [][]irr
		nexts []uint64
	}{
		{workflow.IrregularityQuery{Limit: 1}, [][]irr{{irr10}, {irr8a, irr8b}, {irr7}, {irr1}}, []uint64{10, 8, 7, 0}},
		{workflow.IrregularityQuery{Limit: 2}, [][]irr{{irr10, irr8a, irr8b}, {irr7, irr1}}, []uint64{8, 0}},
		{workflow.IrregularityQuery{Limit: 1, Kind: workflow.IrregularLateEntry}, [][]irr{{irr10}, {irr8a}, {irr1}}, []uint64{10, 8, 0}},
		{workflow.IrregularityQuery{Limit: 1, Agency: irrAgencyA, Actor: "cb-02"}, [][]irr{{irr8a, irr8b}}, []uint64{0}},
		{workflow.IrregularityQuery{Limit: 1, Dossier: irrD1}, [][]irr{{irr8a, irr8b}, {irr1}}, []uint64{8, 0}},
	} {
		q := tt.q
		for i, want := range tt.pages {
			list, next, err := h.db.Irregularities(ctx, q)
			if err != nil {
				t.Fatalf("Irregularities(%+v) = %v", q, err)
			}
			if diff := cmp.Diff(want, irrsOf(list)); diff != "" || next != tt.nexts[i] {
				t.Errorf("Irregularities(%+v), page %d: next %d, want %d; (-want +got):\n%s", q, i+1, next, tt.nexts[i], diff)
			}
			q.Before = next
		}
	}

	// The record of the late entry carries the event's time and when it
	// was entered (its arrival), and the details in both languages.
	list, _, err := h.db.Irregularities(ctx, workflow.IrregularityQuery{Dossier: irrD1, Kind: workflow.IrregularLateEntry, Before: 2})
	if err != nil || len(list) != 1 {
		t.Fatalf("Irregularities(D1, late entry, before 2) = %d, %v", len(list), err)
	}
	if ir := list[0]; ir.EventID != irrD1+"/1" || ir.Action != "receive" || ir.Source != "tayninh" || !ir.Time.Equal(aug(4, 8, 0)) ||
		!ir.Entered.Equal(aug(6, 8, 0)) || !strings.Contains(ir.DetailVI, "16 giờ làm việc") || !strings.Contains(ir.Detail, "16 working hours") {
		t.Errorf("late entry record %+v: want event D1/1 (receive, tayninh) of Mon 4 08:00 entered Wed 6 08:00, 16 working hours", ir)
	}

	// Counters and totals by kind.
	kinds := map[workflow.IrregularityKind]int{workflow.IrregularLateEntry: 3, workflow.IrregularLateApology: 1, workflow.IrregularRepeatedSupplement: 1}
	c, err := h.db.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(kinds, c.Irregularities); diff != "" {
		t.Errorf("Counts().Irregularities (-want +got):\n%s", diff)
	}
	tot, err := h.db.Totals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(kinds, tot.Irregularities); diff != "" {
		t.Errorf("Totals().Irregularities (-want +got):\n%s", diff)
	}
	// The dossiers count their late entries.
	for code, want := range map[string]int{irrD1: 2, irrD2: 0, irrD3: 1} {
		if d, err := h.db.Dossier(ctx, code); err != nil || d.LateEntries != want {
			t.Errorf("Dossier(%s).LateEntries = %v (%v), want %d", code, d, err, want)
		}
	}

	// The tallies by agency and officer.
	type tally = workflow.IrregularityTally
	a1 := tally{Agency: irrAgencyA, Actor: "cb-01", Counts: map[workflow.IrregularityKind]int{workflow.IrregularLateEntry: 2}, LateEntryDelay: 32 * time.Hour}
	a2 := tally{Agency: irrAgencyA, Actor: "cb-02", Counts: map[workflow.IrregularityKind]int{workflow.IrregularLateEntry: 1, workflow.IrregularRepeatedSupplement: 1}, LateEntryDelay: 12 * time.Hour}
	b3 := tally{Agency: irrAgencyB, Actor: "cb-03", Counts: map[workflow.IrregularityKind]int{workflow.IrregularLateApology: 1}}
	for _, tt := range []struct {
		q    workflow.IrregularityTallyQuery
		want []tally
	}{
		{workflow.IrregularityTallyQuery{}, []tally{a1, a2, b3}},
		{workflow.IrregularityTallyQuery{Agency: irrAgencyA}, []tally{a1, a2}},
		{workflow.IrregularityTallyQuery{Agency: irrAgencyB}, []tally{b3}},
		{workflow.IrregularityTallyQuery{Actor: "cb-02"}, []tally{a2}},
		{workflow.IrregularityTallyQuery{Agency: irrAgencyB, Actor: "cb-02"}, nil},
		{workflow.IrregularityTallyQuery{Agency: "000.00.12.H5"}, nil}, // a prefix of an agency is another agency
	} {
		got, err := h.db.IrregularityTallies(ctx, tt.q)
		if err != nil {
			t.Fatalf("IrregularityTallies(%+v) = %v", tt.q, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("IrregularityTallies(%+v) (-want +got):\n%s", tt.q, diff)
		}
	}
	if a1.Total() != 2 || a2.Total() != 2 || b3.Total() != 1 {
		t.Errorf("totals of the tallies %d %d %d, want 2 2 1", a1.Total(), a2.Total(), b3.Total())
	}
	sum := tally{}
	sum.Add(&a1)
	sum.Add(&a2)
	if want := (tally{Counts: map[workflow.IrregularityKind]int{workflow.IrregularLateEntry: 3, workflow.IrregularRepeatedSupplement: 1},
		LateEntryDelay: 44 * time.Hour}); !cmp.Equal(want, sum) {
		t.Errorf("the sum of agency A's tallies = %+v, want %+v", sum, want)
	}

	// The same after a reopen.
	h.reopen()
	if got, err := h.db.IrregularityTallies(ctx, workflow.IrregularityTallyQuery{}); err != nil || !cmp.Equal(got, []tally{a1, a2, b3}) {
		t.Errorf("IrregularityTallies after reopen = %+v, %v", got, err)
	}
}

// TestIrregularitiesInOneBatch: applied in one batch, the stream leaves
// the same state (state hash) as applied message by message.
func TestIrregularitiesInOneBatch(t *testing.T) {
	one := newHarness(t, nil)
	irregularStream(one)
	want, err := one.db.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	batch := newHarness(t, nil)
	if res := batch.apply(irregularEnvelopes(batch)); res.Accepted != 10 {
		t.Fatalf("Apply(the stream in one batch) accepted %d, want 10", res.Accepted)
	}
	got, err := batch.db.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("state hash of the stream in one batch %s, one by one %s", got, want)
	}
}

// TestVerifyFindsIrregularityTampering removes and adds index keys,
// changes counters and tallies of the irregularities behind the store's
// back: VerifyStore names each.
func TestVerifyFindsIrregularityTampering(t *testing.T) {
	for _, tt := range []struct {
		name    string
		tamper  func(b *buckets) error
		finding workflow.Finding // the fields compared: Bucket, Key, Want, Got
		problem string
	}{
		{"index key by kind removed", func(b *buckets) error {
			return b.irrByKind.Delete(prefixSeqKey(string(workflow.IrregularRepeatedSupplement), 8))
		}, workflow.Finding{Bucket: bucketIrrByKind, Want: "repeated_supplement 8"}, "missing from the index by kind"},
		{"index key by dossier removed", func(b *buckets) error {
			return b.irrByDossier.Delete(prefixSeqKey(irrD3, 10))
		}, workflow.Finding{Bucket: bucketIrrByDossier, Want: irrD3 + " 10"}, "missing from the index by dossier"},
		{"index key naming no row", func(b *buckets) error {
			return b.irrByKind.Put(prefixSeqKey(string(workflow.IrregularLateEntry), 9), nil)
		}, workflow.Finding{Bucket: bucketIrrByKind, Key: "late_entry 9"}, "no row in irregularities"},
		{"index key of another kind", func(b *buckets) error {
			return b.irrByKind.Put(prefixSeqKey(string(workflow.IrregularLateApology), 10), nil)
		}, workflow.Finding{Bucket: bucketIrrByKind, Key: "late_apology 10"}, "does not match row 10"},
		{"count of a kind changed", func(b *buckets) error {
			return b.counts.Put([]byte(countIrregularPrefix+"late_entry"), encodeUint64(4))
		}, workflow.Finding{Bucket: bucketCounts, Key: "irregularity:late_entry", Want: "3", Got: "4"}, "a recount gives 3"},
		{"count of all changed", func(b *buckets) error {
			return b.counts.Put([]byte(countIrregular), encodeUint64(1))
		}, workflow.Finding{Bucket: bucketCounts, Key: "irregularities", Want: "5", Got: "1"}, "a recount gives 5"},
		{"tally changed", func(b *buckets) error {
			return b.irrTally.Put(appendIrrTallyKey(nil, irrAgencyA, workflow.IrregularLateEntry, "cb-01"), appendIrrTally(nil, irrTally{n: 1, delay: 16 * 3600}))
		}, workflow.Finding{Bucket: bucketIrrTally, Key: irrAgencyA + " late_entry cb-01", Want: "count:2 delay:115200s", Got: "count:1 delay:57600s"}, "differs from a recount"},
		{"tally removed", func(b *buckets) error {
			return b.irrTally.Delete(appendIrrTallyKey(nil, irrAgencyB, workflow.IrregularLateApology, "cb-03"))
		}, workflow.Finding{Bucket: bucketIrrTally, Key: irrAgencyB + " late_apology cb-03", Want: "count:1 delay:21600s"}, "the tally is missing"},
		{"tally of nobody added", func(b *buckets) error {
			return b.irrTally.Put(appendIrrTallyKey(nil, irrAgencyB, workflow.IrregularLateEntry, "cb-09"), appendIrrTally(nil, irrTally{n: 1}))
		}, workflow.Finding{Bucket: bucketIrrTally, Key: irrAgencyB + " late_entry cb-09", Want: "count:0 delay:0s", Got: "count:1 delay:0s"}, "differs from a recount"},
		{"row removed", func(b *buckets) error {
			return b.irregular.Delete(seqKey(7))
		}, workflow.Finding{Bucket: bucketIrrByDossier, Key: irrD2 + " 7"}, "no row in irregularities"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &harness{t: t, path: filepath.Join(t.TempDir(), "hoso.db"), cat: shippedCatalog(t)}
			h.open()
			t.Cleanup(func() { h.db.Close() })
			irregularStream(h)
			if f, err := h.db.VerifyStore(context.Background()); err != nil || len(f) != 0 {
				t.Fatalf("VerifyStore before tampering = %+v, %v", f, err)
			}
			if err := h.db.Close(); err != nil {
				t.Fatal(err)
			}
			tamper(t, h.path, tt.tamper)
			h.open()
			findings, err := h.db.VerifyStore(context.Background())
			if err != nil {
				t.Fatalf("VerifyStore = %v", err)
			}
			found := false
			for _, f := range findings {
				if f.Bucket == tt.finding.Bucket && f.Key == tt.finding.Key && f.Want == tt.finding.Want && f.Got == tt.finding.Got &&
					strings.Contains(f.Problem, tt.problem) {
					found = true
				}
			}
			if !found {
				t.Errorf("VerifyStore = %s; want a finding %+v saying %q", fmtFindings(findings), tt.finding, tt.problem)
			}
		})
	}
}

func fmtFindings(fs []workflow.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "\n  %+v", f)
	}
	return b.String()
}
