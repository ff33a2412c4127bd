package api

import "github.com/hoso-vn/hoso/reconcile"

// Reconcile is the answer of POST /api/v1/reconcile (as JSON): what an
// uploaded status export says that hoso does not, and the rows it could
// not read. The comparison's figures and groups are package reconcile's
// own Report, embedded as they are.
type Reconcile struct {
	Run    string         `json:"run"`    // the run id of the file (reconcile.RunID)
	Format string         `json:"format"` // the format read: csv or json
	Scope  ReconcileScope `json:"scope"`
	// ProblemCount is the number of malformed rows; Problems lists the
	// first 1,000.
	ProblemCount int                    `json:"problem_count"`
	Problems     []reconcile.RowProblem `json:"problems"` // never null
	reconcile.Report
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

// Published is what a reconciliation published on NATS.
type Published struct {
	Corrections int `json:"corrections"` // correction outcomes published
	New         int `json:"new"`         // of which the outcome stream stored (the rest it had already)
}
