package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/looplab/fsm"
)

// Decision is the result of deciding one stream message. At most one of
// Entry and Rejection is set — neither for a deadline event, which only
// flags the dossier; Outcome is always set.
type Decision struct {
	// Dossier is the dossier after the message: the new state when
	// accepted; when rejected, the stored dossier with its rejection count
	// raised, or nil if the message names no known dossier.
	Dossier   *Dossier
	Entry     *HistoryEntry // the history entry to append when accepted
	Rejection *Rejection    // why the message was not applied
	Mismatch  *Mismatch     // set when the claimed status differs from the authoritative one
	// Irregularities are the rules of practice an accepted event broke
	// (a late entry, a late apology, a repeated supplement request).
	Irregularities []Irregularity
	Outcome        Outcome // the answer to publish
}

// Decide decides one message of the stream against the dossier it names.
// d is the stored dossier, or nil if hoso has not seen the code; Decide
// never modifies it. An envelope whose Rejection is already set (the codec
// or the store's duplicate check rejected it) only gets its outcome built.
//
// Decide is deterministic: the decision depends only on d, env and the
// catalog, never on the wall clock, so replaying a stream gives the same
// state. It is safe for concurrent use.
//
// A panic inside the decision (a bug) does not stop the stream: the message
// is rejected with ReasonInternal and the panic's text as detail.
func (c *Catalog) Decide(d *Dossier, env *Envelope) (dec Decision) {
	defer func() {
		if p := recover(); p != nil {
			dec = rejected(d, env, &Rejection{Reason: ReasonInternal, Detail: fmt.Sprintf("decision failed: %v", p)})
		}
	}()
	if env.Rejection != nil {
		return rejected(d, env, env.Rejection)
	}
	e := env.Event
	reject := func(reason Reason, vi, en string) Decision {
		return rejected(d, env, &Rejection{Reason: reason, Detail: en, DetailVI: vi})
	}
	if e.Action == DeadlineWarning || e.Action == DeadlineExpired {
		if e.Source != SystemSource {
			return reject(ReasonUnknownAction,
				fmt.Sprintf("chỉ hoso gửi được sự kiện %q", e.Action),
				fmt.Sprintf("only hoso sends %q events", e.Action))
		}
		return c.decideDeadline(d, env)
	}
	if e.Action == PeriodCloseAction {
		// A period close is about no dossier: the store applies it with
		// DecidePeriodClose.
		if e.Source != SystemSource {
			return reject(ReasonUnknownAction,
				fmt.Sprintf("chỉ hoso gửi được sự kiện %q", e.Action),
				fmt.Sprintf("only hoso sends %q events", e.Action))
		}
		return rejected(d, env, &Rejection{Reason: ReasonInternal, Detail: "a period close is applied with DecidePeriodClose, not Decide"})
	}
	if e.Action == CalendarAction {
		// A calendar event changes many dossiers: the store applies it
		// with DecideCalendar.
		if e.Source != SystemSource {
			return reject(ReasonUnknownAction,
				fmt.Sprintf("chỉ hoso gửi được sự kiện %q", e.Action),
				fmt.Sprintf("only hoso sends %q events", e.Action))
		}
		return rejected(d, env, &Rejection{Reason: ReasonInternal, Detail: "a calendar event is applied with DecideCalendar, not Decide"})
	}

	if e.Source == SystemSource {
		// The reserved source sends hoso's own actions only, whoever
		// publishes on it (NATS lets anyone when access control is off).
		return reject(ReasonUnknownAction,
			fmt.Sprintf("nguồn %q dành riêng cho sự kiện của hoso (deadline_warning, deadline_expired, calendar, period_close), không có thao tác %q", SystemSource, e.Action),
			fmt.Sprintf("the source %q is reserved for hoso's own events (deadline_warning, deadline_expired, calendar, period_close), not %q", SystemSource, e.Action))
	}

	var def *Definition
	state := StartState
	if d == nil {
		def = c.Resolve(e.Procedure, e.Time)
		if def == nil {
			day := e.Time.In(Zone).Format("2006-01-02")
			return reject(ReasonUnknownProcedure,
				fmt.Sprintf("không có quy trình nào áp dụng cho thủ tục %q vào ngày %s", e.Procedure, day),
				fmt.Sprintf("no definition covers procedure %q at %s", e.Procedure, day))
		}
	} else {
		def = c.Lookup(d.Definition, d.Version)
		if def == nil {
			return reject(ReasonUnknownProcedure,
				fmt.Sprintf("quy trình %s@%d của hồ sơ không được nạp", d.Definition, d.Version),
				fmt.Sprintf("definition %s@%d of the dossier is not loaded", d.Definition, d.Version))
		}
		if e.Procedure != d.Procedure {
			return reject(ReasonProcedureMismatch,
				fmt.Sprintf("hồ sơ thuộc thủ tục %q, sự kiện ghi thủ tục %q", d.Procedure, e.Procedure),
				fmt.Sprintf("dossier is of procedure %q, event names %q", d.Procedure, e.Procedure))
		}
		if e.Time.Before(d.UpdatedAt) {
			at, last := e.Time.Format(timeLayout), d.UpdatedAt.Format(timeLayout)
			return reject(ReasonOutOfOrder,
				fmt.Sprintf("thời điểm sự kiện %s trước sự kiện cuối cùng của hồ sơ lúc %s", at, last),
				fmt.Sprintf("event time %s is before the dossier's last event at %s", at, last))
		}
		state = d.State
	}
	act := def.Action(e.Action)
	if act == nil {
		return reject(ReasonUnknownAction,
			fmt.Sprintf("quy trình %s không có thao tác %q", def.Key(), e.Action),
			fmt.Sprintf("definition %s has no action %q", def.Key(), e.Action))
	}

	m := def.fsms.Get().(*fsm.FSM)
	m.SetState(state)
	err := m.Event(context.Background(), e.Action, guardInput{cat: c, def: def, act: act, dossier: d, event: e})
	def.fsms.Put(m) // not reached after a panic: that machine is dropped
	var (
		invalid  fsm.InvalidEventError
		canceled fsm.CanceledError
		same     fsm.NoTransitionError
		guard    *Rejection
	)
	switch {
	case err == nil:
	case errors.As(err, &same) && same.Err == nil:
		// a self-transition: a handoff inside a state, an apology
	case errors.As(err, &invalid):
		return reject(ReasonInvalidTransition,
			fmt.Sprintf("thao tác %q không được phép ở trạng thái %q (%s)", e.Action, state, stateStatus(def, state)),
			fmt.Sprintf("action %q is not allowed in state %q (%s)", e.Action, state, stateStatus(def, state)))
	case errors.As(err, &canceled) && errors.As(canceled.Err, &guard):
		return rejected(d, env, guard)
	default:
		// The definition was validated, so looplab/fsm has nothing else to say.
		panic(fmt.Sprintf("workflow: decide %s on %s: %v", e.Action, e.Dossier, err))
	}
	return c.accepted(def, act, d, env, state)
}

// decideDeadline applies a deadline warning or expiry from hoso's
// scheduler: it flags the dossier, and answers with a deadline outcome to
// the dossier's source. A deadline for a due date the dossier no longer has
// (an apology moved it, the clock stopped, it finished) is stale.
func (c *Catalog) decideDeadline(d *Dossier, env *Envelope) Decision {
	e := env.Event
	switch {
	case d == nil:
		return rejected(d, env, &Rejection{Reason: ReasonStaleDeadline, Detail: "unknown dossier", DetailVI: "hồ sơ không tồn tại"})
	case !d.ClockRunning() || !d.Due.Equal(e.Due):
		return rejected(d, env, &Rejection{Reason: ReasonStaleDeadline,
			Detail:   fmt.Sprintf("the dossier's clock does not run towards %s", e.Due.Format(timeLayout)),
			DetailVI: fmt.Sprintf("hồ sơ không còn tính hạn đến %s", e.Due.Format(timeLayout))})
	case e.Action == DeadlineWarning && d.Warned, e.Action == DeadlineExpired && d.Overdue:
		return rejected(d, env, &Rejection{Reason: ReasonStaleDeadline, Detail: "already recorded", DetailVI: "đã ghi nhận trước đó"})
	}
	nd := d.Clone()
	nd.Warned = true
	vi, en := "Hồ sơ sắp đến hạn giải quyết", "The dossier is due within one working day"
	if e.Action == DeadlineExpired {
		nd.Overdue = true
		vi, en = "Hồ sơ đã quá hạn giải quyết", "The dossier is overdue"
	}
	due := d.Due
	return Decision{Dossier: nd, Outcome: Outcome{
		Kind: OutcomeDeadline, Seq: env.Seq, EventID: e.ID, Source: d.Source, Dossier: d.Code, Action: e.Action,
		Status: d.Status, StatusName: d.Status.NameVI(), Due: &due, Time: e.Time,
		MessageVI: vi + ": hạn " + due.In(Zone).Format("15:04 02/01/2006"),
		MessageEN: en + ": due " + due.Format(timeLayout),
	}}
}

const timeLayout = "2006-01-02T15:04:05Z07:00"

func stateStatus(def *Definition, state string) string {
	if s := def.State(state); s != nil {
		return s.Status.String()
	}
	return "new dossier"
}

// guardInput is what the guard callback needs; passed as the fsm event arg.
type guardInput struct {
	cat     *Catalog
	def     *Definition
	act     *Action
	dossier *Dossier // nil for a new dossier
	event   *Event
}

// callbacks returns the looplab/fsm callbacks of the definition: a
// before_event guard check that cancels the transition with a *Rejection.
func (d *Definition) callbacks() fsm.Callbacks {
	return fsm.Callbacks{
		"before_event": func(_ context.Context, fe *fsm.Event) {
			in := fe.Args[0].(guardInput)
			if r := in.check(fe.Src); r != nil {
				fe.Cancel(r)
			}
		},
	}
}

// Error lets a *Rejection travel through looplab/fsm's cancel error.
func (r *Rejection) Error() string { return string(r.Reason) + ": " + r.Detail }

// check evaluates the action's guards for a transition from src.
func (in guardInput) check(src string) *Rejection {
	if r := in.checkGuards(src); r != nil {
		return r
	}
	if in.act.ExtendsDue {
		return in.checkApology()
	}
	if in.act.SetsDue {
		return in.checkDue()
	}
	return nil
}

// checkDue refuses a due date the sender gives (data.due, used when the
// procedure has no statutory time) that is not after the event: an
// appointment is later than the receipt.
func (in guardInput) checkDue() *Rejection {
	e := in.event
	if e.Due.IsZero() || !in.def.Procedure(e.Procedure).SLA.IsZero() {
		return nil
	}
	if due := in.cat.dueInstant(e.Due, e.DueDay); !due.After(e.Time) {
		return &Rejection{Reason: ReasonInvalidDue,
			Detail:   fmt.Sprintf("due date %s is not after the event at %s", due.Format(timeLayout), e.Time.Format(timeLayout)),
			DetailVI: fmt.Sprintf("hạn giải quyết %s không sau thời điểm tiếp nhận %s", due.Format(timeLayout), e.Time.Format(timeLayout))}
	}
	return nil
}

// dueInstant returns the instant a due date of an event falls due: t
// itself, or the end of its day's working hours when the event gave a date
// (day).
func (c *Catalog) dueInstant(t time.Time, day bool) time.Time {
	if day && !t.IsZero() {
		return c.Calendar().EndOfDay(t)
	}
	return t
}

// checkGuards evaluates the guards the definition lists for the action.
func (in guardInput) checkGuards(src string) *Rejection {
	for _, g := range in.act.Guards {
		if len(g.From) > 0 && !slices.Contains(g.From, src) {
			continue
		}
		for _, k := range g.Attachments {
			if !in.event.HasAttachment(k) {
				return &Rejection{Reason: ReasonMissingAttachment,
					Detail:   fmt.Sprintf("action %q needs an attachment of kind %q", in.act.Name, k),
					DetailVI: fmt.Sprintf("thao tác %q cần tệp đính kèm loại %q", in.act.Name, k)}
			}
		}
		for _, k := range g.Recorded {
			if !in.event.HasAttachment(k) && (in.dossier == nil || !in.dossier.HasAttachment(k)) {
				return &Rejection{Reason: ReasonMissingAttachment,
					Detail:   fmt.Sprintf("action %q needs an attachment of kind %q on the dossier", in.act.Name, k),
					DetailVI: fmt.Sprintf("thao tác %q cần hồ sơ có tệp đính kèm loại %q", in.act.Name, k)}
			}
		}
		if g.Result && !in.def.Procedure(in.event.Procedure).NoResult &&
			!in.event.HasAttachment(AttachmentResultElectronic) && (in.dossier == nil || !in.dossier.HasAttachment(AttachmentResultElectronic)) {
			return &Rejection{Reason: ReasonMissingAttachment,
				Detail:   fmt.Sprintf("action %q needs the electronic result (%s)", in.act.Name, AttachmentResultElectronic),
				DetailVI: fmt.Sprintf("thao tác %q cần kết quả điện tử (%s)", in.act.Name, AttachmentResultElectronic)}
		}
		for _, f := range g.Fields {
			if !in.event.Field(f) {
				return &Rejection{Reason: ReasonMissingField,
					Detail:   fmt.Sprintf("action %q needs data.%s", in.act.Name, f),
					DetailVI: fmt.Sprintf("thao tác %q cần trường data.%s", in.act.Name, f)}
			}
		}
	}
	return nil
}

// checkApology applies the rules of an apology: before the due date it
// moves passes, a later new date, at most ApologyLimit times.
func (in guardInput) checkApology() *Rejection {
	d, e := in.dossier, in.event
	switch {
	case d == nil || d.Due.IsZero():
		return &Rejection{Reason: ReasonInvalidDue, Detail: "the dossier has no due date to move", DetailVI: "hồ sơ chưa có hạn giải quyết để gia hạn"}
	case !e.Time.Before(d.Due):
		return &Rejection{Reason: ReasonDeadlinePassed,
			Detail:   fmt.Sprintf("the apology at %s comes after the due date %s", e.Time.Format(timeLayout), d.Due.Format(timeLayout)),
			DetailVI: fmt.Sprintf("thư xin lỗi lúc %s sau hạn giải quyết %s", e.Time.Format(timeLayout), d.Due.Format(timeLayout))}
	case d.Apologies >= in.def.ApologyLimit:
		return &Rejection{Reason: ReasonApologyLimit,
			Detail:   fmt.Sprintf("%d apologies allowed, %d made", in.def.ApologyLimit, d.Apologies),
			DetailVI: fmt.Sprintf("chỉ được gia hạn %d lần, đã gia hạn %d lần", in.def.ApologyLimit, d.Apologies)}
	}
	if nd := in.cat.dueInstant(e.NewDue, e.NewDueDay); !nd.IsZero() && !nd.After(d.Due) {
		return &Rejection{Reason: ReasonInvalidDue,
			Detail:   fmt.Sprintf("new due date %s is not after %s", nd.Format(timeLayout), d.Due.Format(timeLayout)),
			DetailVI: fmt.Sprintf("hạn mới %s không sau hạn hiện tại %s", nd.Format(timeLayout), d.Due.Format(timeLayout))}
	}
	return nil
}

func (c *Catalog) accepted(def *Definition, act *Action, d *Dossier, env *Envelope, from string) Decision {
	e := env.Event
	var nd *Dossier
	var fromStatus Status
	if d == nil {
		nd = &Dossier{
			Code:       e.Dossier,
			Procedure:  e.Procedure,
			Agency:     e.Agency,
			Source:     e.Source,
			Definition: def.ID,
			Version:    def.Version,
			CreatedAt:  e.Time,
		}
	} else {
		nd = d.Clone()
		fromStatus = d.Status
	}
	to := def.State(act.To)
	if act.Stay {
		to = def.State(from)
	}
	nd.State, nd.Status, nd.Terminal = to.Name, to.Status, to.Terminal
	if d == nil {
		nd.Online = to.Status == StatusSubmitted
	}
	nd.UpdatedAt = e.Time
	if e.Department != "" {
		nd.Department = e.Department
	}
	var timing Timing
	if d != nil && d.ClockRunning() {
		timing = TimingOf(e.Time, d.OriginalDue)
	}
	if to.Status == StatusSupplement && fromStatus != StatusSupplement {
		nd.Supplements++
	}
	// The channel is read on the event that creates or receives the
	// dossier; the first one given stays.
	var channel Channel
	if e.Channel != "" && nd.Channel == "" && (d == nil || (to.Status == StatusReceived && nd.ReceivedAt.IsZero())) {
		nd.Channel, channel = e.Channel, e.Channel
	}
	// A payment and a rating are facts the event records; a rating only
	// of a dossier that existed before it.
	switch e.Payment {
	case PaymentOnline:
		nd.PaidOnline = true
	case PaymentCounter:
		nd.PaidCounter = true
	}
	var satisfaction int
	if d != nil && e.Satisfaction != 0 {
		nd.Satisfaction, satisfaction = e.Satisfaction, e.Satisfaction
	}
	if e.Lookup != ([32]byte{}) {
		// A reprinted receipt gives a new secret: the last digest stays.
		nd.Lookup = e.Lookup
	}
	switch {
	case to.Status == StatusReceived && nd.ReceivedAt.IsZero():
		nd.ReceivedAt = e.Time
	case to.Status == StatusResolved && nd.ResolvedAt.IsZero():
		nd.ResolvedAt = e.Time
	case to.Status == StatusReturned && nd.ReturnedAt.IsZero():
		nd.ReturnedAt = e.Time
	}
	c.clock(def, act, nd, e)
	for _, a := range e.Attachments {
		if i, ok := slices.BinarySearch(nd.Attachments, a.Kind); !ok {
			nd.Attachments = slices.Insert(nd.Attachments, i, a.Kind)
		}
	}
	entry := &HistoryEntry{
		Dossier:      e.Dossier,
		Index:        nd.History,
		Seq:          env.Seq,
		EventID:      e.ID,
		Source:       e.Source,
		Action:       act.Name,
		From:         from,
		To:           to.Name,
		FromStatus:   fromStatus,
		ToStatus:     to.Status,
		Time:         e.Time,
		Actor:        e.Actor,
		Agency:       e.Agency,
		Department:   nd.Department,
		Reason:       e.Reason,
		Note:         e.Note,
		Due:          nd.Due,
		Timing:       timing,
		Attachments:  slices.Clone(e.Attachments),
		Channel:      channel,
		Payment:      e.Payment,
		Satisfaction: satisfaction,
		PrevHash:     nd.Head,
	}
	entry.Hash = entry.ComputeHash()
	nd.History++
	nd.Head = entry.Hash

	idx, hash := entry.Index, entry.Hash
	out := Outcome{
		Kind:           OutcomeAccepted,
		Seq:            env.Seq,
		EventID:        e.ID,
		Source:         e.Source,
		Dossier:        e.Dossier,
		Action:         act.Name,
		Status:         nd.Status,
		StatusName:     nd.Status.NameVI(),
		PreviousStatus: fromStatus,
		ClaimedStatus:  e.ClaimedStatus,
		HistoryIndex:   &idx,
		EntryHash:      &hash,
		Time:           e.Time,
	}
	if !nd.Due.IsZero() {
		due := nd.Due
		out.Due = &due
	}
	dec := Decision{Dossier: nd, Entry: entry, Outcome: out, Irregularities: c.irregularities(def, act, d, nd, env)}
	for _, ir := range dec.Irregularities {
		if ir.Kind == IrregularLateEntry {
			nd.LateEntries++
		}
		dec.Outcome.Irregularities = append(dec.Outcome.Irregularities, ir.Kind)
	}
	if e.ClaimedStatus != 0 && e.ClaimedStatus != nd.Status {
		nd.Mismatches++
		dec.Mismatch = mismatch(env, nd.Status, true)
		dec.Outcome.Kind = OutcomeCorrection
		dec.Outcome.Reason = ReasonStatusMismatch
		dec.Outcome.MessageVI = fmt.Sprintf("%s: trạng thái đúng là %s, không phải %s", ReasonStatusMismatch.TextVI(), nd.Status, e.ClaimedStatus)
		dec.Outcome.MessageEN = fmt.Sprintf("%s: the status is %d %s, not %d", ReasonStatusMismatch.TextEN(), nd.Status, nd.Status.NameEN(), e.ClaimedStatus)
	}
	return dec
}

func mismatch(env *Envelope, status Status, applied bool) *Mismatch {
	e := env.Event
	return &Mismatch{
		Seq: env.Seq, EventID: e.ID, Source: e.Source, Dossier: e.Dossier, Action: e.Action,
		Agency: e.Agency, Actor: e.Actor, Applied: applied, Status: status, ClaimedStatus: e.ClaimedStatus, Time: e.Time,
	}
}

// rejected completes a rejection with what the envelope and dossier tell.
// A rejection the codec made (env.Event nil) carries what could be read of
// the payload in its own fields, and the source only when the subject's
// source token is valid: its outcome is published on that token, which
// must be one a source's filtered consumer can ask for.
func rejected(d *Dossier, env *Envelope, r *Rejection) Decision {
	r.Seq, r.Subject, r.Time = env.Seq, env.Subject, env.Published
	if e := env.Event; e != nil {
		r.EventID, r.Source, r.Dossier, r.Action, r.Agency = e.ID, e.Source, e.Dossier, e.Action, e.Agency
		r.ClaimedStatus = e.ClaimedStatus
	}
	dec := Decision{Rejection: r}
	if d != nil && d.Code == r.Dossier {
		nd := d.Clone()
		nd.Rejections++
		r.Status = nd.Status
		dec.Dossier = nd
		// A duplicate repeats a claim already judged when the event was first
		// decided; recording it again would count one wrong status twice.
		if r.ClaimedStatus != 0 && r.ClaimedStatus != nd.Status && r.Reason != ReasonDuplicate {
			nd.Mismatches++
			dec.Mismatch = &Mismatch{
				Seq: r.Seq, EventID: r.EventID, Source: r.Source, Dossier: r.Dossier, Action: r.Action,
				Agency: r.Agency, Status: nd.Status, ClaimedStatus: r.ClaimedStatus, Time: r.Time,
			}
			if e := env.Event; e != nil {
				dec.Mismatch.Actor, dec.Mismatch.Time = e.Actor, e.Time
			}
		}
	}
	dec.Outcome = Outcome{
		Kind:          OutcomeRejected,
		Seq:           r.Seq,
		EventID:       r.EventID,
		Source:        r.Source,
		Dossier:       r.Dossier,
		Action:        r.Action,
		Status:        r.Status,
		StatusName:    r.Status.NameVI(),
		ClaimedStatus: r.ClaimedStatus,
		Reason:        r.Reason,
		MessageVI:     r.MessageVI(),
		MessageEN:     r.MessageEN(),
		Time:          r.Time,
	}
	if env.Event != nil {
		dec.Outcome.Time = env.Event.Time
	}
	return dec
}

// RejectDuplicate marks the envelope's event as a duplicate of an event
// already decided, for Decide to answer.
func (env *Envelope) RejectDuplicate() {
	env.Rejection = &Rejection{Reason: ReasonDuplicate,
		Detail:   fmt.Sprintf("event %q was already decided", env.Event.ID),
		DetailVI: fmt.Sprintf("sự kiện %q đã được xử lý trước đó", env.Event.ID)}
}

// clock applies the action to the due date and the statutory clock of nd,
// the dossier after the action.
func (c *Catalog) clock(def *Definition, act *Action, nd *Dossier, e *Event) {
	cal := c.Calendar()
	due := nd.Due
	sla := def.Procedure(nd.Procedure).SLA
	switch {
	case act.SetsDue && !sla.IsZero():
		nd.Due = cal.Due(e.Time, sla)
		nd.OriginalDue = nd.Due
	case act.SetsDue && !e.Due.IsZero():
		nd.Due = c.dueInstant(e.Due, e.DueDay)
		nd.OriginalDue = nd.Due
	case act.ExtendsDue:
		nd.Due = c.dueInstant(e.NewDue, e.NewDueDay)
		nd.Apologies++
	}
	switch act.Clock {
	case ClockStop:
		if nd.PausedAt.IsZero() {
			nd.PausedAt = e.Time
		}
	case ClockResume, ClockRestartAll:
		restart := act.Clock == ClockRestartAll || def.Clock == ClockRestart
		switch {
		case nd.PausedAt.IsZero() || nd.Due.IsZero():
		case restart && !sla.IsZero():
			nd.Due = cal.Due(e.Time, sla)
			nd.OriginalDue = nd.Due
		default:
			// The time spent waiting does not count: both dates move by it.
			waited := cal.Working(nd.PausedAt, e.Time)
			nd.Due = cal.AddWorking(nd.Due, waited)
			nd.OriginalDue = cal.AddWorking(nd.OriginalDue, waited)
		}
		nd.PausedAt = time.Time{}
	}
	if !nd.Due.Equal(due) {
		// A new due date: warnings and expiries start over.
		nd.Warned, nd.Overdue = false, false
	}
}
