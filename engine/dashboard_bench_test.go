package engine_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/web"
	"github.com/hoso-vn/hoso/workflow"
)

// benchDossiers is the size of a province-year and then some: Tây Ninh
// received 270,497 dossiers in nine months of 2024.
const benchDossiers = 1_000_000

// BenchmarkDashboard1M fills a store with a million dossiers over a year
// (about 3.4 million events through store.Apply, NoSync, batches of
// 4,096) and measures the dashboard against it: each iteration GETs the
// overview, the overdue list, a dossier's control sheet, the API's list of
// dossiers in status 4 and the statistics, and the benchmark reports the
// p50 and p99 latency of each. The fill takes minutes ($HOSO_BENCH_DOSSIERS
// sets a smaller size to try it); run it alone:
//
//	go test ./engine -run '^$' -bench Dashboard1M -benchtime 200x -timeout 60m
func BenchmarkDashboard1M(b *testing.B) {
	if testing.Short() {
		b.Skip("fills a store with a million dossiers")
	}
	cat := testutil.Catalog(b)
	db, err := store.Open(filepath.Join(b.TempDir(), "hoso.db"), store.Options{Catalog: cat, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	n := benchDossiers
	if v, err := strconv.Atoi(os.Getenv("HOSO_BENCH_DOSSIERS")); err == nil && v > 0 {
		n = v // a smaller province, to try the benchmark quickly
	}
	start := time.Now()
	codes := fillProvince(b, db, n)
	tot, err := db.Totals(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("filled %d dossiers (%d overdue in progress, %d clocks running) in %s",
		tot.Dossiers, tot.Overdue, tot.ClockRunning, time.Since(start).Round(time.Second))

	now := benchBase.AddDate(1, 0, 0)
	srv := httptest.NewServer(web.New(web.Config{Store: db, Catalog: cat, Now: func() time.Time { return now }}))
	defer srv.Close()
	paths := []struct{ name, path string }{
		{"overview", "/"},
		{"overdue", "/overdue"},
		{"dossier", ""}, // a different dossier each time
		{"api_dossiers_status4", "/api/v1/dossiers?status=4"},
		{"api_stats", "/api/v1/stats"},
	}
	get := func(path string) (int, time.Duration) {
		t0 := time.Now()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, time.Since(t0)
	}
	served := map[string]bool{}
	for _, p := range paths {
		path := p.path
		if path == "" {
			path = "/dossiers/" + codes[0]
		}
		status, _ := get(path)
		served[p.name] = status == http.StatusOK
		if !served[p.name] {
			b.Logf("GET %s answers %d: not measured", path, status)
		}
	}
	lat := map[string][]time.Duration{}
	i := 0
	b.ResetTimer()
	for b.Loop() {
		for _, p := range paths {
			if !served[p.name] {
				continue
			}
			path := p.path
			if path == "" {
				path = "/dossiers/" + codes[(i*7919)%len(codes)]
			}
			status, d := get(path)
			if status != http.StatusOK {
				b.Fatalf("GET %s = %d", path, status)
			}
			lat[p.name] = append(lat[p.name], d)
		}
		i++
	}
	for _, p := range paths {
		l := lat[p.name]
		if len(l) == 0 {
			continue
		}
		slices.Sort(l)
		q := func(f float64) float64 { return float64(l[int(f*float64(len(l)-1))].Microseconds()) / 1000 }
		b.ReportMetric(q(0.50), p.name+"_p50_ms")
		b.ReportMetric(q(0.99), p.name+"_p99_ms")
	}
}

var benchBase = time.Date(2025, 1, 2, 8, 0, 0, 0, workflow.Zone)

// fillProvince applies a deterministic year of n dossiers across 40
// agencies and 200 procedures: 60% returned (some late), 20% in progress
// (a tenth of them overdue, the rest due later), 10% withdrawn, 10%
// waiting for a supplement. It returns the dossier codes.
func fillProvince(b *testing.B, db *store.DB, n int) []string {
	b.Helper()
	const batch = 4096
	var (
		envs  []workflow.Envelope
		seq   uint64
		codes = make([]string, 0, n)
		ctx   = context.Background()
	)
	flush := func() {
		if len(envs) == 0 {
			return
		}
		if _, err := db.Apply(ctx, envs); err != nil {
			b.Fatal(err)
		}
		envs = envs[:0]
	}
	year := 365 * 24 * time.Hour
	for i := range n {
		agency := fmt.Sprintf("H57.%02d", i%40)
		code := fmt.Sprintf("000.00.%02d.H57-%07d", i%40, i)
		codes = append(codes, code)
		at := benchBase.Add(time.Duration(int64(year) * int64(i) / int64(n)))
		due := at.AddDate(0, 0, 14)
		k := 0
		add := func(action string, after time.Duration, opts ...func(*workflow.Event)) {
			k++
			seq++
			ev := &workflow.Event{ID: fmt.Sprintf("%s/%d", code, k), SourceURI: "/motcua/tayninh", Source: "tayninh",
				Action: action, Dossier: code, Time: at.Add(after), Procedure: fmt.Sprintf("1.%06d", i%200),
				Agency: agency, Actor: fmt.Sprintf("cb-%04d", i%997), Department: fmt.Sprintf("phong-%d", i%7)}
			for _, o := range opts {
				o(ev)
			}
			envs = append(envs, workflow.Envelope{Seq: seq, Subject: "hoso.events.tayninh." + workflow.DossierToken(code),
				Published: ev.Time, Event: ev})
		}
		attach := func(kind string) func(*workflow.Event) {
			return func(e *workflow.Event) { e.Attachments = []workflow.Attachment{{Kind: kind, Name: kind + ".pdf"}} }
		}
		switch i % 10 {
		case 0, 1, 2, 3, 4, 5:
			add("receive", 0, attach(workflow.AttachmentInputDigitized), func(e *workflow.Event) { e.Due = due })
			add("assign", time.Hour)
			end := 10 * 24 * time.Hour
			if i%17 == 0 {
				end = 20 * 24 * time.Hour // late
			}
			add("resolve", end, attach(workflow.AttachmentResultElectronic))
			add("return", end+24*time.Hour)
		case 6, 7:
			if i%20 == 6 {
				due = at.AddDate(0, 0, -1) // will be expired below
			} else {
				due = benchBase.AddDate(1, 1, i%30) // after the benchmark's now
			}
			add("receive", 0, attach(workflow.AttachmentInputDigitized), func(e *workflow.Event) { e.Due = due })
			add("assign", time.Hour)
			if i%20 == 6 {
				add(workflow.DeadlineExpired, 2*time.Hour, func(e *workflow.Event) {
					e.Source, e.SourceURI, e.Actor, e.Due, e.Department = workflow.SystemSource, "/hoso/scheduler", workflow.SystemSource, due, ""
				})
			}
		case 8:
			add("submit", 0)
			add("withdraw", time.Hour)
		case 9:
			add("receive", 0, attach(workflow.AttachmentInputDigitized), func(e *workflow.Event) { e.Due = due })
			add("assign", time.Hour)
			add("request_supplement", 2*time.Hour, attach(workflow.AttachmentSupplementRequest))
		}
		if len(envs) >= batch {
			flush()
		}
	}
	flush()
	return codes
}
