package events_test

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

const (
	testCode    = "000.00.12.H57-241106-0001"
	testSubject = "hoso.events.motcua-tn.000_00_12_H57-241106-0001"
)

var published = time.Date(2024, 11, 6, 2, 0, 0, 0, time.UTC)

// payload returns a valid contract payload as a map, for tests to spoil.
func payload() map[string]any {
	return map[string]any{
		"specversion": "1.0",
		"id":          "evt-0001",
		"source":      "/motcua/tayninh",
		"type":        "vn.gov.hoso.receive",
		"subject":     testCode,
		"time":        "2024-11-06T08:30:00+07:00",
		"data": map[string]any{
			"procedure": "1.004227",
			"agency":    "H57.12",
			"actor":     "canbo-01",
		},
	}
}

func data(m map[string]any) map[string]any { return m["data"].(map[string]any) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeValid(t *testing.T) {
	m := payload()
	m["datacontenttype"] = "application/json"
	m["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" // an extension
	d := data(m)
	d["claimed_status"] = 2
	d["attachments"] = []any{
		map[string]any{"kind": "input_digitized", "name": "don.pdf", "sha256": strings.Repeat("ab", 32)},
		map[string]any{"kind": "result_electronic"},
		// Uppercase, as many tools print a digest: kept in lowercase.
		map[string]any{"kind": "apology_letter", "sha256": "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"},
	}
	d["reason"] = "thiếu giấy tờ"
	d["note"] = "ghi chú"
	d["new_due"] = "2024-11-20"
	d["due"] = "2024-11-15T17:00:00+07:00"
	d["department"] = "phong-tn"

	env := events.Decode(testSubject, mustJSON(t, m), 42, published)
	if env.Rejection != nil {
		t.Fatalf("Decode rejected a valid event: %s", env.Rejection.MessageEN())
	}
	want := &workflow.Event{
		ID:            "evt-0001",
		SourceURI:     "/motcua/tayninh",
		Source:        "motcua-tn",
		Action:        "receive",
		Dossier:       testCode,
		Time:          time.Date(2024, 11, 6, 1, 30, 0, 0, time.UTC),
		Procedure:     "1.004227",
		Agency:        "H57.12",
		Actor:         "canbo-01",
		ClaimedStatus: workflow.StatusReceived,
		Attachments: []workflow.Attachment{
			{Kind: "input_digitized", Name: "don.pdf", SHA256: strings.Repeat("ab", 32)},
			{Kind: "result_electronic"},
			{Kind: "apology_letter", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		},
		Reason:     "thiếu giấy tờ",
		Note:       "ghi chú",
		NewDue:     time.Date(2024, 11, 20, 0, 0, 0, 0, workflow.Zone),
		NewDueDay:  true,
		Due:        time.Date(2024, 11, 15, 10, 0, 0, 0, time.UTC),
		Department: "phong-tn",
	}
	if diff := cmp.Diff(want, env.Event); diff != "" {
		t.Errorf("Decode event mismatch (-want +got):\n%s", diff)
	}
	if env.Seq != 42 || env.Subject != testSubject || !env.Published.Equal(published) {
		t.Errorf("Decode envelope position = %d %q %v, want 42 %q %v", env.Seq, env.Subject, env.Published, testSubject, published)
	}
}

func TestDecodeInvalid(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name    string
		subject string // testSubject if empty
		raw     []byte // overrides the payload if set
		spoil   func(m map[string]any)
		reason  workflow.Reason
		details []string
	}{
		{name: "empty payload", raw: []byte{}, details: []string{"payload is empty"}},
		{name: "invalid utf-8", raw: []byte("{\"id\":\"\xff\"}"), details: []string{"not valid UTF-8"}},
		{name: "invalid json", raw: []byte(`{"id":`), details: []string{"payload is not valid JSON"}},
		{name: "trailing data", raw: []byte(`{} {}`), details: []string{"payload is not valid JSON"}},
		{name: "json array", raw: []byte(`[1,2]`), details: []string{"payload is a JSON array, want a CloudEvent object"}},
		{name: "json null", raw: []byte(`null`), details: []string{"payload is JSON null"}},
		{name: "oversized", spoil: func(m map[string]any) { m["padding"] = long(events.MaxMessageSize) },
			details: []string{"over the 65536-byte limit"}},
		{name: "specversion", spoil: func(m map[string]any) { m["specversion"] = "0.3" },
			details: []string{`specversion: "0.3", want "1.0"`}},
		{name: "specversion number", spoil: func(m map[string]any) { m["specversion"] = 1.0 },
			details: []string{"specversion: want a string, got number"}},
		{name: "id missing", spoil: func(m map[string]any) { delete(m, "id") }, details: []string{"id: required"}},
		{name: "id empty", spoil: func(m map[string]any) { m["id"] = "" }, details: []string{"id: empty"}},
		{name: "id too long", spoil: func(m map[string]any) { m["id"] = long(201) }, details: []string{"id: 201 bytes, over the 200-byte limit"}},
		{name: "id control", spoil: func(m map[string]any) { m["id"] = "a\nb" }, details: []string{"id: \"a\\nb\" contains a non-printable character"}},
		{name: "source empty", spoil: func(m map[string]any) { m["source"] = "" }, details: []string{"source: empty"}},
		{name: "source spaces", spoil: func(m map[string]any) { m["source"] = "/mot cua" }, details: []string{"source: \"/mot cua\" is not a URI reference"}},
		{name: "source bad escape", spoil: func(m map[string]any) { m["source"] = "/a%zz" }, details: []string{"is not a URI reference"}},
		{name: "type prefix", spoil: func(m map[string]any) { m["type"] = "receive" }, details: []string{`type: "receive" does not start with "vn.gov.hoso."`}},
		{name: "type action case", spoil: func(m map[string]any) { m["type"] = "vn.gov.hoso.Receive" }, details: []string{`type: action "Receive" must match`}},
		{name: "type action long", spoil: func(m map[string]any) { m["type"] = "vn.gov.hoso." + strings.Repeat("a", 65) }, details: []string{"type: action"}},
		{name: "subject wildcard", spoil: func(m map[string]any) { m["subject"] = "000.*" }, details: []string{`subject: "000.*" is not a dossier code`}},
		{name: "subject space", spoil: func(m map[string]any) { m["subject"] = "000 01" }, details: []string{"is not a dossier code"}},
		{name: "subject long", spoil: func(m map[string]any) { m["subject"] = strings.Repeat("A", 65) }, details: []string{"is not a dossier code"}},
		{name: "subject leading dot", spoil: func(m map[string]any) { m["subject"] = ".A" }, details: []string{"is not a dossier code"}},
		{name: "time missing", spoil: func(m map[string]any) { delete(m, "time") }, details: []string{"time: required"}},
		{name: "time not rfc3339", spoil: func(m map[string]any) { m["time"] = "06/11/2024 08:30" }, details: []string{`time: "06/11/2024 08:30" is not an RFC 3339 time`}},
		{name: "time date only", spoil: func(m map[string]any) { m["time"] = "2024-11-06" }, details: []string{"is not an RFC 3339 time"}},
		{name: "datacontenttype", spoil: func(m map[string]any) { m["datacontenttype"] = "text/plain" }, details: []string{`datacontenttype: "text/plain", want "application/json" or absent`}},
		{name: "data_base64", spoil: func(m map[string]any) { m["data_base64"] = "AAAA" }, details: []string{"data_base64: binary data is not supported"}},
		{name: "data missing", spoil: func(m map[string]any) { delete(m, "data") }, details: []string{"data: required"}},
		{name: "data array", spoil: func(m map[string]any) { m["data"] = []any{} }, details: []string{"data: want an object, got array"}},
		{name: "procedure missing", spoil: func(m map[string]any) { delete(data(m), "procedure") }, details: []string{"data.procedure: required"}},
		{name: "actor blank", spoil: func(m map[string]any) { data(m)["actor"] = "  " }, details: []string{"data.actor: empty"}},
		{name: "agency long", spoil: func(m map[string]any) { data(m)["agency"] = long(129) }, details: []string{"data.agency: 129 bytes, over the 128-byte limit"}},
		{name: "agency number", spoil: func(m map[string]any) { data(m)["agency"] = 12 }, details: []string{"data.agency: want a string, got number"}},
		{name: "unknown data field", spoil: func(m map[string]any) { data(m)["procedur"] = "x" },
			details: []string{"data.procedur: unknown field (data fields are procedure, agency"}},
		{name: "claimed status range", spoil: func(m map[string]any) { data(m)["claimed_status"] = 11 },
			details: []string{"data.claimed_status: 11 is not a status code 1–10"}},
		{name: "claimed status zero", spoil: func(m map[string]any) { data(m)["claimed_status"] = 0 },
			details: []string{"data.claimed_status: 0 is not a status code 1–10"}},
		{name: "claimed status string", spoil: func(m map[string]any) { data(m)["claimed_status"] = "4" },
			details: []string{"data.claimed_status: want an integer, got string"}},
		{name: "claimed status fraction", spoil: func(m map[string]any) { data(m)["claimed_status"] = 4.5 },
			details: []string{`data.claimed_status: "4.5" is not an integer`}},
		{name: "claimed status huge", raw: []byte(strings.Replace(string(mustJSON(t, payload())), `"actor"`, `"claimed_status":123456789012345678901234567890,"actor"`, 1)),
			details: []string{`data.claimed_status: "123456789012345678901234567890" is not a status code 1–10`}},
		{name: "attachments object", spoil: func(m map[string]any) { data(m)["attachments"] = map[string]any{} },
			details: []string{"data.attachments: want an array, got object"}},
		{name: "attachments too many", spoil: func(m map[string]any) {
			var as []any
			for range 101 {
				as = append(as, map[string]any{"kind": "input_digitized"})
			}
			data(m)["attachments"] = as
		}, details: []string{"data.attachments: 101 attachments, over the limit of 100"}},
		{name: "attachment not object", spoil: func(m map[string]any) { data(m)["attachments"] = []any{"x"} },
			details: []string{"data.attachments[0]: want an object, got string"}},
		{name: "attachment kind", spoil: func(m map[string]any) { data(m)["attachments"] = []any{map[string]any{"kind": "Input"}} },
			details: []string{`data.attachments[0].kind: "Input" must match ^[a-z][a-z0-9_]{0,63}$`}},
		{name: "attachment kind missing", spoil: func(m map[string]any) { data(m)["attachments"] = []any{map[string]any{"name": "a.pdf"}} },
			details: []string{"data.attachments[0].kind: required"}},
		{name: "attachment sha256", spoil: func(m map[string]any) {
			data(m)["attachments"] = []any{map[string]any{"kind": "k", "sha256": strings.Repeat("AG", 32)}}
		}, details: []string{"data.attachments[0].sha256:", "want 64 hex digits or empty"}},
		{name: "attachment sha256 short", spoil: func(m map[string]any) {
			data(m)["attachments"] = []any{map[string]any{"kind": "k", "sha256": strings.Repeat("AB", 31)}}
		}, details: []string{"data.attachments[0].sha256:", "want 64 hex digits or empty"}},
		{name: "attachment unknown field", spoil: func(m map[string]any) {
			data(m)["attachments"] = []any{map[string]any{"kind": "k"}, map[string]any{"kind": "k", "size": 3}}
		}, details: []string{"data.attachments[1].size: unknown field (attachment fields are kind, name, sha256)"}},
		{name: "reason long", spoil: func(m map[string]any) { data(m)["reason"] = long(4001) },
			details: []string{"data.reason: 4001 bytes, over the 4000-byte limit"}},
		{name: "note type", spoil: func(m map[string]any) { data(m)["note"] = true },
			details: []string{"data.note: want a string, got boolean"}},
		{name: "new_due format", spoil: func(m map[string]any) { data(m)["new_due"] = "20/11/2024" },
			details: []string{`data.new_due: "20/11/2024" is neither an RFC 3339 time nor a date YYYY-MM-DD`}},
		{name: "due impossible date", spoil: func(m map[string]any) { data(m)["due"] = "2024-02-30" },
			details: []string{"data.due:"}},
		{name: "entered date only", spoil: func(m map[string]any) { data(m)["entered"] = "2024-11-06" },
			details: []string{`data.entered: "2024-11-06" is not an RFC 3339 time`}},
		{name: "entered before time", spoil: func(m map[string]any) { data(m)["entered"] = "2024-11-06T08:29:59+07:00" },
			details: []string{`data.entered: "2024-11-06T08:29:59+07:00" is before time 2024-11-06T08:30:00+07:00`}},
		{name: "department long", spoil: func(m map[string]any) { data(m)["department"] = long(129) },
			details: []string{"data.department: 129 bytes"}},
		{name: "many problems", spoil: func(m map[string]any) {
			for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
				data(m)[k] = 1
			}
		}, details: []string{"data.a: unknown field", "data.h: unknown field", "; and 2 more"}},
		{name: "subject three tokens", subject: "hoso.events.motcua-tn", reason: workflow.ReasonTokenMismatch, details: []string{`NATS subject "hoso.events.motcua-tn" is not hoso.events.<source>.<dossier-token>`}},
		{name: "subject five tokens", subject: "hoso.events.motcua-tn.000_00.x", reason: workflow.ReasonTokenMismatch, details: []string{"is not hoso.events.<source>.<dossier-token>"}},
		{name: "subject other prefix", subject: "hoso.other.motcua-tn.000_00_12_H57-241106-0001", reason: workflow.ReasonTokenMismatch, details: []string{"is not hoso.events."}},
		{name: "subject source case", subject: "hoso.events.MotCua.000_00_12_H57-241106-0001", reason: workflow.ReasonTokenMismatch, details: []string{`NATS subject: source token "MotCua" must match ^[a-z0-9_-]{1,64}$`}},
		{name: "subject and payload wrong", subject: "hoso.events.MotCua.000_00_12_H57-241106-0001",
			spoil:   func(m map[string]any) { delete(m, "id") },
			details: []string{`NATS subject: source token "MotCua" must match`, "id"}},
		{name: "token mismatch", subject: "hoso.events.motcua-tn.000_00_12_H57-241106-0002", reason: workflow.ReasonTokenMismatch,
			details: []string{`NATS subject token "000_00_12_H57-241106-0002" does not match dossier "000.00.12.H57-241106-0001" (want "000_00_12_H57-241106-0001")`}},
		{name: "token with dots kept", subject: "hoso.events.motcua-tn.000", spoil: func(m map[string]any) { m["subject"] = "000.1" },
			reason: workflow.ReasonTokenMismatch, details: []string{`want "000_1"`}},
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
			reason := tt.reason
			if reason == "" {
				reason = workflow.ReasonMalformed
			}
			env := events.Decode(subject, raw, 9, published)
			if env.Event != nil || env.Rejection == nil {
				t.Fatalf("Decode(%q) = event %+v, want a rejection", raw, env.Event)
			}
			r := env.Rejection
			if r.Reason != reason {
				t.Errorf("Decode(%.80q) reason = %q (%s), want %q", raw, r.Reason, r.Detail, reason)
			}
			for _, d := range tt.details {
				if !strings.Contains(r.Detail, d) {
					t.Errorf("Decode(%.80q) detail = %q, want it to contain %q", raw, r.Detail, d)
				}
			}
			if r.Seq != 9 || r.Subject != subject || !r.Time.Equal(published) {
				t.Errorf("rejection position = %d %q %v, want 9 %q %v", r.Seq, r.Subject, r.Time, subject, published)
			}
			again := events.Decode(subject, raw, 9, published)
			if diff := cmp.Diff(env, again); diff != "" {
				t.Errorf("Decode is not deterministic (-first +second):\n%s", diff)
			}
		})
	}
}

func TestDecodeAttributesRejections(t *testing.T) {
	m := payload()
	data(m)["claimed_status"] = 11
	env := events.Decode(testSubject, mustJSON(t, m), 3, published)
	want := &workflow.Rejection{
		Seq: 3, EventID: "evt-0001", Source: "motcua-tn", Subject: testSubject, Dossier: testCode,
		Action: "receive", Agency: "H57.12", Reason: workflow.ReasonMalformed,
		Detail: "data.claimed_status: 11 is not a status code 1–10", Time: published,
	}
	if diff := cmp.Diff(want, env.Rejection); diff != "" {
		t.Errorf("rejection mismatch (-want +got):\n%s", diff)
	}

	// Fields that are themselves invalid are not attributed.
	m = payload()
	m["subject"] = "bad code"
	m["id"] = ""
	env = events.Decode(testSubject, mustJSON(t, m), 3, published)
	if r := env.Rejection; r.Dossier != "" || r.EventID != "" || r.Action != "receive" {
		t.Errorf("rejection attributed to dossier %q, event %q, action %q; want \"\", \"\", \"receive\"", r.Dossier, r.EventID, r.Action)
	}

	m = payload()
	data(m)["claimed_status"] = 5
	data(m)["bogus"] = 1
	env = events.Decode("hoso.events.Bad.x", mustJSON(t, m), 3, published)
	if r := env.Rejection; r.Source != "" || r.ClaimedStatus != 5 {
		t.Errorf("rejection source %q, claimed %d; want \"\", 5", r.Source, r.ClaimedStatus)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	ev := &workflow.Event{
		ID:            "evt-42",
		SourceURI:     "https://motcua.tayninh.gov.vn/api",
		Source:        "tayninh",
		Action:        "request_supplement",
		Dossier:       testCode,
		Time:          time.Date(2024, 11, 6, 8, 30, 15, 123456789, workflow.Zone),
		Procedure:     "1.004227",
		Agency:        "H57.12",
		Actor:         "canbo-01",
		ClaimedStatus: workflow.StatusSupplement,
		Attachments:   []workflow.Attachment{{Kind: "supplement_request", Name: "<phiếu>&.pdf", SHA256: strings.Repeat("0f", 32)}},
		Reason:        "thiếu bản sao",
		NewDue:        time.Date(2024, 11, 20, 0, 0, 0, 0, workflow.Zone),
		NewDueDay:     true, // a date: encoded "2024-11-20"
		Due:           time.Date(2024, 11, 15, 17, 0, 0, 0, workflow.Zone),
		Department:    "phong-tn",
		Note:          "ghi chú",
		Entered:       time.Date(2024, 11, 6, 16, 0, 0, 0, workflow.Zone),
	}
	raw, err := events.Encode(ev)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if strings.Contains(string(raw), `\u003c`) {
		t.Errorf("Encode escaped HTML: %s", raw)
	}
	env := events.Decode(events.Subject(ev.Source, ev.Dossier), raw, 1, published)
	if env.Rejection != nil {
		t.Fatalf("Decode(Encode(ev)) rejected: %s\n%s", env.Rejection.MessageEN(), raw)
	}
	if diff := cmp.Diff(ev, env.Event); diff != "" {
		t.Errorf("Decode(Encode(ev)) mismatch (-want +got):\n%s", diff)
	}
}

func TestEncodeInvalid(t *testing.T) {
	ev := &workflow.Event{ID: "x", SourceURI: "/a", Action: "Receive", Dossier: "A", Procedure: "p", Agency: "a", Actor: "b", Time: published}
	if _, err := events.Encode(ev); !errors.Is(err, events.ErrInvalidEvent) || !strings.Contains(err.Error(), "type: action") {
		t.Errorf("Encode(bad action) error = %v, want ErrInvalidEvent about the action", err)
	}
	if _, err := events.Encode(nil); !errors.Is(err, events.ErrInvalidEvent) {
		t.Errorf("Encode(nil) error = %v, want ErrInvalidEvent", err)
	}
}

func TestSubjects(t *testing.T) {
	tests := []struct{ got, want string }{
		{events.Subject("motcua-tn", testCode), testSubject},
		{events.OutcomeSubject(workflow.OutcomeAccepted, "motcua-tn", testCode), "hoso.outcomes.accepted.motcua-tn.000_00_12_H57-241106-0001"},
		{events.OutcomeSubject(workflow.OutcomeRejected, "", ""), "hoso.outcomes.rejected._._"},
		{events.OutcomeSubject(workflow.OutcomeRejected, "a*b", "x y"), "hoso.outcomes.rejected._._"},
		{events.OutcomeSubject(workflow.OutcomeCorrection, "s", "A>"), "hoso.outcomes.correction.s._"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("subject = %q, want %q", tt.got, tt.want)
		}
	}
}

// The contract's patterns, to check the decoder's hand-written matchers.
var (
	actionRE  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	dossierRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	sourceRE  = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)
	sha256RE  = regexp.MustCompile(`^([0-9a-f]{64})?$`)
)

func FuzzDecode(f *testing.F) {
	f.Add(testSubject, mustJSON(f, payload()))
	full := payload()
	data(full)["claimed_status"] = 4
	data(full)["attachments"] = []any{map[string]any{"kind": "input_digitized", "sha256": strings.Repeat("ab", 32)}}
	data(full)["new_due"] = "2024-11-20"
	data(full)["due"] = "2024-11-15T17:00:00.5-01:00"
	f.Add(testSubject, mustJSON(f, full))
	f.Add("hoso.events.x.y", []byte(`{"specversion":"1.0","id":"1","source":"/","type":"vn.gov.hoso.a","subject":"y","time":"2024-01-01T00:00:00Z","data":{"procedure":"p","agency":"a","actor":"b"}}`))
	f.Add(calendarSubject, mustJSON(f, calendarPayload(f)))
	f.Add("hoso.events.x", []byte(`{`))
	f.Add(testSubject, []byte(`[]`))
	f.Add(testSubject, []byte("\xff\xfe"))
	f.Add(testSubject, []byte(`{"type":"vn.gov.hoso.deadline_warning","data":{"lookup":"517A0AEAE5BE370033877FCF1C6DBAD84934DB0E46C4A1D0A175B6D8D5CDD939"}}`))
	f.Add("", []byte(`{"data":{"attachments":[{"kind":"a","x":1}],"claimed_status":1e3}}`))
	f.Add(testSubject, []byte(`{"sp\u0065cversion":"1.0","id":"\ud83d\ude00","data":{"attachments":[{"k\u0069nd":"a"}],"attachments":[]},"data":{"due":"2024-11-15T1:04:05Z"}}`))
	f.Add(testSubject, []byte(`{"x":[[{"a":[-0.5e+3,true,false,null,"\u2028"]}]],"data":{"zz":1,"aa":{},"zz":[]}}`))
	// Binary content mode: lines "name:value", an empty line, the body
	// (fromText).
	bin := "ce-specversion:1.0\nce-id:evt-0001\nce-source:/motcua/tayninh\nce-type:vn.gov.hoso.receive\nce-subject:" + testCode +
		"\nce-time:2024-11-06T08:30:00.5Z\nNats-Msg-Id:evt-0001\n"
	f.Add(testSubject, []byte(bin+"\n"+binaryBody))
	f.Add(testSubject, []byte(bin+"content-type:application/json; charset=utf-8\nce-traceparent:00-1\n\n"+binaryBody))
	f.Add(testSubject, []byte(bin+"Ce-Id:x\nce-data:{}\ncontent-type:text/plain\nce-datacontenttype:application/json\n\n[]"))
	f.Add(testSubject, []byte("CE-SPECVERSION:\n\n"))
	f.Add(testSubject, []byte(bin+"\n"+string(mustJSON(f, payload()))))
	f.Fuzz(func(t *testing.T, subject string, raw []byte) {
		header, body := fromText(raw)
		checkBinary(t, subject, header, body)
		env := events.Decode(subject, raw, 5, published)
		if diff := cmp.Diff(events.OldDecode(subject, raw, 5, published), env, timeEqual); diff != "" {
			t.Fatalf("Decode(%q, %q) differs from the former decoder (-old +new):\n%s", subject, raw, diff)
		}
		if (env.Event == nil) == (env.Rejection == nil) {
			t.Fatalf("Decode(%q, %q): event %v, rejection %v; want exactly one", subject, raw, env.Event, env.Rejection)
		}
		if env.Seq != 5 || env.Subject != subject {
			t.Fatalf("Decode(%q, %q) position = %d %q", subject, raw, env.Seq, env.Subject)
		}
		if r := env.Rejection; r != nil {
			if r.Reason != workflow.ReasonMalformed && r.Reason != workflow.ReasonTokenMismatch || r.Detail == "" {
				t.Fatalf("Decode(%q, %q) rejection = %q %q", subject, raw, r.Reason, r.Detail)
			}
			if r.Dossier != "" && !dossierRE.MatchString(r.Dossier) || r.Action != "" && !actionRE.MatchString(r.Action) ||
				r.Source != "" && !sourceRE.MatchString(r.Source) || r.ClaimedStatus != 0 && !r.ClaimedStatus.Valid() {
				t.Fatalf("Decode(%q, %q) attributed an invalid field: %+v", subject, raw, r)
			}
			return
		}
		ev := env.Event
		if !actionRE.MatchString(ev.Action) || !dossierRE.MatchString(ev.Dossier) || !sourceRE.MatchString(ev.Source) {
			t.Fatalf("Decode(%q, %q) accepted action %q, dossier %q, source %q", subject, raw, ev.Action, ev.Dossier, ev.Source)
		}
		for _, a := range ev.Attachments {
			if !actionRE.MatchString(a.Kind) || !sha256RE.MatchString(a.SHA256) {
				t.Fatalf("Decode(%q, %q) accepted attachment %+v", subject, raw, a)
			}
		}
		if h, body, ok := toBinary(raw); ok {
			bin := events.DecodeMsg(subject, h, body, 5, published)
			if diff := cmp.Diff(env, bin, timeEqual); diff != "" {
				t.Fatalf("DecodeMsg(%v, %q) differs from Decode(%q) (-structured +binary):\n%s", h, body, raw, diff)
			}
		}
		out, err := events.Encode(ev)
		if err != nil {
			t.Fatalf("Encode(Decode(%q)): %v", raw, err)
		}
		again := events.Decode(subject, out, 5, published)
		if again.Rejection != nil {
			t.Fatalf("Decode(Encode(Decode(%q))) rejected: %s\n%s", raw, again.Rejection.MessageEN(), out)
		}
		if diff := cmp.Diff(ev, again.Event); diff != "" {
			t.Fatalf("round trip of %q changed the event (-first +second):\n%s", raw, diff)
		}
	})
}

// checkBinary decodes a message with headers: exactly one of an event and
// a rejection, an event that survives Encode and Decode, and in binary
// mode no problem of the structured form hoso builds from it (which is
// always one JSON object).
func checkBinary(t *testing.T, subject string, h nats.Header, body []byte) {
	t.Helper()
	env := events.DecodeMsg(subject, h, body, 5, published)
	if (env.Event == nil) == (env.Rejection == nil) {
		t.Fatalf("DecodeMsg(%q, %v, %q): event %v, rejection %v; want exactly one", subject, h, body, env.Event, env.Rejection)
	}
	if r := env.Rejection; r != nil {
		if r.Reason != workflow.ReasonMalformed && r.Reason != workflow.ReasonTokenMismatch || r.Detail == "" {
			t.Fatalf("DecodeMsg(%q, %v, %q) rejection = %q %q", subject, h, body, r.Reason, r.Detail)
		}
		binary := false
		for k := range h {
			binary = binary || strings.EqualFold(k, events.HeaderSpecVersion)
		}
		if binary && strings.Contains(r.Detail, "payload") {
			t.Fatalf("DecodeMsg(%q, %v, %q) of a binary-mode message: %q names the payload hoso built", subject, h, body, r.Detail)
		}
		return
	}
	out, err := events.Encode(env.Event)
	if err != nil {
		t.Fatalf("Encode(DecodeMsg(%v, %q)): %v", h, body, err)
	}
	if again := events.Decode(subject, out, 5, published); again.Event == nil || !cmp.Equal(env.Event, again.Event) {
		t.Fatalf("Decode(Encode(DecodeMsg(%v, %q))) = %+v, %+v; want %+v", h, body, again.Event, again.Rejection, env.Event)
	}
}

// benchPayload is a CloudEvent with every field a one-stop-shop sends,
// attachments included.
func benchPayload(tb testing.TB) []byte {
	m := payload()
	d := data(m)
	d["claimed_status"] = 4
	d["attachments"] = []any{
		map[string]any{"kind": "input_digitized", "name": "don.pdf", "sha256": strings.Repeat("ab", 32)},
		map[string]any{"kind": "result_electronic", "name": "kq.pdf", "sha256": strings.Repeat("cd", 32)},
	}
	d["due"] = "2024-11-15"
	d["note"] = "ghi chú cho phiếu kiểm soát"
	return mustJSON(tb, m)
}

func BenchmarkDecode(b *testing.B) {
	raw := benchPayload(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if env := events.Decode(testSubject, raw, 1, published); env.Event == nil {
			b.Fatal(env.Rejection.MessageEN())
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	ev := events.Decode(testSubject, benchPayload(b), 1, published).Event
	b.ReportAllocs()
	for b.Loop() {
		if _, err := events.Encode(ev); err != nil {
			b.Fatal(err)
		}
	}
}

// timeEqual compares times by instant and location name and offset, as
// the former decoder's and the scanner's times must agree on both.
var timeEqual = cmp.Comparer(func(a, b time.Time) bool {
	an, ao := a.Zone()
	bn, bo := b.Zone()
	return a.Equal(b) && an == bn && ao == bo && a.Location().String() == b.Location().String()
})

// TestDecodeMatchesOracle decodes spoiled variants of valid payloads with
// the decoder and with the former one (decoding to maps), which must agree
// on every envelope, detail text included.
func TestDecodeMatchesOracle(t *testing.T) {
	base := string(mustJSON(t, payload()))
	full := string(benchPayload(t))
	inputs := []string{base, full, "", " ", "\u00a0", "null", " null ", "[]", `"x"`, "1", "true", "{}", "{", "}", `{"a":}`,
		`{"a":1,}`, `[1,]`, `{"a" 1}`, `{"a":1 "b":2}`, "01", "-", "1.", "1e", "1e+", "-0", "1.5e-3", `"\u12"`, `"\x"`,
		"\"a\tb\"", `{"id":"a\u0000b"}`, "tru", "nul", "falsey", `{"data":null}`, `{"data":1}`, `{"data":[]}`, `{"data":{},"data":"x"}`,
		`{"data":"x","data":{}}`, `{"\u0069d":"x","sp\u0065cversion":"1.0"}`, `{"data":{"attach\u006dents":[{"k\u0069nd":"a","b\u0063":1,"bc":2}]}}`,
		`{"data":{"attachments":[1,null,"x",[],{}]}}`, `{"data":{"attachments":[{"kind":"a"}],"attachments":[{"zz":1}]}}`,
		`{"data":{"zz":1,"aa":2,"zz":3,"attachments":{}}}`, `{"id":"\ud800","source":"\ud800\udc00","type":"\udc00\ud800"}`,
		`{"id":"\ud83d\ude00x\ud83dy\ud83d\u0041"}`, `{"data_base64":null}`, `{"datacontenttype":"application/json; charset=utf-8"}`,
		`{"datacontenttype":"APPLICATION/JSON"}`, `{"datacontenttype":"application/json;"}`,
		`{"source":"https://motcua.tayninh.gov.vn/api?x=1#f"}`, `{"source":"//host/p"}`, `{"source":":x"}`, `{"source":"a:b/c"}`,
		`{"source":"/a%2"}`, `{"source":"http://[::1"}`, `{"source":"/a\u00a0b"}`, `{"source":"/đường"}`,
		`{"data":{"claimed_status":-0}}`, `{"data":{"claimed_status":1E0}}`, `{"data":{"claimed_status":000}}`,
		`{"data":{"claimed_status":99999999999999999999}}`, `{"data":{"claimed_status":-9223372036854775809}}`,
		`{"data":{"claimed_status":123456789012345678}}`, `{"data":{"claimed_status":true}}`,
		`{"time":"2024-11-15T1:04:05Z","data":{"due":"2024-11-15T1:04:05Z","new_due":"2024-1-5"}}`,
		`{"data":{"due":"2024-11-5","new_due":"2024-11-155"}}`, `{"data":{"due":"1999-12-31","new_due":"0000-01-01T00:00:00Z"}}`,
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		`{"x":` + strings.Repeat("{\"a\":", 9999) + "1" + strings.Repeat("}", 9999) + "}",
		`{"x":` + strings.Repeat("{\"a\":", 10000) + "1" + strings.Repeat("}", 10000) + "}",
	}
	var many strings.Builder
	many.WriteString(`{"data":{"attachments":[`)
	for i := range 101 {
		if i > 0 {
			many.WriteString(",")
		}
		many.WriteString(`{"kind":"K"}`)
	}
	many.WriteString(`]}}`)
	inputs = append(inputs, many.String(), strings.Replace(many.String(), `{"kind":"K"},`, "", 1))
	// Every prefix of the payloads, and each with one byte changed.
	small := calendarPayload(t) // with short year files: each variant parses them
	data(small)["calendar"], data(small)["previous_calendar"] = "year: 2027\nsource: a\n", "year: 2027\nsource: b\nholidays: [{date: 2027-02-04, name: x}]"
	for _, p := range []string{base, full, string(mustJSON(t, small))} {
		for i := range len(p) {
			inputs = append(inputs, p[:i])
			for _, c := range []byte{'"', '\\', ' ', '0', 'x', ',', '}', ']', '{', '[', ':', 0, 0x7f, 0xc3} {
				inputs = append(inputs, p[:i]+string(c)+p[i+1:])
			}
		}
	}
	subjects := []string{testSubject, "hoso.events.motcua-tn", "hoso.events", "hoso.events.", "hoso.events..x", "x.events.a.b",
		"hoso.events.MotCua.000_00_12_H57-241106-0001", "hoso.events.motcua-tn.000_00_12_H57-241106-0001.x",
		"hoso.events.motcua-tn.000.00.12.H57-241106-0001", "hoso.events.motcua-tn.", "hoso.events.motcua-tn.000_00_12_H57-241106-0002"}
	for _, raw := range inputs {
		for _, pub := range []time.Time{published, {}} {
			got := events.Decode(testSubject, []byte(raw), 7, pub)
			want := events.OldDecode(testSubject, []byte(raw), 7, pub)
			if diff := cmp.Diff(want, got, timeEqual); diff != "" {
				t.Errorf("Decode(%.200q) differs from the former decoder (-old +new):\n%s", raw, diff)
			}
		}
	}
	for _, s := range subjects {
		for _, raw := range []string{base, "{}"} {
			got := events.Decode(s, []byte(raw), 7, published)
			want := events.OldDecode(s, []byte(raw), 7, published)
			if diff := cmp.Diff(want, got, timeEqual); diff != "" {
				t.Errorf("Decode(%q, %.80q) differs from the former decoder (-old +new):\n%s", s, raw, diff)
			}
		}
	}
}
