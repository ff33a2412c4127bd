package events

import (
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The payload scanner: one pass over the JSON bytes that checks them as
// encoding/json does (the same grammar, the same nesting limit) and keeps
// the position of every value the contract reads, so that Decode neither
// builds maps nor decodes a value twice. Like encoding/json's decoding into
// a map, the last of duplicate keys wins.

// maxNesting is encoding/json's limit of nested arrays and objects: a
// deeper document is a syntax error.
const maxNesting = 10000

// span is the bytes [lo, hi) of one JSON value in a payload, without
// surrounding space. The zero span is an absent value: no value ends at
// byte 0.
type span struct{ lo, hi int }

func (s span) present() bool { return s.hi > 0 }

// keyRef is an object key: the bytes between its quotes.
type keyRef struct {
	owner  int // ownerData, or the index of the attachment holding it
	lo, hi int
	esc    bool // whether it holds escapes
}

const ownerData = -1

// attFields are the members of one attachment object.
type attFields struct {
	val              span // the item
	kind, name, hash span
}

// wire is what the scanner found in a payload: the last value of each
// member the contract knows.
type wire struct {
	specversion, id, source, typ, subject, time, contentType, data span
	base64                                                         bool // data_base64 is present

	// Members of the last data value, when it is an object.
	procedure, agency, actor, department, claimed, attachments, reason, note, newDue, due, entered span
	calendar, prevCalendar                                                                         span // of a calendar event
	period                                                                                         span // of a period-close event
	channel, payment, satisfaction, lookup                                                         span
	unknown                                                                                        []keyRef    // unknown keys of data and of its attachments, in order
	nAtt                                                                                           int         // items of the last attachments value, when it is an array
	atts                                                                                           []attFields // its first maxAttachments items
}

func (w *wire) reset() {
	*w = wire{unknown: w.unknown[:0], atts: w.atts[:0]}
}

func (w *wire) resetData() {
	w.procedure, w.agency, w.actor, w.department, w.claimed = span{}, span{}, span{}, span{}, span{}
	w.reason, w.note, w.newDue, w.due, w.entered = span{}, span{}, span{}, span{}, span{}
	w.calendar, w.prevCalendar, w.period, w.channel = span{}, span{}, span{}, span{}
	w.payment, w.satisfaction, w.lookup = span{}, span{}, span{}
	w.unknown = w.unknown[:0]
	w.resetAttachments()
}

func (w *wire) resetAttachments() {
	w.attachments = span{}
	w.nAtt = 0
	w.atts = w.atts[:0]
	n := 0
	for _, k := range w.unknown {
		if k.owner == ownerData {
			w.unknown[n] = k
			n++
		}
	}
	w.unknown = w.unknown[:n]
}

// scanner reads one payload into a wire.
type scanner struct {
	data []byte
	w    *wire
	cur  int    // index of the attachment being read
	kbuf []byte // scratch for keys with escapes
}

// scan checks that s.data is one JSON document and, when it is an object,
// records its members in s.w. It returns the first byte of the document's
// value; ok is false when the payload is not valid JSON.
func (s *scanner) scan() (first byte, ok bool) {
	s.w.reset()
	d := s.data
	i := skipSpace(d, 0)
	if i == len(d) {
		return 0, false
	}
	first = d[i]
	if first == '{' {
		i, ok = s.object(i, 1, s.topMember)
	} else {
		i, ok = s.skip(i, 0)
	}
	if !ok || skipSpace(d, i) != len(d) {
		return first, false
	}
	return first, true
}

func skipSpace(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// key returns the content of the key, unescaped; it is valid until the
// next call.
func (s *scanner) key(k keyRef) []byte {
	if !k.esc {
		return s.data[k.lo:k.hi]
	}
	s.kbuf = appendUnquoted(s.kbuf[:0], s.data[k.lo:k.hi])
	return s.kbuf
}

// skip checks the value at d[i] (not a space) inside depth containers and
// returns the index after it.
func (s *scanner) skip(i, depth int) (int, bool) {
	d := s.data
	switch c := d[i]; {
	case c == '"':
		end, _, ok := scanString(d, i)
		return end, ok
	case c == '{':
		return s.object(i, depth+1, nil)
	case c == '[':
		return s.array(i, depth+1, nil)
	case c == 't':
		return literal(d, i, "true")
	case c == 'f':
		return literal(d, i, "false")
	case c == 'n':
		return literal(d, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		return scanNumber(d, i)
	}
	return 0, false
}

// member reads the value at d[v] of the key k, in an object at depth, and
// returns the index after it.
type member func(k keyRef, v, depth int) (int, bool)

// object checks the object at d[i] == '{', the depth-th container, calling
// m (or skip, when nil) for each member, and returns the index after it.
func (s *scanner) object(i, depth int, m member) (int, bool) {
	if depth > maxNesting {
		return 0, false
	}
	d := s.data
	i = skipSpace(d, i+1)
	if i < len(d) && d[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(d) || d[i] != '"' {
			return 0, false
		}
		end, esc, ok := scanString(d, i)
		if !ok {
			return 0, false
		}
		k := keyRef{owner: ownerData, lo: i + 1, hi: end - 1, esc: esc}
		i = skipSpace(d, end)
		if i >= len(d) || d[i] != ':' {
			return 0, false
		}
		i = skipSpace(d, i+1)
		if i >= len(d) {
			return 0, false
		}
		if m == nil {
			i, ok = s.skip(i, depth)
		} else {
			i, ok = m(k, i, depth)
		}
		if !ok {
			return 0, false
		}
		i = skipSpace(d, i)
		if i >= len(d) {
			return 0, false
		}
		switch d[i] {
		case ',':
			i = skipSpace(d, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// item reads the n-th item at d[v] of an array at depth and returns the
// index after it.
type item func(n, v, depth int) (int, bool)

// array checks the array at d[i] == '[', the depth-th container, calling it
// (or skip, when nil) for each item, and returns the index after it.
func (s *scanner) array(i, depth int, it item) (int, bool) {
	if depth > maxNesting {
		return 0, false
	}
	d := s.data
	i = skipSpace(d, i+1)
	if i < len(d) && d[i] == ']' {
		return i + 1, true
	}
	for n := 0; ; n++ {
		if i >= len(d) {
			return 0, false
		}
		var ok bool
		if it == nil {
			i, ok = s.skip(i, depth)
		} else {
			i, ok = it(n, i, depth)
		}
		if !ok {
			return 0, false
		}
		i = skipSpace(d, i)
		if i >= len(d) {
			return 0, false
		}
		switch d[i] {
		case ',':
			i = skipSpace(d, i+1)
		case ']':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// value skips the value at d[v] and records its span in sp.
func (s *scanner) value(sp *span, v, depth int) (int, bool) {
	end, ok := s.skip(v, depth)
	*sp = span{v, end}
	return end, ok
}

func (s *scanner) topMember(k keyRef, v, depth int) (int, bool) {
	w := s.w
	switch string(s.key(k)) {
	case "specversion":
		return s.value(&w.specversion, v, depth)
	case "id":
		return s.value(&w.id, v, depth)
	case "source":
		return s.value(&w.source, v, depth)
	case "type":
		return s.value(&w.typ, v, depth)
	case "subject":
		return s.value(&w.subject, v, depth)
	case "time":
		return s.value(&w.time, v, depth)
	case "datacontenttype":
		return s.value(&w.contentType, v, depth)
	case "data_base64":
		w.base64 = true
	case "data":
		w.resetData()
		if s.data[v] != '{' {
			return s.value(&w.data, v, depth)
		}
		end, ok := s.object(v, depth+1, s.dataMember)
		w.data = span{v, end}
		return end, ok
	}
	return s.skip(v, depth)
}

func (s *scanner) dataMember(k keyRef, v, depth int) (int, bool) {
	w := s.w
	switch string(s.key(k)) {
	case "procedure":
		return s.value(&w.procedure, v, depth)
	case "agency":
		return s.value(&w.agency, v, depth)
	case "actor":
		return s.value(&w.actor, v, depth)
	case "department":
		return s.value(&w.department, v, depth)
	case "claimed_status":
		return s.value(&w.claimed, v, depth)
	case "reason":
		return s.value(&w.reason, v, depth)
	case "note":
		return s.value(&w.note, v, depth)
	case "new_due":
		return s.value(&w.newDue, v, depth)
	case "due":
		return s.value(&w.due, v, depth)
	case "entered":
		return s.value(&w.entered, v, depth)
	case "calendar":
		return s.value(&w.calendar, v, depth)
	case "previous_calendar":
		return s.value(&w.prevCalendar, v, depth)
	case "period":
		return s.value(&w.period, v, depth)
	case "channel":
		return s.value(&w.channel, v, depth)
	case "payment":
		return s.value(&w.payment, v, depth)
	case "satisfaction":
		return s.value(&w.satisfaction, v, depth)
	case "lookup":
		return s.value(&w.lookup, v, depth)
	case "attachments":
		w.resetAttachments()
		if s.data[v] != '[' {
			return s.value(&w.attachments, v, depth)
		}
		end, ok := s.array(v, depth+1, s.attachment)
		w.attachments = span{v, end}
		return end, ok
	}
	w.unknown = append(w.unknown, k)
	return s.skip(v, depth)
}

func (s *scanner) attachment(n, v, depth int) (int, bool) {
	w := s.w
	w.nAtt = n + 1
	if n >= maxAttachments {
		// Beyond the limit only the count matters.
		return s.skip(v, depth)
	}
	w.atts = append(w.atts, attFields{})
	if s.data[v] != '{' {
		return s.value(&w.atts[n].val, v, depth)
	}
	s.cur = n
	end, ok := s.object(v, depth+1, s.attachmentMember)
	w.atts[n].val = span{v, end}
	return end, ok
}

func (s *scanner) attachmentMember(k keyRef, v, depth int) (int, bool) {
	a := &s.w.atts[s.cur]
	switch string(s.key(k)) {
	case "kind":
		return s.value(&a.kind, v, depth)
	case "name":
		return s.value(&a.name, v, depth)
	case "sha256":
		return s.value(&a.hash, v, depth)
	}
	k.owner = s.cur
	s.w.unknown = append(s.w.unknown, k)
	return s.skip(v, depth)
}

// scanString checks the string at d[i] == '"' and returns the index after
// its closing quote and whether it holds escapes.
func scanString(d []byte, i int) (end int, esc, ok bool) {
	i++
	for i < len(d) {
		for i < len(d) && plainStringByte[d[i]] {
			i++
		}
		if i >= len(d) {
			break
		}
		switch d[i] {
		case '"':
			return i + 1, esc, true
		case '\\':
			esc = true
			if i+1 >= len(d) {
				return 0, false, false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) || !isHex(d[i+5]) {
					return 0, false, false
				}
				i += 6
			default:
				return 0, false, false
			}
		default: // a control character
			return 0, false, false
		}
	}
	return 0, false, false
}

// plainStringByte marks the bytes that stand for themselves in a JSON
// string: all but control characters, '"' and '\\'.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber checks the number at d[i] and returns the index after it.
func scanNumber(d []byte, i int) (int, bool) {
	if d[i] == '-' {
		i++
	}
	switch {
	case i >= len(d):
		return 0, false
	case d[i] == '0':
		i++
	case d[i] >= '1' && d[i] <= '9':
		for i++; i < len(d) && isDigit(d[i]); i++ {
		}
	default:
		return 0, false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || !isDigit(d[i]) {
			return 0, false
		}
		for i++; i < len(d) && isDigit(d[i]); i++ {
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			return 0, false
		}
		for i++; i < len(d) && isDigit(d[i]); i++ {
		}
	}
	return i, true
}

func literal(d []byte, i int, lit string) (int, bool) {
	if len(d)-i < len(lit) || string(d[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// appendUnquoted appends the content of a JSON string, given without its
// quotes and already checked by scanString, decoded as encoding/json
// decodes it: an unpaired surrogate escape becomes U+FFFD, and so does
// invalid UTF-8.
func appendUnquoted(b, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			// scanString left only valid escapes.
			switch s[i+1] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(s[i+2 : i+6])
				i += 6
				if utf16.IsSurrogate(r) {
					if len(s)-i >= 6 && s[i] == '\\' && s[i+1] == 'u' {
						if dec := utf16.DecodeRune(r, hex4(s[i+2:i+6])); dec != unicode.ReplacementChar {
							b = utf8.AppendRune(b, dec)
							i += 6
							continue
						}
					}
					r = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, r)
				continue
			default: // '"', '\\', '/'
				b = append(b, s[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			j := i + 1
			for j < len(s) && s[j] < utf8.RuneSelf && s[j] != '\\' {
				j++
			}
			b = append(b, s[i:j]...)
			i = j
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, unicode.ReplacementChar)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
	return b
}

// hex4 decodes four hex digits.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
