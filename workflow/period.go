package workflow

import (
	"fmt"
	"strings"
	"time"
)

// PeriodCloseAction is the action of hoso's period-close events: the end
// of a month in Vietnam, recorded in the stream so that "in progress at
// the end of the period" (PeriodEnd) is read from the dossiers as they
// stood at that stream position, not from gauges that describe now. It
// belongs to no definition; only SystemSource may send it, with the
// subject PeriodSubject(month) and data.period naming the month. The
// store applies it by copying its gauges into snapshot rows of the month;
// a replay of the stream makes the same snapshots.
const PeriodCloseAction = "period_close"

// periodSubjectPrefix begins the subject of every period-close event.
const periodSubjectPrefix = "period_"

// PeriodSubject returns the CloudEvent subject, and the subject token, of
// the period-close event of a month "2006-01": "period_2006_01".
func PeriodSubject(month string) string {
	return periodSubjectPrefix + strings.ReplaceAll(month, "-", "_")
}

// IsPeriodSubject reports whether s has the form of a period-close
// subject (period_YYYY_MM): such a subject is reserved for hoso's
// period-close events, never a dossier code.
func IsPeriodSubject(s string) bool {
	rest, ok := strings.CutPrefix(s, periodSubjectPrefix)
	if !ok || len(rest) != len("2006_01") || rest[4] != '_' {
		return false
	}
	for i, c := range []byte(rest) {
		if i != 4 && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// PeriodCloseID returns the id (and Nats-Msg-Id) of the period-close
// event of a month: "period_close/2006-01". One id per month, so that a
// repeat (a second scan, a second scheduler) is deduplicated.
func PeriodCloseID(month string) string { return PeriodCloseAction + "/" + month }

// NextMonth returns the month after m ("2006-01"), or "" when m is not a
// month.
func NextMonth(m string) string {
	t, ok := ParseMonth(m)
	if !ok {
		return ""
	}
	return Month(t.AddDate(0, 1, 0))
}

// DecidePeriodClose decides a period-close event: accepted, with an
// outcome to hoso naming the month, when it comes from SystemSource and
// names a month; otherwise rejected (unknown_action from another source,
// as for deadline events). It returns the month closed, "" when
// rejected. The store copies the gauges at the event's position into
// the month's snapshot. DecidePeriodClose is deterministic.
func (c *Catalog) DecidePeriodClose(env *Envelope) (month string, dec Decision) {
	if env.Rejection != nil {
		return "", rejected(nil, env, env.Rejection)
	}
	e := env.Event
	switch {
	case e.Action != PeriodCloseAction:
		return "", rejected(nil, env, &Rejection{Reason: ReasonInternal, Detail: fmt.Sprintf("action %q is not a period close", e.Action)})
	case e.Source != SystemSource:
		return "", rejected(nil, env, &Rejection{Reason: ReasonUnknownAction,
			Detail:   fmt.Sprintf("only hoso sends %q events", e.Action),
			DetailVI: fmt.Sprintf("chỉ hoso gửi được sự kiện %q", e.Action)})
	}
	if _, ok := ParseMonth(e.Period); !ok || e.Dossier != PeriodSubject(e.Period) {
		return "", rejected(nil, env, &Rejection{Reason: ReasonMalformed,
			Detail: fmt.Sprintf("data.period %q and subject %q do not name one month", e.Period, e.Dossier)})
	}
	return e.Period, Decision{Outcome: Outcome{
		Kind: OutcomeAccepted, Seq: env.Seq, EventID: e.ID, Source: e.Source, Dossier: e.Dossier, Action: e.Action,
		MessageVI: fmt.Sprintf("Chốt số liệu tháng %s: ghi nhận hồ sơ đang giải quyết cuối kỳ", e.Period),
		MessageEN: fmt.Sprintf("Period %s closed: the dossiers in progress at its end recorded", e.Period),
		Time:      e.Time,
	}}
}

// PeriodEnd is the dossiers in progress at the end of a period, read
// from the snapshot hoso took when it applied the period's close
// (PeriodCloseAction): the gauges of Tally as they stood at that stream
// position, under the query's filters.
type PeriodEnd struct {
	// Month is the last month of the period, whose close is read.
	Month string `json:"month"`
	// TakenAt is the time of the period-close event: the first scan of
	// hoso's scheduler after the month ended. A close published late (the
	// engine was down at the month's end) describes the dossiers at
	// TakenAt, not at the month's end.
	TakenAt time.Time `json:"taken_at"`
	// Seq is the stream sequence of the period-close event.
	Seq uint64 `json:"seq"`

	InProgress int64 `json:"in_progress"` // in status 2 or 4, not terminal (Tally.InProgress)
	OnTime     int64 `json:"on_time"`     // of InProgress, not overdue (còn hạn)
	Overdue    int64 `json:"overdue"`     // of InProgress, flagged overdue (quá hạn)
	// OverdueWithApology and OverdueWithoutApology split Overdue by
	// whether the dossier made an apology.
	OverdueWithApology    int64 `json:"overdue_with_apology"`
	OverdueWithoutApology int64 `json:"overdue_without_apology"`
	Paused                int64 `json:"paused"`          // in status 5 or 6
	AwaitingReturn        int64 `json:"awaiting_return"` // in status 9, not returned
}

// NewPeriodEnd returns the period end of a month from the gauges of its
// snapshot.
func NewPeriodEnd(month string, takenAt time.Time, seq uint64, g Tally) PeriodEnd {
	return PeriodEnd{
		Month: month, TakenAt: takenAt, Seq: seq,
		InProgress: g.InProgress, OnTime: g.InProgress - g.InProgressOverdue, Overdue: g.InProgressOverdue,
		OverdueWithApology: g.InProgressOverdueApologized, OverdueWithoutApology: g.InProgressOverdue - g.InProgressOverdueApologized,
		Paused: g.Paused, AwaitingReturn: g.AwaitingReturn,
	}
}

// PeriodEndMissing returns why a period ending with the month to has no
// snapshot, asked at now (zero: not known).
func PeriodEndMissing(to string, now time.Time) string {
	if to == "" {
		return "no period: there are no statistics"
	}
	if !now.IsZero() && to >= Month(now) {
		return fmt.Sprintf("the period has not ended: %s is not over", to)
	}
	return fmt.Sprintf("hoso recorded no close of %s: the stream began after it ended, or hoso's scheduler had not run since before its end", to)
}
