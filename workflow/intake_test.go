package workflow_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/workflow"
)

// TestChannelRecorded: the channel given on the submission is recorded
// on its history entry and kept; the receipt's is not read. The record
// agrees with its history, and a record whose channel differs from it,
// or an entry that records a channel where none is read, is found.
func TestChannelRecorded(t *testing.T) {
	c := shipped(t)
	var (
		d       *workflow.Dossier
		entries []workflow.HistoryEntry
	)
	for _, e := range []*workflow.Event{
		statsEvent("submit", statsAt(9, 1, 9), statsChannel(workflow.ChannelOnlineFull)),
		statsEvent("receive", statsAt(9, 2, 9), statsDue(statsAt(9, 15, 17)), statsChannel(workflow.ChannelPost)),
		statsEvent("assign", statsAt(9, 3, 9), statsFields, statsChannel(workflow.ChannelDesk)),
	} {
		dec := decide(c, d, e)
		if dec.Rejection != nil {
			t.Fatalf("Decide(%s) rejected: %s", e.Action, dec.Rejection.Detail)
		}
		d = dec.Dossier
		entries = append(entries, *dec.Entry)
	}
	if d.Channel != workflow.ChannelOnlineFull || d.IntakeChannel() != workflow.ChannelOnlineFull {
		t.Errorf("channel %q, intake %q; want online_full, given on the submission", d.Channel, d.IntakeChannel())
	}
	if got := []workflow.Channel{entries[0].Channel, entries[1].Channel, entries[2].Channel}; got[0] != workflow.ChannelOnlineFull || got[1] != "" || got[2] != "" {
		t.Errorf("entries record channels %q, want online_full on the submission only", got)
	}
	if fs := c.CheckRecord(d, entries); len(fs) > 0 {
		t.Errorf("CheckRecord = %+v, want nothing", fs)
	}
	forged := d.Clone()
	forged.Channel = workflow.ChannelDesk
	if fs := c.CheckRecord(forged, entries); len(fs) != 1 || fs[0].Field != "channel" {
		t.Errorf("CheckRecord(record with another channel) = %+v, want one finding on channel", fs)
	}
	moved := append([]workflow.HistoryEntry(nil), entries...)
	moved[2].Channel = workflow.ChannelDesk
	if fs := c.CheckRecord(d, moved); len(fs) == 0 {
		t.Errorf("CheckRecord(an assignment recording a channel) found nothing")
	}
	// The hash covers the channel.
	if h := entries[0]; h.ComputeHash() != h.Hash {
		t.Errorf("entry 0 hash %s, computed %s", h.Hash, h.ComputeHash())
	} else if h.Channel = workflow.ChannelPost; h.ComputeHash() == entries[0].Hash {
		t.Errorf("the entry's hash does not cover its channel")
	}

	// No channel given: online in part when submitted online, else at
	// the desk.
	if got := (&workflow.Dossier{Online: true}).IntakeChannel(); got != workflow.ChannelOnlinePartial {
		t.Errorf("online without a channel: %q, want online_partial", got)
	}
	if got := (&workflow.Dossier{}).IntakeChannel(); got != workflow.ChannelDesk {
		t.Errorf("at the counter without a channel: %q, want desk", got)
	}
}

// TestPaymentAndSatisfaction: a payment flags the dossier by its method;
// a score counts only on a dossier that existed, the last one given; they
// are recorded on their entries and never change a decision.
func TestPaymentAndSatisfaction(t *testing.T) {
	c := shipped(t)
	with := func(p workflow.Payment, score int) func(*workflow.Event) {
		return func(e *workflow.Event) { e.Payment, e.Satisfaction = p, score }
	}
	var (
		d       *workflow.Dossier
		entries []workflow.HistoryEntry
	)
	for _, e := range []*workflow.Event{
		// A score on the event that creates the dossier is not read.
		statsEvent("receive", statsAt(9, 2, 9), statsWith("input_digitized"), statsDue(statsAt(9, 15, 17)), with(workflow.PaymentCounter, 5)),
		statsEvent("assign", statsAt(9, 3, 9), statsFields, with(workflow.PaymentOnline, 2)),
		statsEvent("transfer", statsAt(9, 4, 9), statsFields, with("", 4)),
	} {
		dec := decide(c, d, e)
		if dec.Rejection != nil {
			t.Fatalf("Decide(%s) rejected: %s", e.Action, dec.Rejection.Detail)
		}
		d = dec.Dossier
		entries = append(entries, *dec.Entry)
	}
	if !d.PaidCounter || !d.PaidOnline || d.Satisfaction != 4 {
		t.Errorf("paid at the counter %t, online %t, satisfaction %d; want both paid, 4 (the last score)", d.PaidCounter, d.PaidOnline, d.Satisfaction)
	}
	type facts struct {
		p workflow.Payment
		s int
	}
	want := []facts{{workflow.PaymentCounter, 0}, {workflow.PaymentOnline, 2}, {"", 4}}
	for i, e := range entries {
		if (facts{e.Payment, e.Satisfaction}) != want[i] {
			t.Errorf("entry %d records %q, %d; want %q, %d", i, e.Payment, e.Satisfaction, want[i].p, want[i].s)
		}
	}
	if fs := c.CheckRecord(d, entries); len(fs) > 0 {
		t.Errorf("CheckRecord = %+v, want nothing", fs)
	}
	for field, forge := range map[string]func(*workflow.Dossier){
		"satisfaction": func(f *workflow.Dossier) { f.Satisfaction = 5 },
		"paid_online":  func(f *workflow.Dossier) { f.PaidOnline = false },
		"paid_counter": func(f *workflow.Dossier) { f.PaidCounter = false },
	} {
		f := d.Clone()
		forge(f)
		if fs := c.CheckRecord(f, entries); len(fs) != 1 || fs[0].Field != field {
			t.Errorf("CheckRecord(record with another %s) = %+v, want one finding on it", field, fs)
		}
	}
	if e := entries[1]; e.ComputeHash() != e.Hash {
		t.Errorf("entry 1 hash %s, computed %s", e.Hash, e.ComputeHash())
	} else if e.Satisfaction = 3; e.ComputeHash() == entries[1].Hash {
		t.Errorf("the entry's hash does not cover its score")
	}

	// One dossier paid, online too; rated 4: satisfied.
	flows, _ := workflow.StatsDelta(nil, d)
	if len(flows) != 1 || flows[0].Flow.Paid != 1 || flows[0].Flow.PaidOnline != 1 || flows[0].Flow.Rated != 1 || flows[0].Flow.Satisfied != 1 {
		t.Errorf("StatsDelta(nil, d) = %+v, want 1 paid (online), 1 rated (satisfied) in September", flows)
	}
	r := workflow.NewReport(flows[0].Flow, workflow.ReportOptions{})
	if r.OnlinePaymentRate != 100 || r.SatisfactionRate != 100 || r.Bases["online_payment_rate"] != "paid" || r.Bases["satisfaction_rate"] != "rated" {
		t.Errorf("report: online payment %v%% of %s, satisfaction %v%% of %s", r.OnlinePaymentRate, r.Bases["online_payment_rate"],
			r.SatisfactionRate, r.Bases["satisfaction_rate"])
	}

	// A rejected event's facts are not recorded, and the facts do not
	// change its rejection.
	plain := statsEvent("return", statsAt(9, 5, 9))
	rated := statsEvent("return", statsAt(9, 5, 9), with(workflow.PaymentOnline, 1))
	a, b := decide(c, d, plain), decide(c, d, rated)
	if a.Rejection == nil || b.Rejection == nil || a.Rejection.Reason != b.Rejection.Reason ||
		(b.Dossier != nil && (b.Dossier.Satisfaction != d.Satisfaction || b.Dossier.PaidOnline != d.PaidOnline)) {
		t.Errorf("return from processing: %+v without facts, %+v with", a.Rejection, b.Rejection)
	}
}

// TestLevel: a definition gives a level per procedure and a default for
// the others; a catalog reports a procedure under the newest definition
// covering it, LevelOther when none gives one; an unknown level is a
// problem of the file, with its line.
func TestLevel(t *testing.T) {
	const file = `id: levels
version: 1
name: {vi: Thử}
effective: 2025-07-01
level: province
procedures:
  - "*"
  - {code: "1.000001", level: commune}
  - "1.000002"
states:
  - {name: received, status: 2}
  - {name: done, status: 10, terminal: true}
actions:
  - {name: receive, from: [start], to: received}
  - {name: finish, from: [received], to: done}
`
	d, err := workflow.Parse("levels.yaml", []byte(file))
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	cat, err := workflow.NewCatalog(d)
	if err != nil {
		t.Fatal(err)
	}
	for proc, want := range map[string]workflow.Level{"1.000001": "commune", "1.000002": "province", "9.999999": "province"} {
		if got := cat.Level(proc); got != want {
			t.Errorf("Level(%s) = %q, want %q", proc, got, want)
		}
	}
	bare, err := workflow.Parse("bare.yaml", []byte(strings.Replace(file, "level: province\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	cat, err = workflow.NewCatalog(bare)
	if err != nil {
		t.Fatal(err)
	}
	if got := cat.Level("1.000002"); got != workflow.LevelOther {
		t.Errorf("Level without a default = %q, want %q", got, workflow.LevelOther)
	}

	bad := strings.Replace(strings.Replace(file, "level: province", "level: district", 1), "level: commune", "level: ward", 1)
	_, err = workflow.Parse("bad.yaml", []byte(bad))
	var ve *workflow.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Parse(unknown levels) = %v, want a ValidationError", err)
	}
	for _, want := range []string{`bad.yaml:5: level "district": must be province or commune`,
		`bad.yaml:8: procedure "1.000001": level "ward": must be province or commune`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(unknown levels) = %v, lacks %q", err, want)
		}
	}
}
