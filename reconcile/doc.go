// Package reconcile compares a one-stop-shop system's own status export
// with hoso's validated state.
//
// The status a one-stop-shop system shows can drift from what really
// happened: an officer moves the paper dossier but not the electronic one,
// the electronic result is never attached, the appointment date is typed
// wrong. A supervisor exports the system's list of dossiers (CSV or JSON:
// dossier code, status shown, whether the result and the digitized inputs
// are attached, due date shown) and hoso names every dossier on which the
// two disagree.
//
// # Reading an export
//
// Parse reads the export. It accepts CSV with a header row (separator
// ",", ";" or tab, sniffed; UTF-8 with or without a byte-order mark;
// Vietnamese or English column names such as ma_ho_so, MaHoSo, "Mã hồ sơ"
// or code) and JSON (an array of objects, or one object per line). Columns
// and keys it does not know are ignored, so a vendor's full export can be
// uploaded as it is. A malformed row is never fatal: it is reported as a
// RowProblem with its line number, and the values of the row that could be
// read are still compared. Only a file that cannot be an export at all (no
// dossier code column, not UTF-8, a spreadsheet, broken JSON) or one beyond
// MaxBytes or MaxRows is an error.
//
// # Comparing
//
// Compare looks the rows' dossiers up in batches (LookupBatch codes per
// call), compares each row with hoso's dossier and, through a scan of the
// dossiers the export should list (see Scope), finds those it lacks. The
// Report groups every Difference by Kind; the kinds and their exact
// definitions are documented on the Kind constants and in docs/reconcile.md.
// Values the export leaves empty (or null) are not compared. Due dates are
// compared by calendar date in workflow.Zone.
//
// Compare is deterministic: the same rows and the same dossiers give the
// same Report, differences sorted by dossier code. It never reads the wall
// clock; Corrections takes the time its outcomes carry.
//
// # Corrections
//
// Corrections turns each "status differs" difference into a correction
// outcome of the integration contract (kind correction, reason
// status_mismatch, action "reconcile"), to be published on
// hoso.outcomes.correction.<source>.<dossier-token>. Its event id, and so
// its Nats-Msg-Id, is derived from RunID (a hash of the export file) and
// the dossier code, so uploading the same file twice within the outcome
// stream's duplicate window publishes nothing new.
//
// The package imports only workflow. Its functions are safe for concurrent
// use; Compare calls lookup and known from the calling goroutine only.
package reconcile
