package engine_test

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
	"github.com/hoso-vn/hoso/internal/testutil"
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
	sc := testutil.NewScenario(60, 2)
	dir := t.TempDir()
	in := testutil.Start(t, testutil.Config(dir))
	nc, js := testutil.Connect(t, in.NATSURL)
	half := len(sc.Messages) / 2
	testutil.Publish(t, js, sc.Messages[:half])
	stored := testutil.StoredOf(sc.Messages[:half])
	testutil.WaitOutcomes(t, js, uint64(stored), time.Minute)

	one := workflow.DossierToken(sc.Messages[0].Dossier(t))
	attack(t, nc, "hoso.events."+testutil.ScenarioSource+"."+one)
	testutil.Publish(t, js, sc.Messages[half:])
	testutil.WaitOutcomes(t, js, uint64(sc.Stored()), time.Minute)
	if n := metricValue(t, in.HTTPURL, "hoso_consumer_drift_total"); n < 1 {
		t.Errorf("hoso_consumer_drift_total = %v after the attack, want at least 1", n)
	}
	testutil.GetJSON(t, in.HTTPURL, "/readyz", http.StatusOK, nil)
	in.Stop(t)

	// The durable as the attacker left it once more, with the engine
	// stopped: the restart must not skip either.
	second := testutil.Start(t, testutil.Config(dir))
	nc2, js2 := testutil.Connect(t, second.NATSURL)
	attack(t, nc2, "hoso.events."+testutil.ScenarioSource+"."+one)
	second.Stop(t)
	third := testutil.Start(t, testutil.Config(dir))
	_, js3 := testutil.Connect(t, third.NATSURL)
	testutil.WaitOutcomes(t, js3, uint64(sc.Stored()), time.Minute)
	testutil.ReadOutcomes(t, js3, sc.Stored())
	third.Stop(t)
	_ = js2
	testutil.CheckStore(t, filepath.Join(dir, "hoso.db"), sc)
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
