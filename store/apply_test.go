package store

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/workflow"
)

const code1 = "000.00.12.H57-250804-0001"

func TestApplyStandardFlow(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	events := standardFlow(code1, 0)
	for i, res := range h.applyEach(events...) {
		if res.Accepted != 1 || res.Rejected != 0 || res.Skipped != 0 || res.LastSeq != uint64(i+1) {
			t.Errorf("Apply(%s) = %+v, want 1 accepted, last seq %d", events[i].Action, res, i+1)
		}
	}

	d, err := h.db.Dossier(ctx, code1)
	if err != nil {
		t.Fatalf("Dossier(%q) = %v", code1, err)
	}
	want := &workflow.Dossier{
		Code:        code1,
		Procedure:   "1.004227",
		Agency:      "000.00.12.H57",
		Source:      "tayninh",
		Definition:  "standard",
		Version:     2,
		State:       "returned",
		Status:      workflow.StatusReturned,
		Terminal:    true,
		Department:  "phong-kt",
		Due:         t0.AddDate(0, 0, 10),
		OriginalDue: t0.AddDate(0, 0, 10),
		ReceivedAt:  t0,
		CreatedAt:   t0,
		UpdatedAt:   t0.Add(4 * time.Minute),
		ResolvedAt:  t0.Add(3 * time.Minute),
		ReturnedAt:  t0.Add(4 * time.Minute),
		Attachments: []string{workflow.AttachmentInputDigitized, workflow.AttachmentResultElectronic},
		History:     5,
		Head:        d.Head, // checked by Verify below
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("Dossier(%q) mismatch (-want +got):\n%s", code1, diff)
	}

	entries, err := h.db.History(ctx, code1)
	if err != nil {
		t.Fatalf("History(%q) = %v", code1, err)
	}
	wantSteps := []struct {
		action     string
		from, to   workflow.Status
		department string
	}{
		{"receive", 0, 2, ""}, {"assign", 2, 4, "phong-tn"}, {"transfer", 4, 4, "phong-kt"},
		{"resolve", 4, 9, "phong-kt"}, {"return", 9, 10, "phong-kt"},
	}
	if len(entries) != len(wantSteps) {
		t.Fatalf("History(%q) has %d entries, want %d", code1, len(entries), len(wantSteps))
	}
	for i, e := range entries {
		w := wantSteps[i]
		if e.Action != w.action || e.FromStatus != w.from || e.ToStatus != w.to || e.Department != w.department || e.Seq != uint64(i+1) {
			t.Errorf("entry %d = %s %d->%d %q seq %d, want %s %d->%d %q seq %d",
				i, e.Action, e.FromStatus, e.ToStatus, e.Department, e.Seq, w.action, w.from, w.to, w.department, i+1)
		}
		if got := e.ComputeHash(); got != e.Hash {
			t.Errorf("entry %d: hash %s, recomputed %s", i, e.Hash, got)
		}
	}
	r, err := h.db.Verify(ctx, code1)
	if err != nil || !r.OK || r.Entries != 5 || r.Head != d.Head {
		t.Errorf("Verify(%q) = %+v, %v; want OK over 5 entries ending at %s", code1, r, err, d.Head)
	}

	out, err := h.db.PendingOutcomes(ctx, 0, 0)
	if err != nil {
		t.Fatalf("PendingOutcomes = %v", err)
	}
	var gotKinds []string
	for i, o := range out {
		gotKinds = append(gotKinds, string(o.Kind)+" "+o.Action+" "+o.Status.String())
		if o.Seq != uint64(i+1) || o.EventID != events[i].ID || o.HistoryIndex == nil || *o.HistoryIndex != i {
			t.Errorf("outcome %d = seq %d id %q history %v, want seq %d id %q history %d", i, o.Seq, o.EventID, o.HistoryIndex, i+1, events[i].ID, i)
		}
	}
	wantKinds := []string{
		"accepted receive 2 Được tiếp nhận", "accepted assign 4 Đang xử lý", "accepted transfer 4 Đang xử lý",
		"accepted resolve 9 Đã xử lý xong", "accepted return 10 Đã trả kết quả",
	}
	if diff := cmp.Diff(wantKinds, gotKinds); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}

	c, err := h.db.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts := Counts{Dossiers: 1, ByStatus: statusCounts(10, 1), Entries: 5, ByReason: map[workflow.Reason]int{}, Irregularities: map[workflow.IrregularityKind]int{}, Outbox: 5}
	if diff := cmp.Diff(wantCounts, c); diff != "" {
		t.Errorf("Counts (-want +got):\n%s", diff)
	}
	if seq, err := h.db.AppliedSeq(); seq != 5 || err != nil {
		t.Errorf("AppliedSeq() = %d, %v; want 5", seq, err)
	}

	// The state survives a reopen.
	h.reopen()
	d2, err := h.db.Dossier(ctx, code1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, d2); diff != "" {
		t.Errorf("Dossier after reopen (-before +after):\n%s", diff)
	}
}

func TestOutbox(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.applyEach(standardFlow(code1, 0)...)

	if err := h.db.MarkPublished(ctx, 3); err != nil {
		t.Fatalf("MarkPublished(3) = %v", err)
	}
	if n, err := h.db.OutboxLen(); n != 2 || err != nil {
		t.Errorf("OutboxLen() = %d, %v; want 2", n, err)
	}
	out, err := h.db.PendingOutcomes(ctx, 0, 10)
	if err != nil || len(out) != 2 || out[0].Seq != 4 || out[1].Seq != 5 {
		t.Errorf("PendingOutcomes(0, 10) = %v, %v; want seqs 4, 5", out, err)
	}
	out, err = h.db.PendingOutcomes(ctx, 4, 10)
	if err != nil || len(out) != 1 || out[0].Seq != 5 {
		t.Errorf("PendingOutcomes(4, 10) = %v, %v; want seq 5", out, err)
	}
	out, err = h.db.PendingOutcomes(ctx, 0, 1)
	if err != nil || len(out) != 1 || out[0].Seq != 4 {
		t.Errorf("PendingOutcomes(0, 1) = %v, %v; want seq 4", out, err)
	}
	// Marking again, or below what is gone, is harmless.
	if err := h.db.MarkPublished(ctx, 2); err != nil {
		t.Fatalf("MarkPublished(2) = %v", err)
	}
	if err := h.db.MarkPublished(ctx, 100); err != nil {
		t.Fatalf("MarkPublished(100) = %v", err)
	}
	if n, err := h.db.OutboxLen(); n != 0 || err != nil {
		t.Errorf("OutboxLen() = %d, %v; want 0", n, err)
	}
}

// snapshot is everything a test compares before and after an operation
// that must not change the store.
type snapshot struct {
	Applied    uint64
	Counts     Counts
	Dossiers   []workflow.Dossier
	Rejections []workflow.Rejection
	Outbox     []workflow.Outcome
	Histories  map[string][]workflow.HistoryEntry
}

func (h *harness) snapshot() snapshot {
	h.t.Helper()
	ctx := context.Background()
	var s snapshot
	var err error
	if s.Applied, err = h.db.AppliedSeq(); err != nil {
		h.t.Fatal(err)
	}
	if s.Counts, err = h.db.Counts(ctx); err != nil {
		h.t.Fatal(err)
	}
	if s.Dossiers, _, err = h.db.Dossiers(ctx, workflow.DossierQuery{Limit: MaxLimit}); err != nil {
		h.t.Fatal(err)
	}
	if s.Rejections, _, err = h.db.Rejections(ctx, workflow.RejectionQuery{Limit: MaxLimit}); err != nil {
		h.t.Fatal(err)
	}
	if s.Outbox, err = h.db.PendingOutcomes(ctx, 0, MaxLimit); err != nil {
		h.t.Fatal(err)
	}
	s.Histories = map[string][]workflow.HistoryEntry{}
	for _, d := range s.Dossiers {
		if s.Histories[d.Code], err = h.db.History(ctx, d.Code); err != nil {
			h.t.Fatal(err)
		}
	}
	return s
}

func TestApplyBatchSeesItsOwnWrites(t *testing.T) {
	// All five events of a dossier in one batch: each sees the state the
	// one before it left, so all are accepted.
	batched := newHarness(t, nil)
	res := batched.apply(batched.envelopes(standardFlow(code1, 0)...))
	if res.Accepted != 5 || res.Rejected != 0 || len(res.Outcomes) != 5 || res.LastSeq != 5 {
		t.Fatalf("Apply(standard flow in one batch) = %+v, want 5 accepted", res)
	}
	for i, o := range res.Outcomes {
		if o.Seq != uint64(i+1) {
			t.Errorf("outcome %d has seq %d, want stream order", i, o.Seq)
		}
	}

	// The same stream applied one message per batch gives the same state:
	// batching changes the cost, never the result.
	single := newHarness(t, nil)
	single.applyEach(standardFlow(code1, 0)...)
	if diff := cmp.Diff(single.snapshot(), batched.snapshot()); diff != "" {
		t.Errorf("one batch differs from one message per batch (-single +batched):\n%s", diff)
	}
}

func TestApplyRedelivery(t *testing.T) {
	h := newHarness(t, nil)
	batch := h.envelopes(standardFlow(code1, 0)...)
	h.apply(batch[:3])
	before := h.snapshot()

	res := h.apply(batch[:3])
	want := workflow.BatchResult{Skipped: 3, LastSeq: 3}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("Apply(redelivered batch) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, h.snapshot()); diff != "" {
		t.Errorf("redelivery changed the store (-before +after):\n%s", diff)
	}

	// A batch overlapping the applied sequence applies only its new part.
	res = h.apply(batch[1:])
	if res.Skipped != 2 || res.Accepted != 2 || res.LastSeq != 5 {
		t.Errorf("Apply(overlapping batch) = %+v, want 2 skipped, 2 accepted, last seq 5", res)
	}
}

func TestApplyDuplicateEventID(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	flow := standardFlow(code1, 0)
	h.applyEach(flow[:2]...)

	// The assign event again, at a later sequence, in a later batch; and
	// the transfer event twice in one batch.
	res := h.apply(h.envelopes(flow[1], flow[2], flow[2]))
	if res.Accepted != 1 || res.Rejected != 2 {
		t.Fatalf("Apply(duplicates) = %+v, want 1 accepted, 2 rejected", res)
	}
	for _, i := range []int{0, 2} {
		o := res.Outcomes[i]
		if o.Kind != workflow.OutcomeRejected || o.Reason != workflow.ReasonDuplicate || o.Status != workflow.StatusProcessing {
			t.Errorf("outcome %d = %s %s status %d, want rejected duplicate status 4", i, o.Kind, o.Reason, o.Status)
		}
	}
	d, err := h.db.Dossier(ctx, code1)
	if err != nil {
		t.Fatal(err)
	}
	if d.History != 3 || d.Rejections != 2 {
		t.Errorf("dossier has %d entries and %d rejections, want 3 and 2", d.History, d.Rejections)
	}
	rs, _, err := h.db.Rejections(ctx, workflow.RejectionQuery{Reason: workflow.ReasonDuplicate})
	if err != nil || len(rs) != 2 || rs[0].Seq != 5 || rs[1].Seq != 3 {
		t.Errorf("Rejections(duplicate) = %+v, %v; want seqs 5, 3", rs, err)
	}
}

// TestApplyForgedSystemID: a sender that makes up the id hoso gives its
// own deadline expiry (or any system event) before hoso publishes it gets
// its event rejected, and hoso's event with that id is applied all the
// same: the ids of hoso's events are their own namespace.
func TestApplyForgedSystemID(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	flow := standardFlow(code1, 0)
	h.applyEach(flow[:2]...) // received, processing: the clock runs
	d, err := h.db.Dossier(ctx, code1)
	if err != nil {
		t.Fatal(err)
	}
	real := expiry(code1, d.Due, 60*24*30)
	forged := *real
	forged.Source, forged.Actor = "tayninh", "canbo-01"
	res := h.apply(h.envelopes(&forged, real))
	if res.Outcomes[0].Kind != workflow.OutcomeRejected || res.Outcomes[0].Reason != workflow.ReasonUnknownAction {
		t.Fatalf("forged expiry: outcome %+v, want rejected unknown_action", res.Outcomes[0])
	}
	if o := res.Outcomes[1]; o.Kind != workflow.OutcomeDeadline {
		t.Fatalf("hoso's expiry with the forged id: outcome %s %s, want a deadline outcome", o.Kind, o.Reason)
	}
	if d, err := h.db.Dossier(ctx, code1); err != nil || !d.Overdue {
		t.Fatalf("dossier after hoso's expiry: %+v, %v; want overdue", d, err)
	}
	// The same id from hoso again is a duplicate, as any repeat.
	if res := h.apply(h.envelopes(real)); res.Outcomes[0].Reason != workflow.ReasonDuplicate {
		t.Fatalf("hoso's expiry again: outcome %+v, want duplicate", res.Outcomes[0])
	}
}

// TestApplyReservedSourceForgedID: with access control off, a sender
// may publish on the reserved source hoso itself. An action of its own
// definition from there is rejected as unknown_action, and its id, made up
// to be the id hoso gives a deadline expiry, does not take that expiry's
// place: hoso's expiry is applied after it.
func TestApplyReservedSourceForgedID(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	flow := standardFlow(code1, 0)
	h.applyEach(flow[:2]...) // received, processing: the clock runs
	d, err := h.db.Dossier(ctx, code1)
	if err != nil {
		t.Fatal(err)
	}
	real := expiry(code1, d.Due, 60*24*30)
	forged := *flow[2] // a transfer, an action of the dossier's definition
	forged.ID, forged.Source = real.ID, workflow.SystemSource
	res := h.apply(h.envelopes(&forged, real))
	if o := res.Outcomes[0]; o.Kind != workflow.OutcomeRejected || o.Reason != workflow.ReasonUnknownAction {
		t.Fatalf("transfer from the reserved source: outcome %s %s, want rejected %s", o.Kind, o.Reason, workflow.ReasonUnknownAction)
	}
	if o := res.Outcomes[1]; o.Kind != workflow.OutcomeDeadline {
		t.Fatalf("hoso's expiry with the forged id: outcome %s %s, want a deadline outcome", o.Kind, o.Reason)
	}
	if d, err := h.db.Dossier(ctx, code1); err != nil || !d.Overdue || d.Department != "phong-tn" {
		t.Fatalf("dossier after hoso's expiry: %+v, %v; want overdue, still at phong-tn", d, err)
	}
}

// TestApplyDuplicateUUID finds a UUID event id seen before, which dedupe
// keeps as 16 bytes, and tells it from the same UUID in upper case, a
// different id.
func TestApplyDuplicateUUID(t *testing.T) {
	h := newHarness(t, nil)
	const id = "7f3c2a10-9b1d-4e2f-8a6b-1c2d3e4f5a6b"
	flow := standardFlow(code1, 0)
	flow[0].ID, flow[1].ID, flow[2].ID = id, id, strings.ToUpper(id)
	res := h.apply(h.envelopes(flow[0]))
	res2 := h.apply(h.envelopes(flow[1], flow[2]))
	if res.Accepted != 1 || res2.Rejected != 1 || res2.Outcomes[0].Reason != workflow.ReasonDuplicate || res2.Outcomes[1].Kind != workflow.OutcomeAccepted {
		t.Errorf("Apply(%s), then Apply(%[1]s again, upper case) = %+v, %+v; want accepted, then duplicate and accepted", id, res, res2)
	}
}

func TestApplyRejections(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	const code2 = "000.00.12.H57-250804-0002"
	h.applyEach(standardFlow(code1, 0)[:2]...) // code1 in processing (4)

	tests := []struct {
		name   string
		env    workflow.Envelope
		reason workflow.Reason
		count  bool // counted on code1
	}{
		{"invalid transition", h.envelopes(event("x1", "return", code1, 10))[0], workflow.ReasonInvalidTransition, true},
		{"missing attachment", h.envelopes(event("x2", "receive", code2, 10))[0], workflow.ReasonMissingAttachment, false},
		{"missing field", h.envelopes(event("x3", "transfer", code1, 11))[0], workflow.ReasonMissingField, true},
		{"recorded attachment missing", h.envelopes(event("x4", "resolve", code1, 12))[0], workflow.ReasonMissingAttachment, true},
		{"unknown action", h.envelopes(event("x5", "archive", code1, 13))[0], workflow.ReasonUnknownAction, true},
		{"out of order", h.envelopes(event("x6", "transfer", code1, -5, department("a")))[0], workflow.ReasonOutOfOrder, true},
		{"procedure mismatch", h.envelopes(event("x7", "transfer", code1, 14, department("a"), procedure("2.000001")))[0], workflow.ReasonProcedureMismatch, true},
		{"codec, no dossier", h.codecRejection(workflow.ReasonMalformed, ""), workflow.ReasonMalformed, false},
		{"codec, known dossier", h.codecRejection(workflow.ReasonTokenMismatch, code1), workflow.ReasonTokenMismatch, true},
	}
	var batch []workflow.Envelope
	for _, tt := range tests {
		batch = append(batch, tt.env)
	}
	res := h.apply(batch)
	if res.Rejected != len(tests) || res.Accepted != 0 {
		t.Fatalf("Apply(bad events) = %+v, want %d rejected", res, len(tests))
	}
	wantOnCode1 := 0
	for i, tt := range tests {
		o := res.Outcomes[i]
		if o.Kind != workflow.OutcomeRejected || o.Reason != tt.reason {
			t.Errorf("%s: outcome %s %s, want rejected %s", tt.name, o.Kind, o.Reason, tt.reason)
		}
		if tt.count {
			wantOnCode1++
		}
	}
	d, err := h.db.Dossier(ctx, code1)
	if err != nil {
		t.Fatal(err)
	}
	if d.Rejections != wantOnCode1 || d.History != 2 || d.Status != workflow.StatusProcessing {
		t.Errorf("%s after rejections: %d rejections, %d entries, status %d; want %d, 2, 4", code1, d.Rejections, d.History, d.Status, wantOnCode1)
	}
	if _, err := h.db.Dossier(ctx, code2); !errors.Is(err, workflow.ErrNotFound) {
		t.Errorf("Dossier(%q) = %v, want ErrNotFound: a rejected first event creates no dossier", code2, err)
	}

	// Listed by dossier, newest first, two per page.
	var seqs []uint64
	q := workflow.RejectionQuery{Dossier: code1, Limit: 2}
	for page := 0; ; page++ {
		list, next, err := h.db.Rejections(ctx, q)
		if err != nil {
			t.Fatalf("Rejections(%+v) = %v", q, err)
		}
		if len(list) > 2 || page > 10 {
			t.Fatalf("Rejections(%+v) returned %d, limit 2", q, len(list))
		}
		for _, r := range list {
			seqs = append(seqs, r.Seq)
		}
		if next == 0 {
			break
		}
		if next != list[len(list)-1].Seq {
			t.Errorf("next = %d, want the last seq of the page %d", next, list[len(list)-1].Seq)
		}
		q.Before = next
	}
	var wantSeqs []uint64
	for i := len(tests) - 1; i >= 0; i-- {
		if tests[i].count {
			wantSeqs = append(wantSeqs, tests[i].env.Seq)
		}
	}
	if diff := cmp.Diff(wantSeqs, seqs); diff != "" {
		t.Errorf("rejections of %s by pages (-want +got):\n%s", code1, diff)
	}

	// By reason; by reason and dossier; since a time.
	list, next, err := h.db.Rejections(ctx, workflow.RejectionQuery{Reason: workflow.ReasonMissingAttachment, Limit: 1})
	if err != nil || len(list) != 1 || list[0].Seq != tests[3].env.Seq || next != tests[3].env.Seq {
		t.Errorf("Rejections(missing_attachment, limit 1) = %+v, %d, %v; want seq %d, next %[4]d", list, next, err, tests[3].env.Seq)
	}
	list, next, err = h.db.Rejections(ctx, workflow.RejectionQuery{Reason: workflow.ReasonMissingAttachment, Before: next})
	if err != nil || len(list) != 1 || list[0].Seq != tests[1].env.Seq || next != 0 {
		t.Errorf("Rejections(missing_attachment, page 2) = %+v, %d, %v; want seq %d, no next", list, next, err, tests[1].env.Seq)
	}
	list, _, err = h.db.Rejections(ctx, workflow.RejectionQuery{Reason: workflow.ReasonMissingAttachment, Dossier: code2})
	if err != nil || len(list) != 1 || list[0].Dossier != code2 {
		t.Errorf("Rejections(missing_attachment of %s) = %+v, %v; want one", code2, list, err)
	}
	since := tests[6].env.Published
	list, _, err = h.db.Rejections(ctx, workflow.RejectionQuery{Since: since})
	if err != nil || len(list) != 3 {
		t.Errorf("Rejections(since %s) = %d rejections, %v; want 3", since, len(list), err)
	}

	c, err := h.db.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantReasons := map[workflow.Reason]int{}
	for _, tt := range tests {
		wantReasons[tt.reason]++
	}
	if c.Rejections != len(tests) || !cmp.Equal(c.ByReason, wantReasons) {
		t.Errorf("Counts = %d rejections %v, want %d %v", c.Rejections, c.ByReason, len(tests), wantReasons)
	}
}

func TestApplyUnknownProcedure(t *testing.T) {
	def, err := workflow.Parse("narrow.yaml", []byte(`
id: narrow
version: 1
name: {vi: Quy trình hẹp}
effective: 2020-01-01
procedures: ["1.004227"]
states:
  - {name: received, status: 2}
  - {name: returned, status: 10, terminal: true}
actions:
  - {name: receive, from: [start], to: received}
  - {name: return, from: [received], to: returned}
`))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := workflow.NewCatalog(def)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, cat)
	res := h.apply(h.envelopes(
		event("a", "receive", code1, 0),
		event("b", "receive", "other-1", 0, procedure("9.999999")),
	))
	if res.Accepted != 1 || res.Rejected != 1 || res.Outcomes[1].Reason != workflow.ReasonUnknownProcedure {
		t.Fatalf("Apply = %+v, want the second rejected as unknown_procedure", res)
	}
	list, _, err := h.db.Rejections(context.Background(), workflow.RejectionQuery{Dossier: "other-1"})
	if err != nil || len(list) != 1 || list[0].Reason != workflow.ReasonUnknownProcedure {
		t.Errorf("Rejections(other-1) = %+v, %v; want one unknown_procedure", list, err)
	}
}

func TestApplyMismatch(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	flow := standardFlow(code1, 0)
	flow[1] = event(code1+"/2", "assign", code1, 1, department("phong-tn"), claims(workflow.StatusResolved))
	res := h.apply(h.envelopes(flow[:2]...))
	o := res.Outcomes[1]
	if res.Accepted != 2 || o.Kind != workflow.OutcomeCorrection || o.Status != workflow.StatusProcessing || o.ClaimedStatus != workflow.StatusResolved {
		t.Fatalf("Apply(assign claiming 9) = %+v; want a correction to 4", res)
	}
	// A rejected event that claims a status is a mismatch too, not applied.
	res = h.apply(h.envelopes(event("r", "return", code1, 5, claims(workflow.StatusReturned))))
	if res.Rejected != 1 {
		t.Fatalf("Apply(return from 4) = %+v, want rejected", res)
	}

	list, next, err := h.db.Mismatches(ctx, workflow.MismatchQuery{Dossier: code1})
	if err != nil || next != 0 {
		t.Fatalf("Mismatches(%s) = %v, %d, %v", code1, list, next, err)
	}
	want := []workflow.Mismatch{
		{Seq: 3, EventID: "r", Source: "tayninh", Dossier: code1, Action: "return", Agency: "000.00.12.H57", Actor: "canbo-01",
			Applied: false, Status: workflow.StatusProcessing, ClaimedStatus: workflow.StatusReturned, Time: t0.Add(5 * time.Minute)},
		{Seq: 2, EventID: code1 + "/2", Source: "tayninh", Dossier: code1, Action: "assign", Agency: "000.00.12.H57", Actor: "canbo-01",
			Applied: true, Status: workflow.StatusProcessing, ClaimedStatus: workflow.StatusResolved, Time: t0.Add(time.Minute)},
	}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("Mismatches (-want +got):\n%s", diff)
	}
	list, next, err = h.db.Mismatches(ctx, workflow.MismatchQuery{Limit: 1})
	if err != nil || len(list) != 1 || list[0].Seq != 3 || next != 3 {
		t.Errorf("Mismatches(limit 1) = %v, %d, %v; want seq 3, next 3", list, next, err)
	}
	list, next, err = h.db.Mismatches(ctx, workflow.MismatchQuery{Limit: 1, Before: next})
	if err != nil || len(list) != 1 || list[0].Seq != 2 || next != 0 {
		t.Errorf("Mismatches(page 2) = %v, %d, %v; want seq 2, no next", list, next, err)
	}
	d, err := h.db.Dossier(ctx, code1)
	if err != nil || d.Mismatches != 2 {
		t.Errorf("Dossier(%s).Mismatches = %v, %v; want 2", code1, d, err)
	}
	if c, err := h.db.Counts(ctx); err != nil || c.Mismatches != 2 {
		t.Errorf("Counts().Mismatches = %d, %v; want 2", c.Mismatches, err)
	}
}

func TestApplyUnstorableEvent(t *testing.T) {
	// Events the store cannot key are recorded as malformed, so that a
	// retry of the batch cannot fail the same way forever.
	h := newHarness(t, nil)
	long := make([]byte, maxKeyPart+1)
	for i := range long {
		long[i] = 'a'
	}
	res := h.apply(h.envelopes(
		event("", "receive", code1, 0, attach(workflow.AttachmentInputDigitized)),
		event("nul", "receive", "bad\x00code", 0, attach(workflow.AttachmentInputDigitized)),
		event(string(long), "receive", code1, 0, attach(workflow.AttachmentInputDigitized)),
		event("ok", "receive", code1, 0, attach(workflow.AttachmentInputDigitized)),
	))
	if res.Rejected != 3 || res.Accepted != 1 {
		t.Fatalf("Apply = %+v, want 3 rejected, 1 accepted", res)
	}
	for _, o := range res.Outcomes[:3] {
		if o.Reason != workflow.ReasonMalformed {
			t.Errorf("outcome %d: reason %s, want malformed", o.Seq, o.Reason)
		}
	}

	// The codec's own rejection of an event is kept.
	env := h.envelopes(event("", "assign", code1, 1))[0]
	env.Rejection = workflow.Reject(env.Seq, env.Subject, env.Published, workflow.ReasonTokenMismatch, "test")
	res = h.apply([]workflow.Envelope{env})
	if res.Rejected != 1 || res.Outcomes[0].Reason != workflow.ReasonTokenMismatch {
		t.Errorf("Apply(token mismatch without id) = %+v, want rejected token_mismatch", res)
	}
}

func TestApplyDoesNotModifyEnvelopes(t *testing.T) {
	h := newHarness(t, nil)
	flow := standardFlow(code1, 0)
	batch := append(h.envelopes(flow[0], flow[0]), h.codecRejection(workflow.ReasonMalformed, ""))
	before := cloneEnvelopes(batch)
	h.apply(batch)
	if diff := cmp.Diff(before, batch); diff != "" {
		t.Errorf("Apply modified its batch (-before +after):\n%s", diff)
	}
}

func cloneEnvelopes(envs []workflow.Envelope) []workflow.Envelope {
	out := make([]workflow.Envelope, len(envs))
	for i, env := range envs {
		out[i] = env
		if env.Event != nil {
			e := *env.Event
			out[i].Event = &e
		}
		if env.Rejection != nil {
			r := *env.Rejection
			out[i].Rejection = &r
		}
	}
	return out
}

// cancelAfter is an injected fault: a context whose Err reports
// cancellation from its n+1th call on, to end Apply midway.
type cancelAfter struct {
	context.Context
	n int
}

func (c *cancelAfter) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

func TestApplyFailureLeavesStoreUnchanged(t *testing.T) {
	h := newHarness(t, nil)
	flow := standardFlow(code1, 0)
	h.apply(h.envelopes(flow[:2]...))
	before := h.snapshot()
	rest := h.envelopes(flow[2:]...)

	invalid := append(append([]workflow.Envelope{}, rest[:2]...), workflow.Envelope{Seq: rest[2].Seq})
	tests := []struct {
		name  string
		ctx   context.Context
		batch []workflow.Envelope
		want  error
	}{
		{"canceled before", &cancelAfter{context.Background(), 0}, rest, context.Canceled},
		{"canceled midway", &cancelAfter{context.Background(), 2}, rest, context.Canceled},
		{"canceled before commit", &cancelAfter{context.Background(), 1 + len(rest)}, rest, context.Canceled},
		{"invalid envelope after two good ones", context.Background(), invalid, ErrInvalidEnvelope},
	}
	for _, tt := range tests {
		res, err := h.db.Apply(tt.ctx, tt.batch)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Apply = %+v, %v; want %v", tt.name, res, err, tt.want)
		}
		if diff := cmp.Diff(before, h.snapshot()); diff != "" {
			t.Errorf("%s: the failed Apply changed the store (-before +after):\n%s", tt.name, diff)
		}
	}

	// The caller retries the same batch, and it applies.
	if res := h.apply(rest); res.Accepted != 3 {
		t.Errorf("retried Apply = %+v, want 3 accepted", res)
	}

	h.db.Close()
	if _, err := h.db.Apply(context.Background(), rest); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply after Close = %v, want ErrClosed", err)
	}
	if _, err := h.db.Dossier(context.Background(), code1); !errors.Is(err, ErrClosed) {
		t.Errorf("Dossier after Close = %v, want ErrClosed", err)
	}
}

// TestApplyPipelined applies a simulated province (every kind of fault a
// one-stop-shop sends: repeats, unreadable messages, wrong claimed
// statuses, missing attachments) in batches large enough to be decided on
// a goroutine of their own, and again on one goroutine: every outcome and
// the state hash are the same. A batch that partly repeats what is applied
// skips the same envelopes both ways.
func TestApplyPipelined(t *testing.T) {
	envs, err := simulatedStream(2000)
	if err != nil {
		t.Fatal(err)
	}
	run := func(threshold int) ([]workflow.BatchResult, workflow.Hash) {
		t.Helper()
		defer func(min, cores int) { pipelineMin, pipelineCores = min, cores }(pipelineMin, pipelineCores)
		pipelineMin, pipelineCores = threshold, 1
		db, err := Open(filepath.Join(t.TempDir(), "hoso.db"), Options{Catalog: shippedCatalog(t), NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var results []workflow.BatchResult
		const size = 2500
		for i := 0; i < len(envs); i += size {
			// Each batch starts 500 envelopes back: a redelivery of
			// what the previous one applied, then new envelopes.
			from := max(0, i-500)
			res, err := db.Apply(context.Background(), envs[from:min(i+size, len(envs))])
			if err != nil {
				t.Fatal(err)
			}
			results = append(results, res)
		}
		hash, err := db.StateHash(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return results, hash
	}
	piped, pipedHash := run(1024)
	single, singleHash := run(math.MaxInt)
	if diff := cmp.Diff(single, piped); diff != "" {
		t.Errorf("pipelined batches differ from batches decided on one goroutine (-one +pipelined):\n%s", diff)
	}
	if pipedHash != singleHash {
		t.Errorf("state hash %v pipelined, %v on one goroutine", pipedHash, singleHash)
	}
	var rejected, skipped int
	for _, r := range piped {
		rejected += r.Rejected
		skipped += r.Skipped
	}
	if rejected == 0 || skipped == 0 {
		t.Errorf("%d rejections and %d skipped envelopes: the stream should have both", rejected, skipped)
	}
}
