package public_test

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/public"
	"github.com/hoso-vn/hoso/simulate"
)

// client is a plain client: the tests' default one checks answers
// against the official API's document.
var client = &http.Client{Transport: &http.Transport{}}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// withheldAgency is an agency of the simulated stream (seed 5) the
// fixture's public file withholds, with the apology split.
const withheldAgency = "H57.01"

// sim is an engine holding a simulated province quarter, serving the
// public surface with withheldAgency and the apologies withheld.
type sim struct {
	in    *testutil.Instance
	items []simulate.Item
}

var (
	simOnce sync.Once
	simFix  *sim
)

// simulated starts the fixture once for the package's tests.
func simulated(t *testing.T) *sim {
	t.Helper()
	simOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hoso-public-")
		if err != nil {
			t.Fatal(err)
		}
		conf, keyFile := filepath.Join(dir, "public.yaml"), filepath.Join(dir, "lookup.key")
		if err := os.WriteFile(conf, []byte("withhold:\n  agencies: ["+withheldAgency+"]\n  indicators: [apologies]\n"+
			"lookup:\n  per_address: {burst: 100000, every: 1ms}\n  per_code: {burst: 100000, every: 1ms}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		// The simulation's public key, with which its receipts' digests
		// are made.
		if err := os.WriteFile(keyFile, []byte(simulate.LookupKeyHex+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := testutil.Config(filepath.Join(dir, "data"))
		cfg.PublicAddr, cfg.PublicConfig, cfg.PublicLookupKey = "127.0.0.1:0", conf, keyFile
		// The fixture lives for the package's tests: started outside any
		// one test's cleanup.
		in := testutil.Start(&testing.T{}, cfg)
		simFix = &sim{in: in}
		simFix.items = testutil.PublishSimulated(t, in, 5, 400)
	})
	if simFix == nil {
		t.Fatal("simulated fixture did not start")
	}
	return simFix
}

// walk lists every public route with every value of its choices: the
// scoreboard's answers by each breakdown and kind, in each language.
func walk() []string {
	var out []string
	for _, path := range []string{"/scoreboard", "/scoreboard/embed", "/api/public/v1/scoreboard", "/api/public/v1/scoreboard.csv"} {
		for _, by := range []string{"", "agency", "sector", "procedure", "month"} {
			if by != "" && path == "/scoreboard/embed" {
				continue
			}
			for _, kind := range []string{"", "feedback"} {
				v := url.Values{}
				if by != "" {
					v.Set("by", by)
				}
				if kind != "" {
					v.Set("kind", kind)
				}
				out = append(out, path+"?"+v.Encode())
				if strings.HasPrefix(path, "/scoreboard") {
					v.Set("lang", "en")
					out = append(out, path+"?"+v.Encode())
				}
			}
		}
	}
	return append(out, "/assets/style.css", "/assets/public.css")
}

// TestPrivacy walks every public route over a simulated quarter and
// checks that no answer holds a field outside the allowlist: the JSON's
// keys, the CSV's header, and in every answer no dossier code, officer
// or actor id, or event id of the stream.
func TestPrivacy(t *testing.T) {
	s := simulated(t)
	secrets := map[string]bool{}
	for _, it := range s.items {
		if it.Event == nil {
			continue
		}
		for _, v := range []string{it.Event.Dossier, it.Event.Actor, it.Event.ID} {
			if len(v) >= 6 {
				secrets[v] = true
			}
		}
	}
	if len(secrets) < 1000 {
		t.Fatalf("the simulated stream names %d dossiers and actors; want a province's quarter", len(secrets))
	}
	var columns []string
	for _, c := range public.Columns {
		columns = append(columns, c.Name)
	}
	top := []string{"period", "kind", "breakdown", "agency", "sector", "as_of", "late_rule", "rates", "bases", "columns", "total", "rows"}
	for _, path := range walk() {
		resp, body := get(t, s.in.PublicURL+path)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d: %.300s", path, resp.StatusCode, body)
			continue
		}
		for v := range secrets {
			if strings.Contains(body, v) {
				t.Errorf("GET %s holds %q of the stream", path, v)
				break
			}
		}
		switch {
		case strings.HasSuffix(resp.Header.Get("Content-Type"), "json; charset=utf-8") || strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"):
			var doc map[string]json.RawMessage
			if err := json.Unmarshal([]byte(body), &doc); err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			checkKeys(t, path, keys(doc), top)
			var sub struct {
				Period, Rates map[string]any
				Bases         map[string]string
				Total         map[string]any
				Rows          []map[string]any
			}
			_ = json.Unmarshal([]byte(body), &sub)
			checkKeys(t, path+" period", keys(sub.Period), []string{"from", "to"})
			checkKeys(t, path+" rates", keys(sub.Rates), []string{"base", "rounding"})
			checkKeys(t, path+" bases", keys(sub.Bases), columns)
			checkKeys(t, path+" total", keys(sub.Total), columns)
			for _, r := range sub.Rows {
				checkKeys(t, path+" row", keys(r), columns)
			}
		case strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv"):
			rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
			if err != nil || len(rows) < 1 {
				t.Fatalf("GET %s: %v", path, err)
			}
			checkKeys(t, path+" header", rows[0], columns)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func checkKeys(t *testing.T, what string, got, allowed []string) {
	t.Helper()
	for _, k := range got {
		if !slices.Contains(allowed, k) {
			t.Errorf("%s has %q, not in the allowlist", what, k)
		}
	}
}

// TestWithheld checks that the withheld agency and indicator are absent
// from every public answer, not hidden: the agency's code appears
// nowhere, its dossiers are in no figure (the public totals are the
// official ones less its own), and the apology columns are in no header.
func TestWithheld(t *testing.T) {
	s := simulated(t)
	var all, its api.Stats
	testutil.GetJSON(t, s.in.HTTPURL, "/api/v1/stats?by=agency", 200, &all)
	testutil.GetJSON(t, s.in.HTTPURL, "/api/v1/stats?agency="+withheldAgency+"&from="+all.Period.From+"&to="+all.Period.To, 200, &its)
	if its.Total.Received == 0 {
		t.Fatalf("the simulated stream has no dossier of %s: the test would prove nothing", withheldAgency)
	}
	var doc struct {
		Total map[string]float64 `json:"-"`
		Raw   map[string]any     `json:"total"`
		Rows  []map[string]any   `json:"rows"`
	}
	_, body := get(t, s.in.PublicURL+"/api/public/v1/scoreboard?by=agency")
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if got, want := doc.Raw["received"], float64(all.Total.Received-its.Total.Received); got != want {
		t.Errorf("public total received = %v, want %v (%d of the province less %d of %s)", got, want, all.Total.Received, its.Total.Received, withheldAgency)
	}
	if got, want := doc.Raw["late"], float64(all.Total.Late-its.Total.Late); got != want {
		t.Errorf("public total late = %v, want %v", got, want)
	}
	if len(doc.Rows) != len(all.Rows)-1 {
		t.Errorf("public rows by agency = %d, want %d (the official %d less one)", len(doc.Rows), len(all.Rows)-1, len(all.Rows))
	}
	// Asked for by name, the agency has no figure.
	_, body = get(t, s.in.PublicURL+"/api/public/v1/scoreboard.csv?agency="+withheldAgency)
	rows, _ := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if len(rows) != 2 || rows[1][slices.Index(rows[0], "received")] != "0" {
		t.Errorf("scoreboard.csv?agency=%s = %q, want a total of 0 received", withheldAgency, rows)
	}
	for _, path := range walk() {
		_, body := get(t, s.in.PublicURL+path)
		for _, bad := range []string{withheldAgency, "late_with_apology", "overdue_now_without_apology", "Quá hạn có thư xin lỗi", "Late, with an apology", "Overdue now, without an apology"} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s holds %q, which is withheld", path, bad)
			}
		}
	}
}
