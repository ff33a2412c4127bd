package web

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/workflow"
)

// irregularPageSize is how many events' irregularities a page of the list
// shows.
const irregularPageSize = 50

// irregularTopOfficers is how many officers the summary of the page
// ranks; its CSV export has them all.
const irregularTopOfficers = 50

// irregularSummary is the tallies of the irregularities page: one row
// per agency, and the officers with the most irregularities.
type irregularSummary struct {
	Total    workflow.IrregularityTally   // every row summed
	Agencies []workflow.IrregularityTally // by agency (Actor ""), in agency order
	Officers []workflow.IrregularityTally // most irregularities first, at most irregularTopOfficers
	// AllOfficers is how many officers have irregularities under the
	// filters: more than Officers lists when the ranking is cut.
	AllOfficers int
}

// irregularSummaryOf sums tallies by agency and ranks the officers: most
// irregularities first, then most hours of late entry, then by agency
// and officer.
func irregularSummaryOf(rows []workflow.IrregularityTally) irregularSummary {
	var s irregularSummary
	byAgency := map[string]*workflow.IrregularityTally{}
	for i := range rows {
		s.Total.Add(&rows[i])
		a := byAgency[rows[i].Agency]
		if a == nil {
			a = &workflow.IrregularityTally{Agency: rows[i].Agency}
			byAgency[rows[i].Agency] = a
		}
		a.Add(&rows[i])
	}
	for _, ag := range slices.Sorted(func(yield func(string) bool) {
		for k := range byAgency {
			if !yield(k) {
				return
			}
		}
	}) {
		s.Agencies = append(s.Agencies, *byAgency[ag])
	}
	s.Officers = slices.Clone(rows)
	slices.SortStableFunc(s.Officers, func(a, b workflow.IrregularityTally) int {
		return cmp.Or(cmp.Compare(b.Total(), a.Total()), cmp.Compare(b.LateEntryDelay, a.LateEntryDelay),
			strings.Compare(a.Agency, b.Agency), strings.Compare(a.Actor, b.Actor))
	})
	s.AllOfficers = len(s.Officers)
	s.Officers = s.Officers[:min(len(s.Officers), irregularTopOfficers)]
	return s
}

// irregularitiesPage answers GET /irregularities: the irregularities of
// accepted events newest first, filtered by kind, agency, officer and
// dossier, with their tallies by agency and officer (of the agency and
// officer filtered). ?format=csv exports the list, and with list=summary
// the tally of every officer.
func (s *Server) irregularitiesPage(w http.ResponseWriter, r *http.Request) error {
	q, lang, err := pageParams(r, "kind", "agency", "actor", "dossier", "cursor", "format", "list")
	if err != nil {
		return err
	}
	iq := workflow.IrregularityQuery{Kind: q.irregularityKind("kind"), Agency: q.text("agency"), Actor: q.free("actor"),
		Dossier: q.code("dossier"), Before: q.seq("cursor"), Limit: irregularPageSize}
	asCSV := q.csv()
	list := cmpOr(q.choice("list", "items", "summary"), "items")
	if err := q.error(); err != nil {
		return err
	}
	ctx := r.Context()
	if asCSV && list == "summary" {
		rows, err := s.cfg.Store.IrregularityTallies(ctx, workflow.IrregularityTallyQuery{Agency: iq.Agency, Actor: iq.Actor})
		if err != nil {
			return err
		}
		return irregularSummaryCSV(w, lang, rows)
	}
	if asCSV {
		return s.irregularitiesCSV(ctx, w, lang, iq)
	}
	items, next, err := s.cfg.Store.Irregularities(ctx, iq)
	if err != nil {
		return err
	}
	rows, err := s.cfg.Store.IrregularityTallies(ctx, workflow.IrregularityTallyQuery{Agency: iq.Agency, Actor: iq.Actor})
	if err != nil {
		return err
	}
	data := struct {
		Kind                   workflow.IrregularityKind
		Agency, Actor, Dossier string
		Kinds                  []workflow.IrregularityKind
		Items                  []workflow.Irregularity
		Next                   string
		Cursor                 bool
		Summary                irregularSummary
		LateEntry, LateApology workflow.IrregularityKind
		RepeatedSupplement     workflow.IrregularityKind
		AnyFilter              bool
	}{
		Kind: iq.Kind, Agency: iq.Agency, Actor: iq.Actor, Dossier: iq.Dossier, Kinds: workflow.IrregularityKinds,
		Items: items, Next: seqCursor(next), Cursor: iq.Before != 0, Summary: irregularSummaryOf(rows),
		LateEntry: workflow.IrregularLateEntry, LateApology: workflow.IrregularLateApology,
		RepeatedSupplement: workflow.IrregularRepeatedSupplement,
		AnyFilter:          iq.Kind != "" || iq.Agency != "" || iq.Actor != "" || iq.Dossier != "",
	}
	rememberLanguage(w, r, lang)
	return s.render(w, r, http.StatusOK, "irregularities", &view{Lang: lang, Nav: "irregularities", Title: label(lang, "ir.title"), Data: data})
}

// irregularitiesCSV exports the irregularities the query selects, newest
// first, at most csvMaxRows.
func (s *Server) irregularitiesCSV(ctx context.Context, w http.ResponseWriter, lang string, iq workflow.IrregularityQuery) error {
	iq.Limit = 1000
	var rows [][]string
	for len(rows) < csvMaxRows {
		list, next, err := s.cfg.Store.Irregularities(ctx, iq)
		if err != nil {
			return err
		}
		for _, ir := range list {
			detail := ir.DetailVI
			if lang == langEN {
				detail = ir.Detail
			}
			rows = append(rows, []string{strconv.FormatUint(ir.Seq, 10), optRFC3339(ir.Time), optRFC3339(ir.Entered),
				ir.Dossier, ir.Agency, ir.Actor, ir.Action, string(ir.Kind), kindText(lang, ir.Kind),
				hoursCSV(ir.Delay), detail})
		}
		if next == 0 {
			break
		}
		iq.Before = next
	}
	return writeCSV(w, "hoso-irregularities.csv", []string{label(lang, "col.seq"), label(lang, "ir.happened"),
		label(lang, "ir.entered"), label(lang, "col.code"), label(lang, "col.agency"), label(lang, "ir.officer"),
		label(lang, "col.action"), label(lang, "col.kind"), label(lang, "ir.kindname"), label(lang, "ir.delay"),
		label(lang, "col.message")}, rows)
}

// irregularSummaryCSV exports the tally of every officer: the count of
// each kind, their total and the working hours of late entry.
func irregularSummaryCSV(w http.ResponseWriter, lang string, rows []workflow.IrregularityTally) error {
	header := []string{label(lang, "col.agency"), label(lang, "ir.officer")}
	for _, k := range workflow.IrregularityKinds {
		header = append(header, kindText(lang, k))
	}
	header = append(header, label(lang, "ir.total"), label(lang, "ir.latehours"))
	out := make([][]string, 0, len(rows))
	for _, t := range rows {
		row := []string{t.Agency, t.Actor}
		for _, k := range workflow.IrregularityKinds {
			row = append(row, strconv.Itoa(t.Counts[k]))
		}
		out = append(out, append(row, strconv.Itoa(t.Total()), hoursCSV(t.LateEntryDelay)))
	}
	return writeCSV(w, "hoso-irregularities-summary.csv", header, out)
}

// hoursCSV writes working time in hours with a point and at most two
// decimals, as spreadsheets read numbers.
func hoursCSV(d time.Duration) string { return strconv.FormatFloat(api.Hours(d), 'f', -1, 64) }

// formatHours writes working time in hours, at most two decimals, with
// the language's decimal mark.
func formatHours(lang string, d time.Duration) string {
	s := hoursCSV(d)
	if lang != langEN {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// kindText names a kind of irregularity in lang.
func kindText(lang string, k workflow.IrregularityKind) string {
	if lang == langEN {
		return k.TextEN()
	}
	return k.TextVI()
}

// irregularityKind reads a kind of irregularity.
func (q *pageQuery) irregularityKind(k string) workflow.IrregularityKind {
	v := workflow.IrregularityKind(q.value(k))
	if v != "" && !v.Valid() {
		q.err = pageBad(k, "%q is not a kind of irregularity (known: %s)", "%q không phải là loại bất thường (các loại: %s)", v, irregularityKinds())
		return ""
	}
	return v
}

// free reads a name as a source wrote it (an officer): any text without
// control characters.
func (q *pageQuery) free(k string) string {
	v := strings.TrimSpace(q.value(k))
	if strings.ContainsFunc(v, unicode.IsControl) {
		q.err = pageBad(k, "%q contains control characters", "%q có ký tự điều khiển", v)
		return ""
	}
	return v
}

// code reads a dossier code.
func (q *pageQuery) code(k string) string {
	v := q.value(k)
	if v != "" && !workflow.IsDossierCode(v) {
		q.err = pageBad(k, "%q is not a dossier code", "%q không phải là mã hồ sơ", v)
		return ""
	}
	return v
}

// seq reads the cursor of a list in stream order: a stream sequence.
func (q *pageQuery) seq(k string) uint64 {
	v := q.value(k)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		q.err = pageBad(k, "%q is not a cursor of this list", "%q không phải là con trỏ của danh sách này", v)
		return 0
	}
	return n
}
