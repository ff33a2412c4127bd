package workflow

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/looplab/fsm"
)

// StartState is the pseudo-state of a dossier hoso has not seen yet. Actions
// that create dossiers list it in their from states ("submit", and "receive"
// at the counter). It is not a state a dossier can be in.
const StartState = "start"

// Definition is one version of a procedure workflow: its states mapped to the
// national status codes, the actions between them and their guards. A
// Definition is immutable once loaded and safe for concurrent use.
type Definition struct {
	ID         string    // stable identifier, e.g. "standard"
	Version    int       // positive; higher versions supersede lower ones from Effective on
	NameVI     string    // Vietnamese name
	NameEN     string    // English name
	Effective  time.Time // dossiers received on or after this instant (Asia/Ho_Chi_Minh midnight) use this version
	LegalBasis []string  // the legal documents it encodes
	Kind       Kind      // what it governs: dossiers (default) or citizen feedback
	// SLA is the statutory handling time of its procedures, counted in
	// working time from receipt; a procedure may set its own. Zero: the
	// due date is the one the sender gives (data.due), if any.
	SLA SLA
	// Clock says what an action with the clock effect "resume" does when
	// the applicant answers: the clock goes on where it stopped (pause,
	// the default), or the full time starts again (restart). An action can
	// say "restart" itself.
	Clock ClockMode
	// ApologyLimit is how many times an apology may move the due date
	// (default 1; 0 forbids apologies).
	ApologyLimit int
	// ApologyNotice is how long before the due time an apology must come
	// (default one working day): one made later is accepted with an
	// IrregularLateApology. Zero records none.
	ApologyNotice SLA
	// LateEntry is how long after the event's time its arrival on the
	// stream may come (default one working day): an event entered later
	// is accepted with an IrregularLateEntry. Zero records none.
	LateEntry SLA
	// Level is the level of government (province or commune) of the
	// procedures it covers that do not give their own; "" when unset.
	Level         Level
	Procedures    []string    // procedure codes it covers; "*" covers every procedure no other definition names
	ProcedureInfo []Procedure // metadata of each entry of Procedures, in the same order
	States        []State
	Actions       []Action
	File          string // the file it was loaded from, for messages

	states  map[string]*State
	actions map[string]*Action
	fsms    sync.Pool // of *fsm.FSM built from this definition
}

// Kind is what a definition governs.
type Kind string

// The kinds of definition.
const (
	KindDossier  Kind = "dossier"  // an administrative-procedure dossier (hồ sơ TTHC)
	KindFeedback Kind = "feedback" // a citizen's feedback or petition (phản ánh, kiến nghị)
)

// ClockMode is what pausing actions do to the statutory clock.
type ClockMode string

// The clock modes.
const (
	// ClockPause: while paused the clock stops; on resuming, the due date
	// moves later by the working time spent waiting.
	ClockPause ClockMode = "pause"
	// ClockRestart: on resuming, the full statutory time starts again.
	ClockRestart ClockMode = "restart"
)

// ClockEffect is what one action does to the statutory clock.
type ClockEffect string

// The clock effects of actions.
const (
	ClockNone   ClockEffect = ""
	ClockStop   ClockEffect = "pause"  // waiting for the applicant (supplement, payment)
	ClockResume ClockEffect = "resume" // the applicant has answered: as the definition's Clock says
	// ClockRestartAll: the applicant has answered and the full statutory
	// time starts again, whatever the definition's Clock (a completed
	// supplement where a payment only pauses).
	ClockRestartAll ClockEffect = "restart"
)

// SLA is a statutory handling time in working days or working hours, or
// the same working day (chứng thực, many hộ tịch procedures).
type SLA struct {
	Days  int // working days
	Hours int // working hours, added to Days
	// SameDay: due at the end of the working day of receipt, or of the
	// next working day when received from CutOff on or on a day off
	// (Calendar.SameDayDue). Days and Hours are zero then.
	SameDay bool
	// CutOff is the offset from midnight from which a same-day procedure
	// is due the next working day; 0 means DefaultSameDayCutOff.
	CutOff time.Duration
}

// DefaultSameDayCutOff is the cut-off of a same-day procedure that gives
// none: received from 15:00 on, it is due the next working day.
const DefaultSameDayCutOff = 15 * time.Hour

// IsZero reports whether no handling time is set.
func (s SLA) IsZero() bool { return s.Days == 0 && s.Hours == 0 && !s.SameDay }

func (s SLA) cutOff() time.Duration {
	if s.CutOff == 0 {
		return DefaultSameDayCutOff
	}
	return s.CutOff
}

// Working returns the handling time as working time, for working days of
// the given length.
func (s SLA) Working(day time.Duration) time.Duration {
	return time.Duration(s.Days)*day + time.Duration(s.Hours)*time.Hour
}

func (s SLA) String() string {
	switch {
	case s.SameDay:
		return "same working day, next one from " + clock(s.cutOff())
	case s.IsZero():
		return "none"
	case s.Hours == 0:
		return fmt.Sprintf("%d working days", s.Days)
	case s.Days == 0:
		return fmt.Sprintf("%d working hours", s.Hours)
	}
	return fmt.Sprintf("%d working days %d hours", s.Days, s.Hours)
}

// problem says what is wrong with s, or "".
func (s SLA) problem() string {
	switch {
	case s.Days < 0 || s.Hours < 0:
		return "must not be negative"
	case s.SameDay && (s.Days != 0 || s.Hours != 0):
		return "same_day excludes working_days and working_hours"
	case s.CutOff != 0 && !s.SameDay:
		return "cut_off applies to a same_day deadline only"
	case s.CutOff < 0 || s.CutOff >= 24*time.Hour:
		return fmt.Sprintf("cut_off %s is not a time of day", clock(s.CutOff))
	}
	return ""
}

// Procedure is what a definition says of one procedure it covers.
type Procedure struct {
	Code     string // procedure code (mã TTHC), or "*"
	Name     string // optional
	Sector   string // optional: the sector (lĩnh vực) it is reported under
	Level    Level  // optional: province or commune; "" is the definition's Level
	SLA      SLA    // zero: the definition's SLA
	NoResult bool   // the procedure has no electronic result: result guards do not apply
}

// Procedure returns what the definition says of a procedure: its own
// entry, or the "*" entry, with the SLA and the level defaulted to the
// definition's.
func (d *Definition) Procedure(code string) Procedure {
	var p Procedure
	for _, pi := range d.ProcedureInfo {
		if pi.Code == code {
			p = pi
			break
		}
		if pi.Code == "*" {
			p = pi
			p.Code = code
		}
	}
	if p.SLA.IsZero() {
		p.SLA = d.SLA
	}
	if p.Level == "" {
		p.Level = d.Level
	}
	return p
}

// State is one state of a definition.
type State struct {
	Name     string
	Status   Status // national status code shown for this state
	Terminal bool   // no action leaves a terminal state
	NameVI   string // optional label; defaults to the status name
	line     int
}

// Action is a named transition from one of several states to one state, or
// (Stay) a step that records a history entry without changing the state, such
// as an apology. An action whose To is one of its From states also records a
// handoff without a state change (a transfer inside status 4).
type Action struct {
	Name   string
	From   []string
	To     string // "" when Stay
	Stay   bool   // the dossier stays in its state
	Guards []Guard
	// SetsDue: the action sets the dossier's due date: the statutory time
	// counted from the event when the procedure has one, else data.due.
	SetsDue bool
	// ExtendsDue: the action is an apology that moves the due date to
	// data.new_due, which must be later; only before the current due date
	// passes and at most Definition.ApologyLimit times.
	ExtendsDue bool
	Clock      ClockEffect // what the action does to the statutory clock
	line       int
}

// Guard is a condition an event must meet for its action to be applied.
type Guard struct {
	// Attachments are kinds the event itself must carry.
	Attachments []string
	// Recorded are kinds the dossier must have received by this event,
	// in it or in any earlier accepted event.
	Recorded []string
	// Fields are data fields the event must carry (see GuardFields).
	Fields []string
	// Result requires the electronic result (result_electronic) in the
	// event or earlier, unless the procedure declares it has none.
	Result bool
	// From restricts the guard to transitions from these states; empty
	// means from every state of the action.
	From []string
}

// State returns the named state, or nil.
func (d *Definition) State(name string) *State { return d.states[name] }

// Action returns the named action, or nil.
func (d *Definition) Action(name string) *Action { return d.actions[name] }

// Key returns "id@version", the pin a dossier keeps.
func (d *Definition) Key() string { return fmt.Sprintf("%s@%d", d.ID, d.Version) }

// Covers reports whether the definition names the procedure explicitly.
func (d *Definition) Covers(procedure string) bool { return slices.Contains(d.Procedures, procedure) }

// Wildcard reports whether the definition covers every unnamed procedure.
func (d *Definition) Wildcard() bool { return slices.Contains(d.Procedures, "*") }

// InitialActions returns the actions that create a dossier.
func (d *Definition) InitialActions() []*Action {
	var out []*Action
	for i := range d.Actions {
		if slices.Contains(d.Actions[i].From, StartState) {
			out = append(out, &d.Actions[i])
		}
	}
	return out
}

// fsmEvents describes the definition for looplab/fsm.
func (d *Definition) fsmEvents() fsm.Events {
	evs := make(fsm.Events, 0, len(d.Actions))
	for _, a := range d.Actions {
		if a.Stay {
			for _, f := range a.From {
				evs = append(evs, fsm.EventDesc{Name: a.Name, Src: []string{f}, Dst: f})
			}
			continue
		}
		evs = append(evs, fsm.EventDesc{Name: a.Name, Src: slices.Clone(a.From), Dst: a.To})
	}
	return evs
}

// Problem is one thing wrong with a definition file, located by line.
type Problem struct {
	File string
	Line int // 1-based; 0 when unknown
	Msg  string
}

func (p Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// ValidationError holds every problem found in a set of definitions.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap returns the problems as errors, so errors.As finds a Problem.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

var (
	identRE     = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	defIDRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	procedureRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$`)
	kindRE      = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
)

// validate checks the definition as a whole graph and builds its indexes.
// It appends every problem found to probs.
func (d *Definition) validate(probs *[]Problem, line func(path ...any) int) {
	add := func(l int, format string, args ...any) {
		*probs = append(*probs, Problem{File: d.File, Line: l, Msg: fmt.Sprintf(format, args...)})
	}
	if !defIDRE.MatchString(d.ID) {
		add(line("id"), "id %q must be lowercase letters, digits, '-' or '_'", d.ID)
	}
	if d.Version < 1 {
		add(line("version"), "version must be a positive integer, got %d", d.Version)
	}
	if d.Effective.IsZero() {
		add(line("effective"), "effective date is required (YYYY-MM-DD)")
	}
	switch d.Kind {
	case KindDossier, KindFeedback:
	default:
		add(line("kind"), "kind %q must be %q or %q", d.Kind, KindDossier, KindFeedback)
	}
	switch d.Clock {
	case ClockPause, ClockRestart:
	default:
		add(line("clock"), "clock %q must be %q or %q", d.Clock, ClockPause, ClockRestart)
	}
	if msg := d.SLA.problem(); msg != "" {
		add(line("sla"), "sla: %s", msg)
	}
	if d.ApologyLimit < 0 {
		add(line("apology_limit"), "apology_limit must not be negative")
	}
	for _, w := range []struct {
		name string
		sla  SLA
	}{{"apology_notice", d.ApologyNotice}, {"late_entry", d.LateEntry}} {
		switch {
		case w.sla.SameDay || w.sla.CutOff != 0:
			add(line(w.name), "%s is working time (working_days, working_hours), not a same-day deadline", w.name)
		case w.sla.problem() != "":
			add(line(w.name), "%s: %s", w.name, w.sla.problem())
		}
	}
	for i, p := range d.ProcedureInfo {
		if msg := p.SLA.problem(); msg != "" {
			add(line("procedures", i), "procedure %q: sla: %s", p.Code, msg)
		}
	}
	if len(d.Procedures) == 0 {
		add(line("procedures"), "procedures must list at least one procedure code or \"*\"")
	}
	seenProc := map[string]bool{}
	for i, p := range d.Procedures {
		if p != "*" && !procedureRE.MatchString(p) {
			add(line("procedures", i), "procedure code %q is not a code", p)
		}
		if seenProc[p] {
			add(line("procedures", i), "procedure %q listed twice", p)
		}
		seenProc[p] = true
	}

	d.states = make(map[string]*State, len(d.States))
	for i := range d.States {
		s := &d.States[i]
		l := line("states", i)
		switch {
		case s.Name == StartState:
			add(l, "state name %q is reserved for dossiers not yet seen", StartState)
		case !identRE.MatchString(s.Name):
			add(l, "state name %q must be lowercase letters, digits or '_'", s.Name)
		case d.states[s.Name] != nil:
			add(l, "state %q defined twice (first at line %d)", s.Name, d.states[s.Name].line)
		}
		if !s.Status.Valid() {
			add(l, "state %q: status %d is not a national status code 1–10", s.Name, s.Status)
		}
		s.line = l
		if d.states[s.Name] == nil {
			d.states[s.Name] = s
		}
	}
	if len(d.States) == 0 {
		add(line("states"), "no states defined")
	}

	d.actions = make(map[string]*Action, len(d.Actions))
	for i := range d.Actions {
		a := &d.Actions[i]
		l := line("actions", i)
		a.line = l
		switch {
		case !identRE.MatchString(a.Name):
			add(l, "action name %q must be lowercase letters, digits or '_'", a.Name)
		case d.actions[a.Name] != nil:
			add(l, "action %q defined twice (first at line %d)", a.Name, d.actions[a.Name].line)
		default:
			d.actions[a.Name] = a
		}
		if len(a.From) == 0 {
			add(l, "action %q: from must list at least one state", a.Name)
		}
		seen := map[string]bool{}
		for _, f := range a.From {
			if seen[f] {
				add(l, "action %q: from state %q listed twice", a.Name, f)
			}
			seen[f] = true
			if f == StartState {
				continue
			}
			s := d.states[f]
			if s == nil {
				add(l, "action %q: from state %q is not defined", a.Name, f)
			} else if s.Terminal {
				add(l, "action %q: leaves terminal state %q", a.Name, f)
			}
		}
		switch {
		case a.Stay && a.To != "":
			add(l, "action %q: give either to or stay, not both", a.Name)
		case a.Stay && slices.Contains(a.From, StartState):
			add(l, "action %q: a dossier not yet seen has no state to stay in", a.Name)
		case a.Stay:
		case a.To == "":
			add(l, "action %q: to is required (or stay: true)", a.Name)
		case a.To == StartState:
			add(l, "action %q: cannot go to %q", a.Name, StartState)
		case d.states[a.To] == nil:
			add(l, "action %q: to state %q is not defined", a.Name, a.To)
		}
		switch a.Clock {
		case ClockNone, ClockStop, ClockResume, ClockRestartAll:
		default:
			add(l, "action %q: clock %q must be %q, %q or %q", a.Name, a.Clock, ClockStop, ClockResume, ClockRestartAll)
		}
		if a.ExtendsDue && a.SetsDue {
			add(l, "action %q: give either sets_due or extends_due, not both", a.Name)
		}
		if a.ExtendsDue && !a.Stay {
			add(l, "action %q: an apology (extends_due) keeps the dossier in its state: add stay: true", a.Name)
		}
		if SystemAction(a.Name) {
			add(l, "action name %q is reserved for hoso's own events", a.Name)
		}
		for gi, g := range a.Guards {
			gl := line("actions", i, "guards", gi)
			if len(g.Attachments)+len(g.Recorded)+len(g.Fields) == 0 && !g.Result {
				add(gl, "action %q: guard %d requires nothing", a.Name, gi+1)
			}
			for _, k := range slices.Concat(g.Attachments, g.Recorded) {
				if !kindRE.MatchString(k) {
					add(gl, "action %q: attachment kind %q must be lowercase letters, digits or '_'", a.Name, k)
				}
			}
			for _, f := range g.Fields {
				if !slices.Contains(GuardFields, f) {
					add(gl, "action %q: unknown field %q (known: %s)", a.Name, f, strings.Join(GuardFields, ", "))
				}
			}
			for _, f := range g.From {
				if !slices.Contains(a.From, f) {
					add(gl, "action %q: guard applies from %q, which is not one of the action's from states", a.Name, f)
				}
			}
		}
	}
	// Two actions with the same name from the same state would be ambiguous;
	// duplicates by name are reported above. Check the graph: every state
	// reachable from start, every non-terminal state has a way out.
	if len(d.InitialActions()) == 0 && len(d.Actions) > 0 {
		add(line("actions"), "no action starts a dossier (none lists %q in from)", StartState)
	}
	reach := map[string]bool{StartState: true}
	for changed := true; changed; {
		changed = false
		for _, a := range d.Actions {
			if a.Stay || reach[a.To] {
				continue
			}
			for _, f := range a.From {
				if reach[f] {
					reach[a.To] = true
					changed = true
					break
				}
			}
		}
	}
	for i := range d.States {
		s := &d.States[i]
		if d.states[s.Name] != s || s.Name == StartState {
			continue
		}
		if !reach[s.Name] {
			add(s.line, "state %q is unreachable from %q", s.Name, StartState)
		}
		if !s.Terminal && !d.leaves(s.Name) {
			add(s.line, "state %q is not terminal but no action leaves it", s.Name)
		}
	}
	if len(*probs) == 0 {
		d.fsms.New = func() any { return fsm.NewFSM(StartState, d.fsmEvents(), d.callbacks()) }
	}
}

// leaves reports whether some action leaves the state for another one.
func (d *Definition) leaves(state string) bool {
	for _, a := range d.Actions {
		if !a.Stay && a.To != state && slices.Contains(a.From, state) {
			return true
		}
	}
	return false
}

// Catalog is a validated set of definitions, possibly several versions of
// each, and the calendars deadlines are counted in. It is immutable and
// safe for concurrent use.
type Catalog struct {
	defs []*Definition // sorted by ID, then Version
	// cals are the calendars deadlines were counted in, each from the
	// stream sequence of the calendar event that put it in force, sorted
	// by Seq; empty for the computed calendar.
	cals []CalendarEpoch
}

// CalendarEpoch is a calendar and the stream sequence from which it is in
// force: that of the calendar event that put it in force, or 0 for the
// calendar a stream starts with.
type CalendarEpoch struct {
	Seq      uint64
	Calendar *Calendar
}

// WithCalendar returns a catalog with the same definitions that counts
// deadlines in cal, from the start of the stream on. A catalog without
// one uses the computed calendar (the Labour Code holidays, default
// working hours).
func (c *Catalog) WithCalendar(cal *Calendar) *Catalog {
	return c.WithCalendarHistory([]CalendarEpoch{{Calendar: cal}})
}

// WithCalendarHistory returns a catalog with the same definitions whose
// calendars are h: the calendar a stream started with (Seq 0) and those
// its calendar events put in force, in stream order. Calendar is the last;
// CalendarAt tells which was in force at a sequence.
func (c *Catalog) WithCalendarHistory(h []CalendarEpoch) *Catalog {
	cc := *c
	cc.cals = slices.Clone(h)
	sort.SliceStable(cc.cals, func(i, j int) bool { return cc.cals[i].Seq < cc.cals[j].Seq })
	return &cc
}

// CalendarHistory returns the calendars of the catalog with the sequence
// from which each is in force, oldest first; nil for a catalog counting
// in the computed calendar.
func (c *Catalog) CalendarHistory() []CalendarEpoch { return slices.Clone(c.cals) }

// Calendar returns the calendar deadlines are counted in: the last one put
// in force.
func (c *Catalog) Calendar() *Calendar {
	if n := len(c.cals); n > 0 {
		return c.cals[n-1].Calendar
	}
	return computedCalendar()
}

// CalendarAt returns the calendar in force once the stream message seq is
// applied: the last one put in force at or before seq. The decision of the
// message seq counted in CalendarAt(seq-1), which is CalendarAt(seq) unless
// seq is a calendar event.
func (c *Catalog) CalendarAt(seq uint64) *Calendar {
	i := sort.Search(len(c.cals), func(i int) bool { return c.cals[i].Seq > seq })
	if i == 0 {
		if len(c.cals) > 0 {
			return c.cals[0].Calendar
		}
		return computedCalendar()
	}
	return c.cals[i-1].Calendar
}

var computedCalendar = sync.OnceValue(func() *Calendar {
	cal, err := NewCalendar(CalendarConfig{})
	if err != nil {
		panic("workflow: the computed calendar: " + err.Error())
	}
	return cal
})

// Procedure returns what the definition in force for a dossier says of
// its procedure.
func (c *Catalog) Procedure(d *Dossier) (Procedure, bool) {
	def := c.Lookup(d.Definition, d.Version)
	if def == nil {
		return Procedure{}, false
	}
	return def.Procedure(d.Procedure), true
}

// NewCatalog checks definitions against each other and builds a catalog.
// The definitions must have been validated one by one (Parse does that).
func NewCatalog(defs ...*Definition) (*Catalog, error) {
	var probs []Problem
	sorted := slices.Clone(defs)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].ID != sorted[j].ID {
			return sorted[i].ID < sorted[j].ID
		}
		return sorted[i].Version < sorted[j].Version
	})
	for i := 1; i < len(sorted); i++ {
		a, b := sorted[i-1], sorted[i]
		if a.ID == b.ID && a.Version == b.Version {
			probs = append(probs, Problem{File: b.File, Msg: fmt.Sprintf("definition %s is also defined in %s", b.Key(), a.File)})
		}
		if a.ID == b.ID && !b.Effective.After(a.Effective) {
			probs = append(probs, Problem{File: b.File, Msg: fmt.Sprintf("definition %s must take effect after version %d (%s)", b.Key(), a.Version, a.Effective.Format(time.DateOnly))})
		}
	}
	// A procedure (or the wildcard) may be claimed by one definition id only,
	// so that the version in force is never ambiguous.
	owner := map[string]*Definition{}
	for _, d := range sorted {
		for _, p := range d.Procedures {
			if o, ok := owner[p]; ok && o.ID != d.ID {
				probs = append(probs, Problem{File: d.File, Msg: fmt.Sprintf("procedure %q is claimed by definitions %q (%s) and %q", p, o.ID, o.File, d.ID)})
				continue
			}
			owner[p] = d
		}
	}
	if len(probs) > 0 {
		return nil, &ValidationError{Problems: probs}
	}
	return &Catalog{defs: sorted}, nil
}

// Definitions returns every definition, sorted by id then version.
func (c *Catalog) Definitions() []*Definition { return slices.Clone(c.defs) }

// Lookup returns the definition with the id and version, or nil.
func (c *Catalog) Lookup(id string, version int) *Definition {
	for _, d := range c.defs {
		if d.ID == id && d.Version == version {
			return d
		}
	}
	return nil
}

// Resolve returns the definition in force for a new dossier of the procedure
// at the instant: among the definitions naming the procedure (or, if none
// does, those covering "*"), the highest version effective at that instant.
// It returns nil when no definition applies.
func (c *Catalog) Resolve(procedure string, at time.Time) *Definition {
	var best *Definition
	pick := func(match func(*Definition) bool) {
		for _, d := range c.defs {
			if match(d) && !d.Effective.After(at) && (best == nil || d.Version > best.Version) {
				best = d
			}
		}
	}
	pick(func(d *Definition) bool { return d.Covers(procedure) })
	if best == nil {
		pick((*Definition).Wildcard)
	}
	return best
}

// ErrNotFound is returned by stores when no dossier has the code.
var ErrNotFound = errors.New("workflow: dossier not found")
