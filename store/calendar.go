package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/workflow"
)

// The calendars a store counts deadlines in are part of its state: a
// calendar event (workflow.CalendarAction) puts one in force from its
// stream sequence on, and the decisions after it count in it. The
// calendars bucket keeps each, under the sequence from which it is in
// force: 0 for the calendar the store started with (recorded with its
// first batch), then one per calendar event that changed it. So a store
// reopened goes on with the calendar in force whatever the files say now
// (the engine puts the files' calendar in force through the stream), and
// the history of a dossier is checked with the calendars its decisions
// counted in (workflow.Catalog.CalendarAt).
//
// A calendar is recorded as the year files (workflow.FormatCalendarYear)
// of the years it gives a schedule for that differs from the computed
// one, in year order: the record depends on the calendar alone, so two
// stores that applied the same stream hold the same bytes (state hash).
// The working hours are not recorded: they are the configuration's.

// ErrCalendarRecorded is returned by SetStartCalendar once the store has
// recorded the calendar it started with (at its first batch).
var ErrCalendarRecorded = errors.New("store: the store has recorded the calendar it started with")

// appendCalendar appends the record of a calendar: its version, the
// number of years, then the year file of each.
func appendCalendar(b []byte, cal *workflow.Calendar) []byte {
	years := slices.DeleteFunc(cal.Years(), func(y workflow.YearSchedule) bool { return y.Equal(workflow.ComputedYear(y.Year)) })
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, uint64(len(years)))
	for _, y := range years {
		b = appendString(b, string(workflow.FormatCalendarYear(y)))
	}
	return b
}

// decodeCalendar reads the record of a calendar and builds it with the
// working hours of cfg.
func decodeCalendar(b []byte, cfg workflow.CalendarConfig) (*workflow.Calendar, error) {
	r := newReader(b)
	n := r.uvarint()
	var years []workflow.YearSchedule
	for i := uint64(0); i < n && r.err == nil; i++ {
		text := r.str()
		if r.err != nil {
			break
		}
		y, err := workflow.ParseCalendarYear(fmt.Sprintf("year file %d", i+1), []byte(text))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadRecord, err)
		}
		if len(years) > 0 && y.Year <= years[len(years)-1].Year {
			return nil, fmt.Errorf("%w: year %d after %d", errBadRecord, y.Year, years[len(years)-1].Year)
		}
		years = append(years, *y)
	}
	if err := r.done("calendar"); err != nil {
		return nil, err
	}
	cal, err := workflow.NewCalendar(cfg, years...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadRecord, err)
	}
	return cal, nil
}

// calendarHistory reads the calendars bucket: the calendars recorded, each
// with the sequence from which it is in force, built with the working
// hours of cfg; nil when none is recorded.
func calendarHistory(bk *bbolt.Bucket, cfg workflow.CalendarConfig) ([]workflow.CalendarEpoch, error) {
	var h []workflow.CalendarEpoch
	c := bk.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 8 {
			return nil, fmt.Errorf("calendar key %q is not a sequence", k)
		}
		cal, err := decodeCalendar(v, cfg)
		if err != nil {
			return nil, fmt.Errorf("calendar of sequence %d: %w", seqOf(k), err)
		}
		h = append(h, workflow.CalendarEpoch{Seq: seqOf(k), Calendar: cal})
	}
	if len(h) > 0 && h[0].Seq != 0 {
		return nil, fmt.Errorf("no calendar recorded for the start of the stream (the first is of sequence %d)", h[0].Seq)
	}
	return h, nil
}

// Catalog returns the catalog in force: Options.Catalog's definitions,
// with the calendars the store recorded (or, before it has recorded one,
// Options.Catalog's calendar or the one SetStartCalendar gave). It changes
// after each batch that applied a calendar event that changed the
// calendar; readers that count working time (the deadline scheduler, the
// dashboard) ask for it each time. It is safe for concurrent use.
func (db *DB) Catalog() *workflow.Catalog { return db.catalog.Load() }

// CalendarRecorded reports whether the store has recorded the calendar it
// started with: from its first batch on, the calendar in force is the
// store's and no longer Options.Catalog's.
func (db *DB) CalendarRecorded() bool { return db.recorded.Load() }

// SetStartCalendar sets the calendar a store that has recorded none yet
// starts with, in place of Options.Catalog's: the calendar the stream it
// will apply started with (events.CalendarStart), which may differ from
// the files' when calendar events in the stream replaced years since. It
// returns ErrCalendarRecorded once the store has recorded one. Call it
// before the first Apply.
func (db *DB) SetStartCalendar(cal *workflow.Calendar) error {
	return db.update(context.Background(), func(b *buckets) error {
		if k, _ := b.calendars.Cursor().First(); k != nil || db.recorded.Load() {
			return ErrCalendarRecorded
		}
		db.catalog.Store(db.catalog.Load().WithCalendar(cal))
		return nil
	})
}

// recordCalendars records, in the batch's transaction, the calendars
// the batch put in force and, for a store that has recorded none, the
// calendars in force before it.
func (bt *batchTx) recordCalendars(before *workflow.Catalog) error {
	bk := bt.b.calendars
	if k, _ := bk.Cursor().First(); k == nil {
		start := before.CalendarHistory()
		if len(start) == 0 {
			start = []workflow.CalendarEpoch{{Calendar: before.Calendar()}}
		}
		for _, ep := range start {
			if err := bk.Put(seqKey(ep.Seq), appendCalendar(nil, ep.Calendar)); err != nil {
				return fmt.Errorf("calendar: %w", err)
			}
		}
	}
	for _, ep := range bt.catalog.CalendarHistory() {
		if slices.Contains(bt.calendars, ep.Seq) {
			if err := bk.Put(seqKey(ep.Seq), appendCalendar(nil, ep.Calendar)); err != nil {
				return fmt.Errorf("calendar: %w", err)
			}
		}
	}
	return nil
}

// applyCalendar applies a calendar event: it decides it, recomputes each
// dossier it may concern — those in the due and paused indexes due on or
// after the first day of its year, and those the batch has touched, whose
// index keys move only at its end — and writes their history entries.
// The dossiers go to the working set like any the batch changes; the
// calendar it puts in force decides the rest of the batch.
func (bt *batchTx) applyCalendar(env *workflow.Envelope) (workflow.Decision, error) {
	ch, dec := bt.catalog.DecideCalendar(env)
	if ch == nil {
		return dec, nil
	}
	if ch.Changes() {
		for _, code := range bt.calendarCandidates(ch.From()) {
			d, err := bt.dossier(code)
			if err != nil {
				return dec, err
			}
			nd, e := ch.Apply(d)
			if nd == nil {
				continue
			}
			w := bt.working[code]
			w.cur, w.dirty = nd, true
			k := bt.mem.end(appendHistoryKey(bt.mem.start(), w.id, e.Index))
			if err := bt.b.history.Put(k, bt.mem.end(appendEntry(bt.mem.start(), e))); err != nil {
				return dec, fmt.Errorf("history %s/%d: %w", e.Dossier, e.Index, err)
			}
			bt.deltas.add(countEntries, 1)
		}
		bt.catalog = ch.Catalog()
		bt.calendars = append(bt.calendars, env.Seq)
	}
	return ch.Decision(), nil
}

// calendarCandidates returns, sorted, the codes of the dossiers a
// calendar event changing the year that starts at from may concern: the
// keys of the due and paused indexes due from it on, and the dossiers of
// the working set.
func (bt *batchTx) calendarCandidates(from time.Time) []string {
	var codes []string
	for code := range bt.working {
		codes = append(codes, code)
	}
	var seek []byte // nil: from the first key
	if from.After(time.Unix(0, 0)) {
		if from.Year() > maxIndexYear {
			return sortedUnique(codes)
		}
		seek = binary.BigEndian.AppendUint64(nil, uint64(from.UnixNano()))
	}
	for _, bk := range []*bbolt.Bucket{bt.b.byDue, bt.b.byPaused} {
		c := bk.Cursor()
		k, _ := c.First()
		if seek != nil {
			k, _ = c.Seek(seek)
		}
		for ; k != nil; k, _ = c.Next() {
			if len(k) > 8 && (seek == nil || bytes.Compare(k[:8], seek) >= 0) {
				codes = append(codes, string(k[8:]))
			}
		}
	}
	return sortedUnique(codes)
}

// maxIndexYear is the last year whose instants the due indexes can hold:
// their keys are Unix nanoseconds, which end in 2262.
const maxIndexYear = 2261

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
