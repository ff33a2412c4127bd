package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// TestStatsCommand prints the statistics of the API fixture (see
// testutil.NewAPIFixture) through a running instance.
func TestStatsCommand(t *testing.T) {
	f := testutil.NewAPIFixture(t)
	hosoCmd := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := run(context.Background(), args, func(k string) string {
			if k == "HOSO_SERVER" {
				return f.In.HTTPURL
			}
			return ""
		}, strings.NewReader(""), &out, &errb)
		return out.String() + errb.String(), err
	}
	out, err := hosoCmd("stats", "--from", "2025", "--to", "2025")
	if err != nil {
		t.Fatalf("stats: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Kỳ báo cáo: từ tháng 01/2025 đến tháng 12/2025 (số liệu phát sinh trong kỳ; trước hạn, đúng hạn, quá hạn tính theo ngày kết thúc xử lý).",
		"Tiếp nhận 2 hồ sơ; đã giải quyết 1 hồ sơ (1 hồ sơ trước hạn, đúng hạn, đạt 50,00%); 0 hồ sơ quá hạn (0,00%); " +
			"đang giải quyết 1 (quá hạn 0); tạm dừng 0; nộp trực tuyến 0,00%; số hóa hồ sơ đầu vào 100,00%; kết quả điện tử 100,00%.",
		// The fixture's seven transitions: the returned dossier's four,
		// the other's receipt and assignment (its return was rejected),
		// the submission; events of October 2025 entered now, in the
		// stream, are late entries.
		"Tồn kỳ trước chuyển sang 0 (tiếp nhận trước kỳ, chưa giải quyết xong khi kỳ bắt đầu).",
		// The resolved dossier was returned: none waits.
		"Đã giải quyết, chưa trả kết quả 0: chờ đến 1 ngày làm việc 0, 2–5 ngày 0, trên 5 ngày 0.",
		"Chuyển trạng thái 7 lần, trong đó cập nhật muộn 7 lần (100,00%).",
		// Both received at the counter, no channel given: at the desk.
		"Hình thức nộp: trực tiếp 2; bưu chính công ích 0; trực tuyến toàn trình 0 (0,00%); trực tuyến một phần 0.",
		"Thanh toán trực tuyến 0/0 hồ sơ đã thanh toán (0,00%); hài lòng 0/0 hồ sơ được đánh giá (0,00%).",
		// The fixture's engine closed no month of 2025.
		"Tồn cuối kỳ: chưa chốt (kỳ chưa kết thúc, hoặc hoso không ghi nhận thời điểm cuối kỳ).",
		"Tỷ lệ cắt bớt (không làm tròn) đến hai chữ số thập phân: đạt, quá hạn, nộp trực tuyến, số hóa trên số tiếp nhận; " +
			"kết quả điện tử trên số đã xử lý xong; cập nhật muộn trên số lần chuyển trạng thái.",
		"Phản ánh, kiến nghị: tiếp nhận 0; đã trả lời 0 (0,00%), trong đó đúng hạn 0; đang xử lý 0.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stats output lacks %q:\n%s", want, out)
		}
	}

	out, err = hosoCmd("stats", "--by", "month", "--from", "2025-09", "--to", "2025-10", "--kind", "dossier", "--late", "return")
	if err != nil {
		t.Fatalf("stats --by month: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 15 || !strings.Contains(lines[0], "ngày trả kết quả") || !strings.HasPrefix(lines[11], "Mỗi tháng: các hồ sơ tiếp nhận trong tháng") ||
		!strings.Contains(lines[12], "THÁNG TIẾP NHẬN") || !strings.HasPrefix(strings.TrimSpace(lines[13]), "2025-09") ||
		!strings.HasPrefix(strings.TrimSpace(lines[14]), "2025-10") || strings.Contains(out, "Phản ánh") {
		t.Fatalf("stats --by month:\n%s", out)
	}
	if fields := strings.Fields(lines[14]); len(fields) != 17 || fields[1] != "—" || fields[2] != "2" || fields[3] != "1" || fields[5] != "50,00%" {
		t.Errorf("October row %q, want nothing carried over, 2 received, 1 returned, 50,00%%", lines[11])
	}

	// By level: the shipped standard definition gives none, so both
	// received dossiers are under "(khác)".
	out, err = hosoCmd("stats", "--kind", "dossier", "--from", "2025", "--to", "2025", "--by", "level")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); err != nil || !strings.Contains(out, "CẤP") ||
		strings.Fields(lines[len(lines)-1])[0] != string(workflow.LevelOther) || strings.Fields(lines[len(lines)-1])[2] != "2" {
		t.Errorf("stats --by level = %v\n%s", err, out)
	}

	// From November, the dossier received on 1 October and still in
	// progress is carried over; the returned one is not.
	out, err = hosoCmd("stats", "--kind", "dossier", "--from", "2025-11", "--to", "2025-12", "--by", "agency")
	if err != nil || !strings.Contains(out, "Tồn kỳ trước chuyển sang 1 (") || !strings.Contains(out, "TỒN KỲ TRƯỚC") {
		t.Errorf("stats --from 2025-11 --by agency = %v\n%s", err, out)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 13 || strings.Fields(lines[12])[0] != "H57" || strings.Fields(lines[12])[1] != "1" {
		t.Errorf("stats --from 2025-11 --by agency: want the row of H57 with 1 carried over\n%s", out)
	}

	// The rates' base and rounding of the server (received, truncated)
	// give way to the flags': 1 early of 1 resolved is 100%.
	out, err = hosoCmd("stats", "--kind", "dossier", "--rate-base", "resolved", "--rate-rounding", "round")
	if err != nil || !strings.Contains(out, "(1 hồ sơ trước hạn, đúng hạn, đạt 100,00%)") ||
		!strings.Contains(out, "Tỷ lệ làm tròn đến hai chữ số thập phân: đạt, quá hạn trên số đã giải quyết; nộp trực tuyến, số hóa trên số tiếp nhận;") {
		t.Errorf("stats --rate-base resolved --rate-rounding round = %v\n%s", err, out)
	}
	for _, args := range [][]string{{"--rate-base", "issued"}, {"--rate-rounding", "ceil"}} {
		if out, err = hosoCmd(append([]string{"stats"}, args...)...); err == nil || !strings.Contains(err.Error(), `"`+args[1]+`" is not one of`) {
			t.Errorf("stats %s = %v, %s; want the server to refuse it", args, err, out)
		}
	}

	out, err = hosoCmd("stats", "-o", "json", "--kind", "feedback")
	var doc map[string]api.Stats
	if err != nil || json.Unmarshal([]byte(out), &doc) != nil || len(doc) != 1 || doc["feedback"].Total.Kind != workflow.KindFeedback {
		t.Fatalf("stats -o json --kind feedback = %v, %s", err, out)
	}

	if out, err = hosoCmd("stats", "--by", "colour"); err == nil || !strings.Contains(err.Error(), "by: \"colour\" is not one of") {
		t.Fatalf("stats --by colour = %v, %s", err, out)
	}
	if out, err = hosoCmd("stats", "extra"); err == nil {
		t.Fatalf("stats extra = nil error, %s", out)
	}
}

// TestStatsHeadline prints the report of Tây Ninh's first nine months of
// 2024 (DESIGN.md) in the shape the province published it.
func TestStatsHeadline(t *testing.T) {
	tn := workflow.Tally{Received: 270497, Resolved: 260103, ResolvedEarly: 250000, ResolvedOnTime: 4598, ResolvedLate: 5505,
		DigitizedInputs: 260760, ElectronicResults: 236772, InProgress: 8120, InProgressOverdue: 311, Paused: 2274,
		ReceivedOnline: 189348}
	r := workflow.NewReport(tn, workflow.ReportOptions{})
	want := "Tiếp nhận 270.497 hồ sơ; đã giải quyết 260.103 hồ sơ (254.598 hồ sơ trước hạn, đúng hạn, đạt 94,12%); " +
		"5.505 hồ sơ quá hạn (2,03%); đang giải quyết 8.120 (quá hạn 311); tạm dừng 2.274; " +
		"nộp trực tuyến 70,00%; số hóa hồ sơ đầu vào 96,40%; kết quả điện tử 91,03%."
	if got := headline(&r); got != want {
		t.Errorf("headline =\n%s\nwant\n%s", got, want)
	}
	// Over resolved and rounded: 254,598 of 260,103 is 97.883…%, 5,505 of
	// 260,103 is 2.1164…%; the other rates keep their bases.
	r = workflow.NewReport(tn, workflow.ReportOptions{Rates: workflow.Rates{Base: workflow.BaseResolved, Rounding: workflow.RoundHalfUp}})
	want = "Tiếp nhận 270.497 hồ sơ; đã giải quyết 260.103 hồ sơ (254.598 hồ sơ trước hạn, đúng hạn, đạt 97,88%); " +
		"5.505 hồ sơ quá hạn (2,12%); đang giải quyết 8.120 (quá hạn 311); tạm dừng 2.274; " +
		"nộp trực tuyến 70,00%; số hóa hồ sơ đầu vào 96,40%; kết quả điện tử 91,03%."
	if got := headline(&r); got != want {
		t.Errorf("headline over resolved, rounded =\n%s\nwant\n%s", got, want)
	}
	if got, want := rateBases(&r), "Tỷ lệ làm tròn đến hai chữ số thập phân: đạt, quá hạn trên số đã giải quyết; "+
		"nộp trực tuyến, số hóa trên số tiếp nhận; kết quả điện tử trên số đã xử lý xong; cập nhật muộn trên số lần chuyển trạng thái."; got != want {
		t.Errorf("rateBases =\n%s\nwant\n%s", got, want)
	}
	split := workflow.NewReport(workflow.Tally{Resolved: 9, ResolvedLate: 5, ResolvedLateApologized: 2, InProgress: 4, InProgressOverdue: 3,
		InProgressOverdueApologized: 1}, workflow.ReportOptions{})
	if got, want := apologySplit(&split), "Quá hạn: đã có thư xin lỗi 2, chưa có thư xin lỗi 3; "+
		"đang giải quyết quá hạn: đã có thư xin lỗi 1, chưa có thư xin lỗi 2."; got != want {
		t.Errorf("apologySplit =\n%s\nwant\n%s", got, want)
	}
	entries := workflow.NewReport(workflow.Tally{Transitions: 2045, LateEntries: 31}, workflow.ReportOptions{})
	if got, want := lateEntries(&entries), "Chuyển trạng thái 2.045 lần, trong đó cập nhật muộn 31 lần (1,51%)."; got != want { // 1.5158…%
		t.Errorf("lateEntries =\n%s\nwant\n%s", got, want)
	}
	wait := workflow.ReturnWait{Dossiers: 1503, UpTo1: 1200, From2To5: 290, Over5: 13, OldestDays: 41, Oldest: "000.00.12.H57-240301-0007"}
	if got, want := returnWait(workflow.KindDossier, &wait), "Đã giải quyết, chưa trả kết quả 1.503: chờ đến 1 ngày làm việc 1.200, "+
		"2–5 ngày 290, trên 5 ngày 13; lâu nhất 41 ngày làm việc (hồ sơ 000.00.12.H57-240301-0007)."; got != want {
		t.Errorf("returnWait =\n%s\nwant\n%s", got, want)
	}
	fb := workflow.NewReport(workflow.Tally{Received: 306, Resolved: 29, ResolvedEarly: 20, ResolvedOnTime: 5, InProgress: 277},
		workflow.ReportOptions{Kind: workflow.KindFeedback})
	if got, want := headline(&fb), "Phản ánh, kiến nghị: tiếp nhận 306; đã trả lời 29 (9,47%), trong đó đúng hạn 25; đang xử lý 277."; got != want {
		t.Errorf("feedback headline =\n%s\nwant\n%s", got, want)
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1.000", 270497: "270.497", 1234567: "1.234.567", -5505: "-5.505"} {
		if got := viInt(n); got != want {
			t.Errorf("viInt(%d) = %q, want %q", n, got, want)
		}
	}
	if got := viPct(96.4); got != "96,40" {
		t.Errorf("viPct(96.4) = %q", got)
	}
}
