package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/simulate"
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
// dossiers by status, mismatches.
func TestSimulate(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes and applies a few thousand events")
	}
	// The deadline scheduler reads the wall clock: off, so that the only
	// events are the simulated ones.
	in := startServe(t, t.TempDir(), "--deadline-interval", "0")
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
	bare, err := events.StartServer(events.ServerConfig{Dir: t.TempDir(), Port: -1}) // JetStream, no hoso stream
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
