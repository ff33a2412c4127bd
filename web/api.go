package web

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/docs"
	"github.com/hoso-vn/hoso/workflow"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// clip shortens an input echoed in an error message to its first 64
// bytes (whole characters) and "…": a path or parameter name has no
// length limit of its own below the server's header limit.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// viewStatus returns the status s with its names; nil when s is not a
// status code.
func viewStatus(s workflow.Status) *api.Status { return api.NewStatus(s) }

func pathCode(r *http.Request) (string, error) {
	code := r.PathValue("code")
	if !workflow.IsDossierCode(code) {
		return "", &apiError{status: http.StatusBadRequest, code: "bad_parameter", param: "code",
			msg: sprintf("code: %q is not a dossier code", clip(code))}
	}
	return code, nil
}

func (s *Server) getDossier(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.query(r); err != nil {
		return err
	}
	code, err := pathCode(r)
	if err != nil {
		return err
	}
	d, hist, err := s.cfg.Store.DossierHistory(r.Context(), code)
	if err != nil {
		return err
	}
	v := api.NewDossier(d)
	v.Level = s.level(d.Procedure)
	v.History = make([]api.HistoryEntry, len(hist))
	for i := range hist {
		v.History[i] = api.NewHistoryEntry(&hist[i])
	}
	p, err := s.dossierProblems(r.Context(), code)
	if err != nil {
		return err
	}
	v.Problems = &api.Problems{Rejections: p.rejections, Mismatches: p.mismatches,
		Irregularities: make([]api.Irregularity, len(p.irregularities))}
	for i := range p.irregularities {
		v.Problems.Irregularities[i] = api.NewIrregularity(&p.irregularities[i])
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// sheetProblems is how many of a dossier's latest rejections, of its
// latest mismatches and of its latest irregularities its sheet shows: in
// the API's answer (docs/openapi.json says up to 100 of each) and on the
// dossier page.
const sheetProblems = 100

// problems are the latest problems of a dossier, newest first; never nil.
type problems struct {
	rejections     []workflow.Rejection
	mismatches     []workflow.Mismatch
	irregularities []workflow.Irregularity
}

// dossierProblems reads the latest rejections, mismatches and
// irregularities of the dossier, at most sheetProblems of each.
func (s *Server) dossierProblems(ctx context.Context, code string) (problems, error) {
	rej, _, err := s.cfg.Store.Rejections(ctx, workflow.RejectionQuery{Dossier: code, Limit: sheetProblems})
	if err != nil {
		return problems{}, err
	}
	mis, _, err := s.cfg.Store.Mismatches(ctx, workflow.MismatchQuery{Dossier: code, Limit: sheetProblems})
	if err != nil {
		return problems{}, err
	}
	irr, _, err := s.cfg.Store.Irregularities(ctx, workflow.IrregularityQuery{Dossier: code, Limit: sheetProblems})
	if err != nil {
		return problems{}, err
	}
	// A page holds whole events: at most sheetProblems of them, each
	// with one irregularity of a kind.
	return problems{nonNil(rej), nonNil(mis), nonNil(irr[:min(len(irr), sheetProblems)])}, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) verifyDossier(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.query(r); err != nil {
		return err
	}
	code, err := pathCode(r)
	if err != nil {
		return err
	}
	rep, err := s.cfg.Store.Verify(r.Context(), code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) listDossiers(w http.ResponseWriter, r *http.Request) error {
	q, err := s.query(r)
	if err != nil {
		return err
	}
	dq, err := dossierQuery(q)
	if err != nil {
		return err
	}
	list, next, err := s.cfg.Store.Dossiers(r.Context(), dq)
	if err != nil {
		return err
	}
	out := api.Page[api.Dossier]{Items: make([]api.Dossier, len(list)), NextCursor: next}
	for i := range list {
		out.Items[i] = api.NewDossier(&list[i])
		out.Items[i].Level = s.level(list[i].Procedure)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// dossierQuery reads the parameters of GET /api/v1/dossiers. The cursor's
// form depends on the order the filters choose: hex of the due time and
// code with overdue=true, "date~code" with from or to, else a code.
func dossierQuery(q *query) (workflow.DossierQuery, error) {
	dq := workflow.DossierQuery{Status: q.status("status"), Agency: q.str("agency"), Procedure: q.str("procedure"),
		Overdue: q.boolean("overdue"), ReceivedFrom: q.date("from"), ReceivedTo: q.date("to"), Limit: q.limit()}
	if q.err == nil && dq.ReceivedFrom != "" && dq.ReceivedTo != "" && dq.ReceivedTo < dq.ReceivedFrom {
		q.fail("to", "%s is before from (%s)", dq.ReceivedTo, dq.ReceivedFrom)
	}
	switch {
	case dq.Overdue != nil && *dq.Overdue:
		dq.After = q.hexCursor()
	case dq.ReceivedFrom != "" || dq.ReceivedTo != "":
		dq.After = q.dateCodeCursor()
	default:
		dq.After = q.code("cursor")
	}
	if q.err != nil {
		return workflow.DossierQuery{}, q.err
	}
	return dq, nil
}

func (s *Server) listRejections(w http.ResponseWriter, r *http.Request) error {
	q, err := s.query(r)
	if err != nil {
		return err
	}
	rq := workflow.RejectionQuery{Dossier: q.code("dossier"), Reason: q.reason("reason"), Agency: q.str("agency"),
		Since: q.time("since"), Before: q.seqCursor(), Limit: q.limit()}
	if q.err != nil {
		return q.err
	}
	list, next, err := s.cfg.Store.Rejections(r.Context(), rq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Page[api.Rejection]{Items: nonNil(list), NextCursor: seqCursor(next)})
	return nil
}

func (s *Server) listMismatches(w http.ResponseWriter, r *http.Request) error {
	q, err := s.query(r)
	if err != nil {
		return err
	}
	mq := workflow.MismatchQuery{Dossier: q.code("dossier"), Agency: q.str("agency"), Before: q.seqCursor(), Limit: q.limit()}
	if q.err != nil {
		return q.err
	}
	list, next, err := s.cfg.Store.Mismatches(r.Context(), mq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Page[api.Mismatch]{Items: nonNil(list), NextCursor: seqCursor(next)})
	return nil
}

// listIrregularities answers GET /api/v1/irregularities: the
// irregularities of accepted events newest first, filtered by kind,
// agency, officer and dossier. limit counts events: a page holds every
// irregularity of its events.
func (s *Server) listIrregularities(w http.ResponseWriter, r *http.Request) error {
	q, err := s.query(r)
	if err != nil {
		return err
	}
	iq := workflow.IrregularityQuery{Kind: q.irregularityKind("kind"), Agency: q.statsText("agency"), Actor: q.statsText("actor"),
		Dossier: q.code("dossier"), Before: q.seqCursor(), Limit: q.limit()}
	if q.err != nil {
		return q.err
	}
	list, next, err := s.cfg.Store.Irregularities(r.Context(), iq)
	if err != nil {
		return err
	}
	out := api.Page[api.Irregularity]{Items: make([]api.Irregularity, len(list)), NextCursor: seqCursor(next)}
	for i := range list {
		out.Items[i] = api.NewIrregularity(&list[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func seqCursor(next uint64) string {
	if next == 0 {
		return ""
	}
	return strconv.FormatUint(next, 10)
}

func (s *Server) listDefinitions(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.query(r); err != nil {
		return err
	}
	var out []api.Definition
	for _, d := range s.cfg.Catalog.Definitions() {
		v := api.Definition{ID: d.ID, Version: d.Version, NameVI: d.NameVI, NameEN: d.NameEN,
			Effective: d.Effective.Format(time.DateOnly), LegalBasis: nonNil(d.LegalBasis), Procedures: d.Procedures}
		for _, st := range d.States {
			v.States = append(v.States, api.State{Name: st.Name, Status: api.NewStatus(st.Status), Terminal: st.Terminal})
		}
		for _, a := range d.Actions {
			av := api.Action{Name: a.Name, From: a.From, To: a.To, Stay: a.Stay, SetsDue: a.SetsDue}
			for _, g := range a.Guards {
				av.Guards = append(av.Guards, api.Guard(g))
			}
			v.Actions = append(v.Actions, av)
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, api.Page[api.Definition]{Items: nonNil(out)})
	return nil
}

func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.query(r); err != nil {
		return err
	}
	var out []*api.Status
	for st := workflow.StatusSubmitted; st <= workflow.MaxStatus; st++ {
		out = append(out, api.NewStatus(st))
	}
	writeJSON(w, http.StatusOK, api.Page[*api.Status]{Items: out})
	return nil
}

// query is a set of query parameters being read. The readers record the
// first malformed value in err and return zero values after it.
type query struct {
	v   url.Values
	err error
}

// unknownParam is the refusal of a parameter not in allowed. It lists
// the allowed ones and does not repeat the name given: a name is whatever
// the client sent, and an error is no place to reflect it.
func unknownParam(allowed []string) *apiError {
	msg := "unknown parameter; this endpoint takes none"
	if len(allowed) > 0 {
		msg = "unknown parameter; this endpoint takes " + strings.Join(allowed, ", ")
	}
	return &apiError{status: http.StatusBadRequest, code: "bad_parameter", msg: msg, allowed: append([]string{}, allowed...)}
}

// parseQuery rejects parameters not in allowed and repeated parameters.
func parseQuery(v url.Values, allowed ...string) (*query, error) {
	for k, vals := range v {
		if k == "" {
			return nil, &apiError{status: http.StatusBadRequest, code: "bad_parameter", msg: "a query parameter has no name"}
		}
		if !slices.Contains(allowed, k) {
			return nil, unknownParam(allowed)
		}
		if len(vals) > 1 {
			return nil, badParam(k, "given %d times; give it once", len(vals))
		}
		if len(vals[0]) > 256 {
			return nil, badParam(k, "value longer than 256 bytes")
		}
	}
	return &query{v: v}, nil
}

// value returns the parameter, or "" when it is absent or an earlier one
// was malformed.
func (q *query) value(k string) string {
	if q.err != nil {
		return ""
	}
	return q.v.Get(k)
}

func (q *query) fail(k, format string, args ...any) {
	q.err = badParam(k, format, args...)
}

func (q *query) str(k string) string { return q.value(k) }

// code reads a dossier code (also the cursor of the dossier list).
func (q *query) code(k string) string {
	v := q.value(k)
	if v != "" && !workflow.IsDossierCode(v) {
		q.fail(k, "%q is not a dossier code", v)
		return ""
	}
	return v
}

func (q *query) status(k string) workflow.Status {
	v := q.value(k)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || !workflow.Status(n).Valid() {
		q.fail(k, "%q is not a status code 1–10", v)
		return 0
	}
	return workflow.Status(n)
}

func (q *query) reason(k string) workflow.Reason {
	r := workflow.Reason(q.value(k))
	if r != "" && !r.Known() {
		q.fail(k, "%q is not a reason code (known: %v)", r, workflow.Reasons())
		return ""
	}
	return r
}

// irregularityKind reads a kind of irregularity.
func (q *query) irregularityKind(k string) workflow.IrregularityKind {
	v := workflow.IrregularityKind(q.value(k))
	if v != "" && !v.Valid() {
		q.fail(k, "%q is not a kind of irregularity (known: %s)", v, irregularityKinds())
		return ""
	}
	return v
}

// irregularityKinds lists the kinds of irregularity, comma-separated.
func irregularityKinds() string {
	names := make([]string, len(workflow.IrregularityKinds))
	for i, k := range workflow.IrregularityKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

func (q *query) limit() int {
	v := q.value("limit")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		q.fail("limit", "%q is not a number from 1 to 1000", v)
		return 0
	}
	return n
}

// seqCursor reads the cursor of a list ordered by stream sequence.
func (q *query) seqCursor() uint64 {
	v := q.value("cursor")
	if v == "" {
		return 0
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		q.fail("cursor", "%q is not a cursor of this list", v)
		return 0
	}
	return n
}

// time reads an RFC 3339 time or a date (midnight in Vietnam).
func (q *query) time(k string) time.Time {
	v := q.value(k)
	if v == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, workflow.Zone); err == nil {
		return t
	}
	q.fail(k, "%q is not a date (YYYY-MM-DD) or RFC 3339 time", v)
	return time.Time{}
}

// boolean reads "true" or "false"; nil when the parameter is absent.
func (q *query) boolean(k string) *bool {
	switch v := q.value(k); v {
	case "":
		return nil
	case "true", "false":
		b := v == "true"
		return &b
	default:
		q.fail(k, "%q is not true or false", v)
		return nil
	}
}

// date reads a date YYYY-MM-DD (a day in Vietnam) and returns it as given.
func (q *query) date(k string) string {
	v := q.value(k)
	if v == "" {
		return ""
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		q.fail(k, "%q is not a date (YYYY-MM-DD)", v)
		return ""
	}
	return v
}

// hexCursor reads the cursor of a list in due-date order: hex of the due
// time (8 bytes) and the code.
func (q *query) hexCursor() string {
	v := q.value("cursor")
	if v == "" {
		return ""
	}
	if b, err := hex.DecodeString(v); err != nil || len(b) <= 8 || !workflow.IsDossierCode(string(b[8:])) {
		q.fail("cursor", "%q is not a cursor of this list (overdue=true lists by due date)", v)
		return ""
	}
	return v
}

// dateCodeCursor reads the cursor of a list in receipt-date order:
// "YYYY-MM-DD~code".
func (q *query) dateCodeCursor() string {
	v := q.value("cursor")
	if v == "" {
		return ""
	}
	date, code, ok := strings.Cut(v, "~")
	if _, err := time.Parse(time.DateOnly, date); err != nil || !ok || !workflow.IsDossierCode(code) {
		q.fail("cursor", "%q is not a cursor of this list (from and to list by receipt date)", v)
		return ""
	}
	return v
}

// auditVerify verifies a page of dossiers in code order against their
// histories and reports the ones found wrong; the first page also checks
// the store's indexes, counters and rows.
func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request) error {
	q, err := s.query(r)
	if err != nil {
		return err
	}
	after, n := q.code("cursor"), q.limit()
	if q.err != nil {
		return q.err
	}
	var out api.AuditPage
	if after == "" {
		if out.Store, err = s.cfg.Store.VerifyStore(r.Context()); err != nil {
			return err
		}
	}
	totals, err := s.cfg.Store.Totals(r.Context())
	if err != nil {
		return err
	}
	reports, next, err := s.cfg.Store.VerifyPage(r.Context(), after, n)
	if err != nil {
		return err
	}
	out.Items, out.Checked, out.Total, out.NextCursor = []api.ChainReport{}, len(reports), totals.Dossiers, next
	for _, rep := range reports {
		if !rep.OK {
			out.Items = append(out.Items, rep)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// openAPI serves the OpenAPI document of the API (docs/openapi.json).
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.query(r); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(docs.OpenAPI)
	return nil
}
