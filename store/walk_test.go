package store

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// TestListingsShareRules: Dossiers, Deadlines and Due walk their indexes
// with one walker, so a cursor not of their form is ErrBadCursor from each,
// and an index entry naming a dossier without a record is ErrMissingRecord
// from each, whichever index the listing walks.
func TestListingsShareRules(t *testing.T) {
	yes := true
	received := t0.Format(time.DateOnly)
	until := t0.AddDate(0, 0, 30)
	type listing struct {
		name string
		list func(ctx context.Context, db *DB, after string) error
	}
	listings := []listing{
		{"Dossiers overdue", func(ctx context.Context, db *DB, after string) error {
			_, _, err := db.Dossiers(ctx, workflow.DossierQuery{Overdue: &yes, After: after})
			return err
		}},
		{"Dossiers received", func(ctx context.Context, db *DB, after string) error {
			_, _, err := db.Dossiers(ctx, workflow.DossierQuery{ReceivedFrom: received, After: after})
			return err
		}},
		{"Dossiers of a status", func(ctx context.Context, db *DB, after string) error {
			_, _, err := db.Dossiers(ctx, workflow.DossierQuery{Status: workflow.StatusProcessing, After: after})
			return err
		}},
		{"Deadlines due", func(ctx context.Context, db *DB, after string) error {
			_, _, err := db.Deadlines(ctx, workflow.DeadlineQuery{After: after})
			return err
		}},
		{"Deadlines due, latest first", func(ctx context.Context, db *DB, after string) error {
			_, _, err := db.Deadlines(ctx, workflow.DeadlineQuery{Desc: true, Until: until, After: after})
			return err
		}},
		{"Deadlines overdue", func(ctx context.Context, db *DB, after string) error {
			_, _, err := db.Deadlines(ctx, workflow.DeadlineQuery{Overdue: true, After: after})
			return err
		}},
		{"Due", func(ctx context.Context, db *DB, after string) error {
			_, _, err := db.Due(ctx, until, after, 0)
			return err
		}},
	}

	// R-1's clock runs (due index); O-1 is overdue (overdue index). Both
	// are received on t0's day and in status 4.
	h := &harness{t: t, path: filepath.Join(t.TempDir(), "hoso.db"), cat: shippedCatalog(t)}
	h.open()
	t.Cleanup(func() { h.db.Close() })
	for i, code := range []string{"R-1", "O-1"} {
		h.applyEach(
			event(code+"/1", "receive", code, i, attach(workflow.AttachmentInputDigitized), due(t0.AddDate(0, 0, 5+i))),
			event(code+"/2", "assign", code, 10+i, department("p")),
		)
	}
	h.applyEach(expire("O-1", t0.AddDate(0, 0, 6), 60*24*7))
	rejected := h.apply([]workflow.Envelope{h.codecRejection(workflow.ReasonTokenMismatch, "R-1")})
	if rejected.Rejected != 1 {
		t.Fatalf("a token mismatch gave %+v, want one rejection", rejected)
	}
	listings = append(listings, listing{"Rejections of a dossier", func(ctx context.Context, db *DB, _ string) error {
		_, _, err := db.Rejections(ctx, workflow.RejectionQuery{Dossier: "R-1"})
		return err
	}})
	ctx := context.Background()

	// A cursor not of the walk's form (not hex, shorter than a due time,
	// without the separator): every listing whose cursors have a form
	// says so.
	for _, l := range listings {
		if err := l.list(ctx, h.db, ""); err != nil {
			t.Fatalf("%s of a consistent store: %v", l.name, err)
		}
		bad := "zz"
		if l.name == "Dossiers received" {
			bad = received // no separator and code
		}
		if l.name == "Dossiers of a status" || l.name == "Rejections of a dossier" {
			continue // any code is a cursor of the code order; a sequence is a number
		}
		if err := l.list(ctx, h.db, bad); !errors.Is(err, ErrBadCursor) {
			t.Errorf("%s after %q = %v, want ErrBadCursor", l.name, bad, err)
		}
		if err := l.list(ctx, h.db, "0011"); !errors.Is(err, ErrBadCursor) {
			t.Errorf("%s after %q = %v, want ErrBadCursor", l.name, "0011", err)
		}
	}

	// Their records gone, their index keys stay.
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	tamper(t, h.path, func(b *buckets) error {
		return errors.Join(b.dossiers.Delete([]byte("R-1")), b.dossiers.Delete([]byte("O-1")),
			b.rejections.Delete(seqKey(h.seq)))
	})
	h.open()
	for _, l := range listings {
		if err := l.list(ctx, h.db, ""); !errors.Is(err, ErrMissingRecord) {
			t.Errorf("%s with an index entry of a missing record = %v, want ErrMissingRecord", l.name, err)
		}
	}
}

// TestCursorCodecs: each codec decodes the cursor it encodes to the key
// it encoded, under the walk's prefix; "" is no cursor.
func TestCursorCodecs(t *testing.T) {
	dueKey := append([]byte{0, 0, 1, 2, 3, 4, 5, 6}, "000.00.12.H57-250804-0001"...)
	for _, c := range []struct {
		codec  cursorCodec
		prefix []byte
		key    []byte
		cursor string
	}{
		{codeCursor, nil, []byte("A-1"), "A-1"},
		{codeCursor, prefixKey("H57"), append(prefixKey("H57"), "A-1"...), "A-1"},
		{codeCursor, statusPrefix(workflow.StatusProcessing), append(statusPrefix(workflow.StatusProcessing), "A-1"...), "A-1"},
		{hexCursor, nil, dueKey, "0000010203040506" + "3030302e30302e31322e4835372d3235303830342d30303031"},
		{dateCodeCursor, nil, []byte("2025-08-04A~1"), "2025-08-04~A~1"},
	} {
		if got := c.codec.encode(c.prefix, c.key); got != c.cursor {
			t.Errorf("codec %d: encode(%q, %q) = %q, want %q", c.codec, c.prefix, c.key, got, c.cursor)
		}
		got, err := c.codec.decode(c.prefix, c.cursor)
		if err != nil || !bytes.Equal(got, c.key) {
			t.Errorf("codec %d: decode(%q, %q) = %q, %v, want %q", c.codec, c.prefix, c.cursor, got, err, c.key)
		}
		if k, err := c.codec.decode(c.prefix, ""); k != nil || err != nil {
			t.Errorf("codec %d: decode(%q, \"\") = %q, %v, want no cursor", c.codec, c.prefix, k, err)
		}
	}
}

// TestCursorOfATime: a hex cursor of 8 bytes names a due time without a
// code: ascending, the page after it starts at the first dossier due at
// or after it; descending, at the last due before it.
func TestCursorOfATime(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	for i, code := range []string{"A-1", "A-2", "A-3"} {
		h.applyEach(
			event(code+"/1", "receive", code, i, attach(workflow.AttachmentInputDigitized), due(t0.AddDate(0, 0, 5+i))),
			event(code+"/2", "assign", code, 10+i, department("p")),
		)
	}
	at := hexCursor.encode(nil, appendDueTime(t0.AddDate(0, 0, 6)))
	codes := func(list []workflow.Dossier, _ string, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range list {
			out = append(out, d.Code)
		}
		return out
	}
	if got := codes(h.db.Deadlines(ctx, workflow.DeadlineQuery{After: at})); !slices.Equal(got, []string{"A-2", "A-3"}) {
		t.Errorf("Deadlines after the time of A-2 = %v, want [A-2 A-3]", got)
	}
	if got := codes(h.db.Deadlines(ctx, workflow.DeadlineQuery{After: at, Desc: true})); !slices.Equal(got, []string{"A-1"}) {
		t.Errorf("Deadlines before the time of A-2, latest first = %v, want [A-1]", got)
	}
	if got := codes(h.db.Due(ctx, t0.AddDate(0, 0, 6), at, 0)); !slices.Equal(got, []string{"A-2"}) {
		t.Errorf("Due(A-2's due) after the time of A-2 = %v, want [A-2]", got)
	}
}

// appendDueTime returns the 8 bytes a due index key starts with.
func appendDueTime(t time.Time) []byte {
	k, _ := appendOverdueKey(nil, &workflow.Dossier{Overdue: true, Due: t, Status: workflow.StatusProcessing})
	return k
}
