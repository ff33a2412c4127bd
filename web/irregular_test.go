package web

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/workflow"
)

// TestIrregularitiesAPI lists the fixture's late entries (each dossier's
// assignment, entered 24 working hours after its time) with every filter,
// page by page, refuses every malformed parameter with a 400 naming it,
// and finds them in the dossier's answer.
func TestIrregularitiesAPI(t *testing.T) {
	f := newFixture(t, false)
	q := url.QueryEscape
	list := func(path string) api.Page[api.Irregularity] {
		t.Helper()
		resp, body := f.get(path, "")
		var p api.Page[api.Irregularity]
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &p) != nil {
			t.Fatalf("GET %s = %d:\n%s", path, resp.StatusCode, body)
		}
		return p
	}
	dossiers := func(p api.Page[api.Irregularity]) []string {
		out := []string{}
		for _, it := range p.Items {
			out = append(out, it.Dossier)
		}
		return out
	}

	all := list("/api/v1/irregularities")
	if diff := cmp.Diff([]string{codeXay2, codeXay1, codeHai}, dossiers(all)); diff != "" || all.NextCursor != "" {
		t.Fatalf("irregularities, newest first: next %q (-want +got):\n%s", all.NextCursor, diff)
	}
	for _, it := range all.Items {
		entered := it.Time.Add(fixtureEntered)
		if it.Kind != workflow.IrregularLateEntry || it.DelayHours != 24 || it.Action != "assign" || it.Actor != fixtureActor ||
			!it.Entered.Equal(entered) || it.EventID != it.Dossier+"/2" || !strings.Contains(it.DetailVI, "24 giờ làm việc") {
			t.Errorf("irregularity %+v: want a late entry of 24 working hours of the assignment by %s, entered %s", it, fixtureActor, entered)
		}
	}
	if it := all.Items[2]; it.Agency != agencyHai || all.Items[0].Agency != agencyXay {
		t.Errorf("agencies %s, %s: want the dossiers'", all.Items[2].Agency, all.Items[0].Agency)
	}

	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"kind=late_entry", []string{codeXay2, codeXay1, codeHai}},
		{"kind=late_apology", []string{}},
		{"kind=repeated_supplement", []string{}},
		{"agency=" + agencyHai, []string{codeHai}},
		{"agency=" + agencyXay + "&kind=late_entry", []string{codeXay2, codeXay1}},
		{"actor=" + q(fixtureActor), []string{codeXay2, codeXay1, codeHai}},
		{"actor=canbo-01", []string{}},
		{"dossier=" + codeXay1, []string{codeXay1}},
		{"dossier=" + codeXay1 + "&agency=" + agencyHai, []string{}},
	} {
		if got := dossiers(list("/api/v1/irregularities?" + tt.query)); !cmp.Equal(tt.want, got) {
			t.Errorf("irregularities?%s = %v, want %v", tt.query, got, tt.want)
		}
	}

	// Page by page.
	var got []string
	path := "/api/v1/irregularities?limit=1"
	for pages := 0; pages < 5; pages++ {
		p := list(path)
		got = append(got, dossiers(p)...)
		if p.NextCursor == "" {
			break
		}
		path = "/api/v1/irregularities?limit=1&cursor=" + q(p.NextCursor)
	}
	if diff := cmp.Diff([]string{codeXay2, codeXay1, codeHai}, got); diff != "" {
		t.Errorf("irregularities one by one (-want +got):\n%s", diff)
	}

	for _, tt := range []struct{ query, param, message string }{
		{"kind=late", "kind", `kind: "late" is not a kind of irregularity (known: late_entry, late_apology, repeated_supplement)`},
		{"kind=LATE_ENTRY", "kind", "known: late_entry, late_apology, repeated_supplement"},
		{"cursor=abc", "cursor", "not a cursor"},
		{"cursor=0", "cursor", "not a cursor"},
		{"limit=0", "limit", "1 to 1000"},
		{"limit=1001", "limit", "1 to 1000"},
		{"dossier=a%20b", "dossier", "not a dossier code"},
		{"actor=cb%0A01", "actor", "control characters"},
		{"agency=UB%00HAI", "agency", "control characters"},
		{"kind=late_entry&kind=late_apology", "kind", "given 2 times"},
		{"reason=late", "", "this endpoint takes kind, agency, actor, dossier, cursor, limit"},
	} {
		resp, body := f.get("/api/v1/irregularities?"+tt.query, "")
		var e api.ErrorResponse
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(body), &e) != nil ||
			e.Error.Parameter != tt.param || !strings.Contains(e.Error.Message, tt.message) {
			t.Errorf("GET irregularities?%s = %d %s; want a 400 naming %q with %q", tt.query, resp.StatusCode, body, tt.param, tt.message)
		}
	}

	// The dossier's answer counts its late entries and lists them.
	resp, body := f.get("/api/v1/dossiers/"+codeHai, "")
	var d api.Dossier
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &d) != nil {
		t.Fatalf("GET dossier = %d %s", resp.StatusCode, body)
	}
	if d.LateEntries != 1 || d.Problems == nil || len(d.Problems.Irregularities) != 1 ||
		d.Problems.Irregularities[0].Kind != workflow.IrregularLateEntry || d.Problems.Irregularities[0].DelayHours != 24 {
		t.Errorf("dossier %s: late_entries %d, problems %+v; want one late entry of 24 working hours", codeHai, d.LateEntries, d.Problems)
	}
}

// TestIrregularitiesPage renders the irregularities page of the fixture
// in both languages with each filter, its summary by agency and officer,
// its CSV exports, its refusals of bad parameters, and the dossier page's
// and overview's parts of it.
func TestIrregularitiesPage(t *testing.T) {
	f := newFixture(t, false)
	q := url.QueryEscape
	page := func(path string) string {
		t.Helper()
		resp, body := f.get(path, "")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s = %d %s:\n%.600s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		return body
	}
	rows := regexp.MustCompile(`<tr class="irregular ([a-z_]+)" data-seq="\d+">\s*<td>[^<]*</td><td>[^<]*</td><td><a class="dossier-link" href="/dossiers/([^"]+)">`)
	listed := func(body string) []string {
		out := []string{}
		for _, m := range rows.FindAllStringSubmatch(body, -1) {
			out = append(out, m[1]+" "+m[2])
		}
		return out
	}
	late := func(codes ...string) []string {
		out := []string{}
		for _, c := range codes {
			out = append(out, "late_entry "+c)
		}
		return out
	}

	body := page("/irregularities")
	if diff := cmp.Diff(late(codeXay2, codeXay1, codeHai), listed(body)); diff != "" {
		t.Errorf("/irregularities lists (-want +got):\n%s", diff)
	}
	for _, want := range []string{
		"Bất thường trong cập nhật hồ sơ", `aria-current="page">Bất thường</a>`,
		// Each row: happened 09:0x 01/10/2025, entered 09:0x 06/10/2025, 24 working hours.
		"<td>09:01 01/10/2025</td><td>09:01 06/10/2025</td>", `<td class="num delay">24</td>`, "Cập nhật muộn",
		// The summary by agency: UB-HAI 1 late entry, 24 h; UB-XAY 2, 48 h.
		`<td><a href="/irregularities?agency=UB-HAI">UB-HAI</a></td><td class="num">1</td><td class="num">0</td><td class="num">0</td><td class="num">1</td><td class="num">24</td>`,
		`<td><a href="/irregularities?agency=UB-XAY">UB-XAY</a></td><td class="num">2</td><td class="num">0</td><td class="num">0</td><td class="num">2</td><td class="num">48</td>`,
		// The officer of UB-XAY first: more irregularities.
		`<td>UB-XAY</td><td class="actor"><a href="/irregularities?actor=%3DHYPERLINK%28%22http%3A%2F%2Fevil.example%22%29&amp;agency=UB-XAY">=HYPERLINK(&#34;http://evil.example&#34;)</a></td><td class="num">2</td>`,
		// The cards: 3 late entries, 72 hours in all.
		`<span class="n">3</span><span class="l">Cập nhật muộn</span>`, `<span class="n">72</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/irregularities lacks %q", want)
		}
	}
	if i, j := strings.Index(body, `<td>UB-XAY</td><td class="actor">`), strings.Index(body, `<td>UB-HAI</td><td class="actor">`); i < 0 || j < 0 || i > j {
		t.Errorf("/irregularities ranks the officer of UB-HAI (1) before that of UB-XAY (2): %d, %d", i, j)
	}

	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"kind=late_entry", late(codeXay2, codeXay1, codeHai)},
		{"kind=late_apology", []string{}},
		{"agency=" + agencyHai, late(codeHai)},
		{"agency=" + agencyXay + "&actor=" + q(fixtureActor), late(codeXay2, codeXay1)},
		{"actor=canbo-01", []string{}},
		{"dossier=" + codeXay1, late(codeXay1)},
	} {
		body := page("/irregularities?" + tt.query)
		if diff := cmp.Diff(tt.want, listed(body)); diff != "" {
			t.Errorf("/irregularities?%s lists (-want +got):\n%s", tt.query, diff)
		}
		if len(tt.want) == 0 && !strings.Contains(body, "Không có bất thường nào.") {
			t.Errorf("/irregularities?%s does not say there are none", tt.query)
		}
	}
	// The summary follows the agency filter.
	if body := page("/irregularities?agency=" + agencyHai); strings.Contains(body, `href="/irregularities?agency=UB-XAY"`) ||
		!strings.Contains(body, `<span class="n">1</span><span class="l">Cập nhật muộn</span>`) {
		t.Errorf("/irregularities?agency=%s: the summary is not of the agency alone", agencyHai)
	}

	// Page by page: one event a page.
	// (The page size is irregularPageSize; the store's paging is tested
	// with smaller ones. Here the cursor of a page reads the next.)
	body = page("/irregularities?cursor=" + q(itemSeq(t, f, codeXay1)))
	if diff := cmp.Diff(late(codeHai), listed(body)); diff != "" {
		t.Errorf("/irregularities after %s's (-want +got):\n%s", codeXay1, diff)
	}

	// In English.
	body = page("/irregularities?lang=en")
	for _, want := range []string{"Irregularities in dossier handling", "Late entry", "By officer", "Working hours entered late"} {
		if !strings.Contains(body, want) {
			t.Errorf("/irregularities?lang=en lacks %q", want)
		}
	}

	// Bad parameters: a 400 page naming the parameter, in Vietnamese.
	for _, tt := range []struct{ query, param, want string }{
		{"kind=muon", "kind", "không phải là loại bất thường (các loại: late_entry, late_apology, repeated_supplement)"},
		{"agency=%3Cb%3E", "agency", "không phải là mã"},
		{"actor=cb%0A01", "actor", "ký tự điều khiển"},
		{"dossier=a%20b", "dossier", "không phải là mã hồ sơ"},
		{"cursor=abc", "cursor", "con trỏ"},
		{"cursor=0", "cursor", "con trỏ"},
		{"format=pdf", "format", "không thuộc"},
		{"format=csv&list=officers", "list", "không thuộc"},
		{"officer=x", "", "trang này nhận kind, agency, actor, dossier, cursor, format, list, lang"},
	} {
		resp, body := f.get("/irregularities?"+tt.query, "")
		named := tt.param == "" || strings.Contains(body, "<code>"+tt.param+"</code>")
		if resp.StatusCode != http.StatusBadRequest || !named || !strings.Contains(body, tt.want) {
			t.Errorf("GET /irregularities?%s = %d, want a 400 page naming %q saying %q:\n%.800s", tt.query, resp.StatusCode, tt.param, tt.want, body)
		}
	}

	// The dossier page lists its irregularities and links to the page.
	body = page("/dossiers/" + codeHai)
	for _, want := range []string{
		`<dd id="dossier-late-entries">1</dd>`, `id="dossier-irregularities"`, "Cập nhật muộn",
		`href="/irregularities?agency=UB-HAI&amp;dossier=DS-HAI-0001"`, "sau 24 giờ làm việc",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/dossiers/%s lacks %q", codeHai, want)
		}
	}
	// The overview counts them by kind: all agencies, or the one chosen.
	card := regexp.MustCompile(`id="irregular-card"><a href="([^"]+)"><span class="n">([^<]+)</span>`)
	for path, want := range map[string][2]string{"/": {"/irregularities", "3 / 0 / 0"}, "/?agency=" + agencyXay: {"/irregularities?agency=UB-XAY", "2 / 0 / 0"}} {
		if m := card.FindStringSubmatch(page(path)); m == nil || m[1] != want[0] || m[2] != want[1] {
			t.Errorf("%s: irregularities card %q, want a link to %s counting %s", path, m, want[0], want[1])
		}
	}
}

// itemSeq returns the stream sequence of the dossier's late entry, the
// cursor of the page that ends with it.
func itemSeq(t *testing.T, f *fixture, code string) string {
	t.Helper()
	list, _, err := f.db.Irregularities(t.Context(), workflow.IrregularityQuery{Dossier: code})
	if err != nil || len(list) != 1 {
		t.Fatalf("Irregularities(%s) = %v, %v", code, list, err)
	}
	return strconv.FormatUint(list[0].Seq, 10)
}

// TestIrregularitiesCSV exports the list and the summary: the officer
// (a formula) guarded, the delay a number.
func TestIrregularitiesCSV(t *testing.T) {
	f := newFixture(t, false)
	read := func(path string) [][]string {
		t.Helper()
		resp, body := f.get(path, "")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(body, utf8BOM) {
			t.Fatalf("GET %s = %d %s:\n%.300s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, utf8BOM))).ReadAll()
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return rows
	}
	guarded := "'" + fixtureActor
	rows := read("/irregularities?format=csv")
	if len(rows) != 4 || rows[0][0] != "STT luồng" || rows[0][9] != "Trễ / báo trước (giờ làm việc)" {
		t.Fatalf("/irregularities?format=csv = %q; want a header and 3 rows", rows)
	}
	for i, code := range []string{codeXay2, codeXay1, codeHai} {
		r := rows[i+1]
		if r[3] != code || r[5] != guarded || r[6] != "assign" || r[7] != "late_entry" || r[8] != "Cập nhật muộn" || r[9] != "24" ||
			!strings.HasPrefix(r[1], "2025-10-01T09:0") || !strings.HasPrefix(r[2], "2025-10-06T09:0") {
			t.Errorf("row %d = %q; want %s's late entry by the guarded officer, 24 working hours", i+1, r, code)
		}
	}
	if rows := read("/irregularities?format=csv&agency=" + agencyHai + "&lang=en"); len(rows) != 2 || rows[0][0] != "Stream seq" ||
		rows[1][3] != codeHai || rows[1][8] != "Late entry" || !strings.Contains(rows[1][10], "24 working hours") {
		t.Errorf("/irregularities?format=csv&agency=%s&lang=en = %q", agencyHai, rows)
	}

	want := [][]string{
		{"Cơ quan", "Cán bộ", "Cập nhật muộn", "Xin lỗi muộn", "Yêu cầu bổ sung lần thứ hai", "Tổng", "Giờ làm việc cập nhật muộn"},
		{agencyHai, guarded, "1", "0", "0", "1", "24"},
		{agencyXay, guarded, "2", "0", "0", "2", "48"},
	}
	if diff := cmp.Diff(want, read("/irregularities?format=csv&list=summary")); diff != "" {
		t.Errorf("/irregularities?format=csv&list=summary (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[:1:1], read("/irregularities?format=csv&list=summary&actor=canbo-01")); diff != "" {
		t.Errorf("the summary of an officer without irregularities (-want +got):\n%s", diff)
	}
}
