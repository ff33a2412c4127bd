package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/workflow"
)

// CalendarEventsSubject is the subject of hoso's calendar events:
// hoso.events.hoso.calendar (workflow.CalendarAction).
const CalendarEventsSubject = EventsPrefix + workflow.SystemSource + "." + workflow.CalendarSubject

// CalendarChange is a year whose schedule hoso is to replace in the
// calendar in force: the year file to put in force and the schedule it
// replaces.
type CalendarChange struct {
	New      workflow.CalendarYear // the year file, as the operator wrote it
	Previous workflow.YearSchedule // the schedule in force
	// Since is the stream sequence from which the calendar in force is in
	// force (workflow.CalendarEpoch.Seq of the last one): with the year and
	// the new text, it makes the event's id, so that publishing the same
	// change again before it is applied is a repeat JetStream drops, and
	// going back to a schedule replaced since is a new event.
	Since uint64
}

// CalendarEventID returns the id (and Nats-Msg-Id) of the calendar event
// of a change: calendar/<year>/<since>/<the first 16 bytes of the
// SHA-256 of the new text, in hex>.
func CalendarEventID(c CalendarChange) string {
	sum := sha256.Sum256([]byte(c.New.Text))
	return fmt.Sprintf("calendar/%d/%d/%s", c.New.Schedule.Year, c.Since, hex.EncodeToString(sum[:16]))
}

// PublishCalendar publishes the calendar event of a change into the event
// stream, at the time at (the engine's clock, as for deadline events):
// from source hoso, on CalendarEventsSubject, with the new year file as
// data.calendar and the replaced schedule (workflow.FormatCalendarYear)
// as data.previous_calendar. The engine applies it like any event
// (workflow.Catalog.DecideCalendar). It reports false when JetStream
// dropped it as a repeat of one published within its duplicate window.
func PublishCalendar(ctx context.Context, js jetstream.JetStream, c CalendarChange, at time.Time) (bool, error) {
	prev := string(workflow.FormatCalendarYear(c.Previous))
	ev := &workflow.Event{
		ID:               CalendarEventID(c),
		SourceURI:        "/hoso/calendar",
		Source:           workflow.SystemSource,
		Action:           workflow.CalendarAction,
		Dossier:          workflow.CalendarSubject,
		Time:             at,
		Actor:            workflow.SystemSource,
		Calendar:         &c.New,
		PreviousCalendar: &workflow.CalendarYear{Text: prev, Schedule: c.Previous},
	}
	data, err := Encode(ev)
	if err != nil {
		return false, fmt.Errorf("encode the calendar of %d: %w", c.New.Schedule.Year, err)
	}
	msg := &nats.Msg{Subject: CalendarEventsSubject, Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
	ack, err := js.PublishMsg(ctx, msg)
	if err != nil {
		return false, fmt.Errorf("publish the calendar of %d: %w", c.New.Schedule.Year, err)
	}
	return !ack.Duplicate, nil
}

// CalendarStart returns the schedules the calendar of HOSO_EVENTS started
// with, where they differ from the files: for each year that a calendar
// event of hoso in the stream replaces, the previous_calendar of the first
// such event, in year order; none for a stream without calendar events.
// The calendar a store applying the stream from its start must count in
// is the files' with these years in place (workflow.Calendar.WithYear):
// then replaying the stream decides every event with the calendar the
// live engine decided it with, whatever files have changed since.
//
// It reads only the calendar events, through an ordered consumer filtered
// on CalendarEventsSubject; messages there that are no calendar event of
// hoso (unreadable, or from another source) are passed over.
func CalendarStart(ctx context.Context, js jetstream.JetStream) ([]workflow.YearSchedule, error) {
	str, err := js.Stream(ctx, EventsStream)
	if err != nil {
		return nil, fmt.Errorf("calendar start: stream %s: %w", EventsStream, err)
	}
	info, err := str.Info(ctx, jetstream.WithSubjectFilter(CalendarEventsSubject))
	if err != nil {
		return nil, fmt.Errorf("calendar start: stream %s: %w", EventsStream, err)
	}
	n := info.State.Subjects[CalendarEventsSubject]
	if n == 0 {
		return nil, nil
	}
	cons, err := str.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{CalendarEventsSubject}})
	if err != nil {
		return nil, fmt.Errorf("calendar start: ordered consumer: %w", err)
	}
	first := map[int]workflow.YearSchedule{}
	for read := uint64(0); read < n; {
		batch, err := cons.Fetch(int(min(n-read, 256)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("calendar start: fetch: %w", err)
		}
		got := 0
		pending := uint64(1)
		for m := range batch.Messages() {
			got++
			meta, err := m.Metadata()
			if err != nil {
				return nil, fmt.Errorf("calendar start: %w", err)
			}
			pending = meta.NumPending
			env := DecodeMsg(m.Subject(), m.Headers(), m.Data(), meta.Sequence.Stream, meta.Timestamp.UTC())
			e := env.Event
			if e == nil || e.Source != workflow.SystemSource || e.Action != workflow.CalendarAction || e.PreviousCalendar == nil {
				continue
			}
			if _, ok := first[e.PreviousCalendar.Schedule.Year]; !ok {
				first[e.PreviousCalendar.Schedule.Year] = e.PreviousCalendar.Schedule
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, fmt.Errorf("calendar start: fetch: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("calendar start: %w", err)
		}
		read += uint64(got)
		if got == 0 || pending == 0 {
			break
		}
	}
	out := make([]workflow.YearSchedule, 0, len(first))
	for _, y := range slices.Sorted(maps.Keys(first)) {
		out = append(out, first[y])
	}
	return out, nil
}
