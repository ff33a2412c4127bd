package simulate

import (
	"fmt"
	"strings"
)

// flow is the kind of workflow a procedure goes through, which decides the
// steps the generator plans for it.
type flow int

const (
	flowStandard flow = iota // the standard one-stop-shop flow (procedures "*")
	flowLand                 // land registration with the inter-agency tax step
	flowFeedback             // citizen feedback (phản ánh, kiến nghị)
)

func (f flow) String() string {
	switch f {
	case flowLand:
		return "land"
	case flowFeedback:
		return "feedback"
	}
	return "standard"
}

// actionsOf lists the actions the generator emits for a flow: a definition
// resolved for one of its procedures must have every one of them.
var actionsOf = map[flow][]string{
	flowStandard: {"submit", "receive", "refuse", "assign", "transfer", "request_supplement", "supplement",
		"request_payment", "pay", "withdraw", "stop", "resolve", "return", "apologize"},
	flowLand: {"submit", "receive", "refuse", "assign", "transfer", "request_supplement", "supplement",
		"send_to_tax", "request_payment", "pay", "withdraw", "stop", "resolve", "return", "apologize"},
	flowFeedback: {"receive", "refuse", "assign", "transfer", "answer", "publish", "apologize"},
}

// level is who handles a procedure.
type level int

const (
	levelProvince level = iota // a department of the province (sở)
	levelCommune               // a commune or ward (xã, phường)
	levelAny                   // any agency (citizen feedback)
)

// procedure is one procedure of the simulated province's catalogue.
type procedure struct {
	code   string
	name   string
	sector string
	// sla is the statutory handling time in working days the sender counts
	// data.due from (standard flow); 0 for the flows whose definition sets
	// its own, and for same-day procedures.
	sla int
	// sameDay: a same-day procedure of the standard flow (same-day.yaml):
	// the sender's data.due is the day of receipt, or the next working day
	// from 15:00 on.
	sameDay bool
	level   level
	unit    int     // for levelProvince: index of the department in departments
	weight  int     // relative frequency within its flow
	flow    flow    //
	tax     float64 // land: share of dossiers that go through the tax authority
}

// procedures is the simulated catalogue. The standard-flow codes are made
// up in the national format (1.00xxxx, 2.00xxxx) and name no real
// procedure; names, sectors and statutory times are realistic. The
// same-day, land and feedback codes are those of the shipped definitions.
var procedures = []procedure{
	// Commune level: civil status and certification make most of the
	// volume, most of it due the same day (shipped same-day.yaml).
	{code: "CT.001", name: "Chứng thực bản sao từ bản chính", sector: "Chứng thực", sameDay: true, level: levelCommune, weight: 20},
	{code: "1.004227", name: "Đăng ký khai sinh", sector: "Hộ tịch", sla: 1, level: levelCommune, weight: 12},
	{code: "CT.002", name: "Chứng thực chữ ký", sector: "Chứng thực", sameDay: true, level: levelCommune, weight: 8},
	{code: "1.003583", name: "Cấp Giấy xác nhận tình trạng hôn nhân", sector: "Hộ tịch", sla: 3, level: levelCommune, weight: 6},
	{code: "1.001193", name: "Đăng ký kết hôn", sector: "Hộ tịch", sla: 5, level: levelCommune, weight: 5},
	{code: "HT.001", name: "Cấp bản sao trích lục hộ tịch", sector: "Hộ tịch", sameDay: true, level: levelCommune, weight: 4},
	{code: "2.001035", name: "Chứng thực hợp đồng, giao dịch", sector: "Chứng thực", sla: 2, level: levelCommune, weight: 4},
	{code: "2.000794", name: "Đăng ký thành lập hộ kinh doanh", sector: "Đăng ký kinh doanh", sla: 3, level: levelCommune, weight: 4},
	{code: "HT.002", name: "Đăng ký khai tử", sector: "Hộ tịch", sameDay: true, level: levelCommune, weight: 3},
	{code: "1.005112", name: "Cấp giấy phép xây dựng nhà ở riêng lẻ", sector: "Hoạt động xây dựng", sla: 15, level: levelCommune, weight: 3},
	{code: "1.001776", name: "Trợ cấp xã hội hàng tháng", sector: "Bảo trợ xã hội", sla: 15, level: levelCommune, weight: 2},
	{code: "1.001022", name: "Đăng ký nhận cha, mẹ, con", sector: "Hộ tịch", sla: 3, level: levelCommune, weight: 1},
	{code: "1.008913", name: "Đăng ký tạm ngừng kinh doanh hộ kinh doanh", sector: "Đăng ký kinh doanh", sla: 3, level: levelCommune, weight: 1},
	// Province level, handled by a department.
	{code: "2.001023", name: "Cấp Phiếu lý lịch tư pháp", sector: "Lý lịch tư pháp", sla: 10, level: levelProvince, unit: 0, weight: 8},
	{code: "1.003002", name: "Đăng ký thành lập doanh nghiệp", sector: "Thành lập và hoạt động doanh nghiệp", sla: 3, level: levelProvince, unit: 4, weight: 5},
	{code: "1.002425", name: "Cấp giấy phép kinh doanh vận tải bằng xe ô tô", sector: "Đường bộ", sla: 5, level: levelProvince, unit: 3, weight: 3},
	{code: "2.000199", name: "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm", sector: "An toàn thực phẩm", sla: 15, level: levelProvince, unit: 5, weight: 2},
	{code: "1.001000", name: "Cấp giấy phép lao động cho người nước ngoài", sector: "Việc làm", sla: 5, level: levelProvince, unit: 7, weight: 2},
	{code: "1.004615", name: "Cấp chứng chỉ hành nghề dược", sector: "Dược phẩm", sla: 20, level: levelProvince, unit: 5, weight: 2},
	{code: "2.002178", name: "Cấp phù hiệu xe ô tô kinh doanh vận tải", sector: "Đường bộ", sla: 2, level: levelProvince, unit: 3, weight: 2},
	{code: "1.009794", name: "Cấp chứng chỉ hành nghề hoạt động xây dựng", sector: "Hoạt động xây dựng", sla: 10, level: levelProvince, unit: 3, weight: 2},
	{code: "1.009994", name: "Cấp giấy phép hoạt động đối với cơ sở khám bệnh, chữa bệnh", sector: "Khám bệnh, chữa bệnh", sla: 20, level: levelProvince, unit: 5, weight: 1},
	{code: "1.000775", name: "Cấp Giấy phép bán lẻ sản phẩm rượu", sector: "Lưu thông hàng hóa trong nước", sla: 10, level: levelProvince, unit: 6, weight: 1},
	{code: "2.000505", name: "Cấp giấy phép môi trường", sector: "Môi trường", sla: 20, level: levelProvince, unit: 2, weight: 1},
	{code: "1.004238", name: "Cấp giấy phép khai thác, sử dụng nước dưới đất", sector: "Tài nguyên nước", sla: 20, level: levelProvince, unit: 2, weight: 1},
	{code: "1.001010", name: "Cấp chứng chỉ hành nghề kiến trúc", sector: "Kiến trúc", sla: 10, level: levelProvince, unit: 3, weight: 1},
	{code: "2.001655", name: "Tổ chức biểu diễn nghệ thuật", sector: "Nghệ thuật biểu diễn", sla: 5, level: levelProvince, unit: 8, weight: 1},
	{code: "1.003155", name: "Cho phép thành lập trung tâm giáo dục nghề nghiệp", sector: "Giáo dục nghề nghiệp", sla: 15, level: levelProvince, unit: 9, weight: 1},
	{code: "1.006391", name: "Thẩm định báo cáo nghiên cứu khả thi đầu tư xây dựng", sector: "Hoạt động xây dựng", sla: 20, level: levelProvince, unit: 3, weight: 1},
	{code: "2.000912", name: "Thông báo sản phẩm quảng cáo trên bảng quảng cáo", sector: "Quảng cáo", sla: 5, level: levelProvince, unit: 8, weight: 1},
	{code: "1.008363", name: "Cấp giấy phép hoạt động khoa học và công nghệ", sector: "Hoạt động khoa học và công nghệ", sla: 15, level: levelProvince, unit: 10, weight: 1},

	// Land registration, at the land registration office (shipped land.yaml).
	{code: "DD.001", name: "Đăng ký, cấp Giấy chứng nhận lần đầu", sector: "Đất đai", level: levelProvince, unit: 1, weight: 5, flow: flowLand, tax: 1},
	{code: "DD.002", name: "Đăng ký biến động đất đai", sector: "Đất đai", level: levelProvince, unit: 1, weight: 6, flow: flowLand, tax: 1},
	{code: "DD.003", name: "Cấp đổi Giấy chứng nhận", sector: "Đất đai", level: levelProvince, unit: 1, weight: 4, flow: flowLand, tax: 0.3},

	// Citizen feedback (shipped feedback.yaml).
	{code: "PAKN", name: "Phản ánh, kiến nghị về quy định hành chính", sector: "Phản ánh kiến nghị", level: levelAny, weight: 1, flow: flowFeedback},
}

// Shares of the flows among dossiers.
const (
	shareLand     = 0.15
	shareFeedback = 0.05
)

// agency is one agency of the simulated province.
type agency struct {
	code   string // e.g. "H57.04", "X57.112"
	name   string
	level  level
	ident  string   // the dossier-code prefix: the agency's identifier code, e.g. "000.00.04.H57"
	units  []string // departments (phòng, bộ phận) dossiers are handed between
	desk   string   // the one-stop desk that receives and returns
	actors []string // officer ids
}

// departments are the province's departments (sở), in the order they are
// taken: the land registration office comes early so that small
// simulations have it.
var departments = []string{
	"Sở Tư pháp",
	"Văn phòng Đăng ký đất đai tỉnh",
	"Sở Nông nghiệp và Môi trường",
	"Sở Xây dựng",
	"Sở Tài chính",
	"Sở Y tế",
	"Sở Công Thương",
	"Sở Nội vụ",
	"Sở Văn hóa, Thể thao và Du lịch",
	"Sở Giáo dục và Đào tạo",
	"Sở Khoa học và Công nghệ",
	"Sở Dân tộc và Tôn giáo",
	"Ban Quản lý Khu kinh tế tỉnh",
	"Sở Ngoại vụ",
	"Thanh tra tỉnh",
	"Văn phòng UBND tỉnh",
}

// communes are wards and communes of Tây Ninh after the 2025 merger with
// Long An (illustrative: the names are real places, the list is partial).
var communes = []string{
	"Phường Tân Ninh", "Phường Bình Minh", "Phường Ninh Thạnh", "Phường Long Hoa", "Phường Hòa Thành",
	"Phường Thanh Điền", "Phường Trảng Bàng", "Phường An Tịnh", "Phường Gò Dầu", "Phường Gia Lộc",
	"Phường Long An", "Phường Tân An", "Phường Khánh Hậu", "Phường Kiến Tường", "Xã Hưng Thuận",
	"Xã Phước Chỉ", "Xã Thạnh Đức", "Xã Phước Thạnh", "Xã Truông Mít", "Xã Lộc Ninh",
	"Xã Cầu Khởi", "Xã Dương Minh Châu", "Xã Tân Đông", "Xã Tân Châu", "Xã Tân Phú",
	"Xã Tân Hội", "Xã Tân Thành", "Xã Tân Hòa", "Xã Tân Lập", "Xã Tân Biên",
	"Xã Thạnh Bình", "Xã Trà Vong", "Xã Phước Vinh", "Xã Hòa Hội", "Xã Ninh Điền",
	"Xã Châu Thành", "Xã Hảo Đước", "Xã Long Chữ", "Xã Long Thuận", "Xã Bến Cầu",
	"Xã Tân Trụ", "Xã Cần Giuộc", "Xã Cần Đước", "Xã Đức Hòa", "Xã Bến Lức",
	"Xã Thủ Thừa", "Xã Đức Huệ", "Xã Mộc Hóa", "Xã Tân Thạnh", "Xã Thạnh Hóa",
	"Xã Vĩnh Hưng", "Xã Tân Hưng", "Xã Hậu Nghĩa", "Xã Mỹ Hạnh", "Xã Lương Hòa",
	"Xã Rạch Kiến", "Xã Mỹ Lộc", "Xã Phước Lý", "Xã Tầm Vu", "Xã Vĩnh Công",
}

// MaxAgencies is the largest Config.Agencies: every department and commune
// the generator has a name for.
var MaxAgencies = len(departments) + len(communes)

// Departments handling dossiers inside each kind of agency.
var (
	provinceUnits = []string{"Phòng Nghiệp vụ", "Phòng Pháp chế", "Phòng Kế hoạch – Tài chính", "Phòng Hành chính – Tổng hợp", "Lãnh đạo Sở", "Văn thư"}
	landUnits     = []string{"Phòng Đăng ký và Cấp giấy chứng nhận", "Phòng Đo đạc, bản đồ", "Phòng Kỹ thuật địa chính", "Lãnh đạo Văn phòng", "Văn thư"}
	communeUnits  = []string{"Văn phòng HĐND và UBND", "Phòng Kinh tế", "Phòng Văn hóa – Xã hội", "Lãnh đạo UBND xã", "Văn thư"}
)

const (
	provinceDesk = "Bộ phận Tiếp nhận và Trả kết quả"
	communeDesk  = "Bộ phận Một cửa"
	// province is the province's code in agency and dossier codes.
	province = "57"
)

// newAgencies returns the n agencies of a simulation: about three eighths
// departments, the rest communes, at least one of each.
func newAgencies(n int) (depts, comms []*agency) {
	nd := min(len(departments), max(1, (n*3+4)/8))
	nc := min(len(communes), n-nd)
	nd = n - nc
	officer := 100
	actors := func(k int) []string {
		out := make([]string, k)
		for i := range out {
			officer += 7 + i%5
			out[i] = fmt.Sprintf("cb-%04d", officer)
		}
		return out
	}
	for i := range nd {
		a := &agency{
			code:   fmt.Sprintf("H%s.%02d", province, i+1),
			name:   departments[i],
			level:  levelProvince,
			ident:  fmt.Sprintf("000.00.%02d.H%s", i+1, province),
			units:  provinceUnits,
			desk:   provinceDesk,
			actors: actors(6),
		}
		if strings.HasPrefix(a.name, "Văn phòng Đăng ký đất đai") {
			a.units = landUnits
		}
		depts = append(depts, a)
	}
	for i := range nc {
		comms = append(comms, &agency{
			code:   fmt.Sprintf("X%s.%03d", province, 101+i),
			name:   "UBND " + communes[i],
			level:  levelCommune,
			ident:  fmt.Sprintf("%03d.00.00.H%s", 101+i, province),
			units:  communeUnits,
			desk:   communeDesk,
			actors: actors(4),
		})
	}
	return depts, comms
}

// Reasons and notes officers write.
var (
	refusalReasons = []string{
		"Hồ sơ không thuộc thẩm quyền giải quyết của cơ quan",
		"Thành phần hồ sơ không đúng quy định",
		"Người nộp không đủ điều kiện thực hiện thủ tục",
	}
	stopReasons = []string{
		"Người nộp hồ sơ không bổ sung giấy tờ trong thời hạn yêu cầu",
		"Có văn bản của cơ quan có thẩm quyền đề nghị dừng giải quyết",
		"Tài sản liên quan đang có tranh chấp",
	}
	apologyReasons = []string{
		"Cần xác minh thêm thông tin với cơ quan liên quan",
		"Chờ ý kiến của cơ quan phối hợp",
		"Khối lượng hồ sơ tăng đột biến trong kỳ",
	}
	withdrawReasons = []string{
		"Công dân có đơn xin rút hồ sơ",
		"Người nộp đã nộp hồ sơ tại cơ quan khác",
	}
	feedbackRefusals = []string{
		"Nội dung không thuộc phạm vi tiếp nhận phản ánh, kiến nghị về quy định hành chính",
		"Phản ánh không rõ danh tính, địa chỉ người phản ánh",
	}
	supplementNotes = []string{
		"Bổ sung bản sao giấy tờ tùy thân có chứng thực",
		"Bổ sung tờ khai có đầy đủ chữ ký",
		"Bổ sung bản vẽ, sơ đồ vị trí",
	}
	inputNames = []string{"don-de-nghi.pdf", "to-khai.pdf", "giay-to-tuy-than.pdf", "ban-ve.pdf", "giay-uy-quyen.pdf"}
)
