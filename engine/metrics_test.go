package engine_test

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/hoso-vn/hoso/internal/testutil"
)

// documentedMetrics returns the metric names of the table in docs/api.md's
// Metrics section.
func documentedMetrics(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(hoso_[a-z_]+)").FindAllStringSubmatch(string(doc), -1) {
		names = append(names, m[1])
	}
	if len(names) < 10 {
		t.Fatalf("docs/api.md documents %d metrics: %v", len(names), names)
	}
	return names
}

// TestMetrics: after a few events, /metrics exposes every metric
// docs/api.md documents, with values that match what happened: the
// consumer has no lag and the outbox no backlog once drained, the overdue
// gauge counts what the API lists as overdue.
func TestMetrics(t *testing.T) {
	f := testutil.NewListFixture(t)
	base := f.In.HTTPURL
	var m map[string]float64
	deadline := time.Now().Add(20 * time.Second)
	for {
		m = testutil.Scrape(t, base)
		if m["hoso_applied_sequence"] == 16 && m["hoso_outbox_backlog"] == 0 && m["hoso_relay_backlog"] == 0 && m["hoso_consumer_lag"] == 0 {
			if _, ok := m["hoso_consumer_lag"]; ok {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics did not settle within 20s: applied %v, outbox %v, relay %v, lag %v",
				m["hoso_applied_sequence"], m["hoso_outbox_backlog"], m["hoso_relay_backlog"], m["hoso_consumer_lag"])
		}
		time.Sleep(20 * time.Millisecond)
	}

	for _, name := range documentedMetrics(t) {
		found := false
		for sample := range m {
			if sample == name || strings.HasPrefix(sample, name+"{") || strings.HasPrefix(sample, name+"_bucket{") ||
				sample == name+"_count" || sample == name+"_sum" {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("/metrics lacks %s, which docs/api.md documents", name)
		}
	}

	var overdue struct {
		Items []struct {
			Code string `json:"code"`
		} `json:"items"`
	}
	testutil.GetJSON(t, base, "/api/v1/dossiers?overdue=true", 200, &overdue)
	if len(overdue.Items) != 1 {
		t.Fatalf("overdue dossiers: %+v", overdue)
	}
	for sample, want := range map[string]float64{
		`hoso_dossiers_overdue`:                                             float64(len(overdue.Items)),
		`hoso_dossiers{status="1"}`:                                         1,
		`hoso_dossiers{status="2"}`:                                         2,
		`hoso_dossiers{status="4"}`:                                         3,
		`hoso_dossiers{status="10"}`:                                        1,
		`hoso_events_total{outcome="accepted",reason=""}`:                   13,
		`hoso_events_total{outcome="deadline",reason=""}`:                   1,
		`hoso_events_total{outcome="rejected",reason="invalid_transition"}`: 1,
		`hoso_events_total{outcome="rejected",reason="missing_attachment"}`: 1,
		`hoso_consumer_lag_errors_total`:                                    0,
		`hoso_apply_errors_total`:                                           0,
		`hoso_outbox_backlog`:                                               0,
		`hoso_consumer_lag`:                                                 0,
		// The fixture's events happened in October 2025 and reach the
		// stream now: each of the 13 accepted is a late entry.
		`hoso_irregularities_total{kind="late_entry"}`:          13,
		`hoso_irregularities_total{kind="late_apology"}`:        0,
		`hoso_irregularities_total{kind="repeated_supplement"}`: 0,
	} {
		if got, ok := m[sample]; !ok || got != want {
			t.Errorf("%s = %v (exposed: %v), want %v", sample, got, ok, want)
		}
	}
	// Every batch committed once: as many commits as applied batches, and
	// a commit takes part of its batch's apply time.
	batches, commits := m["hoso_batch_apply_seconds_count"], m["hoso_batch_commit_seconds_count"]
	if batches < 1 || commits != batches || m["hoso_batch_commit_seconds_sum"] > m["hoso_batch_apply_seconds_sum"] {
		t.Errorf("%v batches applied in %vs, %v commits in %vs", batches, m["hoso_batch_apply_seconds_sum"], commits, m["hoso_batch_commit_seconds_sum"])
	}
	if m["hoso_batch_size_sum"] != 16 {
		t.Errorf("hoso_batch_size_sum = %v, want the 16 messages", m["hoso_batch_size_sum"])
	}

	// hoso's metrics pass promtool's checks (the same lint).
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	problems, err := promlint.New(resp.Body).Lint()
	if err != nil {
		t.Fatalf("lint /metrics: %v", err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "hoso_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
}
