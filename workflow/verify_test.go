package workflow_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// folded decides a flow with a pause, a resumption, an apology and a
// resolution on one
// dossier, and returns the dossier and its history entries as a store
// holds them.
func folded(t *testing.T) (*workflow.Dossier, []workflow.HistoryEntry) {
	t.Helper()
	c := deadlineCatalog(t, "pause")
	var (
		d       *workflow.Dossier
		entries []workflow.HistoryEntry
	)
	for i, s := range []step{
		{action: "receive", when: at(6, 9, 0), edit: func(e *workflow.Event) { e.Attachments = []workflow.Attachment{{Kind: "input_digitized"}} }},
		{action: "assign", when: at(6, 10, 0), edit: func(e *workflow.Event) { e.Department = "phong-tn" }},
		{action: "request_supplement", when: at(8, 9, 0)},
		{action: "supplement", when: at(13, 9, 0)},
		{action: "apologize", when: at(17, 9, 0), edit: apology(at(28, 17, 0))},
		{action: "resolve", when: at(17, 10, 0), edit: withResult},
	} {
		ev := &workflow.Event{ID: "e" + string(rune('a'+i)), Source: "tayninh", Action: s.action, Dossier: "D-1",
			Time: s.when, Procedure: "1.0", Agency: "H57", Actor: "cb"}
		if s.edit != nil {
			s.edit(ev)
		}
		dec := c.Decide(d, &workflow.Envelope{Seq: uint64(i + 1), Event: ev})
		if dec.Entry == nil {
			t.Fatalf("step %d %s: %+v", i, s.action, dec.Rejection)
		}
		if dec.Outcome.EntryHash == nil || *dec.Outcome.EntryHash != dec.Entry.Hash ||
			dec.Outcome.HistoryIndex == nil || *dec.Outcome.HistoryIndex != dec.Entry.Index {
			t.Fatalf("step %d %s: outcome receipt %v at %v, want the entry's hash %s at %d",
				i, s.action, dec.Outcome.EntryHash, dec.Outcome.HistoryIndex, dec.Entry.Hash, dec.Entry.Index)
		}
		d = dec.Dossier
		entries = append(entries, *dec.Entry)
	}
	if d.Apologies != 1 || d.Department != "phong-tn" || !d.PausedAt.IsZero() {
		t.Fatalf("the flow did not pause, resume and apologize: %+v", d)
	}
	return d, entries
}

// TestOutcomeReceipt checks that only an accepted event's outcome
// carries an entry hash.
func TestOutcomeReceipt(t *testing.T) {
	folded(t) // every accepted step is checked there
	c := shipped(t)
	dec := decide(c, dossierIn("processing"), fullEvent("return"))
	if dec.Rejection == nil || dec.Outcome.EntryHash != nil {
		t.Errorf("a rejected event's outcome: rejection %v, entry hash %v; want a rejection without hash", dec.Rejection, dec.Outcome.EntryHash)
	}
}

func TestCheckRecordOfADecidedDossier(t *testing.T) {
	d, entries := folded(t)
	c := deadlineCatalog(t, "pause")
	if got := c.CheckRecord(d, entries); len(got) != 0 {
		t.Errorf("CheckRecord of the dossier Decide built = %+v, want nothing", got)
	}
	if got := c.CheckRecord(d, nil); len(got) != 1 || got[0].Field != "history" {
		t.Errorf("CheckRecord without history = %+v, want the history named", got)
	}
}

// TestCheckRecordNamesEachField changes one field of the record, or of an
// entry, and checks that CheckRecord names it.
func TestCheckRecordNamesEachField(t *testing.T) {
	later := at(29, 9, 0)
	tests := []struct {
		field  string
		record func(d *workflow.Dossier)
		entry  func(entries []workflow.HistoryEntry)
	}{
		{field: "agency", record: func(d *workflow.Dossier) { d.Agency = "X" }},
		{field: "source", record: func(d *workflow.Dossier) { d.Source = "x" }},
		{field: "state", record: func(d *workflow.Dossier) { d.State = "returned" }},
		{field: "status", record: func(d *workflow.Dossier) { d.Status = workflow.StatusReturned }},
		{field: "terminal", record: func(d *workflow.Dossier) { d.Terminal = true }},
		{field: "department", record: func(d *workflow.Dossier) { d.Department = "x" }},
		{field: "due", record: func(d *workflow.Dossier) { d.Due = later }},
		{field: "received_at", record: func(d *workflow.Dossier) { d.ReceivedAt = later }},
		{field: "created_at", record: func(d *workflow.Dossier) { d.CreatedAt = later }},
		{field: "updated_at", record: func(d *workflow.Dossier) { d.UpdatedAt = later }},
		{field: "resolved_at", record: func(d *workflow.Dossier) { d.ResolvedAt = later }},
		{field: "returned_at", record: func(d *workflow.Dossier) { d.ReturnedAt = later }},
		{field: "paused_at", record: func(d *workflow.Dossier) { d.PausedAt = later }},
		{field: "apologies", record: func(d *workflow.Dossier) { d.Apologies = 0 }},
		{field: "attachments", record: func(d *workflow.Dossier) { d.Attachments = d.Attachments[1:] }},
		{field: "online", record: func(d *workflow.Dossier) { d.Online = true }},
		{field: "warned", record: func(d *workflow.Dossier) { d.Overdue = true }},
		{field: "due", record: func(d *workflow.Dossier) { d.Warned, d.Due = true, time.Time{} }},
		{field: "definition", record: func(d *workflow.Dossier) { d.Version = 99 }},
		{field: "history[1].from", entry: func(e []workflow.HistoryEntry) { e[1].From = "submitted" }},
		{field: "history[1].from_status", entry: func(e []workflow.HistoryEntry) { e[1].FromStatus = 1 }},
		{field: "history[1].time", entry: func(e []workflow.HistoryEntry) { e[1].Time = at(5, 9, 0) }},
		{field: "history[2].action", entry: func(e []workflow.HistoryEntry) { e[2].Action = "no-such" }},
		{field: "history[2].action", entry: func(e []workflow.HistoryEntry) { e[2].Action = "return" }},
		{field: "history[5].to", entry: func(e []workflow.HistoryEntry) { e[5].To, e[5].ToStatus = "returned", 10 }},
		{field: "history[5].to_status", entry: func(e []workflow.HistoryEntry) { e[5].ToStatus = 4 }},
		{field: "history[1].timing", entry: func(e []workflow.HistoryEntry) { e[1].Timing = workflow.TimingLate }},
		{field: "history[5].due", entry: func(e []workflow.HistoryEntry) { e[5].Due = later }},
		{field: "history[5].department", entry: func(e []workflow.HistoryEntry) { e[5].Department = "" }},
	}
	c := deadlineCatalog(t, "pause")
	for _, tt := range tests {
		d, entries := folded(t)
		if tt.record != nil {
			tt.record(d)
		}
		if tt.entry != nil {
			tt.entry(entries)
		}
		got := c.CheckRecord(d, entries)
		if !slices.ContainsFunc(got, func(f workflow.Finding) bool {
			return f.Field == tt.field && f.Dossier == d.Code && f.Problem != ""
		}) {
			t.Errorf("CheckRecord after changing %s = %+v, want it named", tt.field, got)
		}
	}
}

// TestCheckRecordProcedure checks that the record's procedure must be one
// its definition covers.
func TestCheckRecordProcedure(t *testing.T) {
	d, entries := folded(t)
	def, err := workflow.Parse("deadline.yaml", []byte(strings.Replace(strings.Replace(deadlineYAML, "CLOCK", "pause", 1), `"*"`, `"1.0"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := workflow.NewCatalog(def)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.CheckRecord(d, entries); len(got) != 0 {
		t.Fatalf("CheckRecord of procedure 1.0 under a definition naming it = %+v", got)
	}
	d.Procedure = "9.9"
	if got := c.CheckRecord(d, entries); len(got) != 1 || got[0].Field != "procedure" || got[0].Got != "9.9" {
		t.Errorf("CheckRecord of procedure 9.9 = %+v, want the procedure named", got)
	}
}
