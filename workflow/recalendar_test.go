package workflow_test

import (
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/workflow"
)

// announced2027 is an announcement of 2027 that differs from the
// computed year (Tết Saturday 6/2: off Fri 5/2 to Thu 11/2): civil
// servants off Thu 4/2 to Wed 10/2, Thu 4/2 made up on Saturday 30/1.
const announced2027 = `year: 2027
source: "Thông báo thử nghiệm: Tết Âm lịch 04/02–10/02, làm bù thứ Bảy 30/01"
holidays:
  - {date: 2027-01-01, name: Tết Dương lịch}
  - {date: 2027-02-04, name: Nghỉ hoán đổi (làm bù thứ Bảy 30/01)}
  - {date: 2027-02-05, name: Tết Nguyên đán}
  - {date: 2027-02-06, name: Tết Nguyên đán}
  - {date: 2027-02-07, name: Tết Nguyên đán}
  - {date: 2027-02-08, name: Tết Nguyên đán}
  - {date: 2027-02-09, name: Tết Nguyên đán}
  - {date: 2027-02-10, name: Nghỉ bù Tết Nguyên đán}
  - {date: 2027-04-16, name: Giỗ Tổ Hùng Vương}
  - {date: 2027-04-30, name: Ngày Chiến thắng}
  - {date: 2027-05-01, name: Ngày Quốc tế Lao động}
  - {date: 2027-05-03, name: Nghỉ bù Ngày Quốc tế Lao động}
  - {date: 2027-09-01, name: Quốc khánh}
  - {date: 2027-09-02, name: Quốc khánh}
working_days:
  - {date: 2027-01-30, name: Làm bù cho thứ Năm 04/02}
`

// recalYAML is a flow with statutory times of 50 and 5 working days, and
// procedures whose due date the sender gives.
const recalYAML = `id: recal
version: 1
name: {vi: Thử lịch}
effective: 2025-01-01
clock: pause
apology_limit: 1
procedures:
  - "*"
  - {code: "TT.050", sla: {working_days: 50}}
  - {code: "TT.005", sla: {working_days: 5}}
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

func recalCatalog(t *testing.T) *workflow.Catalog {
	t.Helper()
	d, err := workflow.Parse("recal.yaml", []byte(recalYAML))
	if err != nil {
		t.Fatal(err)
	}
	c, err := workflow.NewCatalog(d)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := workflow.NewCalendar(workflow.CalendarConfig{}) // 2027 computed
	if err != nil {
		t.Fatal(err)
	}
	return c.WithCalendar(cal)
}

// ict is a time in Vietnam.
func ict(y int, m time.Month, d, hour, minute int) time.Time {
	return time.Date(y, m, d, hour, minute, 0, 0, workflow.Zone)
}

// calendarEvent is hoso's calendar event of seq at t, replacing 2027 with
// text.
func calendarEvent(t *testing.T, seq uint64, at time.Time, text string) *workflow.Envelope {
	t.Helper()
	y, err := workflow.ParseCalendarYear("2027.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	prev := workflow.ComputedYear(2027)
	return &workflow.Envelope{Seq: seq, Subject: "hoso.events.hoso.calendar", Event: &workflow.Event{
		ID: "calendar/2027/0/x", Source: workflow.SystemSource, Action: workflow.CalendarAction,
		Dossier: workflow.CalendarSubject, Time: at, Actor: workflow.SystemSource,
		Calendar:         &workflow.CalendarYear{Text: text, Schedule: *y},
		PreviousCalendar: &workflow.CalendarYear{Text: string(workflow.FormatCalendarYear(prev)), Schedule: prev},
	}}
}

// dossierPlay decides events on one dossier in order.
type dossierPlay struct {
	t       *testing.T
	code    string
	d       *workflow.Dossier
	entries []workflow.HistoryEntry
	seq     uint64
}

func (p *dossierPlay) do(c *workflow.Catalog, action, procedure string, when time.Time, edit func(*workflow.Event)) {
	p.t.Helper()
	p.seq++
	ev := &workflow.Event{ID: p.code + "/" + action + "/" + when.Format(time.RFC3339), Source: "tayninh", Action: action,
		Dossier: p.code, Time: when, Procedure: procedure, Agency: "H57", Actor: "cb", Department: "mot-cua"}
	if edit != nil {
		edit(ev)
	}
	dec := c.Decide(p.d, &workflow.Envelope{Seq: p.seq, Event: ev})
	if dec.Rejection != nil {
		p.t.Fatalf("%s %s at %s rejected: %s", p.code, action, when, dec.Rejection.MessageEN())
	}
	p.d = dec.Dossier
	p.entries = append(p.entries, *dec.Entry)
}

// TestCalendarEventRecomputesDueDates: an announced 2027 replaces the
// computed one on Friday 4 December 2026 at 09:00. The dossiers whose due
// date hoso counted from their statutory time keep the working time they
// had left, counted in the announced calendar; a date the applicant was
// given (an apology's, a sender's) stays; so do finished dossiers,
// dossiers recorded overdue and dossiers due before 2027. The instants are
// counted by hand below.
func TestCalendarEventRecomputesDueDates(t *testing.T) {
	cat := recalCatalog(t)
	play := func(code string) *dossierPlay { return &dossierPlay{t: t, code: code} }
	withResult := func(e *workflow.Event) { e.Attachments = []workflow.Attachment{{Kind: "result_electronic"}} }

	// Working days after Tuesday 1 December 2026, computed 2027 (off
	// 1/1, and 5/2 to 11/2): Dec 2–4 (1–3), 7–11 (4–8), 14–18 (9–13),
	// 21–25 (14–18), 28–31 (19–22), Jan 4–8 (23–27), 11–15 (28–32),
	// 18–22 (33–37), 25–29 (38–42), Feb 1–4 (43–46), Feb 12 (47), Feb 15,
	// 16, 17 (48, 49, 50). Announced: Sat Jan 30 (43), Feb 1–3 (44–46),
	// Thu Feb 11 (47), Fri 12 (48), Mon 15 (49), Tue 16 (50). Fifty
	// working days from 09:00 end at 09:00 of the 50th.
	oldDue, newDue := ict(2027, 2, 17, 9, 0), ict(2027, 2, 16, 9, 0)

	a := play("A") // its clock runs
	a.do(cat, "receive", "TT.050", ict(2026, 12, 1, 9, 0), nil)
	b := play("B") // waiting for a supplement since Wednesday 2 December 10:00
	b.do(cat, "receive", "TT.050", ict(2026, 12, 1, 14, 0), nil)
	b.do(cat, "assign", "TT.050", ict(2026, 12, 1, 15, 0), nil)
	b.do(cat, "request_supplement", "TT.050", ict(2026, 12, 2, 10, 0), nil)
	c := play("C") // an apology set its due date: Friday 26 February 2027
	c.do(cat, "receive", "TT.050", ict(2026, 12, 1, 9, 0), nil)
	c.do(cat, "apologize", "TT.050", ict(2026, 12, 3, 10, 0), func(e *workflow.Event) {
		e.Attachments = []workflow.Attachment{{Kind: "apology_letter"}}
		e.NewDue, e.NewDueDay, e.Reason = ict(2027, 2, 26, 0, 0), true, "chờ xác minh"
	})
	d := play("D") // the sender gave its due date
	d.do(cat, "receive", "X.1", ict(2026, 12, 1, 9, 0), func(e *workflow.Event) { e.Due, e.DueDay = ict(2027, 2, 9, 0, 0), true })
	e := play("E") // resolved
	e.do(cat, "receive", "TT.050", ict(2026, 12, 1, 9, 0), nil)
	e.do(cat, "assign", "TT.050", ict(2026, 12, 1, 10, 0), nil)
	e.do(cat, "resolve", "TT.050", ict(2026, 12, 3, 10, 0), withResult)
	f := play("F") // due Tuesday 8 December 2026
	f.do(cat, "receive", "TT.005", ict(2026, 12, 1, 9, 0), nil)

	for _, x := range []struct {
		p         *dossierPlay
		due, orig time.Time
	}{
		{a, oldDue, oldDue}, {b, ict(2027, 2, 17, 14, 0), ict(2027, 2, 17, 14, 0)},
		{c, ict(2027, 2, 26, 17, 0), oldDue}, {d, ict(2027, 2, 9, 17, 0), ict(2027, 2, 9, 17, 0)},
		{f, ict(2026, 12, 8, 9, 0), ict(2026, 12, 8, 9, 0)},
	} {
		if !x.p.d.Due.Equal(x.due) || !x.p.d.OriginalDue.Equal(x.orig) {
			t.Fatalf("%s before the event: due %s, original %s; want %s, %s", x.p.code, x.p.d.Due, x.p.d.OriginalDue, x.due, x.orig)
		}
	}

	at := ict(2026, 12, 4, 9, 0)
	env := calendarEvent(t, 100, at, announced2027)
	ch, dec := cat.DecideCalendar(env)
	if ch == nil {
		t.Fatalf("DecideCalendar = rejection %+v", dec.Rejection)
	}
	if !ch.Changes() || ch.Year() != 2027 || !ch.From().Equal(ict(2027, 1, 1, 0, 0)) {
		t.Fatalf("change: changes %t, year %d, from %s", ch.Changes(), ch.Year(), ch.From())
	}
	overdue := a.d.Clone()
	overdue.Code, overdue.Overdue, overdue.Warned = "A-overdue", true, true
	for _, p := range []*dossierPlay{d, e, f} {
		if nd, entry := ch.Apply(p.d); nd != nil || entry != nil {
			t.Errorf("Apply(%s) = %+v, %+v; want nothing: its dates are not the calendar's to move", p.code, nd, entry)
		}
	}
	if nd, _ := ch.Apply(overdue); nd != nil {
		t.Errorf("Apply(a dossier recorded overdue) = %+v, want nothing", nd)
	}
	for _, x := range []struct {
		p         *dossierPlay
		due, orig time.Time
	}{
		{a, newDue, newDue},
		{b, ict(2027, 2, 16, 14, 0), ict(2027, 2, 16, 14, 0)},
		{c, ict(2027, 2, 26, 17, 0), newDue}, // the apology's date stays; the original one moves
	} {
		before := x.p.d
		nd, entry := ch.Apply(before)
		if nd == nil || entry == nil {
			t.Fatalf("Apply(%s) changed nothing", x.p.code)
		}
		if !nd.Due.Equal(x.due) || !nd.OriginalDue.Equal(x.orig) {
			t.Errorf("Apply(%s): due %s, original %s; want %s, %s", x.p.code, nd.Due, nd.OriginalDue, x.due, x.orig)
		}
		if entry.Action != workflow.CalendarAction || entry.Source != workflow.SystemSource || entry.Seq != 100 ||
			entry.From != before.State || entry.To != before.State || entry.ToStatus != before.Status ||
			!entry.Due.Equal(x.due) || !entry.Time.Equal(at) || entry.Index != before.History || entry.PrevHash != before.Head ||
			!strings.Contains(entry.Reason, "2027") || !strings.Contains(entry.Reason, "Thông báo thử nghiệm") ||
			entry.Hash != entry.ComputeHash() || nd.Head != entry.Hash || nd.History != before.History+1 {
			t.Errorf("Apply(%s) entry %+v", x.p.code, entry)
		}
		if !nd.UpdatedAt.Equal(before.UpdatedAt) || !nd.PausedAt.Equal(before.PausedAt) || nd.State != before.State {
			t.Errorf("Apply(%s) changed more than the dates: %+v", x.p.code, nd)
		}
		if x.p.d.Due != before.Due || x.p.d.History != before.History {
			t.Errorf("Apply(%s) modified its argument", x.p.code)
		}
		x.p.d = nd
		x.p.entries = append(x.p.entries, *entry)
	}
	if ch.Changed() != 3 {
		t.Errorf("Changed() = %d, want 3", ch.Changed())
	}
	out := ch.Decision().Outcome
	if out.Kind != workflow.OutcomeAccepted || out.Source != workflow.SystemSource || out.Seq != 100 ||
		out.Dossier != workflow.CalendarSubject || !strings.Contains(out.MessageEN, "due dates of 3 dossiers recomputed") ||
		!strings.Contains(out.MessageVI, "3 hồ sơ") {
		t.Errorf("outcome %+v", out)
	}

	// A warning was for the due date that moves: it is warned again for
	// the new one.
	warned := overdue.Clone() // A as it was before the event
	warned.Code, warned.Overdue = "A-warned", false
	warned.Warned = true
	if nd, _ := ch.Apply(warned); nd == nil || nd.Warned {
		t.Errorf("Apply(a warned dossier) = %+v, want its warning reset", nd)
	}

	// From the event on, deadlines count in the announced calendar.
	next := ch.Catalog()
	if !next.Calendar().Confirmed(2027) || cat.Calendar().Confirmed(2027) {
		t.Fatal("the announced 2027 is not in force in the new catalog only")
	}
	if next.CalendarAt(99) != cat.Calendar() || next.CalendarAt(100) != next.Calendar() || next.CalendarAt(1<<40) != next.Calendar() {
		t.Error("CalendarAt does not change calendars at the event's sequence")
	}
	// Received on Friday 4 December at 10:00: the 50th working day after
	// it is Friday 19 February 2027 (the 53rd after 1 December) in the
	// announced calendar, Monday 22 February in the computed one.
	g := play("G")
	g.seq = 100
	g.do(next, "receive", "TT.050", ict(2026, 12, 4, 10, 0), nil)
	if want := ict(2027, 2, 19, 10, 0); !g.d.Due.Equal(want) {
		t.Errorf("receipt after the event: due %s, want %s", g.d.Due, want)
	}
	// B's supplement on Monday 7 December at 09:00 ends 23 working hours
	// of waiting (Dec 2 10:00–17:00 5 h, Dec 3 and 4 8 h each, Dec 7
	// 07:00–09:00 2 h): Tuesday 16 February 14:00 plus 23 hours is Friday
	// 19 February 11:00.
	b.seq = 100
	b.do(next, "supplement", "TT.050", ict(2026, 12, 7, 9, 0), nil)
	if want := ict(2027, 2, 19, 11, 0); !b.d.Due.Equal(want) || !b.d.OriginalDue.Equal(want) {
		t.Errorf("B resumed: due %s, original %s; want both %s", b.d.Due, b.d.OriginalDue, want)
	}

	// The records are the fold of their histories with the calendars in
	// force at each entry; a catalog that never saw the event cannot
	// account for the calendar entries.
	for _, p := range []*dossierPlay{a, b, c} {
		if fs := next.CheckRecord(p.d, p.entries); len(fs) > 0 {
			t.Errorf("CheckRecord(%s) = %+v, want nothing", p.code, fs)
		}
		if fs := cat.CheckRecord(p.d, p.entries); len(fs) == 0 {
			t.Errorf("CheckRecord(%s) with the calendar before the event finds nothing", p.code)
		}
	}
	// C's original due date is re-derived exactly, though its due date
	// (the apology's) did not move.
	bad := c.d.Clone()
	bad.OriginalDue = oldDue
	if fs := next.CheckRecord(bad, c.entries); !hasFinding(fs, "original_due") {
		t.Errorf("CheckRecord(C with the original due date before the event) = %+v, want a finding on original_due", fs)
	}
	// A calendar entry with another due date breaks the fold.
	tampered := append([]workflow.HistoryEntry(nil), a.entries...)
	tampered[1].Due = oldDue
	if fs := next.CheckRecord(a.d, tampered); !hasFinding(fs, "history[1].due") {
		t.Errorf("CheckRecord(A with its calendar entry's due changed) = %+v, want a finding on history[1].due", fs)
	}
}

func hasFinding(fs []workflow.Finding, field string) bool {
	for _, f := range fs {
		if f.Field == field {
			return true
		}
	}
	return false
}

// TestCalendarEventBoundaries: a running dossier due before the event's
// time keeps its dates, a waiting one is recomputed from the instant its
// clock stopped whatever the event's time; only hoso sends
// calendar events; a schedule already in force changes nothing.
func TestCalendarEventBoundaries(t *testing.T) {
	cat := recalCatalog(t)
	a := &dossierPlay{t: t, code: "A"}
	a.do(cat, "receive", "TT.050", ict(2026, 12, 1, 9, 0), nil) // due Wed 17 Feb 2027 09:00
	b := &dossierPlay{t: t, code: "B"}
	b.do(cat, "receive", "TT.050", ict(2026, 12, 1, 14, 0), nil)
	b.do(cat, "assign", "TT.050", ict(2026, 12, 1, 15, 0), nil)
	b.do(cat, "request_supplement", "TT.050", ict(2026, 12, 2, 10, 0), nil)

	// Due Thursday 28 January 2027 at 09:00 (5 working days from Thursday
	// 21 January): at 18:00 that day no working time is left, and the
	// next working morning is not its due date.
	late := &dossierPlay{t: t, code: "L"}
	late.do(cat, "receive", "TT.005", ict(2027, 1, 21, 9, 0), nil)
	if want := ict(2027, 1, 28, 9, 0); !late.d.Due.Equal(want) {
		t.Fatalf("L due %s, want %s", late.d.Due, want)
	}
	ch, _ := cat.DecideCalendar(calendarEvent(t, 100, ict(2027, 1, 28, 18, 0), announced2027))
	if nd, _ := ch.Apply(late.d); nd != nil {
		t.Errorf("event after the due time moved L to %s", nd.Due)
	}
	// A waits since 2 December: recomputed from then, whatever the
	// event's time, to Tuesday 16 February 14:00.
	ch, _ = cat.DecideCalendar(calendarEvent(t, 100, ict(2027, 2, 17, 10, 0), announced2027))
	if nd, _ := ch.Apply(a.d); nd != nil {
		t.Errorf("event after A's due time moved it to %s", nd.Due)
	}
	nd, _ := ch.Apply(b.d)
	if want := ict(2027, 2, 16, 14, 0); nd == nil || !nd.Due.Equal(want) {
		t.Errorf("event of 17 February: B = %+v, want due %s", nd, want)
	}

	env := calendarEvent(t, 7, ict(2026, 12, 4, 9, 0), announced2027)
	env.Event.Source = "tayninh"
	if ch, dec := cat.DecideCalendar(env); ch != nil || dec.Rejection == nil || dec.Rejection.Reason != workflow.ReasonUnknownAction {
		t.Errorf("calendar event from tayninh: change %v, rejection %+v; want unknown_action", ch, dec.Rejection)
	}
	if dec := cat.Decide(nil, env); dec.Rejection == nil || dec.Rejection.Reason != workflow.ReasonUnknownAction {
		t.Errorf("Decide(calendar event from tayninh) = %+v, want unknown_action", dec.Rejection)
	}
	env = calendarEvent(t, 8, ict(2026, 12, 4, 9, 0), announced2027)
	env.RejectDuplicate()
	if ch, dec := cat.DecideCalendar(env); ch != nil || dec.Rejection == nil || dec.Rejection.Reason != workflow.ReasonDuplicate {
		t.Errorf("duplicate calendar event: change %v, rejection %+v; want duplicate", ch, dec.Rejection)
	}

	// The computed year again: accepted, nothing changes.
	computed := string(workflow.FormatCalendarYear(workflow.ComputedYear(2027)))
	ch, _ = cat.DecideCalendar(calendarEvent(t, 9, ict(2026, 12, 4, 9, 0), computed))
	if ch == nil || ch.Changes() || ch.Catalog() != cat {
		t.Fatalf("the schedule in force again: %+v", ch)
	}
	if nd, _ := ch.Apply(a.d); nd != nil {
		t.Errorf("the schedule in force again moved A to %s", nd.Due)
	}
	if out := ch.Decision().Outcome; out.Kind != workflow.OutcomeAccepted || !strings.Contains(out.MessageEN, "already in force") {
		t.Errorf("outcome %+v", out)
	}
}

// TestFormatCalendarYear: every shipped year and every computed year of
// 1990–2100 reads back as itself, and so do names that YAML would take
// apart unquoted.
func TestFormatCalendarYear(t *testing.T) {
	var years []workflow.YearSchedule
	files, err := fs.Glob(configs.FS, configs.CalendarDir+"/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("shipped calendar files: %v %v", files, err)
	}
	for _, f := range files {
		data, err := fs.ReadFile(configs.FS, f)
		if err != nil {
			t.Fatal(err)
		}
		y, err := workflow.ParseCalendarYear(f, data)
		if err != nil {
			t.Fatal(err)
		}
		years = append(years, *y)
	}
	for y := 1990; y <= 2100; y++ {
		years = append(years, workflow.ComputedYear(y))
	}
	years = append(years, workflow.YearSchedule{Year: 2030, Source: `a "quoted" source: with, {all} [sorts]`,
		Holidays:    []workflow.DayOff{{Date: ict(2030, 1, 1, 0, 0), Name: "x: y, {z} [w] # no comment \\ \t"}},
		WorkingDays: []workflow.DayOff{{Date: ict(2030, 1, 5, 0, 0), Name: "'single' \"double\""}}})
	for _, y := range years {
		text := workflow.FormatCalendarYear(y)
		back, err := workflow.ParseCalendarYear("formatted.yaml", text)
		if err != nil {
			t.Fatalf("ParseCalendarYear(FormatCalendarYear(%d)): %v\n%s", y.Year, err, text)
		}
		if !back.Equal(y) {
			t.Fatalf("year %d does not read back as itself:\n%s\n%+v\n%+v", y.Year, text, *back, y)
		}
		if again := workflow.FormatCalendarYear(*back); string(again) != string(text) {
			t.Fatalf("year %d formats differently once read back:\n%s\n%s", y.Year, text, again)
		}
	}
}

// TestCalendarWithYear: WithYear replaces one year and keeps the others
// and the working hours; giving a year its computed schedule makes it
// computed again.
func TestCalendarWithYear(t *testing.T) {
	cfg := workflow.CalendarConfig{CutOff: 15 * time.Hour}
	cal, err := workflow.LoadCalendar(configs.FS, configs.CalendarDir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	y, err := workflow.ParseCalendarYear("2027.yaml", []byte(announced2027))
	if err != nil {
		t.Fatal(err)
	}
	next, err := cal.WithYear(*y)
	if err != nil {
		t.Fatal(err)
	}
	if next.Config() != cal.Config() || !next.Year(2026).Equal(cal.Year(2026)) || !next.Year(2027).Equal(*y) || !next.Confirmed(2027) {
		t.Fatal("WithYear did not replace 2027 alone")
	}
	if next.IsWorkingDay(ict(2027, 2, 4, 0, 0)) || !next.IsWorkingDay(ict(2027, 1, 30, 0, 0)) || !next.IsWorkingDay(ict(2027, 2, 11, 0, 0)) {
		t.Error("the announced 2027 is not followed")
	}
	back, err := next.WithYear(workflow.ComputedYear(2027))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range back.Years() {
		if g.Year == 2027 {
			t.Fatalf("2027 given as %+v after WithYear(ComputedYear(2027))", g)
		}
	}
	if back.Confirmed(2027) || !back.Year(2027).Equal(workflow.ComputedYear(2027)) {
		t.Error("2027 is not computed again")
	}
}

// TestShift: Shift counts working time from any instant, without the
// receipts' cut-off, and undoes Working.
func TestShift(t *testing.T) {
	cal, err := workflow.NewCalendar(workflow.CalendarConfig{CutOff: 15 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		from time.Time
		d    time.Duration
		want time.Time
	}{
		// 16:00 is after the cut-off: AddWorking would start on Tuesday.
		{ict(2025, 10, 6, 16, 0), 2 * time.Hour, ict(2025, 10, 7, 8, 0)},
		{ict(2025, 10, 6, 16, 0), time.Hour, ict(2025, 10, 6, 17, 0)},
		{ict(2025, 10, 6, 12, 0), time.Hour, ict(2025, 10, 6, 14, 30)}, // lunch
		{ict(2025, 10, 6, 6, 0), 4*time.Hour + 30*time.Minute, ict(2025, 10, 6, 11, 30)},
		{ict(2025, 10, 4, 10, 0), time.Hour, ict(2025, 10, 6, 8, 0)},       // Saturday
		{ict(2025, 10, 6, 17, 30), 8 * time.Hour, ict(2025, 10, 7, 17, 0)}, // after hours
	} {
		if got := cal.Shift(x.from, x.d); !got.Equal(x.want) {
			t.Errorf("Shift(%s, %s) = %s, want %s", x.from, x.d, got, x.want)
		}
	}
	for _, u := range []time.Time{ict(2025, 10, 6, 16, 30), ict(2025, 10, 8, 11, 30), ict(2025, 10, 20, 17, 0)} {
		from := ict(2025, 10, 6, 16, 0)
		if got := cal.Shift(from, cal.Working(from, u)); !got.Equal(u) {
			t.Errorf("Shift(%s, Working(…, %s)) = %s", from, u, got)
		}
	}
}

// TestReservedActions: a definition may not name an action as hoso's
// own events, which only hoso sends.
func TestReservedActions(t *testing.T) {
	for _, name := range []string{workflow.DeadlineWarning, workflow.DeadlineExpired, workflow.CalendarAction} {
		def := strings.Replace(recalYAML, "name: assign,", "name: "+name+",", 1)
		_, err := workflow.Parse("reserved.yaml", []byte(def))
		if err == nil || !strings.Contains(err.Error(), `action name "`+name+`" is reserved for hoso's own events`) {
			t.Errorf("Parse(an action named %s) = %v, want it reserved", name, err)
		}
	}
}
