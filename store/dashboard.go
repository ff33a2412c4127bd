package store

import (
	"context"
	"encoding/binary"
	"fmt"

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
// next is the cursor of the following page, "" after the last; a cursor
// Deadlines did not make is an error wrapping ErrBadCursor.
func (db *DB) Deadlines(ctx context.Context, q workflow.DeadlineQuery) (list []workflow.Dossier, next string, err error) {
	err = db.view(ctx, func(b *buckets) error {
		w := &indexWalk{index: bucketByDue, bucket: b.byDue, field: 8, codec: hexCursor, desc: q.Desc}
		if q.Overdue {
			w.index, w.bucket = bucketByOverdue, b.byOverdue
		}
		if !q.Until.IsZero() {
			w.until = binary.BigEndian.AppendUint64(nil, uint64(q.Until.UnixNano()))
		}
		w.filter = dossierFilter{agency: q.Agency, procedure: q.Procedure}
		list, next, err = b.walk(ctx, w, q.After, limit(q.Limit))
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("deadlines: %w", err)
	}
	return list, next, nil
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
		for _, kind := range workflow.IrregularityKinds {
			n, err := counter(b.counts, countIrregularPrefix+string(kind))
			if err != nil {
				return err
			}
			if n > 0 {
				if t.Irregularities == nil {
					t.Irregularities = map[workflow.IrregularityKind]int{}
				}
				t.Irregularities[kind] = n
			}
		}
		return nil
	})
	if err != nil {
		return workflow.Totals{}, fmt.Errorf("totals: %w", err)
	}
	return t, nil
}
