package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/docs"
	"github.com/hoso-vn/hoso/workflow"
)

// TestStatsRatesAbove100 gives the period's numbers (flows) a month
// that resolves more dossiers than it receives: agency UB-BA receives
// DS-BA-0001 in October and DS-BA-0002 in November, and resolves both
// early in November. November's numbers: received 1, resolved 2, early 2,
// so (early + on_time) / received = 200% (received_on_time_rate, and
// headline_rate over the default base, received); its month row is the
// cohort of DS-BA-0002 alone: 1 of 1, 100%. The answer must match
// docs/openapi.json (the test server's client checks it), which may not
// cap at 100 a rate it cannot keep there.
func TestStatsRatesAbove100(t *testing.T) {
	f := newFixture(t, false)
	due := time.Date(2025, 11, 28, 0, 0, 0, 0, workflow.Zone)
	for i, c := range []struct {
		code              string
		received, resolve time.Time
	}{
		{"DS-BA-0001", time.Date(2025, 10, 20, 9, 0, 0, 0, workflow.Zone), time.Date(2025, 11, 3, 9, 0, 0, 0, workflow.Zone)},
		{"DS-BA-0002", time.Date(2025, 11, 5, 9, 0, 0, 0, workflow.Zone), time.Date(2025, 11, 6, 9, 0, 0, 0, workflow.Zone)},
	} {
		res := f.apply(
			f.event(c.code+"/1", "receive", c.code, "UB-BA", c.received, func(e *workflow.Event) {
				e.Due, e.Attachments = due, []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized, Name: "don.pdf"}}
			}),
			f.event(c.code+"/2", "assign", c.code, "UB-BA", c.received.Add(time.Hour), nil),
			f.event(c.code+"/3", "resolve", c.code, "UB-BA", c.resolve, func(e *workflow.Event) {
				e.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentResultElectronic, Name: "kq.pdf"}}
			}),
		)
		if res.Accepted != 3 {
			t.Fatalf("dossier %d: %+v, want 3 events accepted", i, res.Outcomes)
		}
	}
	resp, body := f.get("/api/v1/stats?agency=UB-BA&from=2025-11&to=2025-11&by=month", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/stats = %d %s, want 200", resp.StatusCode, body)
	}
	var s api.Stats
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	tot := s.Total
	if tot.Received != 1 || tot.Resolved != 2 || tot.Early != 2 || tot.ReceivedOnTimeRate != 200 || tot.HeadlineRate != 200 {
		t.Errorf("total: received %d, resolved %d, early %d, received_on_time_rate %v, headline_rate %v; want 1, 2, 2, 200, 200",
			tot.Received, tot.Resolved, tot.Early, tot.ReceivedOnTimeRate, tot.HeadlineRate)
	}
	if len(s.Rows) != 1 || s.Rows[0].Key != "2025-11" {
		t.Fatalf("rows = %+v, want one: 2025-11", s.Rows)
	}
	if r := s.Rows[0].Report; r.Received != 1 || r.Resolved != 1 || r.ReceivedOnTimeRate != 100 || r.HeadlineRate != 100 {
		t.Errorf("row 2025-11: received %d, resolved %d, received_on_time_rate %v, headline_rate %v; want 1, 1, 100, 100",
			r.Received, r.Resolved, r.ReceivedOnTimeRate, r.HeadlineRate)
	}
}

// TestOpenAPIDocumentsWhatIsSent checks, in docs/openapi.json, what no
// response the suite receives can show: responses documented that the
// server never sends, and the license object.
func TestOpenAPIDocumentsWhatIsSent(t *testing.T) {
	var d struct {
		Info struct {
			License map[string]string `json:"license"`
		} `json:"info"`
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]any `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(docs.OpenAPI, &d); err != nil {
		t.Fatal(err)
	}
	// The probes never authenticate (RoleNone), so they are never
	// refused, nor throttled.
	for _, p := range []string{"/healthz", "/readyz"} {
		for _, st := range []string{"401", "403", "429"} {
			if _, ok := d.Paths[p]["get"].Responses[st]; ok {
				t.Errorf("GET %s documents %s, which it never answers", p, st)
			}
		}
	}
	var feed []string
	for ct := range d.Paths["/api/v1/feed"]["get"].Responses["200"].Content {
		feed = append(feed, ct)
	}
	if !slices.Equal(feed, []string{"text/event-stream"}) {
		t.Errorf("GET /api/v1/feed 200 documents %v, want [text/event-stream] (each event's data is a FeedItem)", feed)
	}
	// OpenAPI 3.1: a license has a name, and a url or an SPDX identifier,
	// not both.
	l := d.Info.License
	if l["name"] == "" || (l["url"] == "") == (l["identifier"] == "") {
		t.Errorf("info.license = %v, want a name and one of url, identifier", l)
	}
}

// TestMethodNotAllowed sends, over HTTP, methods a route does not take:
// 405 with the Allow header naming those it takes and the JSON error body
// (code method_not_allowed), not a 404. A path of no route stays a 404.
func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t, false)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"POST", "/api/v1/dossiers", 405, "GET, HEAD"},
		{"DELETE", "/api/v1/dossiers/" + codeHai, 405, "GET, HEAD"},
		{"PUT", "/api/v1/stats", 405, "GET, HEAD"},
		{"GET", "/api/v1/reconcile", 405, "POST"},
		{"POST", "/healthz", 405, "GET, HEAD"},
		{"POST", "/api/v1/no-such-route", 404, ""},
		{"GET", "/api/v1/dossiers", 200, ""},
	} {
		req, err := http.NewRequest(tc.method, f.srv.URL+tc.path, strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		resp, body := f.do(req, "")
		if resp.StatusCode != tc.status || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s = %d Allow %q, want %d Allow %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), tc.status, tc.allow)
			continue
		}
		if tc.status != 405 {
			continue
		}
		var e api.ErrorResponse
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != "method_not_allowed" || e.Error.RequestID == "" {
			t.Errorf("%s %s body = %s, want an Error of code method_not_allowed", tc.method, tc.path, body)
		}
	}
}
