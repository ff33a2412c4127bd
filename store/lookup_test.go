package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hoso-vn/hoso/workflow"
)

// schema6Stream is the stream testdata/schema6.db holds: written by the
// code of schema 6 before dossiers had lookup digests (commit 77497dc),
// by a harness applying these events in one batch. Never regenerate the
// file: it stands for the stores deployed before digests.
func schema6Stream() []*workflow.Event {
	var evs []*workflow.Event
	evs = append(evs, standardFlow("000.00.12.H57-250804-0001", 0)...)
	evs = append(evs, standardFlow("000.00.12.H57-250804-0002", 10)[:2]...)
	evs = append(evs, event("000.00.12.H57-250804-0003/1", "receive", "000.00.12.H57-250804-0003", 20,
		attach(workflow.AttachmentInputDigitized), due(t0.AddDate(0, 0, 10)), func(e *workflow.Event) { e.Channel = workflow.ChannelDesk }))
	// Rejected: resolve from received.
	evs = append(evs, event("000.00.12.H57-250804-0003/2", "resolve", "000.00.12.H57-250804-0003", 21))
	return evs
}

// withLookup sets data.lookup of an event to d.
func withLookup(d [32]byte) func(*workflow.Event) {
	return func(e *workflow.Event) { e.Lookup = d }
}

// digest returns a digest of the test key for the code and secret.
func digest(code, secret string) [32]byte {
	return workflow.LookupDigest([]byte("0123456789abcdef0123456789abcdef"), code, secret)
}

// TestSchema6StoreWithoutDigests opens a store written before lookup
// digests existed: it opens (upgraded to schema 7 in place, see
// TestUpgradeSchema6Fixture) and verifies, its dossiers have no
// digest, its records are those the current code writes for the same
// stream (the state hashes agree), and a new event gives a dossier its
// digest.
func TestSchema6StoreWithoutDigests(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "schema6.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "hoso.db")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	h := openAt(t, path, shippedCatalog(t))
	ctx := context.Background()
	for _, code := range []string{"000.00.12.H57-250804-0001", "000.00.12.H57-250804-0002", "000.00.12.H57-250804-0003"} {
		d, ok, err := h.db.Lookup(ctx, code)
		if err != nil || !ok || d.Code != code || d.Lookup != [32]byte{} {
			t.Errorf("Lookup(%q) = %q %x, %t, %v; want the dossier without a digest", code, d.Code, d.Lookup, ok, err)
		}
	}
	if d, ok, err := h.db.Lookup(ctx, "000.00.12.H57-250804-0004"); err != nil || ok {
		t.Errorf("Lookup(unknown) = %+v, %t, %v; want not found", d, ok, err)
	}
	checked, err := h.db.VerifyAll(ctx, func(r workflow.ChainReport) error {
		if !r.OK {
			t.Errorf("Verify(%s) = %+v", r.Dossier, r)
		}
		return nil
	})
	if err != nil || checked != 3 {
		t.Errorf("VerifyAll = %d, %v; want 3 dossiers", checked, err)
	}
	if fs, err := h.db.VerifyStore(ctx); err != nil || len(fs) != 0 {
		t.Errorf("VerifyStore = %v, %v", fs, err)
	}

	// The same stream applied by the current code gives the same state.
	fresh := newHarness(t, h.cat)
	fresh.apply(fresh.envelopes(schema6Stream()...))
	old, err := h.db.StateHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now, err := fresh.db.StateHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if old != now {
		t.Errorf("state hash of the schema 6 file %s, of the same stream applied now %s", old, now)
	}

	// An event with a digest gives the dossier one.
	h.seq = uint64(len(schema6Stream()))
	code := "000.00.12.H57-250804-0002"
	d := digest(code, "AB12CD34")
	h.applyEach(event(code+"/3", "transfer", code, 30, department("phong-kt"), withLookup(d)))
	if got, ok, err := h.db.Lookup(ctx, code); err != nil || !ok || got.Lookup != d {
		t.Errorf("Lookup(%q) after transfer with a digest = %x, %t, %v; want %x", code, got.Lookup, ok, err, d)
	}
	if r, err := h.db.Verify(ctx, code); err != nil || !r.OK {
		t.Errorf("Verify(%q) = %+v, %v", code, r, err)
	}
}

// lookupStream is two dossiers whose digests change: the first gets one
// at receipt, keeps it through an event without one, keeps it through a
// rejected event with another, and takes a new one from a reprinted
// receipt (a transfer); the second never has one.
func lookupStream() (evs []*workflow.Event, want map[string][32]byte) {
	a, b := "000.00.12.H57-250804-0101", "000.00.12.H57-250804-0102"
	first, second, third := digest(a, "1111"), digest(a, "2222"), digest(a, "3333")
	evs = []*workflow.Event{
		event(a+"/1", "receive", a, 0, attach(workflow.AttachmentInputDigitized), due(t0.AddDate(0, 0, 10)), withLookup(first)),
		event(b+"/1", "receive", b, 1, attach(workflow.AttachmentInputDigitized), due(t0.AddDate(0, 0, 10))),
		event(a+"/2", "assign", a, 2, department("p")),
		event(a+"/3", "return", a, 3, withLookup(second)), // rejected: return from processing
		event(a+"/4", "transfer", a, 4, department("q"), withLookup(third)),
		event(b+"/2", "assign", b, 5, department("p")),
	}
	return evs, map[string][32]byte{a: third, b: {}}
}

// TestLookupApplyAndRebuild: the store keeps the digest of the last
// accepted event that gave one, whatever the batches; a rebuild of the
// stream reproduces it, and the state hash covers it.
func TestLookupApplyAndRebuild(t *testing.T) {
	ctx := context.Background()
	evs, want := lookupStream()
	each := newHarness(t, nil)
	each.applyEach(evs...)
	whole := newHarness(t, nil)
	whole.apply(whole.envelopes(evs...))
	for code, d := range want {
		for name, h := range map[string]*harness{"event by event": each, "one batch": whole} {
			got, ok, err := h.db.Lookup(ctx, code)
			if err != nil || !ok || got.Lookup != d {
				t.Errorf("%s: Lookup(%q) = %x, %t, %v; want %x", name, code, got.Lookup, ok, err, d)
			}
			if r, err := h.db.Verify(ctx, code); err != nil || !r.OK {
				t.Errorf("%s: Verify(%q) = %+v, %v", name, code, r, err)
			}
			// The official read has it too: it is the record.
			if rec, err := h.db.Dossier(ctx, code); err != nil || rec.Lookup != d {
				t.Errorf("%s: Dossier(%q).Lookup = %x, %v; want %x", name, code, rec.Lookup, err, d)
			}
		}
	}
	h1, err := each.db.StateHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := whole.db.StateHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h1 != h2 {
		t.Errorf("state hashes of one stream in two batchings differ: %s, %s", h1, h2)
	}
	// Another digest on the last accepted event: the same history, another
	// state.
	other, _ := lookupStream()
	other[4].Lookup = digest(other[4].Dossier, "4444")
	diff := newHarness(t, nil)
	diff.apply(diff.envelopes(other...))
	h3, err := diff.db.StateHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h3 == h1 {
		t.Errorf("state hash %s is blind to the lookup digest", h3)
	}
	a := other[4].Dossier
	ea, _ := each.db.History(ctx, a)
	eb, _ := diff.db.History(ctx, a)
	if len(ea) != 3 || len(eb) != 3 || ea[2].Hash != eb[2].Hash {
		t.Errorf("history of %s: %d and %d entries, heads %x and %x; want the same 3 entries whatever the digest", a, len(ea), len(eb), ea[len(ea)-1].Hash, eb[len(eb)-1].Hash)
	}
}

// TestVerifyCatchesZeroDigest: a record flagging a digest of zeros (the
// none a digest can never be) does not decode, and verification says so.
func TestVerifyCatchesZeroDigest(t *testing.T) {
	h := newHarness(t, nil)
	evs, _ := lookupStream()
	h.apply(h.envelopes(evs...))
	code := evs[0].Dossier
	err := h.db.update(context.Background(), func(b *buckets) error {
		v := append([]byte(nil), b.dossiers.Get([]byte(code))...)
		clear(v[len(v)-32:])
		return b.dossiers.Put([]byte(code), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := h.db.Verify(context.Background(), code); !errors.Is(err, errBadRecord) {
		t.Errorf("Verify(%q) of a zeroed digest = %+v, %v; want errBadRecord", code, r, err)
	}
	if _, _, err := h.db.Lookup(context.Background(), code); !errors.Is(err, errBadRecord) {
		t.Errorf("Lookup(%q) of a zeroed digest = %v; want errBadRecord", code, err)
	}
	// Put it right so that the file check at cleanup passes.
	err = h.db.update(context.Background(), func(b *buckets) error {
		var d workflow.Dossier
		v := append([]byte(nil), b.dossiers.Get([]byte(code))...)
		d3 := digest(code, "3333")
		copy(v[len(v)-32:], d3[:])
		if err := decodeDossier(v, &d); err != nil {
			return err
		}
		return b.dossiers.Put([]byte(code), v)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkLookup reads one dossier of 100,000, each received with a
// lookup digest, as the public lookup does (Lookup), and as the official
// read does (Dossier), and a code no dossier has.
func BenchmarkLookup(b *testing.B) {
	const dossiers = 100_000
	db, err := Open(filepath.Join(b.TempDir(), "hoso.db"), Options{Catalog: shippedCatalog(b), NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	code := func(n int) string { return fmt.Sprintf("000.00.12.H57-%06d-%04d", n/10000, n%10000) }
	batch := make([]workflow.Envelope, 0, benchBatch)
	for n := range dossiers {
		c := code(n)
		e := event(c+"/1", "receive", c, 0, attach(workflow.AttachmentInputDigitized), due(t0.AddDate(0, 0, 10)), withLookup(digest(c, "AB12CD34")))
		batch = append(batch, workflow.Envelope{Seq: uint64(n + 1), Subject: "hoso.events.tayninh." + workflow.DossierToken(c), Published: e.Time, Event: e})
		if len(batch) == benchBatch || n == dossiers-1 {
			if res, err := db.Apply(ctx, batch); err != nil || res.Accepted != len(batch) {
				b.Fatalf("Apply = %+v, %v", res, err)
			}
			batch = batch[:0]
		}
	}
	codes := make([]string, 1024)
	for i := range codes {
		codes[i] = code(i * 97 % dossiers)
	}
	b.Run("Lookup", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			d, ok, err := db.Lookup(ctx, codes[i%len(codes)])
			if err != nil || !ok || d.Lookup == [32]byte{} {
				b.Fatalf("Lookup = %v, %v", ok, err)
			}
			i++
		}
	})
	b.Run("Dossier", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := db.Dossier(ctx, codes[i%len(codes)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, err := db.Lookup(ctx, "000.00.12.H57-999999-9999"); err != nil || ok {
				b.Fatalf("Lookup(unknown) = %v, %v", ok, err)
			}
		}
	})
}
