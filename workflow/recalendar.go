package workflow

import (
	"fmt"
	"time"
)

// A calendar event (CalendarAction) replaces the schedule of one year:
// the government has announced the days off of a year hoso had computed,
// or corrected one. The announced calendar is the law from then on, so
// the deadlines decided after the event count in it; and a dossier whose
// due date hoso counted from a statutory time keeps the working time it
// had left, counted in the new calendar. Dates the applicant was given —
// an apology's new date, the sender's data.due — are not hoso's to move.
//
// The event changes every dossier it concerns at once; the store applies
// it with DecideCalendar and CalendarChange.Apply on each dossier that may
// be concerned (those due on or after the first day of the year, which
// CalendarChange.From gives), as it decides every other message with
// Decide.

// CalendarChange is an accepted calendar event being applied: the
// calendar in force before it and after it, and the dossiers it changed
// so far. It is not safe for concurrent use.
type CalendarChange struct {
	env      *Envelope
	next     *Catalog  // the catalog with the new calendar in force
	from, to *Calendar // the calendars before and after
	year     int
	changes  bool // the new schedule differs from the one in force
	changed  int  // dossiers Apply changed
}

// DecideCalendar decides a calendar event: a calendar event from hoso
// (SystemSource) whose new schedule gives a valid calendar is accepted and
// returned as a CalendarChange, whose Apply recomputes the dossiers and
// whose Decision is the event's outcome. Otherwise the change is nil and
// the Decision rejects it: a calendar event from another source
// (unknown_action, as for deadline events), an envelope already rejected
// (a duplicate, or one the codec could not read). An event whose new
// schedule is the one in force is accepted and changes nothing.
//
// The calendar in force before the event is the catalog's (Calendar);
// data.previous_calendar does not decide anything (it tells where a
// stream's calendar started, see events.CalendarStart). DecideCalendar is
// deterministic and does not modify c.
func (c *Catalog) DecideCalendar(env *Envelope) (*CalendarChange, Decision) {
	if env.Rejection != nil {
		return nil, rejected(nil, env, env.Rejection)
	}
	e := env.Event
	switch {
	case e.Action != CalendarAction:
		return nil, rejected(nil, env, &Rejection{Reason: ReasonInternal, Detail: fmt.Sprintf("action %q is not a calendar event", e.Action)})
	case e.Source != SystemSource:
		return nil, rejected(nil, env, &Rejection{Reason: ReasonUnknownAction,
			Detail:   fmt.Sprintf("only hoso sends %q events", e.Action),
			DetailVI: fmt.Sprintf("chỉ hoso gửi được sự kiện %q", e.Action)})
	case e.Calendar == nil:
		return nil, rejected(nil, env, &Rejection{Reason: ReasonMissingField,
			Detail: "a calendar event needs data.calendar", DetailVI: "sự kiện lịch cần trường data.calendar"})
	}
	from := c.Calendar()
	to, err := from.WithYear(e.Calendar.Schedule)
	if err != nil {
		return nil, rejected(nil, env, &Rejection{Reason: ReasonMalformed, Detail: fmt.Sprintf("data.calendar: %v", err)})
	}
	ch := &CalendarChange{env: env, from: from, to: to, year: e.Calendar.Schedule.Year, next: c}
	if ch.changes = !from.Year(ch.year).Equal(to.Year(ch.year)); ch.changes {
		ch.next = c.WithCalendarHistory(append(c.CalendarHistory(), CalendarEpoch{Seq: env.Seq, Calendar: to}))
	}
	return ch, Decision{}
}

// Changes reports whether the event changes the calendar in force: false
// when its schedule is the one in force already.
func (ch *CalendarChange) Changes() bool { return ch.changes }

// Catalog returns the catalog with the event applied: the new calendar in
// force from the event's sequence on (CalendarAt).
func (ch *CalendarChange) Catalog() *Catalog { return ch.next }

// Year returns the year whose schedule the event replaces.
func (ch *CalendarChange) Year() int { return ch.year }

// From returns the first instant of the year the event changes (midnight
// of 1 January in Zone): a dossier due before it is not concerned.
func (ch *CalendarChange) From() time.Time {
	return time.Date(ch.year, time.January, 1, 0, 0, 0, 0, Zone)
}

// Apply returns what the event makes of d: the dossier with its due dates
// recomputed and the history entry that records why, or nil and nil when
// it does not concern d or leaves its dates as they are. It never
// modifies d.
//
// The event concerns a dossier whose due date hoso counted from a
// statutory time (the procedure's SLA in its definition is not zero), that
// is not finished (neither terminal nor resolved), not recorded overdue
// (its expiry is part of its record), and due on or after From. Its dates
// keep the working time left, counted in the new calendar from the
// event's time while its clock runs (only if it is due after that time)
// or from the instant its clock stopped while it waits for the applicant:
// a date x after that instant a becomes new.Shift(a, old.Working(a, x)).
// OriginalDue moves so; Due moves with it while it is OriginalDue (no
// apology set it), and stays otherwise. A dossier whose due date moves
// loses its deadline warning, as with any new due date.
//
// The entry is an action CalendarAction of source hoso that leaves the
// state as it is, with the new Due, and a reason naming the year and the
// announcement the new schedule follows; it does not change UpdatedAt,
// which is the time of the last event of the one-stop-shop.
func (ch *CalendarChange) Apply(d *Dossier) (*Dossier, *HistoryEntry) {
	if d == nil || !ch.changes || d.Overdue || d.Due.Before(ch.From()) {
		return nil, nil
	}
	if p, ok := ch.next.Procedure(d); !ok || p.SLA.IsZero() || d.Terminal || !d.ResolvedAt.IsZero() {
		return nil, nil
	}
	e := ch.env.Event
	due, orig := movedDates(d, ch.from, ch.to, e.Time)
	if due.Equal(d.Due) && orig.Equal(d.OriginalDue) {
		return nil, nil
	}
	nd := d.Clone()
	nd.Due, nd.OriginalDue = due, orig
	if !due.Equal(d.Due) {
		nd.Warned = false
	}
	entry := &HistoryEntry{
		Dossier:    d.Code,
		Index:      d.History,
		Seq:        ch.env.Seq,
		EventID:    e.ID,
		Source:     e.Source,
		Action:     CalendarAction,
		From:       d.State,
		To:         d.State,
		FromStatus: d.Status,
		ToStatus:   d.Status,
		Time:       e.Time,
		Actor:      e.Actor,
		Agency:     d.Agency,
		Department: d.Department,
		Reason:     calendarReason(e.Calendar.Schedule),
		Due:        nd.Due,
		PrevHash:   d.Head,
	}
	entry.Hash = entry.ComputeHash()
	nd.History++
	nd.Head = entry.Hash
	ch.changed++
	return nd, entry
}

// movedDates returns the due date in force and the original due date of d
// after the calendar from is replaced by to at the instant at: each keeps
// the working time it had left after the anchor (at, or the instant d's
// clock stopped), and one at or before the anchor stays. Due moves only
// while it is OriginalDue: otherwise an apology set it.
func movedDates(d *Dossier, from, to *Calendar, at time.Time) (due, orig time.Time) {
	anchor := at
	if !d.PausedAt.IsZero() {
		anchor = d.PausedAt
	}
	shift := func(x time.Time) time.Time {
		if x.IsZero() || !x.After(anchor) {
			return x
		}
		return to.Shift(anchor, from.Working(anchor, x))
	}
	orig = shift(d.OriginalDue)
	due = d.Due
	if d.Due.Equal(d.OriginalDue) {
		due = orig
	}
	return due, orig
}

// calendarReason is the reason of a calendar entry: the year and the
// announcement its new schedule follows.
func calendarReason(y YearSchedule) string {
	return fmt.Sprintf("Lịch ngày nghỉ năm %d theo %s: tính lại hạn giải quyết", y.Year, y.Source)
}

// Decision returns the event's decision once Apply has seen every dossier
// it may concern: accepted, with an outcome to hoso that says how many
// dossiers were recomputed. The Decision names no dossier.
func (ch *CalendarChange) Decision() Decision {
	e := ch.env.Event
	y := e.Calendar.Schedule
	vi := fmt.Sprintf("Lịch ngày nghỉ năm %d theo %s: tính lại hạn giải quyết của %d hồ sơ", y.Year, y.Source, ch.changed)
	en := fmt.Sprintf("Calendar of %d following %s: due dates of %d dossiers recomputed", y.Year, y.Source, ch.changed)
	if !ch.changes {
		vi = fmt.Sprintf("Lịch ngày nghỉ năm %d theo %s đã được áp dụng: không thay đổi", y.Year, y.Source)
		en = fmt.Sprintf("Calendar of %d following %s is already in force: nothing changes", y.Year, y.Source)
	}
	return Decision{Outcome: Outcome{
		Kind: OutcomeAccepted, Seq: ch.env.Seq, EventID: e.ID, Source: e.Source, Dossier: e.Dossier,
		Action: e.Action, MessageVI: vi, MessageEN: en, Time: e.Time,
	}}
}

// Changed returns how many dossiers Apply has changed.
func (ch *CalendarChange) Changed() int { return ch.changed }
