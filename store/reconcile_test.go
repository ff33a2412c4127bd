package store

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hoso-vn/hoso/workflow"
)

func TestDossiersByCode(t *testing.T) {
	h := newHarness(t, nil)
	const n = lookupChunk + 10 // more than one read transaction
	var events []*workflow.Event
	for i := range n {
		code := fmt.Sprintf("000.00.12.H57-251001-%05d", i)
		events = append(events, event(code+"/1", "submit", code, i%1000))
	}
	h.apply(h.envelopes(events...))
	h.applyEach(standardFlow(code1, 0)...)

	ctx := context.Background()
	codes := []string{code1, "000.00.12.H57-999999-0000", code1}
	for i := n - 1; i >= 0; i -= 3 {
		codes = append(codes, fmt.Sprintf("000.00.12.H57-251001-%05d", i))
	}
	got, err := h.db.DossiersByCode(ctx, codes)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + (n+2)/3; len(got) != want {
		t.Fatalf("DossiersByCode(%d codes) found %d, want %d", len(codes), len(got), want)
	}
	if d := got[code1]; d == nil || d.Status != workflow.StatusReturned || !d.HasAttachment(workflow.AttachmentResultElectronic) {
		t.Fatalf("DossiersByCode()[%s] = %+v", code1, d)
	}
	if d := got["000.00.12.H57-251001-00001"]; d == nil || d.Status != workflow.StatusSubmitted || d.Code != "000.00.12.H57-251001-00001" {
		t.Fatalf("DossiersByCode()[...00001] = %+v", d)
	}
	if _, ok := got["000.00.12.H57-999999-0000"]; ok {
		t.Fatal("DossiersByCode() has an unknown code")
	}
	if got, err := h.db.DossiersByCode(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("DossiersByCode(nil) = %v, %v", got, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.db.DossiersByCode(cctx, codes); !errors.Is(err, context.Canceled) {
		t.Fatalf("DossiersByCode(canceled) = %v", err)
	}
}
