package events

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/hoso-vn/hoso/workflow"
)

// marshalOutcome returns the JSON of an outcome as published: the bytes
// json.Marshal(o) returns, written without reflection.
func marshalOutcome(o *workflow.Outcome) ([]byte, error) {
	n := 464 + len(o.Kind) + len(o.EventID) + len(o.Source) + len(o.Dossier) + len(o.Action) +
		len(o.StatusName) + len(o.Reason) + len(o.MessageVI) + len(o.MessageEN)
	b, ok := appendOutcome(make([]byte, 0, n), o)
	if !ok {
		// A time json.Marshal refuses: let it say why.
		return json.Marshal(o)
	}
	return b, nil
}

// appendOutcome appends o as json.Marshal(o) writes it, field by field in
// the order and with the omissions of workflow.Outcome's tags. ok is false
// when a time is outside what RFC 3339 can write (json.Marshal fails then).
func appendOutcome(b []byte, o *workflow.Outcome) (_ []byte, ok bool) {
	b = append(b, `{"kind":`...)
	b = appendJSONString(b, string(o.Kind), true)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, o.Seq, 10)
	b = appendStringField(b, `,"event_id":`, o.EventID)
	b = appendStringField(b, `,"source":`, o.Source)
	b = appendStringField(b, `,"dossier":`, o.Dossier)
	b = appendStringField(b, `,"action":`, o.Action)
	b = appendIntField(b, `,"status":`, int64(o.Status))
	b = appendStringField(b, `,"status_name":`, o.StatusName)
	b = appendIntField(b, `,"previous_status":`, int64(o.PreviousStatus))
	b = appendIntField(b, `,"claimed_status":`, int64(o.ClaimedStatus))
	b = appendStringField(b, `,"reason":`, string(o.Reason))
	b = appendStringField(b, `,"message_vi":`, o.MessageVI)
	b = appendStringField(b, `,"message_en":`, o.MessageEN)
	if o.Due != nil {
		b = append(b, `,"due":`...)
		if b, ok = appendJSONTime(b, *o.Due); !ok {
			return b, false
		}
	}
	if o.HistoryIndex != nil {
		b = append(b, `,"history_index":`...)
		b = strconv.AppendInt(b, int64(*o.HistoryIndex), 10)
	}
	if o.EntryHash != nil {
		b = append(b, `,"entry_hash":"`...)
		b = hex.AppendEncode(b, o.EntryHash[:])
		b = append(b, '"')
	}
	if len(o.Irregularities) > 0 {
		b = append(b, `,"irregularities":[`...)
		for i, k := range o.Irregularities {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, string(k), true)
		}
		b = append(b, ']')
	}
	b = append(b, `,"time":`...)
	if b, ok = appendJSONTime(b, o.Time); !ok {
		return b, false
	}
	return append(b, '}'), true
}

// appendStringField appends a string field tagged omitempty.
func appendStringField(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return appendJSONString(append(b, name...), s, true)
}

// appendIntField appends an integer field tagged omitempty.
func appendIntField(b []byte, name string, n int64) []byte {
	if n == 0 {
		return b
	}
	return strconv.AppendInt(append(b, name...), n, 10)
}

// appendJSONTime appends t as time.Time's MarshalJSON writes it; ok is
// false when MarshalJSON would fail.
func appendJSONTime(b []byte, t time.Time) ([]byte, bool) {
	b = append(b, '"')
	b, err := t.AppendText(b) // MarshalJSON's RFC 3339, without the quotes
	if err != nil {
		return b, false
	}
	return append(b, '"'), true
}

// appendJSONString appends s as a JSON string exactly as encoding/json
// writes it: invalid UTF-8 becomes \ufffd, U+2028 and U+2029 are escaped,
// and with escapeHTML (json.Marshal's default) so are <, > and &.
func appendJSONString(b []byte, s string, escapeHTML bool) []byte {
	special := &jsonSpecial
	if escapeHTML {
		special = &jsonSpecialHTML
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		for i < len(s) && !special[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = appendEscaped(append(b, s[start:i]...), c)
			i++
			start = i
			continue
		}
		switch r, n := utf8.DecodeRuneInString(s[i:]); {
		case r == utf8.RuneError && n == 1:
			// As encoding/json, one U+FFFD per byte that starts no valid
			// sequence.
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
		case c == 0xE2 && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9): // U+2028, U+2029
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[s[i+2]&0xF])
			i += n
			start = i
		default:
			i += n
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonSpecial marks the bytes appendJSONString must look at: those
// encoding/json escapes, and every byte of a multi-byte sequence (to check
// it is valid UTF-8 and not U+2028 or U+2029).
var jsonSpecial, jsonSpecialHTML = func() (plain, html [256]bool) {
	for c := range 256 {
		plain[c] = c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf
	}
	html = plain
	html['<'], html['>'], html['&'] = true, true, true
	return plain, html
}()

// appendEscaped appends the escape of the ASCII byte c.
func appendEscaped(b []byte, c byte) []byte {
	switch c {
	case '\\', '"':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}

const hexDigits = "0123456789abcdef"

// marshalEvent returns the payload Encode writes for w: the bytes of
// json.Encoder with SetEscapeHTML(false), without the final newline.
func marshalEvent(w *wireEvent) []byte {
	d := &w.Data
	n := 256 + len(w.ID) + len(w.Source) + len(w.Type) + len(w.Subject) + len(d.Procedure) + len(d.Agency) +
		len(d.Actor) + len(d.Reason) + len(d.Note) + len(d.Department) + 200*len(d.Attachments) +
		len(d.Calendar) + len(d.PreviousCalendar) + len(d.Period) + len(d.Channel) + len(d.Payment) + 64
	b := make([]byte, 0, n)
	str := func(name, s string) { b = appendJSONString(append(b, name...), s, false) }
	opt := func(name, s string) {
		if s != "" {
			str(name, s)
		}
	}
	str(`{"specversion":`, w.SpecVersion)
	str(`,"id":`, w.ID)
	str(`,"source":`, w.Source)
	str(`,"type":`, w.Type)
	str(`,"subject":`, w.Subject)
	str(`,"time":`, w.Time)
	str(`,"datacontenttype":`, w.DataContentType)
	str(`,"data":{"procedure":`, d.Procedure)
	str(`,"agency":`, d.Agency)
	str(`,"actor":`, d.Actor)
	if d.ClaimedStatus != 0 {
		b = strconv.AppendInt(append(b, `,"claimed_status":`...), int64(d.ClaimedStatus), 10)
	}
	if len(d.Attachments) > 0 {
		b = append(b, `,"attachments":[`...)
		for i, a := range d.Attachments {
			if i > 0 {
				b = append(b, ',')
			}
			str(`{"kind":`, a.Kind)
			opt(`,"name":`, a.Name)
			opt(`,"sha256":`, a.SHA256)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	opt(`,"reason":`, d.Reason)
	opt(`,"note":`, d.Note)
	opt(`,"new_due":`, d.NewDue)
	opt(`,"due":`, d.Due)
	opt(`,"entered":`, d.Entered)
	opt(`,"department":`, d.Department)
	opt(`,"calendar":`, d.Calendar)
	opt(`,"previous_calendar":`, d.PreviousCalendar)
	opt(`,"period":`, d.Period)
	opt(`,"channel":`, d.Channel)
	opt(`,"payment":`, d.Payment)
	if d.Satisfaction != 0 {
		b = strconv.AppendInt(append(b, `,"satisfaction":`...), int64(d.Satisfaction), 10)
	}
	opt(`,"lookup":`, d.Lookup)
	return append(b, "}}"...)
}
