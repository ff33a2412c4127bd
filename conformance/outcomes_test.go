package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// connectSource connects to hoso's NATS server as a source's user, with
// the inbox prefix its user may receive replies on, as the contract tells
// a vendor to.
func connectSource(t *testing.T, h *hoso, token string) *nats.Conn {
	t.Helper()
	s := sources[token]
	nc, err := nats.Connect(h.NATSURL, nats.UserInfo(s.User, s.Password), nats.CustomInboxPrefix("_INBOX_"+token))
	if err != nil {
		t.Fatalf("connect as %s: %v", s.User, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// outcome is what a vendor reads of an outcome: the fields these tests
// check.
type outcome struct {
	Subject       string `json:"-"`
	MsgID         string `json:"-"`
	Kind          string `json:"kind"`
	Seq           uint64 `json:"seq"`
	EventID       string `json:"event_id"`
	Source        string `json:"source"`
	Dossier       string `json:"dossier"`
	Action        string `json:"action"`
	Status        int    `json:"status"`
	ClaimedStatus int    `json:"claimed_status"`
	Reason        string `json:"reason"`
	Due           string `json:"due"`
	HistoryIndex  *int   `json:"history_index"`
	EntryHash     string `json:"entry_hash"`
	Time          string `json:"time"`
}

// outcomeReader reads a source's outcomes through the one durable
// consumer its user may use, outcomes-<source>, filtered on its own
// outcomes.
type outcomeReader struct {
	t    *testing.T
	cons jetstream.Consumer
}

func newOutcomeReader(t *testing.T, nc *nats.Conn, token string) *outcomeReader {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cons, err := js.CreateOrUpdateConsumer(ctx, "HOSO_OUTCOMES", jetstream.ConsumerConfig{
		Durable:       "outcomes-" + token,
		FilterSubject: "hoso.outcomes.*." + token + ".>",
		AckPolicy:     jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatalf("create the consumer outcomes-%s: %v", token, err)
	}
	return &outcomeReader{t: t, cons: cons}
}

// next returns the next n outcomes, acking each, or fails the test when
// they do not come within 20 s.
func (r *outcomeReader) next(n int) []outcome {
	r.t.Helper()
	var out []outcome
	deadline := time.Now().Add(20 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		batch, err := r.cons.Fetch(n-len(out), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			r.t.Fatal(err)
		}
		for m := range batch.Messages() {
			var o outcome
			if err := json.Unmarshal(m.Data(), &o); err != nil {
				r.t.Fatalf("outcome on %s is not JSON: %v: %s", m.Subject(), err, m.Data())
			}
			o.Subject, o.MsgID = m.Subject(), m.Headers().Get("Nats-Msg-Id")
			if err := m.Ack(); err != nil {
				r.t.Fatal(err)
			}
			out = append(out, o)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			r.t.Fatal(err)
		}
	}
	if len(out) < n {
		r.t.Fatalf("%d outcomes within 20 s, want %d: %+v", len(out), n, out)
	}
	return out
}

// none checks that no further outcome arrives within a second.
func (r *outcomeReader) none() {
	r.t.Helper()
	batch, err := r.cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		r.t.Fatal(err)
	}
	for m := range batch.Messages() {
		r.t.Errorf("unexpected outcome on %s: %s", m.Subject(), m.Data())
		_ = m.Ack()
	}
}
