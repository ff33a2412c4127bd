package events_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
)

// TestSetupRefusesWhatHosoCannotRunOn: a stream that would not keep the
// log (work-queue retention deletes what is acked) fails Setup with the
// difference named, and so does a replica count the deployment cannot
// hold; a single server gets one replica by default.
func TestSetupRefusesWhatHosoCannotRunOn(t *testing.T) {
	_, _, js := startJS(t)
	ctx := context.Background()
	if _, err := events.Setup(ctx, js, events.StreamConfig{Replicas: 3}); err == nil ||
		!strings.Contains(err.Error(), "HOSO_EVENTS with 3 replicas: the NATS deployment cannot hold them") || !strings.Contains(err.Error(), "--stream-replicas") {
		t.Errorf("Setup with 3 replicas on a server alone = %v, want it explained", err)
	}
	if _, err := events.Setup(ctx, js, events.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	if r := st.CachedInfo().Config.Replicas; r != 1 {
		t.Errorf("HOSO_EVENTS on a server alone has %d replicas, want 1", r)
	}

	_, _, js2 := startJS(t)
	if _, err := js2.CreateStream(ctx, jetstream.StreamConfig{Name: events.EventsStream, Subjects: []string{events.EventsSubject},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	_, err = events.Setup(ctx, js2, events.StreamConfig{})
	if err == nil || !strings.Contains(err.Error(), "HOSO_EVENTS has retention WorkQueue (hoso sets Limits): hoso cannot run on it as it is") {
		t.Errorf("Setup over a work-queue HOSO_EVENTS = %v, want it refused with the difference named", err)
	}
}
