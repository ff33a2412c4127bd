package client

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// Kind says what happened to an event: the <kind> of the outcome's
// subject hoso.outcomes.<kind>.<source>.<dossier-token>.
type Kind string

// The outcome kinds of the contract.
const (
	Accepted   Kind = "accepted"   // the action was applied
	Correction Kind = "correction" // applied, but the claimed status is wrong: fix the status your system shows
	Rejected   Kind = "rejected"   // not applied; Reason says why
	Deadline   Kind = "deadline"   // the dossier's due date is near (deadline_warning) or passed (deadline_expired)
)

// Reason is the stable code of a rejection or a correction
// (docs/contract.md, "Reason codes").
type Reason = workflow.Reason

// The reason codes, hoso's own (workflow's) under the client's names.
const (
	ReasonMalformed         = workflow.ReasonMalformed         // not a well-formed event of the contract
	ReasonTokenMismatch     = workflow.ReasonTokenMismatch     // the subject does not match the payload
	ReasonUnknownProcedure  = workflow.ReasonUnknownProcedure  // no definition covers the procedure at the event's time
	ReasonUnknownAction     = workflow.ReasonUnknownAction     // no such action in the dossier's definition, or not one the source may send
	ReasonInvalidTransition = workflow.ReasonInvalidTransition // the action is not allowed from the dossier's state
	ReasonMissingAttachment = workflow.ReasonMissingAttachment // a required attachment kind is absent
	ReasonMissingField      = workflow.ReasonMissingField      // a required data field is absent
	ReasonDuplicate         = workflow.ReasonDuplicate         // an event with this id was already decided
	ReasonOutOfOrder        = workflow.ReasonOutOfOrder        // the event's time is before the dossier's last accepted event
	ReasonProcedureMismatch = workflow.ReasonProcedureMismatch // the event names another procedure than the dossier's
	ReasonStatusMismatch    = workflow.ReasonStatusMismatch    // (corrections) the claimed status is wrong
	ReasonDeadlinePassed    = workflow.ReasonDeadlinePassed    // an apology after the due date it would move
	ReasonApologyLimit      = workflow.ReasonApologyLimit      // the definition's number of apologies is used up
	ReasonInvalidDue        = workflow.ReasonInvalidDue        // a new due date not later than the due date, or no due date
	ReasonStaleDeadline     = workflow.ReasonStaleDeadline     // (hoso's own deadline events) the due date is no longer the dossier's
	ReasonInternal          = workflow.ReasonInternal          // hoso failed to decide the event: report it
)

// Reasons lists every reason code of the contract.
func Reasons() []Reason { return workflow.Reasons() }

// Outcome is hoso's answer to one event (docs/contract.md, "Outcome
// fields"). Fields that do not apply are zero.
type Outcome struct {
	Kind           Kind      `json:"kind"`
	Seq            uint64    `json:"seq"`      // the event's sequence in HOSO_EVENTS (Ack.Sequence); 0 for a reconciliation's correction
	EventID        string    `json:"event_id"` // the event's id
	Source         string    `json:"source"`
	Dossier        string    `json:"dossier"`
	Action         Action    `json:"action"`
	Status         Status    `json:"status"`          // the authoritative status after the event; 0 for a dossier hoso does not know
	StatusName     string    `json:"status_name"`     // its Vietnamese name
	PreviousStatus Status    `json:"previous_status"` // the status before an applied event; 0 for a new dossier
	ClaimedStatus  Status    `json:"claimed_status"`
	Reason         Reason    `json:"reason"`     // of a rejection or a correction
	MessageVI      string    `json:"message_vi"` // what happened, in Vietnamese
	MessageEN      string    `json:"message_en"` // and in English
	Due            time.Time `json:"due"`        // the dossier's due date after the event; zero for none
	// HistoryIndex is the index of the history entry an applied event
	// wrote, and EntryHash that entry's SHA-256 in hex: the receipt to
	// keep. HistoryIndex is -1 when no entry was written.
	HistoryIndex   int       `json:"-"`
	EntryHash      string    `json:"entry_hash"`
	Irregularities []string  `json:"irregularities"` // late_entry, late_apology, repeated_supplement
	Time           time.Time `json:"time"`           // the event's time; the stream's for a message that could not be read
	// JSON is the outcome as hoso published it; fields added to the
	// contract later are there.
	JSON []byte `json:"-"`
}

// Applied reports whether the event's action was applied: the outcome is
// accepted or a correction.
func (o *Outcome) Applied() bool { return o.Kind == Accepted || o.Kind == Correction }

// parseOutcome reads an outcome message.
func parseOutcome(data []byte) (*Outcome, error) {
	var o struct {
		Outcome
		HistoryIndex *int `json:"history_index"`
	}
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("read outcome: %w", err)
	}
	if o.Kind == "" {
		return nil, fmt.Errorf("read outcome: no kind in %.200s", data)
	}
	out := o.Outcome
	out.HistoryIndex = -1
	if o.HistoryIndex != nil {
		out.HistoryIndex = *o.HistoryIndex
	}
	out.JSON = data
	return &out, nil
}
