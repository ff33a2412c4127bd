package events_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/events"
)

// takeOver sends what the attacker sent: the older consumer-create
// request, whose subject names only the stream, re-creating the engine's
// durable with a filter and an inactivity threshold of the attacker's.
func takeOver(t *testing.T, nc *nats.Conn, filter string) {
	t.Helper()
	body := fmt.Sprintf(`{"stream_name":%q,"config":{"name":%q,"deliver_policy":"all","ack_policy":"all","ack_wait":30000000000,"max_deliver":-1,"max_ack_pending":20000,"filter_subject":%q,"inactive_threshold":3600000000000}}`,
		events.EventsStream, events.ConsumerName, filter)
	resp, err := nc.Request("$JS.API.CONSUMER.CREATE."+events.EventsStream, []byte(body), 5*time.Second)
	if err != nil {
		t.Fatalf("the attacker's request: %v", err)
	}
	var r struct {
		Error *struct{ Description string } `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil || r.Error != nil {
		t.Fatalf("the attacker's request was refused (%s): the test does not reproduce the attack", resp.Data)
	}
}

// TestConsumerDefendsItsConfig: somebody re-creates the engine's durable
// consumer with a filter of theirs (the attack of a credential allowed
// $JS.API.CONSUMER.CREATE.>; on an open server, anyone). The consumer
// must notice, say so, restore its configuration and apply every event of
// the stream: none skipped, none twice.
func TestConsumerDefendsItsConfig(t *testing.T) {
	for _, tc := range []struct {
		name   string
		filter string // the attacker's: what the engine would still see
	}{
		{"skips chosen dossiers", "hoso.events.motcua-test.000_00_12_H57-241106-0001"},
		{"stops silently", "hoso.events.nobody.>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _, js := startJS(t)
			cons := setup(t, js)
			st := &memStore{}
			var mu sync.Mutex
			var drifts []string
			c := events.NewConsumer(js, cons, st, nil, events.ConsumerConfig{
				Logger:        testLogger(t),
				CheckInterval: 50 * time.Millisecond,
				OnDrift: func(what string) {
					mu.Lock()
					drifts = append(drifts, what)
					mu.Unlock()
				},
			})
			run(t, c.Run)
			publishEvents(t, js, 0, 100)
			waitFor(t, 10*time.Second, "the first 100 events applied", func() bool { return st.appliedSeq() == 100 })

			attacker, err := nats.Connect(srv.ClientURL())
			if err != nil {
				t.Fatal(err)
			}
			defer attacker.Close()
			takeOver(t, attacker, tc.filter)
			publishEvents(t, js, 100, 300)
			waitFor(t, 10*time.Second, "all 300 events applied", func() bool { return st.appliedSeq() == 300 })
			st.checkApplied(t, 300)

			mu.Lock()
			if len(drifts) == 0 {
				t.Error("the consumer did not report the change of its configuration")
			}
			mu.Unlock()
			waitFor(t, 5*time.Second, "the configuration restored", func() bool {
				info, err := cons.Info(t.Context())
				return err == nil && info.Config.FilterSubject == "" && info.Config.InactiveThreshold == 0
			})
			waitFor(t, 5*time.Second, "ready again", c.Ready)
		})
	}
}

// TestConsumerNeverSkipsOnRestart: the attack happened while the engine
// was stopped; the engine restarts from its applied sequence on the
// attacker's durable. The first delivery is past applied+1: the engine
// must not take it as the next event.
func TestConsumerNeverSkipsOnRestart(t *testing.T) {
	srv, _, js := startJS(t)
	cons := setup(t, js)
	st := &memStore{}
	c := events.NewConsumer(js, cons, st, nil, events.ConsumerConfig{Logger: testLogger(t)})
	stop := run(t, c.Run)
	publishEvents(t, js, 0, 50)
	waitFor(t, 10*time.Second, "50 events applied", func() bool { return st.appliedSeq() == 50 })
	stop()

	attacker, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer attacker.Close()
	takeOver(t, attacker, "hoso.events.motcua-test.000_00_12_H57-241106-0007")
	publishEvents(t, js, 50, 120)

	// The engine restarts as serve does: Setup, then a consumer from its
	// applied sequence.
	cons2 := setup(t, js)
	if cfg := cons2.CachedInfo().Config; cfg.FilterSubject != "" || cfg.InactiveThreshold != 0 {
		t.Errorf("after Setup the durable has filter %q and inactive threshold %v, want none", cfg.FilterSubject, cfg.InactiveThreshold)
	}
	c2 := events.NewConsumer(js, cons2, st, nil, events.ConsumerConfig{Logger: testLogger(t), StartSeq: 51})
	run(t, c2.Run)
	waitFor(t, 10*time.Second, "all 120 events applied", func() bool { return st.appliedSeq() == 120 })
	st.checkApplied(t, 120)
}

// TestConsumerAcceptsDeletedMessages: a jump in stream sequence over
// messages that are gone from the stream (deleted by an operator) is not
// a gap: there is nothing to apply.
func TestConsumerAcceptsDeletedMessages(t *testing.T) {
	_, _, js := startJS(t)
	cons := setup(t, js)
	publishEvents(t, js, 0, 20)
	str, err := js.Stream(t.Context(), events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{5, 6, 12} {
		if err := str.DeleteMsg(t.Context(), seq); err != nil {
			t.Fatal(err)
		}
	}
	st := &memStore{}
	var gaps []uint64
	var mu sync.Mutex
	c := events.NewConsumer(js, cons, st, nil, events.ConsumerConfig{Logger: testLogger(t),
		OnGap: func(from, to uint64) {
			mu.Lock()
			gaps = append(gaps, from, to)
			mu.Unlock()
		}})
	run(t, c.Run)
	waitFor(t, 10*time.Second, "the last event applied", func() bool { return st.appliedSeq() == 20 })
	if len(st.envs) != 17 {
		t.Errorf("applied %d envelopes, want the 17 left in the stream", len(st.envs))
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(gaps) != "[5 6 12 12]" {
		t.Errorf("gaps reported = %v, want [5 6 12 12] (from, to of each)", gaps)
	}
}
