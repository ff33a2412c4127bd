package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestOpenModeAnswersLoopbackHostsOnly: without an access file the server
// answers only requests addressed to a loopback name, so that a page of
// another site whose name a DNS rebinding points at 127.0.0.1 cannot
// read the store or publish corrections through a visitor's browser.
func TestOpenModeAnswersLoopbackHostsOnly(t *testing.T) {
	f := newFixture(t, false)
	send := func(method, path, host string) (*http.Response, string) {
		t.Helper()
		var body *strings.Reader
		if method == "POST" {
			body = strings.NewReader("ma_ho_so,trang_thai\n" + codeHai + ",2\n")
		} else {
			body = strings.NewReader("")
		}
		req, err := http.NewRequest(method, f.srv.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		if method == "POST" {
			req.Header.Set("Content-Type", "text/csv")
		}
		return f.do(req, "")
	}
	for _, host := range []string{
		"evil.example", "evil.example:8080", "localhost.evil.example", "127.0.0.1.evil.example", "127.0.0.1.nip.io:8080",
		"10.0.0.1", "10.0.0.1:8080", "0.0.0.0:8080", "[::2]:8080", "[::ffff:127.0.0.1]:8080", "localhost.:8080", "127.1:8080",
	} {
		for _, r := range []struct{ method, path string }{
			{"GET", "/api/v1/dossiers"},
			{"GET", "/api/v1/admin/backup"},
			{"GET", "/"},
			{"GET", "/overdue?format=csv"},
			{"GET", "/healthz"},
			{"POST", "/api/v1/reconcile?publish=true"},
			{"GET", "/no-such-page"},
		} {
			resp, body := send(r.method, r.path, host)
			if resp.StatusCode != http.StatusMisdirectedRequest || strings.Contains(body, codeHai) ||
				!strings.Contains(body, "localhost") {
				t.Errorf("%s %s with Host %q = %d, want 421 naming the hosts served:\n%.300s", r.method, r.path, host, resp.StatusCode, body)
			}
		}
	}
	for _, host := range []string{"localhost", "localhost:8080", "LocalHost:8080", "127.0.0.1", "127.0.0.1:8080", "127.255.0.9:80", "[::1]", "[::1]:8080"} {
		if resp, body := send("GET", "/api/v1/dossiers", host); resp.StatusCode != http.StatusOK || !strings.Contains(body, codeHai) {
			t.Errorf("GET /api/v1/dossiers with Host %q = %d, want 200:\n%.300s", host, resp.StatusCode, body)
		}
	}

	// With an access file, the tokens guard the server: any name serves.
	fa := newFixture(t, true)
	req, _ := http.NewRequest("GET", fa.srv.URL+"/api/v1/dossiers", nil)
	req.Host = "hoso.example.gov.vn"
	if resp, body := fa.do(req, "admin"); resp.StatusCode != http.StatusOK || !strings.Contains(body, codeHai) {
		t.Errorf("GET /api/v1/dossiers with Host hoso.example.gov.vn and an access file = %d, want 200", resp.StatusCode)
	}
}

// TestHostAllowed: the Host values a server without access control
// answers, by default and with Config.AnyIPHost.
func TestHostAllowed(t *testing.T) {
	for _, tc := range []struct {
		host         string
		loopback, ip bool // answered by default, with AnyIPHost
	}{
		{"localhost", true, true},
		{"LOCALHOST:80", true, true},
		{"127.0.0.1", true, true},
		{"127.9.8.7:65535", true, true},
		{"[::1]", true, true},
		{"[::1]:8080", true, true},
		{"10.0.0.5", false, true},
		{"10.0.0.5:8080", false, true},
		{"[2001:db8::5]:443", false, true},
		{"[::ffff:127.0.0.1]", false, true},
		{"0.0.0.0", false, true},
		{"128.0.0.1", false, true},
		{"evil.example", false, false},
		{"evil.example:8080", false, false},
		{"localhost.", false, false},
		{"a.localhost", false, false},
		{"localhost.evil.example", false, false},
		{"127.0.0.1.nip.io", false, false},
		{"127.1", false, false},
		{"::1", false, false}, // unbracketed
		{"[fe80::1%25eth0]", false, false},
		{"localhost:", false, false},
		{"localhost:http", false, false},
		{"", false, false},
	} {
		if got := hostAllowed(tc.host, false); got != tc.loopback {
			t.Errorf("hostAllowed(%q, false) = %t, want %t", tc.host, got, tc.loopback)
		}
		if got := hostAllowed(tc.host, true); got != tc.ip {
			t.Errorf("hostAllowed(%q, true) = %t, want %t", tc.host, got, tc.ip)
		}
	}
}

// TestSecurityHeaders: every answer says nosniff; JSON answers and pages
// are not stored by caches; answers over TLS carry HSTS, others not.
func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, false)
	tlsSrv := newTestTLSServer(f.srv.Config.Handler)
	defer tlsSrv.Close()
	for _, tc := range []struct {
		path  string
		cache string // the Cache-Control wanted
	}{
		{"/api/v1/dossiers", "no-store"},
		{"/api/v1/dossiers/" + codeHai, "no-store"},
		{"/api/v1/stats", "no-store"},
		{"/api/v1/openapi.json", "no-store"},
		{"/api/v1/dossiers?colour=red", "no-store"}, // an error
		{"/api/v1/no-such-route", "no-store"},
		{"/healthz", "no-store"},
		{"/", "no-store"},
		{"/overdue", "no-store"},
		{"/overdue?format=csv", "no-store"},
		{"/feed", "no-store"},
		{"/no-such-page", "no-store"},
		{"/static/style.css", "public, max-age=3600"},
	} {
		for _, base := range []*httptest.Server{f.srv, tlsSrv} {
			resp, err := base.Client().Get(base.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			h := resp.Header
			if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("GET %s: X-Content-Type-Options %q, want nosniff", tc.path, got)
			}
			if got := h.Get("Cache-Control"); got != tc.cache {
				t.Errorf("GET %s: Cache-Control %q, want %q", tc.path, got, tc.cache)
			}
			hsts, wantHSTS := h.Get("Strict-Transport-Security"), ""
			if resp.TLS != nil {
				wantHSTS = "max-age=31536000"
			}
			if hsts != wantHSTS {
				t.Errorf("GET %s (TLS %t): Strict-Transport-Security %q, want %q", tc.path, resp.TLS != nil, hsts, wantHSTS)
			}
		}
	}
}

// TestUnknownParameterNotEchoed: the refusal of an unknown parameter
// lists those the route takes and does not repeat the name it was sent.
func TestUnknownParameterNotEchoed(t *testing.T) {
	f := newFixture(t, false)
	name := "<img src=x onerror=alert(1)>"
	for _, path := range []string{"/api/v1/dossiers", "/api/v1/definitions", "/api/v1/statuses", "/", "/overdue", "/feed", "/definitions"} {
		resp, body := f.get(path+"?"+url.QueryEscape(name)+"=1", "")
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "onerror") || strings.Contains(body, "img") {
			t.Errorf("GET %s?%s = %d, want 400 without the name:\n%.400s", path, name, resp.StatusCode, body)
		}
	}
	_, body := f.get("/api/v1/dossiers?"+url.QueryEscape(name)+"=1", "")
	var e struct {
		Error struct {
			Code, Message, Parameter string
			Allowed                  []string
		}
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != "bad_parameter" || e.Error.Parameter != "" ||
		strings.Join(e.Error.Allowed, ",") != strings.Join(queryParams["/api/v1/dossiers"], ",") ||
		!strings.Contains(e.Error.Message, "status, agency") {
		t.Errorf("GET /api/v1/dossiers?<unknown>=1: %s, want bad_parameter listing the parameters allowed", body)
	}
	if _, body := f.get("/overdue?colour=red", ""); !strings.Contains(body, "view, agency, procedure, sort, cursor, format, lang") {
		t.Errorf("GET /overdue?colour=red does not list the parameters allowed:\n%s", lineWith(body, "colour"))
	}
}

// TestQueryBeyondParseLimit: a query of more parameters than Go parses
// (10,000), or one that does not parse, is refused rather than served
// with every filter dropped.
func TestQueryBeyondParseLimit(t *testing.T) {
	f := newFixture(t, false)
	for _, tc := range []struct {
		path   string
		status int
	}{
		// 10,001 parameters: the filter and 10,000 empty ones.
		{"/api/v1/dossiers?agency=" + agencyXay + strings.Repeat("&", 10_000), http.StatusBadRequest},
		{"/overdue?agency=" + agencyXay + strings.Repeat("&", 10_000), http.StatusBadRequest},
		{"/feed?format=csv&agency=" + agencyXay + strings.Repeat("&", 10_000), http.StatusBadRequest},
		// 10,000 parameters parse.
		{"/api/v1/dossiers?agency=" + agencyXay + strings.Repeat("&", 9_999), http.StatusOK},
		{"/overdue?agency=" + agencyXay + strings.Repeat("&", 9_999), http.StatusOK},
		// A malformed escape or a semicolon would drop the pair.
		{"/api/v1/dossiers?agency=" + agencyXay + "&status=%zz", http.StatusBadRequest},
		{"/api/v1/dossiers?agency=" + agencyXay + "&x;y=1", http.StatusBadRequest},
	} {
		resp, body := f.get(tc.path, "")
		if resp.StatusCode != tc.status || strings.Contains(body, codeHai) {
			t.Errorf("GET %.60s… = %d, want %d without %s's dossiers:\n%.300s", tc.path, resp.StatusCode, tc.status, agencyHai, body)
		}
		if tc.status == http.StatusBadRequest && (resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(body, `"code":"bad_query"`) && !strings.Contains(body, "chuỗi truy vấn")) {
			t.Errorf("GET %.60s…: %s, want an error about the query", tc.path, body)
		}
	}
}
