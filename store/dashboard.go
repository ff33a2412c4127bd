package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/workflow"
)

// What the supervisors' dashboard reads besides the API's lists: the
// deadline indexes by due date and the running totals. Both read indexes
// and counters, never every dossier.

// overdueKey returns the key of a dossier in the overdue index, or nil
// when it is not there: it must be in status 2 or 4, not terminal, and
// flagged Overdue by a recorded expiry — the dossiers workflow.Tally
// counts as InProgressOverdue, so the list and the statistics agree.
func overdueKey(d *workflow.Dossier) []byte {
	k, ok := appendOverdueKey(nil, d)
	if !ok {
		return nil
	}
	return k
}

// appendOverdueKey appends overdueKey(d), due(unix ns) code; false when
// the dossier is not in the overdue index.
func appendOverdueKey(b []byte, d *workflow.Dossier) ([]byte, bool) {
	if !d.Overdue || d.Terminal || d.Due.IsZero() ||
		(d.Status != workflow.StatusReceived && d.Status != workflow.StatusProcessing) {
		return b, false
	}
	return append(binary.BigEndian.AppendUint64(b, uint64(d.Due.UnixNano())), d.Code...), true
}

// Deadlines lists dossiers by due date from the index q selects (the due
// index, or the overdue index with q.Overdue), earliest first or, with
// q.Desc, latest first, keeping those due at or before q.Until and of
// q.Agency and q.Procedure. It walks the index from the cursor q.After
// and reads the record of each key it passes, so a filter costs at most
// one record read per key of the index, never a scan of all dossiers.
// next is the cursor of the following page, "" after the last.
func (db *DB) Deadlines(ctx context.Context, q workflow.DeadlineQuery) (list []workflow.Dossier, next string, err error) {
	n := limit(q.Limit)
	cursor, err := hex.DecodeString(q.After)
	if err != nil || (q.After != "" && len(cursor) < 8) {
		return nil, "", fmt.Errorf("deadlines: cursor %q: %w", q.After, ErrBadCursor)
	}
	if len(cursor) == 0 {
		cursor = nil // the first page
	}
	var until []byte
	if !q.Until.IsZero() {
		until = binary.BigEndian.AppendUint64(nil, uint64(q.Until.UnixNano()))
	}
	err = db.view(ctx, func(b *buckets) error {
		ix := b.byDue
		if q.Overdue {
			ix = b.byOverdue
		}
		c := ix.Cursor()
		k, step := firstDeadline(c, cursor, until, q.Desc)
		var last []byte
		for i := 0; k != nil; k, _ = step() {
			if i++; i%ctxEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if len(k) < 8 {
				return fmt.Errorf("store: deadline index key %x is too short", k)
			}
			if until != nil && bytes.Compare(k[:8], until) > 0 {
				if q.Desc {
					continue // cannot happen after firstDeadline's seek; kept as a guard
				}
				return nil
			}
			code := k[8:]
			v := b.dossiers.Get(code)
			if v == nil {
				return fmt.Errorf("store: a deadline index names %q, which has no record", code)
			}
			var d workflow.Dossier
			if err := decodeDossier(v, &d); err != nil {
				return fmt.Errorf("dossier %q: %w", code, err)
			}
			if (q.Agency != "" && d.Agency != q.Agency) || (q.Procedure != "" && d.Procedure != q.Procedure) {
				continue
			}
			if len(list) == n {
				next = hex.EncodeToString(last)
				return nil
			}
			list = append(list, d)
			last = bytes.Clone(k)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("deadlines: %w", err)
	}
	return list, next, nil
}

// ErrBadCursor is returned by Deadlines for a cursor it did not make.
var ErrBadCursor = errors.New("store: not a cursor of this list")

// firstDeadline positions c at the first key a Deadlines walk visits and
// returns it with the function that steps on: after the cursor (or from
// the first key) ascending; before the cursor (or from the last key due
// at or before until) descending.
func firstDeadline(c *bbolt.Cursor, cursor, until []byte, desc bool) ([]byte, func() ([]byte, []byte)) {
	if !desc {
		if cursor == nil {
			k, _ := c.First()
			return k, c.Next
		}
		k, _ := c.Seek(cursor)
		if bytes.Equal(k, cursor) {
			k, _ = c.Next()
		}
		return k, c.Next
	}
	start := cursor
	if start == nil && until != nil {
		// The first key past until: every key with a due date up to until
		// sorts before until+1.
		start = binary.BigEndian.AppendUint64(nil, binary.BigEndian.Uint64(until)+1)
	}
	var k []byte
	if start == nil {
		k, _ = c.Last()
	} else if k, _ = c.Seek(start); k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	return k, c.Prev
}

// Totals returns the running totals the dashboard shows, from counters.
func (db *DB) Totals(ctx context.Context) (workflow.Totals, error) {
	var t workflow.Totals
	err := db.view(ctx, func(b *buckets) error {
		for _, x := range []struct {
			key string
			dst *int
		}{
			{countDossiers, &t.Dossiers}, {countRejections, &t.Rejections}, {countMismatches, &t.Mismatches},
			{countClockRunning, &t.ClockRunning}, {countOverdue, &t.Overdue},
		} {
			n, err := counter(b.counts, x.key)
			if err != nil {
				return err
			}
			*x.dst = n
		}
		for s := workflow.StatusSubmitted; s <= workflow.MaxStatus; s++ {
			n, err := counter(b.counts, statusCountKey(s))
			if err != nil {
				return err
			}
			t.ByStatus[s] = n
		}
		return nil
	})
	if err != nil {
		return workflow.Totals{}, fmt.Errorf("totals: %w", err)
	}
	return t, nil
}
