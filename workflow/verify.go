package workflow

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Finding is one thing a verification found wrong in a store: a dossier
// record that disagrees with its history, a history entry its definition
// does not allow, an index key without its record or a record without its
// key, a counter that differs from a recount.
type Finding struct {
	Dossier string `json:"dossier,omitempty"` // the dossier concerned, if any
	// Field is the dossier record's field (its JSON name) that disagrees
	// with the history, or a history entry's field as "history[i].name".
	Field string `json:"field,omitempty"`
	// Bucket is the index, table or counter bucket concerned, such as
	// "dossier_by_status", "rejections" or "counts"; "" for a record field.
	Bucket  string `json:"bucket,omitempty"`
	Key     string `json:"key,omitempty"`  // the key in Bucket: a counter's name, a sequence, an index key (Go-quoted when not printable)
	Want    string `json:"want,omitempty"` // what the history or a recount implies
	Got     string `json:"got,omitempty"`  // what the file holds
	Problem string `json:"problem"`        // a sentence saying what is wrong
}

// CheckRecord compares a dossier record with the fold of its history
// entries, the way Decide built it: the first entry creates the dossier,
// each entry moves it to its state (which the definition the dossier is
// pinned to must allow from the state before, by that action, with that
// status), sets its department and due date, and stamps its times,
// attachments, apologies and the statutory clock. It returns one Finding
// per field of d that differs from what the entries imply, and per entry
// the definition does not allow. entries are in index order and their
// chain is checked apart (VerifyChain), as are the record's counts of
// rejections and mismatches, which the history does not hold.
//
// An entry of a calendar event (CalendarAction, from hoso) leaves the
// state and moves the due dates as CalendarChange.Apply did, with the
// calendars in force before and from its sequence (CalendarAt): checking
// such entries needs the catalog of the store that applied them, which
// holds its calendar history. They do not change UpdatedAt and take no
// part in the order of the one-stop-shop's times.
//
// The deadline flags (Warned, Overdue) come from deadline events, which
// leave no history entry: they are only checked to be coherent (an
// expiry implies a warning, both imply a due date). The procedure is not
// in the entries either: it is checked to be one the definition covers.
// A definition the catalog does not hold is a finding, and then what
// depends on it (transitions, the clock, terminal, apologies) is not
// checked.
func (c *Catalog) CheckRecord(d *Dossier, entries []HistoryEntry) []Finding {
	var out []Finding
	add := func(field, want, got, format string, args ...any) {
		out = append(out, Finding{Dossier: d.Code, Field: field, Want: want, Got: got, Problem: fmt.Sprintf(format, args...)})
	}
	if len(entries) == 0 {
		add("history", "", "0", "the dossier has no history entry")
		return out
	}
	def := c.Lookup(d.Definition, d.Version)
	switch {
	case def == nil:
		add("definition", "", fmt.Sprintf("%s@%d", d.Definition, d.Version),
			"definition %s@%d is not loaded: the transitions cannot be checked", d.Definition, d.Version)
	case !def.Covers(d.Procedure) && !def.Wildcard():
		add("procedure", "", d.Procedure, "definition %s does not cover procedure %q", def.Key(), d.Procedure)
	}

	var (
		f      Dossier // the record the entries imply
		state  = StartState
		buf    [16]string
		attach = buf[:0] // kinds attached so far, sorted
		last   = -1      // index of the last entry of an event of the one-stop-shop
	)
	for i := range entries {
		e := &entries[i]
		at := func(name string) string { return "history[" + strconv.Itoa(i) + "]." + name }
		if e.From != state {
			add(at("from"), state, e.From, "entry %d leaves state %q, the entry before left the dossier in %q", i, e.From, state)
		}
		if e.FromStatus != f.Status {
			add(at("from_status"), itoa(int(f.Status)), itoa(int(e.FromStatus)), "entry %d says the status before was %d, the entry before set %d", i, e.FromStatus, f.Status)
		}
		if e.Action == CalendarAction && e.Source == SystemSource && i > 0 {
			c.checkCalendarEntry(&f, d.Procedure, def, e, at, add)
			continue
		}
		if last >= 0 && e.Time.Before(entries[last].Time) {
			add(at("time"), formatTime(entries[last].Time), formatTime(e.Time), "entry %d happened before the entry before it", i)
		}
		last = i
		var act *Action
		if def != nil {
			if act = def.Action(e.Action); act == nil {
				add(at("action"), "", e.Action, "definition %s has no action %q", def.Key(), e.Action)
			} else {
				if !slices.Contains(act.From, e.From) {
					add(at("action"), "", e.Action, "definition %s does not allow %q from state %q", def.Key(), e.Action, e.From)
				}
				if to := cmpOr(act.To, act.Stay, e.From); e.To != to {
					add(at("to"), to, e.To, "action %q of definition %s leads to %q", e.Action, def.Key(), to)
				}
			}
			var timing Timing
			if i > 0 && f.ClockRunning() {
				timing = TimingOf(e.Time, f.OriginalDue)
			}
			if e.Timing != timing {
				add(at("timing"), string(timing), string(e.Timing), "entry %d records timing %q, its time and the original due date before it give %q", i, e.Timing, timing)
			}
			switch s := def.State(e.To); {
			case s == nil:
				add(at("to"), "", e.To, "definition %s has no state %q", def.Key(), e.To)
			case s.Status != e.ToStatus:
				add(at("to_status"), itoa(int(s.Status)), itoa(int(e.ToStatus)), "state %q of definition %s has status %d", e.To, def.Key(), s.Status)
			default:
				f.Terminal = s.Terminal
			}
		}
		if act != nil {
			// Only an action that sets or moves the due date, or resumes
			// a paused clock, changes it.
			resumes := (act.Clock == ClockResume || act.Clock == ClockRestartAll) && !f.PausedAt.IsZero()
			moves := act.SetsDue || act.ExtendsDue || resumes
			if !moves && !e.Due.Equal(f.Due) {
				add(at("due"), formatTime(f.Due), formatTime(e.Due), "action %q does not change the due date", e.Action)
			}
			switch {
			case act.ExtendsDue:
				f.Apologies++
			case act.SetsDue:
				f.OriginalDue = e.Due
			case resumes && !f.Due.IsZero():
				// A restart sets both dates to the new one; a pause moves
				// the original date by the working time spent waiting, as
				// it moved the date in force.
				restart := act.Clock == ClockRestartAll || def.Clock == ClockRestart
				if restart && !def.Procedure(d.Procedure).SLA.IsZero() {
					f.OriginalDue = e.Due
				} else {
					cal := c.CalendarAt(e.Seq)
					f.OriginalDue = cal.AddWorking(f.OriginalDue, cal.Working(f.PausedAt, e.Time))
				}
			}
			switch act.Clock {
			case ClockStop:
				if f.PausedAt.IsZero() {
					f.PausedAt = e.Time
				}
			case ClockResume, ClockRestartAll:
				f.PausedAt = time.Time{}
			}
		}
		if f.Department != "" && e.Department == "" {
			add(at("department"), f.Department, "", "entry %d has no department after the dossier had one", i)
		}
		if i == 0 {
			f.CreatedAt, f.Agency, f.Source = e.Time, e.Agency, e.Source
			f.Online = e.ToStatus == StatusSubmitted
		}
		if e.Channel != "" {
			// Given on the entry that created or first received the
			// dossier, when none was given before.
			receives := i == 0 || (e.ToStatus == StatusReceived && f.ReceivedAt.IsZero())
			if f.Channel != "" || !receives {
				add(at("channel"), "", string(e.Channel), "entry %d records a channel, but it neither created nor received the dossier, or one was given before", i)
			} else {
				f.Channel = e.Channel
			}
		}
		switch e.Payment {
		case PaymentOnline:
			f.PaidOnline = true
		case PaymentCounter:
			f.PaidCounter = true
		}
		if e.Satisfaction != 0 {
			if i == 0 {
				add(at("satisfaction"), "0", itoa(e.Satisfaction), "entry 0 records a satisfaction score, but a score is read only of a dossier that existed")
			}
			f.Satisfaction = e.Satisfaction
		}
		state, f.Status, f.State = e.To, e.ToStatus, e.To
		f.Department, f.Due, f.UpdatedAt = e.Department, e.Due, e.Time
		switch {
		case e.ToStatus == StatusSupplement && e.FromStatus != StatusSupplement:
			f.Supplements++
		}
		switch {
		case e.ToStatus == StatusReceived && f.ReceivedAt.IsZero():
			f.ReceivedAt = e.Time
		case e.ToStatus == StatusResolved && f.ResolvedAt.IsZero():
			f.ResolvedAt = e.Time
		case e.ToStatus == StatusReturned && f.ReturnedAt.IsZero():
			f.ReturnedAt = e.Time
		}
		for _, a := range e.Attachments {
			if j, ok := slices.BinarySearch(attach, a.Kind); !ok {
				attach = slices.Insert(attach, j, a.Kind)
			}
		}
	}

	str := func(field, want, got string) {
		if want != got {
			add(field, want, got, "the record says %s %q, the history %q", field, got, want)
		}
	}
	tm := func(field string, want, got time.Time) {
		if !want.Equal(got) {
			add(field, formatTime(want), formatTime(got), "the record says %s %s, the history %s", field, formatTime(got), formatTime(want))
		}
	}
	num := func(field string, want, got int) {
		if want != got {
			add(field, itoa(want), itoa(got), "the record says %s %d, the history %d", field, got, want)
		}
	}
	flag := func(field string, want, got bool) {
		if want != got {
			add(field, strconv.FormatBool(want), strconv.FormatBool(got), "the record says %s %t, the history %t", field, got, want)
		}
	}
	str("agency", f.Agency, d.Agency)
	str("source", f.Source, d.Source)
	str("state", f.State, d.State)
	num("status", int(f.Status), int(d.Status))
	str("department", f.Department, d.Department)
	tm("due", f.Due, d.Due)
	tm("received_at", f.ReceivedAt, d.ReceivedAt)
	tm("created_at", f.CreatedAt, d.CreatedAt)
	tm("updated_at", f.UpdatedAt, d.UpdatedAt)
	tm("resolved_at", f.ResolvedAt, d.ResolvedAt)
	tm("returned_at", f.ReturnedAt, d.ReturnedAt)
	if def != nil {
		flag("terminal", f.Terminal, d.Terminal)
		tm("paused_at", f.PausedAt, d.PausedAt)
		num("apologies", f.Apologies, d.Apologies)
		tm("original_due", f.OriginalDue, d.OriginalDue)
	}
	num("supplements", f.Supplements, d.Supplements)
	if !slices.Equal(attach, d.Attachments) {
		add("attachments", fmt.Sprint(attach), fmt.Sprint(d.Attachments), "the record's attachment kinds differ from those of the history")
	}
	flag("online", f.Online, d.Online)
	str("channel", string(f.Channel), string(d.Channel))
	flag("paid_online", f.PaidOnline, d.PaidOnline)
	flag("paid_counter", f.PaidCounter, d.PaidCounter)
	num("satisfaction", f.Satisfaction, d.Satisfaction)
	if d.Overdue && !d.Warned {
		add("warned", "true", "false", "the dossier is overdue but not warned: an expiry records a warning too")
	}
	if (d.Warned || d.Overdue) && d.Due.IsZero() {
		add("due", "", "", "the dossier is flagged by a deadline event but has no due date")
	}
	return out
}

// checkCalendarEntry checks the entry e of a calendar event against f,
// the record the entries before it imply (of the dossier's procedure), and moves f's due dates as it
// did (CalendarChange.Apply): the state stays, and the dates keep the
// working time they had left, from the calendar in force before the
// event's sequence to the one in force from it (CalendarAt). The
// calendar events that left a dossier's dates as they were left no entry,
// so none is looked for.
func (c *Catalog) checkCalendarEntry(f *Dossier, procedure string, def *Definition, e *HistoryEntry, at func(string) string, add func(field, want, got, format string, args ...any)) {
	if e.To != e.From {
		add(at("to"), e.From, e.To, "a calendar entry leaves the dossier in its state %q", e.From)
	}
	if e.ToStatus != e.FromStatus {
		add(at("to_status"), itoa(int(e.FromStatus)), itoa(int(e.ToStatus)), "a calendar entry leaves the dossier in its status %d", e.FromStatus)
	}
	if e.Timing != "" {
		add(at("timing"), "", string(e.Timing), "a calendar entry records no timing")
	}
	if e.Department != f.Department {
		add(at("department"), f.Department, e.Department, "a calendar entry keeps the department %q", f.Department)
	}
	if def != nil {
		switch p := def.Procedure(procedure); {
		case p.SLA.IsZero() || f.Terminal || !f.ResolvedAt.IsZero() || f.Due.IsZero():
			add(at("action"), "", e.Action, "a calendar event moves only the due dates counted from a statutory time of unfinished dossiers")
		default:
			due, orig := movedDates(f, c.CalendarAt(e.Seq-1), c.CalendarAt(e.Seq), e.Time)
			if !e.Due.Equal(due) {
				add(at("due"), formatTime(due), formatTime(e.Due), "the calendar in force from sequence %d moves the due date to %s", e.Seq, formatTime(due))
			}
			if due.Equal(f.Due) && orig.Equal(f.OriginalDue) {
				add(at("due"), "", formatTime(e.Due), "the calendar in force from sequence %d leaves the dossier's due dates as they were: the entry records no change", e.Seq)
			}
			f.OriginalDue = orig
		}
	}
	f.Due = e.Due
}

// cmpOr returns to, or from when stay: where an action leads.
func cmpOr(to string, stay bool, from string) string {
	if stay {
		return from
	}
	return to
}

func itoa(n int) string { return strconv.Itoa(n) }

// formatTime formats a time of a Finding: RFC 3339 with nanoseconds, or
// "" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}
