package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/reconcile"
	"github.com/hoso-vn/hoso/workflow"
)

// reconcileFixture is a running instance holding dossiers in known states,
// and an export that disagrees with them in every way.
type reconcileFixture struct {
	in     *testutil.Instance
	nc     *nats.Conn
	js     jetstream.JetStream
	events int // events published, each with one outcome
}

// Dossier codes of the fixture.
const (
	rcReturned   = "000.00.12.H57-251001-0001" // 10, result and digitized inputs, due 15/10
	rcProcessing = "000.00.12.H57-251001-0002" // 4, digitized inputs, due 15/10
	rcOnline     = "000.00.12.H57-251001-0003" // 10 after an online submission: result, no digitized inputs
	rcSubmitted  = "000.00.12.H57-251001-0004" // 1, in no export
	rcReceived   = "000.00.12.H57-251001-0005" // 2, digitized inputs, due 20/10
	rcStopped    = "000.00.12.H57-251001-0006" // 8 (closed), in no export
	rcOtherAgcy  = "000.00.12.H58-251001-0007" // 1 at agency H58, in no export
	rcPayment    = "000.00.12.H57-251001-0008" // 4, digitized inputs, due 15/10
	rcUnknown    = "000.00.12.H57-999999-0001" // hoso has no such dossier
	rcBadStatus  = "000.00.12.H57-251001-0010" // unknown too, its status unreadable
)

// reconcileExportCSV is the one-stop-shop's export: semicolons, Vietnamese
// column names, a byte-order mark, statuses as codes and names.
const reconcileExportCSV = "\ufeffMã hồ sơ;Trạng thái;Có kết quả;Đã số hóa;Ngày hẹn trả\r\n" +
	rcReturned + ";10;có;có;15/10/2025\r\n" + // 2: agrees
	rcProcessing + ";9;có;có;16/10/2025\r\n" + // 3: status, result, due
	rcOnline + ";Đã trả kết quả;không;có;\r\n" + // 4: result, digitized
	rcReceived + ";2;không;không;2025-10-20\r\n" + // 5: digitized
	rcPayment + ";Yêu cầu thực hiện nghĩa vụ tài chính;;;15/10/2025\r\n" + // 6: status
	rcUnknown + ";4;;;\r\n" + // 7: unknown
	"R 09;4;;;\r\n" + // 8: not a dossier code
	rcBadStatus + ";11;;;\r\n" // 9: a bad status, and unknown

func newReconcileFixture(t *testing.T) *reconcileFixture {
	t.Helper()
	in := startServe(t, t.TempDir())
	nc, js := testutil.Connect(t, in.NATSURL)
	f := &reconcileFixture{in: in, nc: nc, js: js}
	at := time.Date(2025, 10, 1, 8, 0, 0, 0, workflow.Zone)
	var msgs []testutil.Message
	ev := func(code, action string, opts ...func(*workflow.Event)) {
		at = at.Add(time.Minute)
		agency := "H57"
		if code == rcOtherAgcy {
			agency = "H58"
		}
		e := &workflow.Event{ID: fmt.Sprintf("rc-%03d", len(msgs)), SourceURI: "/motcua/tayninh", Source: "tayninh",
			Action: action, Dossier: code, Time: at, Procedure: "1.004227", Agency: agency, Actor: "cb-01"}
		for _, o := range opts {
			o(e)
		}
		data, err := events.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, testutil.Message{Subject: events.Subject("tayninh", code), Data: data, MsgID: e.ID})
	}
	attach := func(kinds ...string) func(*workflow.Event) {
		return func(e *workflow.Event) {
			for _, k := range kinds {
				e.Attachments = append(e.Attachments, workflow.Attachment{Kind: k, Name: k + ".pdf"})
			}
		}
	}
	due := func(d string) func(*workflow.Event) {
		return func(e *workflow.Event) { e.Due, _ = time.ParseInLocation(time.DateOnly, d, workflow.Zone) }
	}
	dept := func(e *workflow.Event) { e.Department = "tu-phap" }
	stop := func(e *workflow.Event) { e.Reason = "không đủ điều kiện" }
	ev(rcReturned, "receive", attach(workflow.AttachmentInputDigitized), due("2025-10-15"))
	ev(rcReturned, "assign", dept)
	ev(rcReturned, "resolve", attach(workflow.AttachmentResultElectronic))
	ev(rcReturned, "return")
	ev(rcProcessing, "receive", attach(workflow.AttachmentInputDigitized), due("2025-10-15"))
	ev(rcProcessing, "assign", dept)
	ev(rcOnline, "submit")
	ev(rcOnline, "receive", due("2025-10-15"))
	ev(rcOnline, "assign", dept)
	ev(rcOnline, "resolve", attach(workflow.AttachmentResultElectronic))
	ev(rcOnline, "return")
	ev(rcSubmitted, "submit")
	ev(rcReceived, "receive", attach(workflow.AttachmentInputDigitized), due("2025-10-20"))
	ev(rcStopped, "receive", attach(workflow.AttachmentInputDigitized), due("2025-10-15"))
	ev(rcStopped, "assign", dept)
	ev(rcStopped, "stop", attach(workflow.AttachmentStopNotice), stop)
	ev(rcOtherAgcy, "submit")
	ev(rcPayment, "receive", attach(workflow.AttachmentInputDigitized), due("2025-10-15"))
	ev(rcPayment, "assign", dept)
	testutil.Publish(t, js, msgs)
	f.events = len(msgs)
	testutil.WaitOutcomes(t, js, uint64(f.events), 20*time.Second)
	return f
}

// reconcileAnswer is the answer of POST /api/v1/reconcile.
type reconcileAnswer struct {
	Run    string `json:"run"`
	Format string `json:"format"`
	Scope  struct {
		Agency   string `json:"agency"`
		Dossiers string `json:"dossiers"`
	} `json:"scope"`
	ProblemCount int                    `json:"problem_count"`
	Problems     []reconcile.RowProblem `json:"problems"`
	reconcile.Report
	Published *struct {
		Corrections int `json:"corrections"`
		New         int `json:"new"`
	} `json:"published"`
}

// post POSTs a body to the instance and returns the status and body.
func post(t testing.TB, base, path, ctype string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func postReconcile(t testing.TB, base, query, ctype string, body []byte) reconcileAnswer {
	t.Helper()
	status, out := post(t, base, "/api/v1/reconcile"+query, ctype, body)
	if status != http.StatusOK {
		t.Fatalf("POST /api/v1/reconcile%s = %d %s", query, status, out)
	}
	var a reconcileAnswer
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	return a
}

// wantReport is the report of reconcileExportCSV; missing lists the
// dossiers missing from the export in the scope asked for.
func wantReport(missing ...reconcile.Difference) reconcile.Report {
	items := func(d ...reconcile.Difference) []reconcile.Difference {
		if d == nil {
			return []reconcile.Difference{}
		}
		return d
	}
	diff := func(k reconcile.Kind, code string, line int, export, hoso string, st workflow.Status) reconcile.Difference {
		return reconcile.Difference{Kind: k, Code: code, Line: line, Export: export, Hoso: hoso, Agency: "H57", Status: st}
	}
	groups := []reconcile.Group{
		{Kind: reconcile.KindStatus, Items: items(
			diff(reconcile.KindStatus, rcProcessing, 3, "9", "4", 4),
			diff(reconcile.KindStatus, rcPayment, 6, "6", "4", 4))},
		{Kind: reconcile.KindUnknown, Items: items(
			reconcile.Difference{Kind: reconcile.KindUnknown, Code: rcBadStatus, Line: 9},
			reconcile.Difference{Kind: reconcile.KindUnknown, Code: rcUnknown, Line: 7, Export: "4"})},
		{Kind: reconcile.KindResult, Items: items(
			diff(reconcile.KindResult, rcProcessing, 3, "yes", "no", 4),
			diff(reconcile.KindResult, rcOnline, 4, "no", "yes", 10))},
		{Kind: reconcile.KindDigitized, Items: items(
			diff(reconcile.KindDigitized, rcOnline, 4, "yes", "no", 10),
			diff(reconcile.KindDigitized, rcReceived, 5, "no", "yes", 2))},
		{Kind: reconcile.KindDue, Items: items(diff(reconcile.KindDue, rcProcessing, 3, "2025-10-16", "2025-10-15", 4))},
		{Kind: reconcile.KindMissing, Items: items(missing...)},
	}
	r := reconcile.Report{Rows: 7, Known: 5, Agreeing: 1, Counts: map[reconcile.Kind]int{}}
	for _, g := range groups {
		g.Count = len(g.Items)
		r.Groups = append(r.Groups, g)
		r.Counts[g.Kind] = g.Count
		r.Differences += g.Count
	}
	return r
}

func missingDossier(code, agency string, st workflow.Status) reconcile.Difference {
	return reconcile.Difference{Kind: reconcile.KindMissing, Code: code, Hoso: fmt.Sprint(int(st)), Agency: agency, Status: st}
}

// TestReconcileAPI uploads an export with known differences and checks
// the report exactly, in every scope and way of uploading.
func TestReconcileAPI(t *testing.T) {
	f := newReconcileFixture(t)
	base := f.in.HTTPURL
	export := []byte(reconcileExportCSV)
	run := reconcile.RunID(export)

	a := postReconcile(t, base, "?agency=H57", "text/csv", export)
	if a.Run != run || a.Format != "csv" || a.Scope.Agency != "H57" || a.Scope.Dossiers != "open" || a.Published != nil {
		t.Errorf("answer run %q format %q scope %+v published %v", a.Run, a.Format, a.Scope, a.Published)
	}
	if diff := cmp.Diff(wantReport(missingDossier(rcSubmitted, "H57", 1)), a.Report); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if a.ProblemCount != 2 || len(a.Problems) != 2 ||
		a.Problems[0].Line != 8 || a.Problems[0].Column != "Mã hồ sơ" || !strings.Contains(a.Problems[0].Message, `"R 09" is not a dossier code`) ||
		a.Problems[1].Line != 9 || a.Problems[1].Code != rcBadStatus || a.Problems[1].Column != "Trạng thái" || a.Problems[1].MessageVI == "" {
		t.Errorf("problems %d: %+v", a.ProblemCount, a.Problems)
	}

	scopes := []struct {
		query   string
		missing []reconcile.Difference
	}{
		{"", []reconcile.Difference{missingDossier(rcSubmitted, "H57", 1), missingDossier(rcOtherAgcy, "H58", 1)}},
		{"?scope=all&agency=H57", []reconcile.Difference{missingDossier(rcSubmitted, "H57", 1), missingDossier(rcStopped, "H57", 8)}},
		{"?scope=all", []reconcile.Difference{missingDossier(rcSubmitted, "H57", 1), missingDossier(rcStopped, "H57", 8), missingDossier(rcOtherAgcy, "H58", 1)}},
		{"?scope=none&agency=H57", nil},
		{"?agency=H99", nil},
	}
	for _, sc := range scopes {
		a := postReconcile(t, base, sc.query, "text/csv", export)
		if diff := cmp.Diff(wantReport(sc.missing...), a.Report); diff != "" {
			t.Errorf("report of %q (-want +got):\n%s", sc.query, diff)
		}
	}

	t.Run("multipart upload", func(t *testing.T) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField("note", "ignored")
		fw, err := mw.CreateFormFile("file", "xuat-hs.csv")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(export)
		mw.Close()
		a := postReconcile(t, base, "?agency=H57", mw.FormDataContentType(), body.Bytes())
		if diff := cmp.Diff(wantReport(missingDossier(rcSubmitted, "H57", 1)), a.Report); diff != "" || a.Run != run {
			t.Errorf("multipart report, run %q (-want +got):\n%s", a.Run, diff)
		}
	})

	t.Run("JSON and NDJSON, sniffed", func(t *testing.T) {
		rows := []map[string]any{
			{"ma_ho_so": rcReturned, "trang_thai": 10, "co_ket_qua": true, "da_so_hoa": true, "ngay_hen_tra": "2025-10-15"},
			{"ma_ho_so": rcProcessing, "trang_thai": "9", "co_ket_qua": 1, "da_so_hoa": "có", "ngay_hen_tra": "16/10/2025"},
			{"ma_ho_so": rcOnline, "trang_thai": "Đã trả kết quả", "co_ket_qua": false, "da_so_hoa": true, "ngay_hen_tra": nil},
			{"ma_ho_so": rcReceived, "trang_thai": 2, "co_ket_qua": "không", "da_so_hoa": 0, "ngay_hen_tra": "2025-10-20T10:00:00+07:00"},
			{"ma_ho_so": rcPayment, "trang_thai": 6, "ngay_hen_tra": "2025-10-15"},
			{"ma_ho_so": rcUnknown, "trang_thai": 4},
			{"ma_ho_so": "R 09", "trang_thai": 4},
			{"ma_ho_so": rcBadStatus, "trang_thai": 11},
		}
		array, _ := json.MarshalIndent(rows, "", " ")
		var ndjson bytes.Buffer
		for _, r := range rows {
			line, _ := json.Marshal(r)
			ndjson.Write(append(line, '\n'))
		}
		for name, body := range map[string][]byte{"array": array, "ndjson": ndjson.Bytes()} {
			a := postReconcile(t, base, "?agency=H57", "application/octet-stream", body)
			want := wantReport(missingDossier(rcSubmitted, "H57", 1))
			for gi := range want.Groups { // lines differ from the CSV's
				for i := range want.Groups[gi].Items {
					want.Groups[gi].Items[i].Line = 0
				}
			}
			for gi := range a.Groups {
				for i := range a.Groups[gi].Items {
					a.Groups[gi].Items[i].Line = 0
				}
			}
			if diff := cmp.Diff(want, a.Report); diff != "" || a.Format != "json" || a.ProblemCount != 2 {
				t.Errorf("%s: format %q, %d problems, report (-want +got):\n%s", name, a.Format, a.ProblemCount, diff)
			}
		}
	})

	t.Run("CSV answer", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/reconcile?agency=H57", strings.NewReader(reconcileExportCSV))
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("Accept", "text/csv")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(string(body), "\ufeff")), "\n")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || len(lines) != 11 ||
			strings.TrimSpace(lines[0]) != "kind,code,line,export,hoso,agency,status" ||
			strings.TrimSpace(lines[1]) != "status_differs,"+rcProcessing+",3,9,4,H57,4" ||
			strings.TrimSpace(lines[10]) != "missing_from_export,"+rcSubmitted+",,,1,H57,1" {
			t.Errorf("CSV answer %d %s:\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		var multi bytes.Buffer
		mw := multipart.NewWriter(&multi)
		_ = mw.WriteField("other", "x")
		mw.Close()
		bad := []struct {
			query, ctype string
			body         []byte
			status       int
			code, param  string
			msg          string
		}{
			{"?format=xml", "text/csv", export, 400, "bad_parameter", "format", "not one of csv, json"},
			{"?scope=some", "text/csv", export, 400, "bad_parameter", "scope", "not one of open, all, none"},
			{"?publish=maybe", "text/csv", export, 400, "bad_parameter", "publish", "not true or false"},
			{"?colour=red", "text/csv", export, 400, "bad_parameter", "", "unknown parameter; this endpoint takes format, agency, scope, publish"},
			{"?format=csv&format=json", "text/csv", export, 400, "bad_parameter", "format", "given 2 times"},
			{"", "text/csv", nil, 400, "bad_file", "", "empty"},
			{"", "text/plain", []byte("hello, world\nthis is not an export\n"), 400, "bad_file", "", "no header row naming the dossier code"},
			{"?format=json", "text/csv", export, 400, "bad_file", "", "array of objects"},
			{"", "application/json", []byte(`[{"code":"A-1"},`), 400, "bad_file", "", "JSON syntax error at line 1"},
			{"", "application/octet-stream", []byte("PK\x03\x04rest"), 400, "bad_file", "", "xlsx"},
			{"", mw.FormDataContentType(), multi.Bytes(), 400, "bad_file", "", `no field "file"`},
			{"", "multipart/form-data", []byte("x"), 400, "bad_file", "", "multipart"},
			{"", "text/csv", append([]byte("code\n"), bytes.Repeat([]byte("x"), reconcile.MaxBytes)...), 413, "too_large", "", "larger than 50 MiB"},
		}
		for _, tt := range bad {
			status, out := post(t, base, "/api/v1/reconcile"+tt.query, tt.ctype, tt.body)
			var e struct {
				Error struct {
					Code, Parameter, Message string
					RequestID                string `json:"request_id"`
				} `json:"error"`
			}
			_ = json.Unmarshal(out, &e)
			if status != tt.status || e.Error.Code != tt.code || e.Error.Parameter != tt.param ||
				!strings.Contains(e.Error.Message, tt.msg) || e.Error.RequestID == "" {
				t.Errorf("POST %q (%s) = %d %s, want %d %s %q", tt.query, tt.ctype, status, out, tt.status, tt.code, tt.msg)
			}
		}
	})
}

// TestReconcileCLI runs `hoso reconcile` against a running instance.
func TestReconcileCLI(t *testing.T) {
	f := newReconcileFixture(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "xuat.csv")
	if err := os.WriteFile(file, []byte(reconcileExportCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	hosoCmd := func(stdin string, args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		err := run(context.Background(), append([]string{"reconcile"}, args...), func(k string) string {
			if k == "HOSO_SERVER" {
				return f.in.HTTPURL
			}
			return ""
		}, strings.NewReader(stdin), &out, &errb)
		return out.String(), errb.String(), err
	}

	out, _, err := hosoCmd("", file, "--agency", "H57")
	if code, ok := err.(exitError); !ok || code != 1 {
		t.Fatalf("reconcile with differences = %v, want exit status 1\n%s", err, out)
	}
	flat := strings.Join(strings.Fields(out), " ") // tabwriter's padding aside
	for _, want := range []string{
		"7 dòng (csv), lần đối soát " + reconcile.RunID([]byte(reconcileExportCSV)),
		"5 hồ sơ hoso có, 1 khớp hoàn toàn; 10 khác biệt; 2 dòng lỗi",
		"Phạm vi cơ quan H57, hồ sơ đang giải quyết",
		"Trạng thái khác status_differs 2 Hồ sơ hoso không có unknown_dossier 2 Thiếu kết quả điện tử result_missing 2",
		"Ngày hẹn trả khác due_differs 1 Không có trong file xuất missing_from_export 1",
		rcProcessing + " 3 9 Đã xử lý xong 4 Đang xử lý H57",
		rcPayment + " 6 6 Yêu cầu thực hiện nghĩa vụ tài chính 4 Đang xử lý H57",
		rcUnknown + " 7 4 Đang xử lý - -",
		rcOnline + " 4 không có H57",
		rcProcessing + " 3 2025-10-16 2025-10-15 H57",
		rcSubmitted + " - - 1 Mới đăng ký H57",
		"Dòng lỗi: 2",
		`8 - Mã hồ sơ "R 09" không phải mã hồ sơ`,
		rcBadStatus + ` Trạng thái "11" không phải mã trạng thái 1–10 hay tên trạng thái`,
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("reconcile output lacks %q:\n%s", want, out)
		}
	}

	// -o json prints the API's report; standard input works as a file.
	out, _, err = hosoCmd(reconcileExportCSV, "-", "--format", "csv", "--scope", "all", "-o", "json")
	var a reconcileAnswer
	if code, ok := err.(exitError); !ok || code != 1 || json.Unmarshal([]byte(out), &a) != nil {
		t.Fatalf("reconcile -o json = %v\n%s", err, out)
	}
	want := wantReport(missingDossier(rcSubmitted, "H57", 1), missingDossier(rcStopped, "H57", 8), missingDossier(rcOtherAgcy, "H58", 1))
	if diff := cmp.Diff(want, a.Report); diff != "" {
		t.Errorf("reconcile -o json report (-want +got):\n%s", diff)
	}

	// An export that agrees with hoso: exit status 0.
	clean := filepath.Join(dir, "clean.json")
	if err := os.WriteFile(clean, []byte(`[{"code":"`+rcReturned+`","status":10,"has_result":true,"due":"2025-10-15"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = hosoCmd("", clean, "--scope", "none")
	if err != nil || !strings.Contains(out, "1 hồ sơ hoso có, 1 khớp hoàn toàn; 0 khác biệt; 0 dòng lỗi") || strings.Contains(out, "MÃ HỒ SƠ") {
		t.Fatalf("reconcile of an agreeing export = %v\n%s", err, out)
	}

	// Trouble is exit status 2, with the server's message.
	_, errOut, err := hosoCmd("", file, "--scope", "some")
	if code, ok := err.(exitError); !ok || code != 2 || !strings.Contains(errOut, `scope: "some" is not one of open, all, none`) {
		t.Fatalf("reconcile --scope some = %v, %q", err, errOut)
	}
	_, errOut, err = hosoCmd("", filepath.Join(dir, "nothing.csv"))
	if code, ok := err.(exitError); !ok || code != 2 || !strings.Contains(errOut, "no such file") {
		t.Fatalf("reconcile of a missing file = %v, %q", err, errOut)
	}
	_, errOut, err = hosoCmd("", file, "--server", "http://127.0.0.1:1")
	if code, ok := err.(exitError); !ok || code != 2 || !strings.Contains(errOut, "is `hoso serve` running?") {
		t.Fatalf("reconcile without a server = %v, %q", err, errOut)
	}
	if _, _, err = hosoCmd(""); err != flag.ErrHelp {
		t.Fatalf("reconcile without a file = %v, want flag.ErrHelp", err)
	}
}

// TestReconcilePublish publishes the corrections of a reconciliation and
// checks that uploading the same file again stores nothing new.
func TestReconcilePublish(t *testing.T) {
	f := newReconcileFixture(t)
	export := []byte(reconcileExportCSV)
	runID := reconcile.RunID(export)
	msgs := make(chan *nats.Msg, 64)
	sub, err := f.nc.ChanSubscribe("hoso.outcomes.correction.>", msgs)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := f.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	before := testutil.OutcomeCount(t, f.js)

	var errb bytes.Buffer
	var out bytes.Buffer
	file := filepath.Join(t.TempDir(), "xuat.csv")
	if err := os.WriteFile(file, export, 0o600); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"reconcile", "--server", f.in.HTTPURL, "--agency", "H57", "--publish", file},
		noEnv, strings.NewReader(""), &out, &errb)
	if code, ok := err.(exitError); !ok || code != 1 || !strings.Contains(strings.Join(strings.Fields(out.String()), " "), "Đã gửi 2 thông báo sửa trạng thái (2 mới)") {
		t.Fatalf("reconcile --publish = %v\n%s%s", err, out.String(), errb.String())
	}
	if n := testutil.OutcomeCount(t, f.js); n != before+2 {
		t.Fatalf("outcomes stream holds %d messages after publishing, want %d", n, before+2)
	}

	want := map[string]workflow.Status{rcProcessing: 9, rcPayment: 6}
	deadline := time.After(10 * time.Second)
	for len(want) > 0 {
		select {
		case m := <-msgs:
			var o workflow.Outcome
			if err := json.Unmarshal(m.Data, &o); err != nil {
				t.Fatalf("correction %s: %v", m.Data, err)
			}
			claimed, ok := want[o.Dossier]
			if !ok {
				t.Fatalf("unexpected correction %s", m.Data)
			}
			delete(want, o.Dossier)
			wantID := "reconcile:" + runID + ":" + o.Dossier
			if m.Subject != "hoso.outcomes.correction.tayninh."+workflow.DossierToken(o.Dossier) ||
				m.Header.Get(jetstream.MsgIDHeader) != wantID+"@0" ||
				o.Kind != workflow.OutcomeCorrection || o.Seq != 0 || o.EventID != wantID || o.Source != "tayninh" ||
				o.Action != "reconcile" || o.Status != workflow.StatusProcessing || o.StatusName != "Đang xử lý" ||
				o.ClaimedStatus != claimed || o.Reason != workflow.ReasonStatusMismatch || o.Due == nil ||
				!strings.HasPrefix(o.MessageVI, "Đối soát dữ liệu xuất từ phần mềm một cửa (lần đối soát "+runID+"): trạng thái đúng là 4 Đang xử lý, không phải ") ||
				!strings.HasPrefix(o.MessageEN, "Reconciliation of the one-stop-shop's export (run "+runID+"): the status is 4 In progress, not ") ||
				time.Since(o.Time) > time.Minute {
				t.Errorf("correction on %s, Nats-Msg-Id %q: %s", m.Subject, m.Header.Get(jetstream.MsgIDHeader), m.Data)
			}
		case <-deadline:
			t.Fatalf("corrections not received for %v", want)
		}
	}

	// The same file again: the stream drops both corrections.
	a := postReconcile(t, f.in.HTTPURL, "?agency=H57&publish=true", "text/csv", export)
	if a.Published == nil || a.Published.Corrections != 2 || a.Published.New != 0 {
		t.Fatalf("second upload published %+v, want 2 corrections, 0 new", a.Published)
	}
	if n := testutil.OutcomeCount(t, f.js); n != before+2 {
		t.Fatalf("outcomes stream holds %d messages after a second upload, want %d", n, before+2)
	}
	// Without publish=true nothing is published.
	postReconcile(t, f.in.HTTPURL, "?agency=H57", "text/csv", export)
	if n := testutil.OutcomeCount(t, f.js); n != before+2 {
		t.Fatalf("outcomes stream holds %d messages after an upload without publish, want %d", n, before+2)
	}
}

// TestReconcileLarge reconciles an export of 30,000 rows against as many
// dossiers and logs how long it takes.
func TestReconcileLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("30,000 dossiers: skipped with -short")
	}
	const n = 30_000
	in := startServe(t, t.TempDir())
	_, js := testutil.Connect(t, in.NATSURL)
	at := time.Date(2025, 10, 1, 8, 0, 0, 0, workflow.Zone)
	var msgs []testutil.Message
	var export bytes.Buffer
	export.WriteString("ma_ho_so,trang_thai,co_ket_qua,da_so_hoa,ngay_hen_tra\n")
	for i := range n {
		code := fmt.Sprintf("000.00.12.H57-251001-%05d", i)
		e := &workflow.Event{ID: fmt.Sprintf("big-%05d", i), SourceURI: "/motcua/tayninh", Source: "tayninh",
			Action: "submit", Dossier: code, Time: at.Add(time.Duration(i) * time.Second), Procedure: "1.004227",
			Agency: "H57", Actor: "cd-01"}
		data, err := events.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, testutil.Message{Subject: events.Subject("tayninh", code), Data: data, MsgID: e.ID})
		status := 1
		if i%10 == 0 {
			status = 2 // one in ten differs
		}
		fmt.Fprintf(&export, "%s,%d,0,0,\n", code, status)
	}
	start := time.Now()
	testutil.Publish(t, js, msgs)
	testutil.WaitOutcomes(t, js, n, 2*time.Minute)
	t.Logf("applied %d events in %s", n, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	a := postReconcile(t, in.HTTPURL, "?agency=H57", "text/csv", export.Bytes())
	took := time.Since(start)
	if a.Rows != n || a.Known != n || a.Counts[reconcile.KindStatus] != n/10 || a.Counts[reconcile.KindMissing] != 0 || a.Differences != n/10 {
		t.Fatalf("report of %d rows: rows %d, known %d, counts %v", n, a.Rows, a.Known, a.Counts)
	}
	t.Logf("reconciled %d rows (%d KiB) in %s: %.0f rows/s", n, export.Len()>>10, took.Round(time.Millisecond), float64(n)/took.Seconds())
}

// TestReconcilePage uploads the export through the dashboard's form.
func TestReconcilePage(t *testing.T) {
	f := newReconcileFixture(t)
	base := f.in.HTTPURL
	form := func(fields map[string]string, file []byte) (string, []byte) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		if file != nil {
			fw, err := mw.CreateFormFile("file", "xuat.csv")
			if err != nil {
				t.Fatal(err)
			}
			fw.Write(file)
		} else {
			mw.CreateFormFile("file", "") // a form submitted without choosing a file
		}
		for _, k := range []string{"agency", "scope", "publish"} {
			if v, ok := fields[k]; ok {
				mw.WriteField(k, v)
			}
		}
		mw.Close()
		return mw.FormDataContentType(), body.Bytes()
	}
	page := func(method, path string, ctype string, body []byte, header map[string]string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("%s %s: Content-Type %q", method, path, ct)
		}
		return resp.StatusCode, string(out)
	}
	has := func(what, html string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(html, w) {
				t.Errorf("%s lacks %q", what, w)
			}
		}
	}

	status, html := page("GET", "/reconcile", "", nil, nil)
	if status != 200 {
		t.Fatalf("GET /reconcile = %d", status)
	}
	has("the form", html, `<form class="filters" id="reconcile-form" method="post" action="/reconcile" enctype="multipart/form-data">`,
		`name="file"`, `name="agency"`, `<option value="open" selected>Hồ sơ đang giải quyết</option>`, `name="publish"`,
		`href="/reconcile" aria-current="page">Đối soát</a>`)

	ctype, body := form(map[string]string{"agency": "H57", "scope": "open"}, []byte(reconcileExportCSV))
	status, html = page("POST", "/reconcile", ctype, body, nil)
	if status != 200 {
		t.Fatalf("POST /reconcile = %d\n%s", status, html)
	}
	has("the report", html, reconcile.RunID([]byte(reconcileExportCSV)),
		`<span class="n" id="reconcile-differences">10</span>`,
		`<a href="#kind-status_differs">Trạng thái khác</a></td><td><code>status_differs</code></td><td class="num">2</td>`,
		`<h2 id="kind-missing_from_export">Không có trong file xuất (1)</h2>`,
		`<a class="dossier-link" href="/dossiers/`+rcProcessing+`">`+rcProcessing+`</a></td><td class="num">3</td><td>9 Đã xử lý xong</td><td>4 Đang xử lý</td>`,
		`<td>`+rcUnknown+`</td><td class="num">7</td><td>4 Đang xử lý</td><td>—</td>`,
		`<td class="num">9</td><td>`+rcBadStatus+`</td><td>Trạng thái</td><td>&#34;11&#34; không phải mã trạng thái`,
		`value="H57"`)
	if strings.Contains(html, "reconcile-published") {
		t.Error("a report without publish shows publications")
	}

	// In English, with the corrections published.
	before := testutil.OutcomeCount(t, f.js)
	ctype, body = form(map[string]string{"agency": "H57", "scope": "all", "publish": "true"}, []byte(reconcileExportCSV))
	status, html = page("POST", "/reconcile?lang=en", ctype, body, nil)
	if status != 200 {
		t.Fatalf("POST /reconcile?lang=en = %d\n%s", status, html)
	}
	has("the English report", html, `<h2 id="kind-status_differs">Status differs (2)</h2>`,
		`<td>9 Resolved</td><td>4 In progress</td>`, `<span class="n" id="reconcile-published">2 (2)</span>`,
		`<option value="all" selected>Every dossier</option>`, `/dossiers/`+rcStopped)
	if n := testutil.OutcomeCount(t, f.js); n != before+2 {
		t.Errorf("outcomes stream holds %d messages after publishing from the page, want %d", n, before+2)
	}

	// Errors are shown on the page, with the form.
	for _, tt := range []struct {
		name   string
		fields map[string]string
		file   []byte
		status int
		want   string
	}{
		{"no file", nil, nil, 400, "Chưa chọn file xuất."},
		{"not an export", nil, []byte("hello\n"), 400, "Không đối soát được: not a CSV or JSON export: no header row naming the dossier code"},
		{"bad scope", map[string]string{"scope": "some"}, []byte(reconcileExportCSV), 400, `scope: &#34;some&#34; is not one of open, all, none`},
	} {
		ctype, body := form(tt.fields, tt.file)
		status, html := page("POST", "/reconcile", ctype, body, nil)
		if status != tt.status || !strings.Contains(html, `id="reconcile-error"`) || !strings.Contains(html, tt.want) || !strings.Contains(html, `id="reconcile-form"`) {
			t.Errorf("%s: POST /reconcile = %d, want %d with %q", tt.name, status, tt.status, tt.want)
		}
	}
	status, _ = page("GET", "/reconcile?x=1", "", nil, nil)
	if status != 400 {
		t.Errorf("GET /reconcile?x=1 = %d, want 400", status)
	}
	// A form posted from another site's page is refused.
	ctype, body = form(map[string]string{"publish": "true"}, []byte(reconcileExportCSV))
	status, _ = page("POST", "/reconcile", ctype, body, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
	if status != 403 {
		t.Errorf("cross-site POST /reconcile = %d, want 403", status)
	}
	if status, out := post(t, base, "/api/v1/reconcile", "text/csv", []byte(reconcileExportCSV)); status != 200 {
		t.Errorf("POST /api/v1/reconcile without browser headers = %d %s", status, out)
	}
}
