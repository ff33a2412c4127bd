package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	specVersion      = "1.0"
	jsonContentType  = "application/json"
	dataFieldList    = "procedure, agency, actor, claimed_status, attachments, reason, note, new_due, due, department"
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
// integration contract, and the subject hoso.events.<source>.<token> where
// token is the dossier code with "." replaced by "_". The returned envelope
// holds either the event or, when anything is wrong, a Rejection with
// reason malformed (or token_mismatch when only the subject's dossier token
// disagrees with the payload) and an English detail naming every problem
// found, in a fixed order. A rejection carries the event id, dossier,
// action, agency and claimed status when those could be read validly, so it
// is attributed. Unknown CloudEvent extension attributes are allowed;
// unknown fields inside data are problems, so that typos surface.
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
	env := workflow.Envelope{Seq: seq, Subject: subject, Published: published}
	var p problems
	source, token := parseSubject(subject, &p)
	ev, attr := decodePayload(data, &p)
	if !published.IsZero() {
		checkAhead(ev, published, &p)
	}

	reason := workflow.ReasonMalformed
	if p.empty() {
		ev.Source = source
		want := workflow.DossierToken(ev.Dossier)
		if token == want {
			env.Event = ev
			return env
		}
		reason = workflow.ReasonTokenMismatch
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
			NewDue:        formatTime(ev.NewDue),
			Due:           formatTime(ev.Due),
			Department:    ev.Department,
		},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&w); err != nil {
		return nil, fmt.Errorf("encode event %q: %w", ev.ID, err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
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
	Due           string                `json:"due,omitempty"`
	Department    string                `json:"department,omitempty"`
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
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
	toks := strings.Split(subject, ".")
	if len(toks) >= 3 && toks[0] == "hoso" && toks[1] == "events" && isSourceToken(toks[2]) {
		source = toks[2]
	}
	if len(toks) != 4 || toks[0] != "hoso" || toks[1] != "events" {
		p.add("NATS subject %s is not hoso.events.<source>.<dossier-token>", quote(subject))
		return source, ""
	}
	if source == "" {
		p.add("NATS subject: source token %s must match ^[a-z0-9_-]{1,64}$", quote(toks[2]))
	}
	if toks[3] == "" {
		p.add("NATS subject: empty dossier token")
	}
	return source, toks[3]
}

// decodePayload decodes and checks a CloudEvent payload, adding every
// problem to p. The event is complete only when p is empty.
func decodePayload(data []byte, p *problems) (*workflow.Event, attribution) {
	var attr attribution
	ev := &workflow.Event{}
	if len(data) > MaxMessageSize {
		p.add("message is %d bytes, over the %d-byte limit", len(data), MaxMessageSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		p.add("payload is empty")
		return ev, attr
	}
	if !utf8.Valid(data) {
		p.add("payload is not valid UTF-8")
		return ev, attr
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			p.add("payload is not valid JSON: %v (at byte %d)", se, se.Offset)
		} else {
			p.add("payload is a JSON %s, want a CloudEvent object", kindOf(bytes.TrimSpace(data)))
		}
		return ev, attr
	}
	if top == nil {
		p.add("payload is JSON null, want a CloudEvent object")
		return ev, attr
	}
	f := object{m: top, p: p}

	if v, ok := f.str("specversion", true); ok && v != specVersion {
		p.add("specversion: %s, want %q", quote(v), specVersion)
	}
	if v, ok := f.str("id", true); ok {
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
	if v, ok := f.str("source", true); ok {
		switch {
		case v == "":
			p.add("source: empty")
		case !isURIReference(v):
			p.add("source: %s is not a URI reference", quote(v))
		default:
			ev.SourceURI = v
		}
	}
	if v, ok := f.str("type", true); ok {
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
	if v, ok := f.str("subject", true); ok {
		if isDossierCode(v) {
			ev.Dossier, attr.dossier = v, v
		} else {
			p.add("subject: %s is not a dossier code (1–64 letters, digits, '.', '_' or '-', starting with a letter or digit)", quote(v))
		}
	}
	if v, ok := f.str("time", true); ok {
		t, err := time.Parse(time.RFC3339, v)
		switch {
		case err != nil:
			p.add("time: %s is not an RFC 3339 time", quote(v))
		case t.Before(MinTime):
			p.add("time: %s is before 2000-01-01", quote(v))
		}
		ev.Time = t
	}
	if v, ok := f.str("datacontenttype", false); ok {
		if mt, _, err := mime.ParseMediaType(v); err != nil || mt != jsonContentType {
			p.add("datacontenttype: %s, want %q or absent", quote(v), jsonContentType)
		}
	}
	if _, ok := top["data_base64"]; ok {
		p.add("data_base64: binary data is not supported, send data as a JSON object")
	}
	if d, ok := f.obj("data", true); ok {
		decodeData(d, ev, &attr)
	}
	return ev, attr
}

// decodeData reads the contract's data object into ev.
func decodeData(d object, ev *workflow.Event, attr *attribution) {
	p := d.p
	for _, k := range sortedKeys(d.m) {
		switch k {
		case "procedure", "agency", "actor", "claimed_status", "attachments", "reason", "note", "new_due", "due", "department":
		default:
			p.add("%s: unknown field (data fields are %s)", d.path+k, dataFieldList)
		}
	}
	ev.Procedure = d.short("procedure", true)
	ev.Agency = d.short("agency", true)
	attr.agency = ev.Agency
	ev.Actor = d.short("actor", true)
	ev.Department = d.short("department", false)

	if raw, ok := d.m["claimed_status"]; ok && !isNull(raw) {
		name := d.path + "claimed_status"
		if k := kindOf(raw); k != "number" {
			p.add("%s: want an integer, got %s", name, k)
		} else if n, err := strconv.ParseInt(string(raw), 10, 64); errors.Is(err, strconv.ErrRange) {
			p.add("%s: %s is not a status code 1–%d", name, quote(string(raw)), workflow.MaxStatus)
		} else if err != nil {
			p.add("%s: %s is not an integer", name, quote(string(raw)))
		} else if s := workflow.Status(n); n < 1 || n > int64(workflow.MaxStatus) {
			p.add("%s: %d is not a status code 1–%d", name, n, workflow.MaxStatus)
		} else {
			ev.ClaimedStatus, attr.claimed = s, s
		}
	}

	if items, ok := d.arr("attachments"); ok {
		if len(items) > maxAttachments {
			p.add("%sattachments: %d attachments, over the limit of %d", d.path, len(items), maxAttachments)
		} else {
			for i, raw := range items {
				if a, ok := decodeAttachment(d, i, raw); ok {
					ev.Attachments = append(ev.Attachments, a)
				}
			}
		}
	}

	ev.Reason = d.text("reason")
	ev.Note = d.text("note")
	ev.NewDue = d.date("new_due")
	ev.Due = d.date("due")
}

func decodeAttachment(d object, i int, raw json.RawMessage) (workflow.Attachment, bool) {
	var a workflow.Attachment
	path := fmt.Sprintf("%sattachments[%d]", d.path, i)
	if k := kindOf(raw); k != "object" {
		d.p.add("%s: want an object, got %s", path, k)
		return a, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil { // unreachable: the payload parsed
		d.p.add("%s: %v", path, err)
		return a, false
	}
	f := object{m: m, path: path + ".", p: d.p}
	n := d.p.count()
	for _, k := range sortedKeys(m) {
		if k != "kind" && k != "name" && k != "sha256" {
			d.p.add("%s: unknown field (attachment fields are %s)", f.path+k, attachmentFields)
		}
	}
	if v, ok := f.str("kind", true); ok {
		if isName(v) {
			a.Kind = v
		} else {
			d.p.add("%skind: %s must match ^[a-z][a-z0-9_]{0,63}$", f.path, quote(v))
		}
	}
	if v, ok := f.str("name", false); ok {
		if len(v) > maxNameLen {
			d.p.add("%sname: %d bytes, over the %d-byte limit", f.path, len(v), maxNameLen)
		}
		a.Name = v
	}
	if v, ok := f.str("sha256", false); ok {
		if v != "" && !isSHA256(v) {
			d.p.add("%ssha256: %s, want 64 lowercase hex digits or empty", f.path, quote(v))
		}
		a.SHA256 = v
	}
	return a, d.p.count() == n
}

// object reads the fields of one JSON object, reporting problems with the
// field's path.
type object struct {
	m    map[string]json.RawMessage
	path string // prefix of the fields' names, e.g. "data."
	p    *problems
}

// str returns the string field key; ok is false when it is absent, null or
// not a string (a problem if required or not a string).
func (o object) str(key string, required bool) (string, bool) {
	raw, present := o.m[key]
	if !present || isNull(raw) {
		if required {
			o.p.add("%s%s: required", o.path, key)
		}
		return "", false
	}
	if k := kindOf(raw); k != "string" {
		o.p.add("%s%s: want a string, got %s", o.path, key, k)
		return "", false
	}
	// The payload is valid JSON and valid UTF-8: a string without escapes
	// is its own content.
	if len(raw) >= 2 && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil { // unreachable: the payload parsed
		o.p.add("%s%s: %v", o.path, key, err)
		return "", false
	}
	return s, true
}

// short returns a short identifier field: non-blank when required, at most
// maxShortLen bytes, printable.
func (o object) short(key string, required bool) string {
	v, ok := o.str(key, required)
	switch {
	case !ok:
		return ""
	case required && strings.TrimSpace(v) == "":
		o.p.add("%s%s: empty", o.path, key)
		return ""
	case len(v) > maxShortLen:
		o.p.add("%s%s: %d bytes, over the %d-byte limit", o.path, key, len(v), maxShortLen)
		return ""
	case !printable(v):
		// A control character (NUL, a newline) in a code would reach keys,
		// logs and CSV exports.
		o.p.add("%s%s: %s contains a non-printable character", o.path, key, quote(v))
		return ""
	}
	return v
}

// text returns an optional free-text field of at most maxTextLen bytes.
func (o object) text(key string) string {
	v, ok := o.str(key, false)
	if ok && len(v) > maxTextLen {
		o.p.add("%s%s: %d bytes, over the %d-byte limit", o.path, key, len(v), maxTextLen)
		return ""
	}
	return v
}

// date returns an optional RFC 3339 time or YYYY-MM-DD date (midnight in
// workflow.Zone); "" counts as absent.
func (o object) date(key string) time.Time {
	v, ok := o.str(key, false)
	if !ok || v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		t, err = time.ParseInLocation(time.DateOnly, v, workflow.Zone)
	}
	if err == nil {
		if t.Before(MinTime) {
			o.p.add("%s%s: %s is before 2000-01-01", o.path, key, quote(v))
			return time.Time{}
		}
		return t
	}
	o.p.add("%s%s: %s is neither an RFC 3339 time nor a date YYYY-MM-DD", o.path, key, quote(v))
	return time.Time{}
}

// obj returns the object field key.
func (o object) obj(key string, required bool) (object, bool) {
	raw, present := o.m[key]
	if !present || isNull(raw) {
		if required {
			o.p.add("%s%s: required", o.path, key)
		}
		return object{}, false
	}
	if k := kindOf(raw); k != "object" {
		o.p.add("%s%s: want an object, got %s", o.path, key, k)
		return object{}, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil { // unreachable: the payload parsed
		o.p.add("%s%s: %v", o.path, key, err)
		return object{}, false
	}
	return object{m: m, path: o.path + key + ".", p: o.p}, true
}

// arr returns the optional array field key.
func (o object) arr(key string) ([]json.RawMessage, bool) {
	raw, present := o.m[key]
	if !present || isNull(raw) {
		return nil, false
	}
	if k := kindOf(raw); k != "array" {
		o.p.add("%s%s: want an array, got %s", o.path, key, k)
		return nil, false
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil { // unreachable: the payload parsed
		o.p.add("%s%s: %v", o.path, key, err)
		return nil, false
	}
	return items, true
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

func isNull(raw []byte) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
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

// isDossierCode reports whether s matches ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$.
func isDossierCode(s string) bool {
	if s == "" || len(s) > maxTokenLen || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(isAlnum(c) || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isSHA256 reports whether s is 64 lowercase hex digits.
func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// isURIReference reports whether s parses as a URI reference (RFC 3986)
// and has no spaces or control characters.
func isURIReference(s string) bool {
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	_, err := url.Parse(s)
	return err == nil
}
