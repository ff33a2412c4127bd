package reconcile

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/workflow"
)

// FuzzParse checks that Parse never panics and that what it returns holds
// together: valid unique codes, line numbers inside the file, statuses and
// dates in range, the same answer twice. The seed corpus is in
// testdata/fuzz/FuzzParse; run with go test -fuzz=FuzzParse ./reconcile.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"ma_ho_so;trang_thai;co_ket_qua;da_so_hoa;ngay_hen_tra\nA-1;4;có;không;15/10/2025\n",
		"\ufeffMã hồ sơ,Trạng thái\n\"A-1\",\"Đang xử lý\"\nA-2,11\n",
		"code\tstatus\nA-1\t\"4\nA-2\t5\n",
		`[{"code":"A-1","status":4,"has_result":true,"due":"2025-10-15"},{"code":3}]`,
		"{\"code\":\"A-1\"}\nnot json\n{\"code\":\"A-2\",\"status\":\"x\"}\n",
		"{\n \"code\": \"A-1\"\n}\n",
	} {
		f.Add([]byte(s), uint8(0))
	}
	formats := []string{"", FormatCSV, FormatJSON}
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		format := formats[int(sel)%len(formats)]
		rows, problems, err := Parse(bytes.NewReader(data), format)
		if err != nil {
			if rows != nil || problems != nil {
				t.Fatalf("Parse() returned rows or problems with error %v", err)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		seen := map[string]bool{}
		for _, r := range rows {
			switch {
			case !workflow.IsDossierCode(r.Code):
				t.Fatalf("row %+v: invalid code", r)
			case seen[r.Code]:
				t.Fatalf("row %+v: code listed twice", r)
			case r.Line < 1 || r.Line > lines:
				t.Fatalf("row %+v: line outside 1–%d", r, lines)
			case r.Status != 0 && !r.Status.Valid():
				t.Fatalf("row %+v: invalid status", r)
			case !r.Due.IsZero() && (r.Due.Location() != workflow.Zone || r.Due.Hour() != 0):
				t.Fatalf("row %+v: due is not a midnight in Vietnam", r)
			}
			seen[r.Code] = true
		}
		for _, p := range problems {
			if p.Line < 1 || p.Line > lines || p.Message == "" || p.MessageVI == "" {
				t.Fatalf("problem %+v: line outside 1–%d or no message", p, lines)
			}
		}
		rows2, problems2, err := Parse(bytes.NewReader(data), format)
		if err != nil || !cmp.Equal(rows, rows2) || !cmp.Equal(problems, problems2) {
			t.Fatalf("Parse() twice gives different answers (err %v)", err)
		}
		none := func([]string) (map[string]*workflow.Dossier, error) { return nil, nil }
		rep, err := Compare(rows, none, nil)
		if err != nil || rep.Counts[KindUnknown] != len(rows) || rep.Differences != len(rows) {
			t.Fatalf("Compare() against no dossiers = %+v, %v; want every row unknown", rep.Counts, err)
		}
	})
}
