package engine_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// nov is a time of November 2026 in Vietnam: Monday 2 to Friday 6 are
// working days, 07:00–11:30 and 13:30–17:00.
func nov(day, hour, minute int) time.Time {
	return time.Date(2026, 11, day, hour, minute, 0, 0, workflow.Zone)
}

// Dossiers of the irregularities scenario.
const (
	irrLate  = "000.00.12.H57-261102-0001" // received by cb-muon, entered 24 working hours late; then a second supplement request by cb-dung
	irrLate2 = "000.00.12.H58-261102-0002" // received by cb-khac at H58, entered 32 working hours late
)

// emitIrregular publishes, as a one-stop-shop does and through real
// NATS, the events of the irregularities scenario, each with its own
// entry time (data.entered) so that the delays do not depend on when the
// test runs, and waits for each outcome: accepted.
//
//	irrLate  receive            cb-muon Mon 2/11 09:00, entered Thu 5/11 09:00:
//	                            24 working hours (Mon, Tue, Wed 8 h each)
//	irrLate  assign             cb-dung Thu 5/11 09:10
//	irrLate  request_supplement cb-dung Thu 5/11 10:00
//	irrLate  supplement         Thu 5/11 11:00
//	irrLate  request_supplement cb-dung Fri 6/11 09:00: the second
//	irrLate2 receive            cb-khac Mon 2/11 10:00, entered Fri 6/11 10:00:
//	                            32 working hours (Mon 7 h, Tue–Thu 24 h, Fri 1 h)
func emitIrregular(t *testing.T, nc *nats.Conn) {
	t.Helper()
	digitized := []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized, Name: "don.pdf"}}
	request := []workflow.Attachment{{Kind: "supplement_request", Name: "phieu-bo-sung.pdf"}}
	for i, s := range []struct {
		code, action, actor, agency string
		at, entered                 time.Time
		set                         func(*workflow.Event)
	}{
		{irrLate, "receive", "cb-muon", "H57", nov(2, 9, 0), nov(5, 9, 0), func(e *workflow.Event) { e.Attachments = digitized }},
		{irrLate, "assign", "cb-dung", "H57", nov(5, 9, 10), nov(5, 9, 10), func(e *workflow.Event) { e.Department = "tu-phap" }},
		{irrLate, "request_supplement", "cb-dung", "H57", nov(5, 10, 0), nov(5, 10, 0), func(e *workflow.Event) { e.Attachments = request }},
		{irrLate, "supplement", "cong-dan", "H57", nov(5, 11, 0), nov(5, 11, 0), nil},
		{irrLate, "request_supplement", "cb-dung", "H57", nov(6, 9, 0), nov(6, 9, 0), func(e *workflow.Event) { e.Attachments = request }},
		{irrLate2, "receive", "cb-khac", "H58", nov(2, 10, 0), nov(6, 10, 0), func(e *workflow.Event) { e.Attachments = digitized }},
	} {
		ev := &workflow.Event{ID: fmt.Sprintf("irr-%02d", i+1), SourceURI: "/motcua/tayninh", Source: "tayninh", Dossier: s.code,
			Action: s.action, Procedure: "1.004227", Agency: s.agency, Actor: s.actor, Time: s.at, Entered: s.entered}
		if s.set != nil {
			s.set(ev)
		}
		o, err := testutil.Emit(nc, ev, 10*time.Second)
		if err != nil || o.Kind != workflow.OutcomeAccepted {
			t.Fatalf("emit %s %s: %v %s (%s) %s", s.code, s.action, err, o.Kind, o.Reason, o.MessageEN)
		}
	}
}

// TestIrregularitiesBrowser drives the Bất thường page of a running
// engine in headless Chromium: late entries and a second supplement
// request published through NATS are listed from the navigation, the
// kind and officer filters narrow the list, the summary counts the
// officer's hours, and the dossier page shows its irregularities.
func TestIrregularitiesBrowser(t *testing.T) {
	in := testutil.Start(t, testutil.Config(t.TempDir()))
	nc, _ := testutil.Connect(t, in.NATSURL)
	emitIrregular(t, nc)
	dir := artifacts(t)
	ctx := browser(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// rows returns the list's rows: kind, dossier, officer, delay.
	rows := func() []string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#irregular-list tbody tr")).map(
			tr => [tr.querySelector(".kind code").textContent, tr.querySelector("a.dossier-link").textContent,
			       tr.querySelector(".actor").textContent, tr.querySelector(".delay").textContent.trim()].join(" "))`))
		if err != nil {
			t.Fatalf("rows of the list: %v", err)
		}
		return v
	}
	// submit submits the filters and waits for the page they ask for.
	submit := func(want string) {
		t.Helper()
		do("submit the filters", chromedp.Click(css("#filter-submit")))
		waitFor(t, "the page of "+want, 30*time.Second, func() bool {
			loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState == "complete" ? location.search : ""`))
			return err == nil && strings.Contains(loc, want)
		})
	}

	do("overview", chromedp.Navigate(in.HTTPURL+"/"), chromedp.WaitVisible(css("#irregular-card")))
	card, err := chromedp.Run(ctx, chromedp.Text(css("#irregular-card .n")))
	if err != nil || card != "2 / 0 / 1" {
		t.Errorf("overview's irregularities card = %q (%v), want 2 / 0 / 1 (late entries, late apologies, repeated requests)", card, err)
	}
	do("irregularities page", chromedp.Click(css(`header nav a[href="/irregularities"]`)), chromedp.WaitVisible(css("#irregular-list")))
	want := []string{
		"late_entry " + irrLate2 + " cb-khac 32",
		"repeated_supplement " + irrLate + " cb-dung —",
		"late_entry " + irrLate + " cb-muon 24",
	}
	if got := rows(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the page lists\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	screenshot(t, ctx, dir, "irregularities.png")

	// The kind filter, then the officer.
	do("choose late entries", chromedp.SetValue(css("#filter-kind"), "late_entry"))
	submit("kind=late_entry")
	if got := rows(); strings.Join(got, "\n") != strings.Join([]string{want[0], want[2]}, "\n") {
		t.Errorf("late entries: the page lists\n%s", strings.Join(got, "\n"))
	}
	do("type the officer", chromedp.SendKeys(css("#filter-actor"), "cb-muon"))
	submit("actor=cb-muon")
	if got := rows(); strings.Join(got, "\n") != want[2] {
		t.Errorf("late entries of cb-muon: the page lists\n%s\nwant %s", strings.Join(got, "\n"), want[2])
	}
	officers, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#irregular-officers tbody tr")).map(
		tr => Array.from(tr.cells).map(c => c.textContent.trim()).join(" "))`))
	if err != nil || strings.Join(officers, "\n") != "H57 cb-muon 1 0 0 1 24" {
		t.Errorf("summary by officer = %q (%v), want cb-muon's one late entry of 24 working hours", officers, err)
	}
	screenshot(t, ctx, dir, "irregularities-cb-muon.png")

	// The dossier page, from the list.
	do("dossier page", chromedp.Click(css("#irregular-list a.dossier-link")), chromedp.WaitVisible(css("#dossier-irregularities")))
	late, err := chromedp.Run(ctx, chromedp.Text(css("#dossier-late-entries")))
	if err != nil || late != "1" {
		t.Errorf("dossier page: late entries %q (%v), want 1", late, err)
	}
	kinds, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#dossier-irregularities tbody tr code")).map(c => c.textContent)`))
	if err != nil || strings.Join(kinds, " ") != "repeated_supplement late_entry" {
		t.Errorf("dossier page lists %q (%v), want the repeated request and the late entry", kinds, err)
	}
	screenshot(t, ctx, dir, "dossier-irregularities.png")
}

// workedToday is the working time of the date of t (in Vietnam) before
// t's clock: 07:00–11:30 and 13:30–17:00, as the docs give the working
// hours; zero on a day off.
func workedToday(cal interface{ IsWorkingDay(time.Time) bool }, t time.Time) time.Duration {
	if !cal.IsWorkingDay(t) {
		return 0
	}
	t = t.In(workflow.Zone)
	clock := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second +
		time.Duration(t.Nanosecond())
	var d time.Duration
	for _, p := range [][2]time.Duration{{7 * time.Hour, 11*time.Hour + 30*time.Minute}, {13*time.Hour + 30*time.Minute, 17 * time.Hour}} {
		d += max(0, min(clock, p[1])-p[0])
	}
	return d
}

// TestIrregularitiesEndToEnd drives the engine as a vendor would: a
// receipt whose time is three working days before now is published
// through NATS, accepted, and listed by GET /api/v1/irregularities as a
// late entry with its delay; a second supplement request of the same
// dossier is listed as a repeated one.
func TestIrregularitiesEndToEnd(t *testing.T) {
	in := testutil.Start(t, testutil.Config(t.TempDir()))
	nc, _ := testutil.Connect(t, in.NATSURL)
	cal := testutil.Catalog(t).Calendar()
	code := "000.00.12.H57-261201-0042"

	// The third working day before today, at 09:00: from then to the end
	// of that day is 6 working hours (09:00–11:30, 13:30–17:00), the two
	// working days after it 8 h each, then today's working time so far.
	now := time.Now()
	day := time.Date(now.In(workflow.Zone).Year(), now.In(workflow.Zone).Month(), now.In(workflow.Zone).Day(), 9, 0, 0, 0, workflow.Zone)
	for n := 0; n < 3; {
		if day = day.AddDate(0, 0, -1); cal.IsWorkingDay(day) {
			n++
		}
	}
	before := 22*time.Hour + workedToday(cal, now)

	ev := func(id, action, actor string, at time.Time, set func(*workflow.Event)) *workflow.Event {
		e := &workflow.Event{ID: id, SourceURI: "/motcua/tayninh", Source: "tayninh", Dossier: code, Action: action,
			Procedure: "1.004227", Agency: "H57", Actor: actor, Time: at}
		if set != nil {
			set(e)
		}
		return e
	}
	receipt := ev("e2e-irr-1", "receive", "cb-muon", day, func(e *workflow.Event) {
		e.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized, Name: "don.pdf"}}
	})
	o, err := testutil.Emit(nc, receipt, 10*time.Second)
	after := 22*time.Hour + workedToday(cal, time.Now())
	if err != nil || o.Kind != workflow.OutcomeAccepted || o.Status != workflow.StatusReceived || o.Dossier != code {
		t.Fatalf("the late receipt: %v, outcome %+v; want it accepted (status 2)", err, o)
	}

	type item struct {
		Seq        uint64    `json:"seq"`
		EventID    string    `json:"event_id"`
		Dossier    string    `json:"dossier"`
		Action     string    `json:"action"`
		Agency     string    `json:"agency"`
		Actor      string    `json:"actor"`
		Kind       string    `json:"kind"`
		Time       time.Time `json:"time"`
		Entered    time.Time `json:"entered"`
		DelayHours float64   `json:"delay_hours"`
		DetailVI   string    `json:"detail_vi"`
	}
	var page struct {
		Items      []item `json:"items"`
		NextCursor string `json:"next_cursor"`
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/irregularities?kind=late_entry&agency=H57", 200, &page)
	if len(page.Items) != 1 || page.NextCursor != "" {
		t.Fatalf("late entries of H57: %+v; want the receipt", page)
	}
	it := page.Items[0]
	hours := func(d time.Duration) float64 { return math.Round(d.Hours()*100) / 100 }
	if it.EventID != receipt.ID || it.Seq != o.Seq || it.Dossier != code || it.Action != "receive" || it.Agency != "H57" || it.Actor != "cb-muon" ||
		!it.Time.Equal(day) || it.Entered.Before(now.Add(-time.Second)) || it.Entered.After(time.Now()) {
		t.Errorf("late entry %+v: want the receipt (seq %d) of %s, entered on its arrival", it, o.Seq, day)
	}
	if it.DelayHours < hours(before) || it.DelayHours > hours(after) || it.DelayHours < 22 {
		t.Errorf("late entry of %s arriving now: delay %v working hours, want %v to %v", day, it.DelayHours, hours(before), hours(after))
	}

	// The dossier goes on, entered as it happens: no late entry. Its
	// second supplement request is a repeated one.
	request := func(e *workflow.Event) {
		e.Attachments = []workflow.Attachment{{Kind: "supplement_request", Name: "phieu-bo-sung.pdf"}}
	}
	for _, e := range []*workflow.Event{
		ev("e2e-irr-2", "assign", "cb-dung", time.Now(), func(e *workflow.Event) { e.Department = "tu-phap" }),
		ev("e2e-irr-3", "request_supplement", "cb-dung", time.Now(), request),
		ev("e2e-irr-4", "supplement", "cong-dan", time.Now(), nil),
		ev("e2e-irr-5", "request_supplement", "cb-dung", time.Now(), request),
	} {
		if o, err := testutil.Emit(nc, e, 10*time.Second); err != nil || o.Kind != workflow.OutcomeAccepted {
			t.Fatalf("%s: %v, outcome %+v; want accepted", e.Action, err, o)
		}
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/irregularities?dossier="+code, 200, &page)
	if len(page.Items) != 2 || page.Items[0].Kind != "repeated_supplement" || page.Items[0].EventID != "e2e-irr-5" ||
		page.Items[0].Actor != "cb-dung" || page.Items[0].DelayHours != 0 || !strings.Contains(page.Items[0].DetailVI, "lần thứ 2") ||
		page.Items[1].Kind != "late_entry" {
		t.Errorf("irregularities of %s: %+v; want the second request (repeated_supplement by cb-dung), then the late receipt", code, page.Items)
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/irregularities?kind=repeated_supplement&actor=cb-dung", 200, &page)
	if len(page.Items) != 1 || page.Items[0].EventID != "e2e-irr-5" {
		t.Errorf("repeated supplement requests of cb-dung: %+v; want e2e-irr-5", page.Items)
	}
	var d struct {
		LateEntries int `json:"late_entries"`
		Problems    struct {
			Irregularities []item `json:"irregularities"`
		} `json:"problems"`
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/"+code, 200, &d)
	if d.LateEntries != 1 || len(d.Problems.Irregularities) != 2 {
		t.Errorf("dossier %s: late_entries %d, irregularities %+v; want 1 and 2", code, d.LateEntries, d.Problems.Irregularities)
	}
}
