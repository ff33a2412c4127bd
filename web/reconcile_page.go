package web

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/reconcile"
	"github.com/hoso-vn/hoso/workflow"
)

// reconcileLabels are the labels of the reconciliation page, added to
// labels when the package starts.
var reconcileLabels = map[string][2]string{
	"nav.reconcile": {"Đối soát", "Reconcile"},
	"rc.title":      {"Đối soát dữ liệu của phần mềm một cửa", "Reconcile the one-stop-shop's records"},
	"rc.intro": {"Tải lên file xuất trạng thái hồ sơ của phần mềm một cửa (CSV hoặc JSON: mã hồ sơ, trạng thái, có kết quả, đã số hóa, ngày hẹn trả) để so với trạng thái hợp lệ hoso ghi nhận.",
		"Upload the one-stop-shop software's dossier status export (CSV or JSON: dossier code, status, result attached, inputs digitized, due date) to compare it with the validated state hoso holds."},
	"rc.file":        {"File xuất (CSV, JSON)", "Export file (CSV, JSON)"},
	"rc.scope":       {"Hồ sơ phải có trong file", "Dossiers the export should list"},
	"rc.scope.open":  {"Hồ sơ đang giải quyết", "Open dossiers"},
	"rc.scope.all":   {"Mọi hồ sơ", "Every dossier"},
	"rc.scope.none":  {"Không kiểm tra hồ sơ thiếu", "Do not look for missing dossiers"},
	"rc.publish":     {"Gửi thông báo sửa trạng thái qua NATS", "Publish the status corrections on NATS"},
	"rc.submit":      {"Đối soát", "Reconcile"},
	"rc.run":         {"Lần đối soát", "Run"},
	"rc.rows":        {"Dòng đã đối soát", "Rows compared"},
	"rc.known":       {"Hồ sơ hoso có", "Dossiers hoso knows"},
	"rc.agreeing":    {"Khớp hoàn toàn", "Agreeing in every value"},
	"rc.differences": {"Khác biệt", "Differences"},
	"rc.problems":    {"Dòng lỗi", "Malformed rows"},
	"rc.published":   {"Thông báo sửa trạng thái đã gửi (mới)", "Corrections published (new)"},
	"rc.kind":        {"Loại khác biệt", "Kind of difference"},
	"rc.count":       {"Số hồ sơ", "Dossiers"},
	"rc.agrees":      {"File xuất khớp hoàn toàn với hoso.", "The export agrees with hoso."},
	"rc.more":        {"Chỉ liệt kê các dòng lỗi đầu tiên.", "Only the first malformed rows are listed."},
	"rc.badfile":     {"Không đối soát được", "Could not reconcile"},
	"rc.nofile":      {"Chưa chọn file xuất.", "No export file chosen."},
	"rc.col.line":    {"Dòng", "Line"},
	"rc.col.export":  {"Trong file xuất", "In the export"},
	"rc.col.hoso":    {"Trong hoso", "In hoso"},
	"rc.col.column":  {"Cột", "Column"},
	"rc.col.problem": {"Lỗi", "Problem"},

	"rc.kind.status_differs":      {"Trạng thái khác", "Status differs"},
	"rc.kind.unknown_dossier":     {"Hồ sơ hoso không có", "Dossier unknown to hoso"},
	"rc.kind.result_missing":      {"Thiếu kết quả điện tử", "Electronic result missing"},
	"rc.kind.digitized_differs":   {"Số hóa thành phần hồ sơ khác", "Digitized inputs differ"},
	"rc.kind.due_differs":         {"Ngày hẹn trả khác", "Due date differs"},
	"rc.kind.missing_from_export": {"Không có trong file xuất", "Missing from the export"},
}

func init() {
	for k, v := range reconcileLabels {
		if _, dup := labels[k]; dup {
			panic("web: label " + k + " is defined twice")
		}
		labels[k] = v
	}
}

// reconcilePageData is what the reconciliation page shows: the form, and
// after an upload its report or why there is none.
type reconcilePageData struct {
	Agency, Scope string
	Publish       bool
	CanPublish    bool // the server has a Publisher
	Error         string
	Report        *api.Reconcile
	Groups        []reconcileGroupRow // the report's groups, for people
}

type reconcileGroupRow struct {
	Kind  reconcile.Kind
	Label string
	Count int
	Items []reconcileItemRow
}

type reconcileItemRow struct {
	Code           string
	Known          bool // hoso has the dossier: link to its page
	Line           string
	Export, Hoso   string
	Agency, Status string
}

// reconcilePage serves GET /reconcile, the upload form, and POST
// /reconcile, the form's upload: the report as a page.
func (s *Server) reconcilePage(w http.ResponseWriter, r *http.Request) error {
	_, lang, err := pageParams(r)
	if err != nil {
		return err
	}
	d := &reconcilePageData{Scope: scopeOpen, CanPublish: s.cfg.Publisher != nil}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		if err := crossOrigin.Check(r); err != nil {
			return &apiError{status: http.StatusForbidden, code: "forbidden", msg: err.Error(),
				vi: "Không nhận file gửi từ trang của nơi khác"}
		}
		v, err := s.reconcileForm(w, r, d)
		var ae *apiError
		switch {
		case errors.As(err, &ae) && ae.status < 500:
			status = ae.status
			d.Error = label(lang, "rc.badfile") + ": " + ae.msg
			if ae.code == "no_file" {
				d.Error = label(lang, "rc.nofile")
			}
		case err != nil:
			return err
		default:
			d.Report, d.Groups = &v, reconcileRows(lang, &v)
		}
	}
	return s.render(w, r, status, "reconcile", &view{Lang: lang, Nav: "reconcile", Title: label(lang, "rc.title"), Data: d})
}

// reconcileForm reads the form's upload (fields file, agency, scope,
// publish) into d and reconciles it.
func (s *Server) reconcileForm(w http.ResponseWriter, r *http.Request, d *reconcilePageData) (api.Reconcile, error) {
	release, err := s.reconcileSlot(w) // before the upload is read, as reconcileExport
	if err != nil {
		return api.Reconcile{}, err
	}
	defer release()
	r.Body = http.MaxBytesReader(w, r.Body, reconcile.MaxBytes+multipartOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		return api.Reconcile{}, badFile("not a multipart form: %v", err)
	}
	var (
		data     []byte
		fileType string
		got      bool
	)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return api.Reconcile{}, uploadError(err)
		}
		switch part.FormName() {
		case "file":
			data, err = io.ReadAll(io.LimitReader(part, reconcile.MaxBytes+1))
			if err != nil {
				return api.Reconcile{}, uploadError(err)
			}
			got = part.FileName() != "" || len(data) > 0
			fileType = formatOf(part.Header.Get("Content-Type"), part.FileName())
		case "agency", "scope", "publish":
			b, err := io.ReadAll(io.LimitReader(part, 257))
			if err != nil {
				return api.Reconcile{}, uploadError(err)
			}
			v := strings.TrimSpace(string(b))
			switch part.FormName() {
			case "agency":
				d.Agency = v
			case "scope":
				d.Scope = v
			case "publish":
				d.Publish = v != ""
			}
		}
	}
	switch {
	case !got:
		return api.Reconcile{}, &apiError{status: http.StatusBadRequest, code: "no_file", msg: "no export file chosen"}
	case len(data) > reconcile.MaxBytes:
		return api.Reconcile{}, tooLarge("the export is larger than %d MiB; split it (by agency or by month)", reconcile.MaxBytes>>20)
	case len(d.Agency) > 128:
		return api.Reconcile{}, badParam("agency", "longer than 128 bytes")
	case d.Scope != scopeOpen && d.Scope != scopeAll && d.Scope != scopeNone:
		return api.Reconcile{}, badParam("scope", "%q is not one of open, all, none", d.Scope)
	case d.Publish && s.cfg.Publisher == nil:
		return api.Reconcile{}, badParam("publish", "this server does not publish on NATS")
	case len(strings.TrimSpace(string(data))) == 0:
		return api.Reconcile{}, badFile("the export file is empty")
	}
	return s.reconcile(r, data, reconcileOptions{format: fileType, agency: d.Agency, scope: d.Scope, publish: d.Publish})
}

// reconcileRows renders a report's groups for people in lang.
func reconcileRows(lang string, v *api.Reconcile) []reconcileGroupRow {
	var out []reconcileGroupRow
	for _, g := range v.Groups {
		row := reconcileGroupRow{Kind: g.Kind, Label: label(lang, "rc.kind."+string(g.Kind)), Count: g.Count}
		for _, d := range g.Items {
			it := reconcileItemRow{Code: d.Code, Known: g.Kind != reconcile.KindUnknown, Agency: d.Agency,
				Export: reconcileText(lang, g.Kind, d.Export, true), Hoso: reconcileText(lang, g.Kind, d.Hoso, false)}
			if d.Line > 0 {
				it.Line = strconv.Itoa(d.Line)
			}
			if d.Status != 0 {
				it.Status = statusName(lang, d.Status)
			}
			row.Items = append(row.Items, it)
		}
		out = append(out, row)
	}
	return out
}

// reconcileText renders a value of a difference in lang.
func reconcileText(lang string, k reconcile.Kind, v string, export bool) string {
	switch {
	case v == "":
		return "—"
	case k == reconcile.KindStatus, k == reconcile.KindUnknown && export, k == reconcile.KindMissing && !export:
		if n, err := strconv.Atoi(v); err == nil {
			return statusName(lang, workflow.Status(n))
		}
	case v == "yes":
		return label(lang, "yes")
	case v == "no":
		return label(lang, "no")
	}
	return v
}
