package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/natsserver"
	"github.com/hoso-vn/hoso/simulate"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/workflow"
)

// simulated generates the stream `hoso simulate --seed seed --dossiers n
// --faults faults` publishes, with the rules hoso serve uses by default.
func simulated(t *testing.T, seed int64, n int, faults float64) ([]simulate.Item, *simulate.Truth) {
	t.Helper()
	cat, err := engine.DefaultRulesConfig().Load()
	if err != nil {
		t.Fatalf("load rules: %v", err)
	}
	cfg := simulate.DefaultConfig()
	cfg.Seed, cfg.Dossiers, cfg.Faults = seed, n, faults
	items, truth, err := simulate.Generate(cfg, cat)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return items, truth
}

// countAll counts the items of every page of a list of the API.
func countAll(t *testing.T, base, path string) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		p := path + "&limit=1000"
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		testutil.GetJSON(t, base, p, 200, &page)
		n += len(page.Items)
		if page.NextCursor == "" {
			return n
		}
		cursor = page.NextCursor
	}
}

// TestSimulate publishes a simulated stream to a running hoso and checks
// that hoso ends where the generator's truth says: rejections by reason,
// dossiers by status, mismatches, the statistics' resolutions early, on
// time and late by agency; then, in the stopped engine's store, the
// irregularities by kind and agency and the late resolutions with and
// without an apology.
func TestSimulate(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes and applies a few thousand events")
	}
	// The deadline scheduler reads the wall clock: off, so that the only
	// events are the simulated ones.
	dir := t.TempDir()
	in := startServe(t, dir, "--deadline-interval", "0")
	items, truth := simulated(t, 7, 300, simulate.DefaultConfig().Faults)

	var stdout, stderr testutil.SyncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := run(ctx, []string{"simulate", "--nats-url", in.NATSURL, "--dossiers", "300", "--seed", "7", "--start", "2025-07-01", "--truth"},
		noEnv, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, stderr.String())
	}
	var printed simulate.Truth
	if err := json.Unmarshal([]byte(stdout.String()), &printed); err != nil {
		t.Fatalf("simulate --truth printed %q: %v", stdout.String(), err)
	}
	if diff := cmp.Diff(truth, &printed, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("simulate --truth differs from Generate's truth (-generate +printed):\n%s", diff)
	}
	if !strings.Contains(stderr.String(), "published "+commas(len(items))+" events") {
		t.Errorf("simulate did not report %d events published:\n%s", len(items), stderr.String())
	}

	_, js := testutil.Connect(t, in.NATSURL)
	st, err := js.Stream(ctx, events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.State.Msgs; got != uint64(len(items)) {
		t.Fatalf("events stream holds %d messages, want the %d published", got, len(items))
	}
	testutil.WaitOutcomes(t, js, info.State.Msgs, 30*time.Second)

	for _, r := range workflow.Reasons() {
		got := countAll(t, in.HTTPURL, "/api/v1/rejections?reason="+string(r))
		if want := truth.Total.Rejected[r]; got != want {
			t.Errorf("rejections with reason %s: hoso has %d, truth %d", r, got, want)
		}
	}
	for s := workflow.StatusSubmitted; s <= workflow.MaxStatus; s++ {
		got := countAll(t, in.HTTPURL, testutil.Pathf("/api/v1/dossiers?status=%d", s))
		if want := truth.ByStatus[s]; got != want {
			t.Errorf("dossiers in status %s: hoso has %d, truth %d", s, got, want)
		}
	}
	if got := countAll(t, in.HTTPURL, "/api/v1/mismatches?"); got != truth.Mismatches {
		t.Errorf("mismatches: hoso has %d, truth %d", got, truth.Mismatches)
	}
	if n := truth.Total.Rejected[workflow.ReasonMalformed] + truth.Total.Rejected[workflow.ReasonDuplicate] +
		truth.Total.Rejected[workflow.ReasonInvalidTransition] + truth.Total.Rejected[workflow.ReasonMissingAttachment]; n == 0 || truth.Corrections == 0 {
		t.Errorf("seed 7 with 300 dossiers injects no faults (%d rejections, %d corrections): the test checks nothing", n, truth.Corrections)
	}
	tot := truth.Total
	for _, k := range workflow.IrregularityKinds {
		if tot.Irregularities[k] == 0 {
			t.Errorf("seed 7 with 300 dossiers has no %s: the test checks nothing of it", k)
		}
	}
	if tot.ResolvedLateApology == 0 || tot.ResolvedLate == tot.ResolvedLateApology || tot.ResolvedEarly == 0 || tot.ResolvedOnTime == 0 {
		t.Errorf("seed 7 with 300 dossiers resolves %d early, %d on time, %d late of which %d with an apology: the test checks nothing of some",
			tot.ResolvedEarly, tot.ResolvedOnTime, tot.ResolvedLate, tot.ResolvedLateApology)
	}

	// The statistics, of dossiers and of feedback, by agency.
	if diff := cmp.Diff(truthFigures(truth), statsFigures(t, in.HTTPURL)); diff != "" {
		t.Errorf("GET /api/v1/stats differs from the truth (-truth +hoso):\n%s", diff)
	}

	// What the API does not list yet, from the store of the stopped engine.
	in.Stop(t)
	db := testutil.OpenStore(t, filepath.Join(dir, engine.StoreFile))
	defer db.Close()
	if diff := cmp.Diff(truthIrregularities(truth), storeIrregularities(t, db)); diff != "" {
		t.Errorf("irregularities in the store differ from the truth, by agency (\"\" for all) and kind (-truth +store):\n%s", diff)
	}
	if diff := cmp.Diff(truthLate(truth), storeLate(t, db)); diff != "" {
		t.Errorf("late resolutions in the store differ from the truth, by agency (\"\" for all) (-truth +store):\n%s", diff)
	}
	if findings, err := db.VerifyStore(context.Background()); err != nil || len(findings) != 0 {
		t.Errorf("store verify: %v, findings %+v", err, findings)
	}
}

// figures are the statistics TestSimulate compares, of one agency or of
// all ("").
type figures struct {
	Received, Resolved, Returned, Early, OnTime, Late int64
}

// truthFigures returns the truth's figures by agency, "" for all.
func truthFigures(truth *simulate.Truth) map[string]figures {
	out := map[string]figures{}
	add := func(key string, c *simulate.Counts) {
		f := figures{int64(c.Received), int64(c.Resolved), int64(c.Returned), int64(c.ResolvedEarly), int64(c.ResolvedOnTime), int64(c.ResolvedLate)}
		if f != (figures{}) {
			out[key] = f
		}
	}
	add("", &truth.Total)
	for a, c := range truth.ByAgency {
		add(a, c)
	}
	return out
}

// statsFigures returns the figures of GET /api/v1/stats by agency, of
// dossiers and feedback together, "" for all.
func statsFigures(t *testing.T, base string) map[string]figures {
	t.Helper()
	out := map[string]figures{}
	add := func(key string, r workflow.Report) {
		f := out[key]
		f.Received += r.Received
		f.Resolved += r.Resolved
		f.Returned += r.Returned
		f.Early += r.Early
		f.OnTime += r.OnTime
		f.Late += r.Late
		out[key] = f
	}
	for _, kind := range []workflow.Kind{workflow.KindDossier, workflow.KindFeedback} {
		var st api.Stats
		testutil.GetJSON(t, base, "/api/v1/stats?by=agency&kind="+string(kind), 200, &st)
		add("", st.Total)
		for _, r := range st.Rows {
			add(r.Key, r.Report)
		}
	}
	for k, f := range out {
		if f == (figures{}) {
			delete(out, k)
		}
	}
	return out
}

// truthIrregularities returns the truth's irregularities by agency, ""
// for all, and kind.
func truthIrregularities(truth *simulate.Truth) map[string]map[workflow.IrregularityKind]int {
	out := map[string]map[workflow.IrregularityKind]int{"": truth.Total.Irregularities}
	for a, c := range truth.ByAgency {
		if len(c.Irregularities) > 0 {
			out[a] = c.Irregularities
		}
	}
	return out
}

// storeIrregularities lists every irregularity of the store, kind by
// kind, and counts them by agency, "" for all, and kind.
func storeIrregularities(t *testing.T, db *store.DB) map[string]map[workflow.IrregularityKind]int {
	t.Helper()
	out := map[string]map[workflow.IrregularityKind]int{}
	count := func(key string, k workflow.IrregularityKind) {
		if out[key] == nil {
			out[key] = map[workflow.IrregularityKind]int{}
		}
		out[key][k]++
	}
	for _, k := range workflow.IrregularityKinds {
		var before uint64
		for {
			list, next, err := db.Irregularities(context.Background(), workflow.IrregularityQuery{Kind: k, Before: before, Limit: store.MaxLimit})
			if err != nil {
				t.Fatalf("list irregularities %s: %v", k, err)
			}
			for _, ir := range list {
				if ir.Kind != k {
					t.Fatalf("listing %s gave %+v", k, ir)
				}
				count("", k)
				count(ir.Agency, k)
			}
			if next == 0 {
				break
			}
			before = next
		}
	}
	return out
}

// late counts late resolutions: all of them, and those an apology had
// given a new date.
type late struct{ All, Apology int }

// truthLate returns the truth's late resolutions by agency, "" for all.
func truthLate(truth *simulate.Truth) map[string]late {
	out := map[string]late{"": {truth.Total.ResolvedLate, truth.Total.ResolvedLateApology}}
	for a, c := range truth.ByAgency {
		if c.ResolvedLate > 0 {
			out[a] = late{c.ResolvedLate, c.ResolvedLateApology}
		}
	}
	return out
}

// storeLate counts the store's dossiers resolved after their original due
// date (the rule of hoso's statistics), by agency, "" for all, and those
// of them with an apology.
func storeLate(t *testing.T, db *store.DB) map[string]late {
	t.Helper()
	out := map[string]late{}
	after := ""
	for {
		list, next, err := db.Dossiers(context.Background(), workflow.DossierQuery{After: after, Limit: store.MaxLimit})
		if err != nil {
			t.Fatalf("list dossiers: %v", err)
		}
		for _, d := range list {
			if d.ResolvedAt.IsZero() || workflow.TimingOf(d.ResolvedAt, d.OriginalDue) != workflow.TimingLate {
				continue
			}
			for _, key := range []string{"", d.Agency} {
				l := out[key]
				l.All++
				if d.Apologies > 0 {
					l.Apology++
				}
				out[key] = l
			}
		}
		if next == "" {
			return out
		}
		after = next
	}
}

// TestSimulateDryRun checks --dry-run writes one line per item: the
// contract's CloudEvent, which decodes to the generated event, or the
// unreadable payload.
func TestSimulateDryRun(t *testing.T) {
	items, _ := simulated(t, 3, 400, 0.5)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"simulate", "--dry-run", "--dossiers", "400", "--seed", "3", "--faults", "0.5", "--start", "2025-07-01"},
		noEnv, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatalf("simulate --dry-run: %v\n%s", err, stderr.String())
	}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	i, unreadable := 0, 0
	for ; sc.Scan(); i++ {
		if i >= len(items) {
			t.Fatalf("more than %d lines", len(items))
		}
		it, line := items[i], sc.Bytes()
		env := events.Decode(it.Subject, line, uint64(i+1), it.Time)
		if it.Event == nil {
			unreadable++
			if !bytes.Equal(line, it.Raw) {
				t.Errorf("line %d = %q, want the raw payload %q", i+1, line, it.Raw)
			}
			if env.Rejection == nil || env.Rejection.Reason != workflow.ReasonMalformed {
				t.Errorf("line %d: unreadable payload decoded as %+v, want malformed", i+1, env)
			}
			continue
		}
		if env.Rejection != nil {
			t.Errorf("line %d: Decode rejects it: %s %s", i+1, env.Rejection.Reason, env.Rejection.Detail)
			continue
		}
		if diff := cmp.Diff(it.Event, env.Event); diff != "" {
			t.Errorf("line %d decodes to another event (-generated +decoded):\n%s", i+1, diff)
		}
	}
	if i != len(items) {
		t.Errorf("%d lines, want %d", i, len(items))
	}
	if unreadable == 0 {
		t.Errorf("no unreadable payload in %d items", len(items))
	}
}

// TestSimulateCodec checks every generated event survives the contract's
// codec: Encode accepts it, and Decode gives it back without rejection on
// the item's subject.
func TestSimulateCodec(t *testing.T) {
	items, _ := simulated(t, 1, 1500, 0.2)
	for i, it := range items {
		if it.Event == nil {
			continue
		}
		if want := events.Subject(it.Event.Source, it.Event.Dossier); it.Subject != want {
			t.Fatalf("item %d: subject %s, want %s", i, it.Subject, want)
		}
		data, err := events.Encode(it.Event)
		if err != nil {
			t.Fatalf("item %d: Encode = %v", i, err)
		}
		env := events.Decode(it.Subject, data, uint64(i+1), it.Time)
		if env.Rejection != nil {
			t.Fatalf("item %d: Decode(Encode(%s)) rejected: %s %s", i, it.Event.Action, env.Rejection.Reason, env.Rejection.Detail)
		}
		if diff := cmp.Diff(it.Event, env.Event); diff != "" {
			t.Fatalf("item %d: Decode(Encode(ev)) differs (-ev +decoded):\n%s", i, diff)
		}
	}
}

func TestSimulateErrors(t *testing.T) {
	bare, err := natsserver.StartServer(natsserver.ServerConfig{Dir: t.TempDir(), Port: -1}) // JetStream, no hoso stream
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bare.Shutdown)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--nats-url", "nats://127.0.0.1:1", "--dossiers", "10"}, "is `hoso serve` running?"},
		{[]string{"--nats-url", bare.ClientURL(), "--dossiers", "10"}, "no JetStream stream at " + bare.ClientURL() + " takes hoso's events (is `hoso serve` running there?)"},
		{[]string{"--dry-run", "--start", "1/7/2025"}, "--start"},
		{[]string{"--dry-run", "--faults", "2"}, "faults"},
		{[]string{"--dry-run", "--speed", "-1"}, "--speed"},
		{[]string{"--dry-run", "--work-hours", "8-17"}, "work hours"},
		{[]string{"--dry-run", "extra"}, "unexpected arguments"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"simulate"}, tc.args...), noEnv, strings.NewReader(""), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("simulate %q = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 30512: "30,512", 1234567: "1,234,567", -4100: "-4,100"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestSimulateSummary checks the lines simulate prints of what hoso must
// report: the resolutions against the original due date, the late ones
// with and without an apology, and the irregularities by kind.
func TestSimulateSummary(t *testing.T) {
	truth := &simulate.Truth{Dossiers: 2000, Accepted: 11000, Corrections: 20, Mismatches: 41, Total: simulate.Counts{
		Received: 1950, ReceivedOnline: 1100, Resolved: 1600, Returned: 1500, InProgress: 200, Paused: 60, Withdrawn: 50, Refused: 40, Stopped: 20,
		ResolvedEarly: 1200, ResolvedOnTime: 300, ResolvedLate: 100, ResolvedLateApology: 45,
		Rejected:       map[workflow.Reason]int{workflow.ReasonDuplicate: 12},
		Irregularities: map[workflow.IrregularityKind]int{workflow.IrregularLateEntry: 61, workflow.IrregularRepeatedSupplement: 9},
	}}
	want := "expect 2,000 dossiers: 1,950 received (1,100 submitted online), 1,600 resolved (1,500 returned), 200 in progress, 60 paused, 50 withdrawn, 40 refused, 20 stopped\n" +
		"  of 1,600 resolved, against the original due date: 1,200 early, 300 on time, 100 late, 45 of them with an apology (93.75% early or on time)\n" +
		"  11,000 events applied, 20 corrections, 41 mismatches; rejections: 12 duplicate\n" +
		"  irregularities: 61 late_entry, 0 late_apology, 9 repeated_supplement\n"
	if got := summary(truth); got != want {
		t.Errorf("summary =\n%s\nwant\n%s", got, want)
	}
}
