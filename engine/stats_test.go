package engine_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// statsDay is a time of 2025 in Vietnam.
func statsDay(month, day, hour int) time.Time {
	return time.Date(2025, time.Month(month), day, hour, 0, 0, 0, workflow.Zone)
}

// statsStep is an event of a dossier of the stream of
// TestStatisticsEndToEnd: its action, time and what it sets beyond what
// its guards ask for.
type statsStep struct {
	action string
	at     time.Time
	set    func(*workflow.Event)
}

func step(action string, month, day int, set ...func(*workflow.Event)) statsStep {
	s := statsStep{action: action, at: statsDay(month, day, 9)}
	if len(set) > 0 {
		s.set = set[0]
	}
	return s
}

// dueOn sets data.due to a date: due at the end of its working day.
func dueOn(month, day int) func(*workflow.Event) {
	return func(e *workflow.Event) { e.Due, e.DueDay = statsDay(month, day, 0), true }
}

// enteredOn sets data.entered: the one-stop-shop typed the event in then.
func enteredOn(month, day int) func(*workflow.Event) {
	return func(e *workflow.Event) { e.Entered = statsDay(month, day, 9) }
}

// statsDossier is a dossier of the stream and its steps.
type statsDossier struct {
	code, agency, procedure string
	steps                   []statsStep
}

// statsStream is the stream of TestStatisticsEndToEnd, counted by hand
// there: twelve dossiers of two agencies received from July to September
// 2025, and five pieces of citizens' feedback. Every event is entered as
// it happens (data.entered), but three.
func statsStream() []statsDossier {
	code := func(day string, n int) string { return fmt.Sprintf("000.00.12.H57-25%s-%04d", day, n) }
	late := func(hour int) func(*workflow.Event) { // a receipt at 14:00, say
		return func(e *workflow.Event) { e.Time = e.Time.Add(time.Duration(hour-9) * time.Hour); e.Entered = e.Time }
	}
	return []statsDossier{
		// H57, received in July.
		{code("0701", 1), "H57", "1.004227", []statsStep{ // early, returned early
			step("receive", 7, 1, dueOn(7, 15)), step("assign", 7, 2), step("resolve", 7, 10), step("return", 7, 11)}},
		{code("0702", 2), "H57", "1.004227", []statsStep{ // on its due date, returned late; assigned 7/3, entered 7/9
			step("receive", 7, 2, dueOn(7, 16)), step("assign", 7, 3, enteredOn(7, 9)), step("resolve", 7, 16, late(14)), step("return", 8, 4)}},
		{code("0703", 3), "H57", "1.004227", []statsStep{ // late after an apology (due 17/7, moved to 31/7), returned late
			step("receive", 7, 3, dueOn(7, 17)), step("assign", 7, 4),
			step("apologize", 7, 15, func(e *workflow.Event) { e.NewDue, e.NewDueDay = statsDay(7, 31, 0), true }),
			step("resolve", 7, 25), step("return", 7, 28)}},
		{code("0707", 4), "H57", "1.004227", []statsStep{ // late in August without an apology, not returned
			step("receive", 7, 7, dueOn(7, 21)), step("assign", 7, 8), step("resolve", 8, 6)}},
		{code("0708", 5), "H57", "1.004227", []statsStep{ // stopped in August
			step("receive", 7, 8, dueOn(7, 22)), step("assign", 7, 9), step("stop", 8, 12)}},
		{code("0709", 6), "H57", "1.004227", []statsStep{ // waiting for a supplement since July
			step("receive", 7, 9, dueOn(7, 23)), step("assign", 7, 10), step("request_supplement", 7, 14)}},
		// X01, received in August and September.
		{code("0804", 7), "X01", "1.004227", []statsStep{ // early, not returned; assigned 5/8, entered 12/8
			step("receive", 8, 4, dueOn(8, 18)), step("assign", 8, 5, enteredOn(8, 12)), step("resolve", 8, 15)}},
		{code("0805", 8), "X01", "1.004227", []statsStep{ // in progress, overdue since 19/8
			step("receive", 8, 5, dueOn(8, 19)), step("assign", 8, 6)}},
		{code("0806", 9), "X01", "1.004227", []statsStep{ // withdrawn
			step("receive", 8, 6, dueOn(8, 20)), step("withdraw", 8, 7)}},
		{code("0825", 10), "X01", "1.004227", []statsStep{ // in progress, overdue after an apology (8/9 moved to 19/9)
			step("receive", 8, 25, dueOn(9, 8)), step("assign", 8, 26),
			step("apologize", 9, 5, func(e *workflow.Event) { e.NewDue, e.NewDueDay = statsDay(9, 19, 0), true })}},
		{code("0903", 11), "X01", "1.004227", []statsStep{ // early, returned early; resolved 10/9, entered 15/9
			step("receive", 9, 3, dueOn(9, 17)), step("assign", 9, 4), step("resolve", 9, 10, enteredOn(9, 15)), step("return", 9, 11)}},
		{code("0915", 12), "X01", "1.004227", []statsStep{ // submitted online, received, overdue since 30/9
			step("submit", 9, 15), step("receive", 9, 16, dueOn(9, 30))}},
		// Feedback to H57: three received in July, answered in July and
		// August; two in August, one answered.
		{code("0721", 21), "H57", "PAKN", []statsStep{step("receive", 7, 21), step("assign", 7, 21), step("answer", 7, 28)}},
		{code("0722", 22), "H57", "PAKN", []statsStep{step("receive", 7, 22), step("assign", 7, 22), step("answer", 8, 1)}},
		{code("0723", 23), "H57", "PAKN", []statsStep{step("receive", 7, 23), step("assign", 7, 23), step("answer", 8, 4)}},
		{code("0820", 24), "H57", "PAKN", []statsStep{step("receive", 8, 20), step("assign", 8, 20), step("answer", 8, 27)}},
		{code("0821", 25), "H57", "PAKN", []statsStep{step("receive", 8, 21), step("assign", 8, 21)}},
	}
}

// emitStatsStream emits the stream in time order, each event with what its
// guards ask for, and fails the test on an event not accepted.
func emitStatsStream(t *testing.T, nc *nats.Conn) {
	t.Helper()
	var events []*workflow.Event
	for _, d := range statsStream() {
		for i, s := range d.steps {
			e := &workflow.Event{ID: fmt.Sprintf("%s/%d", d.code, i), SourceURI: "/motcua/tayninh", Source: "tayninh",
				Dossier: d.code, Action: s.action, Procedure: d.procedure, Agency: d.agency, Actor: "cb-01", Time: s.at, Entered: s.at}
			switch s.action {
			case "receive":
				if i == 0 && d.procedure != "PAKN" { // at the counter
					e.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized}}
				}
			case "assign":
				e.Department = "tu-phap"
			case "resolve":
				e.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentResultElectronic}}
			case "stop":
				e.Attachments, e.Reason = []workflow.Attachment{{Kind: workflow.AttachmentStopNotice}}, "theo đề nghị của cơ quan thuế"
			case "request_supplement":
				e.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentSupplementRequest}}
			case "apologize":
				e.Attachments, e.Reason = []workflow.Attachment{{Kind: workflow.AttachmentApologyLetter}}, "chờ ý kiến của sở"
			case "answer":
				e.Attachments = []workflow.Attachment{{Kind: "answer_document"}}
			}
			if s.set != nil {
				s.set(e)
			}
			events = append(events, e)
		}
	}
	slices.SortStableFunc(events, func(a, b *workflow.Event) int { return a.Time.Compare(b.Time) })
	for _, e := range events {
		o, err := testutil.Emit(nc, e, 10*time.Second)
		if err != nil {
			t.Fatalf("emit %s %s: %v", e.Dossier, e.Action, err)
		}
		if o.Kind != workflow.OutcomeAccepted {
			t.Fatalf("emit %s %s = %s (%s) %s", e.Dossier, e.Action, o.Kind, o.Reason, o.MessageEN)
		}
	}
}

// TestStatisticsEndToEnd publishes a stream of 2025 whose statistics were
// counted by hand to a running engine with its deadline scheduler, and
// reads them as a province files them: through the API, the dashboard in
// a browser and its CSV export, under the default rate setting and
// another.
func TestStatisticsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg := testutil.Config(dir)
	cfg.Deadlines = 200 * time.Millisecond // expires the dossiers of 2025 still in progress
	in := testutil.Start(t, cfg)
	nc, _ := testutil.Connect(t, in.NATSURL)
	emitStatsStream(t, nc)

	get := func(path string) api.Stats {
		t.Helper()
		var st api.Stats
		testutil.GetJSON(t, in.HTTPURL, path, http.StatusOK, &st)
		return st
	}
	// Overdue in progress, once the scheduler expired them: 0805-8
	// (due 19/8), 0825-10 (due 19/9 after its apology), 0915-12 (due
	// 30/9); among feedback 0821-25, ten working days after 21/8.
	waitFor(t, "the expiries of the dossiers in progress", time.Minute, func() bool {
		return get("/api/v1/stats").Total.InProgressOverdue == 3 && get("/api/v1/stats?kind=feedback").Total.InProgressOverdue == 1
	})

	t.Run("period", func(t *testing.T) {
		st := get("/api/v1/stats?from=2025-07&to=2025-09")
		r := st.Total
		// Received 12; resolved 6 (0701-1, 0804-7, 0903-11 early; 0702-2
		// on its due date; 0703-3, 0707-4 late, the first after an
		// apology); returned 4 (0702-2 and 0703-3 late).
		want := workflow.Report{
			Kind: workflow.KindDossier, LateRule: workflow.LateByProcessing, Counting: workflow.CountingPeriod,
			Rates:    workflow.Rates{Base: workflow.BaseReceived, Rounding: workflow.RoundTruncate},
			Received: 12, Resolved: 6, Early: 3, OnTime: 1, Late: 2, LateWithApology: 1, LateWithoutApology: 1, Returned: 4,
			Withdrawn: 1, Stopped: 1, Apologies: 2, DigitizedInputs: 11, ElectronicResults: 6, ReceivedOnline: 1,
			// No channel given: the one submitted online in part, the 11
			// others at the desk.
			ReceivedDesk: 11, ReceivedOnlinePartial: 1,
			// Transitions: 4 + 4 + 5 + 3 + 3 + 3 of H57, 3 + 2 + 2 + 3 + 4 + 2 of
			// X01; three entered late.
			Transitions: 38, LateEntries: 3,
			// Now: 0805-8, 0825-10, 0915-12 in progress and overdue, the
			// second with an apology; 0709-6 waiting for a supplement
			// (0708-5 is stopped: finished, not paused); 0707-4 and 0804-7
			// resolved, not returned.
			InProgress: 3, InProgressOverdue: 3, InProgressOverdueWithApology: 1, InProgressOverdueWithoutApology: 2,
			Paused: 1, AwaitingReturn: 2,
			// 4 early or on time of 6 resolved, of 12 received; 2 late of 12;
			// 3 late entries of 38 transitions (7.894…%).
			OnTimeRate: 66.66, ReceivedOnTimeRate: 33.33, HeadlineRate: 33.33, LateRate: 16.66, DigitizedRate: 91.66,
			OnlineRate: 8.33, ElectronicResultRate: 100, InProgressOverdueRate: 100, LateEntryRate: 7.89,
			// The scheduler started long after September 2025: no close of
			// it, so nothing in progress at the end of the period is known.
			AtPeriodEndMissing: workflow.PeriodEndMissing("2025-09", time.Now()),
		}
		if diff := cmp.Diff(want, r, cmpopts.IgnoreFields(workflow.Report{}, "Bases")); diff != "" {
			t.Errorf("report of July to September (-want +got):\n%s", diff)
		}
		if st.Total.Bases["headline_rate"] != "received" || st.Total.Bases["late_rate"] != "received" || st.Total.Bases["late_entry_rate"] != "transitions" {
			t.Errorf("bases %v", st.Total.Bases)
		}
		if w := st.ReturnWait; w == nil || w.Dossiers != 2 || w.Over5 != 2 || w.Oldest != "000.00.12.H57-250707-0004" || w.OldestDays <= 5 {
			t.Errorf("return wait %+v: want 0707-4 and 0804-7, resolved in August 2025, waiting over 5 working days, 0707-4 the longest", w)
		}

		// Another base and rounding for one report: 4 of 6 resolved is
		// 66.666…%, 2 of 6 is 33.333…%; 2 of 12 rounds to 16.67.
		st = get("/api/v1/stats?from=2025-07&to=2025-09&rate_base=resolved&rate_rounding=round")
		if r := st.Total; r.HeadlineRate != 66.67 || r.LateRate != 33.33 || r.Rates != (workflow.Rates{Base: workflow.BaseResolved, Rounding: workflow.RoundHalfUp}) ||
			r.ReceivedOnTimeRate != 33.33 || r.OnTimeRate != 66.67 || r.Bases["late_rate"] != "resolved" {
			t.Errorf("report over resolved, rounded: %+v", r)
		}
		st = get("/api/v1/stats?from=2025-07&to=2025-09&rate_rounding=round")
		if r := st.Total; r.HeadlineRate != 33.33 || r.LateRate != 16.67 {
			t.Errorf("report over received, rounded: headline %v, late %v; want 33.33, 16.67", r.HeadlineRate, r.LateRate)
		}
	})

	t.Run("carried over and per agency", func(t *testing.T) {
		// Into August: 0707-4, 0708-5, 0709-6 of the six of July (three
		// resolved in July). Into September: 0709-6 of H57, 0805-8 and
		// 0825-10 of X01 (0707-4, 0708-5, 0804-7, 0806-9 finished in
		// August).
		if st := get("/api/v1/stats?from=2025-08&to=2025-09"); st.Total.CarriedOver != 3 {
			t.Errorf("carried over into August: %d, want 3", st.Total.CarriedOver)
		}
		st := get("/api/v1/stats?from=2025-09&to=2025-09&by=agency")
		rows := map[string]workflow.Report{}
		for _, r := range st.Rows {
			rows[r.Key] = r.Report
		}
		if st.Total.CarriedOver != 3 || rows["H57"].CarriedOver != 1 || rows["X01"].CarriedOver != 2 {
			t.Errorf("carried over into September: %d, H57 %d, X01 %d; want 3, 1, 2", st.Total.CarriedOver, rows["H57"].CarriedOver, rows["X01"].CarriedOver)
		}
		// Late entries per agency, of the dossiers received in the period:
		// H57 1 of 22 (4.545…%), X01 2 of 16 (12.5%).
		st = get("/api/v1/stats?from=2025-07&to=2025-09&by=agency")
		rows = map[string]workflow.Report{}
		for _, r := range st.Rows {
			rows[r.Key] = r.Report
		}
		if h, x := rows["H57"], rows["X01"]; h.Transitions != 22 || h.LateEntries != 1 || h.LateEntryRate != 4.54 ||
			x.Transitions != 16 || x.LateEntries != 2 || x.LateEntryRate != 12.5 {
			t.Errorf("late entries: H57 %d of %d (%v%%), X01 %d of %d (%v%%); want 1 of 22 (4.54%%), 2 of 16 (12.5%%)",
				h.LateEntries, h.Transitions, h.LateEntryRate, x.LateEntries, x.Transitions, x.LateEntryRate)
		}
	})

	t.Run("months are cohorts", func(t *testing.T) {
		type cohort struct {
			received, resolved, early, late, returned, inProgress, awaiting int64
			answered, onTime, headline                                      float64
		}
		row := func(r workflow.Report) cohort {
			return cohort{r.Received, r.Resolved, r.Early, r.Late, r.Returned, r.InProgress, r.AwaitingReturn,
				r.FeedbackAnsweredRate, r.OnTimeRate, r.HeadlineRate}
		}
		check := func(kind string, want map[string]cohort) {
			t.Helper()
			st := get("/api/v1/stats?from=2025-07&to=2025-09&by=month&kind=" + kind)
			if len(st.Rows) != len(want) {
				t.Fatalf("%s by month: %d rows, want %d", kind, len(st.Rows), len(want))
			}
			for _, r := range st.Rows {
				if got := row(r.Report); got != want[r.Key] || r.Report.Counting != workflow.CountingCohort {
					t.Errorf("%s received in %s: %+v (%s), want %+v (cohort)", kind, r.Key, got, r.Report.Counting, want[r.Key])
				}
			}
		}
		// Feedback: answered in August, the July receipts made August show
		// three answers of two received (150%) when months counted events.
		// Received in July: 3, all answered early (100%); in August: 2, one
		// answered (50%), one open.
		check("feedback", map[string]cohort{
			"2025-07": {3, 3, 3, 0, 0, 0, 3, 100, 100, 100},
			"2025-08": {2, 1, 1, 0, 0, 1, 1, 50, 100, 50},
			"2025-09": {},
		})
		// Dossiers: of the six of July, four resolved (2 late) and three
		// returned, 0707-4 awaiting return; of the four of August, 0804-7
		// resolved early and awaiting return, 0805-8 and 0825-10 in
		// progress; of the two of September, 0903-11 resolved early and
		// returned, 0915-12 in progress.
		check("dossier", map[string]cohort{
			"2025-07": {6, 4, 1, 2, 3, 0, 1, 0, 50, 33.33},
			"2025-08": {4, 1, 1, 0, 0, 2, 1, 0, 100, 25},
			"2025-09": {2, 1, 1, 0, 1, 1, 0, 0, 100, 50},
		})
	})

	t.Run("dashboard", func(t *testing.T) {
		ctx := browser(t)
		text := func(sel string) string {
			t.Helper()
			v, err := chromedpText(ctx, sel)
			if err != nil {
				t.Fatalf("text of %s: %v", sel, err)
			}
			return strings.Join(strings.Fields(v), " ")
		}
		navigate(t, ctx, in.HTTPURL+"/?from=2025-07&to=2025-09")
		for sel, want := range map[string]string{
			"#headline-rate":             "33,33% trên số tiếp nhận",
			"#late-rate":                 "16,66% trên số tiếp nhận",
			"#card-late .s":              "đã có thư xin lỗi 1 · chưa có thư xin lỗi 1",
			"#card-ipoverdue .s":         "đã có thư xin lỗi 1 · chưa có thư xin lỗi 2",
			"#card-carried .n":           "0",
			"#card-awaiting .n":          "2",
			"#card-lateentries .n":       "7,89%",
			"#card-lateentries .s":       "Cập nhật muộn 3 / 38",
			"#rates-note":                "Các tỷ lệ tính theo phần trăm, cắt bớt (không làm tròn) đến hai chữ số thập phân.",
			"#late-entry-agencies tbody": "X01 16 2 12,50% H57 22 1 4,54%",
		} {
			if got := text(sel); got != want {
				t.Errorf("overview %s = %q, want %q", sel, got, want)
			}
		}
		screenshot(t, ctx, artifacts(t), "overview-stats.png")
		if got := text("#card-awaiting .s"); !strings.Contains(got, "trên 5 ngày 2") || !strings.Contains(got, "000.00.12.H57-250707-0004") {
			t.Errorf("overview #card-awaiting = %q, want both over 5 days, 0707-4 the longest", got)
		}
		navigate(t, ctx, in.HTTPURL+"/?from=2025-09&to=2025-09&lang=en")
		if got := text("#card-carried .n"); got != "3" {
			t.Errorf("overview of September: carried over %q, want 3", got)
		}
		if got := text("#late-rate"); got != "0.00% of received" {
			t.Errorf("overview of September in English: late rate %q, want 0.00%% of received", got)
		}
	})

	t.Run("csv", func(t *testing.T) {
		resp, err := http.Get(in.HTTPURL + "/?from=2025-07&to=2025-09&format=csv&list=agencies")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		records, err := csv.NewReader(resp.Body).ReadAll()
		if err != nil || len(records) != 3 {
			t.Fatalf("CSV of agencies: %v, %d records", err, len(records))
		}
		col := map[string]int{}
		for i, h := range records[0] {
			col[strings.TrimPrefix(h, "\ufeff")] = i
		}
		lateRate := "Tỷ lệ quá hạn (% trên số tiếp nhận, cắt bớt (không làm tròn) đến hai chữ số thập phân)"
		for _, h := range []string{lateRate, "Tồn kỳ trước chuyển sang", "Quá hạn, đã có thư xin lỗi", "Quá hạn, chưa có thư xin lỗi",
			"Tỷ lệ cập nhật muộn (% trên số lần chuyển trạng thái, cắt bớt (không làm tròn) đến hai chữ số thập phân)"} {
			if _, ok := col[h]; !ok {
				t.Errorf("CSV header %q lacks %q", records[0], h)
			}
		}
		// H57: 2 late of 6 received (33.33%), one with an apology.
		h57 := records[1]
		if h57[0] != "H57" || h57[col[lateRate]] != "33.33" || h57[col["Quá hạn, đã có thư xin lỗi"]] != "1" {
			t.Errorf("CSV row %q", h57)
		}
	})

	// The store's statistics rows equal a recount of its dossiers.
	var audit api.AuditPage
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/audit/verify?limit=1000", http.StatusOK, &audit)
	if len(audit.Store) != 0 || len(audit.Items) != 0 || audit.Checked != 17 {
		t.Errorf("audit verify: %d of %d checked, findings %+v, dossiers found wrong %+v", audit.Checked, audit.Total, audit.Store, audit.Items)
	}

	// The same store under an engine set to divide by the resolved and
	// round: the API and the dashboard follow the setting.
	in.Stop(t)
	cfg.Rates = workflow.Rates{Base: workflow.BaseResolved, Rounding: workflow.RoundHalfUp}
	cfg.Deadlines = 0
	in = testutil.Start(t, cfg)
	testutil.WaitReady(t, in.HTTPURL, http.StatusOK)
	st := get("/api/v1/stats?from=2025-07&to=2025-09")
	if r := st.Total; r.HeadlineRate != 66.67 || r.LateRate != 33.33 || r.Rates.Base != workflow.BaseResolved || r.Rates.Rounding != workflow.RoundHalfUp {
		t.Errorf("report of an engine over resolved, rounded: %+v", r)
	}
	ctx := browser(t)
	navigate(t, ctx, in.HTTPURL+"/?from=2025-07&to=2025-09")
	for sel, want := range map[string]string{
		"#headline-rate": "66,67% trên số đã giải quyết",
		"#late-rate":     "33,33% trên số đã giải quyết",
		"#rates-note":    "Các tỷ lệ tính theo phần trăm, làm tròn đến hai chữ số thập phân.",
	} {
		got, err := chromedpText(ctx, sel)
		if got = strings.Join(strings.Fields(got), " "); err != nil || got != want {
			t.Errorf("overview over resolved %s = %q (%v), want %q", sel, got, err, want)
		}
	}
}

// chromedpText returns the text of the first element sel selects.
func chromedpText(ctx context.Context, sel string) (string, error) {
	return chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
}

// navigate opens the overview at url and waits for its cards.
func navigate(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#cards"))); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
}
