package workflow_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/workflow"
)

func shipped(t testing.TB) *workflow.Catalog {
	t.Helper()
	c, err := workflow.Load(configs.FS, configs.DefinitionsDir)
	if err != nil {
		t.Fatalf("load shipped definitions: %v", err)
	}
	return c
}

var t0 = time.Date(2025, 9, 1, 8, 0, 0, 0, workflow.Zone)

// legal is the standard flow of the integration contract, written out by
// hand: for each action, the states it may start from and the state it
// leads to ("=" means the state is unchanged).
var legal = map[string]struct {
	from []string
	to   string
}{
	"submit":             {[]string{"start"}, "submitted"},
	"receive":            {[]string{"start", "submitted"}, "received"},
	"refuse":             {[]string{"start", "submitted", "received"}, "refused"},
	"assign":             {[]string{"received"}, "processing"},
	"transfer":           {[]string{"received", "processing"}, "processing"},
	"request_supplement": {[]string{"processing"}, "supplement"},
	"supplement":         {[]string{"supplement"}, "processing"},
	"request_payment":    {[]string{"processing"}, "payment"},
	"pay":                {[]string{"payment"}, "processing"},
	"withdraw":           {[]string{"submitted", "received", "processing", "supplement", "payment"}, "withdrawn"},
	"stop":               {[]string{"processing", "supplement", "payment"}, "stopped"},
	"resolve":            {[]string{"processing"}, "resolved"},
	"return":             {[]string{"resolved"}, "returned"},
	"apologize":          {[]string{"received", "processing", "supplement", "payment"}, "="},
}

var stateStatus = map[string]workflow.Status{
	"submitted": 1, "received": 2, "refused": 3, "processing": 4, "supplement": 5,
	"payment": 6, "withdrawn": 7, "stopped": 8, "resolved": 9, "returned": 10,
}

// requirements of each action of standard@2, by hand: attachment kinds the
// event must carry, kinds the dossier must hold, and data fields.
type needs struct {
	attach, recorded, fields []string
	onlyFrom                 []string // the requirement holds only from these states
}

var required = map[string][]needs{
	"receive":            {{attach: []string{"input_digitized"}, onlyFrom: []string{"start"}}},
	"refuse":             {{attach: []string{"refusal_notice"}, fields: []string{"reason"}}},
	"assign":             {{fields: []string{"department"}}},
	"transfer":           {{fields: []string{"department"}}},
	"request_supplement": {{attach: []string{"supplement_request"}}},
	"stop":               {{attach: []string{"stop_notice"}, fields: []string{"reason"}}},
	"resolve":            {{recorded: []string{"result_electronic"}}},
	"return":             {{recorded: []string{"result_electronic"}}},
	"apologize":          {{attach: []string{"apology_letter"}, fields: []string{"new_due", "reason"}}},
}

// fullEvent builds an event of the action that meets every guard.
func fullEvent(action string) *workflow.Event {
	ev := &workflow.Event{
		ID: "ev-" + action, Source: "tayninh", SourceURI: "/motcua/tayninh", Action: action,
		Dossier: "000.00.12.H57-250901-0001", Time: t0.Add(time.Hour),
		Procedure: "1.004227", Agency: "H57", Actor: "can-bo-01",
		Reason: "lý do", NewDue: t0.AddDate(0, 0, 20), Department: "phong-tu-phap",
	}
	for _, k := range []string{"input_digitized", "refusal_notice", "supplement_request", "stop_notice", "result_electronic",
		"apology_letter", "cadastral_data", "tax_notice", "payment_receipt", "answer_document"} {
		ev.Attachments = append(ev.Attachments, workflow.Attachment{Kind: k, Name: k + ".pdf"})
	}
	return ev
}

func dossierIn(state string) *workflow.Dossier {
	if state == "start" {
		return nil
	}
	return &workflow.Dossier{
		Code: "000.00.12.H57-250901-0001", Procedure: "1.004227", Agency: "H57", Source: "tayninh",
		Definition: "standard", Version: 2, State: state, Status: stateStatus[state],
		CreatedAt: t0, UpdatedAt: t0, History: 1, Head: workflow.Hash{1}, Due: t0.AddDate(0, 0, 10),
	}
}

func decide(c *workflow.Catalog, d *workflow.Dossier, ev *workflow.Event) workflow.Decision {
	return c.Decide(d, &workflow.Envelope{Seq: 7, Subject: "hoso.events.tayninh." + workflow.DossierToken(ev.Dossier), Published: ev.Time, Event: ev})
}

// flow is a shipped definition with its legal transitions written out by
// hand, to be checked against the YAML.
type flow struct {
	id, procedure string
	version       int
	legal         map[string]struct {
		from []string
		to   string
	}
	status   map[string]workflow.Status
	required map[string][]needs
}

var landLegal = map[string]struct {
	from []string
	to   string
}{
	"submit":             {[]string{"start"}, "submitted"},
	"receive":            {[]string{"start", "submitted"}, "received"},
	"refuse":             {[]string{"start", "submitted", "received"}, "refused"},
	"assign":             {[]string{"received"}, "processing"},
	"transfer":           {[]string{"received", "processing"}, "processing"},
	"request_supplement": {[]string{"processing"}, "supplement"},
	"supplement":         {[]string{"supplement"}, "processing"},
	"send_to_tax":        {[]string{"processing"}, "tax_review"},
	"request_payment":    {[]string{"tax_review"}, "payment"},
	"pay":                {[]string{"payment"}, "processing"},
	"withdraw":           {[]string{"submitted", "received", "processing", "tax_review", "supplement", "payment"}, "withdrawn"},
	"stop":               {[]string{"processing", "tax_review", "supplement", "payment"}, "stopped"},
	"resolve":            {[]string{"processing"}, "resolved"},
	"return":             {[]string{"resolved"}, "returned"},
	"apologize":          {[]string{"received", "processing", "tax_review", "supplement", "payment"}, "="},
}

var feedbackLegal = map[string]struct {
	from []string
	to   string
}{
	"receive":   {[]string{"start"}, "received"},
	"refuse":    {[]string{"received"}, "refused"},
	"assign":    {[]string{"received"}, "assigned"},
	"transfer":  {[]string{"assigned"}, "assigned"},
	"answer":    {[]string{"assigned"}, "answered"},
	"publish":   {[]string{"answered"}, "published"},
	"apologize": {[]string{"received", "assigned"}, "="},
}

var flows = []flow{
	{"standard", "1.004227", 2, legal, stateStatus, required},
	{"standard", "1.004227", 1, legal, stateStatus, func() map[string][]needs {
		m := maps.Clone(required)
		m["stop"] = []needs{{fields: []string{"reason"}}} // no stop notice before Circular 03/2025
		return m
	}()},
	// The same-day procedures follow the standard flow of 2025.
	{"same-day", "CT.001", 1, legal, stateStatus, required},
	{"land", "DD.002", 1, landLegal, func() map[string]workflow.Status {
		m := maps.Clone(stateStatus)
		m["tax_review"] = workflow.StatusProcessing
		return m
	}(), func() map[string][]needs {
		m := maps.Clone(required)
		m["send_to_tax"] = []needs{{attach: []string{"cadastral_data"}}}
		m["request_payment"] = []needs{{attach: []string{"tax_notice"}}}
		m["pay"] = []needs{{attach: []string{"payment_receipt"}}}
		return m
	}()},
	{"feedback", "PAKN", 1, feedbackLegal, map[string]workflow.Status{
		"received": 2, "refused": 3, "assigned": 4, "answered": 9, "published": 10,
	}, map[string][]needs{
		"refuse":    {{fields: []string{"reason"}}},
		"assign":    {{fields: []string{"department"}}},
		"transfer":  {{fields: []string{"department"}}},
		"answer":    {{attach: []string{"answer_document"}}},
		"apologize": {{attach: []string{"apology_letter"}, fields: []string{"new_due", "reason"}}},
	}},
}

// in returns a dossier of the flow in the state, or nil for "start".
func (f flow) in(state string) *workflow.Dossier {
	d := dossierIn(state)
	if d != nil {
		d.Definition, d.Version, d.Procedure, d.Status = f.id, f.version, f.procedure, f.status[state]
	}
	return d
}

// event returns an event of the flow meeting every guard; a new dossier of
// the 2018 flow is dated before 1 July 2025.
func (f flow) event(action, state string) *workflow.Event {
	ev := fullEvent(action)
	ev.Procedure = f.procedure
	if state == "start" && f.id == "standard" && f.version == 1 {
		ev.Time = time.Date(2025, 3, 1, 9, 0, 0, 0, workflow.Zone)
	}
	return ev
}

// TestDecideEveryActionFromEveryState runs every action of every shipped
// definition from every state, with every guard met, against the
// hand-written tables of legal transitions.
func TestDecideEveryActionFromEveryState(t *testing.T) {
	c := shipped(t)
	if got := len(c.Definitions()); got != len(flows) {
		t.Fatalf("%d shipped definitions, the test knows %d", got, len(flows))
	}
	for _, f := range flows {
		def := c.Lookup(f.id, f.version)
		if def == nil {
			t.Fatalf("no shipped definition %s@%d", f.id, f.version)
		}
		if def.Procedure(f.procedure).Code != f.procedure || (c.Resolve(f.procedure, t0) != def && (f.id != "standard" || f.version == 2)) {
			t.Fatalf("%s does not cover %s", def.Key(), f.procedure)
		}
		states := []string{"start"}
		for _, s := range def.States {
			states = append(states, s.Name)
			if f.status[s.Name] != s.Status {
				t.Fatalf("%s: state %s has status %d, want %d", def.Key(), s.Name, s.Status, f.status[s.Name])
			}
		}
		var actions []string
		for _, a := range def.Actions {
			actions = append(actions, a.Name)
		}
		if want := slices.Sorted(mapKeys(f.legal)); !slices.Equal(slices.Sorted(slices.Values(actions)), want) {
			t.Fatalf("%s actions = %v, want %v", def.Key(), slices.Sorted(slices.Values(actions)), want)
		}
		for _, action := range actions {
			for _, state := range states {
				t.Run(def.Key()+"/"+action+"/from_"+state, func(t *testing.T) {
					l := f.legal[action]
					d := f.in(state)
					got := decide(c, d, f.event(action, state))
					if !slices.Contains(l.from, state) {
						if got.Rejection == nil || got.Rejection.Reason != workflow.ReasonInvalidTransition {
							t.Fatalf("Decide(%s from %s) = %+v, want rejection %s", action, state, got.Rejection, workflow.ReasonInvalidTransition)
						}
						if got.Entry != nil || got.Outcome.Kind != workflow.OutcomeRejected {
							t.Fatalf("rejected decision carries entry %v, outcome %s", got.Entry, got.Outcome.Kind)
						}
						if d != nil && (got.Dossier.State != state || got.Dossier.Rejections != 1) {
							t.Fatalf("after rejection dossier state %q rejections %d, want %q and 1", got.Dossier.State, got.Dossier.Rejections, state)
						}
						return
					}
					if got.Rejection != nil {
						t.Fatalf("Decide(%s from %s) rejected: %s", action, state, got.Rejection.MessageEN())
					}
					want := l.to
					if want == "=" {
						want = state
					}
					if got.Dossier.State != want || got.Dossier.Status != f.status[want] || got.Dossier.Definition != f.id || got.Dossier.Version != f.version {
						t.Fatalf("Decide(%s from %s) -> %s (%d) under %s@%d, want %s (%d)", action, state, got.Dossier.State,
							got.Dossier.Status, got.Dossier.Definition, got.Dossier.Version, want, f.status[want])
					}
					e := got.Entry
					if e.From != state || e.To != want || e.ToStatus != f.status[want] || e.Action != action {
						t.Fatalf("entry %+v does not record %s: %s -> %s", e, action, state, want)
					}
					if e.Hash != e.ComputeHash() || e.Hash != got.Dossier.Head {
						t.Fatalf("entry hash %s, recomputed %s, head %s", e.Hash, e.ComputeHash(), got.Dossier.Head)
					}
					if got.Outcome.Kind != workflow.OutcomeAccepted || got.Outcome.Status != f.status[want] {
						t.Fatalf("outcome %+v, want accepted with status %d", got.Outcome, f.status[want])
					}
				})
			}
		}
	}
}

func mapKeys[M ~map[K]V, K comparable, V any](m M) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestDecideGuards removes, for every legal transition, each required
// attachment and field in turn and expects the matching reason code; and
// checks that actions without requirements need none.
func TestDecideGuards(t *testing.T) {
	c := shipped(t)
	for _, f := range flows {
		testGuards(t, c, f)
	}
}

func testGuards(t *testing.T, c *workflow.Catalog, f flow) {
	key := fmt.Sprintf("%s@%d/", f.id, f.version)
	for action, l := range f.legal {
		for _, state := range l.from {
			var reqs []needs
			for _, n := range f.required[action] {
				if len(n.onlyFrom) == 0 || slices.Contains(n.onlyFrom, state) {
					reqs = append(reqs, n)
				}
			}
			// The minimal event: only what the requirements ask for.
			minimal := func() *workflow.Event {
				ev := f.event(action, state)
				ev.Attachments, ev.Reason, ev.NewDue, ev.Department = nil, "", time.Time{}, ""
				for _, n := range reqs {
					for _, k := range slices.Concat(n.attach, n.recorded) {
						ev.Attachments = append(ev.Attachments, workflow.Attachment{Kind: k})
					}
					for _, f := range n.fields {
						full := fullEvent(action)
						switch f {
						case "reason":
							ev.Reason = full.Reason
						case "new_due":
							ev.NewDue = full.NewDue
						case "department":
							ev.Department = full.Department
						default:
							t.Fatalf("test table names field %q it cannot fill", f)
						}
					}
				}
				return ev
			}
			t.Run(key+action+"/from_"+state+"/minimal", func(t *testing.T) {
				if got := decide(c, f.in(state), minimal()); got.Rejection != nil {
					t.Fatalf("Decide(%s from %s, only required data) rejected: %s", action, state, got.Rejection.MessageEN())
				}
			})
			for _, n := range reqs {
				for _, k := range slices.Concat(n.attach, n.recorded) {
					t.Run(key+action+"/from_"+state+"/without_"+k, func(t *testing.T) {
						ev := minimal()
						ev.Attachments = slices.DeleteFunc(ev.Attachments, func(a workflow.Attachment) bool { return a.Kind == k })
						got := decide(c, f.in(state), ev)
						if got.Rejection == nil || got.Rejection.Reason != workflow.ReasonMissingAttachment || !strings.Contains(got.Rejection.Detail, k) {
							t.Fatalf("Decide(%s from %s without %s) = %+v, want missing_attachment naming it", action, state, k, got.Rejection)
						}
					})
				}
				for _, k := range n.recorded {
					t.Run(key+action+"/from_"+state+"/"+k+"_recorded_earlier", func(t *testing.T) {
						ev := minimal()
						ev.Attachments = slices.DeleteFunc(ev.Attachments, func(a workflow.Attachment) bool { return a.Kind == k })
						d := f.in(state)
						d.Attachments = []string{k}
						if got := decide(c, d, ev); got.Rejection != nil {
							t.Fatalf("Decide(%s from %s, %s attached earlier) rejected: %s", action, state, k, got.Rejection.MessageEN())
						}
					})
				}
				for _, field := range n.fields {
					t.Run(key+action+"/from_"+state+"/without_"+field, func(t *testing.T) {
						ev := minimal()
						switch field {
						case "reason":
							ev.Reason = "  "
						case "new_due":
							ev.NewDue = time.Time{}
						case "department":
							ev.Department = ""
						}
						got := decide(c, f.in(state), ev)
						if got.Rejection == nil || got.Rejection.Reason != workflow.ReasonMissingField || !strings.Contains(got.Rejection.Detail, field) {
							t.Fatalf("Decide(%s from %s without %s) = %+v, want missing_field naming it", action, state, field, got.Rejection)
						}
					})
				}
			}
		}
	}
}

func TestDecideRejections(t *testing.T) {
	c := shipped(t)
	processing := dossierIn("processing")
	processing.Attachments = []string{"input_digitized"}
	tests := []struct {
		name   string
		d      *workflow.Dossier
		edit   func(*workflow.Event)
		reason workflow.Reason
		detail string
	}{
		{"unknown action", processing, func(e *workflow.Event) { e.Action = "approve" }, workflow.ReasonUnknownAction, `"approve"`},
		{"definition's action from the reserved source", processing, func(e *workflow.Event) { e.Source = workflow.SystemSource },
			workflow.ReasonUnknownAction, `the source "hoso" is reserved`},
		{"new dossier from the reserved source", nil, func(e *workflow.Event) {
			e.Action, e.Source = "receive", workflow.SystemSource
		}, workflow.ReasonUnknownAction, `not "receive"`},
		{"other procedure", processing, func(e *workflow.Event) { e.Procedure = "2.000001" }, workflow.ReasonProcedureMismatch, `"2.000001"`},
		{"older than last event", processing, func(e *workflow.Event) { e.Time = t0.Add(-time.Minute) }, workflow.ReasonOutOfOrder, "before"},
		{"before any definition", nil, func(e *workflow.Event) {
			e.Action = "receive"
			e.Time = time.Date(2010, 1, 1, 0, 0, 0, 0, workflow.Zone)
		}, workflow.ReasonUnknownProcedure, "2010-01-01"},
		{"pinned definition gone", &workflow.Dossier{Code: "X-1", Procedure: "1.004227", Definition: "standard", Version: 9, State: "processing"}, func(e *workflow.Event) { e.Dossier = "X-1" }, workflow.ReasonUnknownProcedure, "standard@9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := fullEvent("transfer")
			tt.edit(ev)
			got := decide(c, tt.d, ev)
			if got.Rejection == nil || got.Rejection.Reason != tt.reason || !strings.Contains(got.Rejection.Detail, tt.detail) {
				t.Fatalf("Decide = %+v, want %s with detail containing %s", got.Rejection, tt.reason, tt.detail)
			}
			if got.Rejection.DetailVI == "" || !strings.Contains(got.Outcome.MessageVI, got.Rejection.DetailVI) {
				t.Fatalf("rejection %+v: no Vietnamese detail in %q", got.Rejection, got.Outcome.MessageVI)
			}
			if got.Outcome.Reason != tt.reason || got.Outcome.MessageVI == "" || got.Outcome.MessageEN == "" {
				t.Fatalf("outcome %+v lacks reason %s or bilingual messages", got.Outcome, tt.reason)
			}
		})
	}
}

func TestDecideClaimedStatus(t *testing.T) {
	c := shipped(t)
	ev := fullEvent("assign")
	ev.ClaimedStatus = workflow.StatusResolved
	got := decide(c, dossierIn("received"), ev)
	if got.Rejection != nil || got.Outcome.Kind != workflow.OutcomeCorrection || got.Outcome.Status != workflow.StatusProcessing {
		t.Fatalf("assign claiming 9: outcome %+v, want correction to status 4", got.Outcome)
	}
	if got.Mismatch == nil || !got.Mismatch.Applied || got.Mismatch.ClaimedStatus != 9 || got.Dossier.Mismatches != 1 {
		t.Fatalf("mismatch %+v, dossier mismatches %d", got.Mismatch, got.Dossier.Mismatches)
	}

	// A rejected event whose sender claims the status it wanted: a mismatch
	// that was not applied; the outcome stays a rejection.
	ev = fullEvent("resolve")
	ev.Attachments = nil
	ev.ClaimedStatus = workflow.StatusResolved
	got = decide(c, dossierIn("processing"), ev)
	if got.Outcome.Kind != workflow.OutcomeRejected || got.Mismatch == nil || got.Mismatch.Applied || got.Outcome.Status != workflow.StatusProcessing {
		t.Fatalf("resolve without result claiming 9: outcome %+v mismatch %+v", got.Outcome, got.Mismatch)
	}

	ev = fullEvent("assign")
	ev.ClaimedStatus = workflow.StatusProcessing
	if got = decide(c, dossierIn("received"), ev); got.Mismatch != nil || got.Outcome.Kind != workflow.OutcomeAccepted {
		t.Fatalf("right claim: outcome %s mismatch %+v", got.Outcome.Kind, got.Mismatch)
	}
}

// TestVersionPinning: a dossier received under Decree 61/2018 keeps its
// rules after Decree 118/2025 takes effect.
func TestVersionPinning(t *testing.T) {
	c := shipped(t)
	old := time.Date(2025, 6, 30, 16, 0, 0, 0, workflow.Zone)
	if d := c.Resolve("1.004227", old); d == nil || d.Version != 1 {
		t.Fatalf("Resolve(30 June 2025) = %v, want standard@1", d)
	}
	if d := c.Resolve("1.004227", old.Add(8*time.Hour)); d == nil || d.Version != 2 {
		t.Fatalf("Resolve(1 July 2025) = %v, want standard@2", d)
	}
	ev := fullEvent("receive")
	ev.Time = old
	got := decide(c, nil, ev)
	if got.Rejection != nil || got.Dossier.Version != 1 {
		t.Fatalf("receive on 30 June 2025: %+v, version %d", got.Rejection, got.Dossier.Version)
	}
	d := got.Dossier
	d.State, d.Status = "processing", workflow.StatusProcessing
	stop := fullEvent("stop")
	stop.Time = t0 // after 1 July 2025
	stop.Attachments = nil
	if got := decide(c, d, stop); got.Rejection != nil {
		t.Fatalf("stop without notice under standard@1 rejected: %s", got.Rejection.MessageEN())
	}
	d2 := dossierIn("processing")
	if got := decide(c, d2, stop); got.Rejection == nil || got.Rejection.Reason != workflow.ReasonMissingAttachment {
		t.Fatalf("stop without notice under standard@2: %+v, want missing_attachment", got.Rejection)
	}
}

// TestDecideChain runs a dossier through the whole flow and verifies the
// chain, then tampers with it.
func TestDecideChain(t *testing.T) {
	c := shipped(t)
	steps := []struct {
		action string
		attach []string
	}{
		{"receive", []string{"input_digitized"}}, {"assign", nil}, {"transfer", nil},
		{"request_supplement", []string{"supplement_request"}}, {"supplement", nil},
		{"resolve", []string{"result_electronic"}}, {"return", nil},
	}
	var d *workflow.Dossier
	var entries []workflow.HistoryEntry
	for i, s := range steps {
		ev := fullEvent(s.action)
		ev.ID = fmt.Sprintf("ev-%d", i)
		ev.Time = t0.Add(time.Duration(i) * time.Hour)
		ev.Attachments = nil
		for _, k := range s.attach {
			ev.Attachments = append(ev.Attachments, workflow.Attachment{Kind: k, SHA256: strings.Repeat("ab", 32)})
		}
		got := c.Decide(d, &workflow.Envelope{Seq: uint64(i + 1), Event: ev})
		if got.Rejection != nil {
			t.Fatalf("step %d %s rejected: %s", i, s.action, got.Rejection.MessageEN())
		}
		d = got.Dossier
		entries = append(entries, *got.Entry)
	}
	if d.Status != workflow.StatusReturned || !d.Terminal || d.History != len(steps) {
		t.Fatalf("final dossier %+v", d)
	}
	if want := []string{"input_digitized", "result_electronic", "supplement_request"}; !cmp.Equal(d.Attachments, want) {
		t.Fatalf("attachments %v, want %v", d.Attachments, want)
	}
	if r := workflow.VerifyChain(d, entries); !r.OK || r.Entries != len(steps) || r.Head != d.Head {
		t.Fatalf("VerifyChain = %+v, want OK", r)
	}
	tampered := slices.Clone(entries)
	tampered[3].Actor = "someone-else"
	if r := workflow.VerifyChain(d, tampered); r.OK || r.BrokenAt != 3 {
		t.Fatalf("VerifyChain(actor changed at 3) = %+v, want broken at 3", r)
	}
	if r := workflow.VerifyChain(d, entries[:len(entries)-1]); r.OK {
		t.Fatalf("VerifyChain(last entry dropped) = %+v, want broken", r)
	}
	swapped := slices.Clone(entries)
	swapped[1], swapped[2] = swapped[2], swapped[1]
	if r := workflow.VerifyChain(d, swapped); r.OK || r.BrokenAt != 1 {
		t.Fatalf("VerifyChain(entries swapped) = %+v, want broken at 1", r)
	}
}

// TestDuplicateRecordsNoMismatch: a repeated event's claim was judged when
// the event was first decided.
func TestDuplicateRecordsNoMismatch(t *testing.T) {
	c := shipped(t)
	ev := fullEvent("assign")
	ev.ClaimedStatus = workflow.StatusReturned
	env := &workflow.Envelope{Seq: 9, Event: ev}
	env.RejectDuplicate()
	got := c.Decide(dossierIn("processing"), env)
	if got.Rejection == nil || got.Rejection.Reason != workflow.ReasonDuplicate || got.Mismatch != nil || got.Dossier.Mismatches != 0 {
		t.Fatalf("duplicate claiming 10: rejection %+v mismatch %+v", got.Rejection, got.Mismatch)
	}
}

// BenchmarkDecide decides an accepted handoff: positioning a pooled FSM,
// running the guards and hashing the history entry.
func BenchmarkDecide(b *testing.B) {
	c := shipped(b)
	d := dossierIn("processing")
	env := &workflow.Envelope{Seq: 7, Event: fullEvent("transfer")}
	b.ReportAllocs()
	for b.Loop() {
		if got := c.Decide(d, env); got.Rejection != nil {
			b.Fatal(got.Rejection)
		}
	}
}

// BenchmarkDecideRejected decides an invalid transition.
func BenchmarkDecideRejected(b *testing.B) {
	c := shipped(b)
	d := dossierIn("returned")
	env := &workflow.Envelope{Seq: 7, Event: fullEvent("transfer")}
	b.ReportAllocs()
	for b.Loop() {
		if got := c.Decide(d, env); got.Rejection == nil {
			b.Fatal("accepted")
		}
	}
}

// TestCodecRejectionWithClaim: a message the codec rejected, whose payload
// still names a known dossier and claims another status, is recorded as a
// rejection and a mismatch on that dossier (it once crashed the engine).
func TestCodecRejectionWithClaim(t *testing.T) {
	c := shipped(t)
	d := dossierIn("received")
	published := t0.Add(time.Hour)
	env := &workflow.Envelope{Seq: 12, Subject: "hoso.events.tayninh.x", Published: published,
		Rejection: &workflow.Rejection{Reason: workflow.ReasonMalformed, Detail: `data: unknown field "departmnet"`,
			EventID: "ev-x1", Source: "tayninh", Dossier: d.Code, Action: "assign", ClaimedStatus: workflow.StatusProcessing}}
	got := c.Decide(d, env)
	if got.Rejection == nil || got.Rejection.Reason != workflow.ReasonMalformed || got.Dossier == nil || got.Dossier.Rejections != 1 {
		t.Fatalf("Decide(codec rejection) = %+v, dossier %+v", got.Rejection, got.Dossier)
	}
	m := got.Mismatch
	if m == nil || m.Applied || m.ClaimedStatus != workflow.StatusProcessing || m.Status != workflow.StatusReceived ||
		m.EventID != "ev-x1" || m.Dossier != d.Code || !m.Time.Equal(published) {
		t.Fatalf("mismatch %+v, want one for ev-x1 claiming 4 at status 2", m)
	}
	if got.Outcome.Kind != workflow.OutcomeRejected || got.Outcome.Status != workflow.StatusReceived {
		t.Fatalf("outcome %+v", got.Outcome)
	}
}

// TestDecideRecoversFromBugs: an envelope no caller should build (neither
// event nor rejection) makes the decision panic inside; Decide answers it
// with an internal_error rejection instead of stopping the engine.
func TestDecideRecoversFromBugs(t *testing.T) {
	c := shipped(t)
	got := c.Decide(dossierIn("processing"), &workflow.Envelope{Seq: 3, Subject: "hoso.events.tayninh.x"})
	if got.Rejection == nil || got.Rejection.Reason != workflow.ReasonInternal || got.Outcome.Kind != workflow.OutcomeRejected {
		t.Fatalf("Decide(empty envelope) = %+v", got)
	}
	// The pool still decides correctly afterwards.
	if got := decide(c, dossierIn("processing"), fullEvent("transfer")); got.Rejection != nil {
		t.Fatalf("Decide after a recovered panic rejected: %s", got.Rejection.MessageEN())
	}
}

// TestDecideOnline: a dossier is submitted online when its first accepted
// event puts it in status 1, and stays so; one received at the desk, or
// first refused, is not.
func TestDecideOnline(t *testing.T) {
	c := shipped(t)
	decide := func(d *workflow.Dossier, action string, attach ...string) *workflow.Dossier {
		t.Helper()
		ev := fullEvent(action)
		ev.Attachments = nil
		for _, k := range attach {
			ev.Attachments = append(ev.Attachments, workflow.Attachment{Kind: k})
		}
		got := c.Decide(d, &workflow.Envelope{Seq: 1, Event: ev})
		if got.Rejection != nil {
			t.Fatalf("%s rejected: %s", action, got.Rejection.MessageEN())
		}
		return got.Dossier
	}
	online := decide(nil, "submit")
	if !online.Online {
		t.Error("submitted online: Online false")
	}
	if d := decide(online, "receive"); !d.Online || d.Status != workflow.StatusReceived {
		t.Errorf("an online dossier received: Online %v, status %d; want true, 2", d.Online, d.Status)
	}
	if d := decide(nil, "receive", workflow.AttachmentInputDigitized); d.Online {
		t.Error("received at the desk: Online true")
	}
	if d := decide(nil, "refuse", "refusal_notice"); d.Online {
		t.Error("refused at intake: Online true")
	}
}
