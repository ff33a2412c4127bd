package testutil

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// Message is one Message a test publishes, with what hoso must make of it.
type Message struct {
	Subject string
	Data    []byte
	MsgID   string // Nats-Msg-Id header; "" publishes without one
	// Dropped: JetStream drops it as a duplicate inside its window, so it
	// never reaches the stream.
	Dropped bool
}

// Scenario is a generated stream whose true outcome is known.
type Scenario struct {
	Messages []Message
	// per dossier: the state and history length it must end with
	Final   map[string]string
	History map[string]int
	// Rejections hoso must record, by reason
	Rejections map[workflow.Reason]int
	// Corrections hoso must publish (accepted events claiming a wrong status)
	Corrections int
	// Mismatches hoso must record: corrections and rejected events that
	// claimed a status the dossier is not in
	Mismatches int
	Accepted   int
}

const ScenarioSource = "tayninh"

// NewScenario generates events for n dossiers through the standard flow:
// several valid paths, with faults of every kind mixed in. The expected
// results are counted as the faults are made, not derived from hoso.
func NewScenario(n, handoffs int) *Scenario {
	s := &Scenario{Final: map[string]string{}, History: map[string]int{}, Rejections: map[workflow.Reason]int{}}
	base := time.Date(2025, 10, 1, 8, 0, 0, 0, workflow.Zone)
	type step struct {
		action, state string
		attach        []string
		fields        map[string]string
	}
	dept := map[string]string{"department": "phong-tu-phap"}
	paths := [][]step{
		{ // counter receipt to returned result, with a handoff
			{"receive", "received", []string{"input_digitized"}, nil},
			{"assign", "processing", nil, dept},
			{"transfer", "processing", nil, map[string]string{"department": "phong-tai-chinh"}},
			{"resolve", "resolved", []string{"result_electronic"}, nil},
			{"return", "returned", nil, nil},
		},
		{ // online, with a supplement and a payment
			{"submit", "submitted", nil, nil},
			{"receive", "received", nil, nil},
			{"assign", "processing", nil, dept},
			{"request_supplement", "supplement", []string{"supplement_request"}, nil},
			{"supplement", "processing", nil, nil},
			{"request_payment", "payment", nil, nil},
			{"pay", "processing", nil, nil},
			{"resolve", "resolved", []string{"result_electronic"}, nil},
			{"return", "returned", nil, nil},
		},
		{ // withdrawn
			{"submit", "submitted", nil, nil},
			{"withdraw", "withdrawn", nil, nil},
		},
		{ // refused at intake
			{"submit", "submitted", nil, nil},
			{"refuse", "refused", []string{"refusal_notice"}, map[string]string{"reason": "thiếu giấy tờ"}},
		},
		{ // stopped
			{"receive", "received", []string{"input_digitized"}, nil},
			{"assign", "processing", nil, dept},
			{"stop", "stopped", []string{"stop_notice"}, map[string]string{"reason": "không đủ điều kiện"}},
		},
		{ // late, with an apology, still in progress
			{"receive", "received", []string{"input_digitized"}, nil},
			{"assign", "processing", nil, dept},
			{"apologize", "processing", []string{"apology_letter"}, map[string]string{"reason": "chờ xác minh", "new_due": "2025-11-20"}},
			{"transfer", "processing", nil, map[string]string{"department": "phong-kiem-tra"}},
		},
	}
	// The control sheet of a real dossier has several handoffs: add them
	// after each assignment.
	for p, path := range paths {
		var out []step
		for _, st := range path {
			out = append(out, st)
			if st.action == "assign" {
				for h := range handoffs {
					out = append(out, step{"transfer", "processing", nil, map[string]string{"department": fmt.Sprintf("phong-%d", h)}})
				}
			}
		}
		paths[p] = out
	}
	seq := 0
	// Messages are interleaved across dossiers: round r publishes step r of
	// every dossier, so batches mix dossiers.
	type plan struct {
		code string
		msgs []Message
	}
	plans := make([]plan, n)
	for i := range n {
		code := fmt.Sprintf("000.00.12.H57-251001-%04d", i)
		path := paths[i%len(paths)]
		var msgs []Message
		at := base.Add(time.Duration(i) * time.Second)
		mk := func(st step, id string) *workflow.Event {
			at = at.Add(time.Hour)
			ev := &workflow.Event{
				ID: id, SourceURI: "/motcua/" + ScenarioSource, Source: ScenarioSource, Action: st.action,
				Dossier: code, Time: at, Procedure: "1.004227", Agency: "H57", Actor: fmt.Sprintf("cb-%02d", i%17),
				Department: st.fields["department"], Reason: st.fields["reason"],
			}
			if st.action == "receive" {
				ev.Due = base.AddDate(0, 0, 14) // the one-stop-shop's appointment date
			}
			if d := st.fields["new_due"]; d != "" {
				ev.NewDue, _ = time.ParseInLocation(time.DateOnly, d, workflow.Zone)
			}
			for _, k := range st.attach {
				ev.Attachments = append(ev.Attachments, workflow.Attachment{Kind: k, Name: k + ".pdf"})
			}
			return ev
		}
		encode := func(ev *workflow.Event) []byte {
			b, err := events.Encode(ev)
			if err != nil {
				panic(err)
			}
			return b
		}
		newID := func() string { seq++; return fmt.Sprintf("ev-%06d", seq) }
		subject := events.Subject(ScenarioSource, code)
		state := "start"
		for k, st := range path {
			// Faults before some steps; each leaves the state unchanged.
			switch {
			case st.action == "resolve" && i%3 == 0:
				ev := mk(st, newID())
				ev.Attachments = nil // the electronic result forgotten
				msgs = append(msgs, Message{Subject: subject, Data: encode(ev), MsgID: ev.ID})
				s.Rejections[workflow.ReasonMissingAttachment]++
			case st.action == "assign" && i%4 == 1:
				ev := mk(st, newID())
				ev.Department = ""
				msgs = append(msgs, Message{Subject: subject, Data: encode(ev), MsgID: ev.ID})
				s.Rejections[workflow.ReasonMissingField]++
			case k == 1 && i%5 == 2:
				// An officer skips ahead: return before anything is resolved.
				ev := mk(step{action: "return"}, newID())
				ev.ClaimedStatus = workflow.StatusReturned
				msgs = append(msgs, Message{Subject: subject, Data: encode(ev), MsgID: ev.ID})
				s.Rejections[workflow.ReasonInvalidTransition]++
				s.Mismatches++
			case k == 1 && i%7 == 3:
				msgs = append(msgs, Message{Subject: subject, Data: []byte(`{"specversion":"1.0","id":`), MsgID: newID()})
				s.Rejections[workflow.ReasonMalformed]++
			case k == 2 && i%9 == 6:
				// A typo in a data field: unreadable, yet it names the
				// dossier and claims a status, so a mismatch is recorded.
				ev := mk(st, newID())
				ev.ClaimedStatus = workflow.StatusReturned
				msgs = append(msgs, Message{Subject: subject, Data: WithField(encode(ev), "departmnet", "x"), MsgID: ev.ID})
				s.Rejections[workflow.ReasonMalformed]++
				s.Mismatches++
			case k == 1 && i%11 == 4:
				// Published under another dossier's token.
				ev := mk(st, newID())
				msgs = append(msgs, Message{Subject: events.Subject(ScenarioSource, code+"X"), Data: encode(ev), MsgID: ev.ID})
				s.Rejections[workflow.ReasonTokenMismatch]++
			}
			ev := mk(st, newID())
			claimed := false
			if i%13 == 5 && k == len(path)-1 {
				ev.ClaimedStatus = workflow.StatusReturned
				if StatusOf(st.state) != workflow.StatusReturned {
					claimed = true
				}
			}
			data := encode(ev)
			msgs = append(msgs, Message{Subject: subject, Data: data, MsgID: ev.ID})
			s.Accepted++
			if claimed {
				s.Corrections++
				s.Mismatches++
			}
			state = st.state
			// Repeats: the same event again, with its Nats-Msg-Id (dropped by
			// JetStream's window) or without one (hoso's permanent dedupe).
			if k == 0 && i%6 == 1 {
				msgs = append(msgs, Message{Subject: subject, Data: data, MsgID: ev.ID, Dropped: true})
			}
			if k == len(path)-1 && i%8 == 7 {
				msgs = append(msgs, Message{Subject: subject, Data: data})
				s.Rejections[workflow.ReasonDuplicate]++
			}
		}
		s.Final[code] = state
		s.History[code] = len(path)
		plans[i] = plan{code, msgs}
	}
	for r := 0; ; r++ {
		more := false
		for _, p := range plans {
			if r < len(p.msgs) {
				s.Messages = append(s.Messages, p.msgs[r])
				more = true
			}
		}
		if !more {
			break
		}
	}
	return s
}

// Stored is how many messages reach the stream.
func (s *Scenario) Stored() int { return StoredOf(s.Messages) }

// StoredOf is how many of the messages reach the stream: those JetStream
// does not drop as duplicates.
func StoredOf(msgs []Message) int {
	n := 0
	for _, m := range msgs {
		if !m.Dropped {
			n++
		}
	}
	return n
}

func (s *Scenario) TotalRejections() int {
	n := 0
	for _, c := range s.Rejections {
		n += c
	}
	return n
}

func StatusOf(state string) workflow.Status {
	return map[string]workflow.Status{
		"submitted": 1, "received": 2, "refused": 3, "processing": 4, "supplement": 5,
		"payment": 6, "withdrawn": 7, "stopped": 8, "resolved": 9, "returned": 10,
	}[state]
}

// WithField adds a field to the data object of an encoded event.
func WithField(payload []byte, key string, value any) []byte {
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		panic(err)
	}
	m["data"].(map[string]any)[key] = value
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// Dossier returns the dossier code the message's event names.
func (m Message) Dossier(t testing.TB) string {
	t.Helper()
	var ev struct {
		Subject string `json:"subject"`
	}
	if err := json.Unmarshal(m.Data, &ev); err != nil || ev.Subject == "" {
		t.Fatalf("message %s has no dossier: %v", m.Subject, err)
	}
	return ev.Subject
}
