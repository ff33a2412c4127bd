package engine_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/web"
)

// publicClient is a plain client: the tests' default one checks every
// answer against the official API's document, which the public surface is
// not part of.
var publicClient = &http.Client{Transport: &http.Transport{}}

// publicDo sends a request to the public surface and returns the answer
// and its body.
func publicDo(t *testing.T, method, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := publicClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestPublicListener starts serve with a public address beside the
// official one, over the API fixture, and checks what a visitor from the
// internet meets there: none of the official routes, only GET and HEAD,
// a strict query, the headers of a public page, no cookie, and the
// open data of the fixture's figures as worked out by hand.
func TestPublicListener(t *testing.T) {
	cfg := testutil.Config(t.TempDir())
	cfg.PublicAddr = "127.0.0.1:0"
	f := testutil.NewAPIFixtureWith(t, cfg)
	pub := f.In.PublicURL
	if pub == "" {
		t.Fatal("the engine has no public address")
	}

	// Every official route, with its wildcards filled, is absent.
	for _, rt := range web.Routes() {
		path := strings.NewReplacer("{code}", f.Codes[0], "{file}", "style.css", "{$}", "").Replace(rt.Pattern)
		resp, body := publicDo(t, rt.Method, pub+path)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("public %s %s = %d, want 404: %.200s", rt.Method, path, resp.StatusCode, body)
		}
		if strings.Contains(body, f.Codes[0]) {
			t.Errorf("public %s %s names the dossier", rt.Method, path)
		}
	}

	resp, body := publicDo(t, "GET", pub+"/scoreboard")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /scoreboard = %d: %s", resp.StatusCode, body)
	}
	for k, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "public, max-age=60",
		"Vary":                    "Accept-Language",
		"Content-Language":        "vi",
		"Set-Cookie":              "",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("GET /scoreboard %s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(body, `<html lang="vi">`) || !strings.Contains(body, `name="viewport"`) {
		t.Errorf("GET /scoreboard is not a Vietnamese page for phones:\n%.400s", body)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "style=") {
		t.Errorf("GET /scoreboard has a script or an inline style")
	}
	resp, body = publicDo(t, "GET", pub+"/scoreboard", "Accept-Language", "en-US,en;q=0.9,vi;q=0.5")
	if !strings.Contains(body, `<html lang="en">`) || resp.Header.Get("Content-Language") != "en" {
		t.Errorf("GET /scoreboard with Accept-Language en is not in English")
	}
	_, body = publicDo(t, "GET", pub+"/scoreboard?lang=vi", "Accept-Language", "en")
	if !strings.Contains(body, `<html lang="vi">`) {
		t.Errorf("GET /scoreboard?lang=vi is not in Vietnamese")
	}

	resp, _ = publicDo(t, "GET", pub+"/scoreboard/embed")
	if got, want := resp.Header.Get("Content-Security-Policy"), "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors *"; got != want {
		t.Errorf("GET /scoreboard/embed CSP = %q, want %q", got, want)
	}
	if got := resp.Header.Get("X-Frame-Options"); got != "" {
		t.Errorf("GET /scoreboard/embed X-Frame-Options = %q, want none", got)
	}

	for _, path := range []string{"/scoreboard", "/scoreboard/embed", "/api/public/v1/scoreboard", "/api/public/v1/scoreboard.csv", "/assets/style.css"} {
		for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
			resp, _ := publicDo(t, m, pub+path)
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s = %d Allow %q, want 405 Allow \"GET, HEAD\"", m, path, resp.StatusCode, resp.Header.Get("Allow"))
			}
		}
		resp, body := publicDo(t, "HEAD", pub+path)
		if resp.StatusCode != 200 || body != "" {
			t.Errorf("HEAD %s = %d with %d bytes, want 200 and none", path, resp.StatusCode, len(body))
		}
	}
	resp, _ = publicDo(t, "GET", pub+"/assets/style.css")
	if resp.Header.Get("Cache-Control") != "public, max-age=3600" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("GET /assets/style.css: Cache-Control %q, Content-Type %q", resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Type"))
	}

	// Without --public-lookup-key the lookup is not offered, and says so.
	resp, body = publicDo(t, "GET", pub+"/lookup")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "không cung cấp chức năng tra cứu hồ sơ") {
		t.Errorf("GET /lookup without a lookup key = %d %.300s; want 404 saying the lookup is not offered", resp.StatusCode, body)
	}
	resp, body = publicDo(t, "POST", pub+"/api/public/v1/lookup")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `"lookup_not_offered"`) {
		t.Errorf("POST /api/public/v1/lookup without a lookup key = %d %.300s; want 404 lookup_not_offered", resp.StatusCode, body)
	}

	// Strict queries: 400 naming the parameter, never cached.
	for _, tc := range []struct{ path, code, param string }{
		{"/api/public/v1/scoreboard?color=red", "bad_parameter", ""},
		{"/api/public/v1/scoreboard?by=agency&by=month", "bad_parameter", "by"},
		{"/api/public/v1/scoreboard?from=2025-13", "bad_parameter", "from"},
		{"/api/public/v1/scoreboard?from=2025-09&to=2025-08", "bad_parameter", "to"},
		{"/api/public/v1/scoreboard?by=level", "bad_parameter", "by"},
		{"/api/public/v1/scoreboard?agency=H57%0A", "bad_parameter", "agency"},
		{"/api/public/v1/scoreboard?lang=en", "bad_parameter", ""},
		{"/api/public/v1/scoreboard?a=%zz", "bad_query", ""},
		{"/api/public/v1/scoreboard?from=" + strings.Repeat("1", 1100), "bad_query", ""},
	} {
		resp, body := publicDo(t, "GET", pub+tc.path)
		var e struct {
			Error struct{ Code, Parameter string } `json:"error"`
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || resp.StatusCode != 400 || e.Error.Code != tc.code || e.Error.Parameter != tc.param {
			t.Errorf("GET %.80s = %d %.200s; want 400 %s naming %q", tc.path, resp.StatusCode, body, tc.code, tc.param)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %.80s: Cache-Control %q, want no-store", tc.path, resp.Header.Get("Cache-Control"))
		}
	}
	resp, body = publicDo(t, "GET", pub+"/scoreboard?lang=fr")
	if resp.StatusCode != 400 || !strings.Contains(body, "<html") {
		t.Errorf("GET /scoreboard?lang=fr = %d, want 400 as a page", resp.StatusCode)
	}

	// The open data of the fixture, worked out by hand: in October 2025
	// agency H57 received two dossiers (both with digitized inputs, at
	// the desk); one was resolved the day it came, two weeks before its
	// due date (early), with an electronic result; the other is being
	// processed, not past due. Rates over received, truncated: 1 of 2
	// early or on time is 50.00%, and 1 of 1 resolved 100.00%.
	resp, body = publicDo(t, "GET", pub+"/api/public/v1/scoreboard.csv?from=2025-10&to=2025-10&by=agency")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Disposition") != `attachment; filename="hoso-scoreboard.csv"` {
		t.Fatalf("GET scoreboard.csv = %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}
	want := "\ufeffperiod_from,period_to,kind,breakdown,key,name,counting,received,resolved,early,on_time,late," +
		"late_with_apology,late_without_apology,in_progress,overdue_now,overdue_now_with_apology,overdue_now_without_apology," +
		"received_online,digitized_inputs,electronic_results,headline_rate,late_rate,on_time_rate,online_rate,digitized_rate," +
		"electronic_result_rate,rate_base,rate_rounding\n" +
		"2025-10,2025-10,dossier,total,,,period,2,1,1,0,0,0,0,1,0,0,0,0,2,1,50.00,0.00,100.00,0.00,100.00,100.00,received,truncate\n" +
		"2025-10,2025-10,dossier,agency,H57,,period,2,1,1,0,0,0,0,1,0,0,0,0,2,1,50.00,0.00,100.00,0.00,100.00,100.00,received,truncate\n"
	if body != want {
		t.Errorf("scoreboard.csv =\n%s\nwant\n%s", body, want)
	}
	var doc struct {
		Columns []string         `json:"columns"`
		Total   map[string]any   `json:"total"`
		Rows    []map[string]any `json:"rows"`
		Bases   map[string]string
	}
	if _, body := publicDo(t, "GET", pub+"/api/public/v1/scoreboard?from=2025-10&to=2025-10&by=agency"); json.Unmarshal([]byte(body), &doc) != nil {
		t.Fatalf("scoreboard JSON: %s", body)
	}
	if len(doc.Rows) != 1 || doc.Rows[0]["key"] != "H57" || doc.Rows[0]["headline_rate"] != 50.0 || doc.Rows[0]["received"] != 2.0 {
		t.Errorf("scoreboard JSON rows = %v, want H57 with 2 received, 50%%", doc.Rows)
	}
	if doc.Bases["headline_rate"] != "received" || doc.Bases["on_time_rate"] != "resolved" || doc.Bases["electronic_result_rate"] != "entered_status_9" {
		t.Errorf("scoreboard JSON bases = %v", doc.Bases)
	}
}

// TestPublicSettingsReload changes the public file while serve runs and
// reloads it, as SIGHUP does: the embeddable view's frame-ancestors and
// a withheld agency take effect at once; a file that does not load
// leaves the settings in force.
func TestPublicSettingsReload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "public.yaml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("embed:\n  frame_ancestors: ['*']\n")
	cfg := testutil.Config(filepath.Join(dir, "data"))
	cfg.PublicAddr = "127.0.0.1:0"
	cfg.PublicConfig = file
	f := testutil.NewAPIFixtureWith(t, cfg)
	pub := f.In.PublicURL
	const agency = "H57" // every dossier of the fixture
	csp := func() string {
		t.Helper()
		resp, _ := publicDo(t, "GET", pub+"/scoreboard/embed")
		return resp.Header.Get("Content-Security-Policy")
	}
	agencyRow := func() bool {
		t.Helper()
		_, body := publicDo(t, "GET", pub+"/api/public/v1/scoreboard.csv?by=agency")
		return strings.Contains(body, ","+agency+",")
	}
	if !strings.HasSuffix(csp(), "frame-ancestors *") || !agencyRow() {
		t.Fatalf("before the reload: CSP %q, agency %s published %v", csp(), agency, agencyRow())
	}

	write("embed:\n  frame_ancestors: ['https://dichvucong.tayninh.gov.vn']\nwithhold:\n  agencies: [" + agency + "]\n")
	if err := f.In.Engine.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := csp(); !strings.HasSuffix(got, "frame-ancestors https://dichvucong.tayninh.gov.vn") {
		t.Errorf("after the reload: CSP %q, want the portal's origin only", got)
	}
	if agencyRow() {
		t.Errorf("after the reload: agency %s, withheld, still has its row", agency)
	}

	write("embed:\n  frame_ancestors: [javascript:x]\n")
	if err := f.In.Engine.Reload(); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("a broken public file reloaded: %v", err)
	}
	if got := csp(); !strings.HasSuffix(got, "frame-ancestors https://dichvucong.tayninh.gov.vn") || agencyRow() {
		t.Errorf("after a failed reload the settings changed: CSP %q, agency row %v", got, agencyRow())
	}
}
