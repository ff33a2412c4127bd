package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// statusView is a status code with its names.
type statusView struct {
	Code   workflow.Status `json:"code"`
	NameVI string          `json:"name_vi"`
	NameEN string          `json:"name_en"`
}

func viewStatus(s workflow.Status) *statusView {
	if !s.Valid() {
		return nil
	}
	return &statusView{Code: s, NameVI: s.NameVI(), NameEN: s.NameEN()}
}

type definitionRef struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
}

type dossierView struct {
	Code        string           `json:"code"`
	Procedure   string           `json:"procedure"`
	Agency      string           `json:"agency"`
	Source      string           `json:"source"`
	Definition  definitionRef    `json:"definition"`
	State       string           `json:"state"`
	Status      *statusView      `json:"status"`
	Terminal    bool             `json:"terminal"`
	Department  string           `json:"department,omitempty"`
	Due         *time.Time       `json:"due"`
	ReceivedAt  *time.Time       `json:"received_at"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
	Attachments []string         `json:"attachments"`
	Rejections  int              `json:"rejections"`
	Mismatches  int              `json:"mismatches"`
	Entries     int              `json:"history_length"`
	Head        workflow.Hash    `json:"head"`
	History     []historyView    `json:"history,omitempty"`
	Recent      *dossierProblems `json:"problems,omitempty"`
}

type dossierProblems struct {
	Rejections []workflow.Rejection `json:"rejections"`
	Mismatches []workflow.Mismatch  `json:"mismatches"`
}

type historyView struct {
	Index       int                   `json:"index"`
	Seq         uint64                `json:"seq"`
	EventID     string                `json:"event_id"`
	Source      string                `json:"source"`
	Action      string                `json:"action"`
	From        string                `json:"from"`
	To          string                `json:"to"`
	FromStatus  *statusView           `json:"from_status"`
	ToStatus    *statusView           `json:"to_status"`
	Time        time.Time             `json:"time"`
	Actor       string                `json:"actor"`
	Agency      string                `json:"agency"`
	Department  string                `json:"department,omitempty"`
	Reason      string                `json:"reason,omitempty"`
	Note        string                `json:"note,omitempty"`
	Due         *time.Time            `json:"due"`
	Attachments []workflow.Attachment `json:"attachments"`
	PrevHash    workflow.Hash         `json:"prev_hash"`
	Hash        workflow.Hash         `json:"hash"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func viewDossier(d *workflow.Dossier) dossierView {
	att := d.Attachments
	if att == nil {
		att = []string{}
	}
	return dossierView{
		Code: d.Code, Procedure: d.Procedure, Agency: d.Agency, Source: d.Source,
		Definition: definitionRef{d.Definition, d.Version}, State: d.State, Status: viewStatus(d.Status),
		Terminal: d.Terminal, Department: d.Department, Due: optTime(d.Due), ReceivedAt: optTime(d.ReceivedAt),
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Attachments: att, Rejections: d.Rejections,
		Mismatches: d.Mismatches, Entries: d.History, Head: d.Head,
	}
}

func viewEntry(e *workflow.HistoryEntry) historyView {
	att := e.Attachments
	if att == nil {
		att = []workflow.Attachment{}
	}
	return historyView{
		Index: e.Index, Seq: e.Seq, EventID: e.EventID, Source: e.Source, Action: e.Action,
		From: e.From, To: e.To, FromStatus: viewStatus(e.FromStatus), ToStatus: viewStatus(e.ToStatus),
		Time: e.Time, Actor: e.Actor, Agency: e.Agency, Department: e.Department, Reason: e.Reason,
		Note: e.Note, Due: optTime(e.Due), Attachments: att, PrevHash: e.PrevHash, Hash: e.Hash,
	}
}

// codeRE is the form of a dossier code in a path.
var codeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func pathCode(r *http.Request) (string, error) {
	code := r.PathValue("code")
	if !codeRE.MatchString(code) {
		return "", &apiError{status: http.StatusBadRequest, code: "bad_parameter", param: "code",
			msg: sprintf("code: %q is not a dossier code", code)}
	}
	return code, nil
}

func (s *Server) getDossier(w http.ResponseWriter, r *http.Request) {
	if _, err := parseQuery(r.URL.Query()); err != nil {
		s.writeError(w, r, err)
		return
	}
	code, err := pathCode(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, hist, err := s.cfg.Store.DossierHistory(r.Context(), code)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := viewDossier(d)
	v.History = make([]historyView, len(hist))
	for i := range hist {
		v.History[i] = viewEntry(&hist[i])
	}
	rej, _, err := s.cfg.Store.Rejections(r.Context(), workflow.RejectionQuery{Dossier: code, Limit: 100})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	mis, _, err := s.cfg.Store.Mismatches(r.Context(), workflow.MismatchQuery{Dossier: code, Limit: 100})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v.Recent = &dossierProblems{Rejections: nonNil(rej), Mismatches: nonNil(mis)}
	writeJSON(w, http.StatusOK, v)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) verifyDossier(w http.ResponseWriter, r *http.Request) {
	if _, err := parseQuery(r.URL.Query()); err != nil {
		s.writeError(w, r, err)
		return
	}
	code, err := pathCode(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rep, err := s.cfg.Store.Verify(r.Context(), code)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// page is the envelope of every list response.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func (s *Server) listDossiers(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r.URL.Query(), "status", "agency", "procedure", "cursor", "limit")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	dq := workflow.DossierQuery{Agency: q.str("agency"), Procedure: q.str("procedure"), After: q.str("cursor")}
	if dq.Status, err = q.status("status"); err == nil {
		dq.Limit, err = q.limit()
	}
	if err == nil && dq.After != "" && !codeRE.MatchString(dq.After) {
		err = badParam("cursor", "%q is not a cursor of this list", dq.After)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, next, err := s.cfg.Store.Dossiers(r.Context(), dq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := page[dossierView]{Items: make([]dossierView, len(list)), NextCursor: next}
	for i := range list {
		out.Items[i] = viewDossier(&list[i])
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listRejections(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r.URL.Query(), "dossier", "reason", "since", "cursor", "limit")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rq := workflow.RejectionQuery{Dossier: q.str("dossier"), Reason: workflow.Reason(q.str("reason"))}
	if rq.Reason != "" && !rq.Reason.Known() {
		err = badParam("reason", "%q is not a reason code (known: %v)", rq.Reason, workflow.Reasons())
	}
	if err == nil && rq.Dossier != "" && !codeRE.MatchString(rq.Dossier) {
		err = badParam("dossier", "%q is not a dossier code", rq.Dossier)
	}
	if err == nil {
		rq.Since, err = q.time("since")
	}
	if err == nil {
		rq.Before, err = q.seqCursor()
	}
	if err == nil {
		rq.Limit, err = q.limit()
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, next, err := s.cfg.Store.Rejections(r.Context(), rq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[workflow.Rejection]{Items: nonNil(list), NextCursor: seqCursor(next)})
}

func (s *Server) listMismatches(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r.URL.Query(), "dossier", "cursor", "limit")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	mq := workflow.MismatchQuery{Dossier: q.str("dossier")}
	if mq.Dossier != "" && !codeRE.MatchString(mq.Dossier) {
		err = badParam("dossier", "%q is not a dossier code", mq.Dossier)
	}
	if err == nil {
		mq.Before, err = q.seqCursor()
	}
	if err == nil {
		mq.Limit, err = q.limit()
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, next, err := s.cfg.Store.Mismatches(r.Context(), mq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[workflow.Mismatch]{Items: nonNil(list), NextCursor: seqCursor(next)})
}

func seqCursor(next uint64) string {
	if next == 0 {
		return ""
	}
	return strconv.FormatUint(next, 10)
}

type definitionView struct {
	ID         string       `json:"id"`
	Version    int          `json:"version"`
	NameVI     string       `json:"name_vi"`
	NameEN     string       `json:"name_en,omitempty"`
	Effective  string       `json:"effective"`
	LegalBasis []string     `json:"legal_basis"`
	Procedures []string     `json:"procedures"`
	States     []stateView  `json:"states"`
	Actions    []actionView `json:"actions"`
}

type stateView struct {
	Name     string      `json:"name"`
	Status   *statusView `json:"status"`
	Terminal bool        `json:"terminal"`
}

type actionView struct {
	Name    string      `json:"name"`
	From    []string    `json:"from"`
	To      string      `json:"to,omitempty"`
	Stay    bool        `json:"stay,omitempty"`
	SetsDue bool        `json:"sets_due,omitempty"`
	Guards  []guardView `json:"guards,omitempty"`
}

type guardView struct {
	Attachments []string `json:"attachments,omitempty"`
	Recorded    []string `json:"recorded,omitempty"`
	Fields      []string `json:"fields,omitempty"`
	From        []string `json:"from,omitempty"`
}

func (s *Server) listDefinitions(w http.ResponseWriter, r *http.Request) {
	if _, err := parseQuery(r.URL.Query()); err != nil {
		s.writeError(w, r, err)
		return
	}
	var out []definitionView
	for _, d := range s.cfg.Catalog.Definitions() {
		v := definitionView{ID: d.ID, Version: d.Version, NameVI: d.NameVI, NameEN: d.NameEN,
			Effective: d.Effective.Format(time.DateOnly), LegalBasis: nonNil(d.LegalBasis), Procedures: d.Procedures}
		for _, st := range d.States {
			v.States = append(v.States, stateView{Name: st.Name, Status: viewStatus(st.Status), Terminal: st.Terminal})
		}
		for _, a := range d.Actions {
			av := actionView{Name: a.Name, From: a.From, To: a.To, Stay: a.Stay, SetsDue: a.SetsDue}
			for _, g := range a.Guards {
				av.Guards = append(av.Guards, guardView(g))
			}
			v.Actions = append(v.Actions, av)
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, page[definitionView]{Items: nonNil(out)})
}

func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request) {
	if _, err := parseQuery(r.URL.Query()); err != nil {
		s.writeError(w, r, err)
		return
	}
	var out []*statusView
	for st := workflow.StatusSubmitted; st <= workflow.MaxStatus; st++ {
		out = append(out, viewStatus(st))
	}
	writeJSON(w, http.StatusOK, page[*statusView]{Items: out})
}

// query is a validated set of query parameters.
type query url.Values

// parseQuery rejects parameters not in allowed and repeated parameters.
func parseQuery(v url.Values, allowed ...string) (query, error) {
	for k, vals := range v {
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
			}
		}
		if !ok {
			if len(allowed) == 0 {
				return nil, badParam(k, "unknown parameter; this endpoint takes none")
			}
			return nil, badParam(k, "unknown parameter (allowed: %v)", allowed)
		}
		if len(vals) > 1 {
			return nil, badParam(k, "given %d times; give it once", len(vals))
		}
		if len(vals[0]) > 256 {
			return nil, badParam(k, "value longer than 256 bytes")
		}
	}
	return query(v), nil
}

func (q query) str(k string) string { return url.Values(q).Get(k) }

func (q query) status(k string) (workflow.Status, error) {
	v := q.str(k)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || !workflow.Status(n).Valid() {
		return 0, badParam(k, "%q is not a status code 1–10", v)
	}
	return workflow.Status(n), nil
}

func (q query) limit() (int, error) {
	v := q.str("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, badParam("limit", "%q is not a number from 1 to 1000", v)
	}
	return n, nil
}

func (q query) seqCursor() (uint64, error) {
	v := q.str("cursor")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		return 0, badParam("cursor", "%q is not a cursor of this list", v)
	}
	return n, nil
}

// time reads an RFC 3339 time or a date (midnight in Vietnam).
func (q query) time(k string) (time.Time, error) {
	v := q.str(k)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, workflow.Zone); err == nil {
		return t, nil
	}
	return time.Time{}, badParam(k, "%q is not a date (YYYY-MM-DD) or RFC 3339 time", v)
}
