package reconcile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/workflow"
)

func flag(b bool) *bool { return &b }

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, workflow.Zone) }

// problem is a RowProblem without its Vietnamese message, which the tests
// check only for presence.
type problem struct {
	Line   int
	Code   string
	Column string
	Msg    string // a part of the English message
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, format, in string
		rows             []Row
		problems         []problem
	}{
		{
			name: "comma, English names, quoted fields, CRLF",
			in: "code,status,has_result,digitized,due,note\r\n" +
				"000.00.12.H57-251001-0001,4,0,1,2025-10-15,\"thiếu, chờ \"\"bổ sung\"\"\"\r\n" +
				"\"000.00.12.H57-251001-0002\",\"10\",true,false,\"2025-10-16\",\r\n",
			rows: []Row{
				{Line: 2, Code: "000.00.12.H57-251001-0001", Status: 4, HasResult: flag(false), Digitized: flag(true), Due: day(2025, 10, 15)},
				{Line: 3, Code: "000.00.12.H57-251001-0002", Status: 10, HasResult: flag(true), Digitized: flag(false), Due: day(2025, 10, 16)},
			},
		},
		{
			name: "semicolon, Vietnamese names, BOM, names of statuses, có/không",
			in: "\ufeffSTT;Mã hồ sơ;Trạng thái;Có kết quả;Đã số hóa;Ngày hẹn trả\n" +
				"1;A-1;Đang xử lý;không;có;15/10/2025\n" +
				"2;A-2;ĐÃ TRẢ KẾT QUẢ;Có;Chưa;5/1/2026 17:00\n" +
				"3;A-3;\"9 - Đã xử lý xong\";x;0;2025-10-15T10:00:00Z\n" +
				"4;A-4;dang xu ly;;;\n",
			rows: []Row{
				{Line: 2, Code: "A-1", Status: 4, HasResult: flag(false), Digitized: flag(true), Due: day(2025, 10, 15)},
				{Line: 3, Code: "A-2", Status: 10, HasResult: flag(true), Digitized: flag(false), Due: day(2026, 1, 5)},
				{Line: 4, Code: "A-3", Status: 9, HasResult: flag(true), Digitized: flag(false), Due: day(2025, 10, 15)},
				{Line: 5, Code: "A-4", Status: 4},
			},
		},
		{
			name: "national field names, tab separator, decomposed (NFD) status",
			in:   "MaHoSo\tTrangThai\tNgayHenTra\nB-1\t\"Đang xu\u0309 ly\u0301\"\t2025-10-15 08:30\nB-2\t2\t\n",
			rows: []Row{
				{Line: 2, Code: "B-1", Status: 4, Due: day(2025, 10, 15)},
				{Line: 3, Code: "B-2", Status: 2},
			},
		},
		{
			name: "decomposed Vietnamese header, title lines above it, an RFC 3339 due in another zone",
			in:   "DANH SÁCH HỒ SƠ\nĐơn vị: H57\nMa\u0303 hô\u0300 sơ,Trạng thái,Ngày hẹn trả\nC-1,4,2025-10-14T20:00:00Z\n",
			rows: []Row{{Line: 4, Code: "C-1", Status: 4, Due: day(2025, 10, 15)}},
		},
		{
			name: "a quoted field over two lines keeps the line numbers",
			in:   "ma_ho_so,ghi_chu,trang_thai\nD-1,\"dòng một\ndòng hai\",4\nD-2,,5\n",
			rows: []Row{{Line: 2, Code: "D-1", Status: 4}, {Line: 4, Code: "D-2", Status: 5}},
		},
		{
			name: "only the code column",
			in:   "code\nE-1\n\nE-2\n",
			rows: []Row{{Line: 2, Code: "E-1"}, {Line: 4, Code: "E-2"}},
		},
		{
			name: "bad lines are reported with their line numbers",
			in: "ma_ho_so;trang_thai;co_ket_qua;da_so_hoa;ngay_hen_tra\n" +
				"F-1;11;có;không;15/10/2025\n" + // 2: bad status, the rest read
				"F-2;4;maybe;2;31/02/2025\n" + // 3: bad yes/no twice, bad date
				"F-3;4\n" + // 4: too few fields
				"F-4;4;1;1;2025-10-15;x\n" + // 5: an extra non-empty field
				"F-5;4;1;1;2025-10-15;;\n" + // 6: extra empty fields are fine
				";4;1;1;\n" + // 7: no code
				";;;;\n" + // 8: empty, skipped silently
				"F 6;4;;;\n" + // 9: not a code
				"F-1;5;;;\n" + // 10: listed again
				"F-7;4\"x;;;\n" + // 11: bare quote
				"F-8;true;;;2025-13-01\n", // 12: bad status and date
			rows: []Row{
				{Line: 2, Code: "F-1", HasResult: flag(true), Digitized: flag(false), Due: day(2025, 10, 15)},
				{Line: 3, Code: "F-2", Status: 4},
				{Line: 6, Code: "F-5", Status: 4, HasResult: flag(true), Digitized: flag(true), Due: day(2025, 10, 15)},
				{Line: 12, Code: "F-8"},
			},
			problems: []problem{
				{2, "F-1", "trang_thai", `"11" is not a status code`},
				{3, "F-2", "co_ket_qua", `"maybe" is not yes or no`},
				{3, "F-2", "da_so_hoa", `"2" is not yes or no`},
				{3, "F-2", "ngay_hen_tra", `"31/02/2025" is not a date`},
				{4, "", "", "2 fields, the header has 5"},
				{5, "", "", "6 fields, the header has 5"},
				{7, "", "ma_ho_so", "no dossier code"},
				{9, "", "ma_ho_so", `"F 6" is not a dossier code`},
				{10, "F-1", "ma_ho_so", "listed again (first at line 2)"},
				{11, "", "", `bare " in non-quoted-field`},
				{12, "F-8", "trang_thai", `"true" is not a status code`},
				{12, "F-8", "ngay_hen_tra", `"2025-13-01" is not a date`},
			},
		},
		{
			name: "JSON array of objects, values of every type",
			in: `[
  {"ma_ho_so": "G-1", "trang_thai": 4, "co_ket_qua": false, "da_so_hoa": 1, "ngay_hen_tra": "2025-10-15", "other": {"x": 1}},
  {"MaHoSo": "G-2", "TrangThai": "Đã xử lý xong", "has_result": "có", "digitized": null, "due": "15/10/2025"},
  {"code": "G-3", "status": null}
]`,
			rows: []Row{
				{Line: 2, Code: "G-1", Status: 4, HasResult: flag(false), Digitized: flag(true), Due: day(2025, 10, 15)},
				{Line: 3, Code: "G-2", Status: 9, HasResult: flag(true), Due: day(2025, 10, 15)},
				{Line: 4, Code: "G-3"},
			},
		},
		{
			name: "JSON array with wrong types",
			in: "[{\"code\": 12},\n" +
				" 3,\n" +
				" {\"code\": \"H-1\", \"status\": true, \"due\": 20251015, \"has_result\": \"perhaps\"},\n" +
				" {\"code\": \"H-2\", \"status\": [4]},\n" +
				" {\"code\": \"H-3\", \"ma_ho_so\": \"H-4\"},\n" +
				" {\"code\": \"H-5\", \"status\": 4.5, \"digitized\": true}]",
			rows: []Row{
				{Line: 3, Code: "H-1"},
				{Line: 4, Code: "H-2"},
				{Line: 6, Code: "H-5", Digitized: flag(true)},
			},
			problems: []problem{
				{1, "", "code", "must be a string, not 12"},
				{2, "", "", "not a JSON object"},
				{3, "H-1", "status", "must be a code 1–10 or a status name, not true"},
				{3, "H-1", "has_result", `"perhaps" is not yes or no`},
				{3, "H-1", "due", "not a date"},
				{4, "H-2", "status", "status is an array"},
				{5, "", "ma_ho_so", `keys "code" and "ma_ho_so" both give ma_ho_so`},
				{6, "H-5", "status", `"4.5" is not a status code`},
			},
		},
		{
			name: "NDJSON with a bad line and blank lines",
			in:   "{\"code\":\"I-1\",\"status\":4}\n\nnot json\n{\"code\":\"I-2\",\"status\":\"x\"}\r\n[1]\n",
			rows: []Row{{Line: 1, Code: "I-1", Status: 4}, {Line: 4, Code: "I-2"}},
			problems: []problem{
				{3, "", "", "not a JSON object: invalid character"},
				{4, "I-2", "status", `"x" is not a status code`},
				{5, "", "", "not a JSON object"},
			},
		},
		{
			name: "a stream of indented JSON objects",
			in:   "{\n  \"code\": \"J-1\",\n  \"status\": 4\n}\n{\n  \"code\": \"J-2\"\n}\n",
			rows: []Row{{Line: 1, Code: "J-1", Status: 4}, {Line: 5, Code: "J-2"}},
		},
		{
			name:   "a format given overrides sniffing",
			format: "csv",
			in:     "code,status\nK-1,4\n",
			rows:   []Row{{Line: 2, Code: "K-1", Status: 4}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, problems, err := Parse(strings.NewReader(tt.in), tt.format)
			if err != nil {
				t.Fatalf("Parse() error %v", err)
			}
			if diff := cmp.Diff(tt.rows, rows); diff != "" {
				t.Errorf("Parse() rows (-want +got):\n%s", diff)
			}
			var got []problem
			for _, p := range problems {
				if p.MessageVI == "" {
					t.Errorf("problem %v has no Vietnamese message", p)
				}
				got = append(got, problem{p.Line, p.Code, p.Column, p.Message})
			}
			if len(got) != len(tt.problems) {
				t.Fatalf("Parse() problems:\n%v\nwant\n%v", problems, tt.problems)
			}
			for i, w := range tt.problems {
				g := got[i]
				if g.Line != w.Line || g.Code != w.Code || g.Column != w.Column || !strings.Contains(g.Msg, w.Msg) {
					t.Errorf("problem %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, format, in string
		want             error
		msg              string
	}{
		{"empty", "", " \n\t", ErrFormat, "empty"},
		{"no code column", "", "name,status\nA,4\n", ErrFormat, "no header row naming the dossier code"},
		{"code column below the first 10 lines", "", strings.Repeat("title\n", 10) + "code\nA-1\n", ErrFormat, "first 10 lines"},
		{"not UTF-8", "", "M\xe3 h\xf4 s\xf5,x\nA,1\n", ErrFormat, "not UTF-8"},
		{"UTF-16", "", "\xff\xfec\x00o\x00d\x00e\x00", ErrFormat, "UTF-16"},
		{"an xlsx workbook", "", "PK\x03\x04\x14\x00\x06\x00", ErrFormat, "xlsx"},
		{"an xls workbook", "", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ErrFormat, ".xls"},
		{"binary", "", "code\n\x00\x01\x02", ErrFormat, "binary"},
		{"two code columns", "", "code;ma_ho_so\nA;B\n", ErrFormat, `columns "code" and "ma_ho_so" both give ma_ho_so`},
		{"broken JSON array", "", "[{\"code\":\"A-1\"},\n{\"code\":\n", ErrFormat, "JSON syntax error at line 2"},
		{"JSON array with data after it", "", "[{\"code\":\"A-1\"}]\n{}", ErrFormat, "data after the JSON array at line 2"},
		{"JSON that is not an array or objects", "json", "\"code\"", ErrFormat, "array of objects"},
		{"NDJSON without one object", "", "{nope\n{nor this\n", ErrFormat, "no line is a JSON object"},
		{"unknown format", "xml", "code\nA\n", nil, `unknown format "xml"`},
		{"too many rows", "", "code\n" + strings.Repeat("A-1\n", MaxRows+1), ErrTooLarge, "more than 200000 rows"},
		{"too many JSON rows", "", strings.Repeat("{\"code\":\"A-1\"}\n", MaxRows+1), ErrTooLarge, "more than 200000 rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse(strings.NewReader(tt.in), tt.format)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Parse() error %v, want %v containing %q", err, tt.want, tt.msg)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		big := strings.NewReader("code\n" + strings.Repeat("x", MaxBytes))
		if _, _, err := Parse(big, ""); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "50 MiB") {
			t.Fatalf("Parse(%d bytes) error %v, want ErrTooLarge", MaxBytes+5, err)
		}
	})
	t.Run("exactly the limits", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("code\n")
		for i := range MaxRows {
			fmt.Fprintf(&b, "A-%d\n", i)
		}
		rows, problems, err := Parse(strings.NewReader(b.String()), "")
		if err != nil || len(rows) != MaxRows || len(problems) != 0 {
			t.Fatalf("Parse(%d rows) = %d rows, %d problems, %v", MaxRows, len(rows), len(problems), err)
		}
	})
}

func TestParseStatus(t *testing.T) {
	for in, want := range map[string]workflow.Status{
		"1": 1, " 10 ": 10, "Mới đăng ký": 1, "MỚI ĐĂNG KÝ": 1, "moi dang ky": 1, "Không được tiếp nhận": 3,
		"Được tiếp nhận": 2, "Đã tiếp nhận": 2, "Đang giải quyết": 4, "Yêu cầu bổ sung giấy tờ": 5,
		"Yêu cầu thực hiện nghĩa vụ tài chính": 6, "Công dân yêu cầu rút hồ sơ": 7, "Dừng xử lý": 8,
		"Đã xử lý   xong": 9, "Đã trả": 10, "Result returned": 10, "in progress": 4,
		"4 - Đang xử lý": 4, "4. Đang xử lý": 4, "4)": 4, "9 – Resolved": 9,
		"0": 0, "11": 0, "-1": 0, "4 - Đã trả kết quả": 0, "đang": 0, "": 0, "4x": 0, "99999999999999999999": 0,
	} {
		got, ok := parseStatus(in)
		if got != want || ok != (want != 0) {
			t.Errorf("parseStatus(%q) = %v, %v, want %v", in, got, ok, want)
		}
	}
}

func TestParseDate(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2025-10-15": day(2025, 10, 15), "15/10/2025": day(2025, 10, 15), "5/1/2026": day(2026, 1, 5),
		"05/01/2026 08:00": day(2026, 1, 5), "2025-10-15 17:00:00": day(2025, 10, 15),
		"2025-10-15T17:00:00": day(2025, 10, 15), "2025-10-15T17:00:00+07:00": day(2025, 10, 15),
		"2025-10-15T17:00:00Z": day(2025, 10, 16), "2025-10-14T16:59:59Z": day(2025, 10, 14),
		"2024-02-29": day(2024, 2, 29),
		"2025-02-29": {}, "31/04/2025": {}, "2025-1-5": {}, "15/10/25": {}, "15-10-2025": {}, "2025-10-15 noon": {},
		"2025/10/15": {}, "": {}, "today": {}, "15/10/2025 25:00": {},
	} {
		got, ok := parseDate(in)
		if !got.Equal(want) || ok != !want.IsZero() {
			t.Errorf("parseDate(%q) = %v, %v, want %v", in, got, ok, want)
		}
	}
}

func TestParseBool(t *testing.T) {
	for in, want := range map[string]int{
		"1": 1, "true": 1, "TRUE": 1, "có": 1, "Có": 1, "CÓ": 1, "yes": 1, "x": 1, "Đã": 1,
		"0": 0, "false": 0, "không": 0, "KHÔNG": 0, "no": 0, "chưa": 0,
		"2": -1, "": -1, "maybe": -1, "có lẽ": -1,
	} {
		got, ok := parseBool(in)
		if want < 0 && ok || want >= 0 && (!ok || got != (want == 1)) {
			t.Errorf("parseBool(%q) = %v, %v, want %d", in, got, ok, want)
		}
	}
}

func TestSniff(t *testing.T) {
	for in, want := range map[string]string{
		"[{}]": FormatJSON, "\ufeff  \n{\"a\":1}": FormatJSON, "code\nA": FormatCSV, "": FormatCSV, "\ufeffcode": FormatCSV,
	} {
		if got := Sniff([]byte(in)); got != want {
			t.Errorf("Sniff(%q) = %q, want %q", in, got, want)
		}
	}
}
