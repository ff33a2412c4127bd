package workflow_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// settingsCatalog is the appointment flow with its apology_notice and
// late_entry as given ("" leaves the line out: the default).
func settingsCatalog(t *testing.T, apologyNotice, lateEntry string) *workflow.Catalog {
	t.Helper()
	y := strings.Replace(appointmentYAML, "SAME", "{working_days: 1}", 1)
	var lines string
	if apologyNotice != "" {
		lines += "\napology_notice: " + apologyNotice
	}
	if lateEntry != "" {
		lines += "\nlate_entry: " + lateEntry
	}
	d, err := workflow.Parse("settings.yaml", []byte(strings.Replace(y, "apology_limit: 2", "apology_limit: 2"+lines, 1)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := workflow.NewCatalog(d)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The settings docs/definitions.md gives: late_entry and apology_notice
// default to one working day, take working days or hours, and
// {working_days: 0} turns each off.
func TestIrregularitySettings(t *testing.T) {
	// A receipt of Wednesday 1/10 09:00 entered at 14:30 the same day:
	// 2 h 30 min + 1 h = 3 h 30 min late. Then an apology on Monday 6/10
	// at 13:30, 3 h 30 min before the due time (Monday 17:00).
	kinds := func(c *workflow.Catalog) []workflow.IrregularityKind {
		t.Helper()
		var out []workflow.IrregularityKind
		receive := workflow.Event{ID: "r", Source: "tayninh", SourceURI: "/motcua/tayninh", Action: "receive", Dossier: "D-1", Procedure: "1.000001",
			Agency: "H57", Actor: "cb-01", Time: at(1, 9, 0), Due: day(6), DueDay: true}
		dec := c.Decide(nil, &workflow.Envelope{Seq: 1, Subject: "hoso.events.tayninh.D-1", Published: at(1, 14, 30), Event: &receive})
		if dec.Rejection != nil {
			t.Fatalf("receipt rejected: %+v", dec.Rejection)
		}
		for _, ir := range dec.Irregularities {
			out = append(out, ir.Kind)
			if ir.Kind == workflow.IrregularLateEntry && ir.Delay != 3*time.Hour+30*time.Minute {
				t.Errorf("late entry delay %s, want 3h30m", ir.Delay)
			}
		}
		apology := workflow.Event{ID: "a", Source: "tayninh", SourceURI: "/motcua/tayninh", Action: "apologize", Dossier: "D-1", Procedure: "1.000001",
			Agency: "H57", Actor: "cb-01", Time: at(6, 13, 30), NewDue: day(10), NewDueDay: true}
		dec = c.Decide(dec.Dossier, &workflow.Envelope{Seq: 2, Subject: "hoso.events.tayninh.D-1", Published: at(6, 13, 30), Event: &apology})
		if dec.Rejection != nil {
			t.Fatalf("apology rejected: %+v", dec.Rejection)
		}
		for _, ir := range dec.Irregularities {
			out = append(out, ir.Kind)
			if ir.Kind == workflow.IrregularLateApology && ir.Delay != 3*time.Hour+30*time.Minute {
				t.Errorf("late apology notice %s, want 3h30m", ir.Delay)
			}
		}
		return out
	}
	for _, tc := range []struct {
		apologyNotice, lateEntry string
		want                     []workflow.IrregularityKind
	}{
		// The defaults: 3 h 30 min late is within a working day; 3 h 30
		// min of notice is less than one.
		{"", "", []workflow.IrregularityKind{workflow.IrregularLateApology}},
		{"{working_days: 0}", "", nil},
		{"", "{working_hours: 3}", []workflow.IrregularityKind{workflow.IrregularLateEntry, workflow.IrregularLateApology}},
		{"{working_hours: 3}", "{working_hours: 4}", nil},
		{"{working_days: 0}", "{working_days: 0, working_hours: 0}", nil},
		{"{working_hours: 4}", "{working_hours: 1}", []workflow.IrregularityKind{workflow.IrregularLateEntry, workflow.IrregularLateApology}},
	} {
		got := kinds(settingsCatalog(t, tc.apologyNotice, tc.lateEntry))
		if !slices.Equal(got, tc.want) {
			t.Errorf("apology_notice %q, late_entry %q: irregularities %v, want %v", tc.apologyNotice, tc.lateEntry, got, tc.want)
		}
	}
	if c := settingsCatalog(t, "", ""); len(c.Definitions()) != 1 || c.Definitions()[0].LateEntry != (workflow.SLA{Days: 1}) ||
		c.Definitions()[0].ApologyNotice != (workflow.SLA{Days: 1}) {
		t.Errorf("defaults: late_entry %v, apology_notice %v; want one working day each", c.Definitions()[0].LateEntry, c.Definitions()[0].ApologyNotice)
	}
}
