package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/workflow"
)

// calendarDefinition is a flow whose TT.050 has a statutory time of 50
// working days and TT.005 of 5; the sender gives the due date of the
// other procedures.
const calendarDefinition = `id: tet
version: 1
name: {vi: Thủ tục thử lịch}
effective: 2025-01-01
clock: pause
apology_limit: 1
procedures:
  - "*"
  - {code: "TT.050", sla: {working_days: 50}}
  - {code: "TT.005", sla: {working_days: 5}}
states:
  - {name: received, status: 2}
  - {name: processing, status: 4}
  - {name: supplement, status: 5}
  - {name: resolved, status: 9}
  - {name: returned, status: 10, terminal: true}
actions:
  - {name: receive, from: [start], to: received, sets_due: true}
  - {name: assign, from: [received], to: processing}
  - {name: request_supplement, from: [processing], to: supplement, clock: pause}
  - {name: supplement, from: [supplement], to: processing, clock: resume}
  - {name: resolve, from: [processing], to: resolved}
  - {name: return, from: [resolved], to: returned}
  - name: apologize
    from: [received, processing, supplement]
    stay: true
    extends_due: true
    guards: [{attachments: [apology_letter], fields: [new_due, reason]}]
`

// announced2027 is the announcement operators drop in, differing from the
// computed 2027 (Tết Saturday 6/2: off Friday 5/2 to Thursday 11/2): off
// Thursday 4/2 to Wednesday 10/2, Thursday 4/2 made up on Saturday 30/1.
const announced2027 = `# Thông báo nghỉ Tết Âm lịch 2027 (thử nghiệm)
year: 2027
source: "Thông báo thử nghiệm: Tết Âm lịch 04/02–10/02, làm bù thứ Bảy 30/01"
holidays:
  - {date: 2027-01-01, name: Tết Dương lịch}
  - {date: 2027-02-04, name: Nghỉ hoán đổi (làm bù thứ Bảy 30/01)}
  - {date: 2027-02-05, name: Tết Nguyên đán}
  - {date: 2027-02-06, name: Tết Nguyên đán}
  - {date: 2027-02-07, name: Tết Nguyên đán}
  - {date: 2027-02-08, name: Tết Nguyên đán}
  - {date: 2027-02-09, name: Tết Nguyên đán}
  - {date: 2027-02-10, name: Nghỉ bù Tết Nguyên đán}
  - {date: 2027-04-16, name: Giỗ Tổ Hùng Vương}
  - {date: 2027-04-30, name: Ngày Chiến thắng}
  - {date: 2027-05-01, name: Ngày Quốc tế Lao động}
  - {date: 2027-05-03, name: Nghỉ bù Ngày Quốc tế Lao động}
  - {date: 2027-09-01, name: Quốc khánh}
  - {date: 2027-09-02, name: Quốc khánh}
working_days:
  - {date: 2027-01-30, name: Làm bù cho thứ Năm 04/02}
`

func ict(y int, m time.Month, d, hour, minute int) time.Time {
	return time.Date(y, m, d, hour, minute, 0, 0, workflow.Zone)
}

// calendarRig is an engine configured as an operator would: a directory
// of definitions, and a calendar directory with the shipped years
// 2018–2026 and no 2027 (computed); its clock says Friday 4 December
// 2026, 09:00.
type calendarRig struct {
	t      *testing.T
	cfg    engine.Config
	calDir string
	in     *testutil.Instance
	nc     *nats.Conn
	js     jetstream.JetStream
	n      int
}

func newCalendarRig(t *testing.T) *calendarRig {
	dir := t.TempDir()
	defs := filepath.Join(dir, "definitions")
	calDir := filepath.Join(dir, "calendar")
	for _, d := range []string{defs, calDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(defs, "tet.yaml"), []byte(calendarDefinition), 0o600); err != nil {
		t.Fatal(err)
	}
	for y := 2018; y <= 2026; y++ {
		data, err := fs.ReadFile(configs.FS, fmt.Sprintf("%s/%d.yaml", configs.CalendarDir, y))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(calDir, fmt.Sprintf("%d.yaml", y)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := testutil.Config(filepath.Join(dir, "data"))
	cfg.Rules.Definitions, cfg.Rules.Calendar = defs, calDir
	cfg.Now = func() time.Time { return ict(2026, 12, 4, 9, 0) }
	return &calendarRig{t: t, cfg: cfg, calDir: calDir}
}

func (r *calendarRig) start() {
	r.t.Helper()
	r.in = testutil.Start(r.t, r.cfg)
	r.nc, r.js = testutil.Connect(r.t, r.in.NATSURL)
}

// emit sends an event of the one-stop-shop and fails the test unless it
// is accepted.
func (r *calendarRig) emit(action, code, procedure string, at time.Time, edit ...func(*workflow.Event)) workflow.Outcome {
	r.t.Helper()
	r.n++
	ev := &workflow.Event{ID: fmt.Sprintf("%s-%s-%d", code, action, r.n), SourceURI: "/motcua/tayninh", Source: "tayninh",
		Action: action, Dossier: code, Time: at, Procedure: procedure, Agency: "H57", Actor: "cb-01", Department: "mot-cua"}
	for _, e := range edit {
		e(ev)
	}
	o, err := testutil.Emit(r.nc, ev, 10*time.Second)
	if err != nil {
		r.t.Fatal(err)
	}
	if o.Kind != workflow.OutcomeAccepted {
		r.t.Fatalf("%s %s: %s %s", action, code, o.Kind, o.MessageEN)
	}
	return o
}

// dossier is what the API shows of a dossier's dates and history.
type calendarDossier struct {
	Due         time.Time `json:"due"`
	OriginalDue time.Time `json:"original_due"`
	History     []struct {
		Action string    `json:"action"`
		Source string    `json:"source"`
		Reason string    `json:"reason"`
		Due    time.Time `json:"due"`
		From   string    `json:"from"`
		To     string    `json:"to"`
	} `json:"history"`
}

func (r *calendarRig) dossier(code string) calendarDossier {
	r.t.Helper()
	var d calendarDossier
	testutil.GetJSON(r.t, r.in.HTTPURL, "/api/v1/dossiers/"+code, 200, &d)
	return d
}

// calendarEntries counts a dossier's calendar entries.
func (d calendarDossier) calendarEntries() int {
	n := 0
	for _, e := range d.History {
		if e.Action == workflow.CalendarAction {
			n++
		}
	}
	return n
}

// streamLen returns how many messages HOSO_EVENTS holds.
func (r *calendarRig) streamLen() uint64 {
	r.t.Helper()
	st, err := r.js.Stream(context.Background(), events.EventsStream)
	if err != nil {
		r.t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return info.State.Msgs
}

// page returns the body of a dashboard page.
func (r *calendarRig) page(path string) string {
	r.t.Helper()
	resp, err := http.Get(r.in.HTTPURL + path)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		r.t.Fatalf("GET %s = %d", path, resp.StatusCode)
	}
	return string(body)
}

// The dates of the scenario, counted by hand. Working days after Tuesday
// 1 December 2026 in the computed 2027 (off 1/1 and 5/2 to 11/2): Dec
// 2–4 (1–3), 7–11 (4–8), 14–18 (9–13), 21–25 (14–18), 28–31 (19–22),
// Jan 4–8 (23–27), 11–15 (28–32), 18–22 (33–37), 25–29 (38–42), Feb 1–4
// (43–46), Feb 12 (47), 15, 16, 17 (48–50). In the announced 2027 (off
// 1/1 and 4/2 to 10/2, Saturday 30/1 worked): Jan 30 (43), Feb 1–3
// (44–46), Feb 11, 12 (47, 48), 15, 16 (49, 50). Fifty working days from
// a time of day end at that time of the 50th working day.
var (
	receivedA  = ict(2026, 12, 1, 9, 0)
	computedA  = ict(2027, 2, 17, 9, 0) // A's due date in the computed 2027
	announcedA = ict(2027, 2, 16, 9, 0)
	computedB  = ict(2027, 2, 17, 14, 0) // received at 14:00
	announcedB = ict(2027, 2, 16, 14, 0)
	apologyC   = ict(2027, 2, 26, 17, 0) // "2027-02-26": the end of its working hours
	senderD    = ict(2027, 2, 9, 17, 0)
)

// receiveAll sends, on 1–3 December 2026: A received (its clock runs),
// B received and waiting for a supplement since Wednesday 2 December
// 10:00, C received with an apology moving its due date to 26 February
// 2027, D received with the sender's due date of 9 February 2027, E
// resolved, F received with 5 working days (due 8 December 2026).
func (r *calendarRig) receiveAll() {
	r.emit("receive", "A", "TT.050", receivedA)
	r.emit("receive", "B", "TT.050", ict(2026, 12, 1, 14, 0))
	r.emit("assign", "B", "TT.050", ict(2026, 12, 1, 15, 0))
	r.emit("request_supplement", "B", "TT.050", ict(2026, 12, 2, 10, 0))
	r.emit("receive", "C", "TT.050", receivedA)
	r.emit("apologize", "C", "TT.050", ict(2026, 12, 3, 10, 0), func(e *workflow.Event) {
		e.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentApologyLetter}}
		e.NewDue, e.NewDueDay, e.Reason = ict(2027, 2, 26, 0, 0), true, "chờ xác minh"
	})
	r.emit("receive", "D", "X.1", receivedA, func(e *workflow.Event) { e.Due, e.DueDay = ict(2027, 2, 9, 0, 0), true })
	r.emit("receive", "E", "TT.050", receivedA)
	r.emit("assign", "E", "TT.050", ict(2026, 12, 1, 10, 0))
	r.emit("resolve", "E", "TT.050", ict(2026, 12, 3, 10, 0))
	r.emit("receive", "F", "TT.005", receivedA)
}

// writeAnnounced drops the announced 2027 into the calendar directory.
func (r *calendarRig) writeAnnounced() {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.calDir, "2027.yaml"), []byte(announced2027), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// waitCalendarOutcome waits for the outcome of a calendar event on sub.
func waitCalendarOutcome(t *testing.T, sub *nats.Subscription) workflow.Outcome {
	t.Helper()
	m, err := sub.NextMsg(20 * time.Second)
	if err != nil {
		t.Fatalf("no calendar outcome: %v", err)
	}
	var o workflow.Outcome
	if err := json.Unmarshal(m.Data, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

// checkAnnounced checks the dossiers once the announced 2027 is in force:
// the due dates hoso counted from the statutory time moved, the apology's
// and the sender's stayed, and each dossier moved has a calendar entry.
func (r *calendarRig) checkAnnounced() {
	r.t.Helper()
	for _, x := range []struct {
		code      string
		due, orig time.Time
		entries   int
	}{
		{"A", announcedA, announcedA, 1},
		{"B", announcedB, announcedB, 1},
		{"C", apologyC, announcedA, 1}, // the original date moves, the apology's stays
		{"D", senderD, senderD, 0},
		{"E", computedA, computedA, 0}, // resolved
		{"F", ict(2026, 12, 8, 9, 0), ict(2026, 12, 8, 9, 0), 0},
	} {
		d := r.dossier(x.code)
		if !d.Due.Equal(x.due) || !d.OriginalDue.Equal(x.orig) || d.calendarEntries() != x.entries {
			r.t.Errorf("%s: due %s, original %s, %d calendar entries; want %s, %s, %d", x.code, d.Due, d.OriginalDue,
				d.calendarEntries(), x.due, x.orig, x.entries)
		}
		for _, e := range d.History {
			if e.Action == workflow.CalendarAction && (e.Source != workflow.SystemSource || e.From != e.To || !e.Due.Equal(x.due) ||
				!strings.Contains(e.Reason, "năm 2027") || !strings.Contains(e.Reason, "Thông báo thử nghiệm")) {
				r.t.Errorf("%s: calendar entry %+v", x.code, e)
			}
		}
	}
	var report struct {
		OK bool `json:"ok"`
	}
	for _, code := range []string{"A", "B", "C"} {
		testutil.GetJSON(r.t, r.in.HTTPURL, "/api/v1/dossiers/"+code+"/verify", 200, &report)
		if !report.OK {
			r.t.Errorf("GET /api/v1/dossiers/%s/verify: not OK", code)
		}
	}
}

// TestCalendarAnnouncedWhileRunning: the operator drops the announced
// 2027 into the calendar directory of a running engine and reloads it (as
// SIGHUP does). The engine publishes one calendar event; applying it
// moves the due dates hoso counted from a statutory time to the instants
// counted by hand in the announced calendar, and leaves the dates the
// applicant was given; each moved dossier's control sheet says why; the
// dashboard stops warning about 2027 and hoso_calendar_confirmed says it
// is confirmed; what is received afterwards counts in the announced
// calendar. Reloading the same file publishes nothing. `hoso rebuild` of
// the stream reaches the live state hash and due dates, and a restart
// goes on with the announced calendar.
func TestCalendarAnnouncedWhileRunning(t *testing.T) {
	r := newCalendarRig(t)
	r.start()
	r.receiveAll()
	if d := r.dossier("A"); !d.Due.Equal(computedA) {
		t.Fatalf("A due %s before the announcement, want %s", d.Due, computedA)
	}
	if d := r.dossier("B"); !d.Due.Equal(computedB) {
		t.Fatalf("B due %s before the announcement, want %s", d.Due, computedB)
	}
	if page := r.page("/"); !strings.Contains(page, `class="banner"`) || !strings.Contains(page, "2027") {
		t.Fatal("the dashboard does not say that 2027 is computed")
	}
	if v := testutil.Scrape(t, r.in.HTTPURL)[`hoso_calendar_confirmed{year="2027"}`]; v != 0 {
		t.Fatalf(`hoso_calendar_confirmed{year="2027"} = %v before the announcement, want 0`, v)
	}

	sub, err := r.nc.SubscribeSync("hoso.outcomes.*.hoso.calendar")
	if err != nil {
		t.Fatal(err)
	}
	before := r.streamLen()
	r.writeAnnounced()
	if err := r.in.Engine.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	o := waitCalendarOutcome(t, sub)
	if o.Kind != workflow.OutcomeAccepted || o.Source != workflow.SystemSource || o.Action != workflow.CalendarAction ||
		!o.Time.Equal(ict(2026, 12, 4, 9, 0)) || !strings.Contains(o.MessageEN, "Calendar of 2027") ||
		!strings.Contains(o.MessageEN, "due dates of 3 dossiers recomputed") {
		t.Fatalf("calendar outcome %+v", o)
	}
	if n := r.streamLen(); n != before+1 {
		t.Fatalf("the stream grew by %d messages, want one calendar event", n-before)
	}
	r.checkAnnounced()
	if page := r.page("/"); strings.Contains(page, `class="banner"`) {
		t.Error("the dashboard still warns about an unconfirmed year")
	}
	if v := testutil.Scrape(t, r.in.HTTPURL)[`hoso_calendar_confirmed{year="2027"}`]; v != 1 {
		t.Errorf(`hoso_calendar_confirmed{year="2027"} = %v after the announcement, want 1`, v)
	}

	// The same file again: nothing to publish.
	if err := r.in.Engine.Reload(); err != nil {
		t.Fatalf("second Reload: %v", err)
	}
	if n := r.streamLen(); n != before+1 {
		t.Fatalf("a second reload of the same file published %d messages", n-before-1)
	}

	// After the event: received on Friday 4 December at 10:00, G is due
	// at 10:00 of the 50th working day after it, Friday 19 February 2027
	// (Monday 22 February in the computed 2027); B's supplement on
	// Monday 7 December at 09:00 ends 23 working hours of waiting (Dec 2
	// 10:00–17:00 5 h, Dec 3 and 4 8 h each, Dec 7 07:00–09:00 2 h):
	// Tuesday 16 February 14:00 and 23 hours is Friday 19 February 11:00.
	if o := r.emit("receive", "G", "TT.050", ict(2026, 12, 4, 10, 0)); o.Due == nil || !o.Due.Equal(ict(2027, 2, 19, 10, 0)) {
		t.Errorf("G received after the announcement: due %v, want 2027-02-19 10:00", o.Due)
	}
	if o := r.emit("supplement", "B", "TT.050", ict(2026, 12, 7, 9, 0)); o.Due == nil || !o.Due.Equal(ict(2027, 2, 19, 11, 0)) {
		t.Errorf("B's supplement: due %v, want 2027-02-19 11:00", o.Due)
	}

	var state struct {
		AppliedSeq uint64 `json:"applied_seq"`
		StateHash  string `json:"state_hash"`
	}
	testutil.GetJSON(t, r.in.HTTPURL, "/api/v1/admin/state", 200, &state)
	if state.AppliedSeq != r.streamLen() {
		t.Fatalf("applied %d of %d messages", state.AppliedSeq, r.streamLen())
	}
	dues := map[string]time.Time{}
	for _, code := range []string{"A", "B", "C", "D", "E", "F", "G"} {
		dues[code] = r.dossier(code).Due
	}
	r.in.Stop(t)

	// hoso rebuild, with the files as they are now (2027 announced): the
	// stream's calendar events put 2027 back as it was at the start.
	out := filepath.Join(t.TempDir(), "rebuilt.db")
	res, err := engine.Rebuild(context.Background(), engine.RebuildConfig{DataDir: r.cfg.DataDir, Out: out, Rules: r.cfg.Rules})
	if err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	if res.AppliedSeq != state.AppliedSeq || res.StateHash.String() != state.StateHash {
		t.Fatalf("rebuild: sequence %d, state hash %s; the live engine had %d, %s", res.AppliedSeq, res.StateHash,
			state.AppliedSeq, state.StateHash)
	}
	cat, err := r.cfg.Rules.Load()
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(out, store.Options{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	for code, due := range dues {
		d, err := db.Dossier(context.Background(), code)
		if err != nil || !d.Due.Equal(due) {
			t.Errorf("rebuilt %s: due %v (%v), live %s", code, d, err, due)
		}
	}
	db.Close()

	// Restarted with the same files: the calendar in force is the
	// announced one, and nothing is published again.
	before = state.AppliedSeq // the whole stream, as the live engine left it
	r.start()
	if o := r.emit("receive", "H", "TT.050", ict(2026, 12, 4, 10, 0)); o.Due == nil || !o.Due.Equal(ict(2027, 2, 19, 10, 0)) {
		t.Errorf("H received after the restart: due %v, want 2027-02-19 10:00", o.Due)
	}
	if n := r.streamLen(); n != before+1 {
		t.Errorf("the restart published %d messages besides H's receipt", n-before-1)
	}
	if v := testutil.Scrape(t, r.in.HTTPURL)[`hoso_calendar_confirmed{year="2027"}`]; v != 1 {
		t.Errorf(`hoso_calendar_confirmed{year="2027"} = %v after the restart, want 1`, v)
	}
}

// TestCalendarAnnouncedWhileStopped: the file is dropped in while the
// engine is stopped. At its start the engine publishes the calendar event
// rather than count the dossiers of the stream in the new file unseen:
// the same dates move, and a rebuild agrees.
func TestCalendarAnnouncedWhileStopped(t *testing.T) {
	r := newCalendarRig(t)
	r.start()
	r.receiveAll()
	r.in.Stop(t)
	r.writeAnnounced()
	r.start()
	// The event is published as the engine starts: read the dossiers until
	// it is applied.
	deadline := time.Now().Add(20 * time.Second)
	for !r.dossier("A").Due.Equal(announcedA) {
		if time.Now().After(deadline) {
			t.Fatalf("A due %s 20 s after the start, want %s", r.dossier("A").Due, announcedA)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.checkAnnounced()
	var state struct {
		AppliedSeq uint64 `json:"applied_seq"`
		StateHash  string `json:"state_hash"`
	}
	testutil.GetJSON(t, r.in.HTTPURL, "/api/v1/admin/state", 200, &state)
	r.in.Stop(t)
	res, err := engine.Rebuild(context.Background(), engine.RebuildConfig{DataDir: r.cfg.DataDir, Out: filepath.Join(t.TempDir(), "r.db"), Rules: r.cfg.Rules})
	if err != nil {
		t.Fatal(err)
	}
	if res.StateHash.String() != state.StateHash {
		t.Fatalf("rebuild state hash %s, live %s", res.StateHash, state.StateHash)
	}
}

// TestCalendarReloadOnSIGHUP runs the engine as a process, as hoso serve,
// with its real clock: a calendar file for next year that differs from
// the computed one, dropped in before SIGHUP, is published and applied,
// and hoso_calendar_confirmed says so. A file that does not load changes
// nothing and shows in the reload metric.
func TestCalendarReloadOnSIGHUP(t *testing.T) {
	r := newCalendarRig(t)
	cfg := r.cfg
	cfg.Now = nil // a process has the real clock
	addr, err := testutil.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTPAddr = addr
	p := testutil.StartProcess(t, cfg)
	p.WaitFor(t, "hoso started")
	base := "http://" + addr
	year := time.Now().In(workflow.Zone).Year() + 1
	metric := fmt.Sprintf(`hoso_calendar_confirmed{year="%d"}`, year)
	if v := testutil.Scrape(t, base)[metric]; v != 0 {
		t.Fatalf("%s = %v before the file, want 0", metric, v)
	}
	bad := filepath.Join(r.calDir, fmt.Sprintf("%d.yaml", year))
	if err := os.WriteFile(bad, []byte("year: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.Signal(t, syscall.SIGHUP)
	p.WaitFor(t, "reload failed; the previous files stay in force")
	if v := testutil.Scrape(t, base)["hoso_config_last_reload_successful"]; v != 0 {
		t.Errorf("hoso_config_last_reload_successful = %v after a broken calendar file, want 0", v)
	}
	y := workflow.ComputedYear(year)
	y.Source = "Thông báo thử nghiệm"
	y.Holidays = append(y.Holidays, workflow.DayOff{Date: time.Date(year, 3, 2, 0, 0, 0, 0, workflow.Zone), Name: "Ngày nghỉ thêm"})
	if err := os.WriteFile(bad, workflow.FormatCalendarYear(y), 0o600); err != nil {
		t.Fatal(err)
	}
	p.Signal(t, syscall.SIGHUP)
	p.WaitFor(t, "calendar event published")
	deadline := time.Now().Add(20 * time.Second)
	for testutil.Scrape(t, base)[metric] != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%s is not 1 20 s after SIGHUP", metric)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := testutil.Scrape(t, base)["hoso_config_last_reload_successful"]; v != 1 {
		t.Errorf("hoso_config_last_reload_successful = %v after a good reload, want 1", v)
	}
}

// TestCalendarReplicas: with replicas, the leader alone publishes the
// calendar event (each replica reads the same calendar files on its
// reload); both apply it and agree. A replica started afterwards on a new
// store, with the files that now give the announced 2027, starts with
// the calendar the stream started with and reaches the same state.
func TestCalendarReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three engine replicas")
	}
	srv := startNATSServer(t)
	r := newCalendarRig(t)
	replicaCfg := func(name string) engine.Config {
		cfg := r.cfg
		cfg.DataDir = filepath.Join(t.TempDir(), name)
		cfg.NATSURL = srv.ClientURL()
		cfg.Replica, cfg.ReplicaLease = name, 2*time.Second
		return cfg
	}
	a := testutil.Start(t, replicaCfg("a"))
	b := testutil.Start(t, replicaCfg("b"))
	r.in = a
	r.nc, r.js = testutil.Connect(t, srv.ClientURL())
	leaders := func() int {
		return int(testutil.Scrape(t, a.HTTPURL)["hoso_replica_leader"] + testutil.Scrape(t, b.HTTPURL)["hoso_replica_leader"])
	}
	deadline := time.Now().Add(20 * time.Second)
	for leaders() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("no replica leads")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.receiveAll()
	before := r.streamLen()
	r.writeAnnounced()
	for _, in := range []*testutil.Instance{a, b} {
		if err := in.Engine.Reload(); err != nil {
			t.Fatalf("Reload: %v", err)
		}
	}
	state := func(in *testutil.Instance) (s struct {
		AppliedSeq uint64 `json:"applied_seq"`
		StateHash  string `json:"state_hash"`
	}) {
		testutil.GetJSON(t, in.HTTPURL, "/api/v1/admin/state", 200, &s)
		return s
	}
	waitState := func(ins ...*testutil.Instance) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for _, in := range ins {
			for state(in).AppliedSeq != before+1 {
				if time.Now().After(deadline) {
					t.Fatalf("%s applied %d of %d messages", in.HTTPURL, state(in).AppliedSeq, before+1)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	waitState(a, b)
	if n := r.streamLen(); n != before+1 {
		t.Fatalf("the replicas published %d calendar events, want one", n-before)
	}
	for _, in := range []*testutil.Instance{a, b} {
		r.in = in
		r.checkAnnounced()
	}
	if sa, sb := state(a), state(b); sa.StateHash != sb.StateHash {
		t.Fatalf("the replicas disagree: %s and %s", sa.StateHash, sb.StateHash)
	}
	c := testutil.Start(t, replicaCfg("c"))
	waitState(c)
	if sa, sc := state(a), state(c); sa.StateHash != sc.StateHash {
		t.Fatalf("a replica started afterwards disagrees: %s and %s", sa.StateHash, sc.StateHash)
	}
	if n := r.streamLen(); n != before+1 {
		t.Fatalf("the new replica published %d messages", n-before-1)
	}
}
