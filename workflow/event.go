package workflow

import (
	"fmt"
	"strings"
	"time"
)

// TypePrefix is the CloudEvent type prefix of every hoso event; the rest of
// the type is the action, e.g. "vn.gov.hoso.receive".
const TypePrefix = "vn.gov.hoso."

// SystemSource is the source token of the events hoso publishes itself:
// the deadline warnings and expiries and the period closes of its
// scheduler, and calendar changes.
const SystemSource = "hoso"

// CalendarAction is the action of hoso's calendar events: the schedule of
// one year replaced (an announced calendar for a computed one). It
// belongs to no definition; only SystemSource may send it, with
// CalendarSubject as the CloudEvent subject, data.calendar (the year's new
// schedule) and data.previous_calendar (the schedule it replaces). From
// the event on, deadlines count in the new calendar, and the due dates of
// the dossiers it concerns are recomputed (Catalog.DecideCalendar).
const CalendarAction = "calendar"

// CalendarSubject is the CloudEvent subject, and the subject token, of
// every calendar event: hoso.events.hoso.calendar. The year is in the
// event's data. One subject keeps the few calendar events of a stream
// findable with one filter (events.CalendarStart).
const CalendarSubject = "calendar"

// The actions of hoso's own deadline events. They belong to no definition;
// only SystemSource may send them. data.due names the due date they are
// about, and the event time is derived from it, never from a clock.
const (
	DeadlineWarning = "deadline_warning" // one working day before the due date
	DeadlineExpired = "deadline_expired" // the due date has passed with the clock running
)

// SystemAction reports whether action is one of hoso's own, which only
// SystemSource may send: the deadline warnings and expiries, calendar
// changes and period closes. SystemSource sends nothing else: its other
// events are rejected as ReasonUnknownAction.
func SystemAction(action string) bool {
	switch action {
	case DeadlineWarning, DeadlineExpired, CalendarAction, PeriodCloseAction:
		return true
	}
	return false
}

// Attachment kinds named by the standard definitions. Definitions may use
// other kinds; these are the ones the integration contract lists.
const (
	AttachmentInputDigitized    = "input_digitized"
	AttachmentResultElectronic  = "result_electronic"
	AttachmentApologyLetter     = "apology_letter"
	AttachmentSupplementRequest = "supplement_request"
	AttachmentRefusalNotice     = "refusal_notice"
	AttachmentStopNotice        = "stop_notice"
)

// Attachment is a file attached to an event, identified by its kind and
// content hash. hoso records attachments; it never stores the files.
type Attachment struct {
	Kind   string `json:"kind"`
	Name   string `json:"name,omitempty"`
	SHA256 string `json:"sha256,omitempty"` // lowercase hex, 64 digits, or empty
}

// Event is one dossier event of the integration contract, decoded and
// checked for form (not yet for meaning: that is Decide's job).
type Event struct {
	ID        string    // CloudEvent id: the idempotency key, forever
	SourceURI string    // CloudEvent source, e.g. "/motcua/tayninh"
	Source    string    // the <source> token of the NATS subject
	Action    string    // the CloudEvent type without TypePrefix
	Dossier   string    // CloudEvent subject: the dossier code
	Time      time.Time // when the action happened in the one-stop-shop

	Procedure     string // data.procedure: procedure code (mã TTHC)
	Agency        string // data.agency: handling agency code
	Actor         string // data.actor: officer or citizen id
	ClaimedStatus Status // data.claimed_status; zero when not given
	Attachments   []Attachment
	Reason        string    // data.reason: refusal, stop or apology reason
	NewDue        time.Time // data.new_due: the new due date of an apology; zero when absent
	// NewDueDay: data.new_due was a date without a time, decoded as its
	// midnight; the due instant is the end of that day's working hours
	// (Calendar.EndOfDay).
	NewDueDay bool
	Due       time.Time // data.due: the due date (NgayHenTra) the sender set; zero when absent
	// DueDay: data.due was a date without a time, like NewDueDay.
	DueDay     bool
	Department string // data.department: department handling the dossier after the action
	// Entered is data.entered: when the one-stop-shop recorded the event
	// (its own entry timestamp), not before Time; zero when absent, and
	// then the event's arrival on the stream stands for it. A late entry
	// is judged by it.
	Entered time.Time
	Note    string // data.note: free text for the control sheet
	// Calendar is data.calendar of a calendar event (CalendarAction): the
	// year file of the year's new schedule; nil in every other event.
	Calendar *CalendarYear
	// PreviousCalendar is data.previous_calendar of a calendar event: the
	// year file of the schedule in force when it was published, which it
	// replaces; nil in every other event.
	PreviousCalendar *CalendarYear
	// Channel is data.channel: how the dossier was submitted, read on the
	// event that creates or receives it; "" when absent.
	Channel Channel
	// Payment is data.payment: the event records a payment made online or
	// at the counter; "" when absent. It never changes the decision.
	Payment Payment
	// Satisfaction is data.satisfaction: the applicant's rating, 1–5; 0
	// when absent. Read on an event of a dossier hoso knows; it never
	// changes the decision.
	Satisfaction int
	// Lookup is data.lookup: the lookup digest of the applicant's secret
	// (LookupDigest); zero when absent. Read on any accepted event of a
	// dossier, the last one given replacing the one before; it never
	// changes the decision.
	Lookup [32]byte
	// Period is data.period of a period-close event (PeriodCloseAction):
	// the month it closes, "2006-01"; empty in every other event.
	Period string
}

// Field reports whether the named data field is present in the event. Guards
// use it; the names are those of the contract ("reason", "new_due", ...).
func (e *Event) Field(name string) bool {
	switch name {
	case "reason":
		return strings.TrimSpace(e.Reason) != ""
	case "new_due":
		return !e.NewDue.IsZero()
	case "due":
		return !e.Due.IsZero()
	case "department":
		return e.Department != ""
	case "note":
		return strings.TrimSpace(e.Note) != ""
	case "actor":
		return e.Actor != ""
	case "agency":
		return e.Agency != ""
	}
	return false
}

// GuardFields lists the data field names a guard may require.
var GuardFields = []string{"reason", "new_due", "due", "department", "note", "actor", "agency"}

// HasAttachment reports whether the event carries an attachment of the kind.
func (e *Event) HasAttachment(kind string) bool {
	for _, a := range e.Attachments {
		if a.Kind == kind {
			return true
		}
	}
	return false
}

// MaxDossierCode is the longest dossier code of the contract, in bytes.
const MaxDossierCode = 64

// IsDossierCode reports whether s has the form of a dossier code of the
// integration contract (^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$): the one
// rule the decoder, the APIs, the public lookup and reconciliation check.
func IsDossierCode(s string) bool {
	if s == "" || len(s) > MaxDossierCode || !isAlnumByte(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(isAlnumByte(c) || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func isAlnumByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// DossierToken returns the NATS subject token of a dossier code: the code
// with every "." replaced by "_".
func DossierToken(code string) string { return strings.ReplaceAll(code, ".", "_") }

// Envelope is one message of the event stream as the engine applies it: its
// stream position, and either the decoded event or the rejection its
// decoding produced.
type Envelope struct {
	Seq       uint64    // stream sequence, strictly increasing
	Subject   string    // the NATS subject it was published on
	Published time.Time // the stream's timestamp of the message
	Event     *Event    // nil when Rejection is set
	Rejection *Rejection
}

// Rejection records an event that was not applied and why. A rejection is a
// result, not an error.
type Rejection struct {
	Seq           uint64    `json:"seq"`
	EventID       string    `json:"event_id,omitempty"`
	Source        string    `json:"source,omitempty"`
	Subject       string    `json:"subject"`
	Dossier       string    `json:"dossier,omitempty"`
	Action        string    `json:"action,omitempty"`
	Agency        string    `json:"agency,omitempty"`
	Reason        Reason    `json:"reason"`
	Detail        string    `json:"detail,omitempty"`    // English detail, e.g. the missing kind
	DetailVI      string    `json:"detail_vi,omitempty"` // Vietnamese detail; empty for the codec's (technical) rejections
	Status        Status    `json:"status,omitempty"`    // authoritative status of the dossier then; zero if unknown
	ClaimedStatus Status    `json:"claimed_status,omitempty"`
	Time          time.Time `json:"time"` // the stream's timestamp of the message
}

// MessageEN is the English message of the rejection.
func (r *Rejection) MessageEN() string {
	if r.Detail == "" {
		return r.Reason.TextEN()
	}
	return r.Reason.TextEN() + ": " + r.Detail
}

// MessageVI is the Vietnamese message of the rejection; a detail known
// only in English follows in parentheses.
func (r *Rejection) MessageVI() string {
	switch {
	case r.DetailVI != "":
		return r.Reason.TextVI() + ": " + r.DetailVI
	case r.Detail != "":
		return r.Reason.TextVI() + " (" + r.Detail + ")"
	}
	return r.Reason.TextVI()
}

// Reject builds the rejection of an envelope whose event could not be read.
func Reject(seq uint64, subject string, published time.Time, reason Reason, format string, args ...any) *Rejection {
	return &Rejection{Seq: seq, Subject: subject, Reason: reason, Detail: fmt.Sprintf(format, args...), Time: published}
}

// Mismatch records an event whose claimed status differs from the
// authoritative status after the decision (accepted or not).
type Mismatch struct {
	Seq           uint64    `json:"seq"`
	EventID       string    `json:"event_id"`
	Source        string    `json:"source"`
	Dossier       string    `json:"dossier"`
	Action        string    `json:"action"`
	Agency        string    `json:"agency,omitempty"`
	Actor         string    `json:"actor,omitempty"`
	Applied       bool      `json:"applied"` // whether the event's action was applied
	Status        Status    `json:"status"`  // authoritative status
	ClaimedStatus Status    `json:"claimed_status"`
	Time          time.Time `json:"time"` // the event's time
}

// OutcomeKind says what happened to an inbound event.
type OutcomeKind string

// The outcome kinds of the integration contract.
const (
	OutcomeAccepted   OutcomeKind = "accepted"
	OutcomeRejected   OutcomeKind = "rejected"
	OutcomeCorrection OutcomeKind = "correction"
	OutcomeDeadline   OutcomeKind = "deadline"
)

// Outcome is the answer hoso publishes for one inbound message. Exactly one
// outcome exists per stream message; Seq identifies it.
type Outcome struct {
	Kind           OutcomeKind `json:"kind"`
	Seq            uint64      `json:"seq"`
	EventID        string      `json:"event_id,omitempty"`
	Source         string      `json:"source,omitempty"`
	Dossier        string      `json:"dossier,omitempty"`
	Action         string      `json:"action,omitempty"`
	Status         Status      `json:"status,omitempty"` // authoritative status after the event
	StatusName     string      `json:"status_name,omitempty"`
	PreviousStatus Status      `json:"previous_status,omitempty"`
	ClaimedStatus  Status      `json:"claimed_status,omitempty"`
	Reason         Reason      `json:"reason,omitempty"`
	MessageVI      string      `json:"message_vi,omitempty"`
	MessageEN      string      `json:"message_en,omitempty"`
	Due            *time.Time  `json:"due,omitempty"`
	HistoryIndex   *int        `json:"history_index,omitempty"` // index of the history entry written, if any
	// EntryHash is the hash of the history entry written, if any: the
	// sender's receipt, which the dossier's history must show at
	// HistoryIndex for as long as the store is intact.
	EntryHash *Hash `json:"entry_hash,omitempty"`
	// Irregularities are the kinds of irregularity recorded for an
	// accepted event (a late entry, a late apology, a repeated supplement
	// request): it was applied all the same.
	Irregularities []IrregularityKind `json:"irregularities,omitempty"`
	Time           time.Time          `json:"time"` // the event's time, or the stream's for unreadable messages
}

// MsgID is the Nats-Msg-Id the outcome is published with: derived from the
// source event (its id and stream sequence), so that a relay retried after a
// crash is deduplicated downstream.
func (o *Outcome) MsgID() string {
	if o.EventID == "" {
		return fmt.Sprintf("hoso-outcome-%d", o.Seq)
	}
	return fmt.Sprintf("%s@%d", o.EventID, o.Seq)
}
