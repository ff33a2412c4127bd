package testutil

import (
	"fmt"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// ListFixture is a running instance holding seven dossiers received over
// five days, one of them overdue, and two rejections: 16 events, 13
// transitions, a deadline expiry and 2 rejections.
type ListFixture struct {
	In  *Instance
	Dir string // the instance's data directory
}

// ListCode is the code of the list fixture's dossier n (1–7).
func ListCode(n int) string { return fmt.Sprintf("000.00.12.H57-251001-%04d", n) }

// NewListFixture starts an instance (Config of a temporary directory) and
// publishes the fixture's events one after the other as `hoso emit` sends
// them, each but the deadline expiry waiting for its outcome: accepted,
// or rejected for the reason expected.
func NewListFixture(t testing.TB) *ListFixture {
	t.Helper()
	f := &ListFixture{Dir: t.TempDir()}
	f.In = Start(t, Config(f.Dir))
	nc, _ := Connect(t, f.In.NATSURL)
	day := func(d, hour int) time.Time { return time.Date(2025, 10, d, hour, 0, 0, 0, workflow.Zone) }
	recv := []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized, Name: "don.pdf"}}
	result := []workflow.Attachment{{Kind: workflow.AttachmentResultElectronic, Name: "kq.pdf"}}
	due := time.Date(2025, 10, 6, 0, 0, 0, 0, workflow.Zone)
	steps := []struct {
		n      int
		action string
		at     time.Time
		reject workflow.Reason // the rejection reason expected, if any
		set    func(*workflow.Event)
	}{
		{1, "receive", day(1, 9), "", func(e *workflow.Event) { e.Attachments = recv }},
		{1, "assign", day(1, 10), "", func(e *workflow.Event) { e.Department = "tu-phap" }},
		{1, "resolve", day(1, 11), "", func(e *workflow.Event) { e.Attachments = result }},
		{1, "return", day(1, 12), "", nil},
		{2, "receive", day(2, 9), "", func(e *workflow.Event) { e.Attachments = recv }},
		{2, "assign", day(2, 10), "", func(e *workflow.Event) { e.Department = "tu-phap" }},
		{2, "resolve", day(2, 11), workflow.ReasonMissingAttachment, nil},
		{3, "receive", day(2, 14), "", func(e *workflow.Event) { e.Due, e.Attachments = due, recv }},
		{3, "assign", day(2, 15), "", func(e *workflow.Event) { e.Department = "dia-chinh" }},
		// Its outcome goes to the dossier's source, not to hoso's: it is
		// not waited for, and the next events wait for their own.
		{3, workflow.DeadlineExpired, day(7, 0), "", func(e *workflow.Event) {
			e.Source, e.Actor, e.Due = workflow.SystemSource, workflow.SystemSource, due
		}},
		{4, "receive", day(3, 9), "", func(e *workflow.Event) { e.Agency, e.Attachments = "H58", recv }},
		{5, "receive", day(4, 9), "", func(e *workflow.Event) { e.Attachments = recv }},
		{6, "submit", day(4, 10), "", nil},
		{7, "receive", day(5, 9), "", func(e *workflow.Event) { e.Attachments = recv }},
		{7, "assign", day(5, 10), "", func(e *workflow.Event) { e.Department = "tu-phap" }},
		{7, "return", day(5, 11), workflow.ReasonInvalidTransition, nil},
	}
	for i, s := range steps {
		ev := &workflow.Event{ID: fmt.Sprintf("list-%02d", i+1), Source: "tayninh", Dossier: ListCode(s.n),
			Action: s.action, Procedure: "1.004227", Agency: "H57", Actor: "cb-01", Time: s.at}
		if s.set != nil {
			s.set(ev)
		}
		ev.SourceURI = "/hoso/emit/" + ev.Source
		if s.action == workflow.DeadlineExpired {
			if _, err := PublishEvent(nc, ev, 10*time.Second); err != nil {
				t.Fatalf("publish %d %s: %v", s.n, s.action, err)
			}
			continue
		}
		o, err := Emit(nc, ev, 10*time.Second)
		if err != nil {
			t.Fatalf("emit %d %s: %v", s.n, s.action, err)
		}
		if s.reject != "" {
			if o.Kind != workflow.OutcomeRejected || o.Reason != s.reject {
				t.Fatalf("emit %d %s = %s (%s); want a %s rejection", s.n, s.action, o.Kind, o.Reason, s.reject)
			}
			continue
		}
		if o.Kind != workflow.OutcomeAccepted && o.Kind != workflow.OutcomeCorrection {
			t.Fatalf("emit %d %s = %s (%s) %s", s.n, s.action, o.Kind, o.Reason, o.MessageEN)
		}
	}
	return f
}
