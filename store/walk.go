package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/workflow"
)

// Every listing of dossiers (Dossiers, Deadlines, Due) is an indexWalk
// over one of the dossier indexes, or the dossiers bucket itself, with a
// dossierFilter on the records it reads; walk runs them all. An index key
// is a prefix naming the group walked (a status, an agency, a procedure;
// none for the due, overdue and received indexes), then a field of fixed
// length the walk is ordered by (a due time or a receipt date; none in
// the others), then the code. The cursor of a page names the key it ended
// at, in the form of its cursorCodec.

// ErrBadCursor is returned, wrapped, by Dossiers, Deadlines and Due for a
// cursor that is not of the form their walk makes.
var ErrBadCursor = errors.New("store: not a cursor of this list")

// ErrMissingRecord is returned, wrapped with the index and the key, by a
// listing that finds an index entry naming a record the file does not
// hold: the file is inconsistent (DB.VerifyStore reports the same entry).
var ErrMissingRecord = errors.New("store: an index entry names a missing record")

// cursorCodec is the form of the cursors of a walk: how the key a page
// ended at becomes the cursor a client holds, and back.
type cursorCodec int

const (
	// codeCursor is the code: the key after the walk's prefix (the
	// dossiers bucket and the status, agency and procedure indexes).
	codeCursor cursorCodec = iota
	// hexCursor is the hex of the key: the due time (8 bytes, big-endian
	// unix ns) and the code (the due and overdue indexes). A cursor
	// without a code names a time: the page after it starts at the first
	// key due at or after it, or, descending, before it.
	hexCursor
	// dateCodeCursor is the receipt date, receivedCursorSep and the code
	// (the received index).
	dateCodeCursor
)

// receivedCursorSep separates the date from the code in a cursor of the
// received index ("2025-10-01~000.00.12.H57-251001-0001"). The date has a
// fixed length, so the code may contain it too.
const receivedCursorSep = "~"

// encode returns the cursor of the key k of a walk over keys that start
// with prefix.
func (cc cursorCodec) encode(prefix, k []byte) string {
	k = k[len(prefix):]
	switch cc {
	case hexCursor:
		return hex.EncodeToString(k)
	case dateCodeCursor:
		return string(k[:receivedDateLen]) + receivedCursorSep + string(k[receivedDateLen:])
	}
	return string(k)
}

// decode returns the key the cursor s names in a walk over keys that
// start with prefix, nil for "" (the first page), or an error wrapping
// ErrBadCursor.
func (cc cursorCodec) decode(prefix []byte, s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	var rest []byte
	switch cc {
	case hexCursor:
		k, err := hex.DecodeString(s)
		if err != nil || len(k) < 8 {
			return nil, fmt.Errorf("cursor %q: %w", s, ErrBadCursor)
		}
		rest = k
	case dateCodeCursor:
		date, code, ok := strings.Cut(s, receivedCursorSep)
		if !ok || len(date) != receivedDateLen || code == "" {
			return nil, fmt.Errorf("cursor %q: %w", s, ErrBadCursor)
		}
		rest = []byte(date + code)
	default:
		rest = []byte(s)
	}
	return append(bytes.Clone(prefix), rest...), nil
}

// indexWalk is one listing of dossiers: which keys it visits, in which
// order, and which of the records they name it keeps.
type indexWalk struct {
	index  string        // the bucket's name, for errors
	bucket *bbolt.Bucket // the index, or the dossiers bucket itself
	prefix []byte        // every key of the walk starts with it
	field  int           // bytes between the prefix and the code: the due time or receipt date
	codec  cursorCodec
	desc   bool // from the last key to the first
	// from is, ascending without a cursor, the least field to start at
	// (nil: the first key of the prefix).
	from []byte
	// until is the greatest field kept (nil: no bound). Ascending, the
	// walk ends at the first key past it; descending, it starts at the
	// last key up to it and passes over keys past it (there are none
	// unless the cursor is past it).
	until  []byte
	filter dossierFilter
	// maxSkipped bounds how many records the filter refuses in one page:
	// at the last one the page ends, short, with its cursor. 0 is no
	// bound.
	maxSkipped int
}

// dossierFilter is what a walk checks on each record it reads. Zero
// fields keep every record.
type dossierFilter struct {
	status       workflow.Status
	agency       string
	procedure    string
	overdue      *bool  // in the overdue index (overdueKey), or not
	receivedFrom string // the first receipt date kept (receivedKey), "2006-01-02"
	receivedTo   string // the last receipt date kept
}

// keeps reports whether d passes every filter of f.
func (f *dossierFilter) keeps(d *workflow.Dossier) bool {
	if (f.status != 0 && d.Status != f.status) ||
		(f.agency != "" && d.Agency != f.agency) ||
		(f.procedure != "" && d.Procedure != f.procedure) ||
		(f.overdue != nil && (overdueKey(d) != nil) != *f.overdue) {
		return false
	}
	if f.receivedFrom == "" && f.receivedTo == "" {
		return true
	}
	rk := receivedKey(d)
	if rk == nil {
		return false
	}
	date := string(rk[:receivedDateLen])
	return (f.receivedFrom == "" || date >= f.receivedFrom) && (f.receivedTo == "" || date <= f.receivedTo)
}

// walk lists up to n dossiers of w after the cursor after, and returns
// the cursor of the next page ("" after the last). The next page exists
// when a record is kept after the n listed, or when maxSkipped records
// were refused.
func (b *buckets) walk(ctx context.Context, w *indexWalk, after string, n int) (list []workflow.Dossier, next string, err error) {
	cursor, err := w.codec.decode(w.prefix, after)
	if err != nil {
		return nil, "", err
	}
	c := w.bucket.Cursor()
	k, v, step := w.first(c, cursor)
	codeAt := len(w.prefix) + w.field
	var last []byte
	skipped := 0
	for i := 0; k != nil && bytes.HasPrefix(k, w.prefix); k, v = step() {
		if i++; i%ctxEvery == 0 && ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		if len(k) <= codeAt {
			return nil, "", fmt.Errorf("store: %s key %x is too short", w.index, k)
		}
		if w.until != nil && bytes.Compare(k[len(w.prefix):codeAt], w.until) > 0 {
			if w.desc {
				continue
			}
			break
		}
		code := k[codeAt:]
		if w.bucket != b.dossiers {
			if v = b.dossiers.Get(code); v == nil {
				return nil, "", fmt.Errorf("%s key %x names %q: %w", w.index, k, code, ErrMissingRecord)
			}
		}
		var d workflow.Dossier
		if err := decodeDossier(v, &d); err != nil {
			return nil, "", fmt.Errorf("dossier %q: %w", code, err)
		}
		if !w.filter.keeps(&d) {
			if skipped++; skipped == w.maxSkipped {
				return list, w.codec.encode(w.prefix, k), nil
			}
			continue
		}
		if len(list) == n {
			return list, w.codec.encode(w.prefix, last), nil
		}
		list = append(list, d)
		last = bytes.Clone(k)
	}
	return list, "", nil
}

// first positions c at the first key w visits, after the key cursor (nil
// for the first page), and returns it with the function that steps on.
func (w *indexWalk) first(c *bbolt.Cursor, cursor []byte) (k, v []byte, step func() ([]byte, []byte)) {
	if !w.desc {
		if cursor == nil {
			k, v = c.Seek(append(bytes.Clone(w.prefix), w.from...))
			return k, v, c.Next
		}
		if k, v = c.Seek(cursor); bytes.Equal(k, cursor) {
			k, v = c.Next()
		}
		return k, v, c.Next
	}
	start := cursor
	if start == nil {
		// The first key past the walk: past every key of prefix+until,
		// or of the prefix without until.
		start = successor(append(bytes.Clone(w.prefix), w.until...))
	}
	if start == nil {
		k, v = c.Last()
	} else if k, v = c.Seek(start); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	return k, v, c.Prev
}

// successor returns the least key that sorts after every key starting
// with p, reusing p's room, or nil when there is none (p is empty or all
// 0xff).
func successor(p []byte) []byte {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] != 0xff {
			p[i]++
			return p[:i+1]
		}
	}
	return nil
}
