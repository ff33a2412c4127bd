package web

import (
	"net/http"
	"strings"
	"unicode"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/workflow"
)

// statsParams are the query parameters of GET /api/v1/stats.
var statsParams = []string{"from", "to", "agency", "procedure", "sector", "kind", "by", "late", "rate_base", "rate_rounding"}

// stats answers GET /api/v1/stats?from=&to=&agency=&procedure=&sector=&kind=&by=&late=&rate_base=&rate_rounding=
// from the statistics counters: the report of the period under the
// filters, and with by= a row per agency, procedure, month or sector.
// from and to are months (YYYY-MM) or years (YYYY: from January, to
// December); kind is dossier (default) or feedback; late is processing
// (default) or return; rate_base (received or resolved) and rate_rounding
// (truncate or round) override the server's Config.Rates for this report.
func (s *Server) stats(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r.URL.Query(), statsParams...)
	if err != nil {
		return err
	}
	sq := workflow.StatsQuery{
		From: q.statsMonth("from", "01"), To: q.statsMonth("to", "12"),
		Agency: q.statsText("agency"), Procedure: q.statsText("procedure"), Sector: q.statsText("sector"),
		Kind: workflow.Kind(q.oneOf("kind", string(workflow.KindDossier), string(workflow.KindFeedback))),
		By:   q.oneOf("by", workflow.Breakdowns...),
	}
	late := workflow.LateRule(q.oneOf("late", string(workflow.LateByProcessing), string(workflow.LateByReturn)))
	rates := s.cfg.Rates
	if v := q.oneOf("rate_base", string(workflow.BaseReceived), string(workflow.BaseResolved)); v != "" {
		rates.Base = workflow.RateBase(v)
	}
	if v := q.oneOf("rate_rounding", string(workflow.RoundTruncate), string(workflow.RoundHalfUp)); v != "" {
		rates.Rounding = workflow.Rounding(v)
	}
	if q.err == nil && sq.From != "" && sq.To != "" && sq.To < sq.From {
		q.fail("to", "%s is before from (%s)", sq.To, sq.From)
	}
	if q.err != nil {
		return q.err
	}
	if sq.Kind == "" {
		sq.Kind = workflow.KindDossier
	}
	if late == "" {
		late = workflow.LateByProcessing
	}
	sq.WaitAt = s.now()
	sq.Now = sq.WaitAt
	res, err := s.cfg.Store.Stats(r.Context(), sq)
	if err != nil {
		return err
	}
	opts := workflow.ReportOptions{Kind: sq.Kind, LateRule: late, Rates: rates}
	out := api.Stats{
		Period:     api.StatsPeriod{From: res.From, To: res.To},
		Filters:    api.StatsFilters{Agency: sq.Agency, Procedure: sq.Procedure, Sector: sq.Sector, Kind: sq.Kind, By: sq.By, Late: late},
		Total:      res.Report(opts),
		ReturnWait: res.Waiting,
		Rows:       make([]api.StatsRow, len(res.Rows)),
		// The store answers from its counters; said here so that a
		// client comparing with a province's own report knows.
		GeneratedFrom: "counters",
	}
	for i, row := range res.Rows {
		out.Rows[i] = api.StatsRow{Key: row.Key, Report: row.Report(opts)}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// level returns the level of government of a procedure in the catalog.
func (s *Server) level(procedure string) workflow.Level {
	if s.cfg.Catalog == nil {
		return workflow.LevelOther
	}
	return s.cfg.Catalog.Level(procedure)
}

// statsMonth reads a month YYYY-MM, or a year YYYY completed with the
// month given (01 for a start, 12 for an end).
func (q *query) statsMonth(k, month string) string {
	v := q.value(k)
	if len(v) == len("2006") {
		v += "-" + month
	}
	if _, ok := workflow.ParseMonth(v); v != "" && !ok {
		q.fail(k, "%q is not a month (YYYY-MM) or a year (YYYY)", q.v.Get(k))
		return ""
	}
	return v
}

// statsText reads an agency, procedure or sector: any text without
// control characters.
func (q *query) statsText(k string) string {
	v := q.value(k)
	if strings.ContainsFunc(v, unicode.IsControl) {
		q.fail(k, "%q contains control characters", v)
		return ""
	}
	return v
}

// oneOf reads a value that must be one of options, or empty.
func (q *query) oneOf(k string, options ...string) string {
	v := q.value(k)
	for _, o := range options {
		if v == o {
			return v
		}
	}
	if v != "" {
		q.fail(k, "%q is not one of %s", v, strings.Join(options, ", "))
	}
	return ""
}
