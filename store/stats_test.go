package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/workflow"
)

// sectorCatalog is the shipped standard flows and the feedback flow, with
// standard@2 naming three procedures of two sectors (the others report
// under workflow.SectorOther).
func sectorCatalog(t testing.TB) *workflow.Catalog {
	t.Helper()
	parse := func(name, old, new string) *workflow.Definition {
		b, err := fs.ReadFile(configs.FS, path.Join(configs.DefinitionsDir, name))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Replace(string(b), old, new, 1)
		d, err := workflow.Parse(name, []byte(text))
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		return d
	}
	cat, err := workflow.NewCatalog(
		parse("standard-2018.yaml", "", ""),
		parse("standard.yaml", `procedures: ["*"]`,
			// Levels: 1.004227 and 1.000894 of the commune, the others
			// of the province by the definition's default.
			"level: province\n"+`procedures: ["*", {code: "1.004227", sector: "Hộ tịch", level: commune}, {code: "1.000894", sector: "Hộ tịch", level: commune}, {code: "2.000305", sector: "Tư pháp"}]`),
		parse("feedback.yaml", "", ""),
	)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// truth is the statistics a generated stream must give, kept by the
// generator from what it scripted, without workflow.StatsDelta.
type truth struct {
	flows  map[[4]string]*workflow.Tally // kind, month, agency, procedure
	gauges map[[3]string]*workflow.Tally // kind, agency, procedure
	// received lists the received dossiers with when they finished (zero
	// if they did not), to count those carried over into a period.
	received []received
}

// received is a received dossier of a truth.
type received struct {
	kind              workflow.Kind
	agency, procedure string
	at, finished      time.Time
}

func (tr *truth) flow(kind workflow.Kind, at time.Time, agency, procedure string) *workflow.Tally {
	k := [4]string{string(kind), workflow.Month(at), agency, procedure}
	if tr.flows[k] == nil {
		tr.flows[k] = new(workflow.Tally)
	}
	return tr.flows[k]
}

func (tr *truth) gauge(kind workflow.Kind, agency, procedure string) *workflow.Tally {
	k := [3]string{string(kind), agency, procedure}
	if tr.gauges[k] == nil {
		tr.gauges[k] = new(workflow.Tally)
	}
	return tr.gauges[k]
}

// answer is what a query must return: the sums over the true counters,
// by brute force.
func (tr *truth) answer(cat *workflow.Catalog, q workflow.StatsQuery) workflow.StatsResult {
	kind := q.Kind
	if kind == "" {
		kind = workflow.KindDossier
	}
	var res workflow.StatsResult
	from, to := q.From, q.To
	for k := range tr.flows {
		if k[0] != string(kind) {
			continue
		}
		if q.From == "" && (from == "" || k[1] < from) {
			from = k[1]
		}
		if q.To == "" && k[1] > to {
			to = k[1]
		}
	}
	if from != "" && to != "" {
		res.From, res.To = from, to
	}
	match := func(agency, procedure string) bool {
		return (q.Agency == "" || agency == q.Agency) && (q.Procedure == "" || procedure == q.Procedure) &&
			(q.Sector == "" || cat.Sector(procedure) == q.Sector)
	}
	rows := map[string]workflow.Tally{}
	key := func(month, agency, procedure string) string {
		switch q.By {
		case workflow.ByAgency:
			return agency
		case workflow.ByProcedure:
			return procedure
		case workflow.BySector:
			return cat.Sector(procedure)
		case workflow.ByLevel:
			// By hand, as sectorCatalog sets them.
			switch procedure {
			case "1.004227", "1.000894":
				return string(workflow.LevelCommune)
			case "PAKN": // feedback.yaml gives none
				return string(workflow.LevelOther)
			}
			return string(workflow.LevelProvince)
		}
		return month
	}
	add := func(key string, t workflow.Tally) {
		r := rows[key]
		r.Add(t)
		rows[key] = r
	}
	if q.By == workflow.ByMonth {
		for _, m := range workflow.Months(res.From, res.To) {
			rows[m] = workflow.Tally{}
		}
	}
	carried := map[string]int64{}
	if start, ok := workflow.ParseMonth(res.From); ok {
		for _, d := range tr.received {
			if d.kind == kind && match(d.agency, d.procedure) && d.at.Before(start) && (d.finished.IsZero() || !d.finished.Before(start)) {
				res.CarriedOver++
				if q.By != "" && q.By != workflow.ByMonth {
					k := key("", d.agency, d.procedure)
					carried[k]++
					if _, ok := rows[k]; !ok {
						rows[k] = workflow.Tally{}
					}
				}
			}
		}
	}
	for k, t := range tr.flows {
		if k[0] == string(kind) && res.From != "" && k[1] >= res.From && k[1] <= res.To && match(k[2], k[3]) {
			res.Total.Add(*t)
			if q.By != "" {
				add(key(k[1], k[2], k[3]), *t)
			}
		}
	}
	for k, t := range tr.gauges {
		if k[0] == string(kind) && match(k[1], k[2]) && !t.IsZero() {
			res.Total.Add(*t)
			if q.By != "" && q.By != workflow.ByMonth {
				add(key("", k[1], k[2]), *t)
			}
		}
	}
	for _, k := range slices.Sorted(mapKeys(rows)) {
		row := workflow.StatsRow{Key: k, Tally: rows[k], CarriedOver: carried[k]}
		if q.By == workflow.ByMonth {
			row.Tally, row.Cohort = row.Tally.Cohort(), true
		}
		res.Rows = append(res.Rows, row)
	}
	// The stream closes no period.
	res.AtEndMissing = workflow.PeriodEndMissing(res.To, q.Now)
	return res
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// outcomes the generator scripts for a dossier.
const (
	outReturnedEarly = iota
	outResolvedOnTime
	outLate
	outWithdrawn
	outRefused
	outRefusedAfterReceipt
	outStopped
	outPaused
	outInProgress
	outOverdue
	outApologized
	outApologizedLate
	outApologizedOverdue
	outSubmitted
	outFeedbackEarly
	outFeedbackLate
	outFeedbackOpen
	numOutcomes
)

// knownStream generates n dossiers over 2025 with scripted outcomes, as
// events in time order, and the counts they must give.
func knownStream(r *rand.Rand, n int) ([]*workflow.Event, *truth) {
	tr := &truth{flows: map[[4]string]*workflow.Tally{}, gauges: map[[3]string]*workflow.Tally{}}
	agencies := []string{"H57", "X01", "*SO"} // "*SO" must not mix with the "*" rollups
	procedures := []string{"1.004227", "1.000894", "2.000305", "3.000001"}
	var events []*workflow.Event
	for i := range n {
		code := fmt.Sprintf("K-%05d", i)
		ag := agencies[r.IntN(len(agencies))]
		proc := procedures[r.IntN(len(procedures))]
		out := r.IntN(numOutcomes)
		kind := workflow.KindDossier
		if out >= outFeedbackEarly {
			kind, proc = workflow.KindFeedback, "PAKN"
		}
		recv := time.Date(2025, time.Month(1+r.IntN(12)), 1+r.IntN(28), 8+r.IntN(9), r.IntN(60), 0, 0, workflow.Zone)
		dueAt := time.Date(recv.Year(), recv.Month(), recv.Day()+10, 17, 0, 0, 0, workflow.Zone)
		online := r.IntN(3) == 0 // submitted online, received without digitized inputs
		n := 0                   // the dossier's transitions
		ev := func(action string, at time.Time, opts ...func(*workflow.Event)) {
			n++
			e := event(fmt.Sprintf("%s/%d", code, n), action, code, 0, append([]func(*workflow.Event){agency(ag), procedure(proc)}, opts...)...)
			e.Time, e.Entered = at, at // entered as it happened, unless an option says otherwise
			for _, o := range opts {
				o(e)
			}
			events = append(events, e)
		}
		lateEntry := func(e *workflow.Event) { e.Entered = e.Time.AddDate(0, 0, 20) } // 20 days: more than a working day, Tết included
		f := func(kind workflow.Kind, at time.Time) *workflow.Tally { return tr.flow(kind, at, ag, proc) }
		var finished time.Time // the first finish of a received dossier
		finish := func(at time.Time) {
			f(kind, at).Finished++
			finished = at
		}
		g := tr.gauge(kind, ag, proc)
		why := func(e *workflow.Event) { e.Reason = "lý do" }
		// The assignment records a payment (a quarter online, a quarter
		// at the counter) and a rating 1–5 (five in six), counted in the
		// month of receipt.
		facts := func() func(*workflow.Event) {
			pay, score := r.IntN(4), r.IntN(6)
			c := f(kind, recv)
			if pay < 2 {
				c.Paid++
				if pay == 0 {
					c.PaidOnline++
				}
			}
			if score > 0 {
				c.Rated++
				if score >= 4 {
					c.Satisfied++
				}
			}
			return func(e *workflow.Event) {
				e.Payment = map[int]workflow.Payment{0: workflow.PaymentOnline, 1: workflow.PaymentCounter}[pay]
				e.Satisfaction = score
			}
		}
		receive := func() {
			if kind == workflow.KindFeedback {
				ev("receive", recv)
				f(kind, recv).Received++
				f(kind, recv).ReceivedDesk++ // no channel given, not online
				ev("assign", recv.Add(time.Hour), department("xu-ly"), facts())
				return
			}
			// A channel given on the submission or the receipt, or none:
			// online in part by default when submitted online, else at
			// the desk.
			withChannel := func(c workflow.Channel) func(*workflow.Event) {
				return func(e *workflow.Event) { e.Channel = c }
			}
			given := r.IntN(3)
			if online {
				switch given {
				case 0:
					ev("submit", recv.Add(-time.Hour), withChannel(workflow.ChannelOnlineFull))
					ev("receive", recv, due(dueAt), withChannel(workflow.ChannelDesk)) // the first one given stays
					f(kind, recv).ReceivedOnlineFull++
				case 1:
					ev("submit", recv.Add(-time.Hour))
					ev("receive", recv, due(dueAt), withChannel(workflow.ChannelOnlineFull))
					f(kind, recv).ReceivedOnlineFull++
				default:
					ev("submit", recv.Add(-time.Hour))
					ev("receive", recv, due(dueAt))
					f(kind, recv).ReceivedOnlinePartial++
				}
				f(kind, recv).ReceivedOnline++
			} else {
				if given == 0 {
					ev("receive", recv, attach(workflow.AttachmentInputDigitized), due(dueAt), withChannel(workflow.ChannelPost))
					f(kind, recv).ReceivedPost++
				} else {
					ev("receive", recv, attach(workflow.AttachmentInputDigitized), due(dueAt))
					f(kind, recv).ReceivedDesk++
				}
				f(kind, recv).DigitizedInputs++
			}
			f(kind, recv).Received++
			ev("assign", recv.Add(time.Hour), department("tu-phap"), facts())
		}
		cohort := func() *workflow.Tally { return f(kind, recv) } // the counters of the month of receipt
		resolve := func(at time.Time, timing workflow.Timing) {
			ev("resolve", at, attach(workflow.AttachmentResultElectronic))
			finish(at)
			t, c := f(kind, at), cohort()
			t.Resolved++
			t.ElectronicResults++
			c.CohortResolved++
			c.CohortElectronicResults++
			count := map[workflow.Timing][2]*int64{workflow.TimingEarly: {&t.ResolvedEarly, &c.CohortResolvedEarly},
				workflow.TimingOnTime: {&t.ResolvedOnTime, &c.CohortResolvedOnTime}, workflow.TimingLate: {&t.ResolvedLate, &c.CohortResolvedLate}}
			*count[timing][0]++
			*count[timing][1]++
		}
		giveBack := func(at time.Time, timing workflow.Timing) {
			ev("return", at)
			t, c := f(kind, at), cohort()
			t.Returned++
			c.CohortReturned++
			count := map[workflow.Timing][2]*int64{workflow.TimingEarly: {&t.ReturnedEarly, &c.CohortReturnedEarly},
				workflow.TimingOnTime: {&t.ReturnedOnTime, &c.CohortReturnedOnTime}, workflow.TimingLate: {&t.ReturnedLate, &c.CohortReturnedLate}}
			*count[timing][0]++
			*count[timing][1]++
		}
		switch out {
		case outReturnedEarly:
			receive()
			resolve(recv.Add(48*time.Hour), workflow.TimingEarly)
			giveBack(recv.Add(72*time.Hour), workflow.TimingEarly)
		case outResolvedOnTime:
			receive()
			resolve(dueAt.Add(-3*time.Hour), workflow.TimingOnTime)
			if r.IntN(2) == 0 {
				giveBack(dueAt.Add(-time.Hour), workflow.TimingOnTime)
			} else {
				g.AwaitingReturn++
				cohort().CohortAwaitingReturn++
			}
		case outLate: // often in the next month, in 2026 for December
			receive()
			resolve(dueAt.AddDate(0, 0, 3), workflow.TimingLate)
			giveBack(dueAt.AddDate(0, 0, 4), workflow.TimingLate)
		case outWithdrawn:
			receive()
			ev("withdraw", recv.AddDate(0, 0, 1))
			f(kind, recv.AddDate(0, 0, 1)).Withdrawn++
			finish(recv.AddDate(0, 0, 1))
			cohort().CohortWithdrawn++
		case outRefused: // at the counter: never received
			ev("refuse", recv, attach(workflow.AttachmentRefusalNotice), why)
			f(kind, recv).Refused++
		case outRefusedAfterReceipt: // refused at the desk before it was assigned
			ev("receive", recv, attach(workflow.AttachmentInputDigitized), due(dueAt))
			f(kind, recv).Received++
			f(kind, recv).ReceivedDesk++
			f(kind, recv).DigitizedInputs++
			ev("refuse", recv.Add(30*time.Minute), attach(workflow.AttachmentRefusalNotice), why)
			f(kind, recv.Add(30*time.Minute)).Refused++
			finish(recv.Add(30 * time.Minute))
			cohort().CohortRefused++
		case outStopped:
			receive()
			ev("stop", recv.AddDate(0, 0, 2), attach(workflow.AttachmentStopNotice), why)
			f(kind, recv.AddDate(0, 0, 2)).Stopped++ // finished: not paused
			finish(recv.AddDate(0, 0, 2))
			cohort().CohortStopped++
		case outPaused:
			receive()
			ev("request_supplement", recv.AddDate(0, 0, 1), attach(workflow.AttachmentSupplementRequest))
			g.Paused++
			cohort().CohortPaused++
		case outInProgress: // with a handoff entered late
			receive()
			ev("transfer", recv.Add(2*time.Hour), department("ho-tich"), lateEntry)
			f(kind, recv).LateEntries++
			g.InProgress++
			cohort().CohortInProgress++
		case outOverdue:
			receive()
			e := event(code+"/expired", workflow.DeadlineExpired, code, 0)
			e.Source, e.Due, e.Time = workflow.SystemSource, dueAt, dueAt.Add(time.Minute)
			events = append(events, e)
			g.InProgress++
			g.InProgressOverdue++
			cohort().CohortInProgress++
			cohort().CohortInProgressOverdue++
		case outApologized:
			receive()
			ev("apologize", dueAt.AddDate(0, 0, -1), attach(workflow.AttachmentApologyLetter), why,
				func(e *workflow.Event) { e.NewDue = dueAt.AddDate(0, 0, 10) })
			f(kind, recv).Apologies++
			g.InProgress++
			cohort().CohortInProgress++
		case outApologizedLate: // late against the original due date, before the apology's
			receive()
			newDue := dueAt.AddDate(0, 0, 10)
			ev("apologize", dueAt.AddDate(0, 0, -1), attach(workflow.AttachmentApologyLetter), why,
				func(e *workflow.Event) { e.NewDue = newDue })
			f(kind, recv).Apologies++
			resolve(dueAt.AddDate(0, 0, 3), workflow.TimingLate)
			f(kind, dueAt.AddDate(0, 0, 3)).ResolvedLateApologized++
			cohort().CohortResolvedLateApologized++
			giveBack(dueAt.AddDate(0, 0, 4), workflow.TimingLate)
			f(kind, dueAt.AddDate(0, 0, 4)).ReturnedLateApologized++
			cohort().CohortReturnedLateApologized++
		case outApologizedOverdue: // past the apology's due date too
			receive()
			newDue := dueAt.AddDate(0, 0, 10)
			ev("apologize", dueAt.AddDate(0, 0, -1), attach(workflow.AttachmentApologyLetter), why,
				func(e *workflow.Event) { e.NewDue = newDue })
			f(kind, recv).Apologies++
			e := event(code+"/expired", workflow.DeadlineExpired, code, 0)
			e.Source, e.Due, e.Time = workflow.SystemSource, newDue, newDue.Add(time.Minute)
			events = append(events, e)
			g.InProgress++
			g.InProgressOverdue++
			g.InProgressOverdueApologized++
			cohort().CohortInProgress++
			cohort().CohortInProgressOverdue++
			cohort().CohortInProgressOverdueApologized++
		case outSubmitted:
			ev("submit", recv)
		case outFeedbackEarly: // answered within the hour, published the next day
			receive()
			ev("answer", recv.Add(2*time.Hour), attach("answer_document"))
			finish(recv.Add(2 * time.Hour))
			t := f(kind, recv.Add(2*time.Hour))
			t.Resolved++
			t.ResolvedEarly++
			ev("publish", recv.Add(26*time.Hour))
			t = f(kind, recv.Add(26*time.Hour))
			t.Returned++
			t.ReturnedEarly++
			c := cohort()
			c.CohortResolved++
			c.CohortResolvedEarly++
			c.CohortReturned++
			c.CohortReturnedEarly++
		case outFeedbackLate: // 10 working days are gone after 60 days
			receive()
			ev("answer", recv.AddDate(0, 0, 60), attach("answer_document"))
			finish(recv.AddDate(0, 0, 60))
			t := f(kind, recv.AddDate(0, 0, 60))
			t.Resolved++
			t.ResolvedLate++
			cohort().CohortResolved++
			cohort().CohortResolvedLate++
			g.AwaitingReturn++ // answered, not published
			cohort().CohortAwaitingReturn++
		case outFeedbackOpen:
			receive()
			g.InProgress++
			cohort().CohortInProgress++
		}
		if n > 0 { // received in recv's month, or created in it (submitted an hour before, refused at the counter)
			f(kind, recv).Transitions += int64(n)
		}
		if out != outRefused && out != outSubmitted {
			tr.received = append(tr.received, received{kind, ag, proc, recv, finished})
		}
	}
	slices.SortStableFunc(events, func(a, b *workflow.Event) int { return a.Time.Compare(b.Time) })
	return events, tr
}

// applyRandomBatches applies the envelopes in batches of random sizes
// and fails the test on any rejection when strict.
func applyRandomBatches(t *testing.T, h *harness, r *rand.Rand, envs []workflow.Envelope, strict bool) {
	t.Helper()
	for len(envs) > 0 {
		n := min(1+r.IntN(64), len(envs))
		res := h.apply(envs[:n])
		if strict && res.Rejected > 0 {
			for _, o := range res.Outcomes {
				if o.Kind == workflow.OutcomeRejected {
					t.Fatalf("%s %s rejected: %s", o.Dossier, o.Action, o.MessageEN)
				}
			}
		}
		envs = envs[n:]
	}
}

// TestStatsKnownCounts applies a generated stream whose true counts are
// known, in random batches, and checks every kind of query against them.
func TestStatsKnownCounts(t *testing.T) {
	cat := sectorCatalog(t)
	h := newHarness(t, cat)
	r := rand.New(rand.NewPCG(3, 2025))
	events, tr := knownStream(r, 1500)
	applyRandomBatches(t, h, r, h.envelopes(events...), true)

	queries := []workflow.StatsQuery{
		{},
		{From: "2025-01", To: "2025-12"},
		{From: "2025-01", To: "2025-12", By: workflow.ByMonth},
		{By: workflow.ByAgency},
		{From: "2025-04", By: workflow.ByProcedure},
		{To: "2025-09", By: workflow.BySector},
		{Agency: "*SO", By: workflow.ByProcedure},
		{Agency: "X01", Procedure: "2.000305", By: workflow.ByMonth},
		{Procedure: "1.004227", By: workflow.ByAgency},
		{Sector: "Hộ tịch"},
		{Sector: "Hộ tịch", By: workflow.ByAgency},
		{Sector: workflow.SectorOther, By: workflow.ByMonth, From: "2025-06", To: "2025-08"},
		{Sector: "Tư pháp", Procedure: "1.004227"}, // a procedure of another sector: nothing
		{Sector: "Hộ tịch", Procedure: "1.000894", Agency: "H57", By: workflow.BySector},
		{By: workflow.ByLevel},
		{From: "2025-04", To: "2025-06", Agency: "H57", By: workflow.ByLevel},
		{Sector: "Hộ tịch", By: workflow.ByLevel},
		{Kind: workflow.KindFeedback, By: workflow.ByLevel},
		{From: "2025-03", To: "2025-05", Agency: "H57", Procedure: "1.004227", By: workflow.ByMonth},
		{Agency: "*", By: workflow.ByProcedure},  // no agency is "*": nothing but…
		{Agency: "**SO", By: workflow.ByMonth},   // …nor "**SO"
		{From: "2030-01", To: "2030-12"},         // gauges only
		{From: "2026-01", By: workflow.ByAgency}, // late December dossiers
		{Kind: workflow.KindFeedback},
		{Kind: workflow.KindFeedback, By: workflow.BySector},
		{Kind: workflow.KindFeedback, From: "2025-12", By: workflow.ByMonth},
	}
	for _, q := range queries {
		got, err := h.db.Stats(context.Background(), q)
		if err != nil {
			t.Fatalf("Stats(%+v) = %v", q, err)
		}
		want := tr.answer(cat, q)
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Stats(%+v) (-true +got):\n%s", q, diff)
		}
	}
	// Both levels have dossiers.
	if res, err := h.db.Stats(context.Background(), workflow.StatsQuery{By: workflow.ByLevel}); err != nil || len(res.Rows) != 2 ||
		res.Rows[0].Key != "commune" || res.Rows[1].Key != "province" || res.Rows[0].Tally.Received == 0 || res.Rows[1].Tally.Received == 0 {
		t.Errorf("Stats(by level) = %+v, %v; want commune and province, each with receipts", res.Rows, err)
	}
	// The stream is not trivial: every counter is exercised.
	all, _ := h.db.Stats(context.Background(), workflow.StatsQuery{})
	fb, _ := h.db.Stats(context.Background(), workflow.StatsQuery{Kind: workflow.KindFeedback})
	all.Total.Add(fb.Total)
	for i, f := range all.Total.Fields() {
		if *f == 0 {
			t.Errorf("counter %d of %+v is never exercised", i, all.Total)
		}
	}
	if all.From != "2025-01" || all.To != "2026-01" {
		t.Errorf("unbounded period %s..%s, want 2025-01..2026-01", all.From, all.To)
	}
}

// TestStatsProvinceShape checks the headline numbers of a hand-made set of
// 20 dossiers received in October 2025.
func TestStatsProvinceShape(t *testing.T) {
	h := newHarness(t, nil)
	dueAt := time.Date(2025, 10, 20, 17, 0, 0, 0, workflow.Zone)
	day := func(d, hour int) func(*workflow.Event) {
		return func(e *workflow.Event) { e.Time = time.Date(2025, 10, d, hour, 0, 0, 0, workflow.Zone) }
	}
	var events []*workflow.Event
	for i := range 20 {
		code := fmt.Sprintf("P-%02d", i)
		id := func(n int) string { return fmt.Sprintf("%s/%d", code, n) }
		if i < 2 { // submitted online: received without digitized inputs
			events = append(events, event(id(0), "submit", code, 0, day(1, 8)),
				event(id(1), "receive", code, 0, day(1, 9), due(dueAt)))
		} else {
			events = append(events, event(id(1), "receive", code, 0, day(1, 9), due(dueAt), attach(workflow.AttachmentInputDigitized)))
		}
		events = append(events, event(id(2), "assign", code, 0, day(2, 9), department("tu-phap")))
		switch {
		case i < 10: // resolved early; returned early
			events = append(events, event(id(3), "resolve", code, 0, day(10, 9), attach(workflow.AttachmentResultElectronic)),
				event(id(4), "return", code, 0, day(11, 9)))
		case i < 13: // resolved on the due date; two returned late
			events = append(events, event(id(3), "resolve", code, 0, day(20, 9), attach(workflow.AttachmentResultElectronic)))
			if i < 12 {
				events = append(events, event(id(4), "return", code, 0, day(21, 9)))
			}
		case i < 15: // resolved late
			events = append(events, event(id(3), "resolve", code, 0, day(24, 9), attach(workflow.AttachmentResultElectronic)))
		case i < 17: // in progress
		case i < 18: // in progress, overdue
			e := event(id(3), workflow.DeadlineExpired, code, 0, day(20, 18), due(dueAt))
			e.Source = workflow.SystemSource
			events = append(events, e)
		case i < 19:
			events = append(events, event(id(3), "request_supplement", code, 0, day(3, 9), attach(workflow.AttachmentSupplementRequest)))
		default:
			events = append(events, event(id(3), "withdraw", code, 0, day(3, 9)))
		}
	}
	slices.SortStableFunc(events, func(a, b *workflow.Event) int { return a.Time.Compare(b.Time) })
	for _, res := range h.applyEach(events...) {
		if res.Rejected != 0 {
			t.Fatalf("rejected: %+v", res.Outcomes[0])
		}
	}
	res, err := h.db.Stats(context.Background(), workflow.StatsQuery{From: "2025-10", To: "2025-10"})
	if err != nil {
		t.Fatal(err)
	}
	got := workflow.NewReport(res.Total, workflow.ReportOptions{})
	want := workflow.Report{
		Kind: workflow.KindDossier, LateRule: workflow.LateByProcessing, Counting: workflow.CountingPeriod, Rates: workflow.DefaultRates(), HeadlineRate: 65,
		Received: 20, Resolved: 15, Early: 10, OnTime: 3, Late: 2, LateWithoutApology: 2, Returned: 12, Withdrawn: 1,
		// Transitions: 2 × 3 (submitted, received, assigned) + 18 × 2, then
		// 10 × 2 + 2 × 2 + 1 + 2 × 1 resolved and returned, 1 supplement
		// request, 1 withdrawal.
		Transitions: 71,
		// No channel given: the 2 submitted online in part, the others at
		// the desk.
		ReceivedDesk: 18, ReceivedOnlinePartial: 2,
		DigitizedInputs: 18, ElectronicResults: 15, ReceivedOnline: 2, InProgress: 3, InProgressOverdue: 1, InProgressOverdueWithoutApology: 1, Paused: 1,
		AwaitingReturn: 3, // one resolved on the due date, two late, none returned
		OnTimeRate:     86.66, ReceivedOnTimeRate: 65, LateRate: 10, DigitizedRate: 90, OnlineRate: 10, ElectronicResultRate: 100,
		InProgressOverdueRate: 33.33,
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(workflow.Report{}, "Bases")); diff != "" {
		t.Errorf("report of the 20 dossiers (-want +got):\n%s", diff)
	}
	got = workflow.NewReport(res.Total, workflow.ReportOptions{LateRule: workflow.LateByReturn})
	if got.Resolved != 12 || got.Early != 10 || got.OnTime != 0 || got.Late != 2 || got.OnTimeRate != 83.33 || got.LateRate != 10 {
		t.Errorf("report late by return: %+v", got)
	}
}

// randomStream generates n events over dossiers of every shipped flow:
// random actions, often illegal, out of order or stale, with random
// attachments, deadline expiries and apologies.
func randomStream(r *rand.Rand, n int) []*workflow.Event {
	actions := []string{"submit", "receive", "receive", "refuse", "assign", "assign", "transfer", "request_supplement",
		"supplement", "request_payment", "pay", "withdraw", "stop", "resolve", "resolve", "return", "return", "apologize",
		"send_to_tax", "answer", "publish", workflow.DeadlineExpired, workflow.DeadlineExpired}
	procedures := []string{"1.004227", "2.000305", "DD.002", "PAKN"}
	type dossier struct {
		code, agency, procedure string
		at, due                 time.Time
	}
	ds := make([]*dossier, 1+n/6)
	for i := range ds {
		ds[i] = &dossier{code: fmt.Sprintf("R-%04d", i), agency: []string{"H57", "X01", "*"}[r.IntN(3)],
			procedure: procedures[r.IntN(len(procedures))],
			at:        time.Date(2025, time.Month(1+r.IntN(12)), 1+r.IntN(28), 8, 0, 0, 0, workflow.Zone)}
	}
	var events []*workflow.Event
	for i := range n {
		d := ds[r.IntN(len(ds))]
		action := actions[r.IntN(len(actions))]
		d.at = d.at.Add(time.Duration(r.IntN(5*24)) * time.Hour)
		at := d.at
		if r.IntN(20) == 0 {
			at = at.AddDate(0, 0, -3) // out of order
		}
		e := event(fmt.Sprintf("ev-%d", i), action, d.code, 0, agency(d.agency), procedure(d.procedure), department("p"),
			attach(workflow.AttachmentRefusalNotice, workflow.AttachmentSupplementRequest, workflow.AttachmentStopNotice,
				workflow.AttachmentApologyLetter, "answer_document", "cadastral_data"))
		e.Time, e.Reason = at, "lý do"
		if r.IntN(2) == 0 {
			attach(workflow.AttachmentInputDigitized)(e)
		}
		if r.IntN(2) == 0 {
			attach(workflow.AttachmentResultElectronic)(e)
		}
		switch action {
		case "receive":
			d.due = at.AddDate(0, 0, 5+r.IntN(10))
			e.Due = d.due
		case "apologize":
			e.NewDue = d.due.AddDate(0, 0, 7)
			d.due = e.NewDue
		case workflow.DeadlineExpired:
			e.Source, e.Due, e.Time = workflow.SystemSource, d.due, d.due.Add(time.Minute)
		}
		if r.IntN(50) == 0 {
			e.ID = "ev-0" // a duplicate
		}
		events = append(events, e)
	}
	return events
}

// TestStatsRandomStream applies random streams in random batches; the
// harness then recounts every statistics row from the dossiers
// (checkInvariants).
func TestStatsRandomStream(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			h := newHarness(t, nil)
			r := rand.New(rand.NewPCG(seed, 7))
			envs := h.envelopes(randomStream(r, 3000)...)
			applyRandomBatches(t, h, r, envs, false)
			res, err := h.db.Stats(context.Background(), workflow.StatsQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Total.Received == 0 || res.Total.Resolved == 0 || res.Total.InProgressOverdue+res.Total.Paused == 0 {
				t.Errorf("random stream exercises little: %+v", res.Total)
			}
		})
	}
}

// TestStatsReplay applies the same envelopes into two fresh stores, one
// envelope per batch and 100 per batch: the statistics rows are byte for
// byte the same.
func TestStatsReplay(t *testing.T) {
	a, b := newHarness(t, nil), newHarness(t, nil)
	r := rand.New(rand.NewPCG(11, 12))
	envs := a.envelopes(randomStream(r, 2000)...)
	for _, env := range envs {
		a.apply([]workflow.Envelope{env})
	}
	for i := 0; i < len(envs); i += 100 {
		b.apply(envs[i:min(i+100, len(envs))])
	}
	dump := func(h *harness) (rows [][2][]byte) {
		err := h.db.view(context.Background(), func(bk *buckets) error {
			for _, x := range []string{bucketStats, bucketGauges} {
				rows = append(rows, [2][]byte{[]byte("bucket"), []byte(x)})
				forEach(t, bk.tx.Bucket([]byte(x)), func(k, v []byte) {
					rows = append(rows, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
				})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	ra, rb := dump(a), dump(b)
	if len(ra) < 50 {
		t.Fatalf("only %d statistics rows", len(ra))
	}
	if diff := cmp.Diff(ra, rb); diff != "" {
		t.Errorf("statistics rows differ between batches of 1 and of 100 (-1 +100):\n%s", diff)
	}
}

func TestStatsInvalidQuery(t *testing.T) {
	h := newHarness(t, nil)
	for _, q := range []workflow.StatsQuery{{From: "2025-13"}, {By: "colour"}, {Kind: "x"}, {From: "2025-02", To: "2025-01"}} {
		if _, err := h.db.Stats(context.Background(), q); !errors.Is(err, workflow.ErrInvalidStatsQuery) {
			t.Errorf("Stats(%+v) = %v, want ErrInvalidStatsQuery", q, err)
		}
	}
	res, err := h.db.Stats(context.Background(), workflow.StatsQuery{By: workflow.ByMonth})
	if err != nil || res.From != "" || len(res.Rows) != 0 || !res.Total.IsZero() {
		t.Errorf("Stats of an empty store = %+v, %v", res, err)
	}
}

func TestTallyCodec(t *testing.T) {
	var tally workflow.Tally
	for i, f := range tally.Fields() {
		*f = int64(i+1) << (2 * i)
	}
	got, err := decodeTally(encodeTally(&tally))
	if err != nil || got != tally {
		t.Fatalf("decodeTally(encodeTally(%+v)) = %+v, %v", tally, got, err)
	}
	// A row of an older layout, with fewer counters, reads with zeros.
	got, err = decodeTally(encodeTally(&tally)[:16])
	if err != nil || got != (workflow.Tally{Received: 1, Resolved: 8}) {
		t.Fatalf("decodeTally(2 counters) = %+v, %v", got, err)
	}
	for _, n := range []int{7, tallySize + 8} {
		if _, err := decodeTally(make([]byte, n)); err == nil {
			t.Errorf("decodeTally(%d bytes) = nil error", n)
		}
	}
}

// BenchmarkTallyCodec compares the fixed-width encoding of a row with
// JSON.
func BenchmarkTallyCodec(b *testing.B) {
	var tally workflow.Tally
	for i, f := range tally.Fields() {
		*f = int64(1000 + i*7919)
	}
	b.Run("binary", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeTally(encodeTally(&tally)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(encodeTally(&tally))), "bytes/row")
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, _ := json.Marshal(&tally)
			var t workflow.Tally
			if err := json.Unmarshal(v, &t); err != nil {
				b.Fatal(err)
			}
		}
		v, _ := json.Marshal(&tally)
		b.ReportMetric(float64(len(v)), "bytes/row")
	})
}

// BenchmarkStatsProvinceYear measures queries over a province-year: 100,000
// dossiers received over the 12 months of 2025 by 40 agencies in 30
// procedures, of every outcome. The rows are written by the code Apply
// uses (statsDeltas, one transaction per 1,000 dossiers) from dossiers
// built directly rather than decided from events, to keep the setup short;
// the dossiers bucket stays empty, which a query never reads anyway.
func BenchmarkStatsProvinceYear(b *testing.B) {
	cat := shippedCatalog(b)
	db, err := Open(filepath.Join(b.TempDir(), "hoso.db"), Options{Catalog: cat, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const dossiers, agencies, procedures, chunk = 100_000, 40, 30, 1000
	for start := 0; start < dossiers; start += chunk {
		err := db.update(context.Background(), func(bk *buckets) error {
			s := newStatsDeltas()
			for i := start; i < start+chunk; i++ {
				s.add(cat, nil, benchDossier(i, agencies, procedures))
			}
			return s.write(bk)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	for _, q := range []struct {
		name     string
		q        workflow.StatsQuery
		received int64
	}{
		{"total", workflow.StatsQuery{From: "2025-01", To: "2025-12"}, dossiers},
		{"by=month", workflow.StatsQuery{From: "2025-01", To: "2025-12", By: workflow.ByMonth}, dossiers},
		{"by=agency", workflow.StatsQuery{From: "2025-01", To: "2025-12", By: workflow.ByAgency}, dossiers},
		{"by=procedure", workflow.StatsQuery{From: "2025-01", To: "2025-12", By: workflow.ByProcedure}, dossiers},
		{"by=sector", workflow.StatsQuery{From: "2025-01", To: "2025-12", By: workflow.BySector}, dossiers},
		{"agency+by=procedure", workflow.StatsQuery{From: "2025-01", To: "2025-12", Agency: "A07", By: workflow.ByProcedure}, dossiers / agencies},
		{"sector+by=agency", workflow.StatsQuery{From: "2025-01", To: "2025-12", Sector: workflow.SectorOther, By: workflow.ByAgency}, dossiers},
	} {
		b.Run(q.name, func(b *testing.B) {
			var res workflow.StatsResult
			b.ReportAllocs()
			for b.Loop() {
				if res, err = db.Stats(ctx, q.q); err != nil {
					b.Fatal(err)
				}
			}
			if res.Total.Received != q.received {
				b.Fatalf("received %d, want %d", res.Total.Received, q.received)
			}
			b.ReportMetric(float64(len(res.Rows)), "rows")
		})
	}
}

// benchDossier returns dossier i of the benchmark's province-year.
func benchDossier(i, agencies, procedures int) *workflow.Dossier {
	recv := time.Date(2025, time.Month(1+i%12), 1+i%28, 9, 0, 0, 0, workflow.Zone)
	d := &workflow.Dossier{
		Code: fmt.Sprintf("B-%06d", i), Agency: fmt.Sprintf("A%02d", i%agencies), Procedure: fmt.Sprintf("1.%06d", (i/agencies)%procedures),
		Definition: "standard", Version: 2, Status: workflow.StatusProcessing, ReceivedAt: recv, CreatedAt: recv, UpdatedAt: recv,
		Due: recv.AddDate(0, 0, 10), Attachments: []string{workflow.AttachmentInputDigitized},
	}
	switch i % 10 {
	case 0, 1, 2, 3, 4, 5:
		d.Status, d.ResolvedAt = workflow.StatusResolved, recv.AddDate(0, 0, 5+i%8)
		d.Attachments = append(d.Attachments, workflow.AttachmentResultElectronic)
		if i%2 == 0 {
			d.Status, d.Terminal, d.ReturnedAt = workflow.StatusReturned, true, d.ResolvedAt.AddDate(0, 0, 1)
		}
	case 6:
		d.Status, d.PausedAt = workflow.StatusSupplement, recv.AddDate(0, 0, 2)
	case 7:
		d.Status, d.Terminal, d.UpdatedAt = workflow.StatusWithdrawn, true, recv.AddDate(0, 0, 1)
	case 8:
		d.Overdue = true
	}
	return d
}

// TestStatsKeyLayout checks the rows one dossier leaves, key by key: the
// row of its agency and procedure and the three rollups, in the month of
// each flow; its gauge rows go once it is finished.
func TestStatsKeyLayout(t *testing.T) {
	h := newHarness(t, nil)
	flow := standardFlow(code1, 0) // received, resolved and returned in August 2025
	keys := func(name string) map[string]workflow.Tally {
		out := map[string]workflow.Tally{}
		err := h.db.view(context.Background(), func(b *buckets) error {
			forEach(t, b.tx.Bucket([]byte(name)), func(k, v []byte) {
				tally, err := decodeTally(v)
				if err != nil {
					t.Fatal(err)
				}
				out[string(k)] = tally
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	h.applyEach(flow[:2]...) // received and assigned: in progress
	inProgress := workflow.Tally{InProgress: 1}
	want := map[string]workflow.Tally{
		"d000.00.12.H57\x001.004227": inProgress, "d000.00.12.H57\x00*": inProgress,
		"d*\x001.004227": inProgress, "d*\x00*": inProgress,
	}
	if diff := cmp.Diff(want, keys(bucketGauges)); diff != "" {
		t.Errorf("gauges rows in progress (-want +got):\n%s", diff)
	}
	h.applyEach(flow[2:]...)
	if got := keys(bucketGauges); len(got) != 0 {
		t.Errorf("gauges rows of a returned dossier: %v, want none", got)
	}
	august := workflow.Tally{Received: 1, Resolved: 1, Returned: 1, ResolvedEarly: 1, ReturnedEarly: 1, DigitizedInputs: 1, ElectronicResults: 1,
		Transitions: 5, Finished: 1, CohortResolved: 1, CohortResolvedEarly: 1, CohortReturned: 1, CohortReturnedEarly: 1, CohortElectronicResults: 1,
		ReceivedDesk: 1} // no channel given, received at the counter
	want = map[string]workflow.Tally{
		"d2025-08\x00000.00.12.H57\x001.004227": august, "d2025-08\x00000.00.12.H57\x00*": august,
		"d2025-08\x00*\x001.004227": august, "d2025-08\x00*\x00*": august,
	}
	if diff := cmp.Diff(want, keys(bucketStats)); diff != "" {
		t.Errorf("stats rows (-want +got):\n%s", diff)
	}
}

// BenchmarkStatsBatch measures what the statistics add to a batch of 256
// events touching 256 dossiers (compare BenchmarkApplyBatchNoSync): the
// deltas of 256 resolutions, across 40 agencies and 30 procedures, added
// to rows already there, in a transaction rolled back after each batch.
func BenchmarkStatsBatch(b *testing.B) {
	cat := shippedCatalog(b)
	db, err := Open(filepath.Join(b.TempDir(), "hoso.db"), Options{Catalog: cat, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const n, agencies, procedures = 256, 40, 30
	olds, news := make([]*workflow.Dossier, n), make([]*workflow.Dossier, n)
	for i := range n {
		olds[i] = benchDossier(i*10+9, agencies, procedures) // in progress
		news[i] = olds[i].Clone()
		news[i].Status, news[i].ResolvedAt = workflow.StatusResolved, olds[i].ReceivedAt.AddDate(0, 0, 3)
		news[i].Attachments = append(news[i].Attachments, workflow.AttachmentResultElectronic)
	}
	err = db.update(context.Background(), func(bk *buckets) error {
		s := newStatsDeltas()
		for i := range 100_000 {
			s.add(cat, nil, benchDossier(i, agencies, procedures))
		}
		return s.write(bk)
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		tx, err := db.bolt.Begin(true)
		if err != nil {
			b.Fatal(err)
		}
		bk, err := openBuckets(tx)
		if err != nil {
			b.Fatal(err)
		}
		s := newStatsDeltas()
		for i := range n {
			s.add(cat, olds[i], news[i])
		}
		if err := s.write(bk); err != nil {
			b.Fatal(err)
		}
		tx.Rollback()
	}
}

// scriptStep is an action of a scripted dossier on a day of 2025 at 9:00.
type scriptStep struct {
	action     string
	month, day int
}

// scripted returns the events of a dossier of the agency taking the steps,
// each with what its guards ask for: a receipt with digitized inputs and a
// due date two weeks ahead, a department, the result, a notice and reason.
func scripted(code string, opts []func(*workflow.Event), steps ...scriptStep) []*workflow.Event {
	out := make([]*workflow.Event, len(steps))
	for i, s := range steps {
		at := time.Date(2025, time.Month(s.month), s.day, 9, 0, 0, 0, workflow.Zone)
		e := event(fmt.Sprintf("%s/%d", code, i), s.action, code, 0, opts...)
		e.Time, e.Entered = at, at
		switch s.action {
		case "receive":
			attach(workflow.AttachmentInputDigitized)(e)
			e.Due = at.AddDate(0, 0, 14)
		case "assign", "transfer":
			e.Department = "tu-phap"
		case "resolve":
			attach(workflow.AttachmentResultElectronic)(e)
		case "refuse":
			attach(workflow.AttachmentRefusalNotice)(e)
			e.Reason = "không đủ điều kiện"
		case "stop":
			attach(workflow.AttachmentStopNotice)(e)
			e.Reason = "theo yêu cầu của cơ quan có thẩm quyền"
		case "request_supplement":
			attach(workflow.AttachmentSupplementRequest)(e)
		case "answer":
			attach("answer_document")(e)
		}
		out[i] = e
	}
	return out
}

// carryStream is twelve dossiers over July to September 2025, counted by
// hand in TestStatsCarriedOver: agency H57 received in July, X01 from
// August.
func carryStream() []*workflow.Event {
	var events []*workflow.Event
	for _, d := range []struct {
		code, agency string
		steps        []scriptStep
	}{
		{"A1", "H57", []scriptStep{{"receive", 7, 10}, {"assign", 7, 11}, {"resolve", 7, 20}}},
		{"A2", "H57", []scriptStep{{"receive", 7, 15}, {"assign", 7, 16}, {"resolve", 8, 5}, {"return", 8, 6}}},
		{"A3", "H57", []scriptStep{{"receive", 7, 20}, {"withdraw", 8, 10}}},
		{"A4", "H57", []scriptStep{{"receive", 7, 25}, {"assign", 7, 28}, {"stop", 9, 3}}},
		{"A5", "H57", []scriptStep{{"receive", 7, 28}, {"assign", 7, 29}}},
		{"A6", "H57", []scriptStep{{"receive", 7, 29}, {"refuse", 7, 30}}},
		{"A7", "H57", []scriptStep{{"submit", 7, 30}, {"withdraw", 8, 2}}}, // never received
		{"A8", "H57", []scriptStep{{"refuse", 7, 31}}},                     // refused at the counter
		{"B1", "X01", []scriptStep{{"receive", 8, 5}, {"assign", 8, 6}, {"resolve", 8, 25}}},
		{"B2", "X01", []scriptStep{{"receive", 8, 20}, {"assign", 8, 21}, {"resolve", 9, 10}}},
		{"B3", "X01", []scriptStep{{"receive", 8, 25}, {"assign", 8, 26}, {"request_supplement", 8, 28}}},
		{"C1", "X01", []scriptStep{{"receive", 9, 5}}},
	} {
		events = append(events, scripted(d.code, []func(*workflow.Event){agency(d.agency)}, d.steps...)...)
	}
	slices.SortStableFunc(events, func(a, b *workflow.Event) int { return a.Time.Compare(b.Time) })
	return events
}

// TestStatsCarriedOver: the dossiers carried over into a period (tồn kỳ
// trước chuyển sang) are those received before it and not finished
// (resolved, withdrawn, stopped, refused after receipt) at its start.
func TestStatsCarriedOver(t *testing.T) {
	h := newHarness(t, nil)
	for _, res := range h.applyEach(carryStream()...) {
		if res.Rejected != 0 {
			t.Fatalf("rejected: %+v", res.Outcomes[0])
		}
	}
	for _, tt := range []struct {
		from string
		want int64
		// by agency
		h57, x01 int64
	}{
		{"2025-07", 0, 0, 0}, // nothing before July
		// Received before August: A1–A6; finished in July: A1 (resolved),
		// A6 (refused after receipt). Carried over: A2, A3, A4, A5.
		{"2025-08", 4, 4, 0},
		// Received before September: A1–A6, B1–B3; finished by then: A1,
		// A6, A2 (resolved 5/8), A3 (withdrawn), B1 (resolved). Carried
		// over: A4, A5 of H57, B2, B3 of X01.
		{"2025-09", 4, 2, 2},
		// Before October: C1 too; A4 stopped and B2 resolved in
		// September. Carried over: A5, B3, C1.
		{"2025-10", 3, 1, 2},
	} {
		res, err := h.db.Stats(context.Background(), workflow.StatsQuery{From: tt.from, To: tt.from})
		if err != nil {
			t.Fatal(err)
		}
		if res.CarriedOver != tt.want {
			t.Errorf("Stats(from %s): carried over %d, want %d", tt.from, res.CarriedOver, tt.want)
		}
		res, err = h.db.Stats(context.Background(), workflow.StatsQuery{From: tt.from, To: "2025-12", By: workflow.ByAgency})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, r := range res.Rows {
			got[r.Key] = r.CarriedOver
		}
		if res.CarriedOver != tt.want || got["H57"] != tt.h57 || got["X01"] != tt.x01 {
			t.Errorf("Stats(from %s, by agency): carried over %d, H57 %d, X01 %d; want %d, %d, %d",
				tt.from, res.CarriedOver, got["H57"], got["X01"], tt.want, tt.h57, tt.x01)
		}
		if r := res.Report(workflow.ReportOptions{}); r.CarriedOver != tt.want {
			t.Errorf("Stats(from %s).Report: carried over %d, want %d", tt.from, r.CarriedOver, tt.want)
		}
	}
	// Filters apply: X01 from September.
	res, err := h.db.Stats(context.Background(), workflow.StatsQuery{From: "2025-09", Agency: "X01"})
	if err != nil || res.CarriedOver != 2 {
		t.Errorf("Stats(from 2025-09, X01): carried over %d, %v; want 2", res.CarriedOver, err)
	}
}

// TestStatsMonthRowsAreCohorts: a month row describes the dossiers
// received in the month, so each of its rates is a share of one cohort,
// at most 100%: here citizens' feedback answered in the month after it
// was received, which counted by the month of each event showed October
// with 3 answers of 2 received (150%).
func TestStatsMonthRowsAreCohorts(t *testing.T) {
	h := newHarness(t, nil)
	var events []*workflow.Event
	pakn := []func(*workflow.Event){procedure("PAKN")}
	for _, d := range []struct {
		code  string
		steps []scriptStep
	}{
		// Received in September: answered in September, October (twice,
		// once 21 days after receipt: late against 10 working days), one
		// still open.
		{"F1", []scriptStep{{"receive", 9, 22}, {"assign", 9, 22}, {"answer", 9, 29}, {"publish", 9, 30}}},
		{"F2", []scriptStep{{"receive", 9, 23}, {"assign", 9, 23}, {"answer", 10, 2}}},
		{"F3", []scriptStep{{"receive", 9, 24}, {"assign", 9, 24}, {"answer", 10, 15}, {"publish", 10, 16}}},
		{"F4", []scriptStep{{"receive", 9, 25}, {"assign", 9, 25}}},
		// October: both answered, one in November.
		{"F5", []scriptStep{{"receive", 10, 20}, {"assign", 10, 20}, {"answer", 10, 27}}},
		{"F6", []scriptStep{{"receive", 10, 21}, {"assign", 10, 21}, {"answer", 11, 3}}},
		// November: one answered, one open.
		{"F7", []scriptStep{{"receive", 11, 10}, {"assign", 11, 10}, {"answer", 11, 12}}},
		{"F8", []scriptStep{{"receive", 11, 20}}},
	} {
		events = append(events, scripted(d.code, pakn, d.steps...)...)
	}
	slices.SortStableFunc(events, func(a, b *workflow.Event) int { return a.Time.Compare(b.Time) })
	for _, res := range h.applyEach(events...) {
		if res.Rejected != 0 {
			t.Fatalf("rejected: %+v", res.Outcomes[0])
		}
	}
	res, err := h.db.Stats(context.Background(), workflow.StatsQuery{Kind: workflow.KindFeedback, From: "2025-09", To: "2025-11", By: workflow.ByMonth})
	if err != nil {
		t.Fatal(err)
	}
	type cohort struct {
		received, answered, early, late, open, published int64
		answeredRate, onTimeRate, lateRate               float64
	}
	want := map[string]cohort{
		// 3 of 4 answered (75%), 2 of them early (66.66% of 3), 1 late
		// (25% of 4 received); F4 open; F1 and F3 published.
		"2025-09": {4, 3, 2, 1, 1, 2, 75, 66.66, 25},
		"2025-10": {2, 2, 2, 0, 0, 0, 100, 100, 0},
		"2025-11": {2, 1, 1, 0, 1, 0, 50, 100, 0},
	}
	if len(res.Rows) != 3 {
		t.Fatalf("Stats(by month) rows %+v, want September to November", res.Rows)
	}
	for _, row := range res.Rows {
		r := row.Report(workflow.ReportOptions{Kind: workflow.KindFeedback})
		got := cohort{r.Received, r.Resolved, r.Early, r.Late, r.InProgress, r.Returned, r.FeedbackAnsweredRate, r.OnTimeRate, r.LateRate}
		if got != want[row.Key] {
			t.Errorf("month %s: %+v, want %+v", row.Key, got, want[row.Key])
		}
		if r.Counting != workflow.CountingCohort {
			t.Errorf("month %s is counted %q, want %q", row.Key, r.Counting, workflow.CountingCohort)
		}
		for name, v := range map[string]float64{"answered": r.FeedbackAnsweredRate, "on time": r.OnTimeRate, "late": r.LateRate, "headline": r.HeadlineRate} {
			if v > 100 {
				t.Errorf("month %s: %s rate %v%% over 100", row.Key, name, v)
			}
		}
	}
	// The period's total keeps the flows of its months: the eight received,
	// the six answered (the province headline mixes flows over receipts).
	if r := res.Report(workflow.ReportOptions{Kind: workflow.KindFeedback}); r.Received != 8 || r.Resolved != 6 || r.Counting != workflow.CountingPeriod {
		t.Errorf("total: received %d, answered %d, counted %q; want 8, 6, %q", r.Received, r.Resolved, r.Counting, workflow.CountingPeriod)
	}
	// October alone: its flows (three answers of two receipts) in the total,
	// its cohort in its row.
	res, err = h.db.Stats(context.Background(), workflow.StatsQuery{Kind: workflow.KindFeedback, From: "2025-10", To: "2025-10", By: workflow.ByMonth})
	if err != nil || res.Total.Resolved != 3 || len(res.Rows) != 1 || res.Rows[0].Report(workflow.ReportOptions{}).Resolved != 2 {
		t.Errorf("Stats(October by month) = %+v, %v; want 3 answered in the total, 2 in the row", res, err)
	}
}

// TestStatsReturnWait: the dossiers resolved and not yet returned (status
// 9), and how long they have waited since, in working days (07:00–11:30,
// 13:30–17:00; October 2025 has no day off but its weekends), at 10:00 on
// Monday 20 October 2025.
func TestStatsReturnWait(t *testing.T) {
	h := newHarness(t, nil)
	at := func(day, hour, minute int) time.Time {
		return time.Date(2025, 10, day, hour, minute, 0, 0, workflow.Zone)
	}
	var events []*workflow.Event
	resolved := func(code, ag string, when time.Time, more ...string) {
		e := scripted(code, []func(*workflow.Event){agency(ag)}, scriptStep{"receive", 9, 29}, scriptStep{"assign", 9, 30}, scriptStep{"resolve", 10, 1})
		e[2].Time, e[2].Entered = when, when
		for i, action := range more {
			x := event(fmt.Sprintf("%s/x%d", code, i), action, code, 0, agency(ag))
			x.Time, x.Entered = when.Add(time.Hour), when.Add(time.Hour)
			e = append(e, x)
		}
		events = append(events, e...)
	}
	resolved("W1", "H57", at(20, 9, 0))  // 1 hour: up to a day
	resolved("W2", "H57", at(17, 16, 0)) // Friday 16:00: 1 + 3 hours
	resolved("W3", "H57", at(16, 9, 0))  // Thursday 09:00: 6 + 8 + 3 hours, 2⅛ days: 3
	resolved("W4", "H57", at(13, 10, 0)) // Monday 10:00: 5 + 4 × 8 + 3 hours, 5 days exactly
	resolved("W5", "H57", at(1, 9, 0))   // Wednesday 1/10: 6 + 2 × 8 + 10 × 8 + 3 hours, 13⅛ days: 14
	resolved("W6", "H57", at(2, 9, 0), "return")
	resolved("W7", "X01", at(20, 9, 30)) // another agency
	slices.SortStableFunc(events, func(a, b *workflow.Event) int { return a.Time.Compare(b.Time) })
	for _, res := range h.applyEach(events...) {
		if res.Rejected != 0 {
			t.Fatalf("rejected: %+v", res.Outcomes[0])
		}
	}
	now := at(20, 10, 0)
	for _, tt := range []struct {
		agency string
		want   workflow.ReturnWait
	}{
		{"", workflow.ReturnWait{At: now, Dossiers: 6, UpTo1: 3, From2To5: 2, Over5: 1, OldestDays: 14, Oldest: "W5"}},
		{"H57", workflow.ReturnWait{At: now, Dossiers: 5, UpTo1: 2, From2To5: 2, Over5: 1, OldestDays: 14, Oldest: "W5"}},
		{"X01", workflow.ReturnWait{At: now, Dossiers: 1, UpTo1: 1, OldestDays: 1, Oldest: "W7"}},
		{"X99", workflow.ReturnWait{At: now}},
	} {
		res, err := h.db.Stats(context.Background(), workflow.StatsQuery{Agency: tt.agency, WaitAt: now})
		if err != nil {
			t.Fatal(err)
		}
		if res.Waiting == nil || *res.Waiting != tt.want {
			t.Errorf("Stats(%q).Waiting = %+v, want %+v", tt.agency, res.Waiting, tt.want)
		}
		if res.Total.AwaitingReturn != tt.want.Dossiers {
			t.Errorf("Stats(%q): %d awaiting return by the gauge, %d by the index", tt.agency, res.Total.AwaitingReturn, tt.want.Dossiers)
		}
	}
	// Without WaitAt, the index is not read.
	if res, err := h.db.Stats(context.Background(), workflow.StatsQuery{}); err != nil || res.Waiting != nil || res.Total.AwaitingReturn != 6 {
		t.Errorf("Stats() = waiting %+v, gauge %d, %v; want no distribution, 6", res.Waiting, res.Total.AwaitingReturn, err)
	}
	// Feedback answered and not yet published waits too, among feedback.
	if res, err := h.db.Stats(context.Background(), workflow.StatsQuery{Kind: workflow.KindFeedback, WaitAt: now}); err != nil ||
		*res.Waiting != (workflow.ReturnWait{At: now}) {
		t.Errorf("Stats(feedback) = waiting %+v, %v; want none", res.Waiting, err)
	}
}

// BenchmarkReturnWait measures StatsResult.Waiting over 10,000 dossiers
// resolved and not yet returned (status 9): the total of the statistics
// with and without WaitAt, and the cost per waiting dossier (ns/dossier).
func BenchmarkReturnWait(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "hoso.db"), Options{Catalog: shippedCatalog(b), NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const waiting = 10_000
	s := &benchStream{active: waiting}
	ctx := context.Background()
	for range 4 * waiting / benchBatch { // received, assigned, transferred, resolved: 4 steps each
		if _, err := db.Apply(ctx, s.next(benchBatch)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Apply(ctx, s.next(4*waiting%benchBatch)); err != nil {
		b.Fatal(err)
	}
	at := t0.AddDate(0, 1, 0)
	for _, bb := range []struct {
		name string
		q    workflow.StatsQuery
	}{
		{"counters", workflow.StatsQuery{}},
		{"wait", workflow.StatsQuery{WaitAt: at}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			var res workflow.StatsResult
			b.ReportAllocs()
			for b.Loop() {
				if res, err = db.Stats(ctx, bb.q); err != nil {
					b.Fatal(err)
				}
			}
			if res.Total.AwaitingReturn != waiting || (res.Waiting != nil && res.Waiting.Dossiers != waiting) {
				b.Fatalf("%d awaiting return, waiting %+v; want %d", res.Total.AwaitingReturn, res.Waiting, waiting)
			}
			if res.Waiting != nil {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/waiting, "ns/dossier")
			}
		})
	}
}
