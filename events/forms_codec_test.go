package events_test

import (
	"testing"
	"time"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// TestDecodeContentTypes pins the datacontenttype values the contract
// accepts: absent, or the media type application/json in any case, with
// parameters; anything else is malformed.
func TestDecodeContentTypes(t *testing.T) {
	tests := []struct {
		value any // nil: absent
		ok    bool
	}{
		{nil, true},
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"Application/JSON", true},
		{"text/plain", false},
		{"application/cloudevents+json", false},
		{"application/xml", false},
		{"", false},
	}
	for _, tt := range tests {
		m := payload()
		if tt.value != nil {
			m["datacontenttype"] = tt.value
		}
		env := events.Decode(testSubject, mustJSON(t, m), 1, published)
		if got := env.Event != nil; got != tt.ok {
			t.Errorf("Decode(datacontenttype %v) accepted = %v (%v), want %v", tt.value, got, env.Rejection, tt.ok)
		}
	}
}

// TestDecodeZones pins which fields are read in Vietnam's time when they
// have no zone: data.due and data.new_due written as a date YYYY-MM-DD.
// A time of day without a zone is refused in every field, and time and
// data.entered must be RFC 3339 times with their offset.
func TestDecodeZones(t *testing.T) {
	vn := time.FixedZone("UTC+7", 7*3600)
	tests := []struct {
		name  string
		spoil func(m map[string]any)
		due   time.Time // the decoded data.due, when accepted and set
	}{
		{name: "due date", spoil: func(m map[string]any) { data(m)["due"] = "2024-11-15" },
			due: time.Date(2024, 11, 14, 17, 0, 0, 0, time.UTC)}, // midnight of the 15th in Vietnam
		{name: "due with offset", spoil: func(m map[string]any) { data(m)["due"] = "2024-11-15T17:00:00+07:00" },
			due: time.Date(2024, 11, 15, 10, 0, 0, 0, time.UTC)},
		{name: "due time without zone", spoil: func(m map[string]any) { data(m)["due"] = "2024-11-15T17:00:00" }},
		{name: "new_due time without zone", spoil: func(m map[string]any) { data(m)["new_due"] = "2024-11-20T17:00:00" }},
		{name: "time without zone", spoil: func(m map[string]any) { m["time"] = "2024-11-06T08:30:00" }},
		{name: "time as a date", spoil: func(m map[string]any) { m["time"] = "2024-11-06" }},
		{name: "entered without zone", spoil: func(m map[string]any) { data(m)["entered"] = "2024-11-06T09:00:00" }},
		{name: "entered as a date", spoil: func(m map[string]any) { data(m)["entered"] = "2024-11-07" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := payload()
			tt.spoil(m)
			env := events.Decode(testSubject, mustJSON(t, m), 1, published)
			if tt.due.IsZero() {
				if env.Rejection == nil || env.Rejection.Reason != workflow.ReasonMalformed {
					t.Fatalf("Decode = event %+v, rejection %v; want malformed", env.Event, env.Rejection)
				}
				return
			}
			if env.Event == nil {
				t.Fatalf("Decode rejected: %s", env.Rejection.MessageEN())
			}
			if !env.Event.Due.Equal(tt.due) {
				t.Errorf("Decode due = %s, want %s (%s)", env.Event.Due, tt.due.UTC(), tt.due.In(vn))
			}
		})
	}
}
