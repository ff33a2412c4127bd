package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/workflow"
)

// calendarYAML is a flow with a statutory time of 50 working days for
// TT.050 and the sender's due date for the others.
const calendarYAML = `id: cal
version: 1
name: {vi: Thử lịch}
effective: 2025-01-01
clock: pause
apology_limit: 1
procedures:
  - "*"
  - {code: "TT.050", sla: {working_days: 50}}
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
`

// announced2027 differs from the computed 2027 (off 5/2 to 11/2): off
// 4/2 to 10/2, and Saturday 30/1 worked.
const announced2027 = `year: 2027
source: "Thông báo thử nghiệm"
holidays:
  - {date: 2027-01-01, name: Tết Dương lịch}
  - {date: 2027-02-04, name: Nghỉ hoán đổi}
  - {date: 2027-02-05, name: Tết Nguyên đán}
  - {date: 2027-02-08, name: Tết Nguyên đán}
  - {date: 2027-02-09, name: Tết Nguyên đán}
  - {date: 2027-02-10, name: Nghỉ bù Tết Nguyên đán}
  - {date: 2027-04-16, name: Giỗ Tổ Hùng Vương}
  - {date: 2027-04-30, name: Ngày Chiến thắng}
  - {date: 2027-05-03, name: Nghỉ bù Ngày Quốc tế Lao động}
  - {date: 2027-09-01, name: Quốc khánh}
  - {date: 2027-09-02, name: Quốc khánh}
working_days:
  - {date: 2027-01-30, name: Làm bù}
`

func calendarCatalog(t testing.TB) *workflow.Catalog {
	t.Helper()
	d, err := workflow.Parse("cal.yaml", []byte(calendarYAML))
	if err != nil {
		t.Fatal(err)
	}
	c, err := workflow.NewCatalog(d)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := workflow.NewCalendar(workflow.CalendarConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return c.WithCalendar(cal)
}

func ict(y int, m time.Month, d, hour, minute int) time.Time {
	return time.Date(y, m, d, hour, minute, 0, 0, workflow.Zone)
}

// calendarStream is a stream around the calendar event that puts
// announced2027 in force on Friday 4 December 2026 at 09:00: before it,
// A is received (running, due Wednesday 17 February 2027 09:00 in the
// computed 2027), B waits for a supplement since 2 December (due 17
// February 14:00), C has an apology's date, D the sender's; in the same
// batch as the event, E is received just before it; after it, F is
// received and B's supplement comes.
func calendarStream(t testing.TB) []*workflow.Event {
	t.Helper()
	ev := func(id, action, code, procedure string, at time.Time, opts ...func(*workflow.Event)) *workflow.Event {
		e := &workflow.Event{ID: id, SourceURI: "/motcua/tayninh", Source: "tayninh", Action: action, Dossier: code,
			Time: at, Procedure: procedure, Agency: "H57", Actor: "cb", Department: "mot-cua"}
		for _, o := range opts {
			o(e)
		}
		return e
	}
	y, err := workflow.ParseCalendarYear("2027.yaml", []byte(announced2027))
	if err != nil {
		t.Fatal(err)
	}
	prev := workflow.ComputedYear(2027)
	cal := &workflow.Event{ID: "calendar/2027/0/x", SourceURI: "/hoso/calendar", Source: workflow.SystemSource,
		Action: workflow.CalendarAction, Dossier: workflow.CalendarSubject, Time: ict(2026, 12, 4, 9, 0), Actor: "hoso",
		Calendar:         &workflow.CalendarYear{Text: announced2027, Schedule: *y},
		PreviousCalendar: &workflow.CalendarYear{Text: string(workflow.FormatCalendarYear(prev)), Schedule: prev}}
	return []*workflow.Event{
		ev("a1", "receive", "A", "TT.050", ict(2026, 12, 1, 9, 0)),
		ev("b1", "receive", "B", "TT.050", ict(2026, 12, 1, 14, 0)),
		ev("b2", "assign", "B", "TT.050", ict(2026, 12, 1, 15, 0)),
		ev("b3", "request_supplement", "B", "TT.050", ict(2026, 12, 2, 10, 0)),
		ev("c1", "receive", "C", "TT.050", ict(2026, 12, 1, 9, 0)),
		ev("c2", "apologize", "C", "TT.050", ict(2026, 12, 3, 10, 0), func(e *workflow.Event) {
			e.NewDue, e.NewDueDay = ict(2027, 2, 26, 0, 0), true
		}),
		ev("d1", "receive", "D", "X.1", ict(2026, 12, 1, 9, 0), func(e *workflow.Event) { e.Due, e.DueDay = ict(2027, 2, 9, 0, 0), true }),
		ev("e1", "receive", "E", "TT.050", ict(2026, 12, 1, 9, 0)),
		cal,
		ev("f1", "receive", "F", "TT.050", ict(2026, 12, 4, 10, 0)),
		ev("b4", "supplement", "B", "TT.050", ict(2026, 12, 7, 9, 0)),
	}
}

// TestApplyCalendarEvent: a calendar event recomputes, in the batch that
// applies it, the dossiers it concerns — those in the indexes and one the
// batch received just before it — records the calendar it puts in force,
// decides what follows with it, and keeps it when the store is reopened
// with the files' calendar. Any batching gives the same state.
func TestApplyCalendarEvent(t *testing.T) {
	stream := calendarStream(t)
	var hashes []workflow.Hash
	for _, cut := range [][]int{{8, 9, 11}, {11}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}} {
		h := newHarness(t, calendarCatalog(t))
		envs := h.envelopes(stream...)
		from := 0
		for _, to := range cut {
			res := h.apply(envs[from:to])
			if res.Accepted != to-from {
				t.Fatalf("batch %d–%d: %+v, want all accepted", from, to, res)
			}
			from = to
		}
		ctx := context.Background()
		want := map[string][2]time.Time{ // due, original due
			"A": {ict(2027, 2, 16, 9, 0), ict(2027, 2, 16, 9, 0)},
			// Waiting since 2 December: Tuesday 16 February 14:00, then
			// the supplement on Monday 7 December 09:00 adds the 23
			// working hours waited: Friday 19 February 11:00.
			"B": {ict(2027, 2, 19, 11, 0), ict(2027, 2, 19, 11, 0)},
			"C": {ict(2027, 2, 26, 17, 0), ict(2027, 2, 16, 9, 0)},
			"D": {ict(2027, 2, 9, 17, 0), ict(2027, 2, 9, 17, 0)},
			"E": {ict(2027, 2, 16, 9, 0), ict(2027, 2, 16, 9, 0)},
			// Received after the event on Friday 4 December 10:00: the
			// 50th working day after it is Friday 19 February.
			"F": {ict(2027, 2, 19, 10, 0), ict(2027, 2, 19, 10, 0)},
		}
		for code, w := range want {
			d, err := h.db.Dossier(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			if !d.Due.Equal(w[0]) || !d.OriginalDue.Equal(w[1]) {
				t.Errorf("batches %v: %s due %s, original %s; want %s, %s", cut, code, d.Due, d.OriginalDue, w[0], w[1])
			}
			entries, err := h.db.History(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			calendarEntries := 0
			for _, e := range entries {
				if e.Action == workflow.CalendarAction {
					calendarEntries++
					if e.Seq != 9 || !strings.Contains(e.Reason, "Thông báo thử nghiệm") {
						t.Errorf("%s calendar entry %+v", code, e)
					}
				}
			}
			if wantEntries := map[string]int{"A": 1, "B": 1, "C": 1, "E": 1}[code]; calendarEntries != wantEntries {
				t.Errorf("batches %v: %s has %d calendar entries, want %d", cut, code, calendarEntries, wantEntries)
			}
			if r, err := h.db.Verify(ctx, code); err != nil || !r.OK {
				t.Errorf("Verify(%s) = %+v, %v", code, r, err)
			}
		}
		if !h.db.Catalog().Calendar().Confirmed(2027) || !h.db.CalendarRecorded() {
			t.Fatal("the announced 2027 is not in force after the event")
		}
		if fs, err := h.db.VerifyStore(ctx); err != nil || len(fs) > 0 {
			t.Fatalf("VerifyStore = %+v, %v", fs, err)
		}
		hash, err := h.db.StateHash(ctx)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, hash)

		// Reopened with the files' calendar (2027 computed), the store goes
		// on with the one its stream put in force.
		h.reopen()
		if !h.db.Catalog().Calendar().Confirmed(2027) || h.db.Catalog().CalendarAt(8).Confirmed(2027) {
			t.Fatal("the store reopened does not go on with its calendars")
		}
		if r, err := h.db.Verify(ctx, "C"); err != nil || !r.OK {
			t.Errorf("Verify(C) after reopening = %+v, %v", r, err)
		}
	}
	for i := range hashes {
		if hashes[i] != hashes[0] {
			t.Fatalf("state hashes differ with the batching: %v", hashes)
		}
	}
}

// TestCalendarEventOutcomes: the event's outcome goes to hoso and says
// how many dossiers it recomputed; a repeat is a duplicate, a calendar
// event from a source is refused, and an event that changes nothing
// records no calendar.
func TestCalendarEventOutcomes(t *testing.T) {
	h := newHarness(t, calendarCatalog(t))
	stream := calendarStream(t)
	res := h.apply(h.envelopes(stream[:9]...))
	out := res.Outcomes[8]
	if out.Kind != workflow.OutcomeAccepted || out.Source != workflow.SystemSource || out.Dossier != workflow.CalendarSubject ||
		!strings.Contains(out.MessageEN, "due dates of 4 dossiers recomputed") {
		t.Fatalf("calendar outcome %+v", out)
	}
	again := *stream[8]
	res = h.apply(h.envelopes(&again))
	if r := res.Outcomes[0]; r.Kind != workflow.OutcomeRejected || r.Reason != workflow.ReasonDuplicate {
		t.Fatalf("the calendar event again: %+v, want a duplicate", r)
	}
	forged := *stream[8]
	forged.ID, forged.Source = "forged", "tayninh"
	res = h.apply(h.envelopes(&forged))
	if r := res.Outcomes[0]; r.Kind != workflow.OutcomeRejected || r.Reason != workflow.ReasonUnknownAction {
		t.Fatalf("a calendar event from tayninh: %+v, want unknown_action", r)
	}
	same := *stream[8]
	same.ID = "calendar/2027/9/x"
	res = h.apply(h.envelopes(&same))
	if o := res.Outcomes[0]; o.Kind != workflow.OutcomeAccepted || !strings.Contains(o.MessageEN, "already in force") {
		t.Fatalf("the calendar in force again: %+v", o)
	}
	var keys []uint64
	err := h.db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte(bucketCalendars)).ForEach(func(k, _ []byte) error {
			keys = append(keys, seqOf(k))
			return nil
		})
	})
	if err != nil || len(keys) != 2 || keys[0] != 0 || keys[1] != 9 {
		t.Fatalf("calendars recorded from %v (%v), want 0 and 9", keys, err)
	}
}

// TestSetStartCalendar: a new store starts with the calendar it is given
// rather than Options.Catalog's, and records it with its first batch;
// after that it keeps its own.
func TestSetStartCalendar(t *testing.T) {
	h := newHarness(t, calendarCatalog(t))
	y, err := workflow.ParseCalendarYear("2027.yaml", []byte(announced2027))
	if err != nil {
		t.Fatal(err)
	}
	start, err := h.cat.Calendar().WithYear(*y)
	if err != nil {
		t.Fatal(err)
	}
	if h.db.CalendarRecorded() {
		t.Fatal("a new store says it recorded a calendar")
	}
	if err := h.db.SetStartCalendar(start); err != nil {
		t.Fatal(err)
	}
	res := h.apply(h.envelopes(calendarStream(t)[0]))
	if res.Accepted != 1 {
		t.Fatalf("%+v", res)
	}
	// A is received in the announced 2027: Tuesday 16 February.
	if d, _ := h.db.Dossier(context.Background(), "A"); !d.Due.Equal(ict(2027, 2, 16, 9, 0)) {
		t.Fatalf("A due %s, want 16 February 09:00", d.Due)
	}
	if err := h.db.SetStartCalendar(h.cat.Calendar()); !errors.Is(err, ErrCalendarRecorded) {
		t.Fatalf("SetStartCalendar after a batch = %v, want ErrCalendarRecorded", err)
	}
	h.reopen()
	if !h.db.Catalog().Calendar().Confirmed(2027) {
		t.Fatal("the calendar the store started with is not kept")
	}
}

// TestVerifyCalendars: verification reads the recorded calendars and
// says which are wrong.
func TestVerifyCalendars(t *testing.T) {
	for _, tc := range []struct {
		name    string
		spoil   func(bk *bbolt.Bucket) error
		problem string
	}{
		{"unreadable", func(bk *bbolt.Bucket) error { return bk.Put(seqKey(9), []byte{recordVersion, 1, 3, 'x', ':', '['}) },
			"the calendar does not read"},
		{"no start", func(bk *bbolt.Bucket) error { return bk.Delete(seqKey(0)) }, "no calendar is recorded for the start of the stream"},
		{"above applied", func(bk *bbolt.Bucket) error {
			return bk.Put(seqKey(99), appendCalendar(nil, calendarCatalog(t).Calendar()))
		},
			"above the applied sequence"},
		{"none", func(bk *bbolt.Bucket) error {
			if err := bk.Delete(seqKey(0)); err != nil {
				return err
			}
			return bk.Delete(seqKey(9))
		}, "no calendar is recorded: the store applied messages"},
	} {
		path := filepath.Join(t.TempDir(), "hoso.db")
		db, err := Open(path, Options{Catalog: calendarCatalog(t), NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		h := &harness{t: t, db: db, path: path, cat: calendarCatalog(t)}
		h.apply(h.envelopes(calendarStream(t)...))
		if err := db.bolt.Update(func(tx *bbolt.Tx) error { return tc.spoil(tx.Bucket([]byte(bucketCalendars))) }); err != nil {
			t.Fatal(err)
		}
		fs, err := db.VerifyStore(context.Background())
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range fs {
			found = found || (f.Bucket == bucketCalendars && strings.Contains(f.Problem, tc.problem))
		}
		if !found {
			t.Errorf("%s: VerifyStore = %+v, want %q", tc.name, fs, tc.problem)
		}
	}
}
