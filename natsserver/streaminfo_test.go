package natsserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
)

// TestSourceReadsItsStreamInfo checks what a client library asks before
// it publishes: the CloudEvents Go SDK's JetStream sender reads the
// information of the stream it publishes to (nats.go's older API,
// JetStreamContext.StreamInfo; it creates the stream when that fails) or
// looks the stream up by subject (the jetstream package,
// StreamNameBySubject). A source's user may do both for HOSO_EVENTS, and
// still may not create, change or delete it.
func TestSourceReadsItsStreamInfo(t *testing.T) {
	srv, _, _, ejs := startUsersServer(t)
	setup(t, ejs)
	pe := &permErrors{}
	nc, err := nats.Connect(srv.ClientURL(), nats.UserInfo("tayninh-dvc", "tayninh-secret-1"),
		nats.CustomInboxPrefix(events.InboxPrefix("tayninh")), nats.ErrorHandler(pe.handler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()

	legacy, err := nc.JetStream(nats.MaxWait(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	info, err := legacy.StreamInfo(events.EventsStream)
	if err != nil {
		t.Fatalf("tayninh reads HOSO_EVENTS' information (nats.go JetStreamContext): %v", err)
	}
	if got := info.Config.Subjects; len(got) != 1 || got[0] != events.EventsSubject {
		t.Errorf("HOSO_EVENTS subjects = %v, want [%s]", got, events.EventsSubject)
	}

	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	name, err := js.StreamNameBySubject(ctx, "hoso.events.tayninh.000_00_12_H57-251001-0001")
	if err != nil || name != events.EventsStream {
		t.Fatalf("tayninh looks up the stream of its subject: %q, %v; want %s", name, err, events.EventsStream)
	}
	if _, err := js.Stream(ctx, events.EventsStream); err != nil {
		t.Errorf("tayninh reads HOSO_EVENTS' information (jetstream): %v", err)
	}

	// Reading is all: changing the stream is still refused.
	_, err = legacy.UpdateStream(&nats.StreamConfig{Name: events.EventsStream, Subjects: []string{events.EventsSubject}, MaxAge: time.Second})
	if err == nil {
		t.Fatal("tayninh changed HOSO_EVENTS")
	}
	_, err = legacy.AddStream(&nats.StreamConfig{Name: "TAYNINH", Subjects: []string{"tayninh.>"}})
	if err == nil {
		t.Fatal("tayninh created a stream")
	}
	// Nor may it read another source's events: no message get, direct
	// or not.
	for _, subj := range []string{"$JS.API.STREAM.MSG.GET." + events.EventsStream, "$JS.API.DIRECT.GET." + events.EventsStream} {
		if _, err := nc.Request(subj, []byte(`{"seq":1}`), 500*time.Millisecond); err == nil {
			t.Errorf("tayninh got an answer to %s", subj)
		}
	}
	waitFor(t, 5*time.Second, "permission violations for the stream changes and reads", func() bool {
		return pe.has(`Publish to "$JS.API.STREAM.UPDATE.HOSO_EVENTS"`) && pe.has(`Publish to "$JS.API.STREAM.CREATE.TAYNINH"`) &&
			pe.has(`Publish to "$JS.API.STREAM.MSG.GET.HOSO_EVENTS"`) && pe.has(`Publish to "$JS.API.DIRECT.GET.HOSO_EVENTS"`)
	})
	if got, err := ejs.Stream(t.Context(), events.EventsStream); err != nil || got.CachedInfo().Config.MaxAge != info.Config.MaxAge {
		t.Errorf("HOSO_EVENTS after the attempts: %v", err)
	}
	for _, s := range []string{"$JS.API.STREAM.INFO.HOSO_EVENTS", "$JS.API.STREAM.NAMES"} {
		if pe.has(`Publish to "` + s + `"`) {
			t.Errorf("%s was refused", s)
		}
	}
}
