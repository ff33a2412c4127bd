package workflow

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Tally holds the counters of a set of dossiers. Flow counters count
// events of a period, each dated by the month it happened in (Month);
// the Cohort counters and a few flows (Apologies, Transitions,
// LateEntries, the digitized and online receipts) describe the dossiers
// received in a month as they are now, dated by that month; gauges
// describe dossiers as they are now. Every field is a count of dossiers
// (Apologies: of apologies; Transitions and LateEntries: of events); the
// zero Tally counts nothing.
//
// The counting rules are those of StatsDelta.
type Tally struct {
	// Flows.
	Received  int64 `json:"received"`  // first entry into status 2 (ReceivedAt), in its month
	Resolved  int64 `json:"resolved"`  // first entry into status 9 (ResolvedAt, NgayKetThucXuLy), in its month
	Returned  int64 `json:"returned"`  // entry into status 10 (ReturnedAt, NgayTra), in its month
	Withdrawn int64 `json:"withdrawn"` // in status 7, in the month of its last update (when it entered: the status is terminal)
	Refused   int64 `json:"refused"`   // in status 3, likewise
	Stopped   int64 `json:"stopped"`   // in status 8, likewise

	// Resolved split by TimingOf(ResolvedAt, OriginalDue): late by the end
	// of processing, against the due date without apologies. A dossier
	// without a due date cannot be late: on time.
	ResolvedEarly  int64 `json:"resolved_early"`
	ResolvedOnTime int64 `json:"resolved_on_time"`
	ResolvedLate   int64 `json:"resolved_late"`
	// Returned split by TimingOf(ReturnedAt, OriginalDue): late by the
	// return date.
	ReturnedEarly  int64 `json:"returned_early"`
	ReturnedOnTime int64 `json:"returned_on_time"`
	ReturnedLate   int64 `json:"returned_late"`

	// DigitizedInputs: received dossiers holding an input_digitized
	// attachment, counted once in the month of receipt, whenever the
	// attachment arrived.
	DigitizedInputs int64 `json:"digitized_inputs"`
	// ElectronicResults: resolved dossiers holding a result_electronic
	// attachment, counted once in the month of resolution.
	ElectronicResults int64 `json:"electronic_results"`
	// Apologies: apologies accepted (Dossier.Apologies), counted in the
	// month the dossier was received (created, if never received): a
	// dossier records how many apologies it made, not when.
	Apologies int64 `json:"apologies"`

	// Gauges.
	InProgress        int64 `json:"in_progress"`         // in status 2 or 4, not terminal
	InProgressOverdue int64 `json:"in_progress_overdue"` // of those, flagged Overdue by a deadline expiry
	// Paused: waiting for the applicant, in status 5 (supplement) or 6
	// (financial obligation). A stopped dossier (8) is finished, counted
	// by Stopped.
	Paused int64 `json:"paused"`

	// ReceivedOnline: received dossiers submitted online (Dossier.Online),
	// in the month of receipt. A flow, after the gauges: counters are
	// stored in this order.
	ReceivedOnline int64 `json:"received_online"`

	// Late split by the apology letter ("quá hạn (đã có / chưa có thư xin
	// lỗi)"): of ResolvedLate, ReturnedLate and the gauge
	// InProgressOverdue, the dossiers that made an apology (Apologies > 0);
	// the others made none. An apology does not erase the delay.
	ResolvedLateApologized      int64 `json:"resolved_late_apologized"`
	ReturnedLateApologized      int64 `json:"returned_late_apologized"`
	InProgressOverdueApologized int64 `json:"in_progress_overdue_apologized"` // a gauge

	// Transitions: history entries (Dossier.History, one per accepted
	// event), and LateEntries: those recorded as late entries
	// (Dossier.LateEntries, IrregularLateEntry). Like Apologies, counted in
	// the month the dossier was received (created, if never received): a
	// dossier records how many, not when.
	Transitions int64 `json:"transitions"`
	LateEntries int64 `json:"late_entries"`

	// Finished: received dossiers that finished, in the month they first
	// did: resolved (ResolvedAt), else withdrawn, stopped or refused (the
	// month of the last update, as Withdrawn). The received of the months
	// before a period less their Finished are the dossiers carried over
	// into it (StatsResult.CarriedOver).
	Finished int64 `json:"finished"`

	// The receipt cohort: the received dossiers counted in the month they
	// were received, as they are now, so that a month describes its
	// receipts (Cohort): of them, resolved (with its timing split, as
	// Resolved), returned, with an electronic result, withdrawn, refused,
	// stopped (the first four dated by when they happened in the fields
	// above), and in progress, overdue, paused (gauges above).
	CohortResolved                    int64 `json:"cohort_resolved"`
	CohortResolvedEarly               int64 `json:"cohort_resolved_early"`
	CohortResolvedOnTime              int64 `json:"cohort_resolved_on_time"`
	CohortResolvedLate                int64 `json:"cohort_resolved_late"`
	CohortResolvedLateApologized      int64 `json:"cohort_resolved_late_apologized"`
	CohortReturned                    int64 `json:"cohort_returned"`
	CohortReturnedEarly               int64 `json:"cohort_returned_early"`
	CohortReturnedOnTime              int64 `json:"cohort_returned_on_time"`
	CohortReturnedLate                int64 `json:"cohort_returned_late"`
	CohortReturnedLateApologized      int64 `json:"cohort_returned_late_apologized"`
	CohortElectronicResults           int64 `json:"cohort_electronic_results"`
	CohortWithdrawn                   int64 `json:"cohort_withdrawn"`
	CohortRefused                     int64 `json:"cohort_refused"`
	CohortStopped                     int64 `json:"cohort_stopped"`
	CohortInProgress                  int64 `json:"cohort_in_progress"`
	CohortInProgressOverdue           int64 `json:"cohort_in_progress_overdue"`
	CohortInProgressOverdueApologized int64 `json:"cohort_in_progress_overdue_apologized"`
	CohortPaused                      int64 `json:"cohort_paused"`

	// AwaitingReturn: a gauge of the dossiers resolved and not yet
	// returned, in status 9 and not terminal (đã giải quyết, chưa trả kết
	// quả); CohortAwaitingReturn: of the month's receipts.
	AwaitingReturn       int64 `json:"awaiting_return"`
	CohortAwaitingReturn int64 `json:"cohort_awaiting_return"`

	// Received by channel (Dossier.IntakeChannel): trực tiếp, bưu chính
	// công ích, trực tuyến toàn trình, trực tuyến một phần; flows of the
	// month of receipt, like ReceivedOnline. They sum to Received.
	ReceivedDesk          int64 `json:"received_desk"`
	ReceivedPost          int64 `json:"received_post"`
	ReceivedOnlineFull    int64 `json:"received_online_full"`
	ReceivedOnlinePartial int64 `json:"received_online_partial"`

	// Paid: dossiers an accepted event recorded a payment of
	// (data.payment), PaidOnline those of them with an online payment;
	// Rated: dossiers the applicant rated (data.satisfaction), Satisfied
	// those whose last score is SatisfiedFrom or more. Like Apologies,
	// counted in the month the dossier was received (created, if never
	// received): a dossier records that it was paid or rated, not when.
	Paid       int64 `json:"paid"`
	PaidOnline int64 `json:"paid_online"`
	Rated      int64 `json:"rated"`
	Satisfied  int64 `json:"satisfied"`
}

// TallyFields is the number of counters of a Tally.
const TallyFields = 53

// Fields returns pointers to the counters of t in declaration order, for
// code that treats every counter alike (sums, encodings). Stored
// encodings depend on the order: a new counter goes at the end.
func (t *Tally) Fields() [TallyFields]*int64 {
	return [TallyFields]*int64{
		&t.Received, &t.Resolved, &t.Returned, &t.Withdrawn, &t.Refused, &t.Stopped,
		&t.ResolvedEarly, &t.ResolvedOnTime, &t.ResolvedLate,
		&t.ReturnedEarly, &t.ReturnedOnTime, &t.ReturnedLate,
		&t.DigitizedInputs, &t.ElectronicResults, &t.Apologies,
		&t.InProgress, &t.InProgressOverdue, &t.Paused,
		&t.ReceivedOnline,
		&t.ResolvedLateApologized, &t.ReturnedLateApologized, &t.InProgressOverdueApologized,
		&t.Transitions, &t.LateEntries, &t.Finished,
		&t.CohortResolved, &t.CohortResolvedEarly, &t.CohortResolvedOnTime, &t.CohortResolvedLate, &t.CohortResolvedLateApologized,
		&t.CohortReturned, &t.CohortReturnedEarly, &t.CohortReturnedOnTime, &t.CohortReturnedLate, &t.CohortReturnedLateApologized,
		&t.CohortElectronicResults, &t.CohortWithdrawn, &t.CohortRefused, &t.CohortStopped,
		&t.CohortInProgress, &t.CohortInProgressOverdue, &t.CohortInProgressOverdueApologized, &t.CohortPaused,
		&t.AwaitingReturn, &t.CohortAwaitingReturn,
		&t.ReceivedDesk, &t.ReceivedPost, &t.ReceivedOnlineFull, &t.ReceivedOnlinePartial,
		&t.Paid, &t.PaidOnline, &t.Rated, &t.Satisfied,
	}
}

// Add adds the counters of o to t. It names every counter rather than
// looping over Fields: it runs for every row a batch changes.
func (t *Tally) Add(o Tally) {
	t.Received += o.Received
	t.Resolved += o.Resolved
	t.Returned += o.Returned
	t.Withdrawn += o.Withdrawn
	t.Refused += o.Refused
	t.Stopped += o.Stopped
	t.ResolvedEarly += o.ResolvedEarly
	t.ResolvedOnTime += o.ResolvedOnTime
	t.ResolvedLate += o.ResolvedLate
	t.ReturnedEarly += o.ReturnedEarly
	t.ReturnedOnTime += o.ReturnedOnTime
	t.ReturnedLate += o.ReturnedLate
	t.DigitizedInputs += o.DigitizedInputs
	t.ElectronicResults += o.ElectronicResults
	t.Apologies += o.Apologies
	t.InProgress += o.InProgress
	t.InProgressOverdue += o.InProgressOverdue
	t.Paused += o.Paused
	t.ReceivedOnline += o.ReceivedOnline
	t.ResolvedLateApologized += o.ResolvedLateApologized
	t.ReturnedLateApologized += o.ReturnedLateApologized
	t.InProgressOverdueApologized += o.InProgressOverdueApologized
	t.Transitions += o.Transitions
	t.LateEntries += o.LateEntries
	t.Finished += o.Finished
	t.CohortResolved += o.CohortResolved
	t.CohortResolvedEarly += o.CohortResolvedEarly
	t.CohortResolvedOnTime += o.CohortResolvedOnTime
	t.CohortResolvedLate += o.CohortResolvedLate
	t.CohortResolvedLateApologized += o.CohortResolvedLateApologized
	t.CohortReturned += o.CohortReturned
	t.CohortReturnedEarly += o.CohortReturnedEarly
	t.CohortReturnedOnTime += o.CohortReturnedOnTime
	t.CohortReturnedLate += o.CohortReturnedLate
	t.CohortReturnedLateApologized += o.CohortReturnedLateApologized
	t.CohortElectronicResults += o.CohortElectronicResults
	t.CohortWithdrawn += o.CohortWithdrawn
	t.CohortRefused += o.CohortRefused
	t.CohortStopped += o.CohortStopped
	t.CohortInProgress += o.CohortInProgress
	t.CohortInProgressOverdue += o.CohortInProgressOverdue
	t.CohortInProgressOverdueApologized += o.CohortInProgressOverdueApologized
	t.CohortPaused += o.CohortPaused
	t.AwaitingReturn += o.AwaitingReturn
	t.CohortAwaitingReturn += o.CohortAwaitingReturn
	t.ReceivedDesk += o.ReceivedDesk
	t.ReceivedPost += o.ReceivedPost
	t.ReceivedOnlineFull += o.ReceivedOnlineFull
	t.ReceivedOnlinePartial += o.ReceivedOnlinePartial
	t.Paid += o.Paid
	t.PaidOnline += o.PaidOnline
	t.Rated += o.Rated
	t.Satisfied += o.Satisfied
}

// Sub subtracts the counters of o from t.
func (t *Tally) Sub(o Tally) {
	dst, src := t.Fields(), o.Fields()
	for i := range dst {
		*dst[i] -= *src[i]
	}
}

// IsZero reports whether every counter is zero.
func (t Tally) IsZero() bool { return t == Tally{} }

// gauges returns pointers to the gauges of t: the counters that describe
// the dossiers now rather than events of a month.
func (t *Tally) gauges() [5]*int64 {
	return [...]*int64{&t.InProgress, &t.InProgressOverdue, &t.Paused, &t.InProgressOverdueApologized, &t.AwaitingReturn}
}

// Gauges returns t with its flow counters zeroed.
func (t Tally) Gauges() Tally {
	var g Tally
	src, dst := t.gauges(), g.gauges()
	for i := range src {
		*dst[i] = *src[i]
	}
	return g
}

// Flows returns t with its gauges zeroed.
func (t Tally) Flows() Tally {
	for _, g := range t.gauges() {
		*g = 0
	}
	return t
}

// Cohort returns the counters of the dossiers received in the months t
// covers, as they are now, in the fields of a period's: Received, its
// digitized inputs, online submissions, apologies, transitions and late
// entries (already counted by the month of receipt, the last three with
// the dossiers created in it and never received), and of them the
// Cohort counters as Resolved, Returned, ElectronicResults, Withdrawn,
// Refused (after receipt), Stopped and the gauges. Finished and the
// Cohort fields are zero.
func (t Tally) Cohort() Tally {
	return Tally{
		Received: t.Received, DigitizedInputs: t.DigitizedInputs, ReceivedOnline: t.ReceivedOnline, Apologies: t.Apologies,
		Transitions: t.Transitions, LateEntries: t.LateEntries,
		ReceivedDesk: t.ReceivedDesk, ReceivedPost: t.ReceivedPost, ReceivedOnlineFull: t.ReceivedOnlineFull,
		ReceivedOnlinePartial: t.ReceivedOnlinePartial,
		Paid:                  t.Paid, PaidOnline: t.PaidOnline, Rated: t.Rated, Satisfied: t.Satisfied,
		Resolved: t.CohortResolved, ResolvedEarly: t.CohortResolvedEarly, ResolvedOnTime: t.CohortResolvedOnTime,
		ResolvedLate: t.CohortResolvedLate, ResolvedLateApologized: t.CohortResolvedLateApologized,
		Returned: t.CohortReturned, ReturnedEarly: t.CohortReturnedEarly, ReturnedOnTime: t.CohortReturnedOnTime,
		ReturnedLate: t.CohortReturnedLate, ReturnedLateApologized: t.CohortReturnedLateApologized,
		ElectronicResults: t.CohortElectronicResults, Withdrawn: t.CohortWithdrawn, Refused: t.CohortRefused, Stopped: t.CohortStopped,
		InProgress: t.CohortInProgress, InProgressOverdue: t.CohortInProgressOverdue,
		InProgressOverdueApologized: t.CohortInProgressOverdueApologized, Paused: t.CohortPaused,
		AwaitingReturn: t.CohortAwaitingReturn,
	}
}

// StatsChange is a change of the flow counters of one month.
type StatsChange struct {
	Month string // "2025-07": the month in Zone (see Month)
	Flow  Tally  // flow counters only; gauges are zero
}

// Month returns the month of t in Vietnam, as "2006-01": the period flow
// counters are kept by.
func Month(t time.Time) string { return t.In(Zone).Format(monthLayout) }

const monthLayout = "2006-01"

// StatsDelta returns how the counters change when a dossier goes from old
// (nil if new) to new (nil if gone): the flow deltas dated by month, in
// month order, without empty ones (one step may touch several months: a
// dossier new to a batch may be received, resolved and returned in it),
// and the gauge delta.
//
// The counters of a dossier are a function of its state alone, so the
// delta is what new counts minus what old counted, and the counters of a
// store equal the sum of StatsDelta(nil, d) over its dossiers however the
// stream was batched: a replay gives identical counters.
func StatsDelta(old, new *Dossier) (flows []StatsChange, gauges Tally) {
	if sameTally(old, new) {
		return nil, Tally{} // a rejection, a deadline warning
	}
	var m months
	og := tallyOf(old, &m)
	for i := range m.n {
		m.m[i].Flow = m.m[i].Flow.negated()
	}
	gauges = tallyOf(new, &m)
	gauges.Sub(og)
	n := 0
	for i := range m.n {
		if !m.m[i].Flow.IsZero() {
			n++
		}
	}
	if n == 0 {
		return nil, gauges
	}
	flows = make([]StatsChange, 0, n)
	for i := range m.n {
		if !m.m[i].Flow.IsZero() {
			flows = append(flows, m.m[i])
		}
	}
	slices.SortFunc(flows, func(a, b StatsChange) int { return strings.Compare(a.Month, b.Month) })
	return flows, gauges
}

// months holds the flows of at most two dossiers by month, without
// allocating (pointers into it stay valid): each dossier has at most four
// dates (receipt or creation, resolution, return, last update).
type months struct {
	n int
	m [10]StatsChange
}

// at returns the flows of the month of t.
func (m *months) at(t time.Time) *Tally {
	month := Month(t)
	for i := range m.n {
		if m.m[i].Month == month {
			return &m.m[i].Flow
		}
	}
	m.m[m.n] = StatsChange{Month: month}
	m.n++
	return &m.m[m.n-1].Flow
}

func (t Tally) negated() Tally {
	var z Tally
	z.Sub(t)
	return z
}

// datedByUpdate are the statuses whose flow is dated by UpdatedAt.
var datedByUpdate = []Status{StatusWithdrawn, StatusRefused, StatusStopped}

// sameTally reports whether a and b count the same: they agree on every
// field tallyOf reads.
func sameTally(a, b *Dossier) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Status == b.Status && a.Terminal == b.Terminal && a.Overdue == b.Overdue && a.Apologies == b.Apologies && a.Online == b.Online &&
		a.Channel == b.Channel && a.PaidOnline == b.PaidOnline && a.PaidCounter == b.PaidCounter && a.Satisfaction == b.Satisfaction &&
		a.History == b.History && a.LateEntries == b.LateEntries &&
		a.ReceivedAt.Equal(b.ReceivedAt) && a.ResolvedAt.Equal(b.ResolvedAt) && a.ReturnedAt.Equal(b.ReturnedAt) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.OriginalDue.Equal(b.OriginalDue) &&
		(a.UpdatedAt.Equal(b.UpdatedAt) || !slices.Contains(datedByUpdate, a.Status)) &&
		a.HasAttachment(AttachmentInputDigitized) == b.HasAttachment(AttachmentInputDigitized) &&
		a.HasAttachment(AttachmentResultElectronic) == b.HasAttachment(AttachmentResultElectronic)
}

// tallyOf adds the flows a dossier counts to m and returns its gauges.
func tallyOf(d *Dossier, m *months) (gauges Tally) {
	if d == nil {
		return Tally{}
	}
	var cohort *Tally // the counters of the month of receipt; nil if never received
	if !d.ReceivedAt.IsZero() {
		cohort = m.at(d.ReceivedAt)
		cohort.Received++
		if d.HasAttachment(AttachmentInputDigitized) {
			cohort.DigitizedInputs++
		}
		if d.Online {
			cohort.ReceivedOnline++
		}
		switch d.IntakeChannel() {
		case ChannelDesk:
			cohort.ReceivedDesk++
		case ChannelPost:
			cohort.ReceivedPost++
		case ChannelOnlineFull:
			cohort.ReceivedOnlineFull++
		case ChannelOnlinePartial:
			cohort.ReceivedOnlinePartial++
		}
	}
	paid, rated := d.PaidOnline || d.PaidCounter, d.Satisfaction > 0
	if d.Apologies > 0 || d.History > 0 || d.LateEntries > 0 || paid || rated {
		anchor := d.ReceivedAt
		if anchor.IsZero() {
			anchor = d.CreatedAt
		}
		t := m.at(anchor)
		t.Apologies += int64(d.Apologies)
		t.Transitions += int64(d.History)
		t.LateEntries += int64(d.LateEntries)
		if paid {
			t.Paid++
			if d.PaidOnline {
				t.PaidOnline++
			}
		}
		if rated {
			t.Rated++
			if d.Satisfaction >= SatisfiedFrom {
				t.Satisfied++
			}
		}
	}
	apologized := d.Apologies > 0
	if !d.ResolvedAt.IsZero() {
		t := m.at(d.ResolvedAt)
		t.Resolved++
		timing := TimingOf(d.ResolvedAt, d.OriginalDue)
		if count(timing, &t.ResolvedEarly, &t.ResolvedOnTime, &t.ResolvedLate) && apologized {
			t.ResolvedLateApologized++
		}
		electronic := d.HasAttachment(AttachmentResultElectronic)
		if electronic {
			t.ElectronicResults++
		}
		if cohort != nil {
			cohort.CohortResolved++
			if count(timing, &cohort.CohortResolvedEarly, &cohort.CohortResolvedOnTime, &cohort.CohortResolvedLate) && apologized {
				cohort.CohortResolvedLateApologized++
			}
			if electronic {
				cohort.CohortElectronicResults++
			}
		}
	}
	if !d.ReturnedAt.IsZero() {
		t := m.at(d.ReturnedAt)
		t.Returned++
		timing := TimingOf(d.ReturnedAt, d.OriginalDue)
		if count(timing, &t.ReturnedEarly, &t.ReturnedOnTime, &t.ReturnedLate) && apologized {
			t.ReturnedLateApologized++
		}
		if cohort != nil {
			cohort.CohortReturned++
			if count(timing, &cohort.CohortReturnedEarly, &cohort.CohortReturnedOnTime, &cohort.CohortReturnedLate) && apologized {
				cohort.CohortReturnedLateApologized++
			}
		}
	}
	if cohort != nil {
		switch {
		case !d.ResolvedAt.IsZero():
			m.at(d.ResolvedAt).Finished++
		case slices.Contains(datedByUpdate, d.Status):
			m.at(d.UpdatedAt).Finished++
		}
	}
	switch d.Status { // the statuses of datedByUpdate
	case StatusWithdrawn:
		m.at(d.UpdatedAt).Withdrawn++
	case StatusRefused:
		m.at(d.UpdatedAt).Refused++
	case StatusStopped:
		m.at(d.UpdatedAt).Stopped++
	}
	var now Tally // the gauges of the dossier, for the period and its cohort
	switch d.Status {
	case StatusReceived, StatusProcessing:
		if !d.Terminal {
			now.InProgress++
			if d.Overdue {
				now.InProgressOverdue++
				if apologized {
					now.InProgressOverdueApologized++
				}
			}
		}
	case StatusSupplement, StatusPayment:
		now.Paused++
	case StatusResolved:
		if !d.Terminal {
			now.AwaitingReturn++
		}
	}
	if cohort != nil {
		switch d.Status {
		case StatusWithdrawn:
			cohort.CohortWithdrawn++
		case StatusRefused:
			cohort.CohortRefused++
		case StatusStopped:
			cohort.CohortStopped++
		}
		cohort.CohortInProgress += now.InProgress
		cohort.CohortInProgressOverdue += now.InProgressOverdue
		cohort.CohortInProgressOverdueApologized += now.InProgressOverdueApologized
		cohort.CohortPaused += now.Paused
		cohort.CohortAwaitingReturn += now.AwaitingReturn
	}
	return now
}

// count adds one to the counter of the timing, and reports whether it
// was late; no due date counts as on time.
func count(t Timing, early, onTime, late *int64) bool {
	switch t {
	case TimingEarly:
		*early++
	case TimingLate:
		*late++
		return true
	default:
		*onTime++
	}
	return false
}

// LateRule selects which timing counts a dossier as dealt with early, on
// time or late: the end of processing (default) or the return of the
// result. Provinces differ; the domain notes say it must be a setting.
type LateRule string

// The late rules.
const (
	// LateByProcessing compares the end of processing (NgayKetThucXuLy,
	// entry into status 9) with the due date.
	LateByProcessing LateRule = "processing"
	// LateByReturn compares the return of the result (NgayTra, entry into
	// status 10) with the due date.
	LateByReturn LateRule = "return"
)

// Valid reports whether r is one of the rules.
func (r LateRule) Valid() bool { return r == LateByProcessing || r == LateByReturn }

// SectorOther is the sector of the procedures no definition gives one:
// reports list them under this name and a query selects them with it.
const SectorOther = "(khác)"

// Sector returns the sector (lĩnh vực) a procedure is reported under: the
// one the newest version of the definition covering it gives, or
// SectorOther.
func (c *Catalog) Sector(procedure string) string {
	def := c.reporting(procedure)
	if def == nil {
		return SectorOther
	}
	if s := def.Procedure(procedure).Sector; s != "" {
		return s
	}
	return SectorOther
}

// Level returns the level of government a procedure is reported under:
// the one the newest version of the definition covering it gives
// (Definition.Procedure), or LevelOther.
func (c *Catalog) Level(procedure string) Level {
	def := c.reporting(procedure)
	if def == nil {
		return LevelOther
	}
	if l := def.Procedure(procedure).Level; l != "" {
		return l
	}
	return LevelOther
}

// reporting returns the definition a procedure is reported under: the
// newest version of the one that names it, else of one with "*"; nil
// when none covers it.
func (c *Catalog) reporting(procedure string) *Definition {
	var def *Definition
	for _, d := range c.defs { // sorted by id then version: the last match is the newest
		if d.Covers(procedure) {
			def = d
		}
	}
	if def == nil {
		for _, d := range c.defs {
			if d.Wildcard() {
				def = d
			}
		}
	}
	return def
}

// The breakdowns of a statistics query (StatsQuery.By).
const (
	ByAgency    = "agency"
	ByProcedure = "procedure"
	ByMonth     = "month"
	BySector    = "sector"
	ByLevel     = "level"
)

// Breakdowns lists the values StatsQuery.By takes besides "".
var Breakdowns = []string{ByAgency, ByProcedure, ByMonth, BySector, ByLevel}

// ErrInvalidStatsQuery is wrapped by the error of StatsQuery.Validate.
var ErrInvalidStatsQuery = errors.New("workflow: invalid statistics query")

// Validate checks the months, the kind and the breakdown of q.
func (q StatsQuery) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidStatsQuery, fmt.Sprintf(format, args...))
	}
	for _, m := range []string{q.From, q.To} {
		if _, ok := ParseMonth(m); m != "" && !ok {
			return bad("%q is not a month (YYYY-MM)", m)
		}
	}
	if q.From != "" && q.To != "" && q.From > q.To {
		return bad("the period starts (%s) after it ends (%s)", q.From, q.To)
	}
	switch q.Kind {
	case "", KindDossier, KindFeedback:
	default:
		return bad("kind %q is not %q or %q", q.Kind, KindDossier, KindFeedback)
	}
	if q.By != "" && !slices.Contains(Breakdowns, q.By) {
		return bad("breakdown %q is not one of %v", q.By, Breakdowns)
	}
	return nil
}

// ParseMonth reads a month "2006-01" (years 1000–9999) and returns the
// first instant of it in Zone.
func ParseMonth(s string) (time.Time, bool) {
	if len(s) != len(monthLayout) || s < "1000-01" {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(monthLayout, s, Zone)
	return t, err == nil
}

// Months returns the months from from to to, inclusive, both "2006-01";
// none when either is not a month or from is after to.
func Months(from, to string) []string {
	f, ok1 := ParseMonth(from)
	t, ok2 := ParseMonth(to)
	if !ok1 || !ok2 {
		return nil
	}
	var out []string
	for m := f; !m.After(t); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format(monthLayout))
	}
	return out
}

// RateBase is what the headline rates of a report (Report.HeadlineRate,
// Report.LateRate) divide by. Provinces differ: Tây Ninh's "đạt 94,12%"
// is of the received dossiers, other provinces divide by the resolved.
type RateBase string

// The rate bases.
const (
	BaseReceived RateBase = "received" // Report.Received: tiếp nhận
	BaseResolved RateBase = "resolved" // Report.Resolved: đã giải quyết, by the late rule
)

// Rounding is how a rate is cut to two decimals.
type Rounding string

// The roundings.
const (
	// RoundTruncate drops the digits after the second decimal, as Tây
	// Ninh's reports print: 5,505 of 270,497 is 2.0351…%, printed 2.03. It
	// never shows 100% while one dossier is missing.
	RoundTruncate Rounding = "truncate"
	// RoundHalfUp rounds to the nearest hundredth, a half up: 2.04.
	RoundHalfUp Rounding = "round"
)

// Rates is how a report computes its rates: a provincial choice (the
// engine's --rate-base and --rate-rounding). The zero value is the
// default, received and truncated.
type Rates struct {
	Base     RateBase `json:"base"`     // BaseReceived when empty
	Rounding Rounding `json:"rounding"` // RoundTruncate when empty
}

// DefaultRates returns the default: received, truncated (Tây Ninh's).
func DefaultRates() Rates { return Rates{Base: BaseReceived, Rounding: RoundTruncate} }

// resolved returns r with its defaults filled in.
func (r Rates) resolved() Rates {
	d := DefaultRates()
	if r.Base == "" {
		r.Base = d.Base
	}
	if r.Rounding == "" {
		r.Rounding = d.Rounding
	}
	return r
}

// Validate checks that the base and rounding are known or empty.
func (r Rates) Validate() error {
	var errs []error
	if r.Base != "" && r.Base != BaseReceived && r.Base != BaseResolved {
		errs = append(errs, fmt.Errorf("rate base %q: must be %s or %s", r.Base, BaseReceived, BaseResolved))
	}
	if r.Rounding != "" && r.Rounding != RoundTruncate && r.Rounding != RoundHalfUp {
		errs = append(errs, fmt.Errorf("rate rounding %q: must be %s or %s", r.Rounding, RoundTruncate, RoundHalfUp))
	}
	return errors.Join(errs...)
}

// Rate returns n/of as a percentage cut to two decimals by the rounding,
// or 0 when of is not positive.
func (r Rates) Rate(n, of int64) float64 {
	if of <= 0 {
		return 0
	}
	if r.Rounding == RoundHalfUp {
		return float64((n*20000+of)/(2*of)) / 100
	}
	return float64(n*10000/of) / 100
}

// Counting says what the counts of a report describe.
type Counting string

// The countings.
const (
	// CountingPeriod: the flows of the period's months (received,
	// resolved, returned, … in them, whenever the dossiers were received)
	// and the gauges now. A province's headline is of this kind: it sets
	// the dossiers resolved in the period, some received before it,
	// against those received in it.
	CountingPeriod Counting = "period"
	// CountingCohort: the dossiers received in the month and, of them,
	// those resolved, returned, … so far (Tally.Cohort): each rate is a
	// share of that one cohort. Month rows are of this kind.
	CountingCohort Counting = "cohort"
)

// ReportOptions says how NewReport computes a report. The zero value is
// the default of each field.
type ReportOptions struct {
	Kind     Kind     // KindDossier when empty
	LateRule LateRule // LateByProcessing when empty
	Rates    Rates    // DefaultRates' base and rounding where empty
	Counting Counting // CountingPeriod when empty
}

// Report is the statistics of a period as provinces publish them,
// computed from a Tally by NewReport. Counts are dossiers (apologies,
// transitions and late entries are events); rates are
// percentages from 0 to 100, cut to two decimals as Rates says (truncated
// by default, as the province reports print them), and 0 when their base
// is 0. Bases names the base of each rate.
type Report struct {
	Kind     Kind     `json:"kind"`
	LateRule LateRule `json:"late_rule"`
	// Counting says what the counts describe: the flows of a period, or a
	// month's receipt cohort.
	Counting Counting `json:"counting"`
	// Rates is the base of the headline rates and the rounding of every
	// rate.
	Rates Rates `json:"rates"`
	// Bases names the base of each rate, by the rate's JSON name: a count
	// of the report ("received", "resolved", "in_progress", "transitions",
	// "paid", "rated") or "entered_status_9" (the dossiers that entered status 9, whatever the
	// late rule).
	Bases map[string]string `json:"bases"`

	Received int64 `json:"received"` // tiếp nhận
	// Resolved, Early, OnTime and Late follow the late rule: with
	// LateByProcessing they count entries into status 9 (đã giải quyết)
	// by TimingOf(ResolvedAt, OriginalDue); with LateByReturn entries into
	// status 10 by TimingOf(ReturnedAt, OriginalDue).
	Resolved int64 `json:"resolved"`
	Early    int64 `json:"early"`   // trước hạn
	OnTime   int64 `json:"on_time"` // đúng hạn
	Late     int64 `json:"late"`    // quá hạn
	// LateWithApology and LateWithoutApology split Late by whether the
	// dossier made an apology (quá hạn đã có / chưa có thư xin lỗi).
	LateWithApology    int64 `json:"late_with_apology"`
	LateWithoutApology int64 `json:"late_without_apology"`
	Returned           int64 `json:"returned"` // đã trả kết quả, whatever the rule

	Withdrawn         int64 `json:"withdrawn"`
	Refused           int64 `json:"refused"`
	Stopped           int64 `json:"stopped"`
	Apologies         int64 `json:"apologies"`
	DigitizedInputs   int64 `json:"digitized_inputs"`
	ElectronicResults int64 `json:"electronic_results"`
	ReceivedOnline    int64 `json:"received_online"` // of Received, submitted online
	// Received by channel (Dossier.IntakeChannel, Decision 766/QĐ-TTg's
	// forms): at the desk, by public postal service, online in full,
	// online in part. They sum to Received.
	ReceivedDesk          int64 `json:"received_desk"`
	ReceivedPost          int64 `json:"received_post"`
	ReceivedOnlineFull    int64 `json:"received_online_full"`
	ReceivedOnlinePartial int64 `json:"received_online_partial"`
	// Paid is the dossiers of the period (received in it, created if
	// never received) an event recorded a payment of, PaidOnline those
	// paid online; Rated those the applicant rated, Satisfied those rated
	// 4 or 5 (their last score).
	Paid       int64 `json:"paid"`
	PaidOnline int64 `json:"paid_online"`
	Rated      int64 `json:"rated"`
	Satisfied  int64 `json:"satisfied"`
	// Transitions are the accepted events (history entries) of the
	// dossiers received in the period (created, for those never
	// received), and LateEntries those of them entered late, more than the
	// definition's late_entry after their time (IrregularLateEntry).
	Transitions int64 `json:"transitions"`
	LateEntries int64 `json:"late_entries"`
	// CarriedOver is the dossiers carried over into the period (tồn kỳ
	// trước chuyển sang): received before it and not finished at its
	// start (StatsResult.CarriedOver). 0 in a month row, which describes
	// the dossiers received in the month.
	CarriedOver int64 `json:"carried_over"`

	InProgress        int64 `json:"in_progress"`         // now, whatever the period
	InProgressOverdue int64 `json:"in_progress_overdue"` // now
	// InProgressOverdueWithApology and InProgressOverdueWithoutApology
	// split InProgressOverdue like Late.
	InProgressOverdueWithApology    int64 `json:"in_progress_overdue_with_apology"`
	InProgressOverdueWithoutApology int64 `json:"in_progress_overdue_without_apology"`
	Paused                          int64 `json:"paused"` // now
	// AwaitingReturn is the dossiers resolved and not yet returned, now:
	// in status 9 (đã giải quyết, chưa trả kết quả).
	AwaitingReturn int64 `json:"awaiting_return"`
	// AtPeriodEnd is the dossiers in progress at the end of the period
	// (tồn cuối kỳ: on time and overdue, with or without an apology), from
	// the snapshot of its last month's close; nil without one (a month
	// row, a period not closed), and then AtPeriodEndMissing says why (in
	// the period's report; empty in rows).
	AtPeriodEnd        *PeriodEnd `json:"at_period_end"`
	AtPeriodEndMissing string     `json:"at_period_end_missing,omitempty"`

	// OnTimeRate is (Early+OnTime)/Resolved: the share of dossiers dealt
	// with that were early or on time, whatever the base.
	OnTimeRate float64 `json:"on_time_rate"`
	// ReceivedOnTimeRate is (Early+OnTime)/Received, whatever the base.
	ReceivedOnTimeRate float64 `json:"received_on_time_rate"`
	// HeadlineRate is (Early+OnTime) over the base of Rates: the "đạt"
	// of the province headline. Tây Ninh's numbers (254,598 early or on
	// time of 270,497 received, 260,103 resolved) give 94.12% over
	// received, truncated; over resolved 97.88%.
	HeadlineRate float64 `json:"headline_rate"`
	// LateRate is Late over the base of Rates: "5.505 hồ sơ quá hạn
	// (2,03%)" of 270,497 received, truncated (2.04 rounded).
	LateRate float64 `json:"late_rate"`
	// DigitizedRate is DigitizedInputs/Received.
	DigitizedRate float64 `json:"digitized_rate"`
	// OnlineRate is ReceivedOnline/Received: the share of the received
	// dossiers submitted online (tỷ lệ hồ sơ trực tuyến, an indicator of
	// Decision 766/QĐ-TTg).
	OnlineRate float64 `json:"online_rate"`
	// OnlineFullRate is ReceivedOnlineFull/Received: the share received
	// through a fully online procedure (trực tuyến toàn trình).
	OnlineFullRate float64 `json:"online_full_rate"`
	// OnlinePaymentRate is PaidOnline/Paid: the share of the paid
	// dossiers paid online (Decision 766/QĐ-TTg).
	OnlinePaymentRate float64 `json:"online_payment_rate"`
	// SatisfactionRate is Satisfied/Rated: the share of the rated
	// dossiers rated 4 or 5 (Decision 766/QĐ-TTg's satisfaction group).
	SatisfactionRate float64 `json:"satisfaction_rate"`
	// ElectronicResultRate is ElectronicResults over the dossiers that
	// entered status 9, whatever the late rule (the result is counted
	// there).
	ElectronicResultRate float64 `json:"electronic_result_rate"`
	// InProgressOverdueRate is InProgressOverdue/InProgress.
	InProgressOverdueRate float64 `json:"in_progress_overdue_rate"`
	// FeedbackAnsweredRate is, for feedback, Resolved/Received: the share
	// answered (status 9) or, with LateByReturn, published (status 10).
	// It is 0 for dossiers.
	FeedbackAnsweredRate float64 `json:"feedback_answered_rate"`
	// LateEntryRate is LateEntries/Transitions: the share of the
	// transitions the one-stop-shop entered late.
	LateEntryRate float64 `json:"late_entry_rate"`
}

// NewReport computes the report of the counters t.
func NewReport(t Tally, o ReportOptions) Report {
	if o.Kind == "" {
		o.Kind = KindDossier
	}
	if o.LateRule == "" {
		o.LateRule = LateByProcessing
	}
	if o.Counting == "" {
		o.Counting = CountingPeriod
	}
	rates := o.Rates.resolved()
	r := Report{
		Kind: o.Kind, LateRule: o.LateRule, Counting: o.Counting, Rates: rates,
		Received: t.Received, Returned: t.Returned,
		Withdrawn: t.Withdrawn, Refused: t.Refused, Stopped: t.Stopped, Apologies: t.Apologies,
		DigitizedInputs: t.DigitizedInputs, ElectronicResults: t.ElectronicResults, ReceivedOnline: t.ReceivedOnline,
		ReceivedDesk: t.ReceivedDesk, ReceivedPost: t.ReceivedPost, ReceivedOnlineFull: t.ReceivedOnlineFull, ReceivedOnlinePartial: t.ReceivedOnlinePartial,
		Paid: t.Paid, PaidOnline: t.PaidOnline, Rated: t.Rated, Satisfied: t.Satisfied,
		Transitions: t.Transitions, LateEntries: t.LateEntries,
		InProgress: t.InProgress, InProgressOverdue: t.InProgressOverdue, Paused: t.Paused, AwaitingReturn: t.AwaitingReturn,
	}
	if o.LateRule == LateByReturn {
		r.Resolved, r.Early, r.OnTime, r.Late = t.Returned, t.ReturnedEarly, t.ReturnedOnTime, t.ReturnedLate
		r.LateWithApology = t.ReturnedLateApologized
	} else {
		r.Resolved, r.Early, r.OnTime, r.Late = t.Resolved, t.ResolvedEarly, t.ResolvedOnTime, t.ResolvedLate
		r.LateWithApology = t.ResolvedLateApologized
	}
	r.LateWithoutApology = r.Late - r.LateWithApology
	r.InProgressOverdueWithApology = t.InProgressOverdueApologized
	r.InProgressOverdueWithoutApology = t.InProgressOverdue - t.InProgressOverdueApologized
	base := r.Received
	if rates.Base == BaseResolved {
		base = r.Resolved
	}
	r.Bases = map[string]string{}
	rate := func(name string, n, of int64, baseName string) float64 {
		r.Bases[name] = baseName
		return rates.Rate(n, of)
	}
	r.OnTimeRate = rate("on_time_rate", r.Early+r.OnTime, r.Resolved, string(BaseResolved))
	r.ReceivedOnTimeRate = rate("received_on_time_rate", r.Early+r.OnTime, r.Received, string(BaseReceived))
	r.HeadlineRate = rate("headline_rate", r.Early+r.OnTime, base, string(rates.Base))
	r.LateRate = rate("late_rate", r.Late, base, string(rates.Base))
	r.DigitizedRate = rate("digitized_rate", t.DigitizedInputs, t.Received, string(BaseReceived))
	r.OnlineRate = rate("online_rate", t.ReceivedOnline, t.Received, string(BaseReceived))
	r.OnlineFullRate = rate("online_full_rate", t.ReceivedOnlineFull, t.Received, string(BaseReceived))
	r.OnlinePaymentRate = rate("online_payment_rate", t.PaidOnline, t.Paid, "paid")
	r.SatisfactionRate = rate("satisfaction_rate", t.Satisfied, t.Rated, "rated")
	r.ElectronicResultRate = rate("electronic_result_rate", t.ElectronicResults, t.Resolved, "entered_status_9")
	r.InProgressOverdueRate = rate("in_progress_overdue_rate", t.InProgressOverdue, t.InProgress, "in_progress")
	r.FeedbackAnsweredRate = rate("feedback_answered_rate", r.Resolved, r.Received, string(BaseReceived))
	if o.Kind != KindFeedback {
		r.FeedbackAnsweredRate = 0
	}
	r.LateEntryRate = rate("late_entry_rate", t.LateEntries, t.Transitions, "transitions")
	return r
}

// Rate returns n/of as a percentage truncated to two decimals (5,505 of
// 270,497 is 2.0351…%: 2.03), or 0 when of is not positive: the default
// Rates' Rate.
func Rate(n, of int64) float64 { return Rates{}.Rate(n, of) }
