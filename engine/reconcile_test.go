package engine_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/reconcile"
	"github.com/hoso-vn/hoso/workflow"
)

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

func postReconcile(t testing.TB, base, query, ctype string, body []byte) api.Reconcile {
	t.Helper()
	status, out := post(t, base, "/api/v1/reconcile"+query, ctype, body)
	if status != http.StatusOK {
		t.Fatalf("POST /api/v1/reconcile%s = %d %s", query, status, out)
	}
	var a api.Reconcile
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	return a
}

// TestReconcileAPI uploads an export with known differences and checks
// the report exactly, in every scope and way of uploading.
func TestReconcileAPI(t *testing.T) {
	f := testutil.NewReconcileFixture(t)
	base := f.In.HTTPURL
	export := []byte(testutil.ReconcileExportCSV)
	run := reconcile.RunID(export)

	a := postReconcile(t, base, "?agency=H57", "text/csv", export)
	if a.Run != run || a.Format != "csv" || a.Scope.Agency != "H57" || a.Scope.Dossiers != "open" || a.Published != nil {
		t.Errorf("answer run %q format %q scope %+v published %v", a.Run, a.Format, a.Scope, a.Published)
	}
	if diff := cmp.Diff(testutil.WantReport(testutil.MissingDossier(testutil.ReconcileSubmitted, "H57", 1)), a.Report); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if a.ProblemCount != 2 || len(a.Problems) != 2 ||
		a.Problems[0].Line != 8 || a.Problems[0].Column != "Mã hồ sơ" || !strings.Contains(a.Problems[0].Message, `"R 09" is not a dossier code`) ||
		a.Problems[1].Line != 9 || a.Problems[1].Code != testutil.ReconcileBadStatus || a.Problems[1].Column != "Trạng thái" || a.Problems[1].MessageVI == "" {
		t.Errorf("problems %d: %+v", a.ProblemCount, a.Problems)
	}

	scopes := []struct {
		query   string
		missing []reconcile.Difference
	}{
		{"", []reconcile.Difference{testutil.MissingDossier(testutil.ReconcileSubmitted, "H57", 1), testutil.MissingDossier(testutil.ReconcileOtherAgency, "H58", 1)}},
		{"?scope=all&agency=H57", []reconcile.Difference{testutil.MissingDossier(testutil.ReconcileSubmitted, "H57", 1), testutil.MissingDossier(testutil.ReconcileStopped, "H57", 8)}},
		{"?scope=all", []reconcile.Difference{testutil.MissingDossier(testutil.ReconcileSubmitted, "H57", 1), testutil.MissingDossier(testutil.ReconcileStopped, "H57", 8), testutil.MissingDossier(testutil.ReconcileOtherAgency, "H58", 1)}},
		{"?scope=none&agency=H57", nil},
		{"?agency=H99", nil},
	}
	for _, sc := range scopes {
		a := postReconcile(t, base, sc.query, "text/csv", export)
		if diff := cmp.Diff(testutil.WantReport(sc.missing...), a.Report); diff != "" {
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
		if diff := cmp.Diff(testutil.WantReport(testutil.MissingDossier(testutil.ReconcileSubmitted, "H57", 1)), a.Report); diff != "" || a.Run != run {
			t.Errorf("multipart report, run %q (-want +got):\n%s", a.Run, diff)
		}
	})

	t.Run("JSON and NDJSON, sniffed", func(t *testing.T) {
		rows := []map[string]any{
			{"ma_ho_so": testutil.ReconcileReturned, "trang_thai": 10, "co_ket_qua": true, "da_so_hoa": true, "ngay_hen_tra": "2025-10-15"},
			{"ma_ho_so": testutil.ReconcileProcessing, "trang_thai": "9", "co_ket_qua": 1, "da_so_hoa": "có", "ngay_hen_tra": "16/10/2025"},
			{"ma_ho_so": testutil.ReconcileOnline, "trang_thai": "Đã trả kết quả", "co_ket_qua": false, "da_so_hoa": true, "ngay_hen_tra": nil},
			{"ma_ho_so": testutil.ReconcileReceived, "trang_thai": 2, "co_ket_qua": "không", "da_so_hoa": 0, "ngay_hen_tra": "2025-10-20T10:00:00+07:00"},
			{"ma_ho_so": testutil.ReconcilePayment, "trang_thai": 6, "ngay_hen_tra": "2025-10-15"},
			{"ma_ho_so": testutil.ReconcileUnknown, "trang_thai": 4},
			{"ma_ho_so": "R 09", "trang_thai": 4},
			{"ma_ho_so": testutil.ReconcileBadStatus, "trang_thai": 11},
		}
		array, _ := json.MarshalIndent(rows, "", " ")
		var ndjson bytes.Buffer
		for _, r := range rows {
			line, _ := json.Marshal(r)
			ndjson.Write(append(line, '\n'))
		}
		for name, body := range map[string][]byte{"array": array, "ndjson": ndjson.Bytes()} {
			a := postReconcile(t, base, "?agency=H57", "application/octet-stream", body)
			want := testutil.WantReport(testutil.MissingDossier(testutil.ReconcileSubmitted, "H57", 1))
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
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/reconcile?agency=H57", strings.NewReader(testutil.ReconcileExportCSV))
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
			strings.TrimSpace(lines[1]) != "status_differs,"+testutil.ReconcileProcessing+",3,9,4,H57,4" ||
			strings.TrimSpace(lines[10]) != "missing_from_export,"+testutil.ReconcileSubmitted+",,,1,H57,1" {
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

// TestReconcilePublish publishes the corrections of a reconciliation and
// checks that uploading the same file again stores nothing new.
func TestReconcilePublish(t *testing.T) {
	f := testutil.NewReconcileFixture(t)
	export := []byte(testutil.ReconcileExportCSV)
	runID := reconcile.RunID(export)
	msgs := make(chan *nats.Msg, 64)
	sub, err := f.NC.ChanSubscribe("hoso.outcomes.correction.>", msgs)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := f.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	before := testutil.OutcomeCount(t, f.JS)

	// As `hoso reconcile --publish` uploads it: the export disagrees, and
	// both corrections are published, and new.
	a := postReconcile(t, f.In.HTTPURL, "?agency=H57&publish=true", "text/csv", export)
	if a.Differences == 0 && a.ProblemCount == 0 || a.Published == nil || a.Published.Corrections != 2 || a.Published.New != 2 {
		t.Fatalf("upload with publish=true: %d differences, %d problems, published %+v; want differences and 2 corrections, 2 new",
			a.Differences, a.ProblemCount, a.Published)
	}
	if n := testutil.OutcomeCount(t, f.JS); n != before+2 {
		t.Fatalf("outcomes stream holds %d messages after publishing, want %d", n, before+2)
	}

	want := map[string]workflow.Status{testutil.ReconcileProcessing: 9, testutil.ReconcilePayment: 6}
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
	a = postReconcile(t, f.In.HTTPURL, "?agency=H57&publish=true", "text/csv", export)
	if a.Published == nil || a.Published.Corrections != 2 || a.Published.New != 0 {
		t.Fatalf("second upload published %+v, want 2 corrections, 0 new", a.Published)
	}
	if n := testutil.OutcomeCount(t, f.JS); n != before+2 {
		t.Fatalf("outcomes stream holds %d messages after a second upload, want %d", n, before+2)
	}
	// Without publish=true nothing is published.
	postReconcile(t, f.In.HTTPURL, "?agency=H57", "text/csv", export)
	if n := testutil.OutcomeCount(t, f.JS); n != before+2 {
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
	in := testutil.Start(t, testutil.Config(t.TempDir()))
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
	f := testutil.NewReconcileFixture(t)
	base := f.In.HTTPURL
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

	ctype, body := form(map[string]string{"agency": "H57", "scope": "open"}, []byte(testutil.ReconcileExportCSV))
	status, html = page("POST", "/reconcile", ctype, body, nil)
	if status != 200 {
		t.Fatalf("POST /reconcile = %d\n%s", status, html)
	}
	has("the report", html, reconcile.RunID([]byte(testutil.ReconcileExportCSV)),
		`<span class="n" id="reconcile-differences">10</span>`,
		`<a href="#kind-status_differs">Trạng thái khác</a></td><td><code>status_differs</code></td><td class="num">2</td>`,
		`<h2 id="kind-missing_from_export">Không có trong file xuất (1)</h2>`,
		`<a class="dossier-link" href="/dossiers/`+testutil.ReconcileProcessing+`">`+testutil.ReconcileProcessing+`</a></td><td class="num">3</td><td>9 Đã xử lý xong</td><td>4 Đang xử lý</td>`,
		`<td>`+testutil.ReconcileUnknown+`</td><td class="num">7</td><td>4 Đang xử lý</td><td>—</td>`,
		`<td class="num">9</td><td>`+testutil.ReconcileBadStatus+`</td><td>Trạng thái</td><td>&#34;11&#34; không phải mã trạng thái`,
		`value="H57"`)
	if strings.Contains(html, "reconcile-published") {
		t.Error("a report without publish shows publications")
	}

	// In English, with the corrections published.
	before := testutil.OutcomeCount(t, f.JS)
	ctype, body = form(map[string]string{"agency": "H57", "scope": "all", "publish": "true"}, []byte(testutil.ReconcileExportCSV))
	status, html = page("POST", "/reconcile?lang=en", ctype, body, nil)
	if status != 200 {
		t.Fatalf("POST /reconcile?lang=en = %d\n%s", status, html)
	}
	has("the English report", html, `<h2 id="kind-status_differs">Status differs (2)</h2>`,
		`<td>9 Resolved</td><td>4 In progress</td>`, `<span class="n" id="reconcile-published">2 (2)</span>`,
		`<option value="all" selected>Every dossier</option>`, `/dossiers/`+testutil.ReconcileStopped)
	if n := testutil.OutcomeCount(t, f.JS); n != before+2 {
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
		{"bad scope", map[string]string{"scope": "some"}, []byte(testutil.ReconcileExportCSV), 400, `scope: &#34;some&#34; is not one of open, all, none`},
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
	ctype, body = form(map[string]string{"publish": "true"}, []byte(testutil.ReconcileExportCSV))
	status, _ = page("POST", "/reconcile", ctype, body, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
	if status != 403 {
		t.Errorf("cross-site POST /reconcile = %d, want 403", status)
	}
	if status, out := post(t, base, "/api/v1/reconcile", "text/csv", []byte(testutil.ReconcileExportCSV)); status != 200 {
		t.Errorf("POST /api/v1/reconcile without browser headers = %d %s", status, out)
	}
}
