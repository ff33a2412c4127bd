package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/workflow"
)

// The CloudEvents binary content mode of the NATS protocol binding: every
// context attribute in a header ce-<name>, the data alone in the body. A
// binary-mode message is decoded by turning it into the structured-mode
// event it stands for and decoding that, so that both modes pass the same
// checks, with the same problem text, and give the same event.

// Header names of the binary content mode, in lowercase; hoso compares
// header names without regard to case.
const (
	// HeaderSpecVersion marks a message in binary content mode: with it,
	// the headers are the event's attributes and the body its data.
	HeaderSpecVersion = "ce-specversion"
	// HeaderContentType is the header the CloudEvents SDK also reads a
	// binary-mode event's datacontenttype from.
	HeaderContentType = "content-type"

	attributeHeaderPrefix = "ce-"
)

// DecodeMsg reads one message of the events stream, as Decode does, with
// its NATS headers: a message with a header ce-specversion (in any case)
// is in the CloudEvents binary content mode, any other in structured mode
// and decoded by Decode alone.
//
// In binary mode each context attribute is a header ce-<name> (ce-id,
// ce-source, ce-type, ce-subject, ce-time, ce-datacontenttype, extensions
// ce-<extension>), the header content-type may give datacontenttype
// instead, and the body is the event's data. DecodeMsg builds the
// structured-mode event they stand for and decodes it as Decode does: the
// same checks, limits (MaxMessageSize bounds that event) and problem
// text, and the same event. What only binary mode can get wrong is a
// problem of its own, listed before the others: a header given more than
// once (names compared without regard to case, so ce-id and Ce-Id are
// the same header), a header ce-data or ce-data_base64 (the data is the
// body), content-type and ce-datacontenttype that disagree, a header value
// that is not valid UTF-8 (then nothing else is read), and a body that is
// empty or not JSON (named as data). An attribute given twice is not
// read, and not reported as missing as well. Headers other than ce-* and
// content-type (Nats-Msg-Id, tracing) are ignored, as are extensions.
//
// DecodeMsg is a pure function of its arguments, safe for concurrent use,
// and never panics; it does not modify header.
func DecodeMsg(subject string, header nats.Header, data []byte, seq uint64, published time.Time) workflow.Envelope {
	if !isBinary(header) {
		return decode(subject, nil, data, seq, published)
	}
	return decode(subject, header, data, seq, published)
}

// isBinary reports whether header has ce-specversion, in any case.
func isBinary(header nats.Header) bool {
	for k := range header {
		if len(k) == len(HeaderSpecVersion) && strings.EqualFold(k, HeaderSpecVersion) {
			return true
		}
	}
	return false
}

// binaryRead is what decodeBinary learnt from a binary-mode message that
// its structured form cannot carry.
type binaryRead struct {
	data string   // the problem of the body, if any, in place of data's
	dups []string // the attributes given more than once, not read
}

// duplicated reports whether the attribute name was given more than once
// (false when b is nil: a structured-mode message).
func (b *binaryRead) duplicated(name string) bool {
	return b != nil && slices.Contains(b.dups, name)
}

// binaryHeader is one header a binary-mode event is read from.
type binaryHeader struct {
	name   string // in lowercase
	values []string
}

// decodeBinary decodes a binary-mode message: header its headers, body
// its data.
func decodeBinary(header nats.Header, body []byte, p *problems) (*workflow.Event, attribution) {
	var hs []binaryHeader
	for k, vs := range header {
		lk := strings.ToLower(k)
		if len(vs) == 0 || lk != HeaderContentType && !strings.HasPrefix(lk, attributeHeaderPrefix) {
			continue
		}
		hs = append(hs, binaryHeader{lk, vs})
	}
	// The same name in several cases: one header, given more than once.
	// Sorting makes the problems' order independent of the map's.
	slices.SortFunc(hs, func(a, b binaryHeader) int { return strings.Compare(a.name, b.name) })
	merged := hs[:0]
	for _, h := range hs {
		if n := len(merged); n > 0 && merged[n-1].name == h.name {
			merged[n-1].values = append(slices.Clip(merged[n-1].values), h.values...)
			continue
		}
		merged = append(merged, h)
	}
	hs = merged

	var headerProblems problems
	for _, h := range hs {
		for _, v := range h.values {
			if !utf8.ValidString(v) {
				headerProblems.add("header %s: value is not valid UTF-8", headerName(h.name))
				break
			}
		}
	}
	if !headerProblems.empty() {
		p.list, p.n = append(p.list, headerProblems.list...), p.n+headerProblems.n
		return &workflow.Event{}, attribution{}
	}

	b := &binaryRead{}
	var contentType string
	var contentTypes int // headers giving datacontenttype
	buf := make([]byte, 0, 256+len(body))
	buf = append(buf, '{')
	for _, h := range hs {
		name := strings.TrimPrefix(h.name, attributeHeaderPrefix)
		if h.name == HeaderContentType {
			name = "datacontenttype"
		}
		switch {
		case name == "data" || name == "data_base64":
			headerProblems.add("header %s: in binary mode the data is the message body, never a header", h.name)
			continue
		case len(h.values) > 1:
			headerProblems.add("header %s: given %d times, want once (header names are not case-sensitive)", headerName(h.name), len(h.values))
			b.dups = append(b.dups, name)
			continue
		case name == "datacontenttype":
			// content-type sorts after ce-datacontenttype.
			contentTypes++
			if contentTypes == 2 {
				if h.values[0] != contentType {
					headerProblems.add("header %s: %s disagrees with header %s%s %s",
						HeaderContentType, quote(h.values[0]), attributeHeaderPrefix, name, quote(contentType))
				}
				continue
			}
			contentType = h.values[0]
		}
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, name, false)
		buf = append(buf, ':')
		buf = appendJSONString(buf, h.values[0], false)
	}
	dataKey := `,"data":`
	if len(buf) == 1 {
		dataKey = dataKey[1:]
	}
	size := len(buf) + len(dataKey) + len(body) + 1
	if b.data = bodyProblem(body); b.data == "" {
		buf = append(buf, dataKey...)
		buf = append(buf, body...)
	}
	buf = append(buf, '}')
	if size > MaxMessageSize {
		p.add("message is %d bytes, over the %d-byte limit", size, MaxMessageSize)
	}
	p.list, p.n = append(p.list, headerProblems.list...), p.n+headerProblems.n
	if len(p.list) > maxProblems {
		p.list = p.list[:maxProblems]
	}
	return decodeJSON(buf, p, b)
}

// bodyProblem returns the problem of a binary-mode message's body, the
// event's data, or "" when it is one JSON value (any value: whether it
// is an object is for the structured decoding to say, in its words).
func bodyProblem(body []byte) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return "data: required (the message body is empty)"
	}
	if !utf8.Valid(body) {
		return "data: the message body is not valid UTF-8"
	}
	// The body is checked as the scanner checks data, one container deep.
	s := scanner{data: body}
	i := skipSpace(body, 0)
	if end, ok := s.skip(i, 1); ok && skipSpace(body, end) == len(body) {
		return ""
	}
	var v any
	var se *json.SyntaxError
	if err := json.Unmarshal(body, &v); errors.As(err, &se) {
		return fmt.Sprintf("data: the message body is not valid JSON: %v (at byte %d)", se, se.Offset)
	}
	return fmt.Sprintf("data: the message body nests more than %d arrays and objects", maxNesting-1)
}

// headerName returns a header's name for a problem: as it is, or quoted
// when long or not printable.
func headerName(name string) string {
	if len(name) <= maxQuoted && printable(name) {
		return name
	}
	return quote(name)
}
