package events_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

const calendarSubject = "hoso.events.hoso.calendar"

// calendarText is a year file of 2027 with one swapped Saturday.
const calendarText = `# announced
year: 2027
source: "Thông báo thử nghiệm"
holidays:
  - {date: 2027-02-04, name: Nghỉ hoán đổi}
working_days:
  - {date: 2027-01-30, name: Làm bù}
`

// calendarPayload returns a valid calendar event as a map, for tests to
// spoil.
func calendarPayload(t testing.TB) map[string]any {
	prev := string(workflow.FormatCalendarYear(workflow.ComputedYear(2027)))
	return map[string]any{
		"specversion": "1.0",
		"id":          "calendar/2027/0/abc",
		"source":      "/hoso/calendar",
		"type":        "vn.gov.hoso.calendar",
		"subject":     "calendar",
		"time":        "2026-12-04T09:00:00+07:00",
		"data":        map[string]any{"actor": "hoso", "calendar": calendarText, "previous_calendar": prev},
	}
}

// TestCalendarEventCodec: a calendar event carries the year file it puts
// in force and the one it replaces, as text, read at decoding; it names
// no procedure or agency. Encode writes what Decode reads.
func TestCalendarEventCodec(t *testing.T) {
	env := events.Decode(calendarSubject, mustJSON(t, calendarPayload(t)), 3, published.AddDate(2, 1, 0))
	if env.Rejection != nil {
		t.Fatalf("Decode(calendar event) rejected: %s", env.Rejection.Detail)
	}
	e := env.Event
	if e.Action != workflow.CalendarAction || e.Source != workflow.SystemSource || e.Dossier != workflow.CalendarSubject ||
		e.Procedure != "" || e.Agency != "" || e.Calendar == nil || e.PreviousCalendar == nil ||
		e.Calendar.Text != calendarText || e.Calendar.Schedule.Year != 2027 || len(e.Calendar.Schedule.WorkingDays) != 1 ||
		!e.PreviousCalendar.Schedule.Equal(workflow.ComputedYear(2027)) {
		t.Fatalf("Decode(calendar event) = %+v", e)
	}
	raw, err := events.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	again := events.Decode(calendarSubject, raw, 3, published.AddDate(2, 1, 0))
	if again.Rejection != nil {
		t.Fatalf("Decode(Encode(calendar event)) rejected: %s", again.Rejection.Detail)
	}
	if diff := cmp.Diff(e, again.Event, timeEqual); diff != "" {
		t.Fatalf("Decode(Encode(e)) differs from e:\n%s", diff)
	}
}

func TestCalendarEventCodecInvalid(t *testing.T) {
	other := string(workflow.FormatCalendarYear(workflow.ComputedYear(2028)))
	for _, tc := range []struct {
		name    string
		subject string // calendarSubject if empty
		spoil   func(m map[string]any)
		details []string
	}{
		{name: "calendar missing", spoil: func(m map[string]any) { delete(data(m), "calendar") }, details: []string{"data.calendar: required"}},
		{name: "previous missing", spoil: func(m map[string]any) { delete(data(m), "previous_calendar") }, details: []string{"data.previous_calendar: required"}},
		{name: "calendar not text", spoil: func(m map[string]any) { data(m)["calendar"] = map[string]any{"year": 2027} },
			details: []string{"data.calendar: want a string, got object"}},
		{name: "calendar bad yaml", spoil: func(m map[string]any) { data(m)["calendar"] = "year: [" }, details: []string{"data.calendar:"}},
		{name: "calendar bad year file", spoil: func(m map[string]any) {
			data(m)["calendar"] = "year: 2027\nsource: x\nworking_days:\n  - {date: 2027-02-03, name: x}\n"
		}, details: []string{"data.calendar:4: working day 2027-02-03 is a Wednesday, not a Saturday or Sunday"}},
		{name: "years differ", spoil: func(m map[string]any) { data(m)["previous_calendar"] = other },
			details: []string{"data.previous_calendar: year 2028, but data.calendar is of 2027"}},
		{name: "calendar too long", spoil: func(m map[string]any) { data(m)["calendar"] = calendarText + "#" + strings.Repeat("x", 16<<10) },
			details: []string{"data.calendar: 16558 bytes, over the 16384-byte limit"}}, // 173 bytes, "#", 16384 x
		{name: "subject", subject: "hoso.events.hoso.calendar_2027", spoil: func(m map[string]any) { m["subject"] = "calendar_2027" },
			details: []string{`subject: "calendar_2027", want "calendar": the subject of a calendar event`}},
		{name: "calendar in another event", subject: testSubject, spoil: func(m map[string]any) {
			m["type"], m["subject"] = "vn.gov.hoso.receive", testCode
			data(m)["procedure"], data(m)["agency"] = "1.004227", "H57"
		}, details: []string{"data.calendar, data.previous_calendar: only a calendar event (type vn.gov.hoso.calendar) carries them"}},
		{name: "a dossier named calendar", subject: "hoso.events.tayninh.calendar", spoil: func(m map[string]any) {
			m["type"] = "vn.gov.hoso.receive"
			data(m)["procedure"], data(m)["agency"] = "1.004227", "H57"
			delete(data(m), "calendar")
			delete(data(m), "previous_calendar")
		}, details: []string{`subject: "calendar" is reserved for hoso's calendar events, not a dossier code`}},
	} {
		m := calendarPayload(t)
		tc.spoil(m)
		subject := tc.subject
		if subject == "" {
			subject = calendarSubject
		}
		expectMalformed(t, tc.name, subject, mustJSON(t, m), published.AddDate(2, 1, 0), tc.details)
	}
	// A vendor's event names its procedure and agency still.
	m := payload()
	delete(data(m), "procedure")
	if env := events.Decode(testSubject, mustJSON(t, m), 5, published); env.Rejection == nil ||
		!strings.Contains(env.Rejection.Detail, "data.procedure: required") {
		t.Errorf("receipt without a procedure: %+v", env)
	}
}
