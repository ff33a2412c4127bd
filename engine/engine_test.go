package engine_test

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// TestEngineEndToEnd publishes a generated stream of about 10,000 events
// over 1,000 dossiers, faults of every kind included, to a real `hoso
// serve` (embedded JetStream, bbolt file) and checks every final state,
// history length and rejection count against what the generator knows.
func TestEngineEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes 10,000 events")
	}
	sc := testutil.NewScenario(1000, 8)
	if sc.Stored() < 10000 {
		t.Fatalf("scenario has %d stored messages, want at least 10,000", sc.Stored())
	}
	dir := t.TempDir()
	in := testutil.Start(t, testutil.Config(dir))
	_, js := testutil.Connect(t, in.NATSURL)
	testutil.Publish(t, js, sc.Messages)
	testutil.WaitOutcomes(t, js, uint64(sc.Stored()), 2*time.Minute)

	outcomes := testutil.ReadOutcomes(t, js, sc.Stored())
	kinds := map[workflow.OutcomeKind]int{}
	for _, o := range outcomes {
		kinds[o.Kind]++
	}
	if kinds[workflow.OutcomeAccepted]+kinds[workflow.OutcomeCorrection] != sc.Accepted ||
		kinds[workflow.OutcomeCorrection] != sc.Corrections || kinds[workflow.OutcomeRejected] != sc.TotalRejections() {
		t.Errorf("outcome kinds %v, want %d accepted (%d of them corrections) and %d rejected",
			kinds, sc.Accepted, sc.Corrections, sc.TotalRejections())
	}

	// The API answers what the generator expects.
	for reason, want := range sc.Rejections {
		if got := countPages(t, in.HTTPURL, "/api/v1/rejections?limit=1000&reason="+string(reason)); got != want {
			t.Errorf("GET /rejections?reason=%s lists %d, want %d", reason, got, want)
		}
	}
	n := 0
	for code, state := range sc.Final {
		if n++; n > 100 {
			break
		}
		var d struct {
			State   string `json:"state"`
			History []any  `json:"history"`
		}
		testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/"+code, 200, &d)
		if d.State != state || len(d.History) != sc.History[code] {
			t.Errorf("GET /dossiers/%s: state %s with %d entries, want %s with %d", code, d.State, len(d.History), state, sc.History[code])
		}
		var rep workflow.ChainReport
		testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/"+code+"/verify", 200, &rep)
		if !rep.OK {
			t.Errorf("verify %s: %+v", code, rep)
		}
	}
	in.Stop(t)

	// The store file itself, every dossier.
	testutil.CheckStore(t, filepath.Join(dir, "hoso.db"), sc)
}

// countPages follows a list's cursors and counts its items.
func countPages(t *testing.T, base, path string) int {
	t.Helper()
	total := 0
	cursor := ""
	for range 10000 {
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		p := path
		if cursor != "" {
			p += "&cursor=" + cursor
		}
		testutil.GetJSON(t, base, p, 200, &page)
		total += len(page.Items)
		if page.NextCursor == "" {
			return total
		}
		cursor = page.NextCursor
	}
	t.Fatalf("%s: cursor never ends", path)
	return 0
}
