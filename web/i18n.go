package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// Languages of the dashboard. Vietnamese is the default; ?lang=en switches
// to English and a cookie remembers the choice.
const (
	langVI = "vi"
	langEN = "en"

	langCookie = "hoso_lang"
	langParam  = "lang"
)

// labels holds every label of the dashboard in both languages, Vietnamese
// first. Templates read them with {{.T "key"}}; a missing key shows as
// itself, and TestLabels checks that every key a template uses is here.
var labels = map[string][2]string{
	"app":                 {"hoso — giám sát hồ sơ một cửa", "hoso — one-stop-shop dossier supervision"},
	"nav.overview":        {"Tổng quan", "Overview"},
	"cal.unconfirmed":     {"Lịch ngày nghỉ chưa theo thông báo chính thức cho năm", "The calendar of days off follows no official announcement for"},
	"cal.unconfirmed.why": {"Ngày nghỉ Tết và các ngày hoán đổi được tính theo âm lịch; hạn giải quyết có thể thay đổi khi Chính phủ công bố lịch nghỉ (thay tệp lịch của năm).", "Tết and the swapped days are computed from the lunar calendar; due dates may move once the government publishes its schedule (replace the year's calendar file)."},
	"nav.overdue":         {"Quá hạn & sắp đến hạn", "Overdue & at risk"},
	"nav.feed":            {"Sai sót trực tiếp", "Live problems"},
	"nav.irregularities":  {"Bất thường", "Irregularities"},
	"nav.definitions":     {"Quy trình", "Workflows"},
	"nav.logout":          {"Đăng xuất", "Sign out"},
	"lang.switch":         {"English", "Tiếng Việt"},
	"print":               {"In", "Print"},
	"csv":                 {"Tải CSV", "Download CSV"},
	"filter":              {"Lọc", "Filter"},
	"reset":               {"Bỏ lọc", "Clear"},
	"all":                 {"Tất cả", "All"},
	"next":                {"Trang sau", "Next page"},
	"first":               {"Trang đầu", "First page"},
	"none":                {"Không có", "None"},
	"yes":                 {"Có", "Yes"},
	"no":                  {"Không", "No"},
	"generated":           {"Lập lúc", "Generated"},

	"f.agency":    {"Cơ quan", "Agency"},
	"f.procedure": {"Thủ tục", "Procedure"},
	"f.from":      {"Từ tháng", "From month"},
	"f.to":        {"Đến tháng", "To month"},
	"f.reason":    {"Lý do", "Reason"},
	"f.sort":      {"Sắp xếp", "Sort"},
	"f.kind":      {"Loại", "Kind"},
	"f.actor":     {"Cán bộ", "Officer"},
	"sort.due":    {"Hạn sớm nhất trước", "Earliest due first"},
	"sort.-due":   {"Hạn muộn nhất trước", "Latest due first"},

	"ov.title":          {"Tổng quan tình hình giải quyết hồ sơ", "Dossier handling overview"},
	"ov.period":         {"Kỳ báo cáo", "Period"},
	"ov.allperiod":      {"toàn bộ dữ liệu", "all data"},
	"ov.received":       {"Tiếp nhận", "Received"},
	"ov.resolved":       {"Đã giải quyết", "Resolved"},
	"ov.ontime":         {"Trước hạn và đúng hạn", "Early or on time"},
	"ov.late":           {"Quá hạn", "Late"},
	"ov.ontimerate":     {"Tỷ lệ trước hạn, đúng hạn", "Early or on-time rate"},
	"ov.headrate":       {"Tỷ lệ đạt", "Headline rate"},
	"ov.inprogress":     {"Đang giải quyết", "In progress"},
	"ov.ipoverdue":      {"Đang giải quyết quá hạn", "In progress, overdue"},
	"ov.paused":         {"Tạm dừng (bổ sung, nghĩa vụ tài chính)", "Paused (supplement, payment)"},
	"ov.digitized":      {"Số hóa hồ sơ đầu vào", "Digitized inputs"},
	"ov.online":         {"Nộp trực tuyến", "Submitted online"},
	"ov.eresult":        {"Có kết quả điện tử", "Electronic results"},
	"ov.apologies":      {"Văn bản xin lỗi, hẹn lại", "Apologies"},
	"ov.withdrawn":      {"Rút hồ sơ", "Withdrawn"},
	"ov.refused":        {"Không tiếp nhận", "Refused"},
	"ov.rejections":     {"Sự kiện bị từ chối", "Rejected events"},
	"ov.mismatches":     {"Lần báo sai trạng thái", "Status mismatches"},
	"ov.irregular":      {"Bất thường (từ trước đến nay)", "Irregularities (all time)"},
	"ov.headline":       {"Báo cáo", "Report"},
	"ov.trend":          {"Tỷ lệ trước hạn, đúng hạn theo tháng tiếp nhận", "On-time rate by month of receipt"},
	"ov.recvmonth":      {"Hồ sơ tiếp nhận theo tháng", "Dossiers received by month"},
	"ov.statusdist":     {"Phân bố trạng thái hiện tại (mọi cơ quan)", "Current status distribution (all agencies)"},
	"ov.overdueby":      {"Hồ sơ đang quá hạn theo cơ quan", "Overdue dossiers in progress by agency"},
	"ov.worstag":        {"Cơ quan có tỷ lệ quá hạn cao nhất", "Agencies with the highest late rate"},
	"ov.worstproc":      {"Thủ tục có tỷ lệ quá hạn cao nhất", "Procedures with the highest late rate"},
	"ov.latepct":        {"Tỷ lệ quá hạn", "Late rate"},
	"ov.rates":          {"Các tỷ lệ tính theo phần trăm,", "Rates are percentages,"},
	"ov.awaiting":       {"Đã giải quyết, chưa trả kết quả", "Resolved, not yet returned"},
	"ov.waited":         {"chờ trả (ngày làm việc)", "waiting (working days)"},
	"ov.upto1":          {"đến 1 ngày", "up to 1 day"},
	"ov.from2to5":       {"2–5 ngày", "2–5 days"},
	"ov.over5":          {"trên 5 ngày", "over 5 days"},
	"ov.oldest":         {"lâu nhất", "longest"},
	"ov.days":           {"ngày", "days"},
	"ov.carried":        {"Tồn kỳ trước chuyển sang", "Carried over"},
	"ov.carriednote":    {"tiếp nhận trước kỳ, chưa giải quyết xong khi kỳ bắt đầu", "received before the period, not finished at its start"},
	"ov.onlinefull":     {"Tiếp nhận trực tuyến toàn trình", "Received online in full"},
	"ch.desk":           {"Trực tiếp", "At the desk"},
	"ch.post":           {"Bưu chính công ích", "By post"},
	"ch.online_full":    {"Trực tuyến toàn trình", "Online in full"},
	"ch.online_partial": {"Trực tuyến một phần", "Online in part"},
	"lv.province":       {"Cấp tỉnh", "Province"},
	"lv.commune":        {"Cấp xã", "Commune"},
	"col.level":         {"Cấp", "Level"},
	"ov.levels":         {"Theo cấp chính quyền", "By level of government"},
	"ov.paid":           {"Đã thanh toán", "Paid"},
	"ov.paidonline":     {"Thanh toán trực tuyến", "Paid online"},
	"ov.onlinepayment":  {"Tỷ lệ thanh toán trực tuyến", "Online payment rate"},
	"ov.rated":          {"Được đánh giá", "Rated"},
	"ov.satisfied":      {"Hài lòng (4–5 điểm)", "Satisfied (4–5)"},
	"ov.satisfaction":   {"Tỷ lệ hài lòng", "Satisfaction rate"},
	"ov.atend":          {"Tồn cuối kỳ, đang giải quyết", "In progress at the end of the period"},
	"ov.atendontime":    {"trong hạn", "on time"},
	"ov.atendoverdue":   {"quá hạn", "overdue"},
	"ov.atendtaken":     {"chốt lúc", "taken at"},
	"ov.atendnone":      {"chưa chốt: kỳ chưa kết thúc hoặc hoso chưa ghi nhận cuối kỳ", "no snapshot: the period has not ended, or hoso recorded no close of it"},
	"ov.atendip":        {"Tồn cuối kỳ", "In progress at period end"},
	"ov.atendipover":    {"Tồn cuối kỳ, quá hạn", "In progress at period end, overdue"},
	"ov.atendipwith":    {"Tồn cuối kỳ, quá hạn, đã có thư xin lỗi", "In progress at period end, overdue, with an apology letter"},
	"ov.atendipwithout": {"Tồn cuối kỳ, quá hạn, chưa có thư xin lỗi", "In progress at period end, overdue, without an apology letter"},
	"ov.lateentries":    {"Cập nhật muộn", "Late entries"},
	"ov.transitions":    {"Lần chuyển trạng thái", "Transitions"},
	"ov.lateentryrate":  {"Tỷ lệ cập nhật muộn", "Late-entry rate"},
	"ov.lateentryag":    {"Cơ quan cập nhật muộn nhiều nhất", "Agencies entering most transitions late"},
	"ov.withapology":    {"đã có thư xin lỗi", "with an apology letter"},
	"ov.withoutapology": {"chưa có thư xin lỗi", "without"},
	"ov.latewith":       {"Quá hạn, đã có thư xin lỗi", "Late, with an apology letter"},
	"ov.latewithout":    {"Quá hạn, chưa có thư xin lỗi", "Late, without an apology letter"},
	"ov.ipwith":         {"Đang giải quyết quá hạn, đã có thư xin lỗi", "In progress, overdue, with an apology letter"},
	"ov.ipwithout":      {"Đang giải quyết quá hạn, chưa có thư xin lỗi", "In progress, overdue, without an apology letter"},

	"base.received":         {"trên số tiếp nhận", "of received"},
	"base.resolved":         {"trên số đã giải quyết", "of resolved"},
	"base.in_progress":      {"trên số đang giải quyết", "of in progress"},
	"base.transitions":      {"trên số lần chuyển trạng thái", "of transitions"},
	"base.entered_status_9": {"trên số đã xử lý xong", "of those processed (status 9)"},
	"base.paid":             {"trên số hồ sơ đã thanh toán", "of the dossiers paid"},
	"base.rated":            {"trên số hồ sơ được đánh giá", "of the dossiers rated"},
	"round.truncate":        {"cắt bớt (không làm tròn) đến hai chữ số thập phân", "truncated (not rounded) to two decimals"},
	"round.round":           {"làm tròn đến hai chữ số thập phân", "rounded to two decimals"},
	"ov.nostats":            {"Chưa có số liệu thống kê.", "No statistics yet."},
	"ov.month":              {"Tháng tiếp nhận", "Month of receipt"},
	"ov.count":              {"Số hồ sơ", "Dossiers"},
	"ov.status":             {"Trạng thái", "Status"},
	"ov.counting":           {"Số liệu của kỳ là những việc phát sinh trong kỳ: hồ sơ tiếp nhận trong kỳ, hồ sơ giải quyết, trả kết quả… trong kỳ, kể cả hồ sơ tiếp nhận trước kỳ (như báo cáo của tỉnh). Số liệu theo tháng là các hồ sơ tiếp nhận trong tháng và kết quả giải quyết của chúng đến nay.", "The period's numbers are what happened in it: the dossiers received in it, those resolved, returned… in it, received earlier or not (as a province reports). The numbers by month are the dossiers received in the month and what became of them so far."},
	"ov.rule":               {"Quá hạn: kết thúc xử lý sau thời hạn hẹn trả ban đầu (NgayKetThucXuLy so với NgayHenTra của phiếu hẹn; hạn mới trong thư xin lỗi không xóa việc quá hạn).", "Late: processing ended after the original due time (the apology's new date does not erase the delay)."},
	"ov.alldossiers":        {"Tổng số hồ sơ", "Dossiers stored"},
	"ov.clockrunning":       {"Đang tính hạn", "Clock running"},

	"od.title":       {"Hồ sơ quá hạn và sắp đến hạn", "Overdue and at-risk dossiers"},
	"od.overdue":     {"Quá hạn, đang giải quyết", "Overdue, in progress"},
	"od.atrisk":      {"Sắp đến hạn (trong 1 ngày làm việc)", "At risk (due within one working day)"},
	"od.until":       {"Đến hạn trước", "Due by"},
	"od.total":       {"Tổng số hồ sơ quá hạn đang giải quyết", "Overdue dossiers in progress, all agencies"},
	"od.late":        {"Quá hạn", "Overdue by"},
	"od.left":        {"Còn lại", "Time left"},
	"od.days":        {"ngày làm việc", "working days"},
	"od.hours":       {"giờ", "hours"},
	"od.empty":       {"Không có hồ sơ nào.", "No dossiers."},
	"od.passed":      {"đã qua hạn, chưa ghi nhận", "passed, expiry not yet recorded"},
	"col.code":       {"Mã hồ sơ", "Dossier code"},
	"col.procedure":  {"Thủ tục", "Procedure"},
	"col.agency":     {"Cơ quan", "Agency"},
	"col.department": {"Phòng ban", "Department"},
	"col.status":     {"Trạng thái", "Status"},
	"col.due":        {"Hạn trả", "Due"},
	"col.received":   {"Ngày tiếp nhận", "Received"},
	"col.apologies":  {"Số lần xin lỗi", "Apologies"},
	"col.time":       {"Thời điểm", "Time"},
	"col.actor":      {"Người xử lý", "Actor"},
	"col.action":     {"Thao tác", "Action"},
	"col.transition": {"Chuyển trạng thái", "Status from → to"},
	"col.duein":      {"Hạn xử lý khi đó", "Due in force"},
	"col.timing":     {"Tiến độ", "Timing"},
	"col.attach":     {"Tệp đính kèm", "Attachments"},
	"col.hash":       {"Mã băm", "Hash"},
	"col.reason":     {"Lý do", "Reason"},
	"col.message":    {"Nội dung", "Message"},
	"col.claimed":    {"Trạng thái báo", "Claimed status"},
	"col.actual":     {"Trạng thái đúng", "Authoritative status"},
	"col.applied":    {"Đã áp dụng", "Applied"},
	"col.kind":       {"Loại", "Kind"},
	"col.seq":        {"STT luồng", "Stream seq"},
	"col.event":      {"Mã sự kiện", "Event id"},

	"timing.early":   {"Trước hạn", "Early"},
	"timing.on_time": {"Đúng hạn", "On time"},
	"timing.late":    {"Quá hạn", "Late"},

	"ds.title":       {"Phiếu kiểm soát quá trình giải quyết hồ sơ", "Control sheet of the dossier's handling"},
	"ds.definition":  {"Quy trình áp dụng", "Workflow applied"},
	"ds.channel":     {"Hình thức nộp", "Submitted"},
	"ds.online":      {"Trực tuyến", "Online"},
	"ds.counter":     {"Trực tiếp", "At the desk"},
	"ds.resolved":    {"Ngày kết thúc xử lý", "Processing ended"},
	"ds.returned":    {"Ngày trả kết quả", "Result returned"},
	"ds.flags":       {"Cảnh báo", "Flags"},
	"ds.overdue":     {"Quá hạn", "Overdue"},
	"ds.warned":      {"Sắp đến hạn", "Due soon"},
	"ds.paused":      {"Tạm dừng tính hạn từ", "Clock paused since"},
	"ds.sheet":       {"Quá trình xử lý", "Handling process"},
	"ds.rejections":  {"Sự kiện bị từ chối", "Rejected events"},
	"ds.mismatches":  {"Báo sai trạng thái", "Status mismatches"},
	"ds.irregular":   {"Bất thường", "Irregularities"},
	"ds.lateentries": {"Số lần cập nhật muộn", "Late entries"},
	"ds.chainok":     {"Chuỗi băm hợp lệ", "Hash chain verified"},
	"ds.chainbroken": {"Chuỗi băm bị phá vỡ", "Hash chain broken"},
	"ds.entries":     {"mục", "entries"},
	"ds.brokenat":    {"tại mục", "at entry"},
	"ds.recordbad":   {"Hồ sơ khác với lịch sử của nó", "The dossier differs from its history"},
	"ds.start":       {"(mới)", "(new)"},

	"fd.title":    {"Sự kiện bị từ chối và báo sai trạng thái", "Rejected events and status mismatches"},
	"fd.live":     {"Đang nhận trực tiếp", "Live"},
	"fd.offline":  {"Mất kết nối, đang thử lại", "Disconnected, retrying"},
	"fd.latest":   {"Mới nhất trước; sự kiện mới hiện lên đầu bảng.", "Newest first; new events appear at the top."},
	"fd.rejected": {"Bị từ chối", "Rejected"},
	"fd.mismatch": {"Báo sai trạng thái", "Status mismatch"},

	"ir.title":      {"Bất thường trong cập nhật hồ sơ", "Irregularities in dossier handling"},
	"ir.note":       {"Các sự kiện này vẫn được ghi nhận (không bị từ chối), nhưng vi phạm quy tắc thực hành: cập nhật muộn (nhập vào sau thời điểm xảy ra quá thời gian quy trình cho phép, mặc định 1 ngày làm việc), xin lỗi muộn (thư xin lỗi gửi trước hạn chưa đủ 1 ngày làm việc), yêu cầu bổ sung lần thứ hai (phải yêu cầu một lần, đầy đủ).", "These events were applied (not rejected) but broke a rule of practice: a late entry (entered after it happened by more than its workflow allows, one working day by default), a late apology (less than a working day before the due time), a second supplement request (everything missing must be asked for once)."},
	"ir.summary":    {"Tổng hợp", "Summary"},
	"ir.byagency":   {"Theo cơ quan", "By agency"},
	"ir.byofficer":  {"Theo cán bộ", "By officer"},
	"ir.officer":    {"Cán bộ", "Officer"},
	"ir.total":      {"Tổng", "Total"},
	"ir.latehours":  {"Giờ làm việc cập nhật muộn", "Working hours entered late"},
	"ir.shown":      {"Hiển thị cán bộ có nhiều bất thường nhất:", "Officers with the most irregularities shown:"},
	"ir.list":       {"Danh sách, mới nhất trước", "List, newest first"},
	"ir.happened":   {"Thời điểm xảy ra", "Happened"},
	"ir.entered":    {"Thời điểm nhập", "Entered"},
	"ir.delay":      {"Trễ / báo trước (giờ làm việc)", "Late by / notice (working hours)"},
	"ir.kindname":   {"Loại bất thường", "Kind of irregularity"},
	"ir.empty":      {"Không có bất thường nào.", "No irregularities."},
	"ir.alltime":    {"Số liệu từ trước đến nay.", "All time."},
	"ir.dossier":    {"Hồ sơ", "Dossier"},
	"ir.dossierall": {"Xem trên trang bất thường", "See on the irregularities page"},

	"df.title":      {"Quy trình giải quyết (định nghĩa)", "Workflow definitions"},
	"df.effective":  {"Hiệu lực từ", "Effective"},
	"df.legal":      {"Căn cứ pháp lý", "Legal basis"},
	"df.procedures": {"Thủ tục áp dụng", "Procedures"},
	"df.kind":       {"Loại", "Kind"},
	"df.sla":        {"Thời hạn giải quyết", "Statutory time"},
	"df.clock":      {"Khi chờ bổ sung / nghĩa vụ tài chính", "While waiting for the applicant"},
	"df.apology":    {"Số lần được gia hạn", "Apologies allowed"},
	"df.states":     {"Trạng thái", "States"},
	"df.actions":    {"Thao tác", "Actions"},
	"df.state":      {"Trạng thái", "State"},
	"df.terminal":   {"Kết thúc", "Terminal"},
	"df.from":       {"Từ", "From"},
	"df.to":         {"Đến", "To"},
	"df.guards":     {"Điều kiện", "Guards"},
	"df.stay":       {"(giữ nguyên)", "(stays)"},
	"df.setsdue":    {"đặt hạn trả", "sets the due date"},
	"df.extendsdue": {"gia hạn (xin lỗi)", "extends the due date (apology)"},
	"df.g.attach":   {"kèm tệp", "attach"},
	"df.g.recorded": {"đã có tệp", "already has"},
	"df.g.fields":   {"có trường", "fields"},
	"df.g.result":   {"có kết quả điện tử", "electronic result"},
	"df.g.from":     {"khi từ", "when from"},
	"df.mermaid":    {"Sơ đồ dạng Mermaid", "Diagram as Mermaid"},
	"df.diagram":    {"Sơ đồ trạng thái", "State diagram"},
	"df.pause":      {"tạm dừng tính hạn", "the clock pauses"},
	"df.restart":    {"tính lại từ đầu", "the clock restarts"},
	"df.none":       {"theo hạn do phần mềm một cửa gửi", "the due date the one-stop-shop sends"},

	"err.title":    {"Không thực hiện được yêu cầu", "The request could not be served"},
	"err.param":    {"Tham số", "Parameter"},
	"err.request":  {"Mã yêu cầu", "Request id"},
	"err.back":     {"Về trang tổng quan", "Back to the overview"},
	"err.notfound": {"Không tìm thấy trang hoặc hồ sơ này.", "No such page or dossier."},
	"err.internal": {"Lỗi nội bộ; nhật ký máy chủ ghi mã yêu cầu này.", "Internal error; the server log has this request id."},
}

// label returns the label of key in lang, or key when there is none.
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

// language returns the language of a dashboard request: a valid ?lang,
// else the cookie, else Vietnamese; and the ?lang value when it is not a
// language (the caller answers 400, in the language found otherwise).
func language(r *http.Request) (lang, bad string) {
	lang = langVI
	if c, err := r.Cookie(langCookie); err == nil && c.Value == langEN {
		lang = langEN
	}
	if v, ok := r.URL.Query()[langParam]; ok {
		switch {
		case len(v) == 1 && (v[0] == langVI || v[0] == langEN):
			lang = v[0]
		default:
			return lang, strings.Join(v, ",")
		}
	}
	return lang, ""
}

// rememberLanguage sets the cookie when the request chose a language.
func rememberLanguage(w http.ResponseWriter, r *http.Request, lang string) {
	if !r.URL.Query().Has(langParam) {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// formatInt writes n with the language's thousands separator: 270.497
// in Vietnamese, 270,497 in English.
func formatInt(lang string, n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	sep := "."
	if lang == langEN {
		sep = ","
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// baseText names the base of a rate (workflow.Report.Bases) in lang; a
// base without a label is shown as it is.
func baseText(lang, base string) string {
	if _, ok := labels["base."+base]; !ok {
		return base
	}
	return label(lang, "base."+base)
}

// formatPct writes a percentage with two decimals and the language's
// decimal mark: 94,12% or 94.12%.
func formatPct(lang string, p float64) string {
	s := strconv.FormatFloat(p, 'f', 2, 64)
	if lang != langEN {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + "%"
}

// formatTime writes an instant in Vietnam's time: 15:04 02/01/2006; "—"
// for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(workflow.Zone).Format("15:04 02/01/2006")
}

// formatDate writes the date of an instant in Vietnam: 02/01/2006.
func formatDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(workflow.Zone).Format("02/01/2006")
}

// statusName returns the status code and its name in lang.
func statusName(lang string, s workflow.Status) string {
	switch {
	case !s.Valid():
		return "—"
	case lang == langEN:
		return strconv.Itoa(int(s)) + " " + s.NameEN()
	}
	return strconv.Itoa(int(s)) + " " + s.NameVI()
}

// reasonText returns the text of a reason code in lang.
func reasonText(lang string, r workflow.Reason) string {
	if lang == langEN {
		return r.TextEN()
	}
	return r.TextVI()
}
