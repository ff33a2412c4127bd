// Package workflow is hoso's domain: procedure definitions loaded from YAML,
// the dossier state they govern, and the decision for one event.
//
// A Definition maps the states of a procedure's workflow to the national
// status codes 1–10 and lists the actions between them with their guards
// (required attachments and data fields). Definitions are versioned: a
// Catalog holds every version, Resolve picks the one in force for a new
// dossier at the time of its first event, and a Dossier stays pinned to that
// version for life, so loading a new version never changes dossiers in
// flight.
//
// Catalog.Decide decides one stream message against the stored dossier: it
// positions a looplab/fsm machine built from the definition at the dossier's
// state, runs the event through it with the guards as a before_event
// callback, and returns either the new state and a history entry or a
// Rejection with a stable Reason code, plus the Outcome to publish.
//
// A Calendar counts deadlines in working time: the working periods
// (07:00–11:30 and 13:30–17:00 by default) of working days in Zone. Weekends
// are off; each year follows its file under configs/calendar (the schedule
// the government announced, with swapped Saturdays) or, without one, the
// Labour Code's holidays computed by ComputedYear from the Vietnamese lunar
// calendar (LunarNewYear, LunarToSolar). A dossier received after the
// cut-off counts from the next working morning (Start); AddWorking and
// Working are inverse: Working(Start(t), AddWorking(t, d)) == d.
//
// The calendar changes through the stream, never under it: a calendar
// event (CalendarAction, from hoso) replaces one year's schedule from its
// sequence on, and Catalog.DecideCalendar recomputes the due dates that
// hoso counted from a statutory time, keeping the working time they had
// left. A Catalog holds every calendar it was in force with and the
// sequence from which each was (CalendarAt), so that the history of a
// dossier is checked with the calendars its decisions counted in.
//
// Invariants:
//   - Decide is a pure function of the dossier, the message and the catalog;
//     it never reads the wall clock. Replaying a stream gives the same state.
//   - History entries form a SHA-256 chain per dossier (HistoryEntry.ComputeHash);
//     VerifyChain recomputes it. An accepted event's Outcome carries its
//     entry's hash (EntryHash), the sender's receipt.
//   - A dossier is the fold of its history entries under its definition,
//     but for what deadline events, rejections and mismatches add:
//     CheckRecord compares a record with that fold.
//   - A rejection is a result, not an error.
//
// The package imports only the standard library, looplab/fsm, a YAML
// decoder and internal/yamlfile, the strict reader of hoso's YAML files.
// Catalogs and definitions are immutable and safe for concurrent use.
package workflow
