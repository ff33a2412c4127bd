package engine_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// TestPeriodEndSnapshot runs an engine whose scheduler's clock is moved
// by hand through the end of November 2026, and reads the dossiers in
// progress at the end of November after they have changed:
//
//	A  H57, received 2/11, due 30/11 17:00: in progress, on time at the close
//	B  H58, received 3/11, due 10/11 17:00: expired on 20/11, overdue
//	   without an apology
//	C  H57, received 4/11, due 12/11, apology on 10/11 for 17/11 17:00:
//	   expired on 20/11, overdue with an apology
//	D  H57, received 5/11, resolved 6/11: awaiting return
//
// At the close (1/12 00:00:05): 3 in progress (A, B, C), 1 on time, 2
// overdue (1 with an apology, 1 without), 1 awaiting return; H57 has A
// and C (1 on time, 1 overdue with an apology), H58 has B. Then A
// expires, B is resolved and E received: the gauges move, the end of
// November does not.
func TestPeriodEndSnapshot(t *testing.T) {
	clock := &fakeClock{now: ict(2026, 11, 20, 9, 0)}
	cfg := testutil.Config(t.TempDir())
	cfg.Deadlines = 100 * time.Millisecond
	cfg.Now = clock.Now
	in := testutil.Start(t, cfg)
	nc, js := testutil.Connect(t, in.NATSURL)

	const (
		a, b, c, d, e = "000.00.12.H57-261102-0001", "000.00.12.H58-261103-0002", "000.00.12.H57-261104-0003",
			"000.00.12.H57-261105-0004", "000.00.12.H57-261201-0005"
		h57, h58 = "000.00.12.H57", "000.00.12.H58"
	)
	emit := func(action, code, agency string, at time.Time, opts ...func(*workflow.Event)) {
		t.Helper()
		ev := &workflow.Event{ID: code + "/" + action, SourceURI: "/motcua/tayninh", Source: "tayninh", Action: action,
			Dossier: code, Time: at, Procedure: "1.004227", Agency: agency, Actor: "cb-01", Department: "p"}
		for _, o := range opts {
			o(ev)
		}
		o, err := testutil.Emit(nc, ev, 10*time.Second)
		if err != nil {
			t.Fatalf("%s %s: %v", code, action, err)
		}
		if o.Kind != workflow.OutcomeAccepted {
			t.Fatalf("%s %s = %s (%s) %s", code, action, o.Kind, o.Reason, o.MessageEN)
		}
	}
	digitized := func(ev *workflow.Event) {
		ev.Attachments = append(ev.Attachments, workflow.Attachment{Kind: workflow.AttachmentInputDigitized})
	}
	dueAt := func(due time.Time) func(*workflow.Event) { return func(ev *workflow.Event) { ev.Due = due } }
	emit("receive", a, h57, ict(2026, 11, 2, 8, 0), digitized, dueAt(ict(2026, 11, 30, 17, 0)))
	emit("receive", b, h58, ict(2026, 11, 3, 8, 0), digitized, dueAt(ict(2026, 11, 10, 17, 0)))
	emit("receive", c, h57, ict(2026, 11, 4, 8, 0), digitized, dueAt(ict(2026, 11, 12, 17, 0)))
	emit("apologize", c, h57, ict(2026, 11, 10, 9, 0), func(ev *workflow.Event) {
		ev.NewDue, ev.Reason = ict(2026, 11, 17, 17, 0), "cần xác minh thêm"
		ev.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentApologyLetter}}
	})
	emit("receive", d, h57, ict(2026, 11, 5, 8, 0), digitized, dueAt(ict(2026, 11, 12, 17, 0)))
	emit("assign", d, h57, ict(2026, 11, 5, 9, 0))
	emit("resolve", d, h57, ict(2026, 11, 6, 10, 0), func(ev *workflow.Event) {
		ev.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentResultElectronic}}
	})

	get := func(path string) api.Stats {
		t.Helper()
		var st api.Stats
		testutil.GetJSON(t, in.HTTPURL, path, http.StatusOK, &st)
		return st
	}
	waitFor(t, "the expiries of B and C", time.Minute, func() bool { return get("/api/v1/stats").Total.InProgressOverdue == 2 })
	if st := get("/api/v1/stats?from=2026-11&to=2026-11"); st.Total.AtPeriodEnd != nil ||
		st.Total.AtPeriodEndMissing != "the period has not ended: 2026-11 is not over" {
		t.Fatalf("November before its end: %+v, %q; want none, not ended", st.Total.AtPeriodEnd, st.Total.AtPeriodEndMissing)
	}

	// The month ends: the scheduler closes November, then expires A.
	closedAt := time.Date(2026, 12, 1, 0, 0, 5, 0, workflow.Zone)
	clock.Set(closedAt)
	waitFor(t, "the close of November", time.Minute, func() bool {
		return get("/api/v1/stats?from=2026-11&to=2026-11").Total.AtPeriodEnd != nil
	})
	waitFor(t, "the expiry of A", time.Minute, func() bool { return get("/api/v1/stats").Total.InProgressOverdue == 3 })
	// After the close, B is resolved and E received.
	emit("assign", b, h58, ict(2026, 12, 1, 8, 0))
	emit("resolve", b, h58, ict(2026, 12, 1, 9, 0), func(ev *workflow.Event) {
		ev.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentResultElectronic}}
	})
	emit("receive", e, h57, ict(2026, 12, 1, 10, 0), digitized, dueAt(ict(2026, 12, 20, 17, 0)))
	if now := get("/api/v1/stats").Total; now.InProgress != 3 || now.InProgressOverdue != 2 || now.AwaitingReturn != 2 {
		t.Fatalf("gauges now: %d in progress, %d overdue, %d awaiting return; want A, C, E; A, C; B, D",
			now.InProgress, now.InProgressOverdue, now.AwaitingReturn)
	}

	st := get("/api/v1/stats?from=2026-11&to=2026-11&by=agency")
	// The snapshot names the stream sequence of the close: after the 7
	// events and the 2 expiries, the 10th message or later (the
	// scheduler's other deadline events of those moments may come first).
	str, err := js.Stream(t.Context(), events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	closeMsg, err := str.GetLastMsgForSubject(t.Context(), events.Subject(workflow.SystemSource, workflow.PeriodSubject("2026-11")))
	if err != nil {
		t.Fatalf("the close of November in the stream: %v", err)
	}
	if closeMsg.Sequence < 10 {
		t.Fatalf("the close of November is message %d, want after the 7 events and 2 expiries", closeMsg.Sequence)
	}
	end := func(inProgress, onTime, overdue, with, without, awaiting int64) *workflow.PeriodEnd {
		return &workflow.PeriodEnd{Month: "2026-11", TakenAt: closedAt, Seq: closeMsg.Sequence, InProgress: inProgress, OnTime: onTime,
			Overdue: overdue, OverdueWithApology: with, OverdueWithoutApology: without, AwaitingReturn: awaiting}
	}
	timeEq := cmp.Comparer(func(x, y time.Time) bool { return x.Equal(y) })
	if diff := cmp.Diff(end(3, 1, 2, 1, 1, 1), st.Total.AtPeriodEnd, timeEq); diff != "" || st.Total.AtPeriodEndMissing != "" {
		t.Errorf("end of November (-want +got):\n%s%s", diff, st.Total.AtPeriodEndMissing)
	}
	rows := map[string]*workflow.PeriodEnd{}
	for _, r := range st.Rows {
		rows[r.Key] = r.Report.AtPeriodEnd
	}
	want := map[string]*workflow.PeriodEnd{h57: end(2, 1, 1, 1, 0, 1), h58: end(1, 0, 1, 0, 1, 0)}
	if diff := cmp.Diff(want, rows, timeEq); diff != "" {
		t.Errorf("end of November by agency (-want +got):\n%s", diff)
	}

	// The CSV of agencies and the dashboard, in a browser, say the same.
	resp, err := http.Get(in.HTTPURL + "/?from=2026-11&to=2026-11&format=csv&list=agencies")
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || len(records) != 3 {
		t.Fatalf("CSV of agencies: %v, %d records", err, len(records))
	}
	col := map[string]int{}
	for i, h := range records[0] {
		col[strings.TrimPrefix(h, "\ufeff")] = i
	}
	for _, r := range records[1:] {
		got := []string{r[col["Tồn cuối kỳ"]], r[col["Tồn cuối kỳ, quá hạn"]], r[col["Tồn cuối kỳ, quá hạn, đã có thư xin lỗi"]],
			r[col["Tồn cuối kỳ, quá hạn, chưa có thư xin lỗi"]]}
		want := map[string][]string{h57: {"2", "1", "1", "0"}, h58: {"1", "1", "0", "1"}}[r[0]]
		if !slices.Equal(got, want) {
			t.Errorf("CSV row %s: in progress at the end %v, want %v", r[0], got, want)
		}
	}
	ctx := browser(t)
	navigate(t, ctx, in.HTTPURL+"/?from=2026-11&to=2026-11")
	for sel, want := range map[string]string{
		"#card-atend .n": "3",
		"#card-atend .s": "trong hạn 1 · quá hạn 2 (đã có thư xin lỗi 1 · chưa có thư xin lỗi 1) · chốt lúc 00:00 01/12/2026",
	} {
		got, err := chromedpText(ctx, sel)
		if got = strings.Join(strings.Fields(got), " "); err != nil || got != want {
			t.Errorf("overview %s = %q (%v), want %q", sel, got, err, want)
		}
	}
	navigate(t, ctx, in.HTTPURL+"/?from=2026-12&to=2026-12")
	if got, err := chromedpText(ctx, "#card-atend .n"); err != nil || got != "—" {
		t.Errorf("overview of December: in progress at its end %q (%v), want —", got, err)
	}

	// A rebuild from the stream makes the same snapshot.
	var state struct {
		AppliedSeq uint64 `json:"applied_seq"`
		StateHash  string `json:"state_hash"`
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/admin/state", http.StatusOK, &state)
	in.Stop(t)
	res, err := engine.Rebuild(context.Background(), engine.RebuildConfig{DataDir: cfg.DataDir, Out: filepath.Join(t.TempDir(), "r.db"), Rules: cfg.Rules})
	if err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	if res.AppliedSeq != state.AppliedSeq || res.StateHash.String() != state.StateHash {
		t.Errorf("rebuild: sequence %d, state hash %s; the live engine had %d, %s", res.AppliedSeq, res.StateHash, state.AppliedSeq, state.StateHash)
	}
}
