package engine_test

import (
	"testing"
	"time"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// FuzzDecodeDecide feeds arbitrary subjects and payloads through the codec
// and the decision against dossiers in every state: the engine must answer
// every message with exactly one outcome and never panic.
func FuzzDecodeDecide(f *testing.F) {
	sc := testutil.NewScenario(12, 1)
	for _, m := range sc.Messages {
		f.Add(m.Subject, m.Data)
	}
	f.Add("hoso.events.tayninh", []byte(`{}`))
	f.Add("hoso.events.tayninh.000_00_12_H57-251001-0001",
		[]byte(`{"specversion":"1.0","id":"x","source":"/a/tayninh","type":"vn.gov.hoso.assign","subject":"000.00.12.H57-251001-0001","time":"2025-10-01T09:00:00+07:00","data":{"procedure":"1.004227","agency":"H57","actor":"a","claimed_status":4,"departmnet":"x"}}`))
	cat, err := engine.LoadDefinitions("")
	if err != nil {
		f.Fatal(err)
	}
	var dossiers []*workflow.Dossier
	for _, s := range cat.Lookup("standard", 2).States {
		dossiers = append(dossiers, &workflow.Dossier{
			Code: "000.00.12.H57-251001-0001", Procedure: "1.004227", Definition: "standard", Version: 2,
			State: s.Name, Status: s.Status, Terminal: s.Terminal,
		})
	}
	f.Fuzz(func(t *testing.T, subject string, data []byte) {
		env := events.Decode(subject, data, 1, time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC))
		for _, d := range append(dossiers, nil) {
			e := env
			dec := cat.Decide(d, &e)
			if (dec.Entry == nil) == (dec.Rejection == nil) {
				t.Fatalf("Decide(%q) gave entry %v and rejection %v", data, dec.Entry, dec.Rejection)
			}
			if dec.Outcome.Seq != 1 || dec.Outcome.Kind == "" {
				t.Fatalf("Decide(%q) outcome %+v", data, dec.Outcome)
			}
		}
	})
}
