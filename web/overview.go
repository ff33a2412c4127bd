package web

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"

	"github.com/hoso-vn/hoso/workflow"
)

// overviewTop is how many agencies and procedures the overview ranks.
const overviewTop = 10

// statsRow is a breakdown row with its report.
type statsRow struct {
	Key    string
	Report workflow.Report
}

// overview is what the overview page shows.
type overview struct {
	From, To, Agency string
	Report           workflow.Report
	Waiting          *workflow.ReturnWait // how long the resolved dossiers not yet returned have waited
	HasStats         bool
	Totals           workflow.Totals
	Months           []statsRow
	Agencies         []string // every agency with statistics, for the filter
	WorstAgencies    []statsRow
	WorstProcedures  []statsRow
	// Levels are the rows by level of government (province, commune),
	// their keys in the page's language.
	Levels []statsRow
	// LateEntryAgencies are the agencies with the highest share of
	// transitions entered late.
	LateEntryAgencies []statsRow
	Charts            []chart

	// Scoped: the user sees some agencies only, and Totals (which span
	// every agency) are left out of the page.
	Scoped bool

	// Irregular counts the irregularities of every agency (from Totals),
	// or of Agency when one is chosen (from its tallies), over all time;
	// IrregularKinds lists the kinds in order.
	Irregular      workflow.IrregularityTally
	IrregularKinds []workflow.IrregularityKind
}

// overviewPage answers GET /: the headline numbers and rates of the
// statistics for a period and agency, the trends as charts, and the
// agencies and procedures with the highest late rate. Every number comes
// from the statistics counters and the store's totals, never a scan.
// ?format=csv&list=months|agencies|procedures exports a breakdown.
func (s *Server) overviewPage(w http.ResponseWriter, r *http.Request) error {
	q, lang, err := pageParams(r, "from", "to", "agency", "format", "list")
	if err != nil {
		return err
	}
	ov := overview{From: q.month("from"), To: q.month("to"), Agency: q.text("agency")}
	asCSV := q.csv()
	list := q.choice("list", "months", "agencies", "procedures", "levels")
	if err := q.error(); err != nil {
		return err
	}
	if ov.From != "" && ov.To != "" && ov.From > ov.To {
		return pageBad("to", "the period ends (%[2]s) before it starts (%[1]s)", "kỳ kết thúc (%[2]s) trước khi bắt đầu (%[1]s)", ov.From, ov.To)
	}
	ctx := r.Context()
	base := workflow.StatsQuery{From: ov.From, To: ov.To, Agency: ov.Agency}
	opts := workflow.ReportOptions{Rates: s.cfg.Rates}
	rows := func(by string, agency string) ([]statsRow, error) {
		sq := base
		sq.By, sq.Agency = by, agency
		res, err := s.cfg.Store.Stats(ctx, sq)
		if err != nil {
			return nil, err
		}
		out := make([]statsRow, len(res.Rows))
		for i, rw := range res.Rows {
			out[i] = statsRow{rw.Key, rw.Report(opts)}
		}
		return out, nil
	}
	totalQ := base
	totalQ.WaitAt = s.now()
	totalQ.Now = totalQ.WaitAt
	total, err := s.cfg.Store.Stats(ctx, totalQ)
	if err != nil {
		return err
	}
	ov.Report, ov.HasStats, ov.Waiting = total.Report(opts), !total.Total.IsZero(), total.Waiting
	if ov.From == "" && ov.To == "" {
		base.From, base.To = total.From, total.To
	}
	months, err := rows(workflow.ByMonth, ov.Agency)
	if err != nil {
		return err
	}
	ov.Months = months
	agencies, err := rows(workflow.ByAgency, "")
	if err != nil {
		return err
	}
	for _, a := range agencies {
		ov.Agencies = append(ov.Agencies, a.Key)
	}
	if ov.Agency != "" {
		agencies = slices.DeleteFunc(agencies, func(a statsRow) bool { return a.Key != ov.Agency })
	}
	procedures, err := rows(workflow.ByProcedure, ov.Agency)
	if err != nil {
		return err
	}
	levels, err := rows(workflow.ByLevel, ov.Agency)
	if err != nil {
		return err
	}
	if asCSV {
		var list2 []statsRow
		switch list {
		case "agencies":
			list2 = agencies
		case "procedures":
			list2 = procedures
		case "levels":
			list2 = levels
		default:
			list = "months"
			list2 = months
		}
		return statsCSV(w, lang, list, list2, opts)
	}
	ov.WorstAgencies = worst(agencies)
	ov.WorstProcedures = worst(procedures)
	for _, l := range levels {
		l.Key = levelName(lang, l.Key)
		ov.Levels = append(ov.Levels, l)
	}
	ov.LateEntryAgencies = mostLateEntries(agencies)
	ov.Totals, err = s.cfg.Store.Totals(ctx)
	if err != nil {
		return err
	}
	ov.IrregularKinds = workflow.IrregularityKinds
	if ov.Agency == "" {
		ov.Irregular.Counts = ov.Totals.Irregularities
	} else {
		rows, err := s.cfg.Store.IrregularityTallies(ctx, workflow.IrregularityTallyQuery{Agency: ov.Agency})
		if err != nil {
			return err
		}
		for i := range rows {
			ov.Irregular.Add(&rows[i])
		}
	}
	if u := userFrom(ctx); u != nil && u.Scoped() {
		// The running totals and the agency list span every agency.
		ov.Totals, ov.Agencies, ov.Scoped = workflow.Totals{}, u.Agencies, true
	}

	var rate, recv []chartItem
	for _, m := range months {
		rate = append(rate, chartItem{Label: m.Key, Value: m.Report.OnTimeRate, Text: formatPct(lang, m.Report.OnTimeRate)})
		recv = append(recv, chartItem{Label: m.Key, Value: float64(m.Report.Received), Text: formatInt(lang, m.Report.Received)})
	}
	var status []chartItem
	for st := workflow.StatusSubmitted; st <= workflow.MaxStatus; st++ {
		n := ov.Totals.ByStatus[st]
		status = append(status, chartItem{Label: statusName(lang, st), Value: float64(n), Text: formatInt(lang, int64(n)),
			Class: "s" + strconv.Itoa(int(st))})
	}
	byOverdue := slices.Clone(agencies)
	slices.SortStableFunc(byOverdue, func(a, b statsRow) int {
		return cmp.Or(cmp.Compare(b.Report.InProgressOverdue, a.Report.InProgressOverdue), cmp.Compare(a.Key, b.Key))
	})
	var overdue []chartItem
	for _, a := range byOverdue {
		if a.Report.InProgressOverdue == 0 || len(overdue) == 15 {
			break
		}
		overdue = append(overdue, chartItem{Label: a.Key, Value: float64(a.Report.InProgressOverdue),
			Text: formatInt(lang, a.Report.InProgressOverdue), Class: "late"})
	}
	ov.Charts = []chart{
		lineChart("c-rate", label(lang, "ov.trend"), rate),
		vbarChart("c-recv", label(lang, "ov.recvmonth"), recv),
		hbarChart("c-status", label(lang, "ov.statusdist"), status),
		hbarChart("c-overdue", label(lang, "ov.overdueby"), overdue),
	}
	if ov.Scoped {
		ov.Charts = slices.Delete(ov.Charts, 2, 3) // the status distribution is of every agency
	}
	rememberLanguage(w, r, lang)
	return s.render(w, r, http.StatusOK, "overview", &view{Lang: lang, Nav: "overview", Title: label(lang, "ov.title"), Data: ov})
}

// worst returns the rows with the highest late rate (Report.LateRate,
// over the rates' base, compared exactly rather than rounded), ties
// broken by more late dossiers, then by more overdue in progress.
func worst(rows []statsRow) []statsRow {
	rows = slices.DeleteFunc(slices.Clone(rows), func(r statsRow) bool {
		return r.Report.Late == 0 && r.Report.InProgressOverdue == 0
	})
	lateRate := func(r statsRow) int64 {
		base := r.Report.Received
		if r.Report.Rates.Base == workflow.BaseResolved {
			base = r.Report.Resolved
		}
		return r.Report.Late * 1_000_000 / max(base, 1)
	}
	slices.SortStableFunc(rows, func(a, b statsRow) int {
		return cmp.Or(cmp.Compare(lateRate(b), lateRate(a)), cmp.Compare(b.Report.Late, a.Report.Late),
			cmp.Compare(b.Report.InProgressOverdue, a.Report.InProgressOverdue), cmp.Compare(a.Key, b.Key))
	})
	return rows[:min(len(rows), overviewTop)]
}

// mostLateEntries returns the rows with the highest share of late
// entries among their transitions (compared exactly), ties broken by more
// late entries; rows without one are left out.
func mostLateEntries(rows []statsRow) []statsRow {
	rows = slices.DeleteFunc(slices.Clone(rows), func(r statsRow) bool { return r.Report.LateEntries == 0 })
	share := func(r statsRow) int64 { return r.Report.LateEntries * 1_000_000 / max(r.Report.Transitions, 1) }
	slices.SortStableFunc(rows, func(a, b statsRow) int {
		return cmp.Or(cmp.Compare(share(b), share(a)), cmp.Compare(b.Report.LateEntries, a.Report.LateEntries), cmp.Compare(a.Key, b.Key))
	})
	return rows[:min(len(rows), overviewTop)]
}

// levelName names a level of government in the language: "Cấp tỉnh".
func levelName(lang, level string) string {
	if _, ok := labels["lv."+level]; ok {
		return label(lang, "lv."+level)
	}
	return level
}

// statsCSV exports a breakdown of the statistics. The header of each rate
// names its base and rounding: "Tỷ lệ quá hạn (% trên số tiếp nhận, cắt
// bớt …)".
func statsCSV(w http.ResponseWriter, lang, list string, rows []statsRow, opts workflow.ReportOptions) error {
	key := map[string]string{"months": "ov.month", "agencies": "col.agency", "procedures": "col.procedure", "levels": "col.level"}[list]
	shape := workflow.NewReport(workflow.Tally{}, opts) // the bases and rounding every row shares
	rate := func(labelKey, name string) string {
		return label(lang, labelKey) + " (% " + baseText(lang, shape.Bases[name]) + ", " + label(lang, "round."+string(shape.Rates.Rounding)) + ")"
	}
	header := []string{label(lang, key), label(lang, "ov.carried"), label(lang, "ov.received"), label(lang, "ov.resolved"), label(lang, "timing.early"),
		label(lang, "timing.on_time"), label(lang, "timing.late"), label(lang, "ov.latewith"), label(lang, "ov.latewithout"),
		rate("ov.ontimerate", "on_time_rate"), rate("ov.headrate", "headline_rate"), rate("ov.latepct", "late_rate"),
		label(lang, "ov.inprogress"), label(lang, "ov.ipoverdue"), label(lang, "ov.ipwith"), label(lang, "ov.ipwithout"),
		rate("ov.online", "online_rate"), rate("ov.digitized", "digitized_rate"), rate("ov.eresult", "electronic_result_rate"),
		label(lang, "ov.apologies"), label(lang, "ov.transitions"), label(lang, "ov.lateentries"), rate("ov.lateentryrate", "late_entry_rate"),
		label(lang, "ov.awaiting"), label(lang, "ov.atendip"), label(lang, "ov.atendipover"), label(lang, "ov.atendipwith"),
		label(lang, "ov.atendipwithout"), label(lang, "ch.desk"), label(lang, "ch.post"), label(lang, "ch.online_full"),
		label(lang, "ch.online_partial"), rate("ov.onlinefull", "online_full_rate"),
		label(lang, "ov.paid"), label(lang, "ov.paidonline"), rate("ov.onlinepayment", "online_payment_rate"),
		label(lang, "ov.rated"), label(lang, "ov.satisfied"), rate("ov.satisfaction", "satisfaction_rate")}
	out := make([][]string, 0, len(rows))
	pct := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, r := range rows {
		p := r.Report
		carried := n(p.CarriedOver)
		if list == "months" {
			carried = "" // a month row describes its receipts: nothing carried over
		}
		// In progress at the period's end: empty without a snapshot (a
		// month row, a period not closed).
		atEnd := []string{"", "", "", ""}
		if e := p.AtPeriodEnd; e != nil {
			atEnd = []string{n(e.InProgress), n(e.Overdue), n(e.OverdueWithApology), n(e.OverdueWithoutApology)}
		}
		out = append(out, append([]string{r.Key, carried, n(p.Received), n(p.Resolved), n(p.Early), n(p.OnTime), n(p.Late),
			n(p.LateWithApology), n(p.LateWithoutApology), pct(p.OnTimeRate), pct(p.HeadlineRate), pct(p.LateRate),
			n(p.InProgress), n(p.InProgressOverdue), n(p.InProgressOverdueWithApology), n(p.InProgressOverdueWithoutApology),
			pct(p.OnlineRate), pct(p.DigitizedRate), pct(p.ElectronicResultRate), n(p.Apologies),
			n(p.Transitions), n(p.LateEntries), pct(p.LateEntryRate), n(p.AwaitingReturn)}, append(atEnd,
			n(p.ReceivedDesk), n(p.ReceivedPost), n(p.ReceivedOnlineFull), n(p.ReceivedOnlinePartial), pct(p.OnlineFullRate),
			n(p.Paid), n(p.PaidOnline), pct(p.OnlinePaymentRate), n(p.Rated), n(p.Satisfied), pct(p.SatisfactionRate))...))
	}
	return writeCSV(w, "hoso-stats-"+list+".csv", header, out)
}
