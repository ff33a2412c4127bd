package events_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// yearFile returns a year file of year whose only holiday is 1 January
// and whose source is src.
func yearFile(t testing.TB, year int, src string) workflow.CalendarYear {
	t.Helper()
	text := fmt.Sprintf("year: %d\nsource: %q\nholidays:\n  - {date: %d-01-01, name: Tết Dương lịch}\n", year, src, year)
	y, err := workflow.ParseCalendarYear("x.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return workflow.CalendarYear{Text: text, Schedule: *y}
}

// TestCalendarStart: the calendar a stream starts with is, for each year
// its calendar events replace, what the first of them replaced; the
// events of other subjects and messages on the calendar subject that are
// no calendar event of hoso do not count.
func TestCalendarStart(t *testing.T) {
	_, _, js := startJS(t)
	setup(t, js)
	ctx := t.Context()
	if got, err := events.CalendarStart(ctx, js); err != nil || got != nil {
		t.Fatalf("CalendarStart(a stream without calendar events) = %v, %v; want none", got, err)
	}
	publishEvents(t, js, 0, 3)
	at := time.Date(2026, 12, 4, 9, 0, 0, 0, workflow.Zone)
	a27, b27 := yearFile(t, 2027, "A"), yearFile(t, 2027, "B")
	x28, y28 := yearFile(t, 2028, "X"), yearFile(t, 2028, "Y")
	for i, c := range []events.CalendarChange{
		{New: a27, Previous: workflow.ComputedYear(2027)},
		{New: x28, Previous: y28.Schedule, Since: 5},
		{New: b27, Previous: a27.Schedule, Since: 4},
		{New: a27, Previous: b27.Schedule, Since: 6},
	} {
		ok, err := events.PublishCalendar(ctx, js, c, at)
		if err != nil || !ok {
			t.Fatalf("PublishCalendar %d = %t, %v", i, ok, err)
		}
		if i == 0 {
			// An unreadable message on the calendar subject, before the
			// second calendar event of 2028.
			if _, err := js.Publish(ctx, events.CalendarEventsSubject, []byte(`{"not":"an event"}`)); err != nil {
				t.Fatal(err)
			}
		}
	}
	publishEvents(t, js, 3, 5)
	// The same change published again is a repeat JetStream drops.
	if ok, err := events.PublishCalendar(ctx, js, events.CalendarChange{New: a27, Previous: b27.Schedule, Since: 6}, at.Add(time.Hour)); err != nil || ok {
		t.Fatalf("PublishCalendar(the same change again) = %t, %v; want a dropped repeat", ok, err)
	}
	got, err := events.CalendarStart(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].Equal(workflow.ComputedYear(2027)) || !got[1].Equal(y28.Schedule) {
		t.Fatalf("CalendarStart = %+v, want the computed 2027 and Y's 2028", got)
	}

	// The event as published: from hoso, its id from the year, the
	// sequence and the new text, its time the one given.
	cons, err := js.OrderedConsumer(ctx, events.EventsStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.CalendarEventsSubject}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	meta, _ := m.Metadata()
	env := events.Decode(m.Subject(), m.Data(), meta.Sequence.Stream, meta.Timestamp)
	e := env.Event
	if e == nil || e.Source != workflow.SystemSource || e.Action != workflow.CalendarAction || !e.Time.Equal(at) ||
		e.Calendar.Text != a27.Text || !e.PreviousCalendar.Schedule.Equal(workflow.ComputedYear(2027)) ||
		e.ID != events.CalendarEventID(events.CalendarChange{New: a27}) || m.Headers().Get(nats.MsgIdHdr) != e.ID {
		t.Fatalf("first calendar event %+v (rejection %+v)", e, env.Rejection)
	}
	if want := "calendar/2027/0/"; e.ID[:len(want)] != want || len(e.ID) != len(want)+32 {
		t.Errorf("id %q, want %s and 32 hex digits", e.ID, want)
	}
}
