package public

import (
	"strconv"
	"strings"
)

// Languages of the public pages: Vietnamese by default, English with
// ?lang=en or an Accept-Language that prefers it. No cookie remembers the
// choice: the public surface sets none.
const (
	langVI = "vi"
	langEN = "en"
)

// acceptLanguage returns the language an Accept-Language header prefers
// of vi and en: the one with the higher q (the first on a tie, vi when
// neither is named).
func acceptLanguage(h string) string {
	best, bestQ := langVI, -1.0
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		primary, _, _ := strings.Cut(tag, "-")
		if primary != langVI && primary != langEN {
			continue
		}
		q := 1.0
		if p := strings.TrimSpace(params); strings.HasPrefix(p, "q=") {
			v, err := strconv.ParseFloat(p[2:], 64)
			if err != nil || v < 0 || v > 1 {
				continue
			}
			q = v
		}
		if q > bestQ && q > 0 {
			best, bestQ = primary, q
		}
	}
	return best
}

// labels holds every text of the public pages, Vietnamese first.
var labels = map[string][2]string{
	"app":         {"Cổng công khai kết quả giải quyết thủ tục hành chính", "Public results of administrative procedures"},
	"nav.board":   {"Bảng theo dõi", "Scoreboard"},
	"nav.lookup":  {"Tra cứu hồ sơ", "Look up a dossier"},
	"lang.switch": {"English", "Tiếng Việt"},
	"title":       {"Kết quả giải quyết thủ tục hành chính", "Results of administrative procedures"},
	"title.fb":    {"Kết quả xử lý phản ánh, kiến nghị", "Results of feedback handling"},
	"embed.title": {"Kết quả giải quyết hồ sơ", "Dossier handling results"},
	"embed.more":  {"Xem bảng đầy đủ", "See the full scoreboard"},
	"intro": {"Số liệu tổng hợp từ nhật ký trạng thái hồ sơ mà hoso kiểm tra theo quy trình pháp định; không công bố thông tin của từng hồ sơ.",
		"Aggregated from the dossier status log hoso checks against the legal workflow; nothing about any single dossier is published."},
	"f.from":    {"Từ tháng", "From month"},
	"f.to":      {"Đến tháng", "To month"},
	"f.by":      {"Chi tiết theo", "Break down by"},
	"f.kind":    {"Loại", "Kind"},
	"f.show":    {"Xem", "Show"},
	"by.agency": {"Cơ quan", "Agency"}, "by.sector": {"Lĩnh vực", "Sector"},
	"by.procedure": {"Thủ tục", "Procedure"}, "by.month": {"Tháng tiếp nhận", "Month of receipt"},
	"by.none":        {"Không chi tiết", "No breakdown"},
	"kind.dossier":   {"Hồ sơ thủ tục hành chính", "Procedure dossiers"},
	"kind.feedback":  {"Phản ánh, kiến nghị", "Feedback"},
	"period":         {"Kỳ", "Period"},
	"period.none":    {"chưa có số liệu", "no figures yet"},
	"period.all":     {"toàn bộ dữ liệu", "all data"},
	"total":          {"Toàn tỉnh", "Province total"},
	"total.filtered": {"Tổng", "Total"},
	"table.caption":  {"Số liệu theo", "Figures by"},
	"table.total":    {"Số liệu tổng hợp", "Totals"},
	"download":       {"Tải dữ liệu mở", "Download open data"},
	"download.csv":   {"CSV", "CSV"},
	"download.json":  {"JSON", "JSON"},
	"asof":           {"Số đang giải quyết tính đến", "In progress as of"},
	"notes":          {"Cách tính", "How the figures are computed"},
	"note.period": {"Tiếp nhận, đã giải quyết, trước hạn, đúng hạn, quá hạn: số phát sinh trong kỳ; quá hạn so với hạn ghi trên phiếu hẹn trả ban đầu (thư xin lỗi không xóa việc trễ hạn), tính theo ngày kết thúc xử lý.",
		"Received, resolved, early, on time, late: what happened in the period; late against the first appointment date (an apology letter does not erase the delay), by the date processing ended."},
	"note.month": {"Theo tháng tiếp nhận: mỗi tháng là các hồ sơ tiếp nhận trong tháng và kết quả của chúng đến nay.",
		"By month of receipt: each month is the dossiers received in it and what became of them so far."},
	"note.now": {"Đang giải quyết, quá hạn hiện tại: tại thời điểm xem, không theo kỳ.",
		"In progress and overdue now: at the time of viewing, whatever the period."},
	"note.rounding.truncate": {"Tỷ lệ cắt bớt (không làm tròn) đến hai chữ số thập phân.", "Rates are truncated (not rounded) to two decimals."},
	"note.rounding.round":    {"Tỷ lệ làm tròn đến hai chữ số thập phân.", "Rates are rounded to two decimals."},
	"note.withheld": {"Theo quyết định của tỉnh, một số cơ quan hoặc chỉ tiêu không được công bố; số liệu của chúng không có trong mọi con số trên trang này.",
		"By the province's decision some agencies or indicators are not published; their figures are in no number on this page."},
	"empty": {"Không có số liệu cho lựa chọn này.", "No figures for this choice."},

	"col.key": {"", ""}, "col.received": {"Tiếp nhận", "Received"}, "col.resolved": {"Đã giải quyết", "Resolved"},
	"col.early": {"Trước hạn", "Early"}, "col.on_time": {"Đúng hạn", "On time"}, "col.late": {"Quá hạn", "Late"},
	"col.late_with_apology":           {"Quá hạn có thư xin lỗi", "Late, with an apology"},
	"col.late_without_apology":        {"Quá hạn chưa có thư xin lỗi", "Late, without an apology"},
	"col.in_progress":                 {"Đang giải quyết", "In progress now"},
	"col.overdue_now":                 {"Đang giải quyết quá hạn", "Overdue now"},
	"col.overdue_now_with_apology":    {"Quá hạn hiện tại có thư xin lỗi", "Overdue now, with an apology"},
	"col.overdue_now_without_apology": {"Quá hạn hiện tại chưa có thư xin lỗi", "Overdue now, without an apology"},
	"col.received_online":             {"Nộp trực tuyến", "Submitted online"},
	"col.digitized_inputs":            {"Số hóa hồ sơ đầu vào", "Digitized inputs"},
	"col.electronic_results":          {"Có kết quả điện tử", "Electronic results"},
	"col.headline_rate":               {"Tỷ lệ trước hạn, đúng hạn", "Early or on-time rate"},
	"col.late_rate":                   {"Tỷ lệ quá hạn", "Late rate"},
	"col.on_time_rate":                {"Trước hạn, đúng hạn trên số đã giải quyết", "Early or on time of resolved"},
	"col.online_rate":                 {"Tỷ lệ nộp trực tuyến", "Online share"},
	"col.digitized_rate":              {"Tỷ lệ số hóa", "Digitized share"},
	"col.electronic_result_rate":      {"Tỷ lệ kết quả điện tử", "Electronic result share"},
	"fb.col.resolved":                 {"Đã trả lời", "Answered"},
	"fb.col.early":                    {"Trả lời trước hạn", "Answered early"},
	"fb.col.on_time":                  {"Trả lời đúng hạn", "Answered on time"},
	"fb.col.late":                     {"Trả lời quá hạn", "Answered late"},
	"fb.col.headline_rate":            {"Tỷ lệ trả lời đúng hạn", "Answered in time"},
	"fb.col.on_time_rate":             {"Đúng hạn trên số đã trả lời", "In time of answered"},

	"base.received": {"trên số tiếp nhận", "of received"}, "base.resolved": {"trên số đã giải quyết", "of resolved"},
	"base.entered_status_9": {"trên số đã xử lý xong", "of those processed"},
	"of":                    {"trên", "of"},

	"chart.rate":     {"Tỷ lệ trước hạn, đúng hạn", "Early or on-time rate"},
	"chart.received": {"Số hồ sơ tiếp nhận", "Dossiers received"},
	"chart.rate.desc": {"Biểu đồ cột: tỷ lệ trước hạn, đúng hạn %s theo %s; số liệu đầy đủ trong bảng bên dưới.",
		"Bar chart: early or on-time rate %s by %s; the table below has every figure."},
	"chart.trend.desc": {"Biểu đồ đường: tỷ lệ trước hạn, đúng hạn %s theo tháng tiếp nhận, từ %s đến %s.",
		"Line chart: early or on-time rate %s by month of receipt, from %s to %s."},
	"chart.received.desc": {"Biểu đồ cột: số hồ sơ tiếp nhận theo %s; số liệu đầy đủ trong bảng bên dưới.",
		"Bar chart: dossiers received by %s; the table below has every figure."},
	"chart.top": {"(%d dòng đầu)", "(first %d rows)"},

	"lookup.title":       {"Tra cứu tình trạng hồ sơ", "Look up your dossier"},
	"lookup.intro":       {"Nhập mã hồ sơ và mã tra cứu in trên giấy tiếp nhận hồ sơ và hẹn trả kết quả.", "Type the dossier code and the lookup secret printed on your receipt (giấy tiếp nhận hồ sơ và hẹn trả kết quả)."},
	"lookup.code":        {"Mã hồ sơ", "Dossier code"},
	"lookup.code.hint":   {"Ví dụ: 000.00.12.H57-250804-0001", "For example 000.00.12.H57-250804-0001"},
	"lookup.secret":      {"Mã tra cứu", "Lookup secret"},
	"lookup.secret.hint": {"In trên giấy tiếp nhận; không phân biệt chữ hoa, chữ thường, dấu cách và gạch nối.", "Printed on the receipt; capitals, spaces and hyphens do not matter."},
	"lookup.submit":      {"Tra cứu", "Look up"},
	"lookup.privacy":     {"Mã tra cứu không được lưu lại và không hiện trên địa chỉ trang. Trang không dùng cookie.", "The secret is not kept and never appears in the page's address. The page sets no cookie."},
	"lookup.result":      {"Hồ sơ", "Dossier"},
	"lookup.status":      {"Tình trạng", "Status"},
	"lookup.status.code": {"mã trạng thái", "status code"},
	"lookup.corrected": {"Hệ thống một cửa đã ghi nhận một trạng thái không đúng quy trình; tình trạng trên đây là tình trạng đã được hoso kiểm tra và điều chỉnh.",
		"The one-stop-shop recorded a status the procedure does not allow; the status above is the one hoso checked and corrected."},
	"lookup.procedure":           {"Thủ tục", "Procedure"},
	"lookup.kind.feedback":       {"Phản ánh, kiến nghị", "Feedback"},
	"lookup.received":            {"Ngày tiếp nhận", "Received"},
	"lookup.due":                 {"Hẹn trả kết quả", "Due"},
	"lookup.original_due":        {"hẹn ban đầu", "first appointment"},
	"lookup.overdue":             {"Quá hạn", "Overdue"},
	"lookup.awaiting":            {"Đang chờ công dân", "Waiting for you"},
	"lookup.awaiting.supplement": {"Yêu cầu bổ sung giấy tờ", "Supplement requested"},
	"lookup.awaiting.payment":    {"Yêu cầu thực hiện nghĩa vụ tài chính", "Payment requested"},
	"lookup.since":               {"từ", "since"},
	"lookup.steps":               {"Các bước xử lý", "Steps"},
	"lookup.fb.received":         {"Đã tiếp nhận", "Received"},
	"lookup.fb.assigned":         {"Giao xử lý", "Assigned"},
	"lookup.fb.answered":         {"Đã trả lời", "Answered"},
	"lookup.fb.published":        {"Đã công khai kết quả", "Published"},
	"lookup.departments":         {"Bộ phận đã xử lý", "Departments it went through"},
	"lookup.apologies":           {"Thư xin lỗi và hẹn lại", "Apology letters and new dates"},
	"lookup.new_due":             {"hẹn lại ngày", "new date"},
	"lookup.resolved":            {"Ngày có kết quả", "Result ready"},
	"lookup.returned":            {"Ngày trả kết quả", "Result returned"},
	"lookup.asof":                {"Thông tin tính đến", "As of"},
	"lookup.again":               {"Tra cứu hồ sơ khác", "Look up another dossier"},

	"err.title":   {"Không thực hiện được yêu cầu", "The request could not be served"},
	"err.back":    {"Về bảng theo dõi", "Back to the scoreboard"},
	"err.request": {"Mã yêu cầu", "Request id"},
	"generated":   {"Lập lúc", "Generated"},
}

// label returns the text of key in lang, or key when there is none.
func label(lang, key string) string {
	l, ok := labels[key]
	if !ok {
		return key
	}
	if lang == langEN {
		return l[1]
	}
	return l[0]
}
