package events_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// TestDecodeHostile feeds Decode the hostile and broken input of the
// contract's limits: each is a rejection (malformed unless said) whose
// detail names the problem, and none is accepted.
func TestDecodeHostile(t *testing.T) {
	many := func(n int) []any {
		list := make([]any, n)
		for i := range list {
			list[i] = map[string]any{"kind": "input_digitized"}
		}
		return list
	}
	tests := []struct {
		name    string
		subject string // testSubject if empty
		raw     []byte // overrides the payload if set
		spoil   func(m map[string]any)
		reason  workflow.Reason // malformed if empty
		details []string
	}{
		// Dates far in the past or future, against the stream timestamp
		// (2024-11-06T02:00Z), never the wall clock.
		{name: "time before 2000", spoil: func(m map[string]any) { m["time"] = "1999-12-31T23:59:59Z" },
			details: []string{`time: "1999-12-31T23:59:59Z" is before 2000-01-01`}},
		{name: "time year one", spoil: func(m map[string]any) { m["time"] = "0001-01-01T00:00:00Z" },
			details: []string{"is before 2000-01-01"}},
		{name: "time a day and a second ahead", spoil: func(m map[string]any) { m["time"] = "2024-11-07T02:00:01Z" },
			details: []string{"time: 2024-11-07T02:00:01Z is more than 24h0m0s after the message reached the stream (2024-11-06T02:00:00Z)"}},
		{name: "time year 9999", spoil: func(m map[string]any) { m["time"] = "9999-12-31T23:59:59+07:00" },
			details: []string{"after the message reached the stream"}},
		{name: "new_due before 2000", spoil: func(m map[string]any) { data(m)["new_due"] = "1970-01-01" },
			details: []string{`data.new_due: "1970-01-01" is before 2000-01-01`}},
		{name: "due far ahead", spoil: func(m map[string]any) { data(m)["due"] = "2999-01-01" },
			details: []string{"data.due: 2999-01-01T00:00:00+07:00 is more than 10 years after the message reached the stream"}},
		{name: "entered a day and a second ahead", spoil: func(m map[string]any) { data(m)["entered"] = "2024-11-07T02:00:01Z" },
			details: []string{"data.entered: 2024-11-07T02:00:01Z is more than 24h0m0s after the message reached the stream"}},
		// Dossier codes that are not codes.
		{name: "dossier with space", spoil: func(m map[string]any) { m["subject"] = "HS 001" }, details: []string{`subject: "HS 001" is not a dossier code`}},
		{name: "dossier wildcard", spoil: func(m map[string]any) { m["subject"] = "*" }, details: []string{`subject: "*" is not a dossier code`}},
		{name: "dossier nats tail", spoil: func(m map[string]any) { m["subject"] = ">" }, details: []string{"is not a dossier code"}},
		{name: "dossier leading dot", spoil: func(m map[string]any) { m["subject"] = ".001" }, details: []string{"is not a dossier code"}},
		{name: "dossier 65 bytes", spoil: func(m map[string]any) { m["subject"] = strings.Repeat("A", 65) }, details: []string{"is not a dossier code"}},
		{name: "dossier NUL", spoil: func(m map[string]any) { m["subject"] = "A\x00B" }, details: []string{"is not a dossier code"}},
		{name: "dossier vietnamese", spoil: func(m map[string]any) { m["subject"] = "HỒSƠ-1" }, details: []string{"is not a dossier code"}},
		{name: "dossier number", spoil: func(m map[string]any) { m["subject"] = 12345 }, details: []string{"subject: want a string, got number"}},
		// Unknown event types: outside the contract's prefix, or not an
		// action name (an action no definition knows is unknown_action, decided later).
		{name: "type other namespace", spoil: func(m map[string]any) { m["type"] = "com.example.receive" },
			details: []string{`type: "com.example.receive" does not start with "vn.gov.hoso."`}},
		{name: "type empty action", spoil: func(m map[string]any) { m["type"] = "vn.gov.hoso." }, details: []string{`type: action "" must match`}},
		{name: "type long action", spoil: func(m map[string]any) { m["type"] = "vn.gov.hoso." + strings.Repeat("a", 65) }, details: []string{"must match ^[a-z][a-z0-9_]{0,63}$"}},
		{name: "type injection", spoil: func(m map[string]any) { m["type"] = "vn.gov.hoso.receive; drop" }, details: []string{"must match"}},
		// Attachment lists of thousands.
		{name: "attachments 101", spoil: func(m map[string]any) { data(m)["attachments"] = many(101) },
			details: []string{"data.attachments: 101 attachments, over the limit of 100"}},
		{name: "attachments 5000", spoil: func(m map[string]any) { data(m)["attachments"] = many(5000) },
			details: []string{"over the 65536-byte limit", "5000 attachments, over the limit of 100"}},
		// Invalid UTF-8, anywhere.
		{name: "utf-8 in data", raw: []byte("{\"data\":{\"actor\":\"c\xc3\x28\"}}"), details: []string{"payload is not valid UTF-8"}},
		{name: "utf-8 overlong", raw: []byte("{\"id\":\"\xc0\xaf\"}"), details: []string{"payload is not valid UTF-8"}},
		{name: "utf-8 surrogate half", raw: []byte("{\"id\":\"\xed\xa0\x80\"}"), details: []string{"payload is not valid UTF-8"}},
		{name: "lone surrogate escape", raw: []byte(`{"id":"\ud800"}`), details: nil},
		// Wrong JSON types.
		{name: "id number", spoil: func(m map[string]any) { m["id"] = 7 }, details: []string{"id: want a string, got number"}},
		{name: "time number", spoil: func(m map[string]any) { m["time"] = 1730858400 }, details: []string{"time: want a string, got number"}},
		{name: "data string", spoil: func(m map[string]any) { m["data"] = "{}" }, details: []string{"data: want an object, got string"}},
		{name: "data array", spoil: func(m map[string]any) { m["data"] = []any{} }, details: []string{"data: want an object, got array"}},
		{name: "agency object", spoil: func(m map[string]any) { data(m)["agency"] = map[string]any{} }, details: []string{"data.agency: want a string, got object"}},
		{name: "claimed_status string", spoil: func(m map[string]any) { data(m)["claimed_status"] = "4" }, details: []string{"data.claimed_status: want an integer, got string"}},
		{name: "claimed_status float", spoil: func(m map[string]any) { data(m)["claimed_status"] = 4.5 }, details: []string{`data.claimed_status: "4.5" is not an integer`}},
		{name: "claimed_status huge", spoil: func(m map[string]any) { data(m)["claimed_status"] = json.Number("1e400") },
			details: []string{`data.claimed_status: "1e400" is not an integer`}},
		{name: "claimed_status overflow", spoil: func(m map[string]any) { data(m)["claimed_status"] = json.Number("99999999999999999999") },
			details: []string{`data.claimed_status: "99999999999999999999" is not a status code 1–`}},
		{name: "attachments object", spoil: func(m map[string]any) { data(m)["attachments"] = map[string]any{} }, details: []string{"data.attachments: want an array, got object"}},
		{name: "attachment string", spoil: func(m map[string]any) { data(m)["attachments"] = []any{"don.pdf"} }, details: []string{"data.attachments[0]: want an object, got string"}},
		{name: "payload string", raw: []byte(`"hello"`), details: []string{"payload is a JSON string"}},
		{name: "payload number", raw: []byte(`42`), details: []string{"payload is a JSON number"}},
		{name: "deep nesting", raw: []byte(strings.Repeat("[", 20000) + strings.Repeat("]", 20000)), details: []string{"payload is not valid JSON"}},
		// Huge fields.
		{name: "huge id", spoil: func(m map[string]any) { m["id"] = strings.Repeat("i", 10000) }, details: []string{"id: 10000 bytes, over the 200-byte limit"}},
		{name: "huge actor", spoil: func(m map[string]any) { data(m)["actor"] = strings.Repeat("a", 129) }, details: []string{"data.actor: 129 bytes, over the 128-byte limit"}},
		{name: "huge note", spoil: func(m map[string]any) { data(m)["note"] = strings.Repeat("n", 4001) }, details: []string{"data.note: 4001 bytes, over the 4000-byte limit"}},
		{name: "huge attachment name", spoil: func(m map[string]any) {
			data(m)["attachments"] = []any{map[string]any{"kind": "k", "name": strings.Repeat("n", 256)}}
		}, details: []string{"data.attachments[0].name: 256 bytes, over the 255-byte limit"}},
		{name: "agency NUL", spoil: func(m map[string]any) { data(m)["agency"] = "H57\x0012" }, details: []string{`data.agency: "H57\x0012" contains a non-printable character`}},
		{name: "actor newline", spoil: func(m map[string]any) { data(m)["actor"] = "a\nINFO forged log line" }, details: []string{`data.actor: "a\nINFO forged log line" contains a non-printable character`}},
		{name: "huge message", spoil: func(m map[string]any) { m["x"] = strings.Repeat("x", events.MaxMessageSize) },
			details: []string{fmt.Sprintf("over the %d-byte limit", events.MaxMessageSize)}},
		{name: "huge subject token", subject: "hoso.events." + strings.Repeat("s", 65) + ".000_00_12_H57-241106-0001",
			reason: workflow.ReasonTokenMismatch, details: []string{"NATS subject: source token"}},
		{name: "many problems", raw: []byte(`{"specversion":2,"id":3,"source":4,"type":5,"subject":6,"time":7,"data":8,"datacontenttype":9,"data_base64":"x"}`),
			details: []string{"; and 1 more"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subject := tt.subject
			if subject == "" {
				subject = testSubject
			}
			raw := tt.raw
			if raw == nil {
				m := payload()
				if tt.spoil != nil {
					tt.spoil(m)
				}
				raw = mustJSON(t, m)
			}
			env := events.Decode(subject, raw, 9, published)
			if tt.details == nil {
				// Not a problem of its own (json.Marshal writes U+FFFD): it must not break Decode.
				if env.Event == nil && env.Rejection == nil {
					t.Fatalf("Decode(%.80q) = neither event nor rejection", raw)
				}
				return
			}
			if env.Event != nil || env.Rejection == nil {
				t.Fatalf("Decode(%.80q) = event %+v, want a rejection", raw, env.Event)
			}
			r := env.Rejection
			reason := tt.reason
			if reason == "" {
				reason = workflow.ReasonMalformed
			}
			if r.Reason != reason {
				t.Errorf("Decode(%.80q) reason = %q (%s), want %q", raw, r.Reason, r.Detail, reason)
			}
			for _, d := range tt.details {
				if !strings.Contains(r.Detail, d) {
					t.Errorf("Decode(%.80q) detail = %q, want it to contain %q", raw, r.Detail, d)
				}
			}
		})
	}
}

// TestDecodeTimeBoundsUseStreamTime checks that the bounds move with the
// stream timestamp, not the wall clock: the same payload is accepted when
// it reached the stream late enough, and a zero timestamp disables them.
func TestDecodeTimeBoundsUseStreamTime(t *testing.T) {
	m := payload()
	m["time"] = "2030-01-01T00:00:00Z"
	raw := mustJSON(t, m)
	for _, tt := range []struct {
		published time.Time
		accept    bool
	}{
		{published, false},
		{time.Date(2029, 12, 31, 0, 0, 1, 0, time.UTC), true},
		{time.Date(2029, 12, 30, 23, 59, 59, 0, time.UTC), false},
		{time.Time{}, true},
	} {
		env := events.Decode(testSubject, raw, 1, tt.published)
		if got := env.Event != nil; got != tt.accept {
			t.Errorf("Decode(time 2030-01-01, published %v) accepted = %v, want %v (%v)", tt.published, got, tt.accept, env.Rejection)
		}
	}
}
