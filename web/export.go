package web

import (
	"bytes"
	"html/template"
	"io/fs"
	"net/http"
)

// What another server wearing the dashboard's look may use (package
// public): the stylesheet, the server-drawn charts, the number formats
// and the CSV writer. Each is the dashboard's own, not a copy.

// Asset returns the embedded static file of the dashboard of that name
// ("style.css"); false when there is none.
func Asset(name string) ([]byte, bool) {
	if !staticNameRE.MatchString(name) {
		return nil, false
	}
	b, err := fs.ReadFile(staticFS, "static/"+name)
	return b, err == nil
}

// ChartItem is one value of a chart: its label, its value and the value
// as shown (formatted by the caller).
type ChartItem struct {
	Label string
	Value float64
	Text  string
	Class string // an extra CSS class of the bar: "late" draws it red
}

// ChartKind is the shape of a chart.
type ChartKind int

// The chart shapes.
const (
	HBar ChartKind = iota // horizontal bars, a row per item
	VBar                  // vertical bars over a grid
	Line                  // percentages 0–100 as a line with dots
)

// Chart draws a chart as the dashboard does, an SVG figure computed on
// the server: id is unique on the page, title its caption (and the SVG's
// accessible name), desc its text alternative (a sentence saying what it
// shows, announced with the SVG and shown under it).
func Chart(kind ChartKind, id, title, desc string, items []ChartItem) (template.HTML, error) {
	its := make([]chartItem, len(items))
	for i, it := range items {
		its[i] = chartItem(it)
	}
	var c chart
	switch kind {
	case VBar:
		c = vbarChart(id, title, its)
	case Line:
		c = lineChart(id, title, its)
	default:
		c = hbarChart(id, title, its)
	}
	c.Desc = desc
	var buf bytes.Buffer
	if err := chartTemplate.ExecuteTemplate(&buf, "chart", c); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil //nolint:gosec // html/template escaped every label
}

// chartTemplate is the dashboard's "chart" template alone.
var chartTemplate = template.Must(template.New("svg").Funcs(templateFuncs).ParseFS(templateFS, "templates/svg.html"))

// FormatCount writes a count with lang's thousands separator ("vi":
// 270.497, "en": 270,497).
func FormatCount(lang string, n int64) string { return formatInt(lang, n) }

// FormatPct writes a percentage with two decimals and lang's decimal
// mark ("vi": 94,12%, "en": 94.12%).
func FormatPct(lang string, p float64) string { return formatPct(lang, p) }

// WriteCSV answers with a CSV file as the dashboard's exports are: UTF-8
// with a byte-order mark, the header, the rows, every cell kept from
// being read as a spreadsheet formula. It sets Content-Type and
// Content-Disposition (attachment, filename) and writes the status 200.
func WriteCSV(w http.ResponseWriter, filename string, header []string, rows [][]string) error {
	return writeCSV(w, filename, header, rows)
}
