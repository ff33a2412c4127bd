package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// TestServeDefendsItsConsumer attacks a running `hoso serve` as the
// attacker did: a raw request on the older consumer-create subject, whose
// body re-creates the engine's durable with a filter that lets only one
// dossier's events through (on the open first-run server, anyone may send
// it). Every event published afterwards must still be applied and
// answered exactly once, before and after a restart; the change shows in
// hoso_consumer_drift_total and is undone.
func TestServeDefendsItsConsumer(t *testing.T) {
	sc := newScenario(60, 2)
	dir := t.TempDir()
	in := startServe(t, dir)
	nc, js := connect(t, in.natsURL)
	half := len(sc.messages) / 2
	publish(t, js, sc.messages[:half])
	stored := stored(sc.messages[:half])
	waitOutcomes(t, js, uint64(stored), time.Minute)

	one := workflow.DossierToken(sc.messages[0].dossier(t))
	attack(t, nc, "hoso.events."+scenarioSource+"."+one)
	publish(t, js, sc.messages[half:])
	waitOutcomes(t, js, uint64(sc.stored()), time.Minute)
	if n := metricValue(t, in.httpURL, "hoso_consumer_drift_total"); n < 1 {
		t.Errorf("hoso_consumer_drift_total = %v after the attack, want at least 1", n)
	}
	getJSON(t, in.httpURL, "/readyz", http.StatusOK, nil)
	in.stop(t)

	// The durable as the attacker left it once more, with the engine
	// stopped: the restart must not skip either.
	second := startServe(t, dir)
	nc2, js2 := connect(t, second.natsURL)
	attack(t, nc2, "hoso.events."+scenarioSource+"."+one)
	second.stop(t)
	third := startServe(t, dir)
	_, js3 := connect(t, third.natsURL)
	waitOutcomes(t, js3, uint64(sc.stored()), time.Minute)
	readOutcomes(t, js3, sc.stored())
	third.stop(t)
	_ = js2
	checkStore(t, filepath.Join(dir, "hoso.db"), sc)
}

// attack re-creates the engine's durable through
// $JS.API.CONSUMER.CREATE.HOSO_EVENTS with the filter and an inactivity
// threshold, and fails the test if the server refuses it (the attack
// would then prove nothing).
func attack(t *testing.T, nc *nats.Conn, filter string) {
	t.Helper()
	body := fmt.Sprintf(`{"stream_name":%q,"config":{"name":%q,"deliver_policy":"all","ack_policy":"all","max_deliver":-1,"filter_subject":%q,"inactive_threshold":3600000000000}}`,
		events.EventsStream, events.ConsumerName, filter)
	resp, err := nc.Request("$JS.API.CONSUMER.CREATE."+events.EventsStream, []byte(body), 5*time.Second)
	if err != nil {
		t.Fatalf("the attacker's request: %v", err)
	}
	var r struct {
		Error *struct{ Description string } `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil || r.Error != nil {
		t.Fatalf("the attacker's request was refused (%s)", resp.Data)
	}
}

// dossier returns the dossier code the message's event names.
func (m message) dossier(t *testing.T) string {
	t.Helper()
	var ev struct {
		Subject string `json:"subject"`
	}
	if err := json.Unmarshal(m.data, &ev); err != nil || ev.Subject == "" {
		t.Fatalf("message %s has no dossier: %v", m.subject, err)
	}
	return ev.Subject
}

// metricValue returns the value of an unlabelled metric of the instance.
func metricValue(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("/metrics has no %s", name)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
