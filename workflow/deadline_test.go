package workflow_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// deadlineYAML is a small flow with a 10-working-day SLA; CLOCK is replaced
// by the clock mode under test.
const deadlineYAML = `id: deadline
version: 1
name: {vi: Thử hạn}
effective: 2025-01-01
sla: {working_days: 10}
clock: CLOCK
apology_limit: 1
procedures:
  - "*"
  - {code: "NR.1", no_result: true}
  - {code: "H.4", sla: {working_hours: 4}}
states:
  - {name: received, status: 2}
  - {name: processing, status: 4}
  - {name: supplement, status: 5}
  - {name: resolved, status: 9}
  - {name: returned, status: 10, terminal: true}
actions:
  - {name: receive, from: [start], to: received, sets_due: true}
  - {name: assign, from: [received], to: processing}
  - {name: request_supplement, from: [processing], to: supplement, clock: pause}
  - {name: supplement, from: [supplement], to: processing, clock: resume}
  - {name: resolve, from: [processing], to: resolved, guards: [{result: true}]}
  - {name: return, from: [resolved], to: returned}
  - name: apologize
    from: [received, processing, supplement]
    stay: true
    extends_due: true
    guards: [{attachments: [apology_letter], fields: [new_due, reason]}]
`

func deadlineCatalog(t *testing.T, clock string) *workflow.Catalog {
	t.Helper()
	d, err := workflow.Parse("deadline.yaml", []byte(strings.Replace(deadlineYAML, "CLOCK", clock, 1)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := workflow.NewCatalog(d)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// at is a time in Vietnam in October 2025, a month without holidays.
func at(day, hour, minute int) time.Time {
	return time.Date(2025, 10, day, hour, minute, 0, 0, workflow.Zone)
}

// run decides events one after the other on one dossier, failing on a
// rejection unless the step expects one.
type step struct {
	action    string
	when      time.Time
	edit      func(*workflow.Event)
	wantRej   workflow.Reason
	wantDue   time.Time // checked when not zero
	wantTimer workflow.Timing
}

func play(t *testing.T, c *workflow.Catalog, procedure string, steps []step) *workflow.Dossier {
	t.Helper()
	var d *workflow.Dossier
	for i, s := range steps {
		ev := &workflow.Event{ID: "e" + string(rune('a'+i)), Source: "tayninh", Action: s.action, Dossier: "D-1",
			Time: s.when, Procedure: procedure, Agency: "H57", Actor: "cb"}
		if s.edit != nil {
			s.edit(ev)
		}
		got := c.Decide(d, &workflow.Envelope{Seq: uint64(i + 1), Event: ev})
		if s.wantRej != "" {
			if got.Rejection == nil || got.Rejection.Reason != s.wantRej {
				t.Fatalf("step %d %s: Decide = %+v, want rejection %s", i, s.action, got.Rejection, s.wantRej)
			}
			continue
		}
		if got.Rejection != nil {
			t.Fatalf("step %d %s rejected: %s", i, s.action, got.Rejection.MessageEN())
		}
		d = got.Dossier
		if !s.wantDue.IsZero() && !d.Due.Equal(s.wantDue) {
			t.Fatalf("step %d %s: due %s, want %s", i, s.action, d.Due, s.wantDue)
		}
		if got.Entry != nil && got.Entry.Timing != s.wantTimer {
			t.Fatalf("step %d %s: timing %q, want %q", i, s.action, got.Entry.Timing, s.wantTimer)
		}
	}
	return d
}

func apology(newDue time.Time) func(*workflow.Event) {
	return func(e *workflow.Event) {
		e.Attachments = []workflow.Attachment{{Kind: "apology_letter"}}
		e.NewDue, e.Reason = newDue, "chờ xác minh"
	}
}

func withResult(e *workflow.Event) {
	e.Attachments = []workflow.Attachment{{Kind: "result_electronic"}}
}

func TestDueDateAtReceipt(t *testing.T) {
	c := deadlineCatalog(t, "pause")
	// Mon 6 Oct 09:00 + 10 working days = Mon 20 Oct 09:00.
	play(t, c, "1.0", []step{{action: "receive", when: at(6, 9, 0), wantDue: at(20, 9, 0)}})
	// After 17:00 the time counts from the next working morning: ten full
	// working days from Tue 7 Oct end on Mon 20 Oct at 17:00.
	play(t, c, "1.0", []step{{action: "receive", when: at(6, 17, 30), wantDue: at(20, 17, 0)}})
	// Received on Friday afternoon with a 4-hour SLA: due on Monday.
	play(t, c, "H.4", []step{{action: "receive", when: at(10, 15, 0), wantDue: at(13, 9, 0)}})
}

// TestClockPause: the due date moves later by the working time spent
// waiting for the supplement.
func TestClockPause(t *testing.T) {
	c := deadlineCatalog(t, "pause")
	d := play(t, c, "1.0", []step{
		{action: "receive", when: at(6, 9, 0), wantDue: at(20, 9, 0)},
		{action: "assign", when: at(6, 10, 0), wantTimer: workflow.TimingEarly},
		{action: "request_supplement", when: at(8, 9, 0), wantTimer: workflow.TimingEarly},
		// Wed 09:00 → Mon 09:00 is 3 working days: the due moves to Thu 23 Oct.
		{action: "supplement", when: at(13, 9, 0), wantDue: at(23, 9, 0)},
		{action: "resolve", when: at(23, 8, 30), edit: withResult, wantTimer: workflow.TimingOnTime},
	})
	if !d.PausedAt.IsZero() || !d.ResolvedAt.Equal(at(23, 8, 30)) {
		t.Fatalf("dossier after resolve: paused %s resolved %s", d.PausedAt, d.ResolvedAt)
	}
}

// TestClockRestart: the full statutory time starts again when the
// applicant completes the supplement.
func TestClockRestart(t *testing.T) {
	c := deadlineCatalog(t, "restart")
	play(t, c, "1.0", []step{
		{action: "receive", when: at(6, 9, 0), wantDue: at(20, 9, 0)},
		{action: "assign", when: at(6, 10, 0), wantTimer: workflow.TimingEarly},
		{action: "request_supplement", when: at(8, 9, 0), wantTimer: workflow.TimingEarly},
		{action: "supplement", when: at(13, 9, 0), wantDue: at(27, 9, 0)},
		{action: "resolve", when: at(28, 8, 0), edit: withResult, wantTimer: workflow.TimingLate},
	})
}

func TestApologies(t *testing.T) {
	c := deadlineCatalog(t, "pause")
	d := play(t, c, "1.0", []step{
		{action: "receive", when: at(6, 9, 0), wantDue: at(20, 9, 0)},
		{action: "assign", when: at(7, 9, 0), wantTimer: workflow.TimingEarly},
		// A new date not later than the current one.
		{action: "apologize", when: at(17, 9, 0), edit: apology(at(20, 8, 0)), wantRej: workflow.ReasonInvalidDue},
		{action: "apologize", when: at(17, 9, 0), edit: apology(at(24, 17, 0)), wantDue: at(24, 17, 0), wantTimer: workflow.TimingEarly},
		// Only one apology.
		{action: "apologize", when: at(22, 9, 0), edit: apology(at(28, 17, 0)), wantRej: workflow.ReasonApologyLimit},
		// Within the apology's date, after the original one: late.
		{action: "resolve", when: at(24, 10, 0), edit: withResult, wantTimer: workflow.TimingLate},
	})
	if d.Apologies != 1 {
		t.Fatalf("apologies %d, want 1", d.Apologies)
	}
	// Too late: the due date has passed.
	play(t, c, "1.0", []step{
		{action: "receive", when: at(6, 9, 0)},
		{action: "apologize", when: at(20, 9, 0), edit: apology(at(24, 17, 0)), wantRej: workflow.ReasonDeadlinePassed},
	})
	// An apology needs its letter and fields before the deadline rules.
	play(t, c, "1.0", []step{
		{action: "receive", when: at(6, 9, 0)},
		{action: "apologize", when: at(7, 9, 0), edit: func(e *workflow.Event) { apology(at(24, 17, 0))(e); e.Attachments = nil }, wantRej: workflow.ReasonMissingAttachment},
	})
}

func TestNoResultProcedure(t *testing.T) {
	c := deadlineCatalog(t, "pause")
	play(t, c, "NR.1", []step{
		{action: "receive", when: at(6, 9, 0)},
		{action: "assign", when: at(6, 10, 0), wantTimer: workflow.TimingEarly},
		{action: "resolve", when: at(7, 9, 0), wantTimer: workflow.TimingEarly},
	})
	play(t, c, "1.0", []step{
		{action: "receive", when: at(6, 9, 0)},
		{action: "assign", when: at(6, 10, 0), wantTimer: workflow.TimingEarly},
		{action: "resolve", when: at(7, 9, 0), wantRej: workflow.ReasonMissingAttachment},
	})
}

// TestDeadlineEvents: warnings and expiries from hoso's scheduler flag the
// dossier while its clock runs towards the due date they name.
func TestDeadlineEvents(t *testing.T) {
	c := deadlineCatalog(t, "pause")
	d := play(t, c, "1.0", []step{{action: "receive", when: at(6, 9, 0)}, {action: "assign", when: at(6, 10, 0), wantTimer: workflow.TimingEarly}})
	deadline := func(d *workflow.Dossier, action, source string, due time.Time) workflow.Decision {
		ev := &workflow.Event{ID: action + due.String(), Source: source, Action: action, Dossier: "D-1", Time: due,
			Procedure: d.Procedure, Agency: d.Agency, Actor: "hoso", Due: due}
		return c.Decide(d, &workflow.Envelope{Seq: 99, Event: ev})
	}
	if got := deadline(d, workflow.DeadlineWarning, "tayninh", d.Due); got.Rejection == nil || got.Rejection.Reason != workflow.ReasonUnknownAction {
		t.Fatalf("deadline from a one-stop-shop: %+v, want unknown_action", got.Rejection)
	}
	if got := deadline(d, workflow.DeadlineWarning, workflow.SystemSource, d.Due.Add(time.Hour)); got.Rejection == nil || got.Rejection.Reason != workflow.ReasonStaleDeadline {
		t.Fatalf("deadline for another due date: %+v, want stale_deadline", got.Rejection)
	}
	got := deadline(d, workflow.DeadlineWarning, workflow.SystemSource, d.Due)
	if got.Rejection != nil || got.Entry != nil || !got.Dossier.Warned || got.Dossier.Overdue || got.Outcome.Kind != workflow.OutcomeDeadline ||
		got.Outcome.Source != "tayninh" || got.Dossier.History != d.History {
		t.Fatalf("warning: %+v", got)
	}
	if again := deadline(got.Dossier, workflow.DeadlineWarning, workflow.SystemSource, d.Due); again.Rejection == nil || again.Rejection.Reason != workflow.ReasonStaleDeadline {
		t.Fatalf("second warning: %+v, want stale_deadline", again.Rejection)
	}
	exp := deadline(got.Dossier, workflow.DeadlineExpired, workflow.SystemSource, d.Due)
	if exp.Rejection != nil || !exp.Dossier.Overdue || exp.Outcome.Kind != workflow.OutcomeDeadline {
		t.Fatalf("expiry: %+v", exp)
	}
	// A later action on the overdue dossier is late; the flag stays.
	ev := &workflow.Event{ID: "r", Source: "tayninh", Action: "resolve", Dossier: "D-1", Time: at(21, 9, 0),
		Procedure: d.Procedure, Agency: "H57", Actor: "cb", Attachments: []workflow.Attachment{{Kind: "result_electronic"}}}
	res := c.Decide(exp.Dossier, &workflow.Envelope{Seq: 100, Event: ev})
	if res.Rejection != nil || res.Entry.Timing != workflow.TimingLate || !res.Dossier.Overdue {
		t.Fatalf("resolve after expiry: %+v", res)
	}
	// Once resolved the clock stops: an expiry is stale.
	if got := deadline(res.Dossier, workflow.DeadlineExpired, workflow.SystemSource, d.Due); got.Rejection == nil || got.Rejection.Reason != workflow.ReasonStaleDeadline {
		t.Fatalf("expiry after resolve: %+v", got.Rejection)
	}
	// An apology moves the due date and clears the warning.
	ap := c.Decide(got.Dossier, &workflow.Envelope{Seq: 101, Event: &workflow.Event{ID: "ap", Source: "tayninh", Action: "apologize",
		Dossier: "D-1", Time: at(17, 9, 0), Procedure: d.Procedure, Agency: "H57", Actor: "cb", Reason: "x", NewDue: at(24, 17, 0),
		Attachments: []workflow.Attachment{{Kind: "apology_letter"}}}})
	if ap.Rejection != nil || ap.Dossier.Warned || ap.Dossier.Overdue {
		t.Fatalf("apology after a warning: %+v", ap)
	}
}

func TestTimingOf(t *testing.T) {
	due := time.Date(2025, 10, 20, 9, 0, 0, 0, workflow.Zone)
	for _, tt := range []struct {
		at   time.Time
		want workflow.Timing
	}{
		{due.Add(-24 * time.Hour), workflow.TimingEarly},
		{due.Add(-9 * time.Hour), workflow.TimingOnTime},                        // the same date, earlier
		{due, workflow.TimingOnTime},                                            // the due instant itself
		{due.Add(time.Minute), workflow.TimingLate},                             // after the due instant, the same date
		{due.Add(15 * time.Hour), workflow.TimingLate},                          // the next day in Vietnam
		{due.Add(-10 * time.Hour), workflow.TimingEarly},                        // 23:00 the day before
		{time.Date(2025, 10, 19, 18, 0, 0, 0, time.UTC), workflow.TimingOnTime}, // 01:00 on the 20th in Vietnam
	} {
		if got := workflow.TimingOf(tt.at, due); got != tt.want {
			t.Errorf("TimingOf(%s, %s) = %q, want %q", tt.at, due, got, tt.want)
		}
	}
	if got := workflow.TimingOf(due, time.Time{}); got != "" {
		t.Errorf("TimingOf without due = %q", got)
	}
}
