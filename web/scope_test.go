package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/api"
)

// TestScopedUserSeesOnlyTheirAgency walks every dashboard page, every CSV
// export and the API lists as users scoped to agencyHai: each answer
// holds agencyHai's data and nothing of agencyXay's, and asking for
// agencyXay by ?agency= is refused.
func TestScopedUserSeesOnlyTheirAgency(t *testing.T) {
	f := newFixture(t, true)
	q := url.QueryEscape
	for _, tc := range []struct {
		path string
		want string // what the answer holds of agencyHai's, so that it is not empty
		// agencyArg: the route takes ?agency=, and asking for agencyXay is
		// refused.
		agencyArg bool
	}{
		{"/", agencyHai, true},
		{"/?format=csv&list=months", "2025-10", true},
		{"/?format=csv&list=agencies", agencyHai, true},
		{"/?format=csv&list=procedures", "1.004227", true},
		{"/overdue", codeHai, true},
		{"/overdue?view=at_risk", "", true},
		{"/overdue?format=csv", codeHai, true},
		{"/overdue?view=at_risk&format=csv", "", true},
		{"/dossiers/" + codeHai, codeHai, false},
		{"/dossiers/" + codeHai + "?format=csv", "assign", false},
		{"/feed", codeHai, true},
		{"/feed?format=csv", codeHai, true},
		{"/feed?reason=status_mismatch&format=csv", codeHai, true},
		{"/feed?reason=invalid_transition", codeHai, true},
		{"/irregularities", codeHai, true},
		{"/irregularities?kind=late_entry&format=csv", codeHai, true},
		{"/irregularities?format=csv&list=summary", agencyHai, true},
		{"/definitions", "standard", false},
		{"/reconcile", "", false},
		{"/api/v1/dossiers", codeHai, true},
		{"/api/v1/dossiers/" + codeHai, codeHai, false},
		{"/api/v1/rejections", codeHai, true},
		{"/api/v1/mismatches", codeHai, true},
		{"/api/v1/irregularities", codeHai, true},
		{"/api/v1/irregularities?kind=late_entry&limit=5", codeHai, true},
		{"/api/v1/stats?by=agency", agencyHai, true},
	} {
		for _, user := range []string{"auditor-hai", "viewer-hai"} {
			resp, body := f.get(tc.path, user)
			if user == "viewer-hai" && (strings.HasPrefix(tc.path, "/feed") || tc.path == "/reconcile") {
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("GET %s as %s = %d, want 403 (an auditor's page)", tc.path, user, resp.StatusCode)
				}
				continue
			}
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, tc.want) {
				t.Errorf("GET %s as %s = %d, want 200 holding %q:\n%.500s", tc.path, user, resp.StatusCode, tc.want, body)
			}
			if strings.Contains(body, "XAY") {
				t.Errorf("GET %s as %s shows another agency's data:\n%s", tc.path, user, lineWith(body, "XAY"))
			}
			if !tc.agencyArg {
				continue
			}
			sep := "?"
			if strings.Contains(tc.path, "?") {
				sep = "&"
			}
			other := tc.path + sep + "agency=" + q(agencyXay)
			resp, body = f.get(other, user)
			if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "DS-XAY") {
				t.Errorf("GET %s as %s = %d, want 403 without the agency's dossiers:\n%.500s", other, user, resp.StatusCode, body)
			}
		}
	}

	// The overview's running totals span every agency: a scoped user's
	// overview leaves them out (not zeros); an unscoped user's shows them.
	for user, want := range map[string]bool{"viewer-hai": false, "admin": true} {
		_, body := f.get("/", user)
		for _, key := range []string{"ov.alldossiers", "ov.rejections", "ov.statusdist"} {
			if got := strings.Contains(body, label(langVI, key)); got != want {
				t.Errorf("/ as %s shows %q: %t, want %t", user, label(langVI, key), got, want)
			}
		}
	}

	// Another agency's dossier is not found, as a page, a CSV or JSON.
	for _, path := range []string{"/dossiers/" + codeXay1, "/dossiers/" + codeXay1 + "?format=csv", "/api/v1/dossiers/" + codeXay1} {
		if resp, body := f.get(path, "auditor-hai"); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "UB-XAY") {
			t.Errorf("GET %s as auditor-hai = %d, want 404:\n%.300s", path, resp.StatusCode, body)
		}
	}

	// The overdue tab counts the user's overdue dossiers (1), not the
	// province's (3); an unscoped user sees the province's.
	tab := regexp.MustCompile(`id="tab-overdue">[^<(]*\(([0-9.,]+)\)`)
	for user, want := range map[string]string{"auditor-hai": "1", "admin": "3"} {
		_, body := f.get("/overdue", user)
		if m := tab.FindStringSubmatch(body); m == nil || m[1] != want {
			t.Errorf("/overdue as %s: overdue tab count %v, want %s", user, m, want)
		}
	}
	// The count is that of the list's filters.
	for path, want := range map[string]string{
		"/overdue?agency=" + q(agencyXay):                         "2",
		"/overdue?procedure=1.004227":                             "3",
		"/overdue?procedure=2.000001":                             "0",
		"/overdue?agency=" + q(agencyXay) + "&procedure=1.004227": "2",
	} {
		_, body := f.get(path, "admin")
		if m := tab.FindStringSubmatch(body); m == nil || m[1] != want {
			t.Errorf("%s as admin: overdue tab count %v, want %s", path, m, want)
		}
	}

	// A reconciliation of an export naming the other agency's dossier
	// shows it as unknown to hoso, without its agency, and does not miss
	// the other agency's dossiers the export does not list.
	{
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile("file", "xuat.csv")
		fw.Write([]byte("ma_ho_so,trang_thai\n" + codeXay1 + ",4\n" + codeHai + ",4\n"))
		mw.WriteField("scope", "all")
		mw.Close()
		req, _ := http.NewRequest("POST", f.srv.URL+"/reconcile", &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, body := f.do(req, "auditor-hai")
		unknown := label(langVI, "rc.kind.unknown_dossier")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, unknown) || !strings.Contains(body, codeXay1) ||
			strings.Contains(body, agencyXay) || strings.Contains(body, codeXay2) {
			t.Errorf("POST /reconcile as auditor-hai = %d, want 200 without %s's data:\n%s", resp.StatusCode, agencyXay, body)
		}
	}

	// The live feed streams the user's agency only: a rejection of
	// agencyXay's published first does not reach it, agencyHai's after
	// it does.
	lines := f.stream("/api/v1/feed", "auditor-hai")
	f.apply(
		f.event(codeXay1+"/4", "return", codeXay1, agencyXay, fixtureStart.AddDate(0, 0, 12), nil),
		f.event(codeHai+"/4", "return", codeHai, agencyHai, fixtureStart.AddDate(0, 0, 12), nil),
	)
	var it api.FeedItem
	for it.Dossier == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the feed stream ended")
			}
			if data, ok := strings.CutPrefix(l, "data: "); ok {
				if err := json.Unmarshal([]byte(data), &it); err != nil {
					t.Fatalf("feed event %q: %v", data, err)
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no feed event in 10s")
		}
	}
	if it.Dossier != codeHai || it.Agency != agencyHai {
		t.Errorf("the first feed event of auditor-hai is %s of %s, want %s's", it.Dossier, it.Agency, codeHai)
	}
}

// stream opens a server-sent event stream as the user and returns its
// lines, the channel closed at its end.
func (f *fixture) stream(path, user string) <-chan string {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+f.tokens[user])
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		f.t.Fatalf("GET %s as %s: %s", path, user, resp.Status)
	}
	lines := make(chan string, 64)
	go func() {
		defer resp.Body.Close()
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for l := range lines {
		if l == ": connected" {
			return lines
		}
	}
	f.t.Fatalf("GET %s as %s: the stream ended before it connected", path, user)
	return nil
}

// lineWith returns the lines of s that contain sub, for a failure message.
func lineWith(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "\n")
}
