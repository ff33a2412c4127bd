package engine_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// TestDashboardPages checks every dashboard route over HTTP: pages in
// both languages with a strict CSP, a 400 page in the chosen language for
// every bad parameter, CSV exports with a BOM, the static files, and the
// live feed's event stream with its filters.
func TestDashboardPages(t *testing.T) {
	cfg := testutil.Config(t.TempDir())
	cfg.Deadlines = 200 * time.Millisecond
	in := testutil.Start(t, cfg)
	_, js := testutil.Connect(t, in.NATSURL)
	sc := testutil.NewScenario(30, 0)
	testutil.Publish(t, js, sc.Messages)
	waitScenario(t, in, sc)
	code := "000.00.12.H57-251001-0000"

	get := func(path string, cookies ...*http.Cookie) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", in.HTTPURL+path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	t.Run("pages", func(t *testing.T) {
		for _, c := range []struct{ path, want string }{
			{"/", "Tổng quan tình hình giải quyết hồ sơ"},
			{"/?from=2025-10&to=2025-12&agency=H57", "2025-10 → 2025-12"},
			{"/?lang=en", "Dossier handling overview"},
			{"/overdue", "Quá hạn, đang giải quyết"},
			{"/overdue?view=at_risk&sort=-due&agency=H57&procedure=1.004227", "Sắp đến hạn"},
			{"/dossiers/" + code, "Phiếu kiểm soát quá trình giải quyết hồ sơ"},
			{"/dossiers/" + code + "?lang=en", "Hash chain verified"},
			{"/feed?agency=H57&reason=missing_attachment", "missing_attachment"},
			{"/feed?reason=status_mismatch", "Báo sai trạng thái"},
			{"/irregularities", "Bất thường trong cập nhật hồ sơ"},
			{"/irregularities?kind=late_entry&agency=H57&lang=en", "Irregularities in dossier handling"},
			{"/definitions", "standard@2"},
			{"/definitions?lang=en", "State diagram"},
		} {
			resp, body := get(c.path)
			if resp.StatusCode != 200 || !strings.Contains(body, c.want) {
				t.Errorf("GET %s = %d, want 200 with %q:\n%.400s", c.path, resp.StatusCode, c.want, body)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
				t.Errorf("GET %s: CSP %q", c.path, csp)
			}
			if strings.Contains(body, " onclick=") || strings.Contains(body, " style=") || strings.Contains(body, "<script>") {
				t.Errorf("GET %s has inline script or style", c.path)
			}
		}
	})

	t.Run("language cookie", func(t *testing.T) {
		resp, _ := get("/?lang=en")
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "hoso_lang" {
				cookie = c
			}
		}
		if cookie == nil || cookie.Value != "en" {
			t.Fatalf("?lang=en set cookies %v, want hoso_lang=en", resp.Cookies())
		}
		if _, body := get("/overdue", cookie); !strings.Contains(body, `<html lang="en">`) {
			t.Errorf("the cookie does not keep English on the next page")
		}
	})

	t.Run("bad parameters", func(t *testing.T) {
		for _, c := range []struct{ path, param, want string }{
			{"/?from=2025-13", "from", "không phải là tháng"},
			{"/?from=2025-12&to=2025-01", "to", "kỳ kết thúc"},
			{"/?agency=%3Cscript%3E", "agency", "không phải là mã"},
			{"/?format=pdf", "format", "không thuộc"},
			{"/?bogus=1", "", "tham số không được hỗ trợ; trang này nhận from, to, agency, format, list, lang"},
			{"/?from=2025-01&from=2025-02", "from", "chỉ được có một lần"},
			{"/?lang=fr", "lang", "không phải vi hoặc en"},
			{"/overdue?view=all", "view", "không thuộc"},
			{"/overdue?sort=code", "sort", "không thuộc"},
			{"/overdue?cursor=xyz", "cursor", "con trỏ"},
			{"/feed?reason=nope", "reason", "mã lý do"},
			{"/irregularities?kind=nope", "kind", "không phải là loại bất thường"},
			{"/irregularities?cursor=ab", "cursor", "con trỏ"},
			{"/dossiers/" + code + "?x=1", "", "tham số không được hỗ trợ; trang này nhận format, lang"},
			{"/dossiers/%3Cb%3E", "code", "không phải là mã hồ sơ"},
			{"/definitions?v=2", "", "tham số không được hỗ trợ; trang này nhận lang"},
			{"/overdue?view=all&lang=en", "view", "is not one of"},
		} {
			resp, body := get(c.path)
			// An unknown parameter is not named: the page lists those it takes.
			named := strings.Contains(body, "<code>"+c.param+"</code>") || c.param == "" && !strings.Contains(body, "bogus")
			if resp.StatusCode != 400 || !named || !strings.Contains(body, c.want) {
				t.Errorf("GET %s = %d, want a 400 page naming %s and saying %q:\n%.600s", c.path, resp.StatusCode, c.param, c.want, body)
			}
			if strings.Contains(body, "<script>alert") || strings.Contains(body, "<b>") {
				t.Errorf("GET %s echoes markup unescaped", c.path)
			}
		}
		if resp, body := get("/dossiers/000.00.12.H57-000000-0000"); resp.StatusCode != 404 || !strings.Contains(body, "Không tìm thấy") {
			t.Errorf("unknown dossier page = %d:\n%.300s", resp.StatusCode, body)
		}
		if resp, body := get("/no/such/page?lang=en"); resp.StatusCode != 404 || !strings.Contains(body, "No such page") {
			t.Errorf("unknown page = %d:\n%.300s", resp.StatusCode, body)
		}
		if resp, _ := get("/static/nope.css"); resp.StatusCode != 404 {
			t.Errorf("missing static file = %d, want 404", resp.StatusCode)
		}
		if resp, body := get("/api/v1/feed?reason=nope"); resp.StatusCode != 400 || !strings.Contains(body, `"parameter":"reason"`) {
			t.Errorf("feed with a bad reason = %d %s", resp.StatusCode, body)
		}
	})

	t.Run("static", func(t *testing.T) {
		for _, p := range []string{"/static/style.css", "/static/app.js"} {
			resp, body := get(p)
			if resp.StatusCode != 200 || len(body) < 100 {
				t.Errorf("GET %s = %d (%d bytes)", p, resp.StatusCode, len(body))
			}
		}
		if _, body := get("/static/style.css"); !strings.Contains(body, "@media print") {
			t.Errorf("the stylesheet has no print rules")
		}
	})

	t.Run("csv", func(t *testing.T) {
		for _, c := range []struct {
			path   string
			header string
			rows   int // at least
		}{
			{"/overdue?format=csv", "Mã hồ sơ", 1},
			{"/overdue?format=csv&lang=en&view=at_risk", "Dossier code", 0},
			{"/dossiers/" + code + "?format=csv", "Người xử lý", 5},
			{"/feed?format=csv", "Lý do", 10},
			{"/?format=csv&list=agencies", "Cơ quan", 1},
			{"/?format=csv&list=procedures&lang=en", "Procedure", 1},
			{"/?format=csv", "Tháng", 1},
			// The scenario is dated in 2025 and published now: late entries.
			{"/irregularities?format=csv", "Cán bộ", 10},
			{"/irregularities?format=csv&list=summary&lang=en", "Officer", 1},
		} {
			resp, body := get(c.path)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
				t.Errorf("GET %s = %d %s", c.path, resp.StatusCode, resp.Header.Get("Content-Type"))
				continue
			}
			if !strings.HasPrefix(body, "\ufeff") {
				t.Errorf("GET %s: no UTF-8 BOM", c.path)
			}
			recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
			if err != nil || len(recs) < 1+c.rows || !strings.Contains(strings.Join(recs[0], ","), c.header) {
				t.Errorf("GET %s: %d records (%v), header %q; want %q and %d rows\n%s", c.path, len(recs), err, recs, c.header, c.rows, body)
			}
		}
	})

	t.Run("live feed", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		open := func(query string) *bufio.Reader {
			req, _ := http.NewRequestWithContext(ctx, "GET", in.HTTPURL+"/api/v1/feed"+query, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { resp.Body.Close() })
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
				t.Fatalf("GET /api/v1/feed%s = %d %s", query, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			r := bufio.NewReader(resp.Body)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				if line == ": connected\n" {
					return r
				}
			}
		}
		next := func(r *bufio.Reader) map[string]any {
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("feed: %v", err)
				}
				if data, ok := strings.CutPrefix(line, "data: "); ok {
					var it map[string]any
					if err := json.Unmarshal([]byte(data), &it); err != nil {
						t.Fatal(err)
					}
					return it
				}
			}
		}
		all := open("")
		h58 := open("?agency=H58&reason=missing_field")
		publishEvent := func(id, code, agency, action, dept string) {
			ev := &workflow.Event{ID: id, SourceURI: "/motcua/tayninh", Source: "tayninh", Action: action,
				Dossier: code, Time: time.Now(), Procedure: "1.004227", Agency: agency, Actor: "cb-live", Department: dept,
				Due: time.Now().Add(240 * time.Hour), Attachments: []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized}}}
			data, err := events.Encode(ev)
			if err != nil {
				t.Fatal(err)
			}
			testutil.Publish(t, js, []testutil.Message{{Subject: events.Subject("tayninh", code), Data: data, MsgID: ev.ID}})
		}
		// H57's bad event reaches the unfiltered client only; H58's missing
		// department reaches both.
		publishEvent("live-1", "000.00.12.H57-251231-0001", "H57", "resolve", "")
		publishEvent("live-2", "000.00.12.H58-251231-0002", "H58", "receive", "")
		publishEvent("live-3", "000.00.12.H58-251231-0002", "H58", "assign", "")
		if it := next(all); it["dossier"] != "000.00.12.H57-251231-0001" || it["reason"] != "invalid_transition" || it["kind"] != "rejected" {
			t.Errorf("first live item %v", it)
		}
		if it := next(all); it["dossier"] != "000.00.12.H58-251231-0002" || it["reason"] != "missing_field" {
			t.Errorf("second live item %v", it)
		}
		if it := next(h58); it["dossier"] != "000.00.12.H58-251231-0002" || it["agency"] != "H58" || it["message_vi"] == "" {
			t.Errorf("filtered live item %v", it)
		}
	})
}
