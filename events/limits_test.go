package events_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
)

// TestStreamLimits: one source flooding one dossier's subject, or its
// own dead letters, is refused or trimmed there, and the other sources
// and dossiers go on; a stream set up by an earlier version takes the
// limits and keeps its messages.
func TestStreamLimits(t *testing.T) {
	_, _, js := startJS(t)
	ctx := t.Context()
	// As an earlier version set it up: no limits. A message already in.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: events.EventsStream, Subjects: []string{events.EventsSubject},
		Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	pub := func(subject string) error {
		_, err := js.Publish(ctx, subject, []byte(`{}`))
		return err
	}
	if err := pub("hoso.events.flood.D1"); err != nil {
		t.Fatal(err)
	}
	// An existing stream keeps its configuration unless the operator asks
	// hoso to set its own: the difference is reported.
	var reported []string
	report := func(stream string, diffs []events.StreamDifference, updated bool) {
		for _, d := range diffs {
			reported = append(reported, fmt.Sprintf("%s %s updated=%v", stream, d, updated))
		}
	}
	if _, err := events.Setup(ctx, js, events.StreamConfig{MaxEventsPerDossier: 5, DeadLettersPerSource: 3, OnDifference: report}); err != nil {
		t.Fatalf("Setup over the earlier stream: %v", err)
	}
	if want := events.EventsStream + " max_msgs_per_subject unlimited (hoso sets 5) updated=false"; !slices.Contains(reported, want) {
		t.Errorf("Setup over the earlier stream reported %q, want %q", reported, want)
	}
	if st, err := js.Stream(ctx, events.EventsStream); err != nil || st.CachedInfo().Config.MaxMsgsPerSubject > 0 {
		t.Fatalf("Setup changed the existing stream without being asked (err %v)", err)
	}
	reported = nil
	if _, err := events.Setup(ctx, js, events.StreamConfig{MaxEventsPerDossier: 5, DeadLettersPerSource: 3, UpdateStreams: true, OnDifference: report}); err != nil {
		t.Fatalf("Setup --update-streams over the earlier stream: %v", err)
	}
	if want := events.EventsStream + " max_msgs_per_subject unlimited (hoso sets 5) updated=true"; !slices.Contains(reported, want) {
		t.Errorf("Setup --update-streams reported %q, want %q", reported, want)
	}
	for i := 2; i <= 5; i++ {
		if err := pub("hoso.events.flood.D1"); err != nil {
			t.Fatalf("event %d of the dossier: %v", i, err)
		}
	}
	err := pub("hoso.events.flood.D1")
	if err == nil || !strings.Contains(err.Error(), "maximum messages per subject exceeded") {
		t.Fatalf("the 6th event of one dossier: %v, want it refused at publish", err)
	}
	for _, s := range []string{"hoso.events.flood.D2", "hoso.events.other.D1"} {
		if err := pub(s); err != nil {
			t.Errorf("publish %s beside the flood: %v", s, err)
		}
	}
	str, err := js.Stream(ctx, events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	if n := str.CachedInfo().State.Msgs; n != 7 {
		t.Errorf("events stream holds %d messages, want 7: none evicted", n)
	}

	for i := range 5 {
		if err := pub("hoso.deadletter.flood"); err != nil {
			t.Fatalf("dead letter %d: %v", i, err)
		}
	}
	for range 2 {
		if err := pub("hoso.deadletter.other"); err != nil {
			t.Fatal(err)
		}
	}
	dl, err := js.Stream(ctx, events.DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := dl.Info(ctx, jetstream.WithSubjectFilter(">"))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.State.Subjects; got["hoso.deadletter.flood"] != 3 || got["hoso.deadletter.other"] != 2 {
		t.Errorf("dead letters by source = %v, want the flood's newest 3 and the other's 2", got)
	}
}
