package web

import (
	"encoding/json"
	"net/http"
	"net/url"
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
