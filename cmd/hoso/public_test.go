package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/internal/testutil"
)

// TestPublicMatchesStats publishes a simulated quarter to serve with a
// public address and checks that the public scoreboard by agency gives
// the figures `hoso stats --by agency -o json` prints for the same period.
func TestPublicMatchesStats(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes and applies a few thousand events")
	}
	in := startServe(t, t.TempDir(), "--public-addr", "127.0.0.1:0")
	testutil.PublishSimulated(t, in, 11, 300)
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := run(ctx, []string{"stats", "--server", in.HTTPURL, "--from", "2025-07", "--to", "2025-09", "--by", "agency", "--kind", "dossier", "-o", "json"},
		noEnv, strings.NewReader(""), &out, &errb)
	if err != nil {
		t.Fatalf("hoso stats: %v\n%s", err, errb.String())
	}
	var printed map[string]api.Stats
	if err := json.Unmarshal(out.Bytes(), &printed); err != nil {
		t.Fatalf("hoso stats -o json printed %q: %v", out.String(), err)
	}
	stats := printed["dossier"]
	resp, err := (&http.Client{Transport: &http.Transport{}}).Get(in.PublicURL + "/api/public/v1/scoreboard?from=2025-07&to=2025-09&by=agency")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var board struct {
		Total map[string]any   `json:"total"`
		Rows  []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(body, &board); err != nil {
		t.Fatalf("public scoreboard: %v: %.300s", err, body)
	}
	if len(board.Rows) != len(stats.Rows) || len(stats.Rows) < 2 {
		t.Fatalf("public rows %d, hoso stats rows %d; want the same, several", len(board.Rows), len(stats.Rows))
	}
	same := func(what string, got any, want float64) {
		t.Helper()
		if got != want {
			t.Errorf("%s: public %v, hoso stats %v", what, got, want)
		}
	}
	check := func(key string, got map[string]any, r api.StatsRow) {
		rep := r.Report
		same(key+" received", got["received"], float64(rep.Received))
		same(key+" resolved", got["resolved"], float64(rep.Resolved))
		same(key+" early", got["early"], float64(rep.Early))
		same(key+" on_time", got["on_time"], float64(rep.OnTime))
		same(key+" late", got["late"], float64(rep.Late))
		same(key+" late_with_apology", got["late_with_apology"], float64(rep.LateWithApology))
		same(key+" overdue_now", got["overdue_now"], float64(rep.InProgressOverdue))
		same(key+" received_online", got["received_online"], float64(rep.ReceivedOnline))
		same(key+" digitized_inputs", got["digitized_inputs"], float64(rep.DigitizedInputs))
		same(key+" electronic_results", got["electronic_results"], float64(rep.ElectronicResults))
		same(key+" headline_rate", got["headline_rate"], rep.HeadlineRate)
		same(key+" late_rate", got["late_rate"], rep.LateRate)
		same(key+" online_rate", got["online_rate"], rep.OnlineRate)
	}
	check("total", board.Total, api.StatsRow{Report: stats.Total})
	for i, r := range stats.Rows {
		if board.Rows[i]["key"] != r.Key {
			t.Fatalf("row %d: public %v, hoso stats %s", i, board.Rows[i]["key"], r.Key)
		}
		check(r.Key, board.Rows[i], r)
	}
}
