package reconcile

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hoso-vn/hoso/workflow"
)

// Limits of Parse. An export beyond them is refused with ErrTooLarge: a
// province exports by agency or by month well within them.
const (
	MaxBytes = 50 << 20 // the largest export Parse reads: 50 MiB
	MaxRows  = 200_000  // the most rows (CSV records or JSON objects) after the header
)

// The formats Parse reads.
const (
	FormatCSV  = "csv"  // a header row, then one dossier per record
	FormatJSON = "json" // an array of objects, or one object per line (NDJSON)
)

var (
	// ErrTooLarge is returned by Parse for an export of more than MaxBytes
	// or MaxRows.
	ErrTooLarge = errors.New("reconcile: export too large")

	// ErrFormat is returned by Parse for a file that is not a CSV or JSON
	// export at all: no header row naming the dossier code, not UTF-8 text,
	// a spreadsheet workbook, or JSON that does not parse.
	ErrFormat = errors.New("reconcile: not a CSV or JSON export")
)

// Row is one dossier as the export shows it. A value the export does not
// give (no such column, an empty cell, a JSON null or absent key) or that
// could not be read (see RowProblem) is unset and not compared.
type Row struct {
	// Line is where the row starts in the file, counting from 1: the line
	// of the CSV record or of the JSON object's opening brace.
	Line int    `json:"line"`
	Code string `json:"code"` // the dossier code (mã hồ sơ)
	// Status is the status the export shows; zero when unset.
	Status workflow.Status `json:"status,omitempty"`
	// HasResult says whether the export shows the electronic result as
	// attached; nil when unset.
	HasResult *bool `json:"has_result,omitempty"`
	// Digitized says whether the export shows the digitized inputs as
	// attached; nil when unset.
	Digitized *bool `json:"digitized,omitempty"`
	// Due is the due date (NgayHenTra) the export shows, as midnight of its
	// calendar date in workflow.Zone; zero when unset.
	Due time.Time `json:"due,omitzero"`
}

// RowProblem is a row, or one value of a row, that could not be read. A
// row without a usable dossier code is dropped; otherwise only the bad
// value is, and the rest of the row is compared.
type RowProblem struct {
	Line      int    `json:"line"`             // line of the row in the file, from 1
	Code      string `json:"code,omitempty"`   // the row's dossier code, when it could be read
	Column    string `json:"column,omitempty"` // the column or key as the file names it
	Message   string `json:"message"`          // what is wrong, in English
	MessageVI string `json:"message_vi"`       // the same in Vietnamese
}

func (p RowProblem) String() string {
	if p.Column == "" {
		return fmt.Sprintf("line %d: %s", p.Line, p.Message)
	}
	return fmt.Sprintf("line %d: %s: %s", p.Line, p.Column, p.Message)
}

// Parse reads an export in the format ("csv", "json", or "" to sniff it
// with Sniff). It returns the rows in file order and a problem for each
// malformed row or value; problems are never fatal. The error wraps
// ErrFormat when the file is not an export at all, ErrTooLarge when it is
// beyond MaxBytes or MaxRows, or is the reader's error.
//
// CSV: the first record (within the first 10) whose columns name the
// dossier code is the header; lines above it (a report title) are
// skipped. The separator is ",", ";" or tab, whichever makes that header.
// Empty records and records of empty fields are skipped. A record with
// more non-empty fields or fewer fields than the header is a problem.
// JSON: an array of objects, or objects one per line (or concatenated).
// Keys are matched like CSV column names; other keys are ignored.
func Parse(r io.Reader, format string) (rows []Row, problems []RowProblem, err error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read export: %w", err)
	}
	if len(data) > MaxBytes {
		return nil, nil, fmt.Errorf("%w: larger than %d MiB; split it (by agency or by month)", ErrTooLarge, MaxBytes>>20)
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	if err := checkText(data); err != nil {
		return nil, nil, err
	}
	if format == "" {
		format = Sniff(data)
	}
	lines := bytes.Count(data, []byte("\n")) + 1
	p := &parser{
		rows: make([]Row, 0, min(lines, MaxRows)), seen: make(map[string]int, min(lines, MaxRows)),
		statuses: make(map[string]workflow.Status), bools: make(map[string]int8),
	}
	switch format {
	case FormatCSV:
		err = p.csv(data)
	case FormatJSON:
		err = p.json(data)
	default:
		return nil, nil, fmt.Errorf("reconcile: unknown format %q (want %s or %s)", format, FormatCSV, FormatJSON)
	}
	if err != nil {
		return nil, nil, err
	}
	return p.rows, p.problems, nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Sniff returns the format of an export: FormatJSON when its first
// character other than white space (and a byte-order mark) is "[" or "{",
// else FormatCSV.
func Sniff(data []byte) string {
	data = bytes.TrimLeft(bytes.TrimPrefix(data, utf8BOM), " \t\r\n")
	if len(data) > 0 && (data[0] == '[' || data[0] == '{') {
		return FormatJSON
	}
	return FormatCSV
}

// checkText refuses what is plainly not a text export, with advice.
func checkText(data []byte) error {
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return fmt.Errorf("%w: the file is empty", ErrFormat)
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return fmt.Errorf("%w: the file is UTF-16 text; save it as UTF-8 (\"CSV UTF-8\")", ErrFormat)
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return fmt.Errorf("%w: the file is a ZIP archive (an Excel .xlsx workbook?); save the sheet as \"CSV UTF-8\"", ErrFormat)
	case bytes.HasPrefix(data, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return fmt.Errorf("%w: the file is an Excel .xls workbook; save the sheet as \"CSV UTF-8\"", ErrFormat)
	case bytes.IndexByte(data[:min(len(data), 64<<10)], 0) >= 0:
		return fmt.Errorf("%w: the file holds binary data", ErrFormat)
	}
	return nil
}

// field is a value of a row that Parse reads.
type field int

const (
	fCode field = iota
	fStatus
	fResult
	fDigitized
	fDue
	nFields
)

// fieldNames are the canonical names of the fields, as docs/reconcile.md
// lists them.
var fieldNames = [nFields]string{"ma_ho_so", "trang_thai", "co_ket_qua", "da_so_hoa", "ngay_hen_tra"}

// aliases maps a column name, folded by columnKey, to its field. Folding
// makes "ma_ho_so", "MaHoSo", "Mã hồ sơ" and "MÃ HỒ SƠ" one name.
var aliases = map[string]field{
	"mahoso": fCode, "sohoso": fCode, "code": fCode, "dossier": fCode, "dossiercode": fCode,
	"trangthai": fStatus, "trangthaihoso": fStatus, "status": fStatus,
	"coketqua": fResult, "hasresult": fResult, "ketquadientu": fResult, "resultelectronic": fResult,
	"dasohoa": fDigitized, "sohoa": fDigitized, "digitized": fDigitized, "inputdigitized": fDigitized,
	"ngayhentra": fDue, "due": fDue, "duedate": fDue,
}

// columnKey folds a column name: diacritics and case removed, only
// letters and digits kept.
func columnKey(name string) string {
	f := fold(name)
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, f)
}

// cellKind is the JSON type of a value; CSV values are all strings.
type cellKind uint8

const (
	kindString cellKind = iota
	kindNumber
	kindBool
)

// cell is one value of a row as read from the file.
type cell struct {
	text string
	kind cellKind
	set  bool // the file gives a non-empty, non-null value
}

// parser accumulates the rows and problems of one export.
type parser struct {
	rows     []Row
	problems []RowProblem
	seen     map[string]int // dossier code -> line of the row that listed it
	n        int            // rows read, dropped ones included

	// Exports repeat a few values in every row: their readings are
	// remembered.
	statuses map[string]workflow.Status // value -> status; 0 when not a status
	bools    map[string]int8            // value -> 1 yes, 0 no, -1 neither
}

// status reads a status value, remembering the answer.
func (p *parser) status(s string) (workflow.Status, bool) {
	st, ok := p.statuses[s]
	if !ok {
		st, _ = parseStatus(s)
		if len(p.statuses) < 1024 {
			p.statuses[s] = st
		}
	}
	return st, st != 0
}

// bool reads a yes or no value, remembering the answer.
func (p *parser) bool(s string) (bool, bool) {
	v, ok := p.bools[s]
	if !ok {
		b, valid := parseBool(s)
		v = -1
		if valid {
			v = 0
			if b {
				v = 1
			}
		}
		if len(p.bools) < 1024 {
			p.bools[s] = v
		}
	}
	return v == 1, v >= 0
}

func (p *parser) problem(line int, code, column, en, vi string) {
	p.problems = append(p.problems, RowProblem{Line: line, Code: code, Column: column, Message: en, MessageVI: vi})
}

// count counts a row and refuses one beyond MaxRows.
func (p *parser) count() error {
	if p.n++; p.n > MaxRows {
		return fmt.Errorf("%w: more than %d rows; split it (by agency or by month)", ErrTooLarge, MaxRows)
	}
	return nil
}

// row builds the row of the cells read at line; names are the columns or
// keys the cells came from.
func (p *parser) row(line int, cells *[nFields]cell, names *[nFields]string) {
	c := cells[fCode]
	code := strings.TrimSpace(c.text)
	switch {
	case !c.set || code == "":
		for f := fStatus; f < nFields; f++ {
			if cells[f].set {
				p.problem(line, "", names[fCode], "no dossier code: the row is not compared",
					"thiếu mã hồ sơ: dòng không được đối soát")
				return
			}
		}
		return // a row of empty cells, as spreadsheets leave at the end
	case c.kind != kindString:
		p.problem(line, "", names[fCode], fmt.Sprintf("the dossier code must be a string, not %s", c.text),
			fmt.Sprintf("mã hồ sơ phải là chuỗi, không phải %s", c.text))
		return
	case !workflow.IsDossierCode(code):
		p.problem(line, "", names[fCode], fmt.Sprintf("%s is not a dossier code (letters, digits, '.', '_', '-', at most 64): the row is not compared", quote(code)),
			fmt.Sprintf("%s không phải mã hồ sơ (chữ, số, '.', '_', '-', tối đa 64 ký tự): dòng không được đối soát", quote(code)))
		return
	}
	if first, dup := p.seen[code]; dup {
		p.problem(line, code, names[fCode], fmt.Sprintf("the dossier is listed again (first at line %d): this row is not compared", first),
			fmt.Sprintf("hồ sơ bị lặp (đã có ở dòng %d): dòng này không được đối soát", first))
		return
	}
	p.seen[code] = line
	r := Row{Line: line, Code: code}
	bad := func(f field, en, vi string) {
		p.problem(line, code, names[f], en, vi)
	}
	if c := cells[fStatus]; c.set {
		if c.kind == kindBool {
			bad(fStatus, "the status must be a code 1–10 or a status name, not "+c.text, "trạng thái phải là mã 1–10 hoặc tên trạng thái, không phải "+c.text)
		} else if st, ok := p.status(c.text); ok {
			r.Status = st
		} else {
			bad(fStatus, fmt.Sprintf("%s is not a status code 1–10 or a status name", quote(c.text)),
				fmt.Sprintf("%s không phải mã trạng thái 1–10 hay tên trạng thái", quote(c.text)))
		}
	}
	for _, f := range []field{fResult, fDigitized} {
		c := cells[f]
		if !c.set {
			continue
		}
		b, ok := p.bool(c.text)
		if !ok {
			bad(f, fmt.Sprintf("%s is not yes or no (1/0, true/false, có/không)", quote(c.text)),
				fmt.Sprintf("%s không phải có hay không (1/0, true/false, có/không)", quote(c.text)))
			continue
		}
		if f == fResult {
			r.HasResult = &b
		} else {
			r.Digitized = &b
		}
	}
	if c := cells[fDue]; c.set {
		if d, ok := parseDate(c.text); ok && c.kind == kindString {
			r.Due = d
		} else {
			bad(fDue, fmt.Sprintf("%s is not a date (YYYY-MM-DD, DD/MM/YYYY or RFC 3339)", quote(c.text)),
				fmt.Sprintf("%s không phải ngày (YYYY-MM-DD, DD/MM/YYYY hoặc RFC 3339)", quote(c.text)))
		}
	}
	p.rows = append(p.rows, r)
}

// separators are the CSV separators Parse tries, in order of preference.
var separators = []rune{',', ';', '\t'}

// headerSearch is how many records Parse looks through for the header.
const headerSearch = 10

// header is the header row of a CSV export.
type header struct {
	sep    rune
	index  int             // records before it
	fields int             // number of fields
	col    [nFields]int    // index of each field's column; -1 when absent
	names  [nFields]string // the columns as the file names them
	found  int             // fields present
}

// findHeader finds the header row: for each separator, the first record
// of the first headerSearch that names the dossier code; the separator
// whose header names the most fields wins (then the most columns).
func findHeader(data []byte) (header, error) {
	var best header
	var dupErr error
	for _, sep := range separators {
		r := csv.NewReader(bytes.NewReader(data))
		r.Comma = sep
		r.FieldsPerRecord = -1
		r.TrimLeadingSpace = true
		for i := 0; i < headerSearch; i++ {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				continue
			}
			h, err := mapColumns(rec)
			if err != nil {
				dupErr = err
				break
			}
			if h.col[fCode] < 0 {
				continue
			}
			h.sep, h.index = sep, i
			if h.found > best.found || h.found == best.found && h.fields > best.fields {
				best = h
			}
			break
		}
	}
	switch {
	case best.found > 0:
		return best, nil
	case dupErr != nil:
		return header{}, dupErr
	}
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if !utf8.Valid(first) {
		return header{}, fmt.Errorf("%w: the first line is not UTF-8 text (Windows-1258 or TCVN3?); save the export as \"CSV UTF-8\"", ErrFormat)
	}
	return header{}, fmt.Errorf("%w: no header row naming the dossier code (ma_ho_so, MaHoSo, \"Mã hồ sơ\" or code) in the first %d lines", ErrFormat, headerSearch)
}

// mapColumns maps a header record to the fields. A field named by two
// columns is an error.
func mapColumns(rec []string) (header, error) {
	h := header{fields: len(rec)}
	for f := range h.col {
		h.col[f] = -1
	}
	for i, name := range rec {
		f, ok := aliases[columnKey(name)]
		if !ok {
			continue
		}
		if j := h.col[f]; j >= 0 {
			return header{}, fmt.Errorf("%w: columns %q and %q both give %s", ErrFormat, rec[j], name, fieldNames[f])
		}
		h.col[f], h.names[f] = i, strings.TrimSpace(name)
		h.found++
	}
	return h, nil
}

func (p *parser) csv(data []byte) error {
	h, err := findHeader(data)
	if err != nil {
		return err
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = h.sep
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	for i := 0; ; i++ {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if i > h.index {
				if err := p.count(); err != nil {
					return err
				}
				p.problem(pe.StartLine, "", "", "not a CSV record: "+pe.Err.Error()+" (column "+fmt.Sprint(pe.Column)+")",
					"không phải một dòng CSV hợp lệ: "+pe.Err.Error()+" (cột "+fmt.Sprint(pe.Column)+")")
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("read CSV: %w", err)
		}
		if i <= h.index {
			continue
		}
		if err := p.count(); err != nil {
			return err
		}
		line, _ := r.FieldPos(0)
		if len(rec) != h.fields && !(len(rec) > h.fields && blank(rec[h.fields:])) {
			if !blank(rec) {
				p.problem(line, "", "", fmt.Sprintf("%d fields, the header has %d: the row is not compared", len(rec), h.fields),
					fmt.Sprintf("dòng có %d cột, dòng tiêu đề có %d: dòng không được đối soát", len(rec), h.fields))
			}
			continue
		}
		if cells, ok := p.cells(line, rec, &h); ok {
			p.row(line, &cells, &h.names)
		}
	}
}

// cells picks the fields' values out of a record. A value that is not
// UTF-8 text is a problem, and the row is not compared.
func (p *parser) cells(line int, rec []string, h *header) (cells [nFields]cell, ok bool) {
	for f, j := range h.col {
		if j < 0 {
			continue
		}
		v := strings.TrimSpace(rec[j])
		if !utf8.ValidString(v) {
			p.problem(line, "", h.names[f], "not UTF-8 text (Windows-1258 or TCVN3?): the row is not compared",
				"không phải văn bản UTF-8 (Windows-1258 hay TCVN3?): dòng không được đối soát")
			return cells, false
		}
		cells[f] = cell{text: v, set: v != ""}
	}
	return cells, true
}

func blank(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// lineIndex maps byte offsets of a file to line numbers.
type lineIndex []int // offsets of the newlines

func newLineIndex(data []byte) lineIndex {
	var li lineIndex
	for i, b := range data {
		if b == '\n' {
			li = append(li, i)
		}
	}
	return li
}

// line returns the line, from 1, of the byte at off.
func (li lineIndex) line(off int64) int {
	return 1 + sort.SearchInts(li, int(off))
}

func (p *parser) json(data []byte) error {
	lines := newLineIndex(data)
	start := skipSpace(data, 0)
	if start == len(data) || data[start] != '[' && data[start] != '{' {
		return fmt.Errorf("%w: a JSON export is an array of objects or one object per line", ErrFormat)
	}
	if data[start] == '[' {
		return p.jsonArray(data, lines)
	}
	// One object per line, unless the first object spans lines (a stream
	// of indented objects, as jq prints them).
	end := bytes.IndexByte(data[start:], '\n')
	if end < 0 {
		end = len(data)
	} else {
		end += start
	}
	if !json.Valid(bytes.TrimSpace(data[start:end])) && jsonStream(data) {
		return p.jsonStream(data, lines)
	}
	return p.jsonLines(data)
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	return i
}

// syntaxError describes a JSON syntax error at the line where it is.
func syntaxError(err error, lines lineIndex, end int) error {
	off := int64(end)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
	}
	return fmt.Errorf("%w: JSON syntax error at line %d: %v", ErrFormat, lines.line(max(off-1, 0)), err)
}

func (p *parser) jsonArray(data []byte, lines lineIndex) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // [
		return syntaxError(err, lines, len(data))
	}
	for dec.More() {
		off := int64(skipSpace(data, int(dec.InputOffset())))
		if off < int64(len(data)) && data[off] == ',' {
			off = int64(skipSpace(data, int(off)+1))
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return syntaxError(err, lines, len(data))
		}
		if err := p.count(); err != nil {
			return err
		}
		p.object(lines.line(off), raw)
	}
	if _, err := dec.Token(); err != nil { // ]
		return syntaxError(err, lines, len(data))
	}
	if rest := skipSpace(data, int(dec.InputOffset())); rest < len(data) {
		return fmt.Errorf("%w: data after the JSON array at line %d", ErrFormat, lines.line(int64(rest)))
	}
	return nil
}

// jsonStream reports whether data is a sequence of JSON values.
func jsonStream(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
}

func (p *parser) jsonStream(data []byte, lines lineIndex) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		off := int64(skipSpace(data, int(dec.InputOffset())))
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return syntaxError(err, lines, len(data))
		}
		if err := p.count(); err != nil {
			return err
		}
		p.object(lines.line(off), raw)
	}
}

// jsonLines reads one object per line. A line that is not JSON is a
// problem; a file in which no line is JSON is not an export.
func (p *parser) jsonLines(data []byte) error {
	valid := 0
	for n, rest := 1, data; len(rest) > 0; n++ {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if err := p.count(); err != nil {
			return err
		}
		if !json.Valid(line) {
			var v any
			err := json.Unmarshal(line, &v)
			p.problem(n, "", "", "not a JSON object: "+err.Error(), "không phải đối tượng JSON: "+err.Error())
			continue
		}
		valid++
		p.object(n, line)
	}
	if valid == 0 {
		return fmt.Errorf("%w: no line is a JSON object", ErrFormat)
	}
	return nil
}

// object reads one JSON object as a row.
func (p *parser) object(line int, raw []byte) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		p.problem(line, "", "", "not a JSON object", "không phải đối tượng JSON")
		return
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var (
		cells [nFields]cell
		names [nFields]string
	)
	for _, k := range keys {
		f, ok := aliases[columnKey(k)]
		if !ok {
			continue
		}
		if names[f] != "" {
			p.problem(line, "", k, fmt.Sprintf("keys %q and %q both give %s: the row is not compared", names[f], k, fieldNames[f]),
				fmt.Sprintf("hai khóa %q và %q cùng cho %s: dòng không được đối soát", names[f], k, fieldNames[f]))
			return
		}
		names[f] = k
		v := bytes.TrimSpace(obj[k])
		switch {
		case len(v) == 0 || string(v) == "null":
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				p.problem(line, "", k, "not a JSON string", "không phải chuỗi JSON")
				return
			}
			s = strings.TrimSpace(s)
			cells[f] = cell{text: s, set: s != ""}
		case v[0] == 't' || v[0] == 'f':
			cells[f] = cell{text: string(v), kind: kindBool, set: true}
		case v[0] == '-' || v[0] >= '0' && v[0] <= '9':
			cells[f] = cell{text: string(v), kind: kindNumber, set: true}
		default:
			kind := "an object"
			if v[0] == '[' {
				kind = "an array"
			}
			code := ""
			if f != fCode && cells[fCode].kind == kindString {
				code = cells[fCode].text
			}
			p.problem(line, code, k, fmt.Sprintf("%s is %s, not a value", k, kind), fmt.Sprintf("%s là %s, không phải một giá trị", k, map[string]string{"an object": "đối tượng", "an array": "mảng"}[kind]))
		}
	}
	if names[fCode] == "" {
		names[fCode] = fieldNames[fCode]
	}
	p.row(line, &cells, &names)
}

// quote quotes a value for a message, shortened when long.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
