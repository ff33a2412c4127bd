package workflow

import "time"

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
}
