package workflow

import (
	"cmp"
	"fmt"
	"time"
)

// Irregularity is a rule of practice an accepted event broke: the event
// is applied (the law does not void a late entry or a second supplement
// request), and supervisors get the record.
type Irregularity struct {
	Seq     uint64           `json:"seq"`
	EventID string           `json:"event_id"`
	Source  string           `json:"source"`
	Dossier string           `json:"dossier"`
	Action  string           `json:"action"`
	Agency  string           `json:"agency"`
	Actor   string           `json:"actor"`
	Kind    IrregularityKind `json:"kind"`
	Time    time.Time        `json:"time"` // the event's time
	// Entered is when the event was entered: its data.entered, or its
	// arrival on the stream when it gives none.
	Entered time.Time `json:"entered"`
	// Delay is working time: for a late entry, from the event's time to
	// Entered; for a late apology, the notice it gave before the due time.
	// Zero for a repeated supplement request.
	Delay    time.Duration `json:"delay"`
	Detail   string        `json:"detail"`
	DetailVI string        `json:"detail_vi"`
}

// IrregularityKind names the rule an Irregularity broke.
type IrregularityKind string

// The kinds of irregularity.
const (
	// IrregularLateEntry: the event reached the stream more than the
	// definition's LateEntry working time after its time — typed in after
	// the fact, with a time that may have been made to look on time.
	IrregularLateEntry IrregularityKind = "late_entry"
	// IrregularLateApology: an apology made less than the definition's
	// ApologyNotice working time before the due time it moves.
	IrregularLateApology IrregularityKind = "late_apology"
	// IrregularRepeatedSupplement: a supplement requested of a dossier
	// that had one requested before; the rule is to ask once for
	// everything missing.
	IrregularRepeatedSupplement IrregularityKind = "repeated_supplement"
)

// IrregularityKinds lists the kinds, in the order reports show them.
var IrregularityKinds = []IrregularityKind{IrregularLateEntry, IrregularLateApology, IrregularRepeatedSupplement}

// Valid reports whether k is one of IrregularityKinds.
func (k IrregularityKind) Valid() bool {
	switch k {
	case IrregularLateEntry, IrregularLateApology, IrregularRepeatedSupplement:
		return true
	}
	return false
}

// TextVI names the kind in Vietnamese.
func (k IrregularityKind) TextVI() string {
	switch k {
	case IrregularLateEntry:
		return "Cập nhật muộn"
	case IrregularLateApology:
		return "Xin lỗi muộn"
	case IrregularRepeatedSupplement:
		return "Yêu cầu bổ sung lần thứ hai"
	}
	return string(k)
}

// TextEN names the kind in English.
func (k IrregularityKind) TextEN() string {
	switch k {
	case IrregularLateEntry:
		return "Late entry"
	case IrregularLateApology:
		return "Late apology"
	case IrregularRepeatedSupplement:
		return "Repeated supplement request"
	}
	return string(k)
}

// irregularities returns what the accepted event env broke, deciding the
// action act of def on d (nil for a new dossier), nd being the dossier
// after it.
func (c *Catalog) irregularities(def *Definition, act *Action, d, nd *Dossier, env *Envelope) []Irregularity {
	e := env.Event
	cal := c.Calendar()
	day := cal.Config().Hours.Day()
	var out []Irregularity
	entered := cmp.Or(e.Entered, env.Published)
	add := func(kind IrregularityKind, delay time.Duration, vi, en string) {
		out = append(out, Irregularity{
			Seq: env.Seq, EventID: e.ID, Source: e.Source, Dossier: e.Dossier, Action: e.Action,
			Agency: nd.Agency, Actor: e.Actor, Kind: kind, Time: e.Time, Entered: entered,
			Delay: delay, Detail: en, DetailVI: vi,
		})
	}
	// Working time never exceeds the time between: an event entered within
	// the limit of wall time, as almost every one is, needs no counting.
	if limit := def.LateEntry.Working(day); limit > 0 && entered.Sub(e.Time) > limit {
		if late := cal.Working(e.Time, entered); late > limit {
			add(IrregularLateEntry, late,
				fmt.Sprintf("sự kiện lúc %s được cập nhật lúc %s, sau %s giờ làm việc (quá %s)",
					e.Time.In(Zone).Format("15:04 02/01/2006"), entered.In(Zone).Format("15:04 02/01/2006"), hours(late), hours(limit)),
				fmt.Sprintf("event of %s entered at %s, %s working hours later (over %s)",
					e.Time.Format(timeLayout), entered.UTC().Format(timeLayout), hours(late), hours(limit)))
		}
	}
	if notice := def.ApologyNotice.Working(day); act.ExtendsDue && notice > 0 && d != nil {
		if ahead := cal.Working(e.Time, d.Due); ahead < notice {
			add(IrregularLateApology, ahead,
				fmt.Sprintf("thư xin lỗi chỉ trước hạn %s giờ làm việc (cần %s)", hours(ahead), hours(notice)),
				fmt.Sprintf("apology only %s working hours before the due time (%s required)", hours(ahead), hours(notice)))
		}
	}
	if nd.Status == StatusSupplement && (d == nil || d.Status != StatusSupplement) && nd.Supplements > 1 {
		add(IrregularRepeatedSupplement, 0,
			fmt.Sprintf("yêu cầu bổ sung lần thứ %d; phải yêu cầu một lần, đầy đủ", nd.Supplements),
			fmt.Sprintf("supplement request number %d; everything missing must be asked for once", nd.Supplements))
	}
	return out
}

// hours formats working time as hours with at most two decimals.
func hours(d time.Duration) string {
	return fmt.Sprintf("%g", float64(d.Round(36*time.Second))/float64(time.Hour))
}
