package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/workflow"
)

// t0 is when the test dossiers start: under standard@2 (from 2025-07-01).
var t0 = time.Date(2025, 8, 4, 8, 0, 0, 0, workflow.Zone)

// shippedCatalog loads the shipped definitions.
func shippedCatalog(t testing.TB) *workflow.Catalog {
	t.Helper()
	c, err := workflow.Load(configs.FS, configs.DefinitionsDir)
	if err != nil {
		t.Fatalf("load shipped definitions: %v", err)
	}
	return c
}

// harness is a store in a temporary directory and the stream feeding it.
type harness struct {
	t    testing.TB
	db   *DB
	path string
	cat  *workflow.Catalog
	seq  uint64 // sequence of the last envelope built
}

// newHarness opens a store over cat (the shipped catalog when nil). When
// the test ends it closes the store and checks the file (see checkFile).
func newHarness(t testing.TB, cat *workflow.Catalog) *harness {
	t.Helper()
	if cat == nil {
		cat = shippedCatalog(t)
	}
	return openAt(t, filepath.Join(t.TempDir(), "hoso.db"), cat)
}

// openAt opens the store at path in a harness. When the test ends it
// closes the store and checks the file (see checkFile).
func openAt(t testing.TB, path string, cat *workflow.Catalog) *harness {
	t.Helper()
	h := &harness{t: t, path: path, cat: cat}
	h.open()
	t.Cleanup(func() {
		if err := h.db.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		if !t.Failed() {
			checkFile(t, h.path, h.cat, true)
		}
	})
	return h
}

func (h *harness) open() {
	h.t.Helper()
	db, err := Open(h.path, Options{Catalog: h.cat, NoSync: true})
	if err != nil {
		h.t.Fatalf("Open(%q) = %v", h.path, err)
	}
	h.db = db
}

// reopen closes and opens the store again.
func (h *harness) reopen() {
	h.t.Helper()
	if err := h.db.Close(); err != nil {
		h.t.Fatalf("Close() = %v", err)
	}
	h.open()
}

// envelopes wraps events in envelopes of the next stream sequences.
func (h *harness) envelopes(events ...*workflow.Event) []workflow.Envelope {
	envs := make([]workflow.Envelope, len(events))
	for i, e := range events {
		h.seq++
		envs[i] = workflow.Envelope{
			Seq:       h.seq,
			Subject:   "hoso.events." + e.Source + "." + workflow.DossierToken(e.Dossier),
			Published: t0.Add(time.Duration(h.seq) * time.Second),
			Event:     e,
		}
	}
	return envs
}

// codecRejection builds the envelope of a message the codec could not read.
func (h *harness) codecRejection(reason workflow.Reason, dossier string) workflow.Envelope {
	h.seq++
	subject := "hoso.events.tayninh." + workflow.DossierToken(dossier)
	published := t0.Add(time.Duration(h.seq) * time.Second)
	r := workflow.Reject(h.seq, subject, published, reason, "test")
	r.Dossier = dossier
	return workflow.Envelope{Seq: h.seq, Subject: subject, Published: published, Rejection: r}
}

// apply applies a batch and fails the test on error.
func (h *harness) apply(batch []workflow.Envelope) workflow.BatchResult {
	h.t.Helper()
	res, err := h.db.Apply(context.Background(), batch)
	if err != nil {
		h.t.Fatalf("Apply(%d envelopes) = %v", len(batch), err)
	}
	return res
}

// applyEach applies each event as a batch of its own.
func (h *harness) applyEach(events ...*workflow.Event) []workflow.BatchResult {
	h.t.Helper()
	var out []workflow.BatchResult
	for _, env := range h.envelopes(events...) {
		out = append(out, h.apply([]workflow.Envelope{env}))
	}
	return out
}

// event builds an event of the test source and procedure, minute minutes
// after t0, changed by opts.
func event(id, action, code string, minute int, opts ...func(*workflow.Event)) *workflow.Event {
	e := &workflow.Event{
		ID:        id,
		SourceURI: "/motcua/tayninh",
		Source:    "tayninh",
		Action:    action,
		Dossier:   code,
		Time:      t0.Add(time.Duration(minute) * time.Minute),
		Procedure: "1.004227",
		Agency:    "000.00.12.H57",
		Actor:     "canbo-01",
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

func attach(kinds ...string) func(*workflow.Event) {
	return func(e *workflow.Event) {
		for _, k := range kinds {
			e.Attachments = append(e.Attachments, workflow.Attachment{Kind: k, Name: k + ".pdf"})
		}
	}
}

func department(d string) func(*workflow.Event) {
	return func(e *workflow.Event) { e.Department = d }
}

func due(t time.Time) func(*workflow.Event) { return func(e *workflow.Event) { e.Due = t } }

func claims(s workflow.Status) func(*workflow.Event) {
	return func(e *workflow.Event) { e.ClaimedStatus = s }
}

func agency(a string) func(*workflow.Event) { return func(e *workflow.Event) { e.Agency = a } }

func procedure(p string) func(*workflow.Event) { return func(e *workflow.Event) { e.Procedure = p } }

// standardFlow returns the five events that take a dossier through the
// standard flow: received at the counter, assigned, transferred, resolved
// with its electronic result, returned. Event ids are code/n; minutes
// start at minute. opts apply to every event.
func standardFlow(code string, minute int, opts ...func(*workflow.Event)) []*workflow.Event {
	id := func(n int) string { return fmt.Sprintf("%s/%d", code, n) }
	with := func(more ...func(*workflow.Event)) []func(*workflow.Event) {
		return append(append([]func(*workflow.Event){}, opts...), more...)
	}
	return []*workflow.Event{
		event(id(1), "receive", code, minute, with(attach(workflow.AttachmentInputDigitized), due(t0.AddDate(0, 0, 10)))...),
		event(id(2), "assign", code, minute+1, with(department("phong-tn"))...),
		event(id(3), "transfer", code, minute+2, with(department("phong-kt"))...),
		event(id(4), "resolve", code, minute+3, with(attach(workflow.AttachmentResultElectronic))...),
		event(id(5), "return", code, minute+4, opts...),
	}
}
