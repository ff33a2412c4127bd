package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// The calendar year files change while hoso runs: the government announces
// a year hoso had computed, and an operator drops its file in and sends
// SIGHUP. The decisions must not count in a calendar swapped under them
// (a replay would decide the events before the change with the new one),
// so the change goes through the stream: the engine that leads publishes
// a calendar event per year whose file differs from the store's calendar
// in force (events.PublishCalendar), and the store applies it in stream
// order (workflow.Catalog.DecideCalendar). A store that starts from the
// beginning of a stream starts with the calendar that stream started with
// (events.CalendarStart), so a rebuild or a new replica decides as the
// live engine did.

// calendarTimeout bounds the publishing of calendar events.
const calendarTimeout = 30 * time.Second

// calendarChanges returns, in year order, the years whose schedule in
// files (the calendar of the files, and the files read) differs from the
// one in force: for each, the change that puts the file's schedule (or
// the computed one, for a year whose file was removed) in force.
func calendarChanges(files *workflow.Calendar, texts []workflow.CalendarYear, inForce *workflow.Catalog) []events.CalendarChange {
	var years []int
	for _, y := range files.Years() {
		years = append(years, y.Year)
	}
	for _, y := range inForce.Calendar().Years() {
		years = append(years, y.Year)
	}
	slices.Sort(years)
	years = slices.Compact(years)
	var since uint64
	if h := inForce.CalendarHistory(); len(h) > 0 {
		since = h[len(h)-1].Seq
	}
	var out []events.CalendarChange
	for _, year := range years {
		want, have := files.Year(year), inForce.Calendar().Year(year)
		if want.Equal(have) {
			continue
		}
		text := string(workflow.FormatCalendarYear(want))
		for _, f := range texts {
			if f.Schedule.Year == year {
				text = f.Text
			}
		}
		out = append(out, events.CalendarChange{New: workflow.CalendarYear{Text: text, Schedule: want}, Previous: have, Since: since})
	}
	return out
}

// syncCalendar loads the calendar files and, when publish, publishes a
// calendar event for each year whose file differs from the store's
// calendar in force; a replica that follows only checks that the files
// load (its leader publishes). A failure to load changes nothing.
func (e *Engine) syncCalendar(ctx context.Context, publish bool) error {
	files, texts, err := e.cfg.Rules.LoadCalendar()
	if err != nil {
		return fmt.Errorf("calendar: %w", err)
	}
	changes := calendarChanges(files, texts, e.db.Catalog())
	if !publish {
		if len(changes) > 0 {
			e.log.Info("calendar files differ from the calendar in force; the leader publishes the change", "years", len(changes))
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, calendarTimeout)
	defer cancel()
	for _, c := range changes {
		ok, err := events.PublishCalendar(ctx, e.js, c, e.now())
		if err != nil {
			return fmt.Errorf("calendar: %w", err)
		}
		if ok {
			e.log.Info("calendar event published", "year", c.New.Schedule.Year, "source", c.New.Schedule.Source,
				"previous_source", c.Previous.Source, "id", events.CalendarEventID(c))
		}
	}
	return nil
}

// startCalendar gives a store that has recorded no calendar yet the one
// the stream started with: the files' calendar with each year a calendar
// event of the stream replaced as it was before the first such event.
func (e *Engine) startCalendar(ctx context.Context) error {
	if e.db.CalendarRecorded() {
		return nil
	}
	start, err := streamCalendar(ctx, e.js, e.cat.Calendar())
	if err != nil {
		return err
	}
	return e.db.SetStartCalendar(start)
}

// streamCalendar returns files (the calendar of the files) with each year
// that a calendar event of the stream replaces as it was before the first
// such event (events.CalendarStart): the calendar the stream started with.
func streamCalendar(ctx context.Context, js jetstream.JetStream, files *workflow.Calendar) (*workflow.Calendar, error) {
	years, err := events.CalendarStart(ctx, js)
	if err != nil {
		return nil, err
	}
	cal := files
	for _, y := range years {
		if cal, err = cal.WithYear(y); err != nil {
			return nil, fmt.Errorf("calendar the stream started with: %w", err)
		}
	}
	return cal, nil
}

// now is the engine's clock (Config.Now).
func (e *Engine) now() time.Time {
	if e.cfg.Now != nil {
		return e.cfg.Now()
	}
	return time.Now()
}
