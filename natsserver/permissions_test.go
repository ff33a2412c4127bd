package natsserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
)

// jsRequest is one raw JetStream API request an attacker sends.
type jsRequest struct {
	subject string
	body    string
}

// consumerAttacks returns every JetStream API request that creates,
// updates, deletes, pauses, resets, unpins, steps down, pulls from or acks
// the consumer of the stream, in every subject form the server accepts:
// the older create subject carries the name (and a hostile configuration)
// only in its body.
func consumerAttacks(stream, consumer string) []jsRequest {
	hostile := func(extra string) string {
		return fmt.Sprintf(`{"stream_name":%q,"config":{"durable_name":%q,"name":%q,"deliver_policy":"all","ack_policy":"all","filter_subject":"hoso.events.nobody.>","inactive_threshold":5000000000%s}}`,
			stream, consumer, consumer, extra)
	}
	return []jsRequest{
		{"$JS.API.CONSUMER.CREATE." + stream, hostile("")},
		{"$JS.API.CONSUMER.CREATE." + stream, hostile(`,"deliver_subject":"hoso.events.nobody.x"`)},
		{"$JS.API.CONSUMER.CREATE." + stream + "." + consumer, hostile("")},
		{"$JS.API.CONSUMER.CREATE." + stream + "." + consumer + ".hoso.events.nobody.>", hostile("")},
		{"$JS.API.CONSUMER.DURABLE.CREATE." + stream + "." + consumer, hostile("")},
		{"$JS.API.CONSUMER.DELETE." + stream + "." + consumer, ""},
		{"$JS.API.CONSUMER.PAUSE." + stream + "." + consumer, `{"pause_until":"2100-01-01T00:00:00Z"}`},
		{"$JS.API.CONSUMER.RESET." + stream + "." + consumer, `{"seq":1000000}`},
		{"$JS.API.CONSUMER.UNPIN." + stream + "." + consumer, `{"group":"g"}`},
		{"$JS.API.CONSUMER.LEADER.STEPDOWN." + stream + "." + consumer, ""},
		{"$JS.API.CONSUMER.PEER.REMOVE." + stream + "." + consumer, `{"peer":"x"}`},
		{"$JS.API.CONSUMER.MSG.NEXT." + stream + "." + consumer, `{"batch":100,"expires":1000000000}`},
		{"$JS.ACK." + stream + "." + consumer + ".1.1.1.1.0", "+ACK"},
		{"$JS.ACK._.hash." + stream + "." + consumer + ".1.1.1.1.0.x", "+ACK"},
		{"$JS.FC." + stream + "." + consumer + ".x", ""},
	}
}

// streamAttacks returns every JetStream API request that creates,
// changes, empties, deletes, snapshots, restores or moves the stream.
func streamAttacks(stream string) []jsRequest {
	cfg := fmt.Sprintf(`{"name":%q,"subjects":["hoso.attacker.>"],"storage":"memory"}`, stream)
	return []jsRequest{
		{"$JS.API.STREAM.CREATE." + stream, cfg},
		{"$JS.API.STREAM.UPDATE." + stream, cfg},
		{"$JS.API.STREAM.DELETE." + stream, ""},
		{"$JS.API.STREAM.PURGE." + stream, ""},
		{"$JS.API.STREAM.MSG.DELETE." + stream, `{"seq":1}`},
		{"$JS.API.STREAM.SNAPSHOT." + stream, `{"deliver_subject":"_INBOX_x.snap"}`},
		{"$JS.API.STREAM.RESTORE." + stream, `{"config":` + cfg + `}`},
		{"$JS.API.STREAM.LEADER.STEPDOWN." + stream, ""},
		{"$JS.API.STREAM.PEER.REMOVE." + stream, `{"peer":"x"}`},
		{"$JS.API.ACCOUNT.PURGE.$G", ""},
	}
}

// TestPermissionMatrix plays the attacker holding the supervisors'
// credential, then a source's: with raw JetStream API requests through the
// official client, it tries every operation on every consumer of hoso's
// and of the sources, and every stream operation, and checks that the
// server refuses each (a permission violation for that very subject, and
// no API answer), and that the engine's consumer is as the engine left it.
func TestPermissionMatrix(t *testing.T) {
	srv, _, _, ejs := startUsersServer(t)
	ctx := t.Context()
	setup(t, ejs)
	replica := events.ReplicaConsumer("b")
	if _, err := events.Setup(ctx, ejs, events.StreamConfig{Consumer: replica}); err != nil {
		t.Fatal(err)
	}
	if _, err := events.NewReplica(ctx, ejs, events.ReplicaConfig{Name: "b", TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	hanoi, err := nats.Connect(srv.ClientURL(), nats.UserInfo("hanoi-dvc", "hanoi-secret-22"), nats.CustomInboxPrefix(events.InboxPrefix("hanoi")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hanoi.Close)
	hjs, _ := jetstream.New(hanoi)
	for _, src := range []struct {
		js     jetstream.JetStream
		source string
	}{{hjs, "hanoi"}, {ejs, "tayninh"}} {
		if _, err := src.js.CreateOrUpdateConsumer(ctx, events.OutcomesStream, jetstream.ConsumerConfig{
			Durable: events.OutcomeConsumer(src.source), FilterSubject: "hoso.outcomes.*." + src.source + ".>",
			AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
			t.Fatalf("outcome consumer of %s: %v", src.source, err)
		}
	}
	before := consumerConfigs(t, ejs)

	streams := []string{events.EventsStream, events.OutcomesStream, events.DeadLetterStream, "KV_" + events.ReplicasBucket}
	engineConsumers := []string{events.ConsumerName, replica}
	var supervisorAttacks, sourceAttacks []jsRequest
	for _, s := range streams {
		supervisorAttacks = append(supervisorAttacks, streamAttacks(s)...)
		sourceAttacks = append(sourceAttacks, streamAttacks(s)...)
		for _, c := range append(engineConsumers, events.OutcomeConsumer("tayninh"), events.OutcomeConsumer("hanoi"), "supervisors") {
			supervisorAttacks = append(supervisorAttacks, consumerAttacks(s, c)...)
		}
		for _, c := range append(engineConsumers, events.OutcomeConsumer("hanoi"), "tayninh") {
			sourceAttacks = append(sourceAttacks, consumerAttacks(s, c)...)
		}
	}
	// A source's own consumer only in the form that pins its filter,
	// never with another stream or the name in the body.
	own := events.OutcomeConsumer("tayninh")
	for _, a := range consumerAttacks(events.OutcomesStream, own) {
		switch {
		case strings.HasPrefix(a.subject, "$JS.API.CONSUMER.INFO."), strings.HasPrefix(a.subject, "$JS.API.CONSUMER.MSG.NEXT."),
			strings.HasPrefix(a.subject, "$JS.ACK."+events.OutcomesStream+"."+own+"."):
			continue // its own: allowed
		}
		sourceAttacks = append(sourceAttacks, a)
	}

	for _, who := range []struct {
		user, password, inbox string
		attacks               []jsRequest
	}{
		{"supervisors", "supervisors-secret-3", "supervisors", supervisorAttacks},
		{"tayninh-dvc", "tayninh-secret-1", "tayninh", sourceAttacks},
	} {
		t.Run(who.user, func(t *testing.T) {
			pe := &permErrors{}
			nc, err := nats.Connect(srv.ClientURL(), nats.UserInfo(who.user, who.password),
				nats.CustomInboxPrefix(events.InboxPrefix(who.inbox)), nats.ErrorHandler(pe.handler))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			replies := make(chan *nats.Msg, len(who.attacks))
			inbox := nc.NewRespInbox()
			sub, err := nc.ChanSubscribe(inbox+".*", replies)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Unsubscribe()
			for i, a := range who.attacks {
				if err := nc.PublishRequest(a.subject, fmt.Sprintf("%s.%d", inbox, i), []byte(a.body)); err != nil {
					t.Fatalf("send %s: %v", a.subject, err)
				}
			}
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(pe.missing(who.attacks)) > 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if m := pe.missing(who.attacks); len(m) > 0 {
				t.Errorf("%s: no permission violation for %d of %d requests:\n%s", who.user, len(m), len(who.attacks), strings.Join(m, "\n"))
			}
			// A round trip through the server after the last request:
			// any answer to an attack has arrived by now.
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			if _, err := jetstream.New(nc); err != nil {
				t.Fatal(err)
			}
			for len(replies) > 0 {
				m := <-replies
				var i int
				fmt.Sscanf(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:], "%d", &i)
				t.Errorf("%s: %s was answered: %s", who.user, who.attacks[i].subject, m.Data)
			}
		})
	}
	if diff := cmp.Diff(before, consumerConfigs(t, ejs)); diff != "" {
		t.Errorf("consumers changed under the attacks (-before +after):\n%s", diff)
	}
	for _, s := range streams[:3] {
		if _, err := ejs.Stream(ctx, s); err != nil {
			t.Errorf("stream %s after the attacks: %v", s, err)
		}
	}

	// What each may still do: the supervisors read, the source reads its
	// own outcomes.
	sup, err := nats.Connect(srv.ClientURL(), nats.UserInfo("supervisors", "supervisors-secret-3"), nats.CustomInboxPrefix(events.InboxPrefix("supervisors")))
	if err != nil {
		t.Fatal(err)
	}
	defer sup.Close()
	sjs, _ := jetstream.New(sup)
	if _, err := ejs.Publish(ctx, "hoso.events.tayninh.000_00_12_H57-251001-0001", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	str, err := sjs.Stream(ctx, events.EventsStream)
	if err != nil {
		t.Fatalf("supervisors' stream info: %v", err)
	}
	if _, err := str.GetMsg(ctx, 1); err != nil {
		t.Errorf("supervisors' message get: %v", err)
	}
	if _, err := sjs.Consumer(ctx, events.EventsStream, events.ConsumerName); err != nil {
		t.Errorf("supervisors' consumer info: %v", err)
	}
}

// missing returns the subjects of the requests for which no permission
// violation has been reported.
func (p *permErrors) missing(reqs []jsRequest) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := make(map[string]bool, len(p.errs))
	for _, e := range p.errs {
		if i := strings.Index(e, `Publish to "`); i >= 0 {
			s := e[i+len(`Publish to "`):]
			seen[strings.TrimSuffix(s, `"`)] = true
		}
	}
	var out []string
	for _, r := range reqs {
		if !seen[r.subject] {
			out = append(out, r.subject)
		}
	}
	return out
}

// consumerConfigs returns the configuration of every consumer of hoso's
// streams, by stream and name, as the engine sees them.
func consumerConfigs(t *testing.T, js jetstream.JetStream) map[string]string {
	t.Helper()
	out := map[string]string{}
	var mu sync.Mutex
	for _, s := range []string{events.EventsStream, events.OutcomesStream, events.DeadLetterStream} {
		str, err := js.Stream(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		l := str.ListConsumers(context.Background())
		for ci := range l.Info() {
			b, _ := json.Marshal(ci.Config)
			mu.Lock()
			out[s+"/"+ci.Name] = string(b)
			mu.Unlock()
		}
		if err := l.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
