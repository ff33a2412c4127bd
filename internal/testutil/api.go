package testutil

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/reconcile"
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
	return NewAPIFixtureWith(t, Config(t.TempDir()))
}

// NewAPIFixtureWith is NewAPIFixture with an instance started from cfg.
func NewAPIFixtureWith(t testing.TB, cfg engine.Config) *APIFixture {
	t.Helper()
	in := Start(t, cfg)
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

// WaitApplied polls the instance's metrics until it has applied the
// stream up to seq, and fails the test if it has not within a minute.
func WaitApplied(t testing.TB, in *Instance, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var got uint64
	for time.Now().Before(deadline) {
		got = uint64(Scrape(t, in.HTTPURL)["hoso_applied_sequence"])
		if got >= seq {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("instance applied up to sequence %d, want %d, within a minute", got, seq)
}

// ReconcileFixture is a running instance holding dossiers in known
// states (the Reconcile… codes), with which ReconcileExportCSV disagrees
// in every way.
type ReconcileFixture struct {
	In     *Instance
	NC     *nats.Conn
	JS     jetstream.JetStream
	Events int // events published, each with one outcome
}

// Dossier codes of the reconcile fixture.
const (
	ReconcileReturned    = "000.00.12.H57-251001-0001" // 10, result and digitized inputs, due 15/10
	ReconcileProcessing  = "000.00.12.H57-251001-0002" // 4, digitized inputs, due 15/10
	ReconcileOnline      = "000.00.12.H57-251001-0003" // 10 after an online submission: result, no digitized inputs
	ReconcileSubmitted   = "000.00.12.H57-251001-0004" // 1, in no export
	ReconcileReceived    = "000.00.12.H57-251001-0005" // 2, digitized inputs, due 20/10
	ReconcileStopped     = "000.00.12.H57-251001-0006" // 8 (closed), in no export
	ReconcileOtherAgency = "000.00.12.H58-251001-0007" // 1 at agency H58, in no export
	ReconcilePayment     = "000.00.12.H57-251001-0008" // 4, digitized inputs, due 15/10
	ReconcileUnknown     = "000.00.12.H57-999999-0001" // hoso has no such dossier
	ReconcileBadStatus   = "000.00.12.H57-251001-0010" // unknown too, its status unreadable
)

// ReconcileExportCSV is the one-stop-shop's export of the reconcile
// fixture: semicolons, Vietnamese column names, a byte-order mark,
// statuses as codes and names.
const ReconcileExportCSV = "\ufeffMã hồ sơ;Trạng thái;Có kết quả;Đã số hóa;Ngày hẹn trả\r\n" +
	ReconcileReturned + ";10;có;có;15/10/2025\r\n" + // 2: agrees
	ReconcileProcessing + ";9;có;có;16/10/2025\r\n" + // 3: status, result, due
	ReconcileOnline + ";Đã trả kết quả;không;có;\r\n" + // 4: result, digitized
	ReconcileReceived + ";2;không;không;2025-10-20\r\n" + // 5: digitized
	ReconcilePayment + ";Yêu cầu thực hiện nghĩa vụ tài chính;;;15/10/2025\r\n" + // 6: status
	ReconcileUnknown + ";4;;;\r\n" + // 7: unknown
	"R 09;4;;;\r\n" + // 8: not a dossier code
	ReconcileBadStatus + ";11;;;\r\n" // 9: a bad status, and unknown

// NewReconcileFixture starts an instance (Config of a temporary
// directory), publishes the fixture's events and waits for all their
// outcomes.
func NewReconcileFixture(t testing.TB) *ReconcileFixture {
	t.Helper()
	in := Start(t, Config(t.TempDir()))
	nc, js := Connect(t, in.NATSURL)
	f := &ReconcileFixture{In: in, NC: nc, JS: js}
	at := time.Date(2025, 10, 1, 8, 0, 0, 0, workflow.Zone)
	var msgs []Message
	ev := func(code, action string, opts ...func(*workflow.Event)) {
		at = at.Add(time.Minute)
		agency := "H57"
		if code == ReconcileOtherAgency {
			agency = "H58"
		}
		e := &workflow.Event{ID: fmt.Sprintf("rc-%03d", len(msgs)), SourceURI: "/motcua/tayninh", Source: "tayninh",
			Action: action, Dossier: code, Time: at, Procedure: "1.004227", Agency: agency, Actor: "cb-01"}
		for _, o := range opts {
			o(e)
		}
		data, err := events.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, Message{Subject: events.Subject("tayninh", code), Data: data, MsgID: e.ID})
	}
	attach := func(kinds ...string) func(*workflow.Event) {
		return func(e *workflow.Event) {
			for _, k := range kinds {
				e.Attachments = append(e.Attachments, workflow.Attachment{Kind: k, Name: k + ".pdf"})
			}
		}
	}
	due := func(d string) func(*workflow.Event) {
		return func(e *workflow.Event) { e.Due, _ = time.ParseInLocation(time.DateOnly, d, workflow.Zone) }
	}
	dept := func(e *workflow.Event) { e.Department = "tu-phap" }
	stop := func(e *workflow.Event) { e.Reason = "không đủ điều kiện" }
	ev(ReconcileReturned, "receive", attach(workflow.AttachmentInputDigitized), due("2025-10-15"))
	ev(ReconcileReturned, "assign", dept)
	ev(ReconcileReturned, "resolve", attach(workflow.AttachmentResultElectronic))
	ev(ReconcileReturned, "return")
	ev(ReconcileProcessing, "receive", attach(workflow.AttachmentInputDigitized), due("2025-10-15"))
	ev(ReconcileProcessing, "assign", dept)
	ev(ReconcileOnline, "submit")
	ev(ReconcileOnline, "receive", due("2025-10-15"))
	ev(ReconcileOnline, "assign", dept)
	ev(ReconcileOnline, "resolve", attach(workflow.AttachmentResultElectronic))
	ev(ReconcileOnline, "return")
	ev(ReconcileSubmitted, "submit")
	ev(ReconcileReceived, "receive", attach(workflow.AttachmentInputDigitized), due("2025-10-20"))
	ev(ReconcileStopped, "receive", attach(workflow.AttachmentInputDigitized), due("2025-10-15"))
	ev(ReconcileStopped, "assign", dept)
	ev(ReconcileStopped, "stop", attach(workflow.AttachmentStopNotice), stop)
	ev(ReconcileOtherAgency, "submit")
	ev(ReconcilePayment, "receive", attach(workflow.AttachmentInputDigitized), due("2025-10-15"))
	ev(ReconcilePayment, "assign", dept)
	Publish(t, js, msgs)
	f.Events = len(msgs)
	WaitOutcomes(t, js, uint64(f.Events), 20*time.Second)
	return f
}

// WantReport is the report of ReconcileExportCSV against the reconcile
// fixture; missing lists the dossiers missing from the export in the
// scope asked for.
func WantReport(missing ...reconcile.Difference) reconcile.Report {
	items := func(d ...reconcile.Difference) []reconcile.Difference {
		if d == nil {
			return []reconcile.Difference{}
		}
		return d
	}
	diff := func(k reconcile.Kind, code string, line int, export, hoso string, st workflow.Status) reconcile.Difference {
		return reconcile.Difference{Kind: k, Code: code, Line: line, Export: export, Hoso: hoso, Agency: "H57", Status: st}
	}
	groups := []reconcile.Group{
		{Kind: reconcile.KindStatus, Items: items(
			diff(reconcile.KindStatus, ReconcileProcessing, 3, "9", "4", 4),
			diff(reconcile.KindStatus, ReconcilePayment, 6, "6", "4", 4))},
		{Kind: reconcile.KindUnknown, Items: items(
			reconcile.Difference{Kind: reconcile.KindUnknown, Code: ReconcileBadStatus, Line: 9},
			reconcile.Difference{Kind: reconcile.KindUnknown, Code: ReconcileUnknown, Line: 7, Export: "4"})},
		{Kind: reconcile.KindResult, Items: items(
			diff(reconcile.KindResult, ReconcileProcessing, 3, "yes", "no", 4),
			diff(reconcile.KindResult, ReconcileOnline, 4, "no", "yes", 10))},
		{Kind: reconcile.KindDigitized, Items: items(
			diff(reconcile.KindDigitized, ReconcileOnline, 4, "yes", "no", 10),
			diff(reconcile.KindDigitized, ReconcileReceived, 5, "no", "yes", 2))},
		{Kind: reconcile.KindDue, Items: items(diff(reconcile.KindDue, ReconcileProcessing, 3, "2025-10-16", "2025-10-15", 4))},
		{Kind: reconcile.KindMissing, Items: items(missing...)},
	}
	r := reconcile.Report{Rows: 7, Known: 5, Agreeing: 1, Counts: map[reconcile.Kind]int{}}
	for _, g := range groups {
		g.Count = len(g.Items)
		r.Groups = append(r.Groups, g)
		r.Counts[g.Kind] = g.Count
		r.Differences += g.Count
	}
	return r
}

// MissingDossier is the difference of a dossier of the reconcile fixture
// (of agency, in status st) that the export does not list.
func MissingDossier(code, agency string, st workflow.Status) reconcile.Difference {
	return reconcile.Difference{Kind: reconcile.KindMissing, Code: code, Hoso: fmt.Sprint(int(st)), Agency: agency, Status: st}
}
