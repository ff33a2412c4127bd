package events

// The decoder as it was before the single-pass scanner (codec_scan.go):
// decoding to maps of json.RawMessage, then checking each field. It is kept
// only as the oracle of the differential tests: the scanner must decode
// every message to the same envelope, detail text included.

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

// OldDecode is the former Decode, for the differential tests.
var OldDecode = oldDecode

func oldDecode(subject string, data []byte, seq uint64, published time.Time) workflow.Envelope {
	env := workflow.Envelope{Seq: seq, Subject: subject, Published: published}
	var p problems
	source, token := oldParseSubject(subject, &p)
	subjectProblems := p.count()
	ev, attr := oldDecodePayload(data, &p)
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

// oldParseSubject checks hoso.events.<source>.<token> and returns the source
// (when valid) and the dossier token.
func oldParseSubject(subject string, p *problems) (source, token string) {
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

// oldDecodePayload decodes and checks a CloudEvent payload, adding every
// problem to p. The event is complete only when p is empty.
func oldDecodePayload(data []byte, p *problems) (*workflow.Event, attribution) {
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
	f := oldObject{m: top, p: p}

	if v, ok := f.str("specversion", true); ok && v != specVersion {
		p.add("specversion: %s, want %q", quote(v), specVersion)
	}
	if v, ok := f.str("id", true); ok {
		switch {
		case v == "":
			p.add("id: empty")
		case len(v) > maxIDLen:
			p.add("id: %d bytes, over the %d-byte limit", len(v), maxIDLen)
		case !oldPrintable(v):
			p.add("id: %s contains a non-printable character", quote(v))
		default:
			ev.ID, attr.id = v, v
		}
	}
	if v, ok := f.str("source", true); ok {
		switch {
		case v == "":
			p.add("source: empty")
		case !oldIsURIReference(v):
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
		if workflow.IsDossierCode(v) {
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
		oldDecodeData(d, ev, &attr)
	}
	return ev, attr
}

// oldDecodeData reads the contract's data object into ev.
func oldDecodeData(d oldObject, ev *workflow.Event, attr *attribution) {
	p := d.p
	for _, k := range oldSortedKeys(d.m) {
		switch k {
		case "procedure", "agency", "actor", "claimed_status", "attachments", "reason", "note", "new_due", "due", "department",
			"calendar", "previous_calendar", "period", "channel", "payment", "satisfaction", "lookup":
		default:
			p.add("%s: unknown field (data fields are %s)", d.path+k, dataFieldList)
		}
	}
	calendar := ev.Action == workflow.CalendarAction
	period := ev.Action == workflow.PeriodCloseAction
	ev.Procedure = d.short("procedure", !calendar && !period)
	ev.Agency = d.short("agency", !calendar && !period)
	attr.agency = ev.Agency
	ev.Actor = d.short("actor", true)
	ev.Department = d.short("department", false)

	if raw, ok := d.m["claimed_status"]; ok && !oldIsNull(raw) {
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
				if a, ok := oldDecodeAttachment(d, i, raw); ok {
					ev.Attachments = append(ev.Attachments, a)
				}
			}
		}
	}

	ev.Reason = d.text("reason")
	ev.Note = d.text("note")
	ev.NewDue, ev.NewDueDay = d.date("new_due")
	ev.Due, ev.DueDay = d.date("due")
	oldDecodeCalendars(d, ev, calendar)
	oldDecodePeriod(d, ev, period)
	if v, ok := d.str("channel", false); ok {
		if c, err := workflow.ParseChannel(v); err != nil {
			d.p.add("data.channel: %s is not one of desk, post, online_full, online_partial", quote(v))
		} else {
			ev.Channel = c
		}
	}
	if v, ok := d.str("payment", false); ok {
		if pm, err := workflow.ParsePayment(v); err != nil {
			d.p.add("data.payment: %s is not online or counter", quote(v))
		} else {
			ev.Payment = pm
		}
	}
	if raw, ok := d.m["satisfaction"]; ok && !oldIsNull(raw) {
		const name = "data.satisfaction"
		if k := kindOf(raw); k != "number" {
			d.p.add("%s: want an integer, got %s", name, k)
		} else if n, err := strconv.ParseInt(string(raw), 10, 64); err != nil || n < workflow.MinSatisfaction || n > workflow.MaxSatisfaction {
			d.p.add("%s: %s is not a score %d–%d", name, quote(string(raw)), workflow.MinSatisfaction, workflow.MaxSatisfaction)
		} else {
			ev.Satisfaction = int(n)
		}
	}
	if v, ok := d.str("lookup", false); ok {
		ev.Lookup = lookup(v, ev.Action, d.p)
	}
}

func oldDecodePeriod(d oldObject, ev *workflow.Event, period bool) {
	p := d.p
	v, ok := d.str("period", period)
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

func oldDecodeCalendars(d oldObject, ev *workflow.Event, calendar bool) {
	p := d.p
	text, ok := d.str("calendar", calendar)
	prev, okPrev := d.str("previous_calendar", calendar)
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

func oldDecodeAttachment(d oldObject, i int, raw json.RawMessage) (workflow.Attachment, bool) {
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
	f := oldObject{m: m, path: path + ".", p: d.p}
	n := d.p.count()
	for _, k := range oldSortedKeys(m) {
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
			d.p.add("%ssha256: %s, want 64 hex digits or empty", f.path, quote(v))
		}
		a.SHA256 = strings.ToLower(v)
	}
	return a, d.p.count() == n
}

// oldObject reads the fields of one JSON object, reporting problems with the
// field's path.
type oldObject struct {
	m    map[string]json.RawMessage
	path string // prefix of the fields' names, e.g. "data."
	p    *problems
}

// str returns the string field key; ok is false when it is absent, null or
// not a string (a problem if required or not a string).
func (o oldObject) str(key string, required bool) (string, bool) {
	raw, present := o.m[key]
	if !present || oldIsNull(raw) {
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
func (o oldObject) short(key string, required bool) string {
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
	case !oldPrintable(v):
		// A control character (NUL, a newline) in a code would reach keys,
		// logs and CSV exports.
		o.p.add("%s%s: %s contains a non-printable character", o.path, key, quote(v))
		return ""
	}
	return v
}

// text returns an optional free-text field of at most maxTextLen bytes.
func (o oldObject) text(key string) string {
	v, ok := o.str(key, false)
	if ok && len(v) > maxTextLen {
		o.p.add("%s%s: %d bytes, over the %d-byte limit", o.path, key, len(v), maxTextLen)
		return ""
	}
	return v
}

// date returns an optional RFC 3339 time or YYYY-MM-DD date (midnight in
// workflow.Zone, and day true); "" counts as absent.
func (o oldObject) date(key string) (time.Time, bool) {
	v, ok := o.str(key, false)
	if !ok || v == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, v)
	day := false
	if err != nil {
		t, err = time.ParseInLocation(time.DateOnly, v, workflow.Zone)
		day = err == nil
	}
	if err == nil {
		if t.Before(MinTime) {
			o.p.add("%s%s: %s is before 2000-01-01", o.path, key, quote(v))
			return time.Time{}, false
		}
		return t, day
	}
	o.p.add("%s%s: %s is neither an RFC 3339 time nor a date YYYY-MM-DD", o.path, key, quote(v))
	return time.Time{}, false
}

// obj returns the object field key.
func (o oldObject) obj(key string, required bool) (oldObject, bool) {
	raw, present := o.m[key]
	if !present || oldIsNull(raw) {
		if required {
			o.p.add("%s%s: required", o.path, key)
		}
		return oldObject{}, false
	}
	if k := kindOf(raw); k != "object" {
		o.p.add("%s%s: want an object, got %s", o.path, key, k)
		return oldObject{}, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil { // unreachable: the payload parsed
		o.p.add("%s%s: %v", o.path, key, err)
		return oldObject{}, false
	}
	return oldObject{m: m, path: o.path + key + ".", p: o.p}, true
}

// arr returns the optional array field key.
func (o oldObject) arr(key string) ([]json.RawMessage, bool) {
	raw, present := o.m[key]
	if !present || oldIsNull(raw) {
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

func oldIsNull(raw []byte) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func oldSortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func oldPrintable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// oldIsURIReference reports whether s parses as a URI reference (RFC 3986)
// and has no spaces or control characters.
func oldIsURIReference(s string) bool {
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	_, err := url.Parse(s)
	return err == nil
}
