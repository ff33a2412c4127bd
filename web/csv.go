package web

import (
	"encoding/csv"
	"net/http"
	"strings"
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

// csvCell keeps a spreadsheet from reading a cell as a formula: text
// starting with = + - @ or a control character gets a leading apostrophe,
// unless it is a number.
func csvCell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s
	}
	if s[0] == '-' && len(s) > 1 && s[1] >= '0' && s[1] <= '9' && !strings.ContainsAny(s, "=+@") {
		return s
	}
	return "'" + s
}
