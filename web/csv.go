package web

import (
	"encoding/csv"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"
)

// utf8BOM starts every CSV file, so that Excel reads it as UTF-8 and shows
// Vietnamese correctly.
const utf8BOM = "\ufeff"

// csvMaxRows bounds a CSV export of a list.
const csvMaxRows = 100_000

// writeCSV answers with a CSV file: the BOM, the header, the rows.
func writeCSV(w http.ResponseWriter, filename string, header []string, rows [][]string) error {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte(utf8BOM)); err != nil {
		return nil // the client left
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(header)
	for _, r := range rows {
		for i, c := range r {
			r[i] = csvCell(c)
		}
		_ = cw.Write(r)
	}
	cw.Flush()
	return nil
}

// csvCell keeps a spreadsheet from reading a cell as a formula. A cell
// is left as it is when it is empty, when it does not start with one of
// the characters a spreadsheet starts a formula with (= + - @, tab,
// carriage return, line feed, or the full-width ＝ ＋ － ＠ that some
// spreadsheets read as their ASCII forms), or when the whole cell is a
// number (csvNumberRE); any other cell gets a leading apostrophe, which
// spreadsheets show as text and do not display. Values a source chose
// (actor, agency, department, procedure) reach exports, so no cell is
// trusted.
func csvCell(s string) string {
	if s == "" || csvNumberRE.MatchString(s) {
		return s
	}
	r, _ := utf8.DecodeRuneInString(s)
	if !strings.ContainsRune("=+-@\t\r\n＝＋－＠", r) {
		return s
	}
	return "'" + s
}

// csvNumberRE is what csvCell leaves unprefixed although it starts with a
// minus sign: a number, strictly — an optional minus, ASCII digits, and
// optionally a point and more digits (-12, -0.5). No plus sign, exponent,
// spaces, thousands separators or anything after the digits: "-1+1" and
// "-1*cmd|…" are formulas.
var csvNumberRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
