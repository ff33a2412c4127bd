package workflow_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hoso-vn/hoso/workflow"
)

// vn is a time in Vietnam in 2025.
func statsAt(month time.Month, day, hour int) time.Time {
	return time.Date(2025, month, day, hour, 0, 0, 0, workflow.Zone)
}

// statsEvent builds an event of the standard flow for dossier S-1 at the
// time, changed by opts.
func statsEvent(action string, at time.Time, opts ...func(*workflow.Event)) *workflow.Event {
	e := &workflow.Event{
		ID: fmt.Sprintf("%s@%s", action, at.Format(time.RFC3339)), Source: "tayninh", SourceURI: "/motcua/tayninh",
		Action: action, Dossier: "S-1", Time: at, Procedure: "1.004227", Agency: "H57", Actor: "cb-01",
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

func statsWith(kinds ...string) func(*workflow.Event) {
	return func(e *workflow.Event) {
		for _, k := range kinds {
			e.Attachments = append(e.Attachments, workflow.Attachment{Kind: k})
		}
	}
}

func statsDue(t time.Time) func(*workflow.Event) { return func(e *workflow.Event) { e.Due = t } }

func statsChannel(c workflow.Channel) func(*workflow.Event) {
	return func(e *workflow.Event) { e.Channel = c }
}

func statsFields(e *workflow.Event) { e.Department, e.Reason = "tu-phap", "lý do" }

// play decides the events in order from a new dossier and fails the test
// on a rejection.
func statsPlay(t *testing.T, c *workflow.Catalog, events ...*workflow.Event) *workflow.Dossier {
	t.Helper()
	var d *workflow.Dossier
	for _, e := range events {
		d = statsStep(t, c, d, e)
	}
	return d
}

func statsStep(t *testing.T, c *workflow.Catalog, d *workflow.Dossier, e *workflow.Event) *workflow.Dossier {
	t.Helper()
	dec := decide(c, d, e)
	if dec.Rejection != nil {
		t.Fatalf("Decide(%s at %s) rejected: %s", e.Action, e.Time, dec.Rejection.Detail)
	}
	return dec.Dossier
}

// expired is hoso's deadline expiry for the dossier's due date.
func statsExpired(d *workflow.Dossier) *workflow.Event {
	return &workflow.Event{ID: "expired", Source: workflow.SystemSource, Action: workflow.DeadlineExpired,
		Dossier: d.Code, Time: d.Due.Add(time.Minute), Due: d.Due}
}

func TestStatsDelta(t *testing.T) {
	c := shipped(t)
	due := statsAt(9, 15, 17) // due date of the dossiers below
	var (
		received   = statsEvent("receive", statsAt(9, 2, 9), statsWith("input_digitized"), statsDue(due))
		assigned   = statsEvent("assign", statsAt(9, 3, 9), statsFields)
		processing = []*workflow.Event{received, assigned}
		resolved   = append(processing[:2:2], statsEvent("resolve", statsAt(9, 10, 9), statsWith("result_electronic")))
		paused     = append(processing[:2:2], statsEvent("request_supplement", statsAt(9, 4, 9), statsWith("supplement_request")))
		// apologized moved the due date from 15/9 to 22/9, a week ahead.
		apologized = append(processing[:2:2], statsEvent("apologize", statsAt(9, 8, 9), statsFields, statsWith("apology_letter"),
			func(e *workflow.Event) { e.NewDue = statsAt(9, 22, 17) }))
	)
	type month = workflow.StatsChange
	tests := []struct {
		name   string
		before []*workflow.Event // from a new dossier; none: the dossier is new
		event  *workflow.Event   // nil: old is nil and new is the dossier after before
		flows  []month
		gauges workflow.Tally
	}{
		{
			name:  "counter receipt with digitized inputs",
			event: received,
			// No channel given, received at the counter: at the desk.
			flows:  []month{{"2025-09", workflow.Tally{Received: 1, ReceivedDesk: 1, DigitizedInputs: 1, Transitions: 1, CohortInProgress: 1}}},
			gauges: workflow.Tally{InProgress: 1},
		},
		{
			name:   "counter receipt by post",
			event:  statsEvent("receive", statsAt(9, 2, 9), statsWith("input_digitized"), statsDue(due), statsChannel(workflow.ChannelPost)),
			flows:  []month{{"2025-09", workflow.Tally{Received: 1, ReceivedPost: 1, DigitizedInputs: 1, Transitions: 1, CohortInProgress: 1}}},
			gauges: workflow.Tally{InProgress: 1},
		},
		{
			// The channel of the submission stays: the receipt's is not
			// read.
			name:   "receipt of a dossier submitted online in full",
			before: []*workflow.Event{statsEvent("submit", statsAt(8, 31, 9), statsChannel(workflow.ChannelOnlineFull))},
			event:  statsEvent("receive", statsAt(9, 1, 9), statsDue(due), statsChannel(workflow.ChannelDesk)),
			flows: []month{{"2025-08", workflow.Tally{Transitions: -1}},
				{"2025-09", workflow.Tally{Received: 1, ReceivedOnline: 1, ReceivedOnlineFull: 1, Transitions: 2, CohortInProgress: 1}}},
			gauges: workflow.Tally{InProgress: 1},
		},
		{
			// Given after the receipt, the channel is not read: the
			// dossier stays at the desk.
			name:   "channel after the receipt",
			before: processing[:1],
			event:  statsEvent("assign", statsAt(9, 3, 9), statsFields, statsChannel(workflow.ChannelPost)),
			flows:  []month{{"2025-09", workflow.Tally{Transitions: 1}}},
		},
		{
			// Transitions of a dossier never received count in the month
			// it was created.
			name:  "online submission counts its transition",
			event: statsEvent("submit", statsAt(9, 1, 9)),
			flows: []month{{"2025-09", workflow.Tally{Transitions: 1}}},
		},
		{
			// 9:00 Thursday 4/9 entered 9:00 Monday 8/9: 2 working days.
			name:  "late entry of a submission",
			event: statsEvent("submit", statsAt(9, 4, 9), func(e *workflow.Event) { e.Entered = statsAt(9, 8, 9) }),
			flows: []month{{"2025-09", workflow.Tally{Transitions: 1, LateEntries: 1}}},
		},
		{
			name:   "receipt of an online dossier without digitized inputs",
			before: []*workflow.Event{statsEvent("submit", statsAt(8, 31, 9))},
			event:  statsEvent("receive", statsAt(9, 1, 9), statsDue(due)),
			// Its transitions move from the month it was created to the
			// month of receipt.
			// No channel given, submitted online: online in part.
			flows:  []month{{"2025-08", workflow.Tally{Transitions: -1}}, {"2025-09", workflow.Tally{Received: 1, ReceivedOnline: 1, ReceivedOnlinePartial: 1, Transitions: 2, CohortInProgress: 1}}},
			gauges: workflow.Tally{InProgress: 1},
		},
		{
			name:   "digitized inputs arriving after receipt count in the month of receipt",
			before: []*workflow.Event{statsEvent("submit", statsAt(8, 31, 9)), statsEvent("receive", statsAt(9, 30, 9), statsDue(statsAt(10, 20, 17)))},
			event:  statsEvent("transfer", statsAt(10, 1, 9), statsFields, statsWith("input_digitized")),
			flows:  []month{{"2025-09", workflow.Tally{DigitizedInputs: 1, Transitions: 1}}},
		},
		{
			name:   "digitized inputs counted once",
			before: processing,
			event:  statsEvent("transfer", statsAt(9, 5, 9), statsFields, statsWith("input_digitized")),
			flows:  []month{{"2025-09", workflow.Tally{Transitions: 1}}},
		},
		{
			name:   "assignment: still in progress",
			before: processing[:1],
			event:  assigned,
			flows:  []month{{"2025-09", workflow.Tally{Transitions: 1}}},
		},
		{
			// A handoff of 9:00 Friday 5/9 entered at 9:00 Thursday 11/9,
			// four working days later, a one-stop-shop's entry typed in
			// after the fact: counted in the month of receipt.
			name:   "late entry of a handoff",
			before: processing,
			event:  statsEvent("transfer", statsAt(9, 5, 9), statsFields, func(e *workflow.Event) { e.Entered = statsAt(9, 11, 9) }),
			flows:  []month{{"2025-09", workflow.Tally{Transitions: 1, LateEntries: 1}}},
		},
		{
			name:   "handoff entered on time",
			before: processing,
			event:  statsEvent("transfer", statsAt(9, 5, 9), statsFields, func(e *workflow.Event) { e.Entered = statsAt(9, 5, 16) }),
			flows:  []month{{"2025-09", workflow.Tally{Transitions: 1}}},
		},
		{
			name:   "resolution early, with the result",
			before: processing,
			event:  statsEvent("resolve", statsAt(9, 14, 9), statsWith("result_electronic")),
			flows: []month{{"2025-09", workflow.Tally{Resolved: 1, ResolvedEarly: 1, ElectronicResults: 1, Transitions: 1, Finished: 1,
				CohortResolved: 1, CohortResolvedEarly: 1, CohortElectronicResults: 1, CohortInProgress: -1, CohortAwaitingReturn: 1}}},
			gauges: workflow.Tally{InProgress: -1, AwaitingReturn: 1},
		},
		{
			name:   "resolution on the due date, result sent earlier",
			before: append(processing[:2:2], statsEvent("transfer", statsAt(9, 4, 9), statsFields, statsWith("result_electronic"))),
			event:  statsEvent("resolve", statsAt(9, 15, 16)),
			flows: []month{{"2025-09", workflow.Tally{Resolved: 1, ResolvedOnTime: 1, ElectronicResults: 1, Transitions: 1, Finished: 1,
				CohortResolved: 1, CohortResolvedOnTime: 1, CohortElectronicResults: 1, CohortInProgress: -1, CohortAwaitingReturn: 1}}},
			gauges: workflow.Tally{InProgress: -1, AwaitingReturn: 1},
		},
		{
			name:   "resolution late, in the next month",
			before: processing,
			event:  statsEvent("resolve", statsAt(10, 2, 9), statsWith("result_electronic")),
			flows: []month{
				{"2025-09", workflow.Tally{Transitions: 1, CohortResolved: 1, CohortResolvedLate: 1, CohortElectronicResults: 1, CohortInProgress: -1,
					CohortAwaitingReturn: 1}},
				{"2025-10", workflow.Tally{Resolved: 1, ResolvedLate: 1, ElectronicResults: 1, Finished: 1}},
			},
			gauges: workflow.Tally{InProgress: -1, AwaitingReturn: 1},
		},
		{
			name:   "resolution of an overdue dossier",
			before: processing, // then the expiry, below
			event:  statsEvent("resolve", statsAt(9, 16, 9), statsWith("result_electronic")),
			flows: []month{{"2025-09", workflow.Tally{Resolved: 1, ResolvedLate: 1, ElectronicResults: 1, Transitions: 1, Finished: 1,
				CohortResolved: 1, CohortResolvedLate: 1, CohortElectronicResults: 1, CohortInProgress: -1, CohortInProgressOverdue: -1,
				CohortAwaitingReturn: 1}}},
			gauges: workflow.Tally{InProgress: -1, InProgressOverdue: -1, AwaitingReturn: 1},
		},
		{
			name:   "return late after an on-time resolution",
			before: append(processing[:2:2], statsEvent("resolve", statsAt(9, 15, 9), statsWith("result_electronic"))),
			event:  statsEvent("return", statsAt(9, 16, 9)),
			flows:  []month{{"2025-09", workflow.Tally{Returned: 1, ReturnedLate: 1, Transitions: 1, CohortReturned: 1, CohortReturnedLate: 1, CohortAwaitingReturn: -1}}},
			gauges: workflow.Tally{AwaitingReturn: -1},
		},
		{
			name:   "return early",
			before: resolved,
			event:  statsEvent("return", statsAt(9, 11, 9)),
			flows:  []month{{"2025-09", workflow.Tally{Returned: 1, ReturnedEarly: 1, Transitions: 1, CohortReturned: 1, CohortReturnedEarly: 1, CohortAwaitingReturn: -1}}},
			gauges: workflow.Tally{AwaitingReturn: -1},
		},
		{
			name:   "withdrawal",
			before: processing,
			event:  statsEvent("withdraw", statsAt(10, 1, 9)),
			flows:  []month{{"2025-09", workflow.Tally{Transitions: 1, CohortWithdrawn: 1, CohortInProgress: -1}}, {"2025-10", workflow.Tally{Withdrawn: 1, Finished: 1}}},
			gauges: workflow.Tally{InProgress: -1},
		},
		{
			name:  "refusal at the counter: never received",
			event: statsEvent("refuse", statsAt(9, 2, 9), statsFields, statsWith("refusal_notice")),
			flows: []month{{"2025-09", workflow.Tally{Refused: 1, Transitions: 1}}},
		},
		{
			name:   "refusal after receipt",
			before: processing[:1],
			event:  statsEvent("refuse", statsAt(9, 2, 10), statsFields, statsWith("refusal_notice")),
			flows:  []month{{"2025-09", workflow.Tally{Refused: 1, Transitions: 1, Finished: 1, CohortRefused: 1, CohortInProgress: -1}}},
			gauges: workflow.Tally{InProgress: -1},
		},
		{
			// Stopped (status 8) is finished, not paused: only statuses 5
			// and 6 wait for the applicant.
			name:   "stop",
			before: processing,
			event:  statsEvent("stop", statsAt(9, 5, 9), statsFields, statsWith("stop_notice")),
			flows:  []month{{"2025-09", workflow.Tally{Stopped: 1, Transitions: 1, Finished: 1, CohortStopped: 1, CohortInProgress: -1}}},
			gauges: workflow.Tally{InProgress: -1},
		},
		{
			name:   "stop while paused",
			before: paused,
			event:  statsEvent("stop", statsAt(9, 5, 9), statsFields, statsWith("stop_notice")),
			flows:  []month{{"2025-09", workflow.Tally{Stopped: 1, Transitions: 1, Finished: 1, CohortStopped: 1, CohortPaused: -1}}},
			gauges: workflow.Tally{Paused: -1},
		},
		{
			name:   "pause for a supplement",
			before: processing,
			event:  statsEvent("request_supplement", statsAt(9, 4, 9), statsWith("supplement_request")),
			flows:  []month{{"2025-09", workflow.Tally{Transitions: 1, CohortInProgress: -1, CohortPaused: 1}}},
			gauges: workflow.Tally{InProgress: -1, Paused: 1},
		},
		{
			name:   "resume",
			before: paused,
			event:  statsEvent("supplement", statsAt(9, 8, 9)),
			flows:  []month{{"2025-09", workflow.Tally{Transitions: 1, CohortInProgress: 1, CohortPaused: -1}}},
			gauges: workflow.Tally{InProgress: 1, Paused: -1},
		},
		{
			name:   "pause for a financial obligation",
			before: processing,
			event:  statsEvent("request_payment", statsAt(9, 4, 9)),
			flows:  []month{{"2025-09", workflow.Tally{Transitions: 1, CohortInProgress: -1, CohortPaused: 1}}},
			gauges: workflow.Tally{InProgress: -1, Paused: 1},
		},
		{
			name:   "overdue flag set by a deadline expiry",
			before: processing,
			event:  nil, // the expiry, built from the dossier below
			flows:  []month{{"2025-09", workflow.Tally{CohortInProgressOverdue: 1}}},
			gauges: workflow.Tally{InProgressOverdue: 1},
		},
		{
			name:   "apology in October counts in the month of receipt",
			before: []*workflow.Event{statsEvent("receive", statsAt(9, 29, 9), statsWith("input_digitized"), statsDue(statsAt(10, 15, 17)))},
			event:  statsEvent("apologize", statsAt(10, 14, 9), statsFields, statsWith("apology_letter"), func(e *workflow.Event) { e.NewDue = statsAt(10, 31, 17) }),
			flows:  []month{{"2025-09", workflow.Tally{Apologies: 1, Transitions: 1}}},
		},
		{
			// An apology does not erase the delay: late against the
			// original due date (15/9), and split as late with an
			// apology letter.
			name:   "late resolution after an apology",
			before: apologized,
			event:  statsEvent("resolve", statsAt(9, 18, 9), statsWith("result_electronic")),
			flows: []month{{"2025-09", workflow.Tally{Resolved: 1, ResolvedLate: 1, ResolvedLateApologized: 1, ElectronicResults: 1, Transitions: 1, Finished: 1,
				CohortResolved: 1, CohortResolvedLate: 1, CohortResolvedLateApologized: 1, CohortElectronicResults: 1, CohortInProgress: -1,
				CohortAwaitingReturn: 1}}},
			gauges: workflow.Tally{InProgress: -1, AwaitingReturn: 1},
		},
		{
			name:   "late return after an apology",
			before: append(apologized[:3:3], statsEvent("resolve", statsAt(9, 12, 9), statsWith("result_electronic"))),
			event:  statsEvent("return", statsAt(9, 16, 9)),
			flows: []month{{"2025-09", workflow.Tally{Returned: 1, ReturnedLate: 1, ReturnedLateApologized: 1, Transitions: 1,
				CohortReturned: 1, CohortReturnedLate: 1, CohortReturnedLateApologized: 1, CohortAwaitingReturn: -1}}},
			gauges: workflow.Tally{AwaitingReturn: -1},
		},
		{
			name:   "overdue after an apology, past the new due date",
			before: apologized, // then the expiry of the new due date, below
			event:  nil,
			flows:  []month{{"2025-09", workflow.Tally{CohortInProgressOverdue: 1, CohortInProgressOverdueApologized: 1}}},
			gauges: workflow.Tally{InProgressOverdue: 1, InProgressOverdueApologized: 1},
		},
		{
			name:   "rejected event changes nothing",
			before: processing,
			event:  statsEvent("return", statsAt(9, 5, 9)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := statsPlay(t, c, tt.before...)
			var nd *workflow.Dossier
			switch {
			case tt.event == nil:
				nd = statsStep(t, c, old, statsExpired(old))
			case tt.name == "resolution of an overdue dossier":
				old = statsStep(t, c, old, statsExpired(old))
				nd = statsStep(t, c, old, tt.event)
			case tt.name == "rejected event changes nothing":
				dec := decide(c, old, tt.event)
				if dec.Rejection == nil {
					t.Fatal("return from processing was accepted")
				}
				nd = dec.Dossier
			default:
				nd = statsStep(t, c, old, tt.event)
			}
			flows, gauges := workflow.StatsDelta(old, nd)
			if diff := cmp.Diff(tt.flows, flows); diff != "" {
				t.Errorf("StatsDelta flows (-want +got):\n%s", diff)
			}
			if gauges != tt.gauges {
				t.Errorf("StatsDelta gauges = %+v, want %+v", gauges, tt.gauges)
			}
		})
	}
}

// TestStatsDeltaCrossesMonths checks a dossier new to a batch that was
// received, resolved and returned in it, across three months, and that
// the deltas of its steps add up to that.
func TestStatsDeltaCrossesMonths(t *testing.T) {
	c := shipped(t)
	events := []*workflow.Event{
		statsEvent("receive", statsAt(9, 30, 16), statsWith("input_digitized"), statsDue(statsAt(10, 10, 17))),
		statsEvent("assign", statsAt(10, 1, 8), statsFields),
		statsEvent("resolve", statsAt(10, 31, 23), statsWith("result_electronic")), // 23:00 in Vietnam, 16:00 UTC: still October
		statsEvent("return", statsAt(11, 3, 9)),
	}
	final := statsPlay(t, c, events...)
	flows, gauges := workflow.StatsDelta(nil, final)
	want := []workflow.StatsChange{
		{Month: "2025-09", Flow: workflow.Tally{Received: 1, ReceivedDesk: 1, DigitizedInputs: 1, Transitions: 4,
			CohortResolved: 1, CohortResolvedLate: 1, CohortElectronicResults: 1, CohortReturned: 1, CohortReturnedLate: 1}},
		{Month: "2025-10", Flow: workflow.Tally{Resolved: 1, ResolvedLate: 1, ElectronicResults: 1, Finished: 1}},
		{Month: "2025-11", Flow: workflow.Tally{Returned: 1, ReturnedLate: 1}},
	}
	if diff := cmp.Diff(want, flows); diff != "" {
		t.Errorf("StatsDelta(nil, returned) flows (-want +got):\n%s", diff)
	}
	if !gauges.IsZero() {
		t.Errorf("StatsDelta(nil, returned) gauges = %+v, want none", gauges)
	}

	sum := map[string]workflow.Tally{}
	var gsum workflow.Tally
	var d *workflow.Dossier
	for _, e := range events {
		nd := statsStep(t, c, d, e)
		f, g := workflow.StatsDelta(d, nd)
		for _, ch := range f {
			s := sum[ch.Month]
			s.Add(ch.Flow)
			sum[ch.Month] = s
		}
		gsum.Add(g)
		d = nd
	}
	for _, w := range want {
		if sum[w.Month] != w.Flow {
			t.Errorf("sum of step deltas in %s = %+v, want %+v", w.Month, sum[w.Month], w.Flow)
		}
	}
	if !gsum.IsZero() {
		t.Errorf("sum of step gauge deltas = %+v, want none", gsum)
	}
	if f, g := workflow.StatsDelta(final, nil); len(f) != 3 || f[0].Flow.Received != -1 || !g.IsZero() {
		t.Errorf("StatsDelta(returned, nil) = %+v, %+v; want the negation", f, g)
	}
}

func TestStatsDeltaNoDueIsOnTime(t *testing.T) {
	c := shipped(t)
	d := statsPlay(t, c,
		statsEvent("receive", statsAt(9, 2, 9), statsWith("input_digitized")), // no data.due, no SLA: no due date
		statsEvent("assign", statsAt(9, 3, 9), statsFields),
		statsEvent("resolve", statsAt(12, 3, 9), statsWith("result_electronic")))
	if !d.Due.IsZero() {
		t.Fatalf("due %v, want none", d.Due)
	}
	flows, _ := workflow.StatsDelta(nil, d)
	if len(flows) != 2 || flows[1].Flow.ResolvedOnTime != 1 {
		t.Errorf("StatsDelta(nil, resolved without due date) = %+v, want it on time in December", flows)
	}
}

func TestNewReport(t *testing.T) {
	// Tây Ninh, 9 months of 2024 (see DESIGN.md): 270,497 received,
	// 260,103 resolved, 254,598 early or on time (94.12%), 5,505 late (2.03%).
	tn := workflow.Tally{Received: 270497, Resolved: 260103, ResolvedEarly: 200000, ResolvedOnTime: 54598, ResolvedLate: 5505,
		Returned: 250000, ReturnedEarly: 240000, ReturnedOnTime: 5000, ReturnedLate: 5000,
		DigitizedInputs: 260759, ElectronicResults: 236773, InProgress: 8120, InProgressOverdue: 311, Paused: 2274}
	r := workflow.NewReport(tn, workflow.ReportOptions{})
	want := workflow.Report{
		Kind: workflow.KindDossier, LateRule: workflow.LateByProcessing, Counting: workflow.CountingPeriod, Rates: workflow.DefaultRates(), HeadlineRate: 94.12,
		Received: 270497, Resolved: 260103, Early: 200000, OnTime: 54598, Late: 5505, LateWithoutApology: 5505, Returned: 250000,
		DigitizedInputs: 260759, ElectronicResults: 236773, InProgress: 8120, InProgressOverdue: 311, InProgressOverdueWithoutApology: 311, Paused: 2274,
		OnTimeRate: 97.88, ReceivedOnTimeRate: 94.12, LateRate: 2.03, DigitizedRate: 96.39, ElectronicResultRate: 91.03,
		InProgressOverdueRate: 3.83,
	}
	if diff := cmp.Diff(want, r, cmpopts.IgnoreFields(workflow.Report{}, "Bases")); diff != "" {
		t.Errorf("NewReport(Tây Ninh) (-want +got):\n%s", diff)
	}
	r = workflow.NewReport(tn, workflow.ReportOptions{LateRule: workflow.LateByReturn})
	if r.Resolved != 250000 || r.Early != 240000 || r.OnTime != 5000 || r.Late != 5000 || r.OnTimeRate != 98 || r.LateRate != 1.84 ||
		r.ElectronicResultRate != 91.03 {
		t.Errorf("NewReport(late by return) = %+v", r)
	}
	fb := workflow.NewReport(workflow.Tally{Received: 306, Resolved: 29, ResolvedOnTime: 20, ResolvedLate: 9}, workflow.ReportOptions{Kind: workflow.KindFeedback})
	if fb.FeedbackAnsweredRate != 9.47 || fb.OnTimeRate != 68.96 {
		t.Errorf("NewReport(feedback) answered %v on time %v, want 9.47 (29 of 306, truncated) and 68.96", fb.FeedbackAnsweredRate, fb.OnTimeRate)
	}
	if z := workflow.NewReport(workflow.Tally{}, workflow.ReportOptions{}); z.OnTimeRate != 0 || z.LateRate != 0 || z.FeedbackAnsweredRate != 0 {
		t.Errorf("NewReport(nothing) = %+v, want zero rates", z)
	}
}

// TestNewReportApologySplit: late and overdue split by the apology
// letter ("quá hạn (đã có / chưa có thư xin lỗi)"), by the late rule.
func TestNewReportApologySplit(t *testing.T) {
	tally := workflow.Tally{Resolved: 10, ResolvedLate: 4, ResolvedLateApologized: 1, Returned: 8, ReturnedLate: 3, ReturnedLateApologized: 3,
		InProgress: 6, InProgressOverdue: 5, InProgressOverdueApologized: 2}
	r := workflow.NewReport(tally, workflow.ReportOptions{})
	if r.Late != 4 || r.LateWithApology != 1 || r.LateWithoutApology != 3 || r.InProgressOverdueWithApology != 2 || r.InProgressOverdueWithoutApology != 3 {
		t.Errorf("NewReport: late %d = %d with + %d without an apology; overdue in progress %d = %d + %d; want 4 = 1 + 3, 5 = 2 + 3",
			r.Late, r.LateWithApology, r.LateWithoutApology, r.InProgressOverdue, r.InProgressOverdueWithApology, r.InProgressOverdueWithoutApology)
	}
	r = workflow.NewReport(tally, workflow.ReportOptions{LateRule: workflow.LateByReturn})
	if r.Late != 3 || r.LateWithApology != 3 || r.LateWithoutApology != 0 {
		t.Errorf("NewReport(late by return): late %d = %d with + %d without an apology, want 3 = 3 + 0", r.Late, r.LateWithApology, r.LateWithoutApology)
	}
}

// TestNewReportLateEntries: the share of the transitions entered late, 7
// of 600 (1.1666…%).
func TestNewReportLateEntries(t *testing.T) {
	tally := workflow.Tally{Transitions: 600, LateEntries: 7}
	for rounding, want := range map[workflow.Rounding]float64{workflow.RoundTruncate: 1.16, workflow.RoundHalfUp: 1.17} {
		r := workflow.NewReport(tally, workflow.ReportOptions{Rates: workflow.Rates{Rounding: rounding}})
		if r.Transitions != 600 || r.LateEntries != 7 || r.LateEntryRate != want || r.Bases["late_entry_rate"] != "transitions" {
			t.Errorf("NewReport(7 late of 600, %s): %d of %d, rate %v of %q; want 7 of 600, %v of transitions",
				rounding, r.LateEntries, r.Transitions, r.LateEntryRate, r.Bases["late_entry_rate"], want)
		}
	}
}

// TestNewReportRates computes the Tây Ninh headline (DESIGN.md) under
// each base and rounding. Worked by hand: 254,598 / 270,497 = 94.122…%,
// 5,505 / 270,497 = 2.0351…%, 254,598 / 260,103 = 97.883…%, 5,505 /
// 260,103 = 2.1164…%.
func TestNewReportRates(t *testing.T) {
	tn := workflow.Tally{Received: 270497, Resolved: 260103, ResolvedEarly: 200000, ResolvedOnTime: 54598, ResolvedLate: 5505}
	for _, tt := range []struct {
		rates          workflow.Rates
		headline, late float64
	}{
		{workflow.Rates{}, 94.12, 2.03}, // the default: received, truncated
		{workflow.Rates{Base: workflow.BaseReceived, Rounding: workflow.RoundTruncate}, 94.12, 2.03},
		{workflow.Rates{Base: workflow.BaseReceived, Rounding: workflow.RoundHalfUp}, 94.12, 2.04},
		{workflow.Rates{Base: workflow.BaseResolved, Rounding: workflow.RoundTruncate}, 97.88, 2.11},
		{workflow.Rates{Base: workflow.BaseResolved, Rounding: workflow.RoundHalfUp}, 97.88, 2.12},
	} {
		r := workflow.NewReport(tn, workflow.ReportOptions{Rates: tt.rates})
		if r.HeadlineRate != tt.headline || r.LateRate != tt.late {
			t.Errorf("NewReport(Tây Ninh, %+v): headline %v, late %v; want %v, %v", tt.rates, r.HeadlineRate, r.LateRate, tt.headline, tt.late)
		}
		want := workflow.Rates{Base: cmpOr(tt.rates.Base, workflow.BaseReceived), Rounding: cmpOr(tt.rates.Rounding, workflow.RoundTruncate)}
		if r.Rates != want {
			t.Errorf("NewReport(Tây Ninh, %+v) labels its rates %+v, want %+v", tt.rates, r.Rates, want)
		}
		if r.Bases["headline_rate"] != string(want.Base) || r.Bases["late_rate"] != string(want.Base) ||
			r.Bases["on_time_rate"] != "resolved" || r.Bases["received_on_time_rate"] != "received" {
			t.Errorf("NewReport(Tây Ninh, %+v) bases %v", tt.rates, r.Bases)
		}
		// The fixed-base rates follow the rounding too: 97.883…% and 94.122…%.
		if r.OnTimeRate != 97.88 || r.ReceivedOnTimeRate != 94.12 {
			t.Errorf("NewReport(Tây Ninh, %+v): on time %v of resolved, %v of received; want 97.88, 94.12", tt.rates, r.OnTimeRate, r.ReceivedOnTimeRate)
		}
	}
	// Every rate of the report is named in Bases, with its base.
	r := workflow.NewReport(tn, workflow.ReportOptions{})
	for _, name := range []string{"on_time_rate", "received_on_time_rate", "headline_rate", "late_rate", "digitized_rate", "online_rate",
		"electronic_result_rate", "in_progress_overdue_rate", "feedback_answered_rate", "late_entry_rate"} {
		if r.Bases[name] == "" {
			t.Errorf("NewReport: rate %s has no base in %v", name, r.Bases)
		}
	}
	// Rounding reaches the other rates: 2 of 3 is 66.666…%.
	third := workflow.Tally{Received: 3, DigitizedInputs: 2, InProgress: 3, InProgressOverdue: 2}
	for rounding, want := range map[workflow.Rounding]float64{workflow.RoundTruncate: 66.66, workflow.RoundHalfUp: 66.67} {
		r := workflow.NewReport(third, workflow.ReportOptions{Rates: workflow.Rates{Rounding: rounding}})
		if r.DigitizedRate != want || r.InProgressOverdueRate != want {
			t.Errorf("NewReport(2 of 3, %s): digitized %v, in progress overdue %v; want %v", rounding, r.DigitizedRate, r.InProgressOverdueRate, want)
		}
	}
}

func cmpOr[T comparable](a, b T) T {
	var zero T
	if a != zero {
		return a
	}
	return b
}

func TestRatesRate(t *testing.T) {
	round := workflow.Rates{Rounding: workflow.RoundHalfUp}
	for _, tt := range []struct {
		n, of int64
		want  float64
	}{
		// 1 of 800 is 0.125% exactly: half a hundredth rounds up.
		{5505, 270497, 2.04}, {254598, 270497, 94.12}, {1, 3, 33.33}, {2, 3, 66.67}, {1, 800, 0.13}, {99989, 100000, 99.99}, {99999, 100000, 100},
		{199999, 200000, 100}, {7, 100, 7}, {1, 1, 100}, {0, 5, 0}, {5, 0, 0}, {1, 300000, 0},
	} {
		if got := round.Rate(tt.n, tt.of); got != tt.want {
			t.Errorf("Rates{round}.Rate(%d, %d) = %v, want %v", tt.n, tt.of, got, tt.want)
		}
	}
	if got := (workflow.Rates{}).Rate(1, 800); got != 0.12 {
		t.Errorf("Rates{}.Rate(1, 800) = %v, want 0.12 (truncated)", got)
	}
	for _, r := range []workflow.Rates{{Base: "issued"}, {Rounding: "ceil"}} {
		if err := r.Validate(); err == nil {
			t.Errorf("Rates%+v.Validate() = nil, want an error", r)
		}
	}
	if err := (workflow.Rates{Base: workflow.BaseResolved, Rounding: workflow.RoundHalfUp}).Validate(); err != nil {
		t.Errorf("Validate(resolved, round) = %v", err)
	}
}

func TestRate(t *testing.T) {
	for _, tt := range []struct {
		n, of int64
		want  float64
	}{
		{5505, 270497, 2.03}, {254598, 270497, 94.12}, {1, 3, 33.33}, {2, 3, 66.66}, {99999, 100000, 99.99},
		{7, 100, 7}, {1, 1, 100}, {0, 5, 0}, {5, 0, 0}, {1, 300000, 0},
	} {
		if got := workflow.Rate(tt.n, tt.of); got != tt.want {
			t.Errorf("Rate(%d, %d) = %v, want %v", tt.n, tt.of, got, tt.want)
		}
	}
}

func TestStatsQueryValidate(t *testing.T) {
	for _, q := range []workflow.StatsQuery{
		{}, {From: "2025-01", To: "2025-12"}, {From: "2025-07", To: "2025-07"}, {Kind: workflow.KindFeedback, By: workflow.BySector},
	} {
		if err := q.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", q, err)
		}
	}
	for _, q := range []workflow.StatsQuery{
		{From: "2025-13"}, {To: "2025-1"}, {From: "2025"}, {From: "0999-12"}, {From: "2025-02", To: "2025-01"},
		{Kind: "x"}, {By: "colour"},
	} {
		if err := q.Validate(); !errors.Is(err, workflow.ErrInvalidStatsQuery) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidStatsQuery", q, err)
		}
	}
	if got := workflow.Months("2024-11", "2025-02"); !cmp.Equal(got, []string{"2024-11", "2024-12", "2025-01", "2025-02"}) {
		t.Errorf("Months(2024-11, 2025-02) = %v", got)
	}
	if got := workflow.Months("2025-02", "2025-01"); got != nil {
		t.Errorf("Months(2025-02, 2025-01) = %v, want none", got)
	}
	if m := workflow.Month(time.Date(2025, 6, 30, 17, 30, 0, 0, time.UTC)); m != "2025-07" {
		t.Errorf("Month(2025-06-30 17:30 UTC) = %s, want 2025-07 (00:30 in Vietnam)", m)
	}
}

func TestCatalogSector(t *testing.T) {
	c := shipped(t)
	for code, want := range map[string]string{
		"DD.001": "Đất đai", "PAKN": "Phản ánh kiến nghị", "1.004227": workflow.SectorOther,
	} {
		if got := c.Sector(code); got != want {
			t.Errorf("Sector(%q) = %q, want %q", code, got, want)
		}
	}
}

func TestTallyAdd(t *testing.T) {
	var a workflow.Tally
	for i, f := range a.Fields() {
		*f = int64(i + 1)
	}
	b := a
	b.Add(a)
	for i, f := range b.Fields() {
		if *f != 2*int64(i+1) {
			t.Fatalf("Add: field %d = %d, want %d", i, *f, 2*(i+1))
		}
	}
	b.Sub(a)
	b.Sub(a)
	if !b.IsZero() {
		t.Fatalf("Sub: %+v, want zero", b)
	}
}

// TestStatsCohort follows the dossiers received in September 2025 to
// what became of them, whenever it happened: their month's Cohort.
func TestStatsCohort(t *testing.T) {
	c := shipped(t)
	due := statsAt(9, 15, 17)
	code := func(code string) func(*workflow.Event) { return func(e *workflow.Event) { e.Dossier = code } }
	play := func(name string, events ...*workflow.Event) *workflow.Dossier {
		for _, e := range events {
			code(name)(e)
		}
		return statsPlay(t, c, events...)
	}
	recv := func(day int) *workflow.Event {
		return statsEvent("receive", statsAt(9, day, 9), statsWith("input_digitized"), statsDue(due))
	}
	assign := func(month time.Month, day int) *workflow.Event {
		return statsEvent("assign", statsAt(month, day, 10), statsFields)
	}
	dossiers := []*workflow.Dossier{
		// Resolved early in September, returned on 1/10: late.
		play("C-1", recv(2), assign(9, 2), statsEvent("resolve", statsAt(9, 10, 9), statsWith("result_electronic")),
			statsEvent("return", statsAt(10, 1, 9))),
		// Resolved late in October, its electronic result sent with a
		// handoff.
		play("C-2", recv(3), assign(9, 3), statsEvent("transfer", statsAt(9, 4, 9), statsFields, statsWith("result_electronic")),
			statsEvent("resolve", statsAt(10, 2, 9))),
		// Withdrawn in October.
		play("C-3", recv(4), statsEvent("withdraw", statsAt(10, 3, 9))),
		// Waiting for a supplement.
		play("C-4", recv(5), assign(9, 5), statsEvent("request_supplement", statsAt(9, 8, 9), statsWith("supplement_request"))),
		// In progress.
		play("C-5", recv(8)),
		// Received in October: another cohort.
		play("C-6", statsEvent("receive", statsAt(10, 1, 9), statsWith("input_digitized"), statsDue(statsAt(10, 20, 17)))),
	}
	months := map[string]workflow.Tally{}
	for _, d := range dossiers {
		flows, _ := workflow.StatsDelta(nil, d)
		for _, f := range flows {
			m := months[f.Month]
			m.Add(f.Flow)
			months[f.Month] = m
		}
	}
	want := workflow.Tally{
		Received: 5, ReceivedDesk: 5, DigitizedInputs: 5, Transitions: 4 + 4 + 2 + 3 + 1,
		Resolved: 2, ResolvedEarly: 1, ResolvedLate: 1, ElectronicResults: 2, Returned: 1, ReturnedLate: 1,
		Withdrawn: 1, InProgress: 1, Paused: 1, AwaitingReturn: 1, // C-2
	}
	if diff := cmp.Diff(want, months["2025-09"].Cohort()); diff != "" {
		t.Errorf("September's cohort (-want +got):\n%s", diff)
	}
	// October's flows hold C-2's resolution and C-3's withdrawal, its
	// cohort only C-6.
	if oct := months["2025-10"]; oct.Resolved != 1 || oct.Withdrawn != 1 || oct.Returned != 1 ||
		oct.Cohort() != (workflow.Tally{Received: 1, ReceivedDesk: 1, DigitizedInputs: 1, Transitions: 1, InProgress: 1}) {
		t.Errorf("October: flows %+v, cohort %+v", oct, oct.Cohort())
	}
}
