package events

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/workflow"
)

// MaxMessageSize is the largest event payload hoso accepts, in bytes
// (64 KiB). A larger message is a malformed rejection; the events stream
// refuses messages a little larger still (see Setup).
const MaxMessageSize = 64 << 10

// Limits of the contract's fields, in bytes.
const (
	maxIDLen         = 200
	maxShortLen      = 128  // data.procedure, agency, actor, department
	maxTextLen       = 4000 // data.reason, data.note
	maxNameLen       = 255  // data.attachments[].name, as file systems allow
	maxAttachments   = 100
	maxTokenLen      = 64                        // action, attachment kind, source token, dossier code
	maxClockSkew     = 24 * time.Hour            // how far an event's time may be after its stream timestamp
	maxDueAhead      = 10 * 366 * 24 * time.Hour // how far a due date may be after the stream timestamp
	maxProblems      = 8                         // problems listed in a rejection's detail
	maxQuoted        = 64                        // bytes of a bad value quoted in a detail
	maxCalendarLen   = 16 << 10                  // data.calendar, data.previous_calendar: a year file
	specVersion      = "1.0"
	jsonContentType  = "application/json"
	dataFieldList    = "procedure, agency, actor, claimed_status, attachments, reason, note, new_due, due, department, entered, calendar, previous_calendar, period, channel, payment, satisfaction, lookup"
	attachmentFields = "kind, name, sha256"
)

// MinTime is the earliest event time or due date hoso accepts
// (2000-01-01 00:00 UTC): an earlier one is a malformed rejection, almost
// always a zero or default date sent by mistake.
var MinTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// ErrInvalidEvent is returned by Encode when the event would not pass
// Decode: the engine would reject it as malformed.
var ErrInvalidEvent = errors.New("events: invalid event")

// Decode reads one message of the events stream: subject is the NATS
// subject it was published on, data its payload, seq and published its
// stream sequence and timestamp.
//
// The payload must be a CloudEvents 1.0 structured-mode JSON object of the
// integration contract (DecodeMsg also takes the binary content mode), and
// the subject hoso.events.<source>.<token> where token is the dossier code
// with "." replaced by "_". The returned envelope
// holds either the event or, when anything is wrong, a Rejection with
// reason malformed (or token_mismatch when the payload is a valid event and
// only the subject is wrong: not of that form, an invalid source token, or
// a dossier token that disagrees with the payload) and an English detail naming every problem
// found, in a fixed order. A rejection carries the event id, dossier,
// action, agency and claimed status when those could be read validly, so it
// is attributed. Unknown CloudEvent extension attributes are allowed;
// unknown fields inside data are problems, so that typos surface.
//
// A calendar event (type vn.gov.hoso.calendar, workflow.CalendarAction)
// has the subject "calendar" (workflow.CalendarSubject), no procedure or
// agency to give, and carries data.calendar and data.previous_calendar:
// the text of a year file each (up to 16 KiB), which must read with
// workflow.ParseCalendarYear, both of the same year. No other event may
// carry them, or have the subject "calendar": no dossier has that code.
//
// A period-close event (type vn.gov.hoso.period_close,
// workflow.PeriodCloseAction) names no procedure or agency and carries
// data.period, the month it closes (YYYY-MM), with the subject
// workflow.PeriodSubject of it (period_YYYY_MM). No other event may carry
// data.period, or have a subject of that form.
//
// Times are bounded: time, data.new_due and data.due must not be before
// MinTime; time must not be more than 24 hours after published, and the due
// dates not more than 10 years after it. The bounds use the stream
// timestamp, never the wall clock, so that replaying the stream decides
// the same; a zero published disables the upper bounds.
//
// Decode is a pure function of its arguments: the same message always
// decodes to the same envelope, detail text included. It never panics and
// is safe for concurrent use.
func Decode(subject string, data []byte, seq uint64, published time.Time) workflow.Envelope {
	return decode(subject, nil, data, seq, published)
}

// decode is Decode of a structured-mode message when header is nil, else
// of a binary-mode one.
func decode(subject string, header nats.Header, data []byte, seq uint64, published time.Time) workflow.Envelope {
	env := workflow.Envelope{Seq: seq, Subject: subject, Published: published}
	var p problems
	source, token := parseSubject(subject, &p)
	subjectProblems := p.count()
	var ev *workflow.Event
	var attr attribution
	if header == nil {
		ev, attr = decodePayload(data, &p)
	} else {
		ev, attr = decodeBinary(header, data, &p)
	}
	if !published.IsZero() {
		checkAhead(ev, published, &p)
	}

	reason := workflow.ReasonMalformed
	if p.count() == subjectProblems && subjectProblems > 0 {
		// A readable event on a subject not of the contract's form:
		// the sender's subject is at fault, not its payload.
		reason = workflow.ReasonTokenMismatch
	}
	if p.empty() {
		ev.Source = source
		if isTokenOf(token, ev.Dossier) {
			env.Event = ev
			return env
		}
		reason = workflow.ReasonTokenMismatch
		want := workflow.DossierToken(ev.Dossier)
		p.add("NATS subject token %s does not match dossier %s (want %s)", quote(token), quote(ev.Dossier), quote(want))
	}
	r := workflow.Reject(seq, subject, published, reason, "%s", p.String())
	r.Source = source
	r.EventID, r.Dossier, r.Action, r.Agency, r.ClaimedStatus = attr.id, attr.dossier, attr.action, attr.agency, attr.claimed
	env.Rejection = r
	return env
}

// Encode returns the contract's CloudEvent JSON for the event, the payload
// an emitter publishes on Subject(ev.Source, ev.Dossier). ev.Source (the
// subject token) is not part of the payload. Times are written RFC 3339
// with nanoseconds, in their own offset. Encode returns an error wrapping
// ErrInvalidEvent if Decode would reject the payload whatever its stream
// timestamp (the bounds after the stream timestamp are Decode's alone).
func Encode(ev *workflow.Event) ([]byte, error) {
	if ev == nil {
		return nil, fmt.Errorf("%w: nil event", ErrInvalidEvent)
	}
	w := wireEvent{
		SpecVersion:     specVersion,
		ID:              ev.ID,
		Source:          ev.SourceURI,
		Type:            workflow.TypePrefix + ev.Action,
		Subject:         ev.Dossier,
		Time:            ev.Time.Format(time.RFC3339Nano),
		DataContentType: jsonContentType,
		Data: wireData{
			Procedure:     ev.Procedure,
			Agency:        ev.Agency,
			Actor:         ev.Actor,
			ClaimedStatus: int(ev.ClaimedStatus),
			Attachments:   ev.Attachments,
			Reason:        ev.Reason,
			Note:          ev.Note,
			NewDue:        formatDue(ev.NewDue, ev.NewDueDay),
			Due:           formatDue(ev.Due, ev.DueDay),
			Department:    ev.Department,
			Entered:       formatDue(ev.Entered, false),
		},
	}
	if ev.Calendar != nil {
		w.Data.Calendar = ev.Calendar.Text
	}
	if ev.PreviousCalendar != nil {
		w.Data.PreviousCalendar = ev.PreviousCalendar.Text
	}
	w.Data.Period = ev.Period
	w.Data.Channel = string(ev.Channel)
	w.Data.Payment = string(ev.Payment)
	w.Data.Satisfaction = ev.Satisfaction
	if ev.Lookup != ([32]byte{}) {
		w.Data.Lookup = hex.EncodeToString(ev.Lookup[:])
	}
	out := marshalEvent(&w)
	var p problems
	if decodePayload(out, &p); !p.empty() {
		return nil, fmt.Errorf("%w: %s", ErrInvalidEvent, p.String())
	}
	return out, nil
}

// checkAhead adds a problem for each time of ev too far after the stream
// timestamp published.
func checkAhead(ev *workflow.Event, published time.Time, p *problems) {
	if !ev.Time.IsZero() && ev.Time.After(published.Add(maxClockSkew)) {
		p.add("time: %s is more than %s after the message reached the stream (%s)",
			ev.Time.Format(time.RFC3339), maxClockSkew, published.UTC().Format(time.RFC3339))
	}
	if !ev.Entered.IsZero() && ev.Entered.After(published.Add(maxClockSkew)) {
		p.add("data.entered: %s is more than %s after the message reached the stream (%s)",
			ev.Entered.Format(time.RFC3339), maxClockSkew, published.UTC().Format(time.RFC3339))
	}
	for _, f := range [...]struct {
		name string
		t    time.Time
	}{{"data.new_due", ev.NewDue}, {"data.due", ev.Due}} {
		if !f.t.IsZero() && f.t.After(published.Add(maxDueAhead)) {
			p.add("%s: %s is more than 10 years after the message reached the stream (%s)",
				f.name, f.t.Format(time.RFC3339), published.UTC().Format(time.RFC3339))
		}
	}
}

// wireEvent is the structured-mode CloudEvent of the contract, as Encode
// writes it.
type wireEvent struct {
	SpecVersion     string   `json:"specversion"`
	ID              string   `json:"id"`
	Source          string   `json:"source"`
	Type            string   `json:"type"`
	Subject         string   `json:"subject"`
	Time            string   `json:"time"`
	DataContentType string   `json:"datacontenttype"`
	Data            wireData `json:"data"`
}

type wireData struct {
	Procedure     string                `json:"procedure"`
	Agency        string                `json:"agency"`
	Actor         string                `json:"actor"`
	ClaimedStatus int                   `json:"claimed_status,omitempty"`
	Attachments   []workflow.Attachment `json:"attachments,omitempty"`
	Reason        string                `json:"reason,omitempty"`
	Note          string                `json:"note,omitempty"`
	NewDue        string                `json:"new_due,omitempty"`
	Entered       string                `json:"entered,omitempty"`
	Due           string                `json:"due,omitempty"`
	Department    string                `json:"department,omitempty"`
	// Calendar and PreviousCalendar are the year files of a calendar
	// event.
	Calendar         string `json:"calendar,omitempty"`
	PreviousCalendar string `json:"previous_calendar,omitempty"`
	// Period is the month a period-close event closes.
	Period string `json:"period,omitempty"`
	// Channel is how the dossier was submitted.
	Channel string `json:"channel,omitempty"`
	// Payment is how the payment the event records was made.
	Payment string `json:"payment,omitempty"`
	// Satisfaction is the applicant's rating, 1–5.
	Satisfaction int `json:"satisfaction,omitempty"`
	// Lookup is the lookup digest, 64 lowercase hex digits.
	Lookup string `json:"lookup,omitempty"`
}

// formatDue formats a due date of data: "" when zero, a date YYYY-MM-DD
// in workflow.Zone when day is set, else RFC 3339 with nanoseconds.
func formatDue(t time.Time, day bool) string {
	switch {
	case t.IsZero():
		return ""
	case day:
		return t.In(workflow.Zone).Format(time.DateOnly)
	}
	return t.Format(time.RFC3339Nano)
}

// attribution is what could be read validly from a message, to attribute
// its rejection.
type attribution struct {
	id, dossier, action, agency string
	claimed                     workflow.Status
}

// parseSubject checks hoso.events.<source>.<token> and returns the source
// (when valid) and the dossier token.
func parseSubject(subject string, p *problems) (source, token string) {
	rest, ok := strings.CutPrefix(subject, "hoso.events.")
	if !ok {
		p.add("NATS subject %s is not hoso.events.<source>.<dossier-token>", quote(subject))
		return "", ""
	}
	src, token, found := strings.Cut(rest, ".")
	if isSourceToken(src) {
		source = src
	}
	if !found || strings.IndexByte(token, '.') >= 0 {
		p.add("NATS subject %s is not hoso.events.<source>.<dossier-token>", quote(subject))
		return source, ""
	}
	if source == "" {
		p.add("NATS subject: source token %s must match ^[a-z0-9_-]{1,64}$", quote(src))
	}
	if token == "" {
		p.add("NATS subject: empty dossier token")
	}
	return source, token
}

// isTokenOf reports whether token == workflow.DossierToken(code), without
// building the latter.
func isTokenOf(token, code string) bool {
	if len(token) != len(code) {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if c == '.' {
			c = '_'
		}
		if token[i] != c {
			return false
		}
	}
	return true
}

// decodePayload decodes and checks a CloudEvent payload, adding every
// problem to p. The event is complete only when p is empty.
func decodePayload(data []byte, p *problems) (*workflow.Event, attribution) {
	if len(data) > MaxMessageSize {
		p.add("message is %d bytes, over the %d-byte limit", len(data), MaxMessageSize)
	}
	return decodeJSON(data, p, nil)
}

// decodeJSON is decodePayload without the size limit; b, when not nil,
// is what a binary-mode message's headers and body already told (see
// decodeBinary).
func decodeJSON(data []byte, p *problems, b *binaryRead) (*workflow.Event, attribution) {
	var attr attribution
	ev := &workflow.Event{}
	if len(bytes.TrimSpace(data)) == 0 {
		p.add("payload is empty")
		return ev, attr
	}
	if !utf8.Valid(data) {
		p.add("payload is not valid UTF-8")
		return ev, attr
	}
	d := decoders.Get().(*decoder)
	defer d.release()
	d.data = data
	first, ok := d.scan()
	switch {
	case !ok:
		syntaxProblem(data, p)
		return ev, attr
	case first == 'n':
		p.add("payload is JSON null, want a CloudEvent object")
		return ev, attr
	case first != '{':
		p.add("payload is a JSON %s, want a CloudEvent object", kindOf(bytes.TrimSpace(data)))
		return ev, attr
	}
	// The problems are copied in and out, so that p (often on the caller's
	// stack) does not escape to the pooled decoder.
	d.p = *p
	d.bin = b
	d.read(ev, &attr)
	*p = d.p
	return ev, attr
}

// syntaxProblem adds the problem of a payload that is not valid JSON,
// worded by encoding/json.
func syntaxProblem(data []byte, p *problems) {
	var v any
	var se *json.SyntaxError
	if err := json.Unmarshal(data, &v); errors.As(err, &se) {
		p.add("payload is not valid JSON: %v (at byte %d)", se, se.Offset)
		return
	}
	p.add("payload is not valid JSON") // unreachable: the scanner and encoding/json agree
}

// decoders holds decoders for reuse: a decoder keeps only positions, never
// strings of a payload.
var decoders = sync.Pool{New: func() any { return &decoder{scanner: scanner{w: &wire{}}} }}

// decoder reads the fields of one payload as its scanner found them.
type decoder struct {
	scanner
	p     problems        // found so far
	bin   *binaryRead     // of a binary-mode message, else nil
	arena strings.Builder // the decoded strings, one allocation for all
	ubuf  []byte          // scratch for strings with escapes
}

// release returns d to the pool, without the scratch a hostile payload
// made large (up to maxPooledScratch bytes or keys are kept).
func (d *decoder) release() {
	d.data, d.p, d.arena, d.bin = nil, problems{}, strings.Builder{}, nil
	if cap(d.ubuf) > maxPooledScratch {
		d.ubuf = nil
	}
	if cap(d.kbuf) > maxPooledScratch {
		d.kbuf = nil
	}
	if cap(d.w.unknown) > maxPooledScratch {
		d.w.unknown = nil
	}
	decoders.Put(d)
}

const maxPooledScratch = 4096

// path is where a field is: at the top of the payload, in data or in an
// attachment. Its String is the prefix of the field's name in problems.
type path int

const (
	atTop  path = -2
	inData path = -1 // and 0, 1, ...: in data.attachments[i]
)

func (at path) String() string {
	switch at {
	case atTop:
		return ""
	case inData:
		return "data."
	}
	return fmt.Sprintf("data.attachments[%d].", int(at))
}

// read checks the scanned payload's fields in the contract's order.
func (d *decoder) read(ev *workflow.Event, attr *attribution) {
	w, p := d.w, &d.p
	d.arena.Grow(d.stringBytes())

	if v, ok := d.str(w.specversion, atTop, "specversion", true); ok && v != specVersion {
		p.add("specversion: %s, want %q", quote(v), specVersion)
	}
	if v, ok := d.str(w.id, atTop, "id", true); ok {
		switch {
		case v == "":
			p.add("id: empty")
		case len(v) > maxIDLen:
			p.add("id: %d bytes, over the %d-byte limit", len(v), maxIDLen)
		case !printable(v):
			p.add("id: %s contains a non-printable character", quote(v))
		default:
			ev.ID, attr.id = v, v
		}
	}
	if v, ok := d.str(w.source, atTop, "source", true); ok {
		switch {
		case v == "":
			p.add("source: empty")
		case !isURIReference(v):
			p.add("source: %s is not a URI reference", quote(v))
		default:
			ev.SourceURI = v
		}
	}
	if v, ok := d.str(w.typ, atTop, "type", true); ok {
		action, found := strings.CutPrefix(v, workflow.TypePrefix)
		switch {
		case !found:
			p.add("type: %s does not start with %q", quote(v), workflow.TypePrefix)
		case !isName(action):
			p.add("type: action %s must match ^[a-z][a-z0-9_]{0,63}$", quote(action))
		default:
			ev.Action, attr.action = action, action
		}
	}
	if v, ok := d.str(w.subject, atTop, "subject", true); ok {
		if workflow.IsDossierCode(v) {
			ev.Dossier, attr.dossier = v, v
		} else {
			p.add("subject: %s is not a dossier code (1–64 letters, digits, '.', '_' or '-', starting with a letter or digit)", quote(v))
		}
	}
	if v, ok := d.str(w.time, atTop, "time", true); ok {
		t, err := time.Parse(time.RFC3339, v)
		switch {
		case err != nil:
			p.add("time: %s is not an RFC 3339 time", quote(v))
		case t.Before(MinTime):
			p.add("time: %s is before 2000-01-01", quote(v))
		}
		ev.Time = t
	}
	if v, ok := d.str(w.contentType, atTop, "datacontenttype", false); ok && v != jsonContentType {
		if mt, _, err := mime.ParseMediaType(v); err != nil || mt != jsonContentType {
			p.add("datacontenttype: %s, want %q or absent", quote(v), jsonContentType)
		}
	}
	if w.base64 {
		p.add("data_base64: binary data is not supported, send data as a JSON object")
	}
	if d.bin != nil && d.bin.data != "" {
		p.add("%s", d.bin.data)
		return
	}
	if !d.present(w.data) {
		p.add("data: required")
		return
	}
	if c := d.data[w.data.lo]; c != '{' {
		p.add("data: want an object, got %s", kindOf(d.data[w.data.lo:w.data.hi]))
		return
	}
	d.readData(ev, attr)
}

// readData reads the contract's data object into ev.
func (d *decoder) readData(ev *workflow.Event, attr *attribution) {
	w, p := d.w, &d.p
	for _, k := range d.unknownKeys(ownerData) {
		p.add("data.%s: unknown field (data fields are %s)", k, dataFieldList)
	}
	// A calendar or period-close event is about no procedure and no
	// agency.
	calendar := ev.Action == workflow.CalendarAction
	period := ev.Action == workflow.PeriodCloseAction
	ev.Procedure = d.short(w.procedure, "procedure", !calendar && !period)
	ev.Agency = d.short(w.agency, "agency", !calendar && !period)
	attr.agency = ev.Agency
	ev.Actor = d.short(w.actor, "actor", true)
	ev.Department = d.short(w.department, "department", false)

	if d.present(w.claimed) {
		const name = "data.claimed_status"
		raw := d.data[w.claimed.lo:w.claimed.hi]
		if k := kindOf(raw); k != "number" {
			p.add("%s: want an integer, got %s", name, k)
		} else if n, err := parseInt(raw); errors.Is(err, strconv.ErrRange) {
			p.add("%s: %s is not a status code 1–%d", name, quote(string(raw)), workflow.MaxStatus)
		} else if err != nil {
			p.add("%s: %s is not an integer", name, quote(string(raw)))
		} else if s := workflow.Status(n); n < 1 || n > int64(workflow.MaxStatus) {
			p.add("%s: %d is not a status code 1–%d", name, n, workflow.MaxStatus)
		} else {
			ev.ClaimedStatus, attr.claimed = s, s
		}
	}

	if d.present(w.attachments) {
		switch {
		case d.data[w.attachments.lo] != '[':
			p.add("data.attachments: want an array, got %s", kindOf(d.data[w.attachments.lo:w.attachments.hi]))
		case w.nAtt > maxAttachments:
			p.add("data.attachments: %d attachments, over the limit of %d", w.nAtt, maxAttachments)
		case w.nAtt > 0:
			ev.Attachments = make([]workflow.Attachment, 0, w.nAtt)
			for i := range w.atts {
				if a, ok := d.attachment(i); ok {
					ev.Attachments = append(ev.Attachments, a)
				}
			}
			if len(ev.Attachments) == 0 {
				ev.Attachments = nil
			}
		}
	}

	ev.Reason = d.text(w.reason, "reason")
	ev.Note = d.text(w.note, "note")
	ev.NewDue, ev.NewDueDay = d.date(w.newDue, "new_due")
	ev.Due, ev.DueDay = d.date(w.due, "due")
	if v, ok := d.str(w.entered, inData, "entered", false); ok && v != "" {
		t, err := time.Parse(time.RFC3339, v)
		switch {
		case err != nil:
			p.add("data.entered: %s is not an RFC 3339 time", quote(v))
		case !ev.Time.IsZero() && t.Before(ev.Time):
			p.add("data.entered: %s is before time %s: an event is entered when or after it happens", quote(v), ev.Time.Format(time.RFC3339))
		default:
			ev.Entered = t
		}
	}
	d.calendars(ev, calendar)
	d.period(ev, period)
	if v, ok := d.str(w.channel, inData, "channel", false); ok {
		if c, err := workflow.ParseChannel(v); err != nil {
			p.add("data.channel: %s is not one of desk, post, online_full, online_partial", quote(v))
		} else {
			ev.Channel = c
		}
	}
	if v, ok := d.str(w.payment, inData, "payment", false); ok {
		if pm, err := workflow.ParsePayment(v); err != nil {
			p.add("data.payment: %s is not online or counter", quote(v))
		} else {
			ev.Payment = pm
		}
	}
	if d.present(w.satisfaction) {
		const name = "data.satisfaction"
		raw := d.data[w.satisfaction.lo:w.satisfaction.hi]
		if k := kindOf(raw); k != "number" {
			p.add("%s: want an integer, got %s", name, k)
		} else if n, err := parseInt(raw); err != nil || n < workflow.MinSatisfaction || n > workflow.MaxSatisfaction {
			p.add("%s: %s is not a score %d–%d", name, quote(string(raw)), workflow.MinSatisfaction, workflow.MaxSatisfaction)
		} else {
			ev.Satisfaction = int(n)
		}
	}
	if v, ok := d.str(w.lookup, inData, "lookup", false); ok {
		ev.Lookup = lookup(v, ev.Action, p)
	}
}

// lookup reads data.lookup, v, of an event of the action: the lookup
// digest of a dossier (workflow.LookupDigest) as 64 hex digits, carried
// by an event of a one-stop-shop, never by one of hoso's own. The two
// decoders share it.
func lookup(v, action string, p *problems) [32]byte {
	if workflow.SystemAction(action) {
		p.add("data.lookup: only an event of a one-stop-shop about a dossier carries it, not hoso's own %s%s", workflow.TypePrefix, action)
		return [32]byte{}
	}
	dg, err := workflow.ParseLookup(v)
	if err != nil {
		p.add("data.lookup: %s: %v", quote(v), err)
	}
	return dg
}

// period reads data.period: required in a period-close event, a month
// YYYY-MM whose subject is workflow.PeriodSubject of it; absent from any
// other event, whose subject must not have the form of a period's.
func (d *decoder) period(ev *workflow.Event, period bool) {
	w, p := d.w, &d.p
	v, ok := d.str(w.period, inData, "period", period)
	if !period {
		if ok {
			p.add("data.period: only a period-close event (type %s%s) carries it", workflow.TypePrefix, workflow.PeriodCloseAction)
		}
		if workflow.IsPeriodSubject(ev.Dossier) {
			p.add("subject: %s is reserved for hoso's period-close events, not a dossier code", quote(ev.Dossier))
		}
		return
	}
	if !ok {
		return
	}
	if _, isMonth := workflow.ParseMonth(v); !isMonth {
		p.add("data.period: %s is not a month (YYYY-MM)", quote(v))
		return
	}
	if want := workflow.PeriodSubject(v); ev.Dossier != "" && ev.Dossier != want {
		p.add("subject: %s, want %q: the subject of the period-close event of %s", quote(ev.Dossier), want, v)
		return
	}
	ev.Period = v
}

// calendars reads data.calendar and data.previous_calendar: required in a
// calendar event, and each a year file of the same year; absent from any
// other event.
func (d *decoder) calendars(ev *workflow.Event, calendar bool) {
	w, p := d.w, &d.p
	text, ok := d.str(w.calendar, inData, "calendar", calendar)
	prev, okPrev := d.str(w.prevCalendar, inData, "previous_calendar", calendar)
	if !calendar {
		if ok || okPrev {
			p.add("data.calendar, data.previous_calendar: only a calendar event (type %s%s) carries them", workflow.TypePrefix, workflow.CalendarAction)
		}
		if ev.Dossier == workflow.CalendarSubject {
			p.add("subject: %q is reserved for hoso's calendar events, not a dossier code", workflow.CalendarSubject)
		}
		return
	}
	if ev.Dossier != "" && ev.Dossier != workflow.CalendarSubject {
		p.add("subject: %s, want %q: the subject of a calendar event", quote(ev.Dossier), workflow.CalendarSubject)
	}
	if ok {
		ev.Calendar = calendarYear(p, "calendar", text)
	}
	if okPrev {
		ev.PreviousCalendar = calendarYear(p, "previous_calendar", prev)
	}
	if ev.Calendar != nil && ev.PreviousCalendar != nil && ev.Calendar.Schedule.Year != ev.PreviousCalendar.Schedule.Year {
		p.add("data.previous_calendar: year %d, but data.calendar is of %d", ev.PreviousCalendar.Schedule.Year, ev.Calendar.Schedule.Year)
	}
}

// calendarYear reads a year file of a calendar event's data field key;
// nil, with its problems added to p, when it does not read.
func calendarYear(p *problems, key, text string) *workflow.CalendarYear {
	if len(text) > maxCalendarLen {
		p.add("data.%s: %d bytes, over the %d-byte limit", key, len(text), maxCalendarLen)
		return nil
	}
	y, err := workflow.ParseCalendarYear("data."+key, []byte(text))
	var ve *workflow.ValidationError
	switch {
	case errors.As(err, &ve):
		for _, pr := range ve.Problems {
			p.add("%s", pr.Error())
		}
		return nil
	case err != nil:
		p.add("data.%s: %v", key, err)
		return nil
	}
	return &workflow.CalendarYear{Text: text, Schedule: *y}
}

// attachment reads data.attachments[i]; ok is false if it has a problem.
func (d *decoder) attachment(i int) (workflow.Attachment, bool) {
	var a workflow.Attachment
	f, p := &d.w.atts[i], &d.p
	at := path(i)
	if c := d.data[f.val.lo]; c != '{' {
		p.add("data.attachments[%d]: want an object, got %s", i, kindOf(d.data[f.val.lo:f.val.hi]))
		return a, false
	}
	n := p.count()
	for _, k := range d.unknownKeys(i) {
		p.add("%s%s: unknown field (attachment fields are %s)", at, k, attachmentFields)
	}
	if v, ok := d.str(f.kind, at, "kind", true); ok {
		if isName(v) {
			a.Kind = v
		} else {
			p.add("%skind: %s must match ^[a-z][a-z0-9_]{0,63}$", at, quote(v))
		}
	}
	if v, ok := d.str(f.name, at, "name", false); ok {
		if len(v) > maxNameLen {
			p.add("%sname: %d bytes, over the %d-byte limit", at, len(v), maxNameLen)
		}
		a.Name = v
	}
	if v, ok := d.str(f.hash, at, "sha256", false); ok {
		if v != "" && !isSHA256(v) {
			p.add("%ssha256: %s, want 64 hex digits or empty", at, quote(v))
		}
		a.SHA256 = lowerHex(v)
	}
	return a, p.count() == n
}

// stringBytes bounds the bytes of the strings read decodes: unescaping
// never makes a string longer.
func (d *decoder) stringBytes() int {
	w := d.w
	n := 0
	for _, s := range [...]span{w.specversion, w.id, w.source, w.typ, w.subject, w.time, w.contentType,
		w.procedure, w.agency, w.actor, w.department, w.reason, w.note, w.newDue, w.due, w.entered, w.calendar, w.prevCalendar, w.period, w.channel, w.payment} {
		n += s.hi - s.lo
	}
	if w.nAtt <= maxAttachments {
		for _, a := range w.atts {
			n += a.kind.hi - a.kind.lo + a.name.hi - a.name.lo + a.hash.hi - a.hash.lo
		}
	}
	return n
}

// present reports whether the value is there and not null.
func (d *decoder) present(s span) bool { return s.present() && d.data[s.lo] != 'n' }

// unknownKeys returns the unknown keys of data (ownerData) or of an
// attachment, sorted, each once.
func (d *decoder) unknownKeys(owner int) []string {
	var keys []string
	for _, k := range d.w.unknown {
		if k.owner == owner {
			keys = append(keys, string(d.key(k)))
		}
	}
	if len(keys) > 1 {
		slices.Sort(keys)
		keys = slices.Compact(keys)
	}
	return keys
}

// str returns the string field key at s; ok is false when it is absent,
// null or not a string (a problem if required or not a string).
func (d *decoder) str(s span, at path, key string, required bool) (string, bool) {
	if !d.present(s) {
		if required && !(at == atTop && d.bin.duplicated(key)) {
			d.p.add("%s%s: required", at, key)
		}
		return "", false
	}
	raw := d.data[s.lo:s.hi]
	if raw[0] != '"' {
		d.p.add("%s%s: want a string, got %s", at, key, kindOf(raw))
		return "", false
	}
	raw = raw[1 : len(raw)-1]
	start := d.arena.Len()
	if bytes.IndexByte(raw, '\\') < 0 {
		d.arena.Write(raw)
	} else {
		d.ubuf = appendUnquoted(d.ubuf[:0], raw)
		d.arena.Write(d.ubuf)
	}
	// The arena only grows: the strings it returned never change.
	return d.arena.String()[start:], true
}

// short returns a short identifier field of data: non-blank when required,
// at most maxShortLen bytes, printable.
func (d *decoder) short(s span, key string, required bool) string {
	v, ok := d.str(s, inData, key, required)
	switch {
	case !ok:
		return ""
	case required && strings.TrimSpace(v) == "":
		d.p.add("data.%s: empty", key)
		return ""
	case len(v) > maxShortLen:
		d.p.add("data.%s: %d bytes, over the %d-byte limit", key, len(v), maxShortLen)
		return ""
	case !printable(v):
		// A control character (NUL, a newline) in a code would reach keys,
		// logs and CSV exports.
		d.p.add("data.%s: %s contains a non-printable character", key, quote(v))
		return ""
	}
	return v
}

// text returns an optional free-text field of data of at most maxTextLen
// bytes.
func (d *decoder) text(s span, key string) string {
	v, ok := d.str(s, inData, key, false)
	if ok && len(v) > maxTextLen {
		d.p.add("data.%s: %d bytes, over the %d-byte limit", key, len(v), maxTextLen)
		return ""
	}
	return v
}

// date returns an optional RFC 3339 time or YYYY-MM-DD date of data
// (midnight in workflow.Zone, and day true: the decision makes it the end
// of that day's working hours); "" counts as absent.
func (d *decoder) date(s span, key string) (t time.Time, day bool) {
	v, ok := d.str(s, inData, key, false)
	if !ok || v == "" {
		return time.Time{}, false
	}
	err := errShort
	if len(v) != len(time.DateOnly) { // far shorter than any time.Parse takes as RFC 3339
		t, err = time.Parse(time.RFC3339, v)
	}
	if err != nil {
		t, err = time.ParseInLocation(time.DateOnly, v, workflow.Zone)
		day = err == nil
	}
	if err == nil {
		if t.Before(MinTime) {
			d.p.add("data.%s: %s is before 2000-01-01", key, quote(v))
			return time.Time{}, false
		}
		return t, day
	}
	d.p.add("data.%s: %s is neither an RFC 3339 time nor a date YYYY-MM-DD", key, quote(v))
	return time.Time{}, false
}

// errShort stands for time.Parse's error on a value of a date's length,
// too short to be an RFC 3339 time, which date does not need to build.
var errShort = errors.New("too short for RFC 3339")

// parseInt is strconv.ParseInt(string(raw), 10, 64) of a JSON number,
// without the conversion for the short integers of a status.
func parseInt(raw []byte) (int64, error) {
	if len(raw) > 0 && len(raw) <= 18 {
		var n int64
		for _, c := range raw {
			if !isDigit(c) {
				return strconv.ParseInt(string(raw), 10, 64)
			}
			n = n*10 + int64(c-'0')
		}
		return n, nil
	}
	return strconv.ParseInt(string(raw), 10, 64)
}

// problems collects what is wrong with a message, in the order found.
type problems struct {
	list []string
	n    int // problems found, listed or not
}

func (p *problems) add(format string, args ...any) {
	p.n++
	if len(p.list) < maxProblems {
		p.list = append(p.list, fmt.Sprintf(format, args...))
	}
}

func (p *problems) empty() bool { return p.n == 0 }
func (p *problems) count() int  { return p.n }

// String joins the problems with "; ", saying how many more there are.
func (p *problems) String() string {
	s := strings.Join(p.list, "; ")
	if more := p.n - len(p.list); more > 0 {
		s += fmt.Sprintf("; and %d more", more)
	}
	return s
}

// kindOf names the JSON type of a raw value.
func kindOf(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// quote quotes s for a detail, shortened to maxQuoted bytes.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

// isName reports whether s matches ^[a-z][a-z0-9_]{0,63}$ (actions and
// attachment kinds).
func isName(s string) bool {
	if s == "" || len(s) > maxTokenLen || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// isSourceToken reports whether s matches ^[a-z0-9_-]{1,64}$.
func isSourceToken(s string) bool {
	if s == "" || len(s) > maxTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isSHA256 reports whether s is 64 hex digits, in either case: many tools
// print digests in uppercase.
func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// lowerHex returns the hex digits of s in lowercase, the one form an
// attachment's digest is stored and hashed in, so that the history entry
// of an event does not depend on the case a tool printed it in. It
// allocates only when s has an uppercase digit.
func lowerHex(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'F' {
			return strings.ToLower(s)
		}
	}
	return s
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			for _, r := range s[i:] {
				if !unicode.IsPrint(r) {
					return false
				}
			}
			return true
		}
		if c < 0x20 || c == 0x7f { // the ASCII unicode.IsPrint refuses
			return false
		}
	}
	return true
}

// isURIReference reports whether s parses as a URI reference (RFC 3986)
// and has no spaces or control characters.
func isURIReference(s string) bool {
	if isPlainPath(s) {
		return true
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	_, err := url.Parse(s)
	return err == nil
}

// isPlainPath reports whether s is a path (not a network-path reference
// "//…") of only letters, digits and "/._~-": a URI reference url.Parse
// accepts, without asking it.
func isPlainPath(s string) bool {
	if s == "" || strings.HasPrefix(s, "//") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '/' && c != '.' && c != '_' && c != '~' && c != '-' {
			return false
		}
	}
	return true
}
