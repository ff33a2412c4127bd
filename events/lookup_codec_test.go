package events_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// lookupHex is the digest of docs/contract.md's worked example.
const lookupHex = "517a0aeae5be370033877fcf1c6dbad84934db0e46c4a1d0a175b6d8d5cdd939"

// TestLookupCodec: data.lookup is optional, 64 hex digits of either case,
// stored as its bytes and written back in lowercase; anything else is
// malformed naming the field.
func TestLookupCodec(t *testing.T) {
	want := [32]byte{0x51, 0x7a, 0x0a, 0xea, 0xe5, 0xbe, 0x37, 0x00, 0x33, 0x87, 0x7f, 0xcf, 0x1c, 0x6d, 0xba, 0xd8,
		0x49, 0x34, 0xdb, 0x0e, 0x46, 0xc4, 0xa1, 0xd0, 0xa1, 0x75, 0xb6, 0xd8, 0xd5, 0xcd, 0xd9, 0x39}
	for _, v := range []string{lookupHex, strings.ToUpper(lookupHex)} {
		m := payload()
		data(m)["lookup"] = v
		env := events.Decode(testSubject, mustJSON(t, m), 1, published)
		if env.Rejection != nil || env.Event.Lookup != want {
			t.Fatalf("Decode(lookup %s) = %+v, %+v", v, env.Event, env.Rejection)
		}
		raw, err := events.Encode(env.Event)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), `"lookup":"`+lookupHex+`"`) {
			t.Errorf("Encode(lookup %s) = %s, want it in lowercase", v, raw)
		}
		if again := events.Decode(testSubject, raw, 1, published); again.Rejection != nil || again.Event.Lookup != want {
			t.Errorf("Decode(Encode(lookup)) = %+v, %+v", again.Event, again.Rejection)
		}
	}
	env := events.Decode(testSubject, mustJSON(t, payload()), 1, published)
	if env.Rejection != nil || env.Event.Lookup != ([32]byte{}) {
		t.Errorf("Decode(no lookup) = %+v, %+v", env.Event, env.Rejection)
	}
	if raw, _ := events.Encode(env.Event); strings.Contains(string(raw), "lookup") {
		t.Errorf("Encode(no lookup) = %s, want no data.lookup", raw)
	}
	for _, tc := range []struct {
		value  any
		detail string
	}{
		{lookupHex[:63], `data.lookup: "` + lookupHex[:63] + `": 63 characters, want 64 hex digits`},
		{lookupHex + "0", `data.lookup: "` + lookupHex},
		{"", `data.lookup: "": 0 characters, want 64 hex digits`},
		{lookupHex[:63] + "g", "data.lookup: \"" + lookupHex[:63] + "g\": not 64 hex digits"},
		{strings.Repeat("0", 64), "all zeros: not a digest"},
		{42, "data.lookup: want a string, got number"},
		{[]any{lookupHex}, "data.lookup: want a string, got array"},
	} {
		m := payload()
		data(m)["lookup"] = tc.value
		expectMalformed(t, "lookup "+strings.ReplaceAll(strings.TrimSpace(string(mustJSON(t, tc.value))), `"`, ""), testSubject, mustJSON(t, m), published, []string{tc.detail})
	}
}

// TestLookupOnlyOnDossierEvents: hoso's own events (deadline, calendar,
// period close) carry no data.lookup.
func TestLookupOnlyOnDossierEvents(t *testing.T) {
	deadline := payload()
	deadline["type"] = workflow.TypePrefix + workflow.DeadlineWarning
	deadline["source"] = "/hoso"
	data(deadline)["due"] = "2024-11-20T17:00:00+07:00"
	deadlineSubject := "hoso.events.hoso.000_00_12_H57-241106-0001"
	later := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) // after the calendar's and the period's times
	for _, c := range []struct {
		name, subject string
		m             map[string]any
	}{
		{"deadline warning", deadlineSubject, deadline},
		{"calendar", calendarSubject, calendarPayload(t)},
		{"period close", periodSubject, periodPayload()},
	} {
		if env := events.Decode(c.subject, mustJSON(t, c.m), 1, later); env.Rejection != nil {
			t.Fatalf("Decode(%s) = %v, want it read (the test's payload is wrong)", c.name, env.Rejection.Detail)
		}
		data(c.m)["lookup"] = lookupHex
		expectMalformed(t, c.name, c.subject, mustJSON(t, c.m), later, []string{"data.lookup: only an event of a one-stop-shop about a dossier carries it"})
	}
}
