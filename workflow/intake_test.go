package workflow_test

import (
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
