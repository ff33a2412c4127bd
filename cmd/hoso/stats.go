package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/workflow"
)

// statsCommand prints the statistics of a period through the HTTP API, in
// the shape provinces publish them.
type statsCommand struct{ env }

func (c *statsCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("stats", "stats [flags]", c.stderr)
	server := addServerFlags(fs, c.getenv)
	output := fs.String("o", "table", "output format: table or json")
	from := fs.String("from", "", "first month of the period, YYYY-MM, or a year YYYY (default: the earliest with statistics)")
	to := fs.String("to", "", "last month of the period, YYYY-MM, or a year YYYY (default: the latest with statistics)")
	agency := fs.String("agency", "", "only this agency")
	procedure := fs.String("procedure", "", "only this procedure code")
	sector := fs.String("sector", "", "only the procedures of this sector (lĩnh vực); "+workflow.SectorOther+" for those without one")
	by := fs.String("by", "", "a table by agency, procedure, month, sector or level (province, commune)")
	late := fs.String("late", "processing", "late by the end of processing (processing) or by the return date (return)")
	kind := fs.String("kind", "", "dossier or feedback (default: the dossiers' headline and the feedback line)")
	rateBase := fs.String("rate-base", "", "what the headline rates (đạt, quá hạn) divide by: received or resolved (default: the server's --rate-base)")
	rateRounding := fs.String("rate-rounding", "", "how the rates are cut to two decimals: truncate or round (default: the server's --rate-rounding)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(c.stderr, "hoso stats: unexpected argument %q\n", fs.Arg(0))
		return flag.ErrHelp
	}
	if *output != "table" && *output != "json" {
		return fmt.Errorf("-o: %q is not table or json", *output)
	}
	kinds := []string{string(workflow.KindDossier), string(workflow.KindFeedback)}
	if *kind != "" {
		kinds = []string{*kind} // the server checks it
	}
	cl := server
	docs := map[string]*api.Stats{}
	raws := map[string]json.RawMessage{}
	for i, k := range kinds {
		if i > 0 && *from == "" && *to == "" {
			// The feedback line covers the dossiers' period.
			*from, *to = docs[kinds[0]].Period.From, docs[kinds[0]].Period.To
		}
		v := url.Values{}
		for name, val := range map[string]string{"from": *from, "to": *to, "agency": *agency, "procedure": *procedure,
			"sector": *sector, "by": *by, "late": *late, "kind": k, "rate_base": *rateBase, "rate_rounding": *rateRounding} {
			if val != "" {
				v.Set(name, val)
			}
		}
		var raw json.RawMessage
		if err := cl.Get(ctx, "/api/v1/stats?"+v.Encode(), &raw); err != nil {
			return err
		}
		var d api.Stats
		if err := json.Unmarshal(raw, &d); err != nil {
			return fmt.Errorf("decode statistics: %w", err)
		}
		docs[k], raws[k] = &d, raw
	}
	if *output == "json" {
		return json.NewEncoder(c.stdout).Encode(raws)
	}
	for i, k := range kinds {
		// A second kind's table only when it has rows.
		if err := printStats(c.stdout, docs[k], i == 0, i == 0 || len(docs[k].Rows) > 0); err != nil {
			return err
		}
	}
	return nil
}

// printStats prints the period (with header), the headline and, with a
// breakdown and table, its table.
func printStats(w io.Writer, d *api.Stats, header, table bool) error {
	if header {
		period := "chưa có số liệu"
		if d.Period.From != "" {
			period = fmt.Sprintf("từ tháng %s đến tháng %s", monthVI(d.Period.From), monthVI(d.Period.To))
		}
		var filters []string
		for _, f := range [][2]string{{"cơ quan", d.Filters.Agency}, {"thủ tục", d.Filters.Procedure}, {"lĩnh vực", d.Filters.Sector}} {
			if f[1] != "" {
				filters = append(filters, f[0]+" "+f[1])
			}
		}
		if len(filters) > 0 {
			period += "; " + strings.Join(filters, ", ")
		}
		rule := "ngày kết thúc xử lý"
		if d.Filters.Late == workflow.LateByReturn {
			rule = "ngày trả kết quả"
		}
		fmt.Fprintf(w, "Kỳ báo cáo: %s (số liệu phát sinh trong kỳ; trước hạn, đúng hạn, quá hạn tính theo %s).\n", period, rule)
	}
	fmt.Fprintln(w, headline(&d.Total))
	fmt.Fprintln(w, carriedOver(&d.Total))
	if d.ReturnWait != nil {
		fmt.Fprintln(w, returnWait(d.Total.Kind, d.ReturnWait))
	}
	if d.Total.Kind != workflow.KindFeedback {
		fmt.Fprintln(w, apologySplit(&d.Total))
		fmt.Fprintln(w, periodEnd(&d.Total))
		fmt.Fprintln(w, channels(&d.Total))
		fmt.Fprintln(w, paymentSatisfaction(&d.Total))
	}
	fmt.Fprintln(w, lateEntries(&d.Total))
	fmt.Fprintln(w, rateBases(&d.Total))
	if d.Filters.By == "" || !table {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	key := map[string]string{"agency": "CƠ QUAN", "procedure": "THỦ TỤC", "month": "THÁNG TIẾP NHẬN", "sector": "LĨNH VỰC", "level": "CẤP"}[d.Filters.By]
	if d.Filters.By == workflow.ByMonth {
		fmt.Fprintln(w, "Mỗi tháng: các hồ sơ tiếp nhận trong tháng và kết quả giải quyết của chúng đến nay.")
	}
	if d.Total.Kind == workflow.KindFeedback {
		fmt.Fprintf(tw, "%s\tTỒN KỲ TRƯỚC\tTIẾP NHẬN\tĐÃ TRẢ LỜI\tTỶ LỆ TRẢ LỜI\tĐÚNG HẠN\tQUÁ HẠN\tĐANG XỬ LÝ\tCẬP NHẬT MUỘN\t\n", key)
		for _, row := range d.Rows {
			r := &row.Report
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s%%\t%s\t%s\t%s\t%s%%\t\n", row.Key, carried(d, r), viInt(r.Received), viInt(r.Resolved),
				viPct(r.FeedbackAnsweredRate), viInt(r.Early+r.OnTime), viInt(r.Late), viInt(r.InProgress), viPct(r.LateEntryRate))
		}
		return tw.Flush()
	}
	fmt.Fprintf(tw, "%s\tTỒN KỲ TRƯỚC\tTIẾP NHẬN\tĐÃ GIẢI QUYẾT\tTRƯỚC, ĐÚNG HẠN\tĐẠT\tQUÁ HẠN\tCÓ THƯ XIN LỖI\tTỶ LỆ QUÁ HẠN\tĐANG GIẢI QUYẾT\tĐANG QUÁ HẠN\tCÓ THƯ XIN LỖI\tTẠM DỪNG\tTRỰC TUYẾN\tSỐ HÓA\tKQ ĐIỆN TỬ\tCẬP NHẬT MUỘN\t\n", key)
	for _, row := range d.Rows {
		r := &row.Report
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s%%\t%s\t%s\t%s%%\t%s\t%s\t%s\t%s\t%s%%\t%s%%\t%s%%\t%s%%\t\n", row.Key,
			carried(d, r), viInt(r.Received), viInt(r.Resolved), viInt(r.Early+r.OnTime), viPct(r.HeadlineRate),
			viInt(r.Late), viInt(r.LateWithApology), viPct(r.LateRate), viInt(r.InProgress), viInt(r.InProgressOverdue),
			viInt(r.InProgressOverdueWithApology), viInt(r.Paused), viPct(r.OnlineRate), viPct(r.DigitizedRate), viPct(r.ElectronicResultRate),
			viPct(r.LateEntryRate))
	}
	return tw.Flush()
}

// headline is the sentence provinces publish. "đạt" is the share of the
// dossiers resolved early or on time and the late share the share of
// late ones, both over the report's base (Report.HeadlineRate and
// LateRate): Tây Ninh's reports divide by the received (the default),
// other provinces by the resolved. rateBases names the bases.
func headline(r *workflow.Report) string {
	if r.Kind == workflow.KindFeedback {
		return fmt.Sprintf("Phản ánh, kiến nghị: tiếp nhận %s; đã trả lời %s (%s%%), trong đó đúng hạn %s; đang xử lý %s.",
			viInt(r.Received), viInt(r.Resolved), viPct(r.FeedbackAnsweredRate), viInt(r.Early+r.OnTime), viInt(r.InProgress))
	}
	return fmt.Sprintf("Tiếp nhận %s hồ sơ; đã giải quyết %s hồ sơ (%s hồ sơ trước hạn, đúng hạn, đạt %s%%); "+
		"%s hồ sơ quá hạn (%s%%); đang giải quyết %s (quá hạn %s); tạm dừng %s; "+
		"nộp trực tuyến %s%%; số hóa hồ sơ đầu vào %s%%; kết quả điện tử %s%%.",
		viInt(r.Received), viInt(r.Resolved), viInt(r.Early+r.OnTime), viPct(r.HeadlineRate),
		viInt(r.Late), viPct(r.LateRate), viInt(r.InProgress), viInt(r.InProgressOverdue), viInt(r.Paused),
		viPct(r.OnlineRate), viPct(r.DigitizedRate), viPct(r.ElectronicResultRate))
}

// returnWait is the line under the headline that says how long the
// dossiers resolved and not yet returned have waited.
func returnWait(kind workflow.Kind, r *workflow.ReturnWait) string {
	what := "Đã giải quyết, chưa trả kết quả"
	if kind == workflow.KindFeedback {
		what = "Đã trả lời, chưa công khai"
	}
	line := fmt.Sprintf("%s %s: chờ đến 1 ngày làm việc %s, 2–5 ngày %s, trên 5 ngày %s", what, viInt(r.Dossiers),
		viInt(r.UpTo1), viInt(r.From2To5), viInt(r.Over5))
	if r.Oldest != "" {
		line += fmt.Sprintf("; lâu nhất %s ngày làm việc (hồ sơ %s)", viInt(r.OldestDays), r.Oldest)
	}
	return line + "."
}

// carriedOver is the line under the headline that gives the dossiers
// carried over into the period.
func carriedOver(r *workflow.Report) string {
	return fmt.Sprintf("Tồn kỳ trước chuyển sang %s (tiếp nhận trước kỳ, chưa giải quyết xong khi kỳ bắt đầu).", viInt(r.CarriedOver))
}

// carried is a row's carried-over column: "—" in a month row, which
// describes the dossiers received in its month.
func carried(d *api.Stats, r *workflow.Report) string {
	if d.Filters.By == workflow.ByMonth {
		return "—"
	}
	return viInt(r.CarriedOver)
}

// apologySplit is the line under the headline that splits the late and
// the overdue in progress by the apology letter (quá hạn đã có / chưa có
// thư xin lỗi).
func apologySplit(r *workflow.Report) string {
	return fmt.Sprintf("Quá hạn: đã có thư xin lỗi %s, chưa có thư xin lỗi %s; đang giải quyết quá hạn: đã có thư xin lỗi %s, chưa có thư xin lỗi %s.",
		viInt(r.LateWithApology), viInt(r.LateWithoutApology), viInt(r.InProgressOverdueWithApology), viInt(r.InProgressOverdueWithoutApology))
}

// periodEnd is the line under the headline that gives the dossiers in
// progress at the end of the period (tồn cuối kỳ), from the snapshot of
// its last month's close, or says there is none.
func periodEnd(r *workflow.Report) string {
	e := r.AtPeriodEnd
	if e == nil {
		return "Tồn cuối kỳ: chưa chốt (kỳ chưa kết thúc, hoặc hoso không ghi nhận thời điểm cuối kỳ)."
	}
	return fmt.Sprintf("Tồn cuối kỳ (chốt lúc %s): đang giải quyết %s, trong hạn %s, quá hạn %s (đã có thư xin lỗi %s, chưa có thư xin lỗi %s).",
		e.TakenAt.In(workflow.Zone).Format("15:04 02/01/2006"), viInt(e.InProgress), viInt(e.OnTime), viInt(e.Overdue),
		viInt(e.OverdueWithApology), viInt(e.OverdueWithoutApology))
}

// channels is the line under the headline that counts the received
// dossiers by how they were submitted (hình thức nộp).
func channels(r *workflow.Report) string {
	return fmt.Sprintf("Hình thức nộp: trực tiếp %s; bưu chính công ích %s; trực tuyến toàn trình %s (%s%%); trực tuyến một phần %s.",
		viInt(r.ReceivedDesk), viInt(r.ReceivedPost), viInt(r.ReceivedOnlineFull), viPct(r.OnlineFullRate), viInt(r.ReceivedOnlinePartial))
}

// paymentSatisfaction is the line under the headline that gives the
// online payments and the applicants' satisfaction (Decision 766/QĐ-TTg).
func paymentSatisfaction(r *workflow.Report) string {
	return fmt.Sprintf("Thanh toán trực tuyến %s/%s hồ sơ đã thanh toán (%s%%); hài lòng %s/%s hồ sơ được đánh giá (%s%%).",
		viInt(r.PaidOnline), viInt(r.Paid), viPct(r.OnlinePaymentRate), viInt(r.Satisfied), viInt(r.Rated), viPct(r.SatisfactionRate))
}

// lateEntries is the line under the headline that gives the transitions
// of the dossiers received in the period and how many were entered late.
func lateEntries(r *workflow.Report) string {
	return fmt.Sprintf("Chuyển trạng thái %s lần, trong đó cập nhật muộn %s lần (%s%%).",
		viInt(r.Transitions), viInt(r.LateEntries), viPct(r.LateEntryRate))
}

// rateBases is the line under the headline that names the base of each
// of its rates and their rounding, e.g. "Tỷ lệ cắt bớt (không làm tròn)
// đến hai chữ số thập phân: đạt, quá hạn, nộp trực tuyến, số hóa trên
// số tiếp nhận; kết quả điện tử trên số đã xử lý xong." The table of a
// breakdown has the same bases.
func rateBases(r *workflow.Report) string {
	rates := [][2]string{{"headline_rate", "đạt"}, {"late_rate", "quá hạn"}, {"online_rate", "nộp trực tuyến"},
		{"digitized_rate", "số hóa"}, {"electronic_result_rate", "kết quả điện tử"}, {"late_entry_rate", "cập nhật muộn"}}
	if r.Kind == workflow.KindFeedback {
		rates = [][2]string{{"feedback_answered_rate", "trả lời"}, {"late_entry_rate", "cập nhật muộn"}}
	}
	var order []string
	names := map[string][]string{}
	for _, x := range rates {
		base := r.Bases[x[0]]
		if names[base] == nil {
			order = append(order, base)
		}
		names[base] = append(names[base], x[1])
	}
	parts := make([]string, len(order))
	for i, base := range order {
		parts[i] = strings.Join(names[base], ", ") + " " + baseVI(base)
	}
	rounding := "cắt bớt (không làm tròn)"
	if r.Rates.Rounding == workflow.RoundHalfUp {
		rounding = "làm tròn"
	}
	return fmt.Sprintf("Tỷ lệ %s đến hai chữ số thập phân: %s.", rounding, strings.Join(parts, "; "))
}

// baseVI names the base of a rate (workflow.Report.Bases) in Vietnamese.
func baseVI(base string) string {
	switch base {
	case string(workflow.BaseReceived):
		return "trên số tiếp nhận"
	case string(workflow.BaseResolved):
		return "trên số đã giải quyết"
	case "entered_status_9":
		return "trên số đã xử lý xong"
	case "in_progress":
		return "trên số đang giải quyết"
	case "transitions":
		return "trên số lần chuyển trạng thái"
	case "paid":
		return "trên số hồ sơ đã thanh toán"
	case "rated":
		return "trên số hồ sơ được đánh giá"
	}
	return "trên " + base
}

// viInt formats a count the Vietnamese way: 270.497.
func viInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// viPct formats a percentage with two decimals and a decimal comma: 94,12.
func viPct(v float64) string { return strings.Replace(strconv.FormatFloat(v, 'f', 2, 64), ".", ",", 1) }

// monthVI writes 2025-07 as 07/2025.
func monthVI(m string) string {
	if y, mm, ok := strings.Cut(m, "-"); ok {
		return mm + "/" + y
	}
	return m
}
