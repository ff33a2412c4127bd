package public

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/hoso-vn/hoso/web"
)

// ScoreboardJSON is the answer of GET /api/public/v1/scoreboard. Total
// and each row are objects whose keys are Columns, exactly those
// published, with the same values as the CSV's (counts and rates as
// numbers).
type ScoreboardJSON struct {
	Period    Period `json:"period"`
	Kind      string `json:"kind"`
	Breakdown string `json:"breakdown"` // "" without one
	Agency    string `json:"agency,omitempty"`
	Sector    string `json:"sector,omitempty"`
	// AsOf is when the figures "now" (in_progress, overdue_now) were
	// read.
	AsOf     time.Time `json:"as_of"`
	LateRule string    `json:"late_rule"`
	Rates    Rates     `json:"rates"`
	// Bases names the base of each published rate column: a count of the
	// row ("received", "resolved") or "entered_status_9".
	Bases   map[string]string `json:"bases"`
	Columns []string          `json:"columns"`
	Total   map[string]any    `json:"total"`
	Rows    []map[string]any  `json:"rows"`
}

// Period is the months the figures cover, "2006-01"; both "" when there
// are no figures.
type Period struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Rates is the server's base of the headline rates and rounding of
// every rate.
type Rates struct {
	Base     string `json:"base"`
	Rounding string `json:"rounding"`
}

func (s *Server) scoreboardJSON(w http.ResponseWriter, r *http.Request, q *query) error {
	b, err := s.queryBoard(r.Context(), q)
	if err != nil {
		return err
	}
	out := ScoreboardJSON{Period: Period{b.From, b.To}, Kind: string(b.Kind), Breakdown: b.By, Agency: b.Agency, Sector: b.Sector,
		AsOf: b.AsOf.UTC().Truncate(time.Second), LateRule: string(b.Total.Report.LateRule),
		Rates:   Rates{string(b.Total.Report.Rates.Base), string(b.Total.Report.Rates.Rounding)},
		Bases:   map[string]string{},
		Columns: b.header(), Total: b.object(&b.Total), Rows: []map[string]any{}}
	for _, c := range b.Columns {
		if c.Rate {
			out.Bases[c.Name] = b.Total.Report.Bases[rateBases[c.Name]]
		}
	}
	for i := range b.Rows {
		out.Rows = append(out.Rows, b.object(&b.Rows[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// queryBoard returns the board a request's query asks for, as it is.
func (s *Server) queryBoard(ctx context.Context, q *query) (*board, error) {
	bq, err := s.boardQuery(q)
	if err != nil {
		return nil, err
	}
	return s.board(ctx, bq)
}

// object returns a row as a JSON object of its published columns.
func (b *board) object(row *boardRow) map[string]any {
	cells := b.cells(row)
	m := make(map[string]any, len(cells))
	for i, c := range b.Columns {
		switch {
		case c.Rate || len(c.Indicators) > 0: // counts and rates
			m[c.Name] = json.Number(cells[i])
		default:
			m[c.Name] = cells[i]
		}
	}
	return m
}

func (s *Server) scoreboardCSV(w http.ResponseWriter, r *http.Request, q *query) error {
	b, err := s.queryBoard(r.Context(), q)
	if err != nil {
		return err
	}
	rows := [][]string{b.cells(&b.Total)}
	for i := range b.Rows {
		rows = append(rows, b.cells(&b.Rows[i]))
	}
	return web.WriteCSV(w, "hoso-scoreboard.csv", b.header(), rows)
}

// favicon is the pages' icon: without one, browsers ask for
// /favicon.ico and log the 404.
var favicon = []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#12355b"/><path d="M4 8.5l2.5 2.5L12 5" stroke="#fff" stroke-width="2" fill="none"/></svg>`)

// asset serves the dashboard's stylesheet, the public surface's own and
// the icon.
func (s *Server) asset(w http.ResponseWriter, r *http.Request, _ *query) error {
	var body []byte
	ctype := "text/css; charset=utf-8"
	switch name := r.PathValue("file"); name {
	case "style.css":
		body, _ = web.Asset(name)
	case "public.css":
		body = publicCSS
	case "favicon.svg":
		body, ctype = favicon, "image/svg+xml"
	}
	if body == nil {
		return errNotFound
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "public, max-age=3600")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}
