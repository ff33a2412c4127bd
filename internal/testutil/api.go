package testutil

import (
	"fmt"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// APIFixture is a running instance with a few dossiers in known states,
// for the tests of the API and of the commands that read it.
type APIFixture struct {
	In    *Instance
	Codes []string // three dossiers: returned, processing (with a rejection and a mismatch), submitted
}

// NewAPIFixture starts an instance (Config of a temporary directory) and
// emits the fixture's eight events one after the other, each waiting for
// its outcome: accepted, a correction, or for Codes[1]'s return the
// invalid_transition rejection expected.
func NewAPIFixture(t testing.TB) *APIFixture {
	t.Helper()
	in := Start(t, Config(t.TempDir()))
	f := &APIFixture{In: in, Codes: []string{"000.00.12.H57-251001-0001", "000.00.12.H57-251001-0002", "000.00.12.H57-251001-0003"}}
	nc, _ := Connect(t, in.NATSURL)
	due := time.Date(2025, 10, 15, 0, 0, 0, 0, workflow.Zone)
	steps := []struct {
		n      int
		action string
		set    func(*workflow.Event)
	}{
		{0, "receive", func(e *workflow.Event) {
			e.Attachments, e.Due = []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized, Name: "don.pdf"}}, due
		}},
		{0, "assign", func(e *workflow.Event) { e.Department = "tu-phap" }},
		{0, "resolve", func(e *workflow.Event) {
			e.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentResultElectronic, Name: "kq.pdf"}}
		}},
		{0, "return", nil},
		{1, "receive", func(e *workflow.Event) {
			e.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized}}
		}},
		{1, "assign", func(e *workflow.Event) { e.Department, e.ClaimedStatus = "tu-phap", 9 }},
		{1, "return", func(e *workflow.Event) { e.ClaimedStatus = 10 }},
		{2, "submit", nil},
	}
	at := time.Date(2025, 10, 1, 8, 0, 0, 0, workflow.Zone)
	for i, s := range steps {
		at = at.Add(time.Hour)
		ev := &workflow.Event{ID: fmt.Sprintf("api-%02d", i+1), SourceURI: "/hoso/emit/tayninh", Source: "tayninh",
			Dossier: f.Codes[s.n], Action: s.action, Procedure: "1.004227", Agency: "H57", Actor: "cb-01", Time: at}
		if s.set != nil {
			s.set(ev)
		}
		o, err := Emit(nc, ev, 10*time.Second)
		if err != nil {
			t.Fatalf("emit %d %s: %v", s.n, s.action, err)
		}
		if s.action == "return" && s.n == 1 {
			if o.Kind != workflow.OutcomeRejected || o.Reason != workflow.ReasonInvalidTransition {
				t.Fatalf("emit %d %s = %s (%s); want an invalid_transition rejection", s.n, s.action, o.Kind, o.Reason)
			}
			continue
		}
		if o.Kind != workflow.OutcomeAccepted && o.Kind != workflow.OutcomeCorrection {
			t.Fatalf("emit %d %s = %s (%s) %s", s.n, s.action, o.Kind, o.Reason, o.MessageEN)
		}
	}
	return f
}
