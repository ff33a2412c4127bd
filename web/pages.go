package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/workflow"
)

// deadlineRow is a line of the overdue and at-risk lists.
type deadlineRow struct {
	D        workflow.Dossier
	Passed   bool    // the due date has passed
	Working  float64 // working days late (overdue) or left (at risk)
	Hours    float64 // working hours left (at risk)
	Received string
}

// overduePage answers GET /overdue: the overdue dossiers still in progress
// or (view=at_risk) those due within one working day, from the overdue
// and due indexes, filtered by agency and procedure, sorted by due date
// either way, paged.
func (s *Server) overduePage(w http.ResponseWriter, r *http.Request) error {
	q, lang, err := pageParams(r, "view", "agency", "procedure", "sort", "cursor", "format")
	if err != nil {
		return err
	}
	which := cmpOr(q.choice("view", "overdue", "at_risk"), "overdue")
	agency, procedure := q.text("agency"), q.text("procedure")
	sortBy := cmpOr(q.choice("sort", "due", "-due"), "due")
	cursor := q.cursor()
	asCSV := q.csv()
	if err := q.error(); err != nil {
		return err
	}
	now := s.now()
	cal := s.calendar()
	day := cal.Config().Hours.Day()
	dq := workflow.DeadlineQuery{Overdue: which == "overdue", Agency: agency, Procedure: procedure,
		Desc: sortBy == "-due", After: cursor, Limit: 50}
	if which == "at_risk" {
		dq.Until = cal.AddWorking(now, day)
	}
	row := func(d workflow.Dossier) deadlineRow {
		rw := deadlineRow{D: d, Passed: !d.Due.After(now)}
		if rw.Passed {
			rw.Working = float64(cal.Working(d.Due, now)) / float64(day)
		} else {
			left := cal.Working(now, d.Due)
			rw.Working, rw.Hours = float64(left)/float64(day), left.Hours()
		}
		return rw
	}
	if asCSV {
		dq.Limit = 1000
		var rows [][]string
		for len(rows) < csvMaxRows {
			list, next, err := s.cfg.Store.Deadlines(r.Context(), dq)
			if err != nil {
				return err
			}
			for _, d := range list {
				rw := row(d)
				rows = append(rows, []string{d.Code, d.Procedure, d.Agency, d.Department, statusName(lang, d.Status),
					d.Due.In(workflow.Zone).Format(time.RFC3339), strconv.FormatFloat(rw.Working, 'f', 2, 64),
					optRFC3339(d.ReceivedAt), strconv.Itoa(d.Apologies)})
			}
			if next == "" {
				break
			}
			dq.After = next
		}
		days := label(lang, "od.late")
		if which == "at_risk" {
			days = label(lang, "od.left")
		}
		return writeCSV(w, "hoso-"+which+".csv", []string{label(lang, "col.code"), label(lang, "col.procedure"),
			label(lang, "col.agency"), label(lang, "col.department"), label(lang, "col.status"), label(lang, "col.due"),
			days + " (" + label(lang, "od.days") + ")", label(lang, "col.received"), label(lang, "col.apologies")}, rows)
	}
	list, next, err := s.cfg.Store.Deadlines(r.Context(), dq)
	if err != nil {
		return err
	}
	overdue, err := s.overdueCount(r.Context(), agency, procedure)
	if err != nil {
		return err
	}
	data := struct {
		View, Agency, Procedure, Sort, Next string
		Cursor                              bool
		Until                               time.Time
		Rows                                []deadlineRow
		Overdue                             int64 // overdue dossiers in progress of the agency and procedure
	}{View: which, Agency: agency, Procedure: procedure, Sort: sortBy, Next: next, Cursor: cursor != "",
		Until: dq.Until, Overdue: overdue}
	for _, d := range list {
		data.Rows = append(data.Rows, row(d))
	}
	rememberLanguage(w, r, lang)
	return s.render(w, r, http.StatusOK, "overdue", &view{Lang: lang, Nav: "overdue", Title: label(lang, "od.title"), Now: now, Data: data})
}

// overdueCount returns how many dossiers in progress are overdue, of the
// agency and procedure when given (the overdue list's filters; a user
// scoped to agencies always has one): from the running totals for the
// whole province, else from the statistics' gauges of dossiers and of
// feedback, which count the dossiers of the overdue index.
func (s *Server) overdueCount(ctx context.Context, agency, procedure string) (int64, error) {
	if agency == "" && procedure == "" {
		t, err := s.cfg.Store.Totals(ctx)
		return int64(t.Overdue), err
	}
	var n int64
	for _, kind := range []workflow.Kind{workflow.KindDossier, workflow.KindFeedback} {
		res, err := s.cfg.Store.Stats(ctx, workflow.StatsQuery{Agency: agency, Procedure: procedure, Kind: kind})
		if err != nil {
			return 0, err
		}
		n += res.Total.InProgressOverdue
	}
	return n, nil
}

func optRFC3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(workflow.Zone).Format(time.RFC3339)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// sheetRow is a line of a dossier's control sheet.
type sheetRow struct {
	E     workflow.HistoryEntry
	DueIn time.Time // the due date in force before the action
}

// dossierPage answers GET /dossiers/{code}: the control sheet (phiếu
// kiểm soát quá trình giải quyết hồ sơ) with every history entry, the
// dossier's rejections and mismatches, and the chain check.
func (s *Server) dossierPage(w http.ResponseWriter, r *http.Request) error {
	q, lang, err := pageParams(r, "format")
	if err != nil {
		return err
	}
	asCSV := q.csv()
	if err := q.error(); err != nil {
		return err
	}
	code := r.PathValue("code")
	if !workflow.IsDossierCode(code) {
		return pageBad("code", "%q is not a dossier code", "%q không phải là mã hồ sơ", clip(code))
	}
	d, hist, err := s.cfg.Store.DossierHistory(r.Context(), code)
	if err != nil {
		return err
	}
	rows := make([]sheetRow, len(hist))
	for i := range hist {
		rows[i].E = hist[i]
		if i > 0 {
			rows[i].DueIn = hist[i-1].Due
		}
	}
	if asCSV {
		var out [][]string
		for _, rw := range rows {
			e := &rw.E
			var att []string
			for _, a := range e.Attachments {
				att = append(att, a.Kind+":"+a.Name)
			}
			out = append(out, []string{strconv.Itoa(e.Index + 1), e.Time.In(workflow.Zone).Format(time.RFC3339), e.Actor,
				e.Department, e.Action, statusName(lang, e.FromStatus), statusName(lang, e.ToStatus), optRFC3339(rw.DueIn),
				timingText(lang, e.Timing), strings.Join(att, "; "), e.Hash.String()})
		}
		return writeCSV(w, "hoso-"+code+".csv", []string{"#", label(lang, "col.time"), label(lang, "col.actor"),
			label(lang, "col.department"), label(lang, "col.action"), label(lang, "df.from"), label(lang, "df.to"),
			label(lang, "col.duein"), label(lang, "col.timing"), label(lang, "col.attach"), label(lang, "col.hash")}, out)
	}
	rep, err := s.cfg.Store.Verify(r.Context(), code)
	if err != nil {
		return err
	}
	p, err := s.dossierProblems(r.Context(), code)
	if err != nil {
		return err
	}
	data := struct {
		D              *workflow.Dossier
		Rows           []sheetRow
		Verify         workflow.ChainReport
		Rejections     []workflow.Rejection
		Mismatches     []workflow.Mismatch
		Irregularities []workflow.Irregularity
	}{d, rows, rep, p.rejections, p.mismatches, p.irregularities}
	rememberLanguage(w, r, lang)
	return s.render(w, r, http.StatusOK, "dossier", &view{Lang: lang, Nav: "overdue", Title: label(lang, "ds.title") + " " + code, Data: data})
}

func timingText(lang string, t workflow.Timing) string {
	if t == "" {
		return ""
	}
	return label(lang, "timing."+string(t))
}

// feedPageSize is how many recent problems the feed page lists first.
const feedPageSize = 50

// feedScanPages bounds how many pages of rejections, and of mismatches,
// the feed page reads to find the latest problems: pages of 1,000
// records, each passing over at most 10,000 records of other agencies
// when an agency is asked for (the store's agency filter).
const feedScanPages = 20

// recentProblems returns the latest rejections and mismatches matching
// the filter, newest first: mismatches only for the status_mismatch
// reason, rejections only for another reason. The agency is the store's
// filter, as on /api/v1/rejections: records whose event named it and
// records of its dossiers.
func (s *Server) recentProblems(ctx context.Context, f feedFilter, n int) ([]api.FeedItem, error) {
	var items []api.FeedItem
	if f.reason != workflow.ReasonStatusMismatch {
		q := workflow.RejectionQuery{Reason: f.reason, Agency: f.agency, Limit: 1000}
		for range feedScanPages {
			list, next, err := s.cfg.Store.Rejections(ctx, q)
			if err != nil {
				return nil, err
			}
			for i := range list {
				items = append(items, rejectionItem(&list[i]))
			}
			if next == 0 || countKind(items, feedRejected) >= n {
				break
			}
			q.Before = next
		}
	}
	if f.reason == "" || f.reason == workflow.ReasonStatusMismatch {
		q := workflow.MismatchQuery{Agency: f.agency, Limit: 1000}
		for range feedScanPages {
			list, next, err := s.cfg.Store.Mismatches(ctx, q)
			if err != nil {
				return nil, err
			}
			for i := range list {
				items = append(items, mismatchItem(&list[i]))
			}
			if next == 0 || countKind(items, feedMismatch) >= n {
				break
			}
			q.Before = next
		}
	}
	slices.SortStableFunc(items, func(a, b api.FeedItem) int {
		switch {
		case a.Seq > b.Seq:
			return -1
		case a.Seq < b.Seq:
			return 1
		}
		return strings.Compare(a.Kind, b.Kind) // a rejected event with a wrong claim: the rejection first
	})
	return items[:min(len(items), n)], nil
}

func countKind(items []api.FeedItem, kind string) int {
	n := 0
	for i := range items {
		if items[i].Kind == kind {
			n++
		}
	}
	return n
}

// feedPage answers GET /feed: the latest rejections and status mismatches,
// filtered by agency and reason, to which the page's script appends the
// live ones from /api/v1/feed.
func (s *Server) feedPage(w http.ResponseWriter, r *http.Request) error {
	q, lang, err := pageParams(r, "agency", "reason", "format")
	if err != nil {
		return err
	}
	f := feedFilter{agency: q.text("agency"), reason: q.reason("reason")}
	asCSV := q.csv()
	if err := q.error(); err != nil {
		return err
	}
	if f.agency, err = scopeAgency(r, f.agency); err != nil {
		return err
	}
	n := feedPageSize
	if asCSV {
		n = 10_000
	}
	items, err := s.recentProblems(r.Context(), f, n)
	if err != nil {
		return err
	}
	if asCSV {
		var rows [][]string
		for _, it := range items {
			kind := label(lang, "fd.rejected")
			if it.Kind == feedMismatch {
				kind = label(lang, "fd.mismatch")
			}
			msg := it.MessageVI
			if lang == langEN {
				msg = it.MessageEN
			}
			rows = append(rows, []string{strconv.FormatUint(it.Seq, 10), it.Time.In(workflow.Zone).Format(time.RFC3339), kind,
				it.Dossier, it.Agency, it.Action, string(it.Reason), msg})
		}
		return writeCSV(w, "hoso-problems.csv", []string{label(lang, "col.seq"), label(lang, "col.time"), label(lang, "col.kind"),
			label(lang, "col.code"), label(lang, "col.agency"), label(lang, "col.action"), label(lang, "col.reason"),
			label(lang, "col.message")}, rows)
	}
	stream := url2("/api/v1/feed", "agency", f.agency, "reason", string(f.reason))
	data := struct {
		Agency  string
		Reason  workflow.Reason
		Reasons []workflow.Reason
		Items   []api.FeedItem
		Stream  string
	}{f.agency, f.reason, workflow.Reasons(), items, stream}
	rememberLanguage(w, r, lang)
	return s.render(w, r, http.StatusOK, "feed", &view{Lang: lang, Nav: "feed", Title: label(lang, "fd.title"), Data: data})
}

// scopeAgency applies the user's agencies to the agency filter of a page
// whose route leaves its scope to the handler (/feed): a user scoped to
// agencies gets the first of them when the filter is empty, and a refusal
// for another agency; anyone else gets the filter as given.
func scopeAgency(r *http.Request, agency string) (string, error) {
	u := userFrom(r.Context())
	switch {
	case u == nil || !u.Scoped():
		return agency, nil
	case agency == "":
		return u.Agencies[0], nil // the page's filter offers the others
	case !u.sees(agency):
		return "", forbidden("agency " + agency + " is not one of yours")
	}
	return agency, nil
}

// url2 builds a path with the non-empty parameters.
func url2(path string, kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			parts = append(parts, kv[i]+"="+url.QueryEscape(kv[i+1]))
		}
	}
	if len(parts) == 0 {
		return path
	}
	return path + "?" + strings.Join(parts, "&")
}

// definitionPage is one definition as the definitions page shows it.
type definitionPage struct {
	D       *workflow.Definition
	Diagram diagram
	Actions []actionRow
	Mermaid string
}

type actionRow struct {
	Name   string
	From   []string
	To     string
	Notes  []string
	Guards []string
}

// definitionsPage answers GET /definitions: every loaded definition with
// its state diagram, states, actions and guards.
func (s *Server) definitionsPage(w http.ResponseWriter, r *http.Request) error {
	_, lang, err := pageParams(r)
	if err != nil {
		return err
	}
	var defs []definitionPage
	for i, d := range s.cfg.Catalog.Definitions() {
		dp := definitionPage{D: d, Diagram: layoutDiagram(fmt.Sprintf("dg%d", i), d, lang), Mermaid: d.Mermaid()}
		for _, a := range d.Actions {
			ar := actionRow{Name: a.Name, From: a.From, To: a.To}
			if a.Stay {
				ar.To = label(lang, "df.stay")
			}
			if a.SetsDue {
				ar.Notes = append(ar.Notes, label(lang, "df.setsdue"))
			}
			if a.ExtendsDue {
				ar.Notes = append(ar.Notes, label(lang, "df.extendsdue"))
			}
			for _, g := range a.Guards {
				var parts []string
				if len(g.Attachments) > 0 {
					parts = append(parts, label(lang, "df.g.attach")+" "+strings.Join(g.Attachments, ", "))
				}
				if len(g.Recorded) > 0 {
					parts = append(parts, label(lang, "df.g.recorded")+" "+strings.Join(g.Recorded, ", "))
				}
				if len(g.Fields) > 0 {
					parts = append(parts, label(lang, "df.g.fields")+" "+strings.Join(g.Fields, ", "))
				}
				if g.Result {
					parts = append(parts, label(lang, "df.g.result"))
				}
				if len(g.From) > 0 {
					parts = append(parts, "("+label(lang, "df.g.from")+" "+strings.Join(g.From, ", ")+")")
				}
				ar.Guards = append(ar.Guards, strings.Join(parts, "; "))
			}
			dp.Actions = append(dp.Actions, ar)
		}
		defs = append(defs, dp)
	}
	rememberLanguage(w, r, lang)
	return s.render(w, r, http.StatusOK, "definitions", &view{Lang: lang, Nav: "definitions", Title: label(lang, "df.title"), Data: defs})
}
