package workflow_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// The tests of this file are written from the rules of
// ../shared/domain/README.md ("Rules settled by outside checks") and
// docs/definitions.md, with every expected instant worked out by hand on
// the default working hours (07:00–11:30, 13:30–17:00) in October 2025, a
// month without holidays: Wednesday 1/10, Friday 3/10, Monday 6/10.

// appointmentYAML is a flow whose due date is the one the sender gives
// (data.due), with supplements, payments and apologies; SAME is replaced by
// the SLA of procedure "CT.1".
const appointmentYAML = `id: appointment
version: 1
name: {vi: Thử hẹn trả}
effective: 2025-01-01
apology_limit: 2
procedures:
  - "*"
  - {code: "CT.1", sla: SAME}
states:
  - {name: received, status: 2}
  - {name: processing, status: 4}
  - {name: supplement, status: 5}
  - {name: payment, status: 6}
  - {name: resolved, status: 9}
  - {name: returned, status: 10, terminal: true}
actions:
  - {name: receive, from: [start], to: received, sets_due: true}
  - {name: assign, from: [received], to: processing}
  - {name: request_supplement, from: [processing], to: supplement, clock: pause}
  - {name: supplement, from: [supplement], to: processing, clock: restart}
  - {name: request_payment, from: [processing], to: payment, clock: pause}
  - {name: pay, from: [payment], to: processing, clock: resume}
  - {name: resolve, from: [processing], to: resolved}
  - {name: return, from: [resolved], to: returned}
  - {name: apologize, from: [received, processing], stay: true, extends_due: true}
`

func appointmentCatalog(t *testing.T, sameDay string) *workflow.Catalog {
	t.Helper()
	d, err := workflow.Parse("appointment.yaml", []byte(strings.Replace(appointmentYAML, "SAME", sameDay, 1)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := workflow.NewCatalog(d)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// day is midnight of a day of October 2025 in Vietnam: what the codec
// gives for a date-only data.due.
func day(d int) time.Time { return time.Date(2025, 10, d, 0, 0, 0, 0, workflow.Zone) }

// decideAt decides one event published when it happened and returns the
// decision; it fails the test when the event is rejected and reject is "",
// or not rejected with reason reject.
func decideAt(t *testing.T, c *workflow.Catalog, d *workflow.Dossier, ev workflow.Event, reject workflow.Reason) workflow.Decision {
	t.Helper()
	if ev.ID == "" {
		ev.ID = ev.Action + "-" + ev.Time.Format(time.RFC3339)
	}
	ev.Source, ev.SourceURI, ev.Dossier, ev.Agency, ev.Actor = "tayninh", "/motcua/tayninh", "000.00.12.H57-251001-0001", "H57", "can-bo-01"
	if ev.Procedure == "" {
		ev.Procedure = "1.000001"
	}
	// The event reaches the stream when it happens.
	dec := c.Decide(d, &workflow.Envelope{Seq: 1, Subject: "hoso.events.tayninh.x", Published: ev.Time, Event: &ev})
	switch {
	case reject == "" && dec.Rejection != nil:
		t.Fatalf("%s at %s rejected: %s %s", ev.Action, ev.Time, dec.Rejection.Reason, dec.Rejection.Detail)
	case reject != "" && (dec.Rejection == nil || dec.Rejection.Reason != reject):
		t.Fatalf("%s at %s: decision %+v, want rejection %s", ev.Action, ev.Time, dec.Rejection, reject)
	}
	return dec
}

// An appointment "hẹn trả ngày 6/10" means during 6/10: a date-only due
// date falls due at the end of that day's working hours.
func TestDateOnlyDueIsTheEndOfTheWorkingDay(t *testing.T) {
	c := appointmentCatalog(t, "{working_days: 1}")
	dec := decideAt(t, c, nil, workflow.Event{Action: "receive", Time: at(1, 9, 0), Due: day(6), DueDay: true}, "")
	want := time.Date(2025, 10, 6, 17, 0, 0, 0, workflow.Zone)
	if d := dec.Dossier; !d.Due.Equal(want) || !d.OriginalDue.Equal(want) {
		t.Fatalf("due %s, original due %s; want both %s", d.Due, d.OriginalDue, want)
	}
	if !dec.Entry.Due.Equal(want) || dec.Outcome.Due == nil || !dec.Outcome.Due.Equal(want) {
		t.Fatalf("history entry due %s, outcome due %v; want %s", dec.Entry.Due, dec.Outcome.Due, want)
	}
	// A deadline expiry for the midnight of the appointment day is not the
	// dossier's: nothing is overdue during the appointment day.
	d := dec.Dossier
	exp := &workflow.Event{ID: "x", Source: workflow.SystemSource, Action: workflow.DeadlineExpired, Dossier: d.Code,
		Procedure: d.Procedure, Time: day(6), Due: day(6)}
	if got := c.Decide(d, &workflow.Envelope{Seq: 2, Published: day(6), Event: exp}); got.Rejection == nil || got.Rejection.Reason != workflow.ReasonStaleDeadline {
		t.Fatalf("expiry at midnight of the appointment day: %+v, want stale_deadline", got.Rejection)
	}
	// An apology's date-only new date is the end of its day too.
	dec = decideAt(t, c, d, workflow.Event{Action: "apologize", Time: at(2, 9, 0), NewDue: day(8), NewDueDay: true}, "")
	if want := time.Date(2025, 10, 8, 17, 0, 0, 0, workflow.Zone); !dec.Dossier.Due.Equal(want) {
		t.Fatalf("due after an apology to 8/10: %s, want %s", dec.Dossier.Due, want)
	}
}

// A due date before the receipt is not an appointment.
func TestDueBeforeReceiptIsRejected(t *testing.T) {
	c := appointmentCatalog(t, "{working_days: 1}")
	decideAt(t, c, nil, workflow.Event{Action: "receive", Time: at(1, 9, 0), Due: day(30).AddDate(0, -1, 0), DueDay: true}, workflow.ReasonInvalidDue)
	decideAt(t, c, nil, workflow.Event{Action: "receive", Time: at(1, 9, 0), Due: at(1, 8, 0)}, workflow.ReasonInvalidDue)
	// The same day is an appointment while the day's working hours last.
	decideAt(t, c, nil, workflow.Event{Action: "receive", Time: at(1, 9, 0), Due: day(1), DueDay: true}, "")
	decideAt(t, c, nil, workflow.Event{Action: "receive", Time: at(1, 17, 30), Due: day(1), DueDay: true}, workflow.ReasonInvalidDue)
}

// One rule for overdue and late: the due instant. A dossier flagged
// overdue at 16:01 is late when resolved at 16:30 the same day; resolved
// before the instant on the due date it is on time; on an earlier date,
// early.
func TestOverdueAndLateAreOneRule(t *testing.T) {
	due := time.Date(2025, 10, 6, 16, 1, 0, 0, workflow.Zone)
	for _, tc := range []struct {
		resolved time.Time
		want     workflow.Timing
	}{
		{at(6, 16, 30), workflow.TimingLate},
		{at(6, 16, 1), workflow.TimingOnTime},
		{at(6, 7, 0), workflow.TimingOnTime},
		{at(3, 16, 59), workflow.TimingEarly},
		{at(7, 8, 0), workflow.TimingLate},
	} {
		if got := workflow.TimingOf(tc.resolved, due); got != tc.want {
			t.Errorf("resolved %s, due %s: %s, want %s", tc.resolved.Format("02/01 15:04"), due.Format("02/01 15:04"), got, tc.want)
		}
	}
	// The same through Decide: the resolution's history entry.
	c := appointmentCatalog(t, "{working_days: 1}")
	d := decideAt(t, c, nil, workflow.Event{Action: "receive", Time: at(1, 9, 0), Due: due}, "").Dossier
	d = decideAt(t, c, d, workflow.Event{Action: "assign", Time: at(1, 10, 0)}, "").Dossier
	if got := decideAt(t, c, d, workflow.Event{Action: "resolve", Time: at(6, 16, 30)}, "").Entry.Timing; got != workflow.TimingLate {
		t.Fatalf("resolved 16:30, due 16:01 the same day: %s, want late", got)
	}
}

// An apology moves the due date in force; lateness is judged against
// form 01's original date, and an apology made less than a working day
// (the definition's apology_notice, by default) before the due time is
// accepted with an irregularity.
func TestApologyKeepsTheOriginalDue(t *testing.T) {
	c := appointmentCatalog(t, "{working_days: 1}")
	d := decideAt(t, c, nil, workflow.Event{Action: "receive", Time: at(1, 9, 0), Due: day(6), DueDay: true}, "").Dossier
	d = decideAt(t, c, d, workflow.Event{Action: "assign", Time: at(1, 10, 0)}, "").Dossier
	// Friday 16:00 is 1 h + Monday's 8 h = 9 working hours before Monday 17:00.
	dec := decideAt(t, c, d, workflow.Event{Action: "apologize", Time: at(3, 16, 0), NewDue: day(10), NewDueDay: true}, "")
	if len(dec.Irregularities) != 0 {
		t.Fatalf("apology 9 working hours ahead: irregularities %+v, want none", dec.Irregularities)
	}
	d = dec.Dossier
	original := time.Date(2025, 10, 6, 17, 0, 0, 0, workflow.Zone)
	if !d.OriginalDue.Equal(original) || !d.Due.Equal(time.Date(2025, 10, 10, 17, 0, 0, 0, workflow.Zone)) {
		t.Fatalf("after the apology: original due %s, due %s", d.OriginalDue, d.Due)
	}
	// Resolved Wednesday 8/10, before the apology's date, after the original.
	if got := decideAt(t, c, d, workflow.Event{Action: "resolve", Time: at(8, 9, 0)}, "").Entry.Timing; got != workflow.TimingLate {
		t.Fatalf("resolved after the original due date, before the apology's: %s, want late", got)
	}

	// A second apology on Friday 10/10 at 10:00, 5 working hours
	// (10:00–11:30, 13:30–17:00) before 17:00.
	dec = decideAt(t, c, d, workflow.Event{Action: "apologize", Time: at(10, 10, 0), NewDue: day(14), NewDueDay: true}, "")
	if len(dec.Irregularities) != 1 || dec.Irregularities[0].Kind != workflow.IrregularLateApology {
		t.Fatalf("apology 5 working hours ahead: irregularities %+v, want one %s", dec.Irregularities, workflow.IrregularLateApology)
	}
	if ir := dec.Irregularities[0]; ir.Delay != 5*time.Hour || ir.Dossier != d.Code || ir.Action != "apologize" || ir.Actor != "can-bo-01" {
		t.Fatalf("late apology record %+v: want 5h of notice, the dossier, action and actor", ir)
	}
}

// Supplements are requested once, listing everything missing: a second
// request is accepted with an irregularity.
func TestSecondSupplementRequest(t *testing.T) {
	c := appointmentCatalog(t, "{working_days: 1}")
	d := decideAt(t, c, nil, workflow.Event{Action: "receive", Time: at(1, 9, 0), Due: day(20), DueDay: true}, "").Dossier
	d = decideAt(t, c, d, workflow.Event{Action: "assign", Time: at(1, 10, 0)}, "").Dossier
	dec := decideAt(t, c, d, workflow.Event{Action: "request_supplement", Time: at(2, 9, 0)}, "")
	if len(dec.Irregularities) != 0 {
		t.Fatalf("first supplement request: %+v", dec.Irregularities)
	}
	d = decideAt(t, c, dec.Dossier, workflow.Event{Action: "supplement", Time: at(3, 9, 0)}, "").Dossier
	dec = decideAt(t, c, d, workflow.Event{Action: "request_supplement", Time: at(6, 9, 0)}, "")
	if len(dec.Irregularities) != 1 || dec.Irregularities[0].Kind != workflow.IrregularRepeatedSupplement {
		t.Fatalf("second supplement request: irregularities %+v, want one %s", dec.Irregularities, workflow.IrregularRepeatedSupplement)
	}
}

// An event whose time precedes its arrival on the stream by more than the
// definition's late_entry working time (one working day by default) is a
// late entry.
func TestLateEntry(t *testing.T) {
	c := appointmentCatalog(t, "{working_days: 1}")
	ev := &workflow.Event{ID: "r1", Source: "tayninh", Action: "receive", Dossier: "D-1", Procedure: "1.000001", Agency: "H57",
		Actor: "can-bo-07", Time: at(1, 9, 0), Due: day(20), DueDay: true}
	for _, tc := range []struct {
		arrived time.Time
		delay   time.Duration // 0: not late
	}{
		{at(1, 11, 0), 0},
		{at(2, 9, 0), 0}, // exactly one working day: not more than it
		{at(2, 9, 1), 8*time.Hour + time.Minute},
		{at(3, 10, 0), 17 * time.Hour}, // Wed 6 h + Thu 8 h + Fri 3 h
	} {
		dec := c.Decide(nil, &workflow.Envelope{Seq: 9, Subject: "hoso.events.tayninh.D-1", Published: tc.arrived, Event: ev})
		if dec.Rejection != nil {
			t.Fatalf("rejected: %+v", dec.Rejection)
		}
		switch {
		case tc.delay == 0 && len(dec.Irregularities) != 0:
			t.Errorf("arrived %s: irregularities %+v, want none", tc.arrived, dec.Irregularities)
		case tc.delay != 0 && (len(dec.Irregularities) != 1 || dec.Irregularities[0].Kind != workflow.IrregularLateEntry):
			t.Errorf("arrived %s: irregularities %+v, want a late entry", tc.arrived, dec.Irregularities)
		case tc.delay != 0:
			if got := dec.Outcome.Irregularities; len(got) != 1 || got[0] != workflow.IrregularLateEntry {
				t.Errorf("arrived %s: the outcome says irregularities %v, want [late_entry]", tc.arrived, got)
			}
			ir := dec.Irregularities[0]
			if ir.Delay != tc.delay || !ir.Entered.Equal(tc.arrived) || !ir.Time.Equal(ev.Time) || ir.Actor != "can-bo-07" || ir.Agency != "H57" || ir.Seq != 9 {
				t.Errorf("arrived %s: record %+v, want delay %s with the event's time, actor, agency and seq", tc.arrived, ir, tc.delay)
			}
		}
	}
}

// A backfill of history reaches the stream long after its events: the
// one-stop-shop's own entry time (data.entered) is what a late entry is
// judged by when the event gives it.
func TestLateEntryByEnteredTime(t *testing.T) {
	c := appointmentCatalog(t, "{working_days: 1}")
	published := at(31, 9, 0) // a month after the events
	for _, tc := range []struct {
		entered time.Time
		late    bool
	}{
		{time.Time{}, true}, // no entry time: the arrival, a month late
		{at(1, 9, 30), false},
		{at(2, 9, 0), false},
		{at(3, 10, 0), true},
	} {
		ev := &workflow.Event{ID: "r1", Source: "tayninh", Action: "receive", Dossier: "D-1", Procedure: "1.000001", Agency: "H57",
			Actor: "can-bo-07", Time: at(1, 9, 0), Due: day(20), DueDay: true, Entered: tc.entered}
		dec := c.Decide(nil, &workflow.Envelope{Seq: 9, Subject: "hoso.events.tayninh.D-1", Published: published, Event: ev})
		if late := len(dec.Irregularities) == 1 && dec.Irregularities[0].Kind == workflow.IrregularLateEntry; late != tc.late {
			t.Errorf("entered %s, arrived %s: irregularities %+v, want late entry %t", tc.entered, published, dec.Irregularities, tc.late)
		}
	}
}

// Clock effects belong to the action: in one flow a supplement restarts
// the statutory time in full while a payment only pauses it.
func TestClockEffectsPerAction(t *testing.T) {
	c := appointmentCatalog(t, "{working_days: 2}")
	ev := func(action string, tm time.Time) workflow.Event {
		return workflow.Event{Action: action, Time: tm, Procedure: "CT.1"}
	}
	// Received Wed 1/10 09:00 with 2 working days: due Fri 3/10 09:00.
	d := decideAt(t, c, nil, ev("receive", at(1, 9, 0)), "").Dossier
	d = decideAt(t, c, d, ev("assign", at(1, 10, 0)), "").Dossier
	// Payment requested Thu 2/10 09:00, paid Thu 2/10 15:00: 4 working
	// hours (09:00–11:30, 13:30–15:00) do not count: due Fri 3/10 15:00.
	d = decideAt(t, c, d, ev("request_payment", at(2, 9, 0)), "").Dossier
	d = decideAt(t, c, d, ev("pay", at(2, 15, 0)), "").Dossier
	if want := at(3, 15, 0); !d.Due.Equal(want) || !d.OriginalDue.Equal(want) {
		t.Fatalf("after a payment: due %s, original %s; want %s", d.Due, d.OriginalDue, want)
	}
	// A supplement completed Fri 3/10 10:00 restarts the 2 days: Tue 7/10 10:00.
	d = decideAt(t, c, d, ev("request_supplement", at(3, 9, 0)), "").Dossier
	d = decideAt(t, c, d, ev("supplement", at(3, 10, 0)), "").Dossier
	if want := at(7, 10, 0); !d.Due.Equal(want) || !d.OriginalDue.Equal(want) {
		t.Fatalf("after a supplement: due %s, original %s; want %s", d.Due, d.OriginalDue, want)
	}
}

// Same-day procedures are due at the end of the working day of receipt,
// or of the next working day when received after the procedure's cut-off
// (15:00 unless it gives one) or on a day off.
func TestSameDayProcedures(t *testing.T) {
	for _, tc := range []struct {
		sla      string
		received time.Time
		want     time.Time
	}{
		{"{same_day: true}", at(1, 10, 0), at(1, 17, 0)},
		{"{same_day: true}", at(1, 6, 30), at(1, 17, 0)},
		{"{same_day: true}", at(1, 14, 59), at(1, 17, 0)},
		{"{same_day: true}", at(1, 15, 0), at(2, 17, 0)},
		{"{same_day: true}", at(3, 16, 0), at(6, 17, 0)}, // Friday after 15:00: Monday
		{"{same_day: true}", at(4, 9, 0), at(6, 17, 0)},  // Saturday
		{"{same_day: true, cut_off: \"11:00\"}", at(1, 10, 59), at(1, 17, 0)},
		{"{same_day: true, cut_off: \"11:00\"}", at(1, 11, 0), at(2, 17, 0)},
		// 8 working hours from 10:00 end at 10:00 the next working day,
		// which is why same-day procedures need their own form.
		{"{working_hours: 8}", at(1, 10, 0), at(2, 10, 0)},
	} {
		c := appointmentCatalog(t, tc.sla)
		d := decideAt(t, c, nil, workflow.Event{Action: "receive", Time: tc.received, Procedure: "CT.1"}, "").Dossier
		if !d.Due.Equal(tc.want) {
			t.Errorf("sla %s, received %s: due %s, want %s", tc.sla, tc.received.Format("Mon 02/01 15:04"),
				d.Due.Format("Mon 02/01 15:04"), tc.want.Format("Mon 02/01 15:04"))
		}
	}
}

// The new settings are validated with the rest of the file.
func TestLegalSettingsValidation(t *testing.T) {
	for _, tc := range []struct{ sla, want string }{
		{`{same_day: true, working_days: 1}`, "same_day"},
		{`{same_day: true, cut_off: "25:00"}`, "cut_off"},
		{`{working_days: 1, cut_off: "15:00"}`, "cut_off"},
	} {
		_, err := workflow.Parse("x.yaml", []byte(strings.Replace(appointmentYAML, "SAME", tc.sla, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("sla %s: error %v, want one naming %s", tc.sla, err, tc.want)
		}
	}
	bad := strings.Replace(appointmentYAML, "apology_limit: 2", "apology_limit: 2\napology_notice: {same_day: true}\nlate_entry: {working_days: -1}", 1)
	bad = strings.Replace(bad, "SAME", "{working_days: 1}", 1)
	_, err := workflow.Parse("x.yaml", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), "apology_notice") || !strings.Contains(err.Error(), "late_entry") {
		t.Errorf("bad apology_notice and late_entry: error %v, want both named", err)
	}
	bad = strings.Replace(strings.Replace(appointmentYAML, "SAME", "{working_days: 1}", 1), "clock: resume}", "clock: rewind}", 1)
	if _, err := workflow.Parse("x.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "restart") {
		t.Errorf("unknown clock effect: error %v, want the known ones listed", err)
	}
}

// Land: the time spent on the financial obligation does not count (the
// clock pauses for a payment), while a completed supplement restarts the
// statutory time (Nghị định 101/2024/NĐ-CP).
func TestLandPaymentPauses(t *testing.T) {
	c := shipped(t)
	ev := func(action string, tm time.Time) workflow.Event {
		e := workflow.Event{Action: action, Time: tm, Procedure: "DD.003", Department: "van-phong-dang-ky"}
		for _, k := range []string{"input_digitized", "cadastral_data", "tax_notice", "payment_receipt", "supplement_request"} {
			e.Attachments = append(e.Attachments, workflow.Attachment{Kind: k})
		}
		return e
	}
	// DD.003 has 7 working days: received Wed 1/10 09:00, due Fri 10/10 09:00.
	d := decideAt(t, c, nil, ev("receive", at(1, 9, 0)), "").Dossier
	if want := at(10, 9, 0); !d.Due.Equal(want) {
		t.Fatalf("received: due %s, want %s", d.Due, want)
	}
	d = decideAt(t, c, d, ev("assign", at(1, 10, 0)), "").Dossier
	d = decideAt(t, c, d, ev("send_to_tax", at(2, 9, 0)), "").Dossier
	d = decideAt(t, c, d, ev("request_payment", at(3, 9, 0)), "").Dossier
	// Paid Tue 7/10 09:00: Fri 6 h + Mon 8 h + Tue 2 h = 2 working days
	// waiting, so the due date moves from Fri 10/10 to Tue 14/10 09:00 (a
	// restart would give Thu 16/10 09:00).
	d = decideAt(t, c, d, ev("pay", at(7, 9, 0)), "").Dossier
	if want := at(14, 9, 0); !d.Due.Equal(want) {
		t.Fatalf("after the payment: due %s, want %s", d.Due, want)
	}
	// A supplement completed Wed 8/10 09:00 restarts the 7 days: Fri 17/10 09:00.
	d = decideAt(t, c, d, ev("request_supplement", at(7, 10, 0)), "").Dossier
	d = decideAt(t, c, d, ev("supplement", at(8, 9, 0)), "").Dossier
	if want := at(17, 9, 0); !d.Due.Equal(want) {
		t.Fatalf("after the supplement: due %s, want %s", d.Due, want)
	}
}

// The shipped same-day definition (same-day.yaml): chứng thực and the
// hộ tịch procedures the national catalogue gives "ngay trong ngày" are
// due at 17:00 of the day of receipt, or of the next working day when
// received from 15:00 on (Nghị định 23/2015/NĐ-CP, Điều 21), under the
// flow of Decree 118/2025; dossiers received before 1 July 2025 stay on
// the 2018 flow with the sender's date.
func TestSameDayShipped(t *testing.T) {
	c := shipped(t)
	for _, code := range []string{"CT.001", "CT.002", "HT.001", "HT.002"} {
		if def := c.Resolve(code, at(1, 9, 0)); def == nil || def.Key() != "same-day@1" {
			t.Fatalf("procedure %s on 1/10/2025 resolves to %s, want same-day@1", code, keyOf(def))
		}
		if old := c.Resolve(code, time.Date(2025, 6, 30, 9, 0, 0, 0, workflow.Zone)); old == nil || old.Key() != "standard@1" {
			t.Errorf("procedure %s on 30/6/2025 resolves to %s, want standard@1", code, keyOf(old))
		}
		for _, tc := range []struct{ received, want time.Time }{
			{at(1, 14, 59), at(1, 17, 0)}, // Wednesday before 15:00: that day
			{at(1, 15, 0), at(2, 17, 0)},  // from 15:00: Thursday
			{at(3, 15, 30), at(6, 17, 0)}, // Friday afternoon: Monday
			{at(1, 7, 0), at(1, 17, 0)},
		} {
			ev := workflow.Event{Action: "receive", Time: tc.received, Procedure: code,
				Attachments: []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized, Name: "ban-chinh.pdf"}}}
			d := decideAt(t, c, nil, ev, "").Dossier
			if !d.Due.Equal(tc.want) || !d.OriginalDue.Equal(tc.want) {
				t.Errorf("%s received %s: due %s, original %s; want %s", code, tc.received.Format("Mon 02/01 15:04"),
					d.Due.Format("Mon 02/01 15:04"), d.OriginalDue.Format("Mon 02/01 15:04"), tc.want.Format("Mon 02/01 15:04"))
			}
		}
	}
	// The chứng thực procedures state Điều 21's cut-off themselves.
	def := c.Resolve("CT.001", at(1, 9, 0))
	for _, code := range []string{"CT.001", "CT.002"} {
		if sla := def.Procedure(code).SLA; sla != (workflow.SLA{SameDay: true, CutOff: 15 * time.Hour}) {
			t.Errorf("%s: sla %+v, want same day with a 15:00 cut-off", code, sla)
		}
	}
}

// keyOf returns the key of a definition, or "none".
func keyOf(d *workflow.Definition) string {
	if d == nil {
		return "none"
	}
	return d.Key()
}
