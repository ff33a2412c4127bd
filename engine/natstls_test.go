package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// TestEngineOverTLS: an engine given the CA of a NATS server that takes
// only TLS clients (NATSCA, --nats-ca) connects and applies; without it,
// Open fails on the server's certificate.
func TestEngineOverTLS(t *testing.T) {
	url, ca := testutil.StartTLSNATS(t, t.TempDir())
	cfg := testutil.Config(t.TempDir())
	cfg.NATSURL = url
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	if e, err := engine.Open(ctx, cfg, nil); err == nil {
		e.Close()
		t.Fatal("an engine opened on a TLS server whose certificate it cannot check")
	} else if !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), "not connected to NATS") {
		t.Errorf("Open without the CA = %v, want the certificate refused", err)
	}
	cfg.NATSCA = ca
	receiptApplied(t, testutil.Start(t, cfg), url, nats.RootCAs(ca))
}

// TestEngineWithCreds: an engine given a credentials file (NATSCreds,
// --nats-creds) connects to a NATS server in operator mode and applies.
func TestEngineWithCreds(t *testing.T) {
	url, creds := testutil.StartCredsNATS(t, t.TempDir())
	cfg := testutil.Config(t.TempDir())
	cfg.NATSURL, cfg.NATSCreds = url, creds
	receiptApplied(t, testutil.Start(t, cfg), url, nats.UserCredentials(creds))
}

// receiptApplied publishes a receipt to the NATS server at url, connected
// with opts, and checks that the engine in accepted and applied it.
func receiptApplied(t *testing.T, in *testutil.Instance, url string, opts ...nats.Option) {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ev := &workflow.Event{ID: "receipt-1", SourceURI: "/motcua/tayninh", Source: "tayninh", Dossier: "000.00.12.H57-251001-0001",
		Action: "receive", Procedure: "1.004227", Agency: "H57", Actor: "cb-01", Time: time.Date(2025, 10, 1, 9, 0, 0, 0, workflow.Zone),
		Attachments: []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized, Name: "don.pdf"}}}
	if o, err := testutil.Emit(nc, ev, 10*time.Second); err != nil || o.Kind != workflow.OutcomeAccepted {
		t.Fatalf("receipt: %+v, %v", o, err)
	}
	var s api.EngineState
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/admin/state", 200, &s)
	if s.AppliedSeq != 1 {
		t.Errorf("applied sequence %d, want 1", s.AppliedSeq)
	}
}
