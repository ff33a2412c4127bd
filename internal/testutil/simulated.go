package testutil

import (
	"context"
	"testing"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/simulate"
)

// PublishSimulated publishes to a running instance the stream `hoso
// simulate --seed seed --dossiers n` publishes (with the shipped rules
// and the default faults), and waits until the instance has applied it.
// It returns the items, whose events name the dossiers, officers and
// actors of the stream.
func PublishSimulated(t testing.TB, in *Instance, seed int64, n int) []simulate.Item {
	t.Helper()
	cat, err := engine.DefaultRulesConfig().Load()
	if err != nil {
		t.Fatalf("load rules: %v", err)
	}
	cfg := simulate.DefaultConfig()
	cfg.Seed, cfg.Dossiers = seed, n
	items, _, err := simulate.Generate(cfg, cat)
	if err != nil {
		t.Fatalf("simulate.Generate: %v", err)
	}
	msgs := make([]Message, len(items))
	for i, it := range items {
		data := it.Raw
		if it.Event != nil {
			if data, err = events.Encode(it.Event); err != nil {
				t.Fatalf("encode item %d: %v", i, err)
			}
		}
		msgs[i] = Message{Subject: it.Subject, Data: data, MsgID: it.MsgID}
	}
	_, js := Connect(t, in.NATSURL)
	Publish(t, js, msgs)
	st, err := js.Stream(context.Background(), events.EventsStream)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	WaitApplied(t, in, info.State.LastSeq)
	return items
}
