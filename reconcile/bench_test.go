package reconcile

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// BenchmarkParseCompare parses a 50,000-row CSV export and compares it
// with as many dossiers held in memory (one in ten differing), the scan
// of missing dossiers included: the work of one reconciliation apart from
// the store reads. It reports rows/s.
func BenchmarkParseCompare(b *testing.B) {
	const n = 50_000
	h := hosoState{}
	var buf bytes.Buffer
	buf.WriteString("\ufeffMã hồ sơ;Trạng thái;Có kết quả;Đã số hóa;Ngày hẹn trả\n")
	due := time.Date(2025, 10, 15, 17, 0, 0, 0, workflow.Zone)
	for i := range n {
		code := fmt.Sprintf("000.00.12.H57-251001-%05d", i)
		h.add(code, "H57", 4, false, due, workflow.AttachmentInputDigitized)
		status := "Đang xử lý"
		if i%10 == 0 {
			status = "9"
		}
		fmt.Fprintf(&buf, "%s;%s;không;có;15/10/2025\n", code, status)
	}
	data := buf.Bytes()
	codes := h.codes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rows, problems, err := Parse(bytes.NewReader(data), "")
		if err != nil || len(rows) != n || len(problems) != 0 {
			b.Fatalf("Parse() = %d rows, %d problems, %v", len(rows), len(problems), err)
		}
		rep, err := Compare(rows, h.lookup, h.known(Scope{Agency: "H57"}, codes))
		if err != nil || rep.Counts[KindStatus] != n/10 {
			b.Fatalf("Compare() = %v, %v", rep.Counts, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
