package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/workflow"
)

// Counts are the store's running totals, kept by Apply in the same
// transaction as the records they count.
type Counts struct {
	Dossiers   int                         // dossiers stored
	ByStatus   [workflow.MaxStatus + 1]int // dossiers per current status; index is the status code, 0 unused
	Entries    int                         // history entries (accepted events)
	Rejections int                         // rejections recorded
	ByReason   map[workflow.Reason]int     // rejections per reason; absent reasons have none
	Mismatches int                         // status mismatches recorded
	Outbox     int                         // outcomes not yet marked published
	Overdue    int                         // overdue dossiers in progress (workflow.DossierQuery.Overdue)
	// Irregularities counts the irregularities recorded, by kind; absent
	// kinds have none.
	Irregularities map[workflow.IrregularityKind]int
}

// Counts returns the running totals. It reads counters, never scans.
func (db *DB) Counts(ctx context.Context) (Counts, error) {
	c := Counts{ByReason: map[workflow.Reason]int{}, Irregularities: map[workflow.IrregularityKind]int{}}
	err := db.view(ctx, func(b *buckets) error {
		return b.counts.ForEach(func(k, v []byte) error {
			n, err := decodeUint64(v)
			if err != nil {
				return fmt.Errorf("counter %q: %w", k, err)
			}
			key := string(k)
			switch {
			case key == countDossiers:
				c.Dossiers = int(n)
			case key == countEntries:
				c.Entries = int(n)
			case key == countRejections:
				c.Rejections = int(n)
			case key == countMismatches:
				c.Mismatches = int(n)
			case key == countOutbox:
				c.Outbox = int(n)
			case key == countOverdue:
				c.Overdue = int(n)
			case strings.HasPrefix(key, countStatusPrefix):
				s, err := strconv.Atoi(strings.TrimPrefix(key, countStatusPrefix))
				if err == nil && workflow.Status(s).Valid() {
					c.ByStatus[s] = int(n)
				}
			case strings.HasPrefix(key, countReasonPrefix):
				if n > 0 {
					c.ByReason[workflow.Reason(strings.TrimPrefix(key, countReasonPrefix))] = int(n)
				}
			case strings.HasPrefix(key, countIrregularPrefix):
				if n > 0 {
					c.Irregularities[workflow.IrregularityKind(strings.TrimPrefix(key, countIrregularPrefix))] = int(n)
				}
			}
			return nil
		})
	})
	if err != nil {
		return Counts{}, fmt.Errorf("counts: %w", err)
	}
	return c, nil
}

// counter reads one counter.
func counter(counts *bbolt.Bucket, key string) (int, error) {
	n, err := decodeUint64(counts.Get([]byte(key)))
	if err != nil {
		return 0, fmt.Errorf("counter %q: %w", key, err)
	}
	return int(n), nil
}

// deltas collects counter changes during a transaction, to write each
// counter once at its end.
type deltas map[string]int64

func (d deltas) add(key string, n int64) { d[key] += n }

// write adds the deltas to the stored counters. A counter that would go
// below zero means the counters and the records disagree: it is an error.
func (d deltas) write(counts *bbolt.Bucket) error {
	for _, key := range slices.Sorted(maps.Keys(d)) {
		n := d[key]
		if n == 0 {
			continue
		}
		k := []byte(key)
		old, err := decodeUint64(counts.Get(k))
		if err != nil {
			return fmt.Errorf("counter %q: %w", key, err)
		}
		v := int64(old) + n
		switch {
		case v < 0:
			return fmt.Errorf("store: counter %q would go below zero (%d%+d)", key, old, n)
		case v == 0:
			err = counts.Delete(k)
		default:
			err = counts.Put(k, encodeUint64(uint64(v)))
		}
		if err != nil {
			return fmt.Errorf("counter %q: %w", key, err)
		}
	}
	return nil
}
