package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// A period-close event (workflow.PeriodCloseAction) copies the gauges
// rows as they stand at its stream position — the rows before the batch
// plus what the batch's earlier envelopes changed — into the snapshot
// rows of its month (bucket snapshots, keyed like the stats rows: kind
// month 0x00 agency 0x00 procedure), and records the month, its sequence
// and time in bucket periods. The statistics read "in progress at the end
// of the period" from them (workflow.PeriodEnd). Since the event is in
// the stream, a replay makes the same rows however it is batched.

// periodValueSize is the size of a periods value: the sequence and the
// time (Unix nanoseconds) of the close, big-endian.
const periodValueSize = 16

// applyPeriodClose applies a period-close event.
func (bt *batchTx) applyPeriodClose(env *workflow.Envelope) (workflow.Decision, error) {
	month, dec := bt.catalog.DecidePeriodClose(env)
	if month == "" {
		return dec, nil
	}
	rows, err := bt.gaugesNow()
	if err != nil {
		return dec, err
	}
	// A second close of the month (another id from hoso) replaces the
	// first: drop its rows.
	for _, kind := range []byte{statsKindDossier, statsKindFeedback} {
		prefix := statsPrefix(kind, month)
		var old [][]byte
		c := bt.b.snapshots.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			old = append(old, bytes.Clone(k))
		}
		for _, k := range old {
			if err := bt.b.snapshots.Delete(k); err != nil {
				return dec, fmt.Errorf("snapshot %q: %w", k, err)
			}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(rows)) {
		t := rows[key]
		if t.IsZero() {
			continue
		}
		k := make([]byte, 0, len(key)+len(month)+1)
		k = append(append(append(append(k, key[0]), month...), sep), key[1:]...)
		if err := bt.b.snapshots.Put(k, encodeTally(&t)); err != nil {
			return dec, fmt.Errorf("snapshot %q: %w", k, err)
		}
	}
	v := binary.BigEndian.AppendUint64(seqKey(env.Seq), uint64(env.Event.Time.UnixNano()))
	if err := bt.b.periods.Put([]byte(month), v); err != nil {
		return dec, fmt.Errorf("period %s: %w", month, err)
	}
	return dec, nil
}

// gaugesNow returns the gauges rows as they stand at the batch's current
// position, by key: the stored rows plus the changes of the dossiers the
// batch has changed so far (flushStats writes those at its end).
func (bt *batchTx) gaugesNow() (map[string]workflow.Tally, error) {
	s := newStatsDeltas()
	for _, w := range bt.working {
		if w.dirty {
			s.add(bt.catalog, w.stored, w.cur)
		}
	}
	rows := map[string]workflow.Tally{}
	c := bt.b.gauges.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		t, err := decodeTally(v)
		if err != nil {
			return nil, fmt.Errorf("gauges row %q: %w", k, err)
		}
		rows[string(k)] = t
	}
	for k, d := range s.gauges {
		t := rows[k]
		t.Add(*d)
		rows[k] = t
	}
	return rows, nil
}

// periodOf returns the sequence and time of the close of a month, and
// false when none is recorded.
func periodOf(b *buckets, month string) (uint64, time.Time, bool, error) {
	v := b.periods.Get([]byte(month))
	if v == nil {
		return 0, time.Time{}, false, nil
	}
	if len(v) != periodValueSize {
		return 0, time.Time{}, false, fmt.Errorf("period %s: %d bytes, want %d", month, len(v), periodValueSize)
	}
	return binary.BigEndian.Uint64(v), time.Unix(0, int64(binary.BigEndian.Uint64(v[8:]))).In(workflow.Zone), true, nil
}

// LastPeriod returns the last month whose close the store has applied,
// "" when none: hoso's scheduler closes the months after it
// (events.PeriodLister).
func (db *DB) LastPeriod(ctx context.Context) (string, error) {
	var last string
	err := db.view(ctx, func(b *buckets) error {
		if k, _ := b.periods.Cursor().Last(); k != nil {
			last = string(k)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("last period: %w", err)
	}
	return last, nil
}

// periodEnds adds to res the dossiers in progress at the end of its last
// month, from that month's snapshot, under the selection: to the total
// and, for a breakdown by agency, procedure or sector, to each row
// (adding the rows the snapshot has and the flows have not). Without a
// snapshot it says why.
func (b *buckets) periodEnds(res *workflow.StatsResult, sel *statsSelection, kind byte, q workflow.StatsQuery,
	rows map[string]*workflow.Tally, row func(string) *workflow.Tally) (map[string]*workflow.Tally, error) {
	if res.To == "" {
		res.AtEndMissing = workflow.PeriodEndMissing("", q.Now)
		return nil, nil
	}
	seq, at, ok, err := periodOf(b, res.To)
	if err != nil || !ok {
		res.AtEndMissing = workflow.PeriodEndMissing(res.To, q.Now)
		return nil, err
	}
	var total workflow.Tally
	byRow := map[string]*workflow.Tally{}
	err = sel.collect(b.snapshots, statsPrefix(kind, res.To), func(agency, procedure string, t *workflow.Tally) {
		g := t.Gauges()
		total.Add(g)
		if key, ok := sel.rowKey("", agency, procedure); ok && q.By != workflow.ByMonth {
			row(key)
			r := byRow[key]
			if r == nil {
				r = new(workflow.Tally)
				byRow[key] = r
			}
			r.Add(g)
		}
	})
	if err != nil {
		return nil, err
	}
	end := workflow.NewPeriodEnd(res.To, at, seq, total)
	res.AtEnd = &end
	if q.By != "" && q.By != workflow.ByMonth {
		for key := range rows {
			if byRow[key] == nil {
				byRow[key] = new(workflow.Tally)
			}
		}
	}
	return byRow, nil
}

// periods checks the periods and snapshot rows: each close under a
// month, at or below the applied sequence; each snapshot row of a closed
// month, decoding, holding gauges only; and the rollup rows the sums of
// the rows of each agency and procedure, as the gauges rows they copy.
func (s *storeCheck) periods(_ context.Context, applied uint64) error {
	b := s.b
	c := b.periods.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		month := string(k)
		if _, ok := workflow.ParseMonth(month); !ok {
			s.add(workflow.Finding{Bucket: bucketPeriods, Key: month, Problem: "the period key is not a month"})
			continue
		}
		if len(v) != periodValueSize {
			s.add(workflow.Finding{Bucket: bucketPeriods, Key: month, Problem: fmt.Sprintf("the period is %d bytes, want %d", len(v), periodValueSize)})
			continue
		}
		if seq := binary.BigEndian.Uint64(v); seq > applied || seq == 0 {
			s.add(workflow.Finding{Bucket: bucketPeriods, Key: month, Want: fmt.Sprintf("1..%d", applied), Got: fmt.Sprint(seq),
				Problem: "the period was closed at a sequence the store has not applied"})
		}
	}
	const n = len("2006-01")
	sums := newStatsDeltas()
	c = b.snapshots.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		key := keyText(bucketSnapshots, k)
		if len(k) < 2+n || k[1+n] != sep {
			s.add(workflow.Finding{Bucket: bucketSnapshots, Key: key, Problem: "the snapshot key is malformed"})
			continue
		}
		agency, procedure, ok := splitRow(k[2+n:])
		if !ok {
			s.add(workflow.Finding{Bucket: bucketSnapshots, Key: key, Problem: "the snapshot key has no procedure"})
			continue
		}
		if b.periods.Get(k[1:1+n]) == nil {
			s.add(workflow.Finding{Bucket: bucketSnapshots, Key: key, Problem: fmt.Sprintf("a snapshot of %s, whose close is not recorded", k[1:1+n])})
		}
		t, err := decodeTally(v)
		switch {
		case err != nil:
			s.add(workflow.Finding{Bucket: bucketSnapshots, Key: key, Problem: fmt.Sprintf("the snapshot does not decode: %v", err)})
		case t != t.Gauges() || t.IsZero():
			s.add(workflow.Finding{Bucket: bucketSnapshots, Key: key, Problem: "the snapshot holds flow counters or nothing: a snapshot copies non-zero gauges rows"})
		case agency != statsAll && procedure != statsAll:
			sums.addRows(sums.gauges, k[:2+n], agency, procedure, &t)
		}
	}
	s.compareStats(bucketSnapshots, b.snapshots, sums.gauges)
	return nil
}
