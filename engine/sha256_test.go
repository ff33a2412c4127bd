package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// TestSHA256Case sends the same receipt to two engines, one with the
// attachment's sha256 in lowercase hex and one in uppercase, as
// `sha256sum` and many Windows tools print it. Both are accepted, both
// stores keep the lowercase form, and the two history entries have the same
// hash: the receipt a vendor keeps does not depend on how a tool printed
// the digest.
func TestSHA256Case(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: skipped with -short")
	}
	const (
		code  = "000.00.12.H57-251001-0001"
		lower = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
		upper = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
	)
	type outcome struct {
		Kind      workflow.OutcomeKind `json:"kind"`
		MessageEN string               `json:"message_en"`
		EntryHash string               `json:"entry_hash"`
	}
	receipt := func(t *testing.T, digest string) (outcome, string) {
		in := testutil.Start(t, testutil.Config(t.TempDir()))
		_, js := testutil.Connect(t, in.NATSURL)
		payload := fmt.Sprintf(`{"specversion":"1.0","id":"ev-0001","source":"/motcua/tayninh",
 "type":"vn.gov.hoso.receive","subject":%q,"time":"2025-10-01T08:15:00+07:00",
 "data":{"procedure":"1.004227","agency":"H57","actor":"cb-0142","due":"2025-10-15",
 "attachments":[{"kind":"input_digitized","name":"don.pdf","sha256":%q}]}}`, code, digest)
		m := &nats.Msg{Subject: "hoso.events.tayninh.000_00_12_H57-251001-0001", Data: []byte(payload), Header: nats.Header{}}
		m.Header.Set(jetstream.MsgIDHeader, "ev-0001")
		if _, err := js.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		testutil.WaitOutcomes(t, js, 1, 30*time.Second)
		st, err := js.Stream(context.Background(), events.OutcomesStream)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := st.GetMsg(context.Background(), 1)
		if err != nil {
			t.Fatal(err)
		}
		var o outcome
		if err := json.Unmarshal(raw.Data, &o); err != nil {
			t.Fatal(err)
		}
		if o.Kind != workflow.OutcomeAccepted {
			t.Fatalf("receipt with sha256 %s: outcome %s (%s), want accepted", digest, o.Kind, o.MessageEN)
		}
		var d struct {
			History []struct {
				Hash        string `json:"hash"`
				Attachments []struct {
					SHA256 string `json:"sha256"`
				} `json:"attachments"`
			} `json:"history"`
		}
		testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/"+code, 200, &d)
		if len(d.History) != 1 || len(d.History[0].Attachments) != 1 || d.History[0].Hash != o.EntryHash {
			t.Fatalf("dossier history = %+v, want one entry with one attachment and hash %s", d.History, o.EntryHash)
		}
		var v struct {
			OK bool `json:"ok"`
		}
		testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/"+code+"/verify", 200, &v)
		if !v.OK {
			t.Errorf("verify of the dossier received with sha256 %s failed", digest)
		}
		return o, d.History[0].Attachments[0].SHA256
	}
	lo, loStored := receipt(t, lower)
	up, upStored := receipt(t, upper)
	if loStored != lower || upStored != lower {
		t.Errorf("stored sha256 = %s and %s, want both %s", loStored, upStored, lower)
	}
	if lo.EntryHash == "" || up.EntryHash != lo.EntryHash {
		t.Errorf("entry hash with uppercase sha256 = %s, with lowercase %s; want them equal", up.EntryHash, lo.EntryHash)
	}
	if strings.ToLower(up.EntryHash) != up.EntryHash {
		t.Errorf("entry hash %s is not lowercase", up.EntryHash)
	}
}
