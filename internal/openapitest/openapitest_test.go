package openapitest

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDocumentIsValid(t *testing.T) {
	if err := Validate(); err != nil {
		t.Fatal(err)
	}
}

// answer is a canned response of the test server.
type answer struct {
	status      int
	contentType string
	body        string
}

// TestTransport sends requests through Transport to a server whose
// answers are canned, some as docs/openapi.json describes them and some
// not, and expects an error exactly for the latter.
func TestTransport(t *testing.T) {
	const errBody = `{"error":{"code":"not_found","message":"no dossier has this code","request_id":"1"}}`
	answers := map[string]answer{
		"/api/v1/statuses":            {200, "application/json", `{"items":[{"code":1,"name_vi":"Mới đăng ký","name_en":"Submitted"}]}`},
		"/api/v1/statuses?bad=status": {200, "application/json", `{"items":[{"code":11,"name_vi":"x","name_en":"x"}]}`},
		"/api/v1/statuses?bad=field":  {200, "application/json", `{"items":[{"code":1}]}`},
		"/api/v1/statuses?bad=teapot": {418, "application/json", errBody},
		"/api/v1/dossiers/X":          {404, "application/json", errBody},
		"/api/v1/dossiers/X?bad=code": {404, "application/json", strings.Replace(errBody, "not_found", "gone", 1)},
		"/api/v1/dossiers/X?bad=type": {404, "text/plain", "not found"},
		"/api/v1/feed":                {200, "text/event-stream", ": hello\n\n"},
		"/api/v1/feed?bad=type":       {200, "application/x-ndjson", "{}\n"},
		"/overdue":                    {200, "text/html", "<p>a page</p>"},
		"/metrics":                    {200, "text/plain", "hoso_up 1\n"},
		"/api/v1/no-such-route":       {404, "application/json", errBody},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := answers[r.URL.RequestURI()]
		if !ok {
			t.Errorf("unexpected request %s", r.URL)
			return
		}
		w.Header().Set("Content-Type", a.contentType)
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	defer srv.Close()
	c := &http.Client{Transport: Transport(nil)}
	for uri, a := range answers {
		resp, err := c.Get(srv.URL + uri)
		if strings.Contains(uri, "bad=") {
			var re *ResponseError
			if !errors.As(err, &re) || re.Status != a.status {
				t.Errorf("GET %s = %v, want a ResponseError of status %d", uri, err, a.status)
			}
			continue
		}
		if err != nil {
			t.Errorf("GET %s = %v, want no error", uri, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if uri != "/api/v1/feed" && string(body) != a.body {
			t.Errorf("GET %s body = %q, want %q unchanged", uri, body, a.body)
		}
	}
}
