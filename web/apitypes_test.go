package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/api"
)

// TestAPIRoundTrip decodes answers the server gives over a real store
// into the types of package api, which clients use, and encodes them
// again: the bytes must be the server's, so that no field is lost,
// renamed, reordered or differently omitted on the way.
func TestAPIRoundTrip(t *testing.T) {
	f := newFixture(t, false)
	export := "ma_ho_so,trang_thai\n" + codeHai + ",2\n" + "DS-UNKNOWN-1,4\n" + codeXay1 + ",x\n"
	for _, tt := range []struct {
		method, path, body string
		status             int
		into               func() any
		nonEmpty           func(v any) bool // the answer is not a trivial one
	}{
		{"GET", "/api/v1/dossiers", "", 200, func() any { return new(api.Page[api.Dossier]) },
			func(v any) bool { return len(v.(*api.Page[api.Dossier]).Items) == 3 }},
		{"GET", "/api/v1/dossiers?limit=1", "", 200, func() any { return new(api.Page[api.Dossier]) },
			func(v any) bool { return v.(*api.Page[api.Dossier]).NextCursor != "" }},
		{"GET", "/api/v1/dossiers/" + codeHai, "", 200, func() any { return new(api.Dossier) },
			func(v any) bool {
				d := v.(*api.Dossier)
				return len(d.History) > 1 && d.Problems != nil && len(d.Problems.Rejections) > 0 && len(d.Problems.Mismatches) > 0 &&
					len(d.Problems.Irregularities) > 0 && d.LateEntries > 0
			}},
		{"GET", "/api/v1/dossiers/" + codeHai + "/verify", "", 200, func() any { return new(api.ChainReport) },
			func(v any) bool { return v.(*api.ChainReport).OK }},
		{"GET", "/api/v1/rejections", "", 200, func() any { return new(api.Page[api.Rejection]) },
			func(v any) bool { return len(v.(*api.Page[api.Rejection]).Items) > 0 }},
		{"GET", "/api/v1/mismatches", "", 200, func() any { return new(api.Page[api.Mismatch]) },
			func(v any) bool { return len(v.(*api.Page[api.Mismatch]).Items) > 0 }},
		{"GET", "/api/v1/irregularities", "", 200, func() any { return new(api.Page[api.Irregularity]) },
			func(v any) bool { return len(v.(*api.Page[api.Irregularity]).Items) > 0 }},
		{"GET", "/api/v1/audit/verify?limit=1", "", 200, func() any { return new(api.AuditPage) },
			func(v any) bool { p := v.(*api.AuditPage); return p.Checked == 1 && p.NextCursor != "" }},
		{"GET", "/api/v1/definitions", "", 200, func() any { return new(api.Page[api.Definition]) },
			func(v any) bool { return len(v.(*api.Page[api.Definition]).Items) > 0 }},
		{"GET", "/api/v1/statuses", "", 200, func() any { return new(api.Page[*api.Status]) },
			func(v any) bool { return len(v.(*api.Page[*api.Status]).Items) == 10 }},
		{"GET", "/api/v1/stats?by=agency", "", 200, func() any { return new(api.Stats) },
			func(v any) bool { return len(v.(*api.Stats).Rows) == 2 }},
		{"POST", "/api/v1/reconcile?format=csv&scope=all", export, 200, func() any { return new(api.Reconcile) },
			func(v any) bool { r := v.(*api.Reconcile); return r.Differences > 0 && r.ProblemCount > 0 }},
		{"GET", "/api/v1/dossiers?colour=red", "", 400, func() any { return new(api.ErrorResponse) },
			func(v any) bool { return len(v.(*api.ErrorResponse).Error.Allowed) > 0 }},
		// An endpoint that takes no parameter says so with an empty list.
		{"GET", "/api/v1/statuses?colour=red", "", 400, func() any { return new(api.ErrorResponse) },
			func(v any) bool { a := v.(*api.ErrorResponse).Error.Allowed; return a != nil && len(a) == 0 }},
		{"GET", "/api/v1/dossiers?limit=0", "", 400, func() any { return new(api.ErrorResponse) },
			func(v any) bool { return v.(*api.ErrorResponse).Error.Parameter == "limit" }},
		{"GET", "/api/v1/dossiers/NO-SUCH-CODE", "", 404, func() any { return new(api.ErrorResponse) },
			func(v any) bool { return v.(*api.ErrorResponse).Error.Code == "not_found" }},
	} {
		req, err := http.NewRequest(tt.method, f.srv.URL+tt.path, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		if tt.body != "" {
			req.Header.Set("Content-Type", "text/csv")
		}
		resp, body := f.do(req, "")
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s = %d, want %d:\n%s", tt.method, tt.path, resp.StatusCode, tt.status, body)
			continue
		}
		v := tt.into()
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Errorf("%s %s: decode into %T: %v", tt.method, tt.path, v, err)
			continue
		}
		if !tt.nonEmpty(v) {
			t.Errorf("%s %s: %T decoded is not the answer the test wants:\n%s", tt.method, tt.path, v, body)
		}
		var again bytes.Buffer
		enc := json.NewEncoder(&again)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		if again.String() != body {
			t.Errorf("%s %s: %T encodes\n%s\nthe server sent\n%s", tt.method, tt.path, v, again.String(), body)
		}
	}
}
