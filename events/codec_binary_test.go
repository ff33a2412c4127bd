package events_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// binaryHeader returns the headers of payload() in the CloudEvents binary
// content mode, as the CloudEvents Go SDK's NATS JetStream sender writes
// them, with a Nats-Msg-Id.
func binaryHeader() nats.Header {
	h := nats.Header{}
	h.Set("ce-specversion", "1.0")
	h.Set("ce-id", "evt-0001")
	h.Set("ce-source", "/motcua/tayninh")
	h.Set("ce-type", "vn.gov.hoso.receive")
	h.Set("ce-subject", testCode)
	h.Set("ce-time", "2024-11-06T08:30:00+07:00")
	h.Set("Nats-Msg-Id", "evt-0001")
	return h
}

// binaryBody is the data of payload(), the body of a binary-mode message.
const binaryBody = `{"procedure":"1.004227","agency":"H57.12","actor":"canbo-01"}`

// TestDecodeMsgBinary decodes valid binary-mode messages: each gives the
// event the structured-mode payload() gives.
func TestDecodeMsgBinary(t *testing.T) {
	want := events.Decode(testSubject, mustJSON(t, payload()), 7, published)
	if want.Event == nil {
		t.Fatalf("Decode(payload()) rejected: %s", want.Rejection.MessageEN())
	}
	for _, tc := range []struct {
		name string
		edit func(h nats.Header) // of binaryHeader()
		body string
	}{
		{"as the SDK sends it", nil, binaryBody},
		{"body with spaces around", nil, " \n" + binaryBody + "\t "},
		{"ce-datacontenttype", func(h nats.Header) { h.Set("ce-datacontenttype", "application/json") }, binaryBody},
		{"content-type with a parameter", func(h nats.Header) { h.Set("content-type", "application/json; charset=utf-8") }, binaryBody},
		{"content-type and ce-datacontenttype alike", func(h nats.Header) {
			h.Set("content-type", "application/json")
			h.Set("ce-datacontenttype", "application/json")
		}, binaryBody},
		{"Content-Type", func(h nats.Header) { h.Set("Content-Type", "APPLICATION/JSON") }, binaryBody},
		{"extensions", func(h nats.Header) {
			h.Set("ce-traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
			h.Set("ce-partitionkey", "H57")
			h.Set("ce-", "an empty extension name")
		}, binaryBody},
		{"other headers", func(h nats.Header) { h.Set("X-Trace", "t-1") }, binaryBody},
		{"names in another case", func(h nats.Header) {
			for k, vs := range h {
				delete(h, k)
				h[strings.ToUpper(k[:1])+k[1:3]+strings.ToUpper(k[3:4])+k[4:]] = vs // Ce-Id, Ce-Specversion, …
			}
		}, binaryBody},
		{"all caps", func(h nats.Header) {
			for k, vs := range h {
				delete(h, k)
				h[strings.ToUpper(k)] = vs
			}
		}, binaryBody},
	} {
		h := binaryHeader()
		if tc.edit != nil {
			tc.edit(h)
		}
		got := events.DecodeMsg(testSubject, h, []byte(tc.body), 7, published)
		if got.Rejection != nil {
			t.Errorf("%s: DecodeMsg(%v) rejected: %s", tc.name, h, got.Rejection.MessageEN())
			continue
		}
		if diff := cmp.Diff(want, got, timeEqual); diff != "" {
			t.Errorf("%s: DecodeMsg(%v) differs from the structured event (-structured +binary):\n%s", tc.name, h, diff)
		}
	}
	// A header value is a string, whatever it holds.
	h := binaryHeader()
	h.Set("ce-id", `e"v\1`)
	if env := events.DecodeMsg(testSubject, h, []byte(binaryBody), 7, published); env.Event == nil || env.Event.ID != `e"v\1` {
		t.Errorf("DecodeMsg with ce-id %q = %+v, %+v; want that id", h.Get("ce-id"), env.Event, env.Rejection)
	}
	// The values, by hand, that both modes must give.
	ev := want.Event
	if ev.ID != "evt-0001" || ev.Action != "receive" || ev.Dossier != testCode || ev.Source != "motcua-tn" ||
		ev.SourceURI != "/motcua/tayninh" || ev.Procedure != "1.004227" || ev.Agency != "H57.12" || ev.Actor != "canbo-01" {
		t.Errorf("event = %+v", ev)
	}
}

// TestDecodeMsgBinaryTime reads ce-time as the SDK writes it
// (time.RFC3339Nano, in UTC) to the same instant and zone as the same
// time in structured mode.
func TestDecodeMsgBinaryTime(t *testing.T) {
	const at = "2024-11-06T01:30:00.123456789Z"
	m := payload()
	m["time"] = at
	want := events.Decode(testSubject, mustJSON(t, m), 1, published)
	h := binaryHeader()
	h.Set("ce-time", at)
	got := events.DecodeMsg(testSubject, h, []byte(binaryBody), 1, published)
	if got.Event == nil || want.Event == nil {
		t.Fatalf("DecodeMsg = %+v, Decode = %+v; want both events", got.Rejection, want.Rejection)
	}
	if diff := cmp.Diff(want, got, timeEqual); diff != "" {
		t.Errorf("DecodeMsg with ce-time %s (-structured +binary):\n%s", at, diff)
	}
	if got.Event.Time.Nanosecond() != 123456789 {
		t.Errorf("time = %s, want the nanoseconds kept", got.Event.Time)
	}
}

// TestDecodeMsgStructured decodes a message without ce-specversion as
// Decode does, whatever other ce-* headers it has.
func TestDecodeMsgStructured(t *testing.T) {
	raw := mustJSON(t, payload())
	h := nats.Header{}
	h.Set("Nats-Msg-Id", "evt-0001")
	h.Set("ce-id", "another id")
	h.Set("content-type", "text/plain")
	for _, hdr := range []nats.Header{nil, {}, h} {
		got := events.DecodeMsg(testSubject, hdr, raw, 3, published)
		if diff := cmp.Diff(events.Decode(testSubject, raw, 3, published), got, timeEqual); diff != "" {
			t.Errorf("DecodeMsg(%v) of a structured message (-Decode +DecodeMsg):\n%s", hdr, diff)
		}
	}
}

// TestDecodeMsgBinaryMalformed rejects binary-mode messages that binary
// mode alone can get wrong, and checks that the rejection is attributed
// from the headers.
func TestDecodeMsgBinaryMalformed(t *testing.T) {
	type attributed struct{ id, dossier, action, agency string }
	all := attributed{"evt-0001", testCode, "receive", "H57.12"}
	noData := attributed{"evt-0001", testCode, "receive", ""}
	unknown := func(k string) string {
		return "data." + k + ": unknown field (data fields are procedure, agency, actor, claimed_status, attachments, reason, note, new_due, due, department, entered, calendar, previous_calendar, period, channel, payment, satisfaction, lookup)"
	}
	for _, tc := range []struct {
		name   string
		edit   func(h nats.Header)
		body   string
		detail string
		attr   attributed
	}{
		{"id twice", func(h nats.Header) { h["ce-id"] = []string{"evt-0001", "evt-0002"} }, binaryBody,
			"header ce-id: given 2 times, want once (header names are not case-sensitive)",
			attributed{"", testCode, "receive", "H57.12"}},
		{"id in two cases", func(h nats.Header) { h["Ce-Id"] = []string{"evt-0001"} }, binaryBody,
			"header ce-id: given 2 times, want once (header names are not case-sensitive)",
			attributed{"", testCode, "receive", "H57.12"}},
		{"specversion twice", func(h nats.Header) { h["CE-SPECVERSION"] = []string{"1.0"} }, binaryBody,
			"header ce-specversion: given 2 times, want once (header names are not case-sensitive)", all},
		{"ce-data", func(h nats.Header) { h.Set("ce-data", binaryBody) }, binaryBody,
			"header ce-data: in binary mode the data is the message body, never a header", all},
		{"ce-data_base64", func(h nats.Header) { h.Set("Ce-Data_base64", "e30=") }, binaryBody,
			"header ce-data_base64: in binary mode the data is the message body, never a header", all},
		{"content types that disagree", func(h nats.Header) {
			h.Set("ce-datacontenttype", "application/json")
			h.Set("content-type", "application/json; charset=utf-8")
		}, binaryBody,
			`header content-type: "application/json; charset=utf-8" disagrees with header ce-datacontenttype "application/json"`, all},
		{"content-type not JSON", func(h nats.Header) { h.Set("content-type", "text/plain") }, binaryBody,
			`datacontenttype: "text/plain", want "application/json" or absent`, all},
		{"ce-datacontenttype of a structured event", func(h nats.Header) { h.Set("ce-datacontenttype", "application/cloudevents+json") }, binaryBody,
			`datacontenttype: "application/cloudevents+json", want "application/json" or absent`, all},
		{"empty body", nil, "", "data: required (the message body is empty)", noData},
		{"blank body", nil, " \r\n", "data: required (the message body is empty)", noData},
		{"body an array", nil, `[1]`, "data: want an object, got array", noData},
		{"body a string", nil, `"x"`, "data: want an object, got string", noData},
		{"body null", nil, `null`, "data: required", noData},
		{"body not JSON", nil, `{"procedure":`, "data: the message body is not valid JSON: unexpected end of JSON input (at byte 13)", noData},
		{"body two values", nil, `{} {}`, "data: the message body is not valid JSON: invalid character '{' after top-level value (at byte 4)", noData},
		{"body not UTF-8", nil, "{\"actor\":\"\xff\"}", "data: the message body is not valid UTF-8", noData},
		{"a structured event as body", nil, string(mustJSON(t, payload())),
			unknown("data") + "; " + unknown("id") + "; " + unknown("source") + "; " + unknown("specversion") + "; " +
				unknown("subject") + "; " + unknown("time") + "; " + unknown("type") + "; data.procedure: required; and 2 more",
			noData},
		{"id not UTF-8", func(h nats.Header) { h.Set("ce-id", "evt-\xff") }, binaryBody,
			"header ce-id: value is not valid UTF-8", attributed{}},
		{"empty specversion", func(h nats.Header) { h.Set("ce-specversion", "") }, binaryBody,
			`specversion: "", want "1.0"`, all},
		{"no type", func(h nats.Header) { h.Del("ce-type") }, binaryBody,
			"type: required", attributed{"evt-0001", testCode, "", "H57.12"}},
		{"control character in id", func(h nats.Header) { h.Set("ce-id", "evt\x01") }, binaryBody,
			`id: "evt\x01" contains a non-printable character`, attributed{"", testCode, "receive", "H57.12"}},
		{"space in source", func(h nats.Header) { h.Set("ce-source", "/a b") }, binaryBody,
			`source: "/a b" is not a URI reference`, all},
		{"only the specversion", func(h nats.Header) {
			for k := range h {
				if k != "ce-specversion" {
					delete(h, k)
				}
			}
		}, "",
			"id: required; source: required; type: required; subject: required; time: required; data: required (the message body is empty)",
			attributed{}},
		{"several problems, in a fixed order", func(h nats.Header) {
			h["ce-type"] = []string{"a", "b"}
			h.Set("ce-data", "x")
			h.Set("content-type", "text/plain")
			h.Set("ce-datacontenttype", "application/json")
			h["Ce-Subject"] = []string{testCode}
		}, `[]`,
			`header ce-data: in binary mode the data is the message body, never a header; ` +
				`header ce-subject: given 2 times, want once (header names are not case-sensitive); ` +
				`header ce-type: given 2 times, want once (header names are not case-sensitive); ` +
				`header content-type: "text/plain" disagrees with header ce-datacontenttype "application/json"; ` +
				`data: want an object, got array`,
			attributed{"evt-0001", "", "", ""}},
	} {
		h := binaryHeader()
		if tc.edit != nil {
			tc.edit(h)
		}
		for range 5 { // the headers are a map: the detail must not depend on its order
			env := events.DecodeMsg(testSubject, h, []byte(tc.body), 9, published)
			r := env.Rejection
			if r == nil {
				t.Fatalf("%s: DecodeMsg(%v, %q) accepted %+v", tc.name, h, tc.body, env.Event)
			}
			if r.Reason != workflow.ReasonMalformed || r.Detail != tc.detail {
				t.Fatalf("%s: DecodeMsg(%v, %q) = %s %q,\nwant malformed %q", tc.name, h, tc.body, r.Reason, r.Detail, tc.detail)
			}
			got := attributed{r.EventID, r.Dossier, r.Action, r.Agency}
			if got != tc.attr || r.Source != "motcua-tn" || r.Seq != 9 {
				t.Fatalf("%s: rejection attributed to %+v, source %q, seq %d; want %+v, motcua-tn, 9", tc.name, got, r.Source, r.Seq, tc.attr)
			}
		}
	}
}

// TestDecodeMsgBinaryHeaderUntouched checks that decoding leaves the
// message's headers as they were: the consumer's message is shared.
func TestDecodeMsgBinaryHeaderUntouched(t *testing.T) {
	h := binaryHeader()
	h["Ce-Id"] = []string{"x"}
	h["content-type"] = []string{"a", "b"}
	before := nats.Header{}
	for k, vs := range h {
		before[k] = append([]string(nil), vs...)
	}
	events.DecodeMsg(testSubject, h, []byte(binaryBody), 1, published)
	if diff := cmp.Diff(before, h); diff != "" {
		t.Errorf("DecodeMsg changed the headers (-before +after):\n%s", diff)
	}
}

// TestDecodeMsgBinaryTokenMismatch rejects a valid binary-mode event on a
// subject whose dossier token is another dossier's, as structured mode
// does.
func TestDecodeMsgBinaryTokenMismatch(t *testing.T) {
	const subject = "hoso.events.motcua-tn.000_00_12_H57-241106-0002"
	env := events.DecodeMsg(subject, binaryHeader(), []byte(binaryBody), 1, published)
	want := `NATS subject token "000_00_12_H57-241106-0002" does not match dossier "000.00.12.H57-241106-0001" (want "000_00_12_H57-241106-0001")`
	if r := env.Rejection; r == nil || r.Reason != workflow.ReasonTokenMismatch || r.Detail != want || r.EventID != "evt-0001" {
		t.Fatalf("DecodeMsg on %s = %+v, want token_mismatch %q of evt-0001", subject, env.Rejection, want)
	}
}

// TestDecodeMsgBinarySize bounds a binary-mode event as its structured
// form, extensions included: an event exactly 64 KiB long in structured
// mode passes in binary mode too, one byte more fails in both.
func TestDecodeMsgBinarySize(t *testing.T) {
	for _, size := range []int{events.MaxMessageSize, events.MaxMessageSize + 1} {
		m := payload()
		m["xpad"] = ""
		pad := strings.Repeat("x", size-len(mustJSON(t, m)))
		m["xpad"] = pad
		raw := mustJSON(t, m)
		if len(raw) != size {
			t.Fatalf("structured event of %d bytes, want %d", len(raw), size)
		}
		h := binaryHeader()
		h.Set("ce-xpad", pad)
		env := events.DecodeMsg(testSubject, h, mustJSON(t, data(m)), 1, published)
		structured := events.Decode(testSubject, raw, 1, published)
		if size == events.MaxMessageSize {
			if env.Rejection != nil || structured.Rejection != nil {
				t.Errorf("event of %d bytes: binary %+v, structured %+v; want both accepted", size, env.Rejection, structured.Rejection)
			}
			continue
		}
		const want = "message is 65537 bytes, over the 65536-byte limit"
		if r := env.Rejection; r == nil || r.Detail != want || r.EventID != "evt-0001" {
			t.Errorf("binary event of %d bytes: %+v, want %q of evt-0001", size, env.Rejection, want)
		}
		if r := structured.Rejection; r == nil || r.Detail != want {
			t.Errorf("structured event of %d bytes: %+v, want %q", size, structured.Rejection, want)
		}
	}
}

// toBinary turns an accepted structured-mode payload into the binary-mode
// message that stands for it: each string attribute a header ce-<name>,
// data the body. ok is false when it cannot (an extension that is not a
// string, a key not in lowercase: a header cannot carry them alike).
func toBinary(raw []byte) (h nats.Header, body []byte, ok bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, nil, false
	}
	h = nats.Header{}
	for k, v := range m {
		if k == "data" {
			body = v
			continue
		}
		if string(v) == "null" { // an absent attribute
			continue
		}
		var s string
		if k == "" || strings.ToLower(k) != k || strings.ContainsAny(k, ": \t\r\n") || json.Unmarshal(v, &s) != nil {
			return nil, nil, false
		}
		h.Set("ce-"+k, s)
	}
	return h, body, true
}

// fromText reads headers and a body from one fuzzed input: lines
// "name:value" up to an empty line, the body after it.
func fromText(raw []byte) (nats.Header, []byte) {
	head, body, found := strings.Cut(string(raw), "\n\n")
	if !found {
		return nil, raw
	}
	h := nats.Header{}
	for line := range strings.SplitSeq(head, "\n") {
		k, v, _ := strings.Cut(line, ":")
		h[k] = append(h[k], v)
	}
	return h, []byte(body)
}
