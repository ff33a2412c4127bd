package api

import "github.com/hoso-vn/hoso/workflow"

// Reconcile is the answer of POST /api/v1/reconcile (as JSON): what an
// uploaded status export says that hoso does not, and the rows it could
// not read.
type Reconcile struct {
	Run    string         `json:"run"`    // the run id of the file (reconcile.RunID)
	Format string         `json:"format"` // the format read: csv or json
	Scope  ReconcileScope `json:"scope"`
	// ProblemCount is the number of malformed rows; Problems lists the
	// first 1,000.
	ProblemCount int          `json:"problem_count"`
	Problems     []RowProblem `json:"problems"` // never null
	Rows         int          `json:"rows"`     // rows compared
	Known        int          `json:"known"`    // rows whose dossier hoso knows
	Agreeing     int          `json:"agreeing"` // rows whose dossier hoso knows, with no difference
	// Differences is the number of differences of every kind; a row may
	// differ in several ways, so it can exceed Rows.
	Differences int               `json:"differences"`
	Counts      map[string]int    `json:"counts"` // differences per kind; every kind is present
	Groups      []DifferenceGroup `json:"groups"` // one per kind, even when empty
	// Published says what was published on NATS; absent unless publish
	// was asked.
	Published *Published `json:"published,omitempty"`
}

// ReconcileScope is which of hoso's dossiers a reconciliation expected in
// the export.
type ReconcileScope struct {
	Agency   string `json:"agency,omitempty"` // only this agency's; "" for all
	Dossiers string `json:"dossiers"`         // open, all or none
}

// RowProblem is a row of an export that could not be read.
type RowProblem struct {
	Line      int    `json:"line"`             // line of the row in the file, from 1
	Code      string `json:"code,omitempty"`   // the row's dossier code, when it could be read
	Column    string `json:"column,omitempty"` // the column or key as the file names it
	Message   string `json:"message"`          // what is wrong, in English
	MessageVI string `json:"message_vi"`       // the same in Vietnamese
}

// DifferenceGroup is the differences of one kind, sorted by dossier code.
type DifferenceGroup struct {
	Kind  string       `json:"kind"` // status_differs, unknown_dossier, missing_from_export, …
	Count int          `json:"count"`
	Items []Difference `json:"items"`
}

// Difference is one way a row of the export disagrees with hoso.
type Difference struct {
	Kind string `json:"kind"`
	Code string `json:"code"` // the dossier code
	// Line is the export's row; 0 (absent) for a dossier missing from
	// the export.
	Line   int    `json:"line,omitempty"`
	Export string `json:"export"` // the export's value; for unknown_dossier its status, "" for missing_from_export
	Hoso   string `json:"hoso"`   // hoso's value; "" for unknown_dossier, the status for missing_from_export
	// Agency and Status are hoso's, for context; absent for
	// unknown_dossier.
	Agency string          `json:"agency,omitempty"`
	Status workflow.Status `json:"status,omitempty"`
}

// Published is what a reconciliation published on NATS.
type Published struct {
	Corrections int `json:"corrections"` // correction outcomes published
	New         int `json:"new"`         // of which the outcome stream stored (the rest it had already)
}
