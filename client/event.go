package client

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// Action is an action of a procedure definition: the CloudEvent type
// without "vn.gov.hoso.". The constants are those of the standard flow;
// a definition may name others, written as Action("…").
type Action string

// The actions of the standard flow (docs/contract.md, "Statuses and
// actions").
const (
	Submit            Action = "submit"             // → 1, submitted online
	Receive           Action = "receive"            // 1 → 2, or a new dossier at the counter → 2
	Refuse            Action = "refuse"             // → 3, with a reason and a refusal notice
	Assign            Action = "assign"             // → 4, or a handoff inside 4
	Transfer          Action = "transfer"           // a handoff inside 4
	RequestSupplement Action = "request_supplement" // 4 → 5
	Supplement        Action = "supplement"         // 5 → 4
	RequestPayment    Action = "request_payment"    // 4 → 6
	Pay               Action = "pay"                // 6 → 4
	Withdraw          Action = "withdraw"           // → 7
	Stop              Action = "stop"               // → 8, with a reason and a stop notice
	Resolve           Action = "resolve"            // 4 → 9
	Return            Action = "return"             // 9 → 10
	Apologize         Action = "apologize"          // a new due date, status unchanged
)

// Status is a status code of the national portal, 1 to 10
// (workflow.StatusSubmitted … workflow.StatusReturned); 0 is none.
type Status = workflow.Status

// Attachment is one entry of data.attachments: its kind (lowercase, e.g.
// input_digitized), file name and SHA-256 (64 hex digits, or empty).
type Attachment = workflow.Attachment

// Channel is data.channel, how the dossier was submitted
// (workflow.ChannelDesk, ChannelPost, ChannelOnlineFull,
// ChannelOnlinePartial); "" gives none.
type Channel = workflow.Channel

// Payment is data.payment, a payment the event records
// (workflow.PaymentOnline, PaymentCounter); "" gives none.
type Payment = workflow.Payment

// Due is a due date: a whole day in Vietnam's time, due at the end of
// that day's working hours (written YYYY-MM-DD), or an instant (written
// RFC 3339). The zero Due is none.
type Due struct {
	t   time.Time
	day bool
}

// Day returns the due date of a whole day, e.g. Day(2025, time.September, 15).
func Day(year int, month time.Month, day int) Due {
	return Due{t: time.Date(year, month, day, 0, 0, 0, 0, workflow.Zone), day: true}
}

// At returns the due date of an instant.
func At(t time.Time) Due { return Due{t: t} }

// ParseDue reads a due date written YYYY-MM-DD (a day in Vietnam's time)
// or RFC 3339 (an instant with its offset).
func ParseDue(s string) (Due, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return Due{t: t}, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, workflow.Zone)
	if err != nil {
		return Due{}, fmt.Errorf("%q is not YYYY-MM-DD or RFC 3339", s)
	}
	return Due{t: t, day: true}, nil
}

// IsZero reports whether d is no due date.
func (d Due) IsZero() bool { return d.t.IsZero() }

// IsDay reports whether d is a whole day rather than an instant.
func (d Due) IsDay() bool { return d.day }

// Time returns the instant of d, or the midnight in Vietnam that starts
// its day.
func (d Due) Time() time.Time { return d.t }

// String returns d as the contract writes it: YYYY-MM-DD or RFC 3339; ""
// for none.
func (d Due) String() string {
	switch {
	case d.t.IsZero():
		return ""
	case d.day:
		return d.t.In(workflow.Zone).Format(time.DateOnly)
	}
	return d.t.Format(time.RFC3339Nano)
}

// Event is one event of the integration contract, as a one-stop-shop
// sends it. ID and Time are required, and a retry must carry the same
// ones: set them when the action happens (or call Stamp once) and keep
// them with the event until it is acknowledged.
type Event struct {
	// ID is the CloudEvent id, unique per event and its idempotency key
	// forever (at most 200 bytes); it is also sent as Nats-Msg-Id.
	ID string
	// Time is when the action happened in the one-stop-shop.
	Time time.Time

	Action    Action // the action, e.g. Receive
	Dossier   string // the dossier code (mã hồ sơ), e.g. 000.00.12.H57-250901-0001
	Procedure string // data.procedure: the procedure code (mã TTHC), e.g. 1.004227
	Agency    string // data.agency: the handling agency's code
	Actor     string // data.actor: the officer's or citizen's id

	ClaimedStatus Status       // data.claimed_status: the status your system shows after the action; 0 for none
	Attachments   []Attachment // data.attachments
	Reason        string       // data.reason: a refusal, stop or apology reason
	Due           Due          // data.due: the due date (NgayHenTra) set at receipt
	NewDue        Due          // data.new_due: an apology's new due date
	Department    string       // data.department: the department handling the dossier after the action
	Note          string       // data.note: free text for the control sheet
	Channel       Channel      // data.channel: how the dossier was submitted
	Payment       Payment      // data.payment: a payment the event records
	Satisfaction  int          // data.satisfaction: the applicant's rating 1–5; 0 for none
	// Entered is data.entered: when your system recorded the action, not
	// before Time; zero for none. Set it when forwarding events recorded
	// earlier, so that they are not taken for late entries.
	Entered time.Time
	// Lookup is data.lookup: the lookup digest of the secret printed on
	// the applicant's receipt (SetLookup); zero for none. hoso keeps the
	// last one an accepted event gave, so that the applicant can look the
	// dossier up with its code and the secret.
	Lookup [32]byte
}

// SetLookup sets Lookup to the digest of the applicant's lookup secret
// for the event's dossier under the deployment's lookup key
// (workflow.LookupDigest; read the key's file with
// workflow.ParseLookupKey). Set Dossier first: the digest binds the code.
// It returns an error, and leaves Lookup alone, for a key shorter than
// workflow.MinLookupKey bytes, a secret workflow.CheckLookupSecret
// refuses, or no dossier code.
func (e *Event) SetLookup(key []byte, secret string) error {
	switch {
	case len(key) < workflow.MinLookupKey:
		return fmt.Errorf("lookup: a key of %d bytes, want at least %d", len(key), workflow.MinLookupKey)
	case e.Dossier == "":
		return errors.New("lookup: set the event's dossier code first: the digest binds it")
	}
	if err := workflow.CheckLookupSecret(secret); err != nil {
		return fmt.Errorf("lookup: %w", err)
	}
	e.Lookup = workflow.LookupDigest(key, e.Dossier, secret)
	return nil
}

// ErrInvalidEvent is returned (wrapped) for an event hoso would reject as
// malformed or token_mismatch: it is not sent.
var ErrInvalidEvent = errors.New("client: invalid event")

// Stamp sets a missing ID to a new random one (NewID) and a missing Time
// to now, and leaves set ones alone: call it once when the action happens,
// before the first attempt to publish; a retry of the same Event then
// carries the same id and time.
func (e *Event) Stamp() {
	if e.ID == "" {
		e.ID = NewID()
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
}

// NewID returns a new random event id, a version 4 UUID.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Encode returns the event's CloudEvent JSON and the subject it is
// published on, hoso.events.<source>.<dossier-token>, with sourceURI as
// the CloudEvent source. It applies hoso's own checks of a message
// (events.Decode), with the wall clock standing for the stream's
// timestamp, and returns an error wrapping ErrInvalidEvent naming every
// problem of an event hoso would reject as malformed or token_mismatch.
func (e *Event) Encode(source, sourceURI string) (subject string, payload []byte, err error) {
	if e.ID == "" || e.Time.IsZero() {
		return "", nil, fmt.Errorf("%w: id and time are required: set them when the action happens, or call Stamp once, and keep them for every retry", ErrInvalidEvent)
	}
	ev := e.workflow(source, sourceURI)
	payload, err = events.Encode(ev)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %s", ErrInvalidEvent, strings.TrimPrefix(err.Error(), events.ErrInvalidEvent.Error()+": "))
	}
	subject = events.Subject(source, e.Dossier)
	if env := events.Decode(subject, payload, 0, time.Now()); env.Rejection != nil {
		return "", nil, fmt.Errorf("%w: %s: %s", ErrInvalidEvent, env.Rejection.Reason, env.Rejection.Detail)
	}
	return subject, payload, nil
}

// workflow returns the event as hoso's codec takes it.
func (e *Event) workflow(source, sourceURI string) *workflow.Event {
	return &workflow.Event{
		ID: e.ID, SourceURI: sourceURI, Source: source, Action: string(e.Action), Dossier: e.Dossier, Time: e.Time,
		Procedure: e.Procedure, Agency: e.Agency, Actor: e.Actor, ClaimedStatus: e.ClaimedStatus,
		Attachments: e.Attachments, Reason: e.Reason,
		NewDue: e.NewDue.t, NewDueDay: e.NewDue.day, Due: e.Due.t, DueDay: e.Due.day,
		Department: e.Department, Entered: e.Entered, Note: e.Note,
		Channel: e.Channel, Payment: e.Payment, Satisfaction: e.Satisfaction, Lookup: e.Lookup,
	}
}
