package events_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
)

// TestGuardRemovesPushConsumer: a source, allowed to create its outcome
// consumer with its filter in the subject, makes it a push consumer that
// delivers into another source's event subjects (the server does not
// check a deliver subject against its creator's permissions). The guard
// removes it at once and says so.
func TestGuardRemovesPushConsumer(t *testing.T) {
	srv, _, engine, ejs := startUsersServer(t)
	setup(t, ejs)
	var mu sync.Mutex
	var removed []string
	g := events.NewGuard(engine, ejs, events.GuardConfig{Logger: testLogger(t), CheckInterval: time.Hour,
		OnRemove: func(stream, consumer, why string) {
			mu.Lock()
			removed = append(removed, stream+"/"+consumer+": "+why)
			mu.Unlock()
		}})
	run(t, g.Run)

	tay, err := nats.Connect(srv.ClientURL(), nats.UserInfo("tayninh-dvc", "tayninh-secret-1"), nats.CustomInboxPrefix(events.InboxPrefix("tayninh")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tay.Close)
	cons := events.OutcomeConsumer("tayninh")
	body := `{"stream_name":"HOSO_OUTCOMES","config":{"durable_name":"` + cons + `","filter_subject":"hoso.outcomes.*.tayninh.>","deliver_subject":"hoso.events.hanoi.000_00_12_H57-251001-0009","ack_policy":"none","deliver_policy":"all"}}`
	resp, err := tay.Request("$JS.API.CONSUMER.CREATE.HOSO_OUTCOMES."+cons+".hoso.outcomes.*.tayninh.>", []byte(body), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Error *struct{ Description string } `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil || r.Error != nil {
		t.Fatalf("the server refused the push consumer (%s): the test does not reproduce the hole", resp.Data)
	}
	waitFor(t, 5*time.Second, "the push consumer removed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(removed) > 0
	})
	if _, err := ejs.Consumer(t.Context(), events.OutcomesStream, cons); err == nil {
		t.Error("the push consumer is still there")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(removed) != 1 || !strings.Contains(removed[0], "push consumer") {
		t.Errorf("removals reported = %q, want the push consumer", removed)
	}
}

// TestGuardSweep: a sweep removes what may not be there and leaves what
// may: the engine's consumer, a source's pull consumer on its own
// outcomes (also narrowed to one dossier), anyone's pull consumer.
func TestGuardSweep(t *testing.T) {
	_, nc, js := startJS(t)
	setup(t, js)
	ctx := t.Context()
	keep := map[string]jetstream.ConsumerConfig{
		"tayninh": {Durable: events.OutcomeConsumer("tayninh"), FilterSubject: "hoso.outcomes.*.tayninh.>"},
		"one":     {Durable: events.OutcomeConsumer("hanoi"), FilterSubject: "hoso.outcomes.*.hanoi.000_00_12_H57-251001-0001"},
		"reader":  {Durable: "reader"},
	}
	drop := map[string]jetstream.ConsumerConfig{
		"other source": {Durable: events.OutcomeConsumer("camau"), FilterSubject: "hoso.outcomes.*.hanoi.>"},
		"every source": {Durable: events.OutcomeConsumer("dongnai")},
		"wider":        {Durable: events.OutcomeConsumer("angiang"), FilterSubject: "hoso.outcomes.>"},
		"two filters":  {Durable: events.OutcomeConsumer("kiengiang"), FilterSubjects: []string{"hoso.outcomes.*.kiengiang.>", "hoso.outcomes.*.hanoi.>"}},
		"push":         {Durable: "watcher", DeliverSubject: "somewhere.else"},
	}
	for _, m := range []map[string]jetstream.ConsumerConfig{keep, drop} {
		for what, cfg := range m {
			if _, err := js.CreateConsumer(ctx, events.OutcomesStream, cfg); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
	}
	var removed []string
	g := events.NewGuard(nc, js, events.GuardConfig{Logger: testLogger(t),
		OnRemove: func(_, consumer, _ string) { removed = append(removed, consumer) }})
	g.Sweep(ctx)
	for what, cfg := range keep {
		if _, err := js.Consumer(ctx, events.OutcomesStream, cfg.Durable); err != nil {
			t.Errorf("%s: removed (%v)", what, err)
		}
	}
	for what, cfg := range drop {
		if _, err := js.Consumer(ctx, events.OutcomesStream, cfg.Durable); err == nil {
			t.Errorf("%s: still there", what)
		}
	}
	if len(removed) != len(drop) {
		t.Errorf("removals reported: %v, want %d", removed, len(drop))
	}
	if _, err := js.Consumer(ctx, events.EventsStream, events.ConsumerName); err != nil {
		t.Errorf("the engine's consumer: %v", err)
	}
}
