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
type DossierQuery struct {
	Status    Status
	Agency    string
	Procedure string
	After     string // cursor: list codes after this one
	Limit     int    // at most this many; stores cap it
}

// RejectionQuery selects rejections for listing, newest first. Zero fields
// do not filter.
type RejectionQuery struct {
	Dossier string
	Reason  Reason
	Since   time.Time // only rejections recorded at or after this time
	Before  uint64    // cursor: only rejections with a smaller stream sequence
	Limit   int       // at most this many; stores cap it
}

// MismatchQuery selects recorded status mismatches, newest first.
type MismatchQuery struct {
	Dossier string
	Before  uint64 // cursor: only mismatches with a smaller stream sequence
	Limit   int
}
