package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/docs"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/web"
	"github.com/hoso-vn/hoso/workflow"
)

// TestAPI exercises every endpoint, with good and bad parameters.
func TestAPI(t *testing.T) {
	f := testutil.NewAPIFixture(t)
	base := f.In.HTTPURL
	type errBody struct {
		Error struct {
			Code      string `json:"code"`
			Parameter string `json:"parameter"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	bad := []struct {
		path, param string
		status      int
	}{
		{"/api/v1/dossiers?status=11", "status", 400},
		{"/api/v1/dossiers?status=x", "status", 400},
		{"/api/v1/dossiers?limit=0", "limit", 400},
		{"/api/v1/dossiers?limit=1001", "limit", 400},
		{"/api/v1/dossiers?colour=red", "", 400}, // an unknown name is not repeated
		{"/api/v1/dossiers?status=4&status=5", "status", 400},
		{"/api/v1/dossiers?cursor=a*b", "cursor", 400},
		{"/api/v1/dossiers/bad*code", "code", 400},
		{"/api/v1/dossiers/000.00.12.H57-251001-0001?x=1", "", 400},
		{"/api/v1/dossiers/bad*code/verify", "code", 400},
		{"/api/v1/rejections?reason=bogus", "reason", 400},
		{"/api/v1/rejections?since=yesterday", "since", 400},
		{"/api/v1/rejections?cursor=-3", "cursor", 400},
		{"/api/v1/rejections?dossier=a%20b", "dossier", 400},
		{"/api/v1/mismatches?cursor=abc", "cursor", 400},
		{"/api/v1/mismatches?limit=-1", "limit", 400},
		{"/api/v1/irregularities?kind=late", "kind", 400},
		{"/api/v1/irregularities?cursor=x", "cursor", 400},
		{"/api/v1/irregularities?actor=cb%0001", "actor", 400},
		{"/api/v1/irregularities?dossier=a*b", "dossier", 400},
		{"/api/v1/definitions?v=2", "", 400},
		{"/api/v1/statuses?lang=en", "", 400},
		{"/api/v1/stats?from=2025-13", "from", 400},
		{"/api/v1/stats?to=25", "to", 400},
		{"/api/v1/stats?from=2025-06&to=2025-05", "to", 400},
		{"/api/v1/stats?late=x", "late", 400},
		{"/api/v1/stats?rate_base=issued", "rate_base", 400},
		{"/api/v1/stats?rate_rounding=ceil", "rate_rounding", 400},
		{"/api/v1/stats?by=colour", "by", 400},
		{"/api/v1/stats?kind=x", "kind", 400},
		{"/api/v1/stats?agency=H%0057", "agency", 400},
		{"/api/v1/stats?colour=red", "", 400},
		{"/api/v1/dossiers?=x", "", 400},
		{"/api/v1/dossiers?overdue=yes", "overdue", 400},
		{"/api/v1/dossiers?from=2025-10-32", "from", 400},
		{"/api/v1/dossiers?to=01/10/2025", "to", 400},
		{"/api/v1/dossiers?from=2025-10-02&to=2025-10-01", "to", 400},
		{"/api/v1/dossiers?overdue=true&cursor=000.00.12.H57-251001-0001", "cursor", 400},
		{"/api/v1/dossiers?overdue=true&cursor=00ff", "cursor", 400},
		{"/api/v1/dossiers?from=2025-10-01&cursor=000.00.12.H57-251001-0001", "cursor", 400},
		{"/api/v1/dossiers?to=2025-10-01&cursor=2025-10-01~a*b", "cursor", 400},
		{"/api/v1/audit/verify?limit=0", "limit", 400},
		{"/api/v1/audit/verify?cursor=a*b", "cursor", 400},
		{"/api/v1/audit/verify?dossier=x", "", 400},
		{"/api/v1/openapi.json?v=3", "", 400},
		{"/api/v1/dossiers/000.00.12.H57-999999-0000", "", 404},
		{"/api/v1/dossiers/000.00.12.H57-999999-0000/verify", "", 404},
		{"/api/v1/nothing", "", 404},
	}
	for _, tt := range bad {
		t.Run("bad "+tt.path, func(t *testing.T) {
			var e errBody
			testutil.GetJSON(t, base, tt.path, tt.status, &e)
			if e.Error.Parameter != tt.param || e.Error.Message == "" || e.Error.RequestID == "" {
				t.Fatalf("GET %s error body %+v, want parameter %q with a message and request id", tt.path, e.Error, tt.param)
			}
		})
	}

	t.Run("dossier", func(t *testing.T) {
		var d struct {
			Code   string `json:"code"`
			Status struct {
				Code   int    `json:"code"`
				NameVI string `json:"name_vi"`
			} `json:"status"`
			Definition struct {
				ID      string `json:"id"`
				Version int    `json:"version"`
			} `json:"definition"`
			Due     *time.Time `json:"due"`
			History []struct {
				Index       int    `json:"index"`
				EventID     string `json:"event_id"`
				Action      string `json:"action"`
				From        string `json:"from"`
				To          string `json:"to"`
				Actor       string `json:"actor"`
				Hash        string `json:"hash"`
				PrevHash    string `json:"prev_hash"`
				Attachments []struct {
					Kind string `json:"kind"`
				} `json:"attachments"`
			} `json:"history"`
		}
		testutil.GetJSON(t, base, "/api/v1/dossiers/"+f.Codes[0], 200, &d)
		if d.Status.Code != 10 || d.Status.NameVI != "Đã trả kết quả" || d.Definition.ID != "standard" || d.Definition.Version != 2 {
			t.Fatalf("dossier %+v", d)
		}
		if d.Due == nil || !d.Due.Equal(time.Date(2025, 10, 15, 0, 0, 0, 0, workflow.Zone)) {
			t.Fatalf("due %v, want 2025-10-15", d.Due)
		}
		actions := []string{}
		for i, h := range d.History {
			actions = append(actions, h.Action)
			if h.Index != i || h.EventID == "" || h.Actor != "cb-01" || len(h.Hash) != 64 {
				t.Fatalf("history entry %d: %+v", i, h)
			}
			if i > 0 && h.PrevHash != d.History[i-1].Hash {
				t.Fatalf("entry %d prev_hash %s, previous hash %s", i, h.PrevHash, d.History[i-1].Hash)
			}
		}
		if strings.Join(actions, ",") != "receive,assign,resolve,return" || d.History[0].Attachments[0].Kind != "input_digitized" {
			t.Fatalf("history actions %v attachments %+v", actions, d.History[0].Attachments)
		}
		var rep struct {
			OK       bool `json:"ok"`
			Entries  int  `json:"entries"`
			BrokenAt int  `json:"broken_at"`
		}
		testutil.GetJSON(t, base, "/api/v1/dossiers/"+f.Codes[0]+"/verify", 200, &rep)
		if !rep.OK || rep.Entries != 4 || rep.BrokenAt != -1 {
			t.Fatalf("verify %+v", rep)
		}
	})

	t.Run("dossier problems", func(t *testing.T) {
		var d struct {
			Rejections int `json:"rejections"`
			Mismatches int `json:"mismatches"`
			Problems   struct {
				Rejections []struct {
					Reason string `json:"reason"`
					Action string `json:"action"`
				} `json:"rejections"`
				Mismatches []struct {
					Applied       bool `json:"applied"`
					ClaimedStatus int  `json:"claimed_status"`
				} `json:"mismatches"`
			} `json:"problems"`
		}
		testutil.GetJSON(t, base, "/api/v1/dossiers/"+f.Codes[1], 200, &d)
		if d.Rejections != 1 || d.Mismatches != 2 || len(d.Problems.Rejections) != 1 ||
			d.Problems.Rejections[0].Reason != "invalid_transition" || len(d.Problems.Mismatches) != 2 {
			t.Fatalf("dossier problems %+v", d)
		}
		// Newest first: the rejected return, then the applied assign.
		if m := d.Problems.Mismatches; m[0].Applied || m[0].ClaimedStatus != 10 || !m[1].Applied || m[1].ClaimedStatus != 9 {
			t.Fatalf("mismatches %+v", m)
		}
	})

	t.Run("lists", func(t *testing.T) {
		type page struct {
			Items []struct {
				Code   string `json:"code"`
				Reason string `json:"reason"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		var p page
		get := func(path string) {
			p = page{}
			testutil.GetJSON(t, base, path, 200, &p)
		}
		get("/api/v1/dossiers?status=4")
		if len(p.Items) != 1 || p.Items[0].Code != f.Codes[1] {
			t.Fatalf("dossiers in status 4: %+v", p)
		}
		get("/api/v1/dossiers?limit=2")
		if len(p.Items) != 2 || p.NextCursor == "" {
			t.Fatalf("first page of 2: %+v", p)
		}
		get("/api/v1/dossiers?limit=2&cursor=" + p.NextCursor)
		if len(p.Items) != 1 || p.Items[0].Code != f.Codes[2] || p.NextCursor != "" {
			t.Fatalf("second page: %+v", p)
		}
		get("/api/v1/dossiers?agency=H57&procedure=1.004227&status=1")
		if len(p.Items) != 1 || p.Items[0].Code != f.Codes[2] {
			t.Fatalf("dossiers by agency, procedure and status 1: %+v", p)
		}
		get("/api/v1/rejections?reason=invalid_transition&dossier=" + f.Codes[1] + "&since=2025-01-01")
		if len(p.Items) != 1 || p.Items[0].Reason != "invalid_transition" {
			t.Fatalf("rejections: %+v", p)
		}
		get("/api/v1/rejections?reason=duplicate")
		if len(p.Items) != 0 {
			t.Fatalf("duplicate rejections: %+v", p)
		}
		get("/api/v1/rejections?since=" + time.Now().Add(time.Hour).Format(time.RFC3339))
		if len(p.Items) != 0 {
			t.Fatalf("rejections since the future: %+v", p)
		}
		get("/api/v1/mismatches?limit=1")
		if len(p.Items) != 1 || p.NextCursor == "" {
			t.Fatalf("mismatches page: %+v", p)
		}
	})

	t.Run("stats", func(t *testing.T) {
		// The fixture: two dossiers received on 2025-10-01 with digitized
		// inputs, one resolved early with its electronic result and
		// returned early, one in progress; one submitted online only.
		type report struct {
			Kind               string  `json:"kind"`
			LateRule           string  `json:"late_rule"`
			Received           int64   `json:"received"`
			Resolved           int64   `json:"resolved"`
			Early              int64   `json:"early"`
			Late               int64   `json:"late"`
			Returned           int64   `json:"returned"`
			InProgress         int64   `json:"in_progress"`
			OnTimeRate         float64 `json:"on_time_rate"`
			ReceivedOnTimeRate float64 `json:"received_on_time_rate"`
			DigitizedRate      float64 `json:"digitized_rate"`
			ElectronicRate     float64 `json:"electronic_result_rate"`
		}
		type stats struct {
			Period struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"period"`
			Filters struct {
				Kind string `json:"kind"`
				By   string `json:"by"`
				Late string `json:"late"`
			} `json:"filters"`
			Total report `json:"total"`
			Rows  []struct {
				Key    string `json:"key"`
				Report report `json:"report"`
			} `json:"rows"`
			GeneratedFrom string `json:"generated_from"`
		}
		var st stats
		get := func(path string) {
			st = stats{}
			testutil.GetJSON(t, base, path, 200, &st)
		}
		get("/api/v1/stats?from=2025&to=2025")
		want := report{Kind: "dossier", LateRule: "processing", Received: 2, Resolved: 1, Early: 1, Returned: 1, InProgress: 1,
			OnTimeRate: 100, ReceivedOnTimeRate: 50, DigitizedRate: 100, ElectronicRate: 100}
		if st.Period.From != "2025-01" || st.Period.To != "2025-12" || st.Total != want || st.Rows == nil || len(st.Rows) != 0 ||
			st.GeneratedFrom != "counters" || st.Filters.Kind != "dossier" || st.Filters.Late != "processing" {
			t.Fatalf("stats of 2025: %+v", st)
		}
		get("/api/v1/stats?from=2025-09&to=2025-10&by=month&agency=H57&procedure=1.004227")
		if len(st.Rows) != 2 || st.Rows[0].Key != "2025-09" || st.Rows[0].Report.Received != 0 ||
			st.Rows[1].Key != "2025-10" || st.Rows[1].Report.Received != 2 || st.Total.InProgress != 1 {
			t.Fatalf("stats by month: %+v", st)
		}
		get("/api/v1/stats?by=agency")
		if st.Period.From != "2025-10" || st.Period.To != "2025-10" || len(st.Rows) != 1 || st.Rows[0].Key != "H57" || st.Rows[0].Report.InProgress != 1 {
			t.Fatalf("stats by agency: %+v", st)
		}
		get("/api/v1/stats?by=sector&late=return")
		if len(st.Rows) != 1 || st.Rows[0].Key != "(khác)" || st.Total.LateRule != "return" || st.Total.Resolved != 1 || st.Total.Early != 1 {
			t.Fatalf("stats by sector, late by return: %+v", st)
		}
		get("/api/v1/stats?agency=X99")
		if st.Total.Received != 0 || st.Total.InProgress != 0 {
			t.Fatalf("stats of another agency: %+v", st)
		}
		get("/api/v1/stats?kind=feedback")
		if st.Total.Kind != "feedback" || st.Total.Received != 0 || st.Period.From != "" {
			t.Fatalf("feedback stats: %+v", st)
		}
	})

	t.Run("dossier filters", func(t *testing.T) {
		type page struct {
			Items []struct {
				Code string `json:"code"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		codes := func(path string) ([]string, string) {
			t.Helper()
			var p page
			testutil.GetJSON(t, base, path, 200, &p)
			out := []string{}
			for _, d := range p.Items {
				out = append(out, d.Code)
			}
			return out, p.NextCursor
		}
		for _, tt := range []struct {
			query string
			want  []string
		}{
			// codes[0] and codes[1] were received on 2025-10-01 in
			// Vietnam, codes[2] never was; none is overdue.
			{"from=2025-10-01&to=2025-10-01", f.Codes[:2]},
			{"from=2025-10-01", f.Codes[:2]},
			{"to=2025-10-01&status=4", f.Codes[1:2]},
			{"from=2025-10-02", nil},
			{"to=2025-09-30", nil},
			{"overdue=true", nil},
			{"overdue=false", f.Codes},
			{"overdue=false&status=4&agency=H57", f.Codes[1:2]},
		} {
			got, next := codes("/api/v1/dossiers?" + tt.query)
			if diff := cmp.Diff(append([]string{}, tt.want...), got); diff != "" || next != "" {
				t.Errorf("dossiers?%s (-want +got):\n%s next %q", tt.query, diff, next)
			}
		}
		// Receipt order pages with a date~code cursor.
		got, next := codes("/api/v1/dossiers?from=2025-10-01&limit=1")
		if len(got) != 1 || got[0] != f.Codes[0] || next != "2025-10-01~"+f.Codes[0] {
			t.Fatalf("first page by receipt date: %v, next %q", got, next)
		}
		got, next = codes("/api/v1/dossiers?from=2025-10-01&limit=1&cursor=" + next)
		if len(got) != 1 || got[0] != f.Codes[1] || next != "" {
			t.Fatalf("second page by receipt date: %v, next %q", got, next)
		}
	})

	t.Run("audit", func(t *testing.T) {
		var p struct {
			Items      []json.RawMessage `json:"items"`
			Checked    int               `json:"checked"`
			NextCursor string            `json:"next_cursor"`
		}
		testutil.GetJSON(t, base, "/api/v1/audit/verify", 200, &p)
		if p.Checked != 3 || p.Items == nil || len(p.Items) != 0 || p.NextCursor != "" {
			t.Fatalf("audit verify: %+v", p)
		}
		p.NextCursor = ""
		testutil.GetJSON(t, base, "/api/v1/audit/verify?limit=2", 200, &p)
		if p.Checked != 2 || p.NextCursor != f.Codes[1] {
			t.Fatalf("audit verify, page of 2: %+v", p)
		}
		p.NextCursor = ""
		testutil.GetJSON(t, base, "/api/v1/audit/verify?limit=2&cursor="+f.Codes[1], 200, &p)
		if p.Checked != 1 || p.NextCursor != "" {
			t.Fatalf("audit verify, second page: %+v", p)
		}
	})

	t.Run("openapi document", func(t *testing.T) {
		resp, err := http.Get(base + "/api/v1/openapi.json")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !bytes.Equal(body, docs.OpenAPI) {
			t.Fatalf("GET /api/v1/openapi.json = %d %s, %d bytes; want docs/openapi.json", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	})

	// Each handler's query parameters are its route's Params (which the
	// OpenAPI document must list, see web's TestOpenAPIAgreesWithRoutes):
	// an unknown one is refused with the list of those it takes.
	t.Run("every route takes its Params", func(t *testing.T) {
		for _, r := range web.Routes() {
			if !strings.HasPrefix(r.Pattern, "/api/v1/") {
				continue
			}
			path := strings.ReplaceAll(r.Pattern, "{code}", f.Codes[0]) + "?zz_probe=1"
			req, err := http.NewRequest(r.Method, base+path, strings.NewReader(""))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			resp, err := http.DefaultClient.Do(req.WithContext(ctx))
			if err != nil {
				cancel()
				t.Errorf("%s %s: %v", r.Method, path, err)
				continue
			}
			var e struct {
				Error struct {
					Parameter string   `json:"parameter"`
					Allowed   []string `json:"allowed"`
				} `json:"error"`
			}
			err = json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
			cancel()
			want := r.Params()
			slices.Sort(want)
			slices.Sort(e.Error.Allowed)
			if resp.StatusCode != 400 || err != nil || e.Error.Parameter != "" || e.Error.Allowed == nil ||
				!slices.Equal(want, e.Error.Allowed) {
				t.Errorf("%s %s = %d %+v (%v); want 400 allowing %q without naming zz_probe", r.Method, path, resp.StatusCode, e.Error, err, want)
			}
		}
	})

	t.Run("definitions and statuses", func(t *testing.T) {
		var defs struct {
			Items []struct {
				ID        string `json:"id"`
				Version   int    `json:"version"`
				Effective string `json:"effective"`
				Actions   []struct {
					Name string `json:"name"`
				} `json:"actions"`
			} `json:"items"`
		}
		testutil.GetJSON(t, base, "/api/v1/definitions", 200, &defs)
		if len(defs.Items) != 5 || defs.Items[4].ID != "standard" || defs.Items[4].Version != 2 || defs.Items[4].Effective != "2025-07-01" || len(defs.Items[4].Actions) != 14 {
			t.Fatalf("definitions %+v", defs)
		}
		var sts struct {
			Items []struct {
				Code   int    `json:"code"`
				NameVI string `json:"name_vi"`
			} `json:"items"`
		}
		testutil.GetJSON(t, base, "/api/v1/statuses", 200, &sts)
		if len(sts.Items) != 10 || sts.Items[2].NameVI != "Không được tiếp nhận" {
			t.Fatalf("statuses %+v", sts)
		}
	})

	t.Run("probes and metrics", func(t *testing.T) {
		testutil.GetJSON(t, base, "/healthz", 200, nil)
		testutil.GetJSON(t, base, "/readyz", 200, nil)
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{
			`hoso_events_total{outcome="accepted",reason=""} 6`,
			`hoso_events_total{outcome="correction",reason="status_mismatch"} 1`,
			`hoso_events_total{outcome="rejected",reason="invalid_transition"} 1`,
			`hoso_dossiers{status="10"} 1`,
			`hoso_applied_sequence 8`,
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("metrics lack %q", want)
			}
		}
	})

	t.Run("every route is tested", func(t *testing.T) {
		tested := "/healthz /readyz /metrics /api/v1/dossiers /api/v1/dossiers/{code} /api/v1/dossiers/{code}/verify /api/v1/rejections /api/v1/mismatches /api/v1/definitions /api/v1/statuses /api/v1/stats" +
			" /api/v1/reconcile /reconcile" + // TestReconcileAPI, TestReconcilePage
			" /api/v1/audit/verify /api/v1/openapi.json" +
			" /api/v1/audit/checkpoint" + // TestCheckpointsOfReplicas, cmd/hoso's TestCheckpointsEndToEnd
			" /api/v1/feed /{$} /overdue /dossiers/{code} /feed /definitions /static/{file}" + // TestDashboardPages
			" /api/v1/admin/state /api/v1/admin/backup" + // cmd/hoso's TestBackupRestoreRebuild
			" /api/v1/irregularities /irregularities" // TestIrregularitiesEndToEnd, TestIrregularitiesBrowser
		for _, r := range web.Routes() {
			if !strings.Contains(tested+" ", r.Pattern+" ") {
				t.Errorf("route %s %s has no test here", r.Method, r.Pattern)
			}
		}
	})
}
