package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/workflow"
)

// ctxEvery is how many keys a scan reads between checks of its context.
const ctxEvery = 256

// verifyChunk is how many dossiers VerifyAll verifies per round.
const verifyChunk = 256

// Dossier returns the dossier with the code, or an error wrapping
// workflow.ErrNotFound.
func (db *DB) Dossier(ctx context.Context, code string) (*workflow.Dossier, error) {
	var d *workflow.Dossier
	err := db.view(ctx, func(b *buckets) error {
		var err error
		d, err = b.dossier(code)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dossier %q: %w", code, err)
	}
	return d, nil
}

// History returns the history entries of the dossier in index order, or
// an error wrapping workflow.ErrNotFound when there is no such dossier.
func (db *DB) History(ctx context.Context, code string) ([]workflow.HistoryEntry, error) {
	var entries []workflow.HistoryEntry
	err := db.view(ctx, func(b *buckets) error {
		if b.dossiers.Get([]byte(code)) == nil {
			return workflow.ErrNotFound
		}
		var err error
		entries, err = b.historyOf(code)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("history of %q: %w", code, err)
	}
	return entries, nil
}

// DossierHistory returns the dossier and its history entries, read in one
// transaction so that they agree, or an error wrapping
// workflow.ErrNotFound.
func (db *DB) DossierHistory(ctx context.Context, code string) (*workflow.Dossier, []workflow.HistoryEntry, error) {
	var (
		d       *workflow.Dossier
		entries []workflow.HistoryEntry
	)
	err := db.view(ctx, func(b *buckets) error {
		var err error
		if d, err = b.dossier(code); err != nil {
			return err
		}
		entries, err = b.historyOf(code)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("dossier %q with history: %w", code, err)
	}
	return d, entries, nil
}

// VerifyAll verifies every dossier in code order, as Verify does (its
// chain, its record against its history, its entries' sequences and
// dedupe keys, its counts), and calls fn with each report, outside any
// transaction. It verifies a few hundred dossiers per
// round, each in a read transaction of its own, so that a long audit
// never keeps one open: each dossier is checked against its own history
// as of one commit, but dossiers that Apply creates during the audit may
// or may not be visited. A round spreads its dossiers over up to
// GOMAXPROCS goroutines. It stops at the first error of fn or ctx and
// returns how many dossiers fn was called with.
func (db *DB) VerifyAll(ctx context.Context, fn func(workflow.ChainReport) error) (checked int, err error) {
	db.prefetch()
	after := ""
	for {
		reports, more, err := db.verifyAfter(ctx, after, verifyChunk)
		if err != nil {
			return checked, fmt.Errorf("verify all: %w", err)
		}
		for _, r := range reports {
			if err := fn(r); err != nil {
				return checked, err
			}
			checked++
		}
		if !more {
			return checked, nil
		}
		after = reports[len(reports)-1].Dossier
	}
}

// VerifyPage verifies, as Verify does, up to max dossiers (default
// DefaultLimit, capped at MaxLimit) after the code after ("" for the
// first), in code order, and returns their reports and the cursor of the
// next page: the code of the last dossier verified, "" after the last
// page. Each dossier is verified in a read transaction with its history,
// as of one commit. It is VerifyAll one page at a time, for clients that
// audit a store through the API.
func (db *DB) VerifyPage(ctx context.Context, after string, max int) (reports []workflow.ChainReport, next string, err error) {
	if after == "" {
		db.prefetch() // a full pass starts here
	}
	reports, more, err := db.verifyAfter(ctx, after, limit(max))
	if err != nil {
		return nil, "", fmt.Errorf("verify page after %q: %w", after, err)
	}
	if more {
		next = reports[len(reports)-1].Dossier
	}
	return reports, next, nil
}

// verifyMinShare is the fewest dossiers verifyAfter gives a goroutine:
// below it, another goroutine and transaction cost more than they save.
const verifyMinShare = 32

// verifyAfter verifies up to n dossiers after the code after, in code
// order, and reports whether more dossiers follow. It lists their codes
// in one read transaction, then verifies them in up to GOMAXPROCS
// goroutines, each over a run of consecutive codes in a read transaction
// of its own; it returns once they have all ended.
func (db *DB) verifyAfter(ctx context.Context, after string, n int) (reports []workflow.ChainReport, more bool, err error) {
	var codes []string
	err = db.view(ctx, func(b *buckets) error {
		c := b.dossiers.Cursor()
		// One more than asked says whether more follow.
		for k, _ := seekAfter(c, nil, after); k != nil && len(codes) <= n; k, _ = c.Next() {
			codes = append(codes, string(k))
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if len(codes) > n {
		codes, more = codes[:n], true
	}
	reports = make([]workflow.ChainReport, len(codes))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(codes)/verifyMinShare))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(codes)/workers, (w+1)*len(codes)/workers
		wg.Go(func() {
			errs[w] = db.view(ctx, func(b *buckets) error {
				return b.verifyCodes(ctx, db.Catalog(), codes[lo:hi], reports[lo:hi])
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, false, err
	}
	return reports, more, nil
}

// verifyCodes verifies the dossiers of codes into reports.
func (b *buckets) verifyCodes(ctx context.Context, cat *workflow.Catalog, codes []string, reports []workflow.ChainReport) error {
	applied, err := appliedSeq(b.meta)
	if err != nil {
		return err
	}
	var (
		d       workflow.Dossier
		entries []workflow.HistoryEntry // reused from one dossier to the next
		dv      dossierVerifier
	)
	for i, code := range codes {
		if i%ctxEvery == ctxEvery-1 && ctx.Err() != nil {
			return ctx.Err()
		}
		v := b.dossiers.Get([]byte(code))
		if v == nil {
			return fmt.Errorf("store: dossier %q is gone", code) // Apply never deletes one
		}
		if err := decodeDossier(v, &d); err != nil {
			return fmt.Errorf("dossier %q: %w", code, err)
		}
		entries, reports[i] = dv.verify(b, cat, applied, entries, &d)
	}
	return nil
}

// Dossiers lists dossiers that match every filter of q, one page after
// the cursor q.After, in the order workflow.DossierQuery describes. With
// Overdue true it walks the overdue index (by due date); else with a
// receipt date range it walks the received index from the first date to
// the last; else it walks the index of the most selective filter (by the
// counters), or every dossier without filters. It checks the other
// filters on each record, and a page passes over at most maxSkipped
// records that fail them: it may then hold fewer than the limit, even
// none, with a cursor. next is the cursor of the following page, ""
// when there is none; a cursor Dossiers did not make for this kind of
// walk is an error wrapping ErrBadCursor.
func (db *DB) Dossiers(ctx context.Context, q workflow.DossierQuery) (list []workflow.Dossier, next string, err error) {
	err = db.view(ctx, func(b *buckets) error {
		w, err := b.dossierWalk(q)
		if err != nil {
			return err
		}
		list, next, err = b.walk(ctx, w, q.After, limit(q.Limit))
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list dossiers: %w", err)
	}
	return list, next, nil
}

// dossierWalk returns the walk of q: the index it walks and the filters
// it checks on each record.
func (b *buckets) dossierWalk(q workflow.DossierQuery) (*indexWalk, error) {
	w := &indexWalk{maxSkipped: maxSkipped, filter: dossierFilter{status: q.Status, agency: q.Agency,
		procedure: q.Procedure, overdue: q.Overdue, receivedFrom: q.ReceivedFrom, receivedTo: q.ReceivedTo}}
	switch {
	case q.Overdue != nil && *q.Overdue:
		w.index, w.bucket, w.field, w.codec = bucketByOverdue, b.byOverdue, 8, hexCursor
	case q.ReceivedFrom != "" || q.ReceivedTo != "":
		w.index, w.bucket, w.field, w.codec = bucketByReceived, b.byReceived, receivedDateLen, dateCodeCursor
		w.from = []byte(q.ReceivedFrom)
		if q.ReceivedTo != "" {
			w.until = []byte(q.ReceivedTo)
		}
	default:
		var err error
		if w.index, w.bucket, w.prefix, err = b.dossierIndex(q); err != nil {
			return nil, err
		}
		w.codec = codeCursor
	}
	return w, nil
}

// dossierIndex picks the bucket Dossiers walks, its name and the prefix
// of its keys: the index of the filter with the fewest dossiers, or the
// dossiers bucket itself when q does not filter.
func (b *buckets) dossierIndex(q workflow.DossierQuery) (string, *bbolt.Bucket, []byte, error) {
	name, ix, prefix, best := bucketDossiers, b.dossiers, []byte(nil), -1
	consider := func(n string, bucket *bbolt.Bucket, p []byte, countKey string) error {
		c, err := counter(b.counts, countKey)
		if err != nil {
			return err
		}
		if best < 0 || c < best {
			name, ix, prefix, best = n, bucket, p, c
		}
		return nil
	}
	if q.Status != 0 {
		if err := consider(bucketByStatus, b.byStatus, statusPrefix(q.Status), statusCountKey(q.Status)); err != nil {
			return "", nil, nil, err
		}
	}
	if q.Agency != "" {
		if err := consider(bucketByAgency, b.byAgency, prefixKey(q.Agency), countAgencyPrefix+q.Agency); err != nil {
			return "", nil, nil, err
		}
	}
	if q.Procedure != "" {
		if err := consider(bucketByProcedure, b.byProcedure, prefixKey(q.Procedure), countProcedurePrefix+q.Procedure); err != nil {
			return "", nil, nil, err
		}
	}
	return name, ix, prefix, nil
}

// Rejections lists rejections newest first (descending stream sequence)
// that match every filter of q, below the cursor q.Before. With a dossier
// or a reason it walks that index (the dossier's when both are given).
// Since is checked on Rejection.Time, the stream's timestamp, which follows
// the sequence: the walk stops at the first older rejection. An agency
// is a filter on the records walked (agencyFilter): a page passes over at
// most maxSkipped records, so it may hold fewer than the limit, even none,
// with a cursor. next is the cursor of the following page, 0 when there is
// none.
func (db *DB) Rejections(ctx context.Context, q workflow.RejectionQuery) (list []workflow.Rejection, next uint64, err error) {
	n := limit(q.Limit)
	af := agencyFilter{agency: q.Agency}
	err = db.view(ctx, func(b *buckets) error {
		ix, prefix := b.rejections, []byte(nil)
		switch {
		case q.Dossier != "":
			ix, prefix = b.rejByDossier, prefixKey(q.Dossier)
		case q.Reason != "":
			ix, prefix = b.rejByReason, prefixKey(string(q.Reason))
		}
		return scanDesc(ctx, ix, prefix, q.Before, func(seq uint64) (bool, error) {
			v := b.rejections.Get(seqKey(seq))
			if v == nil {
				return false, fmt.Errorf("rejection %d: %w", seq, ErrMissingRecord)
			}
			var r workflow.Rejection
			if err := decodeRejection(v, &r); err != nil {
				return false, fmt.Errorf("rejection %d: %w", seq, err)
			}
			switch {
			case !q.Since.IsZero() && r.Time.Before(q.Since):
				return false, nil
			case q.Dossier != "" && r.Dossier != q.Dossier, q.Reason != "" && r.Reason != q.Reason:
				return af.skip(seq, &next), nil
			}
			if in, err := af.in(b, r.Agency, r.Dossier); err != nil || !in {
				return err == nil && af.skip(seq, &next), err
			}
			if len(list) == n {
				next = list[n-1].Seq
				return false, nil
			}
			list = append(list, r)
			return true, nil
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list rejections: %w", err)
	}
	return list, next, nil
}

// Mismatches lists recorded status mismatches newest first, below the
// cursor q.Before, of one dossier when q.Dossier is set, of one agency
// when q.Agency is (as Rejections). next is the cursor of the following
// page, 0 when there is none.
func (db *DB) Mismatches(ctx context.Context, q workflow.MismatchQuery) (list []workflow.Mismatch, next uint64, err error) {
	n := limit(q.Limit)
	af := agencyFilter{agency: q.Agency}
	err = db.view(ctx, func(b *buckets) error {
		ix, prefix := b.mismatches, []byte(nil)
		if q.Dossier != "" {
			ix, prefix = b.misByDossier, prefixKey(q.Dossier)
		}
		return scanDesc(ctx, ix, prefix, q.Before, func(seq uint64) (bool, error) {
			v := b.mismatches.Get(seqKey(seq))
			if v == nil {
				return false, fmt.Errorf("mismatch %d: %w", seq, ErrMissingRecord)
			}
			var m workflow.Mismatch
			if err := decodeMismatch(v, &m); err != nil {
				return false, fmt.Errorf("mismatch %d: %w", seq, err)
			}
			if in, err := af.in(b, m.Agency, m.Dossier); err != nil || !in {
				return err == nil && af.skip(seq, &next), err
			}
			if len(list) == n {
				next = list[n-1].Seq
				return false, nil
			}
			list = append(list, m)
			return true, nil
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list mismatches: %w", err)
	}
	return list, next, nil
}

// Irregularities lists the irregularities of accepted events newest
// first, below the cursor q.Before, filtered as q says (agency and actor
// as Rejections filters agencies: a page passes over a bounded number of
// events). The irregularities of one event are never split between pages.
// next is the cursor of the following page, 0 when there is none.
func (db *DB) Irregularities(ctx context.Context, q workflow.IrregularityQuery) (list []workflow.Irregularity, next uint64, err error) {
	n := limit(q.Limit)
	af := agencyFilter{agency: q.Agency}
	events := 0
	err = db.view(ctx, func(b *buckets) error {
		ix, prefix := b.irregular, []byte(nil)
		switch {
		case q.Dossier != "":
			ix, prefix = b.irrByDossier, prefixKey(q.Dossier)
		case q.Kind != "":
			ix, prefix = b.irrByKind, prefixKey(string(q.Kind))
		}
		return scanDesc(ctx, ix, prefix, q.Before, func(seq uint64) (bool, error) {
			v := b.irregular.Get(seqKey(seq))
			if v == nil {
				return false, fmt.Errorf("irregularity %d: %w", seq, ErrMissingRecord)
			}
			irs, err := decodeIrregularities(v)
			if err != nil {
				return false, fmt.Errorf("irregularity %d: %w", seq, err)
			}
			if q.Kind != "" {
				irs = slices.DeleteFunc(irs, func(ir workflow.Irregularity) bool { return ir.Kind != q.Kind })
			}
			if len(irs) == 0 || q.Dossier != "" && irs[0].Dossier != q.Dossier || q.Actor != "" && irs[0].Actor != q.Actor {
				return af.skip(seq, &next), nil
			}
			ev := &irs[0]
			if in, err := af.in(b, ev.Agency, ev.Dossier); err != nil || !in {
				return err == nil && af.skip(seq, &next), err
			}
			if events == n {
				next = list[len(list)-1].Seq
				return false, nil
			}
			events++
			list = append(list, irs...)
			return true, nil
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list irregularities: %w", err)
	}
	return list, next, nil
}

// IrregularityTallies returns, from the irr_tally rows Apply keeps, the
// irregularities of each officer at each agency (of q's agency and
// officer when set), in agency then officer order. It reads one row per
// agency, kind and officer, never the irregularities themselves.
func (db *DB) IrregularityTallies(ctx context.Context, q workflow.IrregularityTallyQuery) ([]workflow.IrregularityTally, error) {
	var out []workflow.IrregularityTally
	err := db.view(ctx, func(b *buckets) error {
		var prefix []byte
		if q.Agency != "" {
			prefix = prefixKey(q.Agency)
		}
		rows := map[[2]string]*workflow.IrregularityTally{}
		c := b.irrTally.Cursor()
		i := 0
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if i++; i%ctxEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			agency, kind, actor, ok := splitIrrTallyKey(k)
			if !ok {
				return fmt.Errorf("irregularity tally %q: %w", k, errBadRecord)
			}
			if q.Actor != "" && actor != q.Actor {
				continue
			}
			t, err := decodeIrrTally(v)
			if err != nil {
				return fmt.Errorf("irregularity tally %q: %w", k, err)
			}
			row := rows[[2]string{agency, actor}]
			if row == nil {
				row = &workflow.IrregularityTally{Agency: agency, Actor: actor, Counts: map[workflow.IrregularityKind]int{}}
				rows[[2]string{agency, actor}] = row
			}
			row.Counts[kind] += int(t.n)
			if kind == workflow.IrregularLateEntry {
				row.LateEntryDelay += time.Duration(t.delay) * time.Second
			}
		}
		for _, key := range slices.SortedFunc(maps.Keys(rows), func(a, b [2]string) int {
			return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1]))
		}) {
			out = append(out, *rows[key])
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("irregularity tallies: %w", err)
	}
	return out, nil
}

// agencyFilter keeps, in a listing of rejections or mismatches, the
// records of one agency: those whose event named it, and those of a
// dossier stored under it. It bounds how many records one page passes
// over, so that a page of a rare agency in a long history returns in
// bounded time, short, with a cursor to go on from.
type agencyFilter struct {
	agency   string            // "" keeps every record
	skipped  int               // records left out so far
	dossiers map[string]string // the agency of each dossier looked up, "" if unknown
}

// maxSkipped is how many records one page of a listing passes over
// before it returns with the cursor of the last one.
const maxSkipped = 10_000

// in reports whether the record of agency and dossier is kept.
func (f *agencyFilter) in(b *buckets, agency, dossier string) (bool, error) {
	if f.agency == "" || agency == f.agency {
		return true, nil
	}
	if !keyPart(dossier) {
		return false, nil
	}
	a, ok := f.dossiers[dossier]
	if !ok {
		d, err := b.dossier(dossier)
		switch {
		case err == nil:
			a = d.Agency
		case !errors.Is(err, workflow.ErrNotFound):
			return false, fmt.Errorf("dossier %q: %w", dossier, err)
		}
		if f.dossiers == nil {
			f.dossiers = map[string]string{}
		}
		f.dossiers[dossier] = a
	}
	return a == f.agency, nil
}

// skip counts a record the page leaves out. Once maxSkipped are, it sets
// *next to the record's sequence and returns false: the page ends there.
func (f *agencyFilter) skip(seq uint64, next *uint64) bool {
	if f.skipped++; f.skipped < maxSkipped {
		return true
	}
	*next = seq
	return false
}

// scanDesc calls fn with the sequences of the keys prefix + seq of bucket,
// from the highest below before (every one when before is 0) downwards,
// until fn returns false or an error.
func scanDesc(ctx context.Context, bucket *bbolt.Bucket, prefix []byte, before uint64, fn func(seq uint64) (more bool, err error)) error {
	if before == 0 {
		before = ^uint64(0) // stream sequences never reach it
	}
	c := bucket.Cursor()
	k, _ := c.Seek(append(bytes.Clone(prefix), seqKey(before)...))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	i := 0
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		if i++; i%ctxEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		seq, ok := seqSuffix(k, prefix)
		if !ok {
			continue
		}
		more, err := fn(seq)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// seekAfter positions c at the first key of prefix + after's successor:
// the first key after prefix + after, or the first with the prefix when
// after is "".
func seekAfter(c *bbolt.Cursor, prefix []byte, after string) (k, v []byte) {
	start := append(bytes.Clone(prefix), after...)
	k, v = c.Seek(start)
	if k != nil && after != "" && bytes.Equal(k, start) {
		k, v = c.Next()
	}
	return k, v
}

// dossier reads and decodes one dossier record.
func (b *buckets) dossier(code string) (*workflow.Dossier, error) {
	v := b.dossiers.Get([]byte(code))
	if v == nil {
		return nil, workflow.ErrNotFound
	}
	d := new(workflow.Dossier)
	if err := decodeDossier(v, d); err != nil {
		return nil, err
	}
	return d, nil
}

// historyOf reads the history entries of a dossier in index order. On a
// record that does not decode it returns the entries before it and an
// *entryError.
func (b *buckets) historyOf(code string) ([]workflow.HistoryEntry, error) {
	return b.historyInto(nil, code)
}

// historyInto is historyOf reading into the room of dst[:0], whose
// entries it overwrites.
func (b *buckets) historyInto(dst []workflow.HistoryEntry, code string) ([]workflow.HistoryEntry, error) {
	entries := dst[:0]
	rec := b.dossiers.Get([]byte(code))
	if rec == nil {
		return entries, nil // no record, no id: no history
	}
	id, err := dossierIDOf(rec)
	if err != nil {
		return entries, &entryError{Dossier: code, Position: 0, Err: err}
	}
	prefix := historyPrefix(id)
	c := b.history.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(entries) < cap(entries) {
			entries = entries[:len(entries)+1]
		} else {
			entries = append(entries, workflow.HistoryEntry{})
		}
		var prev workflow.Hash
		if len(entries) > 1 {
			prev = entries[len(entries)-2].Hash
		}
		e := &entries[len(entries)-1]
		if err := decodeEntry(code, k, v, prev, e); err != nil {
			return entries[:len(entries)-1], &entryError{Dossier: code, Position: len(entries) - 1, Err: err}
		}
	}
	return entries, nil
}

// entryError is a history entry that cannot be read.
type entryError struct {
	Dossier  string
	Position int // position of the entry among the dossier's keys
	Err      error
}

func (e *entryError) Error() string {
	return fmt.Sprintf("history of %q: entry %d: %v", e.Dossier, e.Position, e.Err)
}

func (e *entryError) Unwrap() error { return e.Err }

// Due returns, earliest due first, the dossiers whose statutory clock runs
// towards a due date at or before t and whose expiry is not yet recorded:
// what the deadline scheduler warns about and expires. after is the cursor
// of the previous page ("" for the first); next is "" after the last page.
// At most max (default DefaultLimit, capped at MaxLimit) are returned. A
// cursor Due did not make is an error wrapping ErrBadCursor.
func (db *DB) Due(ctx context.Context, t time.Time, after string, max int) (list []workflow.Dossier, next string, err error) {
	err = db.view(ctx, func(b *buckets) error {
		w := &indexWalk{index: bucketByDue, bucket: b.byDue, field: 8, codec: hexCursor,
			until: binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano()))}
		list, next, err = b.walk(ctx, w, after, limit(max))
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("due: %w", err)
	}
	return list, next, nil
}
