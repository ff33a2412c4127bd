package public

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hoso-vn/hoso/web"
	"github.com/hoso-vn/hoso/workflow"
)

//go:embed static/public.css
var publicCSS []byte

//go:embed templates/*.html
var templateFS embed.FS

var funcs = template.FuncMap{"add": func(a, b int) int { return a + b }}

// pages holds one template set per page of the layout, and the
// embeddable view on its own.
var pages = map[string]*template.Template{
	"scoreboard": template.Must(template.New("scoreboard").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/scoreboard.html")),
	"error":      template.Must(template.New("error").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/error.html")),
	"embed":      template.Must(template.New("embed").Funcs(funcs).ParseFS(templateFS, "templates/embed.html")),
	"lookup":     template.Must(template.New("lookup").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/lookup.html")),
}

// The Content-Security-Policy of the public pages: no script at all, the
// surface's own stylesheets, no inline style; framing refused but for the
// embeddable view, whose frame-ancestors are Settings.Embed's.
const cspBase = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors "

// page is what every page template receives.
type page struct {
	Lang      string
	Nav       string
	Title     string
	URL       *url.URL
	Now       time.Time
	RequestID string
	Data      any
}

// T returns a label in the page's language.
func (p *page) T(key string) string { return label(p.Lang, key) }

// Time writes an instant in Vietnam's time.
func (p *page) Time(t time.Time) string { return t.In(workflow.Zone).Format("15:04 02/01/2006") }

// OtherLang is the other language's code.
func (p *page) OtherLang() string {
	if p.Lang == langEN {
		return langVI
	}
	return langEN
}

// With returns the page's URL with the parameters changed (an empty
// value removes one).
func (p *page) With(kv ...string) string {
	q := p.URL.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	return (&url.URL{Path: p.URL.Path, RawQuery: q.Encode()}).String()
}

// Period writes the period of a board.
func (p *page) Period(b *board) string {
	if b.From == "" {
		return p.T("period.none")
	}
	f := func(m string) string { return m[5:] + "/" + m[:4] }
	return f(b.From) + " – " + f(b.To)
}

// render writes a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page, frame bool) error {
	if p.URL == nil {
		p.URL = r.URL
	}
	p.RequestID = requestID(r)
	if p.Now.IsZero() {
		p.Now = s.now()
	}
	t := pages[name]
	root := "layout"
	if name == "embed" {
		root = "embed"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, root, p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := w.Header()
	if frame {
		h.Set("Content-Security-Policy", cspBase+s.settings().frameAncestors())
	} else {
		h.Set("Content-Security-Policy", cspBase+"'none'")
		h.Set("X-Frame-Options", "DENY")
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", p.Lang)
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
	return nil
}

// renderError answers a page's error with a page in its language.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, e *Error) {
	lang := acceptLanguage(r.Header.Get("Accept-Language"))
	if l := r.URL.Query()["lang"]; len(l) == 1 && (l[0] == langVI || l[0] == langEN) {
		lang = l[0]
	}
	msg := e.VI
	if lang == langEN || msg == "" {
		msg = e.EN
	}
	p := &page{Lang: lang, Title: label(lang, "err.title"), URL: &url.URL{Path: "/scoreboard"}, Data: struct {
		Status      int
		Msg         string
		ShowRequest bool
	}{e.Status, msg, e.Status >= 500}}
	if err := s.render(w, r, e.Status, "error", p, false); err != nil {
		s.log.Error("render public error page", "err", err, "request_id", requestID(r))
		http.Error(w, e.EN, e.Status)
	}
}

// cellView is a figure as a page shows it.
type cellView struct {
	Label, Base, Text string
}

// header is a figure column of a page's table.
type header struct {
	Name, Label, Base string
}

// figureColumns are the published columns a page shows: the counts and
// rates.
func (b *board) figureColumns() []Column {
	var out []Column
	for _, c := range b.Columns {
		if len(c.Indicators) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// colLabel names a column in lang, in the words of the board's kind.
func colLabel(lang string, k workflow.Kind, name string) string {
	if k == workflow.KindFeedback {
		if _, ok := labels["fb.col."+name]; ok {
			return label(lang, "fb.col."+name)
		}
	}
	return label(lang, "col."+name)
}

// figures returns the page cells of a row.
func (b *board) figures(lang string, row *boardRow) []cellView {
	cols := b.figureColumns()
	out := make([]cellView, len(cols))
	for i, c := range cols {
		cell := c.cell(&cellCtx{b: b, row: row})
		v := cellView{Label: colLabel(lang, b.Kind, c.Name)}
		if c.Rate {
			f, _ := strconv.ParseFloat(cell, 64)
			v.Text = web.FormatPct(lang, f)
			v.Base = label(lang, "base."+row.Report.Bases[rateBases[c.Name]])
		} else {
			n, _ := strconv.ParseInt(cell, 10, 64)
			v.Text = web.FormatCount(lang, n)
		}
		out[i] = v
	}
	return out
}

// maxChartRows is how many rows a chart of the scoreboard draws; the
// table has them all.
const maxChartRows = 25

func (s *Server) scoreboardPage(w http.ResponseWriter, r *http.Request, q *query) error {
	bq, err := s.boardQuery(q)
	if err != nil {
		return err
	}
	if bq.By == "" {
		bq.By = workflow.ByAgency
	}
	b, err := s.board(r.Context(), bq)
	if err != nil {
		return err
	}
	lang := q.lang
	type rowView struct {
		Key, Name string
		Cells     []cellView
	}
	data := struct {
		Query      boardQuery
		Board      *board
		Breakdowns []string
		Kinds      []string
		Headline   string
		Headers    []header
		TotalName  string
		Total      []cellView
		Rows       []rowView
		Charts     []template.HTML
		CSV, JSON  string
		Rounding   string
		Withheld   bool
	}{Query: bq, Board: b, Breakdowns: breakdowns, Kinds: []string{string(workflow.KindDossier)},
		Rounding: string(b.Total.Report.Rates.Rounding),
		Withheld: len(s.settings().Withhold.Agencies)+len(s.settings().Withhold.Indicators) > 0}
	if s.settings().published(IndicatorFeedback) {
		data.Kinds = append(data.Kinds, string(workflow.KindFeedback))
	}
	for _, c := range b.figureColumns() {
		h := header{Name: c.Name, Label: colLabel(lang, b.Kind, c.Name)}
		if c.Rate {
			h.Base = label(lang, "base."+b.Total.Report.Bases[rateBases[c.Name]])
		}
		data.Headers = append(data.Headers, h)
	}
	data.TotalName = label(lang, "total")
	if bq.Agency != "" || bq.Sector != "" {
		data.TotalName = label(lang, "total.filtered")
	}
	data.Total = b.figures(lang, &b.Total)
	for i := range b.Rows {
		row := &b.Rows[i]
		key := row.Key
		if bq.By == workflow.ByMonth && len(key) == 7 {
			key = key[5:] + "/" + key[:4]
		}
		data.Rows = append(data.Rows, rowView{Key: key, Name: row.Name, Cells: b.figures(lang, row)})
	}
	data.Headline = headline(lang, b)
	if data.Charts, err = charts(lang, b); err != nil {
		return err
	}
	v := url.Values{}
	for _, k := range boardParams {
		if x := q.v.Get(k); x != "" {
			v.Set(k, x)
		}
	}
	v.Set("by", bq.By)
	data.CSV = "/api/public/v1/scoreboard.csv?" + v.Encode()
	data.JSON = "/api/public/v1/scoreboard?" + v.Encode()
	title := label(lang, "title")
	if b.Kind == workflow.KindFeedback {
		title = label(lang, "title.fb")
	}
	return s.render(w, r, http.StatusOK, "scoreboard", &page{Lang: lang, Nav: "board", Title: title, Data: data}, false)
}

// headline writes the total in the shape of a province's report, with
// only the published figures.
func headline(lang string, b *board) string {
	rep := &b.Total.Report
	n := func(v int64) string { return web.FormatCount(lang, v) }
	pct := func(v float64) string { return web.FormatPct(lang, v) }
	var out string
	if b.has("received") {
		out = label(lang, "col.received") + " " + n(rep.Received) + "; "
	}
	if b.has("resolved") {
		out += colLabel(lang, b.Kind, "resolved") + " " + n(rep.Resolved)
		if b.has("early") {
			out += fmt.Sprintf(" (%s %s, %s %s)", label(lang, "col.early")+" + "+label(lang, "col.on_time"), n(rep.Early+rep.OnTime),
				pct(rep.HeadlineRate), label(lang, "base."+string(rep.Rates.Base)))
		}
		out += "; "
	}
	if b.has("late") {
		out += fmt.Sprintf("%s %s (%s %s)", label(lang, "col.late"), n(rep.Late), pct(rep.LateRate), label(lang, "base."+string(rep.Rates.Base)))
	}
	return out
}

// charts draws the scoreboard's charts, each with its text alternative:
// the early or on-time rate and the receipts by row (by month: a line
// and bars over the months).
func charts(lang string, b *board) ([]template.HTML, error) {
	rows := b.Rows
	more := ""
	if len(rows) > maxChartRows && b.By != workflow.ByMonth {
		rows, more = rows[:maxChartRows], " "+fmt.Sprintf(label(lang, "chart.top"), maxChartRows)
	}
	by := label(lang, "by."+b.By)
	var out []template.HTML
	add := func(kind web.ChartKind, id, title, desc string, items []web.ChartItem) error {
		h, err := web.Chart(kind, id, title, desc, items)
		out = append(out, h)
		return err
	}
	key := func(r *boardRow) string {
		if b.By == workflow.ByMonth && len(r.Key) == 7 {
			return r.Key[5:] + "/" + r.Key[:4]
		}
		return r.Key
	}
	if b.has("headline_rate") && len(rows) > 0 {
		var items []web.ChartItem
		for i := range rows {
			rep := &rows[i].Report
			items = append(items, web.ChartItem{Label: key(&rows[i]), Value: rep.HeadlineRate, Text: web.FormatPct(lang, rep.HeadlineRate)})
		}
		base := label(lang, "base."+string(b.Total.Report.Rates.Base))
		if b.By == workflow.ByMonth {
			desc := fmt.Sprintf(label(lang, "chart.trend.desc"), base, key(&rows[0]), key(&rows[len(rows)-1]))
			if err := add(web.Line, "c-rate", label(lang, "chart.rate")+" ("+base+")", desc, items); err != nil {
				return nil, err
			}
		} else if err := add(web.HBar, "c-rate", label(lang, "chart.rate")+" ("+base+")"+more,
			fmt.Sprintf(label(lang, "chart.rate.desc"), base, by), items); err != nil {
			return nil, err
		}
	}
	if b.has("received") && len(rows) > 0 {
		var items []web.ChartItem
		for i := range rows {
			rep := &rows[i].Report
			items = append(items, web.ChartItem{Label: key(&rows[i]), Value: float64(rep.Received), Text: web.FormatCount(lang, rep.Received)})
		}
		kind := web.HBar
		if b.By == workflow.ByMonth {
			kind = web.VBar
		}
		if err := add(kind, "c-recv", label(lang, "chart.received")+more, fmt.Sprintf(label(lang, "chart.received.desc"), by), items); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// embedPage answers the embeddable view: the period's totals and the
// early or on-time rate by month of receipt, for a portal's iframe.
func (s *Server) embedPage(w http.ResponseWriter, r *http.Request, q *query) error {
	bq, err := s.boardQuery(q)
	if err != nil {
		return err
	}
	total, err := s.board(r.Context(), bq)
	if err != nil {
		return err
	}
	bq.By = workflow.ByMonth
	months, err := s.board(r.Context(), bq)
	if err != nil {
		return err
	}
	lang := q.lang
	data := struct {
		Board  *board
		Total  []cellView
		Charts []template.HTML
		Full   string
	}{Board: total, Total: total.figures(lang, &total.Total)}
	// The trend only: the receipts chart belongs to the full page.
	months.Columns = slicesWithout(months.Columns, "received")
	if data.Charts, err = charts(lang, months); err != nil {
		return err
	}
	v := url.Values{}
	for _, k := range []string{"from", "to", "kind", "agency"} {
		if x := q.v.Get(k); x != "" {
			v.Set(k, x)
		}
	}
	if lang == langEN {
		v.Set("lang", langEN)
	}
	data.Full = "/scoreboard?" + v.Encode()
	title := label(lang, "embed.title")
	if total.Kind == workflow.KindFeedback {
		title = label(lang, "title.fb")
	}
	return s.render(w, r, http.StatusOK, "embed", &page{Lang: lang, Title: title, Data: data}, true)
}

// slicesWithout returns cols without the column named.
func slicesWithout(cols []Column, name string) []Column {
	var out []Column
	for _, c := range cols {
		if c.Name != name {
			out = append(out, c)
		}
	}
	return out
}
