package web

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"Hộ tịch":                 "Hộ tịch",
		"000.00.12.H57":           "000.00.12.H57",
		"2025-10-01T09:00:00Z":    "2025-10-01T09:00:00Z",
		"0":                       "0",
		"12":                      "12",
		"-12":                     "-12",
		"-0.5":                    "-0.5",
		"94.12":                   "94.12",
		"-1*cmd|' /C calc'!A0":    "'-1*cmd|' /C calc'!A0",
		"-1+1":                    "'-1+1",
		"-1e3":                    "'-1e3",
		"-1.":                     "'-1.",
		"-.5":                     "'-.5",
		"--1":                     "'--1",
		"-":                       "'-",
		"-1\n=1":                  "'-1\n=1",
		"-1 ":                     "'-1 ",
		"+1":                      "'+1",
		"+1*cmd|' /C calc'!A0":    "'+1*cmd|' /C calc'!A0",
		"=SUM(A1)":                "'=SUM(A1)",
		"=1+1":                    "'=1+1",
		"@SUM(A1)":                "'@SUM(A1)",
		"-x":                      "'-x",
		"\t=1":                    "'\t=1",
		"\r=1":                    "'\r=1",
		"\n=1":                    "'\n=1",
		"＝1+1":                    "'＝1+1", // full-width equals sign
		"＋1":                      "'＋1",
		"－1":                      "'－1",
		"＠SUM(A1)":                "'＠SUM(A1)",
		"'already quoted":         "'already quoted",
		"a=b":                     "a=b",
		"=HYPERLINK(\"http://\")": "'=HYPERLINK(\"http://\")",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCSVExportGuardsFormulas exports, over HTTP, lists holding values a
// source chose (a department and an actor that are formulas): every such
// cell starts with an apostrophe, and the numbers the exports hold are
// left as they are.
func TestCSVExportGuardsFormulas(t *testing.T) {
	f := newFixture(t, false)
	read := func(path string) [][]string {
		t.Helper()
		resp, body := f.get(path, "")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("GET %s = %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, utf8BOM))).ReadAll()
		if err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, body)
		}
		return rows
	}
	has := func(rows [][]string, cell string) bool {
		return slices.ContainsFunc(rows, func(r []string) bool { return slices.Contains(r, cell) })
	}
	for _, path := range []string{"/overdue?format=csv", "/dossiers/" + url.PathEscape(codeHai) + "?format=csv"} {
		rows := read(path)
		if !has(rows, "'"+attackerCell) || has(rows, attackerCell) {
			t.Errorf("GET %s: the department %q is not guarded:\n%q", path, attackerCell, rows)
		}
		for _, r := range rows {
			for _, c := range r {
				if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) && !csvNumberRE.MatchString(c) {
					t.Errorf("GET %s: cell %q is unguarded", path, c)
				}
			}
		}
	}
	if rows := read("/dossiers/" + url.PathEscape(codeHai) + "?format=csv"); !has(rows, `'=HYPERLINK("http://evil.example")`) {
		t.Errorf("the control sheet's actor is not guarded:\n%q", rows)
	}
	// Numbers stay numbers: days late in the overdue list.
	rows := read("/overdue?format=csv")
	if len(rows) < 2 || !csvNumberRE.MatchString(rows[1][6]) || strings.HasPrefix(rows[1][6], "'") {
		t.Errorf("/overdue?format=csv: days late %q, want a number", rows)
	}
}
