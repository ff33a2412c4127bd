package public

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// Column is one column of the open data: its name (the CSV header and
// the JSON key, stable), the indicators that withhold it, and its value
// in a row.
type Column struct {
	Name       string
	Indicators []string // withheld when any is; none for the columns that name the row
	// Rate: a percentage with two decimals; otherwise a count, or text.
	Rate bool
	cell func(c *cellCtx) string
}

// cellCtx is what a cell is computed from.
type cellCtx struct {
	b   *board
	row *boardRow
}

// countCol returns a count column.
func countCol(name string, f func(r *workflow.Report) int64, ind ...string) Column {
	return Column{Name: name, Indicators: ind, cell: func(c *cellCtx) string { return strconv.FormatInt(f(&c.row.Report), 10) }}
}

// rateCol returns a rate column.
func rateCol(name string, f func(r *workflow.Report) float64, ind ...string) Column {
	return Column{Name: name, Indicators: ind, Rate: true,
		cell: func(c *cellCtx) string { return strconv.FormatFloat(f(&c.row.Report), 'f', 2, 64) }}
}

// Columns is every column of the open data, in their order: the row's
// identity, the counts, the rates and the settings they were computed
// with. docs/public.md documents each; a test pins the list. A withheld
// indicator takes its columns out; the others keep their order.
var Columns = []Column{
	{Name: "period_from", cell: func(c *cellCtx) string { return c.b.From }},
	{Name: "period_to", cell: func(c *cellCtx) string { return c.b.To }},
	{Name: "kind", cell: func(c *cellCtx) string { return string(c.b.Kind) }},
	{Name: "breakdown", cell: func(c *cellCtx) string { return c.row.Breakdown }},
	{Name: "key", cell: func(c *cellCtx) string { return c.row.Key }},
	{Name: "name", cell: func(c *cellCtx) string { return c.row.Name }},
	{Name: "counting", cell: func(c *cellCtx) string { return string(c.row.Report.Counting) }},
	countCol("received", func(r *workflow.Report) int64 { return r.Received }, IndicatorReceived),
	countCol("resolved", func(r *workflow.Report) int64 { return r.Resolved }, IndicatorResolved),
	countCol("early", func(r *workflow.Report) int64 { return r.Early }, IndicatorTiming),
	countCol("on_time", func(r *workflow.Report) int64 { return r.OnTime }, IndicatorTiming),
	countCol("late", func(r *workflow.Report) int64 { return r.Late }, IndicatorTiming),
	countCol("late_with_apology", func(r *workflow.Report) int64 { return r.LateWithApology }, IndicatorTiming, IndicatorApologies),
	countCol("late_without_apology", func(r *workflow.Report) int64 { return r.LateWithoutApology }, IndicatorTiming, IndicatorApologies),
	countCol("in_progress", func(r *workflow.Report) int64 { return r.InProgress }, IndicatorOverdueNow),
	countCol("overdue_now", func(r *workflow.Report) int64 { return r.InProgressOverdue }, IndicatorOverdueNow),
	countCol("overdue_now_with_apology", func(r *workflow.Report) int64 { return r.InProgressOverdueWithApology }, IndicatorOverdueNow, IndicatorApologies),
	countCol("overdue_now_without_apology", func(r *workflow.Report) int64 { return r.InProgressOverdueWithoutApology }, IndicatorOverdueNow, IndicatorApologies),
	countCol("received_online", func(r *workflow.Report) int64 { return r.ReceivedOnline }, IndicatorOnline),
	countCol("digitized_inputs", func(r *workflow.Report) int64 { return r.DigitizedInputs }, IndicatorDigitized),
	countCol("electronic_results", func(r *workflow.Report) int64 { return r.ElectronicResults }, IndicatorElectronicResults),
	rateCol("headline_rate", func(r *workflow.Report) float64 { return r.HeadlineRate }, IndicatorTiming),
	rateCol("late_rate", func(r *workflow.Report) float64 { return r.LateRate }, IndicatorTiming),
	rateCol("on_time_rate", func(r *workflow.Report) float64 { return r.OnTimeRate }, IndicatorTiming),
	rateCol("online_rate", func(r *workflow.Report) float64 { return r.OnlineRate }, IndicatorOnline),
	rateCol("digitized_rate", func(r *workflow.Report) float64 { return r.DigitizedRate }, IndicatorDigitized),
	rateCol("electronic_result_rate", func(r *workflow.Report) float64 { return r.ElectronicResultRate }, IndicatorElectronicResults),
	{Name: "rate_base", cell: func(c *cellCtx) string { return string(c.row.Report.Rates.Base) }},
	{Name: "rate_rounding", cell: func(c *cellCtx) string { return string(c.row.Report.Rates.Rounding) }},
}

// rateBases are the bases of the rate columns, by the column's name:
// the JSON name of the workflow.Report rate each one is.
var rateBases = map[string]string{
	"headline_rate": "headline_rate", "late_rate": "late_rate", "on_time_rate": "on_time_rate",
	"online_rate": "online_rate", "digitized_rate": "digitized_rate", "electronic_result_rate": "electronic_result_rate",
}

// columns returns the published columns.
func (s *Settings) columns() []Column {
	var out []Column
	for _, c := range Columns {
		if !slices.ContainsFunc(c.Indicators, func(i string) bool { return !s.published(i) }) {
			out = append(out, c)
		}
	}
	return out
}

// board is a scoreboard: the period's figures under the request's
// filters, without what the settings withhold.
type board struct {
	From, To string
	Kind     workflow.Kind
	By       string // "" or a breakdown
	Agency   string // the filter; ""
	Sector   string // the filter; ""
	AsOf     time.Time
	Total    boardRow
	Rows     []boardRow
	Columns  []Column
}

// boardRow is the total or a row of a breakdown.
type boardRow struct {
	Breakdown string // "total", or the breakdown
	Key, Name string
	Report    workflow.Report
}

// boardQuery is a request for a scoreboard, validated.
type boardQuery struct {
	From, To       string
	Kind           workflow.Kind
	By             string
	Agency, Sector string
}

// breakdowns are the public breakdowns (no level).
var breakdowns = []string{workflow.ByAgency, workflow.BySector, workflow.ByProcedure, workflow.ByMonth}

// board computes the scoreboard of q: the statistics of the store, less
// the dossiers of each withheld agency (their own statistics, under the
// same filters and period, subtracted from the total and from every
// row), so that no figure carries them.
func (s *Server) board(ctx context.Context, q boardQuery) (*board, error) {
	now := s.now()
	sq := workflow.StatsQuery{From: q.From, To: q.To, Kind: q.Kind, By: q.By, Agency: q.Agency, Sector: q.Sector, Now: now}
	res, err := s.cfg.Store.Stats(ctx, sq)
	if err != nil {
		return nil, err
	}
	set := s.settings()
	for _, a := range set.Withhold.Agencies {
		if q.Agency != "" && q.Agency != a {
			continue
		}
		wq := sq
		wq.Agency, wq.From, wq.To = a, res.From, res.To
		if wq.From == "" { // no counters at all
			break
		}
		w, err := s.cfg.Store.Stats(ctx, wq)
		if err != nil {
			return nil, err
		}
		res.Total.Sub(w.Total)
		for _, wr := range w.Rows {
			for i := range res.Rows {
				if res.Rows[i].Key == wr.Key {
					res.Rows[i].Tally.Sub(wr.Tally)
				}
			}
		}
	}
	opts := workflow.ReportOptions{Kind: sq.Kind, LateRule: workflow.LateByProcessing, Rates: s.cfg.Rates}
	b := &board{From: res.From, To: res.To, Kind: sq.Kind, By: q.By, Agency: q.Agency, Sector: q.Sector, AsOf: now,
		Columns: set.columns()}
	b.Total = boardRow{Breakdown: "total", Report: workflow.NewReport(res.Total, opts)}
	if q.Agency != "" {
		b.Total.Name = set.Agencies[q.Agency]
	}
	for _, row := range res.Rows {
		if q.By == workflow.ByAgency && set.withheldAgency(row.Key) {
			continue
		}
		if q.By != workflow.ByMonth && row.Tally.IsZero() {
			// Nothing left once the withheld agencies are out: the row
			// would only say that one of them has such dossiers.
			continue
		}
		br := boardRow{Breakdown: q.By, Key: row.Key}
		o := opts
		if row.Cohort {
			o.Counting = workflow.CountingCohort
		}
		br.Report = workflow.NewReport(row.Tally, o)
		if q.By == workflow.ByAgency {
			br.Name = set.Agencies[row.Key]
		}
		b.Rows = append(b.Rows, br)
	}
	return b, nil
}

// cells returns the published cells of a row, in column order.
func (b *board) cells(row *boardRow) []string {
	c := &cellCtx{b: b, row: row}
	out := make([]string, len(b.Columns))
	for i, col := range b.Columns {
		out[i] = col.cell(c)
	}
	return out
}

// header returns the names of the published columns.
func (b *board) header() []string {
	out := make([]string, len(b.Columns))
	for i, c := range b.Columns {
		out[i] = c.Name
	}
	return out
}

// has reports whether a column is published.
func (b *board) has(name string) bool {
	return slices.ContainsFunc(b.Columns, func(c Column) bool { return c.Name == name })
}
