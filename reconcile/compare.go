package reconcile

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// Kind is a kind of difference between an export and hoso's state.
type Kind string

// The kinds of difference. "The export says" means a value the row gives;
// a value the export leaves unset is never a difference.
const (
	// KindStatus: the export shows a status other than hoso's.
	KindStatus Kind = "status_differs"
	// KindUnknown: the export lists a dossier hoso has no record of.
	KindUnknown Kind = "unknown_dossier"
	// KindResult: the electronic result is missing on one side. Either the
	// export says the result is attached but hoso recorded no
	// result_electronic attachment (the result never reached hoso), or
	// hoso's dossier is in status 9 or 10 with a result_electronic
	// attachment recorded and the export says no result is attached (the
	// one-stop-shop's copy lacks it). The export saying "no" for a dossier
	// hoso has not resolved is not a difference: no result is due yet.
	KindResult Kind = "result_missing"
	// KindDigitized: the export says the digitized inputs are attached
	// and hoso recorded no input_digitized attachment, or the reverse.
	KindDigitized Kind = "digitized_differs"
	// KindDue: the export's due date is not hoso's: another calendar
	// date in workflow.Zone, or hoso has no due date.
	KindDue Kind = "due_differs"
	// KindMissing: a dossier the export should list (one the known scan
	// yields, see Scope) is not in it.
	KindMissing Kind = "missing_from_export"
)

// Kinds lists every kind, in the order of Report.Groups.
func Kinds() []Kind {
	return []Kind{KindStatus, KindUnknown, KindResult, KindDigitized, KindDue, KindMissing}
}

// Difference is one dossier on which the export and hoso disagree.
// Values are text in one form per kind: a status as its code ("4"), yes or
// no as "yes"/"no", a date as YYYY-MM-DD; "" where a side has no value.
type Difference struct {
	Kind Kind   `json:"kind"`
	Code string `json:"code"` // the dossier code
	// Line is the export's row; 0 for a dossier missing from the export.
	Line   int    `json:"line,omitempty"`
	Export string `json:"export"` // the export's value; for unknown_dossier its status, "" for missing_from_export
	Hoso   string `json:"hoso"`   // hoso's value; "" for unknown_dossier, the status for missing_from_export
	// Agency and Status are hoso's, for context; empty for unknown_dossier.
	Agency string          `json:"agency,omitempty"`
	Status workflow.Status `json:"status,omitempty"`
}

// Group is the differences of one kind, sorted by dossier code.
type Group struct {
	Kind  Kind         `json:"kind"`
	Count int          `json:"count"`
	Items []Difference `json:"items"`
}

// Report is the result of Compare.
type Report struct {
	Rows     int `json:"rows"`     // rows compared
	Known    int `json:"known"`    // rows whose dossier hoso knows
	Agreeing int `json:"agreeing"` // rows whose dossier hoso knows, with no difference
	// Differences is the number of differences of every kind. A row may
	// differ in several ways, so this can exceed Rows.
	Differences int          `json:"differences"`
	Counts      map[Kind]int `json:"counts"` // differences per kind; every kind is present
	Groups      []Group      `json:"groups"` // one per kind, in Kinds order, even when empty
}

// Group returns the group of the kind.
func (r *Report) Group(k Kind) *Group {
	for i := range r.Groups {
		if r.Groups[i].Kind == k {
			return &r.Groups[i]
		}
	}
	return nil
}

// LookupBatch is the most codes Compare passes to one call of lookup.
const LookupBatch = 4096

// Compare compares the rows with hoso's dossiers.
//
// lookup returns hoso's dossiers of the codes it is given (at most
// LookupBatch per call), keyed by code; a code hoso does not know is
// absent from the map. known, when not nil, yields every dossier the
// export should list — hoso's dossiers in the export's scope (see Scope) —
// and each one no row lists is missing_from_export; nil skips that check.
// An error of lookup or known is returned wrapped.
//
// The report is deterministic: every group is sorted by dossier code (then
// line), whatever the order of rows and of known.
func Compare(rows []Row, lookup func(codes []string) (map[string]*workflow.Dossier, error), known func(yield func(*workflow.Dossier) bool) error) (Report, error) {
	rep := Report{Rows: len(rows)}
	byKind := make(map[Kind][]Difference)
	add := func(d Difference) { byKind[d.Kind] = append(byKind[d.Kind], d) }
	listed := make(map[string]struct{}, len(rows))
	codes := make([]string, 0, min(len(rows), LookupBatch))
	for start := 0; start < len(rows); start += LookupBatch {
		batch := rows[start:min(start+LookupBatch, len(rows))]
		codes = codes[:0]
		for i := range batch {
			codes = append(codes, batch[i].Code)
			listed[batch[i].Code] = struct{}{}
		}
		found, err := lookup(codes)
		if err != nil {
			return Report{}, fmt.Errorf("look up %d dossiers: %w", len(codes), err)
		}
		for i := range batch {
			r := &batch[i]
			d := found[r.Code]
			if d == nil {
				add(Difference{Kind: KindUnknown, Code: r.Code, Line: r.Line, Export: statusText(r.Status)})
				continue
			}
			rep.Known++
			if n := compareRow(r, d, add); n == 0 {
				rep.Agreeing++
			}
		}
	}
	if known != nil {
		err := known(func(d *workflow.Dossier) bool {
			if _, ok := listed[d.Code]; !ok {
				listed[d.Code] = struct{}{}
				add(Difference{Kind: KindMissing, Code: d.Code, Hoso: statusText(d.Status), Agency: d.Agency, Status: d.Status})
			}
			return true
		})
		if err != nil {
			return Report{}, fmt.Errorf("scan the dossiers the export should list: %w", err)
		}
	}
	rep.Counts = make(map[Kind]int, len(Kinds()))
	for _, k := range Kinds() {
		items := byKind[k]
		slices.SortFunc(items, func(a, b Difference) int {
			return cmp.Or(cmp.Compare(a.Code, b.Code), cmp.Compare(a.Line, b.Line))
		})
		if items == nil {
			items = []Difference{}
		}
		rep.Groups = append(rep.Groups, Group{Kind: k, Count: len(items), Items: items})
		rep.Counts[k] = len(items)
		rep.Differences += len(items)
	}
	return rep, nil
}

// compareRow adds the differences between a row and hoso's dossier and
// returns how many it found.
func compareRow(r *Row, d *workflow.Dossier, add func(Difference)) int {
	n := 0
	diff := func(k Kind, export, hoso string) {
		add(Difference{Kind: k, Code: r.Code, Line: r.Line, Export: export, Hoso: hoso, Agency: d.Agency, Status: d.Status})
		n++
	}
	if r.Status != 0 && r.Status != d.Status {
		diff(KindStatus, statusText(r.Status), statusText(d.Status))
	}
	if r.HasResult != nil {
		has := d.HasAttachment(workflow.AttachmentResultElectronic)
		resolved := d.Status == workflow.StatusResolved || d.Status == workflow.StatusReturned
		if *r.HasResult && !has || !*r.HasResult && has && resolved {
			diff(KindResult, yesNo(*r.HasResult), yesNo(has))
		}
	}
	if r.Digitized != nil {
		if has := d.HasAttachment(workflow.AttachmentInputDigitized); *r.Digitized != has {
			diff(KindDigitized, yesNo(*r.Digitized), yesNo(has))
		}
	}
	if !r.Due.IsZero() && !sameDate(r.Due, d.Due) {
		diff(KindDue, dateText(r.Due), dateText(d.Due))
	}
	return n
}

func statusText(s workflow.Status) string {
	if s == 0 {
		return ""
	}
	return strconv.Itoa(int(s))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// sameDate reports whether a and b, both set, fall on the same calendar
// date in workflow.Zone.
func sameDate(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return false
	}
	ay, am, ad := a.In(workflow.Zone).Date()
	by, bm, bd := b.In(workflow.Zone).Date()
	return ay == by && am == bm && ad == bd
}

// dateText returns the calendar date of t in workflow.Zone, "" when zero.
func dateText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(workflow.Zone).Format(time.DateOnly)
}

// Scope is which of hoso's dossiers an export is expected to list, for
// missing_from_export. A one-stop-shop's list of dossiers usually shows
// those still being handled, so by default the scope is hoso's open
// dossiers (not in a terminal state: refused, withdrawn, stopped, result
// returned), of every agency or of one.
type Scope struct {
	// Agency keeps only the dossiers of this agency code; "" keeps every
	// agency.
	Agency string
	// Closed keeps dossiers in a terminal state too: for an export of
	// every dossier, closed ones included. Default false.
	Closed bool
}

// Includes reports whether the export is expected to list the dossier.
func (s Scope) Includes(d *workflow.Dossier) bool {
	return (s.Agency == "" || d.Agency == s.Agency) && (s.Closed || !d.Terminal)
}

// CorrectionAction is the action of the correction outcomes of a
// reconciliation.
const CorrectionAction = "reconcile"

// RunID identifies a reconciliation by its export: the first 16 bytes of
// the file's SHA-256, in hex. The same file gives the same run.
func RunID(export []byte) string {
	sum := sha256.Sum256(export)
	return hex.EncodeToString(sum[:16])
}

// Correction returns the correction outcome telling the one-stop-shop that
// the dossier's status is d.Status, not the claimed status its export
// shows. Its EventID is "reconcile:<run>:<code>", so its MsgID — the
// Nats-Msg-Id it is published with — is the same for the same run and
// dossier. Seq is 0: it answers no stream message. at is the time it
// carries (when the reconciliation ran).
func Correction(run string, d *workflow.Dossier, claimed workflow.Status, at time.Time) workflow.Outcome {
	o := workflow.Outcome{
		Kind:          workflow.OutcomeCorrection,
		EventID:       "reconcile:" + run + ":" + d.Code,
		Source:        d.Source,
		Dossier:       d.Code,
		Action:        CorrectionAction,
		Status:        d.Status,
		StatusName:    d.Status.NameVI(),
		ClaimedStatus: claimed,
		Reason:        workflow.ReasonStatusMismatch,
		MessageVI: fmt.Sprintf("Đối soát dữ liệu xuất từ phần mềm một cửa (lần đối soát %s): trạng thái đúng là %s, không phải %s",
			run, d.Status, claimed),
		MessageEN: fmt.Sprintf("Reconciliation of the one-stop-shop's export (run %s): the status is %d %s, not %d %s",
			run, d.Status, d.Status.NameEN(), claimed, claimed.NameEN()),
		Time: at,
	}
	if !d.Due.IsZero() {
		due := d.Due
		o.Due = &due
	}
	return o
}

// Corrections returns the correction outcomes of the status_differs
// differences of rep, in code order. It looks the dossiers up again
// through lookup (LookupBatch codes per call) and leaves out those whose
// status now equals the export's, or that hoso no longer has.
func Corrections(rep *Report, run string, at time.Time, lookup func(codes []string) (map[string]*workflow.Dossier, error)) ([]workflow.Outcome, error) {
	g := rep.Group(KindStatus)
	if g == nil {
		return nil, nil
	}
	var out []workflow.Outcome
	for start := 0; start < len(g.Items); start += LookupBatch {
		batch := g.Items[start:min(start+LookupBatch, len(g.Items))]
		codes := make([]string, len(batch))
		for i := range batch {
			codes[i] = batch[i].Code
		}
		found, err := lookup(codes)
		if err != nil {
			return nil, fmt.Errorf("look up %d dossiers: %w", len(codes), err)
		}
		for _, diff := range batch {
			n, err := strconv.Atoi(diff.Export)
			claimed := workflow.Status(n)
			if err != nil || !claimed.Valid() {
				return nil, fmt.Errorf("dossier %s: exported status %q is not a status code", diff.Code, diff.Export)
			}
			d := found[diff.Code]
			if d == nil || d.Status == claimed {
				continue
			}
			out = append(out, Correction(run, d, claimed, at))
		}
	}
	return out, nil
}
