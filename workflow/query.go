package workflow

import "time"

// BatchResult is what applying one batch of envelopes did.
type BatchResult struct {
	Outcomes []Outcome // one per envelope applied, in stream order; written to the outbox too
	Accepted int       // envelopes whose event was applied (corrections included)
	Rejected int       // envelopes recorded as rejections
	Skipped  int       // envelopes at or below the applied sequence (redeliveries)
	LastSeq  uint64    // the applied stream sequence after the batch
}

// DossierQuery selects dossiers for listing. Zero fields do not filter.
//
// A list is in code order, except with Overdue true (by due date, earliest
// first, then code) or else with ReceivedFrom or ReceivedTo (by receipt
// date, then code). After is the next cursor of the previous page of the
// same query; its form is the store's.
type DossierQuery struct {
	Status    Status
	Agency    string
	Procedure string
	// Overdue, when not nil, keeps the dossiers that are (true) or are not
	// (false) overdue and in progress: in status 2 or 4, not terminal,
	// flagged Overdue by a recorded deadline expiry (the dossiers Tally
	// counts as InProgressOverdue).
	Overdue *bool
	// ReceivedFrom and ReceivedTo keep the dossiers received (ReceivedAt,
	// first entry into status 2) on or between these dates in Zone, both
	// "2006-01-02" and inclusive; "" leaves that end open. A dossier never
	// received is kept only when both are "".
	ReceivedFrom, ReceivedTo string
	After                    string // cursor: the next cursor of the previous page; "" for the first
	Limit                    int    // at most this many; stores cap it
}

// RejectionQuery selects rejections for listing, newest first. Zero fields
// do not filter.
type RejectionQuery struct {
	Dossier string
	Reason  Reason
	// Agency keeps the rejections of an agency: those whose event named
	// it, and those of a dossier the store holds under it.
	Agency string
	Since  time.Time // only rejections recorded at or after this time
	Before uint64    // cursor: only rejections with a smaller stream sequence
	Limit  int       // at most this many; stores cap it
}

// IrregularityQuery selects the irregularities of accepted events, newest
// first. Zero fields do not filter.
type IrregularityQuery struct {
	Dossier string
	Kind    IrregularityKind
	Agency  string // as RejectionQuery.Agency
	Actor   string // the officer the event names
	Before  uint64 // cursor: only events with a smaller stream sequence
	Limit   int    // at most this many events' irregularities; stores cap it
}

// IrregularityTallyQuery selects the tallies of irregularities by agency
// and officer. Zero fields do not filter.
type IrregularityTallyQuery struct {
	Agency string
	Actor  string
}

// IrregularityTally counts the irregularities recorded of the accepted
// events of one officer (the events' actor) at one agency (their
// dossier's), over all time.
type IrregularityTally struct {
	Agency string
	Actor  string
	// Counts holds the irregularities by kind; a kind without any is
	// absent.
	Counts map[IrregularityKind]int
	// LateEntryDelay is the working time by which the late entries came
	// late, summed over them (each from the event's time to when it was
	// entered; Irregularity.Delay in whole seconds).
	LateEntryDelay time.Duration
}

// Total is the number of irregularities of every kind.
func (t IrregularityTally) Total() int {
	n := 0
	for _, c := range t.Counts {
		n += c
	}
	return n
}

// Add adds the counts and delay of o to t.
func (t *IrregularityTally) Add(o *IrregularityTally) {
	for k, c := range o.Counts {
		if t.Counts == nil {
			t.Counts = map[IrregularityKind]int{}
		}
		t.Counts[k] += c
	}
	t.LateEntryDelay += o.LateEntryDelay
}

// MismatchQuery selects recorded status mismatches, newest first.
type MismatchQuery struct {
	Dossier string
	Agency  string // as RejectionQuery.Agency
	Before  uint64 // cursor: only mismatches with a smaller stream sequence
	Limit   int
}

// StatsQuery selects the statistics of a period (see Tally). Zero fields
// do not filter.
type StatsQuery struct {
	// From and To are months "2006-01", inclusive. An empty From is the
	// earliest month with counters, an empty To the latest.
	From, To  string
	Agency    string
	Procedure string
	// Sector keeps the procedures Catalog.Sector reports under it;
	// SectorOther keeps those without one.
	Sector string
	Kind   Kind // KindDossier (default when empty) or KindFeedback
	// By is a breakdown: "" (none), ByAgency, ByProcedure, ByMonth,
	// BySector or ByLevel.
	By string
	// WaitAt, when not zero, asks for StatsResult.Waiting: how long the
	// dossiers resolved and not yet returned have waited at that instant.
	// It reads the dossiers in status 9 (under the filters), not only
	// counters.
	WaitAt time.Time
	// Now is when the query is asked: with it, StatsResult.AtEndMissing
	// says whether a period without a snapshot has not ended yet. Zero
	// does not tell.
	Now time.Time
}

// StatsResult is the answer to a StatsQuery.
type StatsResult struct {
	// From and To are the months the flow counters cover: the query's, or
	// the earliest and latest with counters; both "" when there are none.
	From, To string
	// Total holds the flows of the period and the gauges now, under the
	// query's filters.
	Total Tally
	// CarriedOver is the dossiers received before From and not finished
	// at its start (tồn kỳ trước chuyển sang), under the query's filters:
	// the Received less the Finished of every month before From.
	CarriedOver int64
	// Waiting is how long the dossiers resolved and not yet returned have
	// waited at the query's WaitAt, under its filters; nil without WaitAt.
	Waiting *ReturnWait
	// Rows is the breakdown, sorted by Key; nil without one. Rows by
	// month list every month of the period, each the receipt cohort of
	// its month (Tally.Cohort of its counters, Cohort set): the dossiers
	// received in it and what became of them so far, gauges included.
	Rows []StatsRow
	// AtEnd is the dossiers in progress at the end of the period (of its
	// month To), from the snapshot taken at that month's close
	// (PeriodCloseAction), under the query's filters; nil when no close
	// of To is recorded, and then AtEndMissing says why.
	AtEnd        *PeriodEnd
	AtEndMissing string
}

// ReturnWait is how long the dossiers resolved and not yet returned
// (status 9, not terminal) have waited since they were resolved
// (ResolvedAt) at an instant, in working days: the working time between
// the two (Calendar.Working) over the length of a working day, rounded
// up, so a dossier resolved an hour ago has waited 1 day and one resolved
// exactly five working days ago 5.
type ReturnWait struct {
	At       time.Time `json:"at"`       // the instant measured at
	Dossiers int64     `json:"dossiers"` // UpTo1 + From2To5 + Over5
	UpTo1    int64     `json:"up_to_1_day"`
	From2To5 int64     `json:"2_to_5_days"`
	Over5    int64     `json:"over_5_days"`
	// OldestDays is the longest wait, in working days; Oldest is the code
	// of the dossier that waited it (the first by code of those that
	// did); "" and 0 when none waits.
	OldestDays int64  `json:"oldest_working_days"`
	Oldest     string `json:"oldest"`
}

// Add counts a dossier that waited the working time w, a working day
// being day long.
func (r *ReturnWait) Add(code string, w, day time.Duration) {
	days := int64((w + day - 1) / day)
	switch {
	case days <= 1:
		r.UpTo1++
	case days <= 5:
		r.From2To5++
	default:
		r.Over5++
	}
	r.Dossiers++
	if days > r.OldestDays || r.Oldest == "" || (days == r.OldestDays && code < r.Oldest) {
		r.OldestDays, r.Oldest = days, code
	}
}

// StatsRow is one row of a breakdown.
type StatsRow struct {
	Key   string // the agency, procedure, month, sector or level
	Tally Tally
	// CarriedOver is StatsResult.CarriedOver of the row's agency,
	// procedure or sector; 0 in a month row.
	CarriedOver int64
	// Cohort: the row is a month's receipt cohort (Tally.Cohort), as
	// rows by month are.
	Cohort bool
	// AtEnd is StatsResult.AtEnd of the row's agency, procedure or
	// sector; nil in a month row and when the period has no snapshot.
	AtEnd *PeriodEnd
}

// Report returns the report of the period's total.
func (r *StatsResult) Report(o ReportOptions) Report {
	rep := NewReport(r.Total, o)
	rep.CarriedOver = r.CarriedOver
	rep.AtPeriodEnd, rep.AtPeriodEndMissing = r.AtEnd, r.AtEndMissing
	return rep
}

// Report returns the report of the row, counted as its cohort when it is
// one.
func (r *StatsRow) Report(o ReportOptions) Report {
	if r.Cohort {
		o.Counting = CountingCohort
	}
	rep := NewReport(r.Tally, o)
	rep.CarriedOver = r.CarriedOver
	rep.AtPeriodEnd = r.AtEnd
	return rep
}

// DeadlineQuery selects dossiers by due date, from one of the two deadline
// indexes a store keeps: the dossiers whose statutory clock runs (the
// deadline scheduler's due index), or the overdue dossiers still in
// progress. Zero fields do not filter.
type DeadlineQuery struct {
	// Overdue selects the overdue index: dossiers in status 2 or 4, not
	// terminal, flagged Overdue by a recorded expiry (the dossiers Tally
	// counts as InProgressOverdue). Otherwise the due index: dossiers
	// whose clock runs towards a due date and whose expiry is not yet
	// recorded.
	Overdue bool
	// Until keeps the dossiers due at or before this instant; zero keeps
	// every one.
	Until     time.Time
	Agency    string
	Procedure string
	Desc      bool   // latest due date first; default earliest first
	After     string // cursor: the next_cursor of the previous page; "" for the first
	Limit     int    // at most this many; stores cap it
}

// Totals are a store's running totals, read from counters without a scan.
type Totals struct {
	Dossiers     int                // dossiers stored
	ByStatus     [MaxStatus + 1]int // dossiers per current status; index is the status code, 0 unused
	Rejections   int                // rejections recorded
	Mismatches   int                // status mismatches recorded
	ClockRunning int                // dossiers in the due index
	Overdue      int                // overdue dossiers still in progress (the overdue index)
	// Irregularities counts the irregularities recorded, by kind; a kind
	// without any is absent, and the map is nil when there are none.
	Irregularities map[IrregularityKind]int
}
