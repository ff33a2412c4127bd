package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/workflow"
)

// Statistics are counters kept by Apply, in the batch's transaction, from
// workflow.StatsDelta of each dossier the batch changed: so a report over
// a province-year reads a dozen rows and never scans dossiers, and since
// the counters of a dossier depend on its state alone, a replay of the
// stream in any batching gives identical counters.
//
// Rows are keyed by the dossier's kind, then (stats) the month and (both)
// agency and procedure; rollup rows with statsAll in place of the agency,
// the procedure or both are written beside every row, so that a query
// without a breakdown is one Get per month. An agency or procedure that
// begins with statsAll is stored with one more in front (statsPart), so no
// value collides with a rollup.

// Kinds of the rows, the first byte of their keys.
const (
	statsKindDossier  = 'd'
	statsKindFeedback = 'f'
)

// statsAll stands for every agency or every procedure in a rollup row.
const statsAll = "*"

// statsKind returns the key byte of a definition kind.
func statsKind(k workflow.Kind) byte {
	if k == workflow.KindFeedback {
		return statsKindFeedback
	}
	return statsKindDossier
}

// kindOf returns the key byte of the kind of the dossier's definition; a
// dossier whose definition is not loaded counts as a dossier.
func kindOf(cat *workflow.Catalog, d *workflow.Dossier) byte {
	if def := cat.Lookup(d.Definition, d.Version); def != nil {
		return statsKind(def.Kind)
	}
	return statsKindDossier
}

// statsPart returns the key part of an agency or procedure.
func statsPart(s string) string {
	if strings.HasPrefix(s, statsAll) {
		return statsAll + s
	}
	return s
}

// statsUnpart returns the agency or procedure of a key part.
func statsUnpart(p string) string {
	if strings.HasPrefix(p, statsAll) {
		return p[len(statsAll):]
	}
	return p
}

// statsPrefix returns kind month 0x00: the prefix of the stats rows of a
// month.
func statsPrefix(kind byte, month string) []byte {
	k := make([]byte, 0, 1+len(month)+1+32)
	return append(append(append(k, kind), month...), sep)
}

// gaugePrefix returns kind: the prefix of the gauges rows of a kind.
func gaugePrefix(kind byte) []byte { return []byte{kind} }

// rowKey returns prefix agency 0x00 procedure, with agency and procedure
// already key parts (statsPart or statsAll).
func rowKey(prefix []byte, agency, procedure string) []byte {
	k := make([]byte, 0, len(prefix)+len(agency)+1+len(procedure))
	return append(append(append(append(k, prefix...), agency...), sep), procedure...)
}

// splitRow returns the agency and procedure parts of a row key after its
// prefix.
func splitRow(rest []byte) (agency, procedure string, ok bool) {
	i := bytes.IndexByte(rest, sep)
	if i < 0 {
		return "", "", false
	}
	return string(rest[:i]), string(rest[i+1:]), true
}

// tallySize is the stored size of a Tally: its counters as big-endian
// int64 in workflow.Tally.Fields order.
const tallySize = 8 * workflow.TallyFields

// encodeTally returns the stored form of a row. Fixed-width binary rather
// than JSON: 360 bytes instead of ~1,200, and some sixty times faster to
// decode and encode (BenchmarkTallyCodec).
func encodeTally(t *workflow.Tally) []byte {
	b := make([]byte, 0, tallySize)
	for _, f := range t.Fields() {
		b = binary.BigEndian.AppendUint64(b, uint64(*f))
	}
	return b
}

// decodeTally reads a row; a missing row reads as zero. A shorter row, of
// a layout with fewer counters, reads with the missing ones zero.
func decodeTally(b []byte) (workflow.Tally, error) {
	var t workflow.Tally
	if len(b)%8 != 0 || len(b) > tallySize {
		return t, fmt.Errorf("decode stats row: %d bytes, want a multiple of 8 up to %d", len(b), tallySize)
	}
	for i, f := range t.Fields() {
		if 8*i >= len(b) {
			break
		}
		*f = int64(binary.BigEndian.Uint64(b[8*i:]))
	}
	return t, nil
}

// statsDeltas collects the changes of the stats and gauges rows during a
// batch, to write each row once at its end.
type statsDeltas struct {
	flows  map[string]*workflow.Tally // stats key -> change
	gauges map[string]*workflow.Tally // gauges key -> change
	key    []byte                     // scratch space for keys
}

func newStatsDeltas() *statsDeltas {
	return &statsDeltas{flows: map[string]*workflow.Tally{}, gauges: map[string]*workflow.Tally{}}
}

// flushStats adds to the stats and gauges rows what the batch changed:
// workflow.StatsDelta from each dossier as stored before the batch to the
// dossier after it. flush calls it once per batch.
func (bt *batchTx) flushStats() error {
	s := newStatsDeltas()
	for _, w := range bt.working {
		if w.dirty {
			s.add(bt.catalog, w.stored, w.cur)
		}
	}
	return s.write(bt.b)
}

// add adds the change of a dossier from old (nil if new) to new.
func (s *statsDeltas) add(cat *workflow.Catalog, old, new *workflow.Dossier) {
	if old != nil && new != nil && (old.Agency != new.Agency || old.Procedure != new.Procedure ||
		old.Definition != new.Definition || old.Version != new.Version) {
		// Never happens (Decide keeps them), but would move rows: count
		// the old dossier out of its rows and the new one into its own.
		s.add(cat, old, nil)
		s.add(cat, nil, new)
		return
	}
	flows, gauges := workflow.StatsDelta(old, new)
	if len(flows) == 0 && gauges.IsZero() {
		return
	}
	d := new
	if d == nil {
		d = old
	}
	kind := kindOf(cat, d)
	agency, procedure := statsPart(d.Agency), statsPart(d.Procedure)
	for _, c := range flows {
		s.addRows(s.flows, statsPrefix(kind, c.Month), agency, procedure, &c.Flow)
	}
	if !gauges.IsZero() {
		s.addRows(s.gauges, gaugePrefix(kind), agency, procedure, &gauges)
	}
}

// addRows adds t to the row of the agency and procedure and to its three
// rollups.
func (s *statsDeltas) addRows(m map[string]*workflow.Tally, prefix []byte, agency, procedure string, t *workflow.Tally) {
	for _, ap := range [4][2]string{{agency, procedure}, {agency, statsAll}, {statsAll, procedure}, {statsAll, statsAll}} {
		s.key = append(append(append(append(s.key[:0], prefix...), ap[0]...), sep), ap[1]...)
		r := m[string(s.key)] // no allocation to look up
		if r == nil {
			r = new(workflow.Tally)
			m[string(s.key)] = r
		}
		r.Add(*t)
	}
}

// write adds the changes to the stored rows, in key order. A row whose
// counters all come to zero is deleted, so the rows depend only on the
// dossiers, not on how the stream was batched. A counter that would go
// below zero means the rows and the dossiers disagree: it is an error.
func (s *statsDeltas) write(b *buckets) error {
	for _, x := range [...]struct {
		bucket *bbolt.Bucket
		deltas map[string]*workflow.Tally
	}{{b.stats, s.flows}, {b.gauges, s.gauges}} {
		for _, key := range slices.Sorted(maps.Keys(x.deltas)) {
			d := *x.deltas[key]
			if d.IsZero() {
				continue
			}
			k := []byte(key)
			t, err := decodeTally(x.bucket.Get(k))
			if err != nil {
				return fmt.Errorf("stats row %q: %w", key, err)
			}
			t.Add(d)
			for _, f := range t.Fields() {
				if *f < 0 {
					return fmt.Errorf("store: stats row %q would go below zero: %+v", key, t)
				}
			}
			if t.IsZero() {
				err = x.bucket.Delete(k)
			} else {
				err = x.bucket.Put(k, encodeTally(&t))
			}
			if err != nil {
				return fmt.Errorf("stats row %q: %w", key, err)
			}
		}
	}
	return nil
}

// Stats returns the statistics the query selects, read from the counter
// rows in one transaction: for each month of the period one row, or the
// rows of the breakdown, and the gauges of the same agency and procedure.
// It never reads dossiers. The error wraps workflow.ErrInvalidStatsQuery
// when q.Validate fails.
func (db *DB) Stats(ctx context.Context, q workflow.StatsQuery) (workflow.StatsResult, error) {
	if err := q.Validate(); err != nil {
		return workflow.StatsResult{}, fmt.Errorf("stats: %w", err)
	}
	var res workflow.StatsResult
	err := db.view(ctx, func(b *buckets) error {
		var err error
		res, err = b.statsOf(ctx, db.Catalog(), q)
		return err
	})
	if err != nil {
		return workflow.StatsResult{}, fmt.Errorf("stats: %w", err)
	}
	return res, nil
}

func (b *buckets) statsOf(ctx context.Context, cat *workflow.Catalog, q workflow.StatsQuery) (workflow.StatsResult, error) {
	var res workflow.StatsResult
	kind := statsKind(q.Kind)
	first, last, err := statsSpan(b.stats, kind)
	if err != nil {
		return res, err
	}
	from, to := cmp.Or(q.From, first), cmp.Or(q.To, last)
	var months []string
	if from != "" && to != "" {
		res.From, res.To = from, to
		months = workflow.Months(from, to)
	}
	sel := newStatsSelection(cat, q)
	rows := map[string]*workflow.Tally{}
	row := func(key string) *workflow.Tally {
		r := rows[key]
		if r == nil {
			r = new(workflow.Tally)
			rows[key] = r
		}
		return r
	}
	if q.By == workflow.ByMonth {
		for _, m := range months {
			row(m)
		}
	}
	for _, m := range months {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		err := sel.collect(b.stats, statsPrefix(kind, m), func(agency, procedure string, t *workflow.Tally) {
			f := t.Flows()
			res.Total.Add(f)
			if key, ok := sel.rowKey(m, agency, procedure); ok {
				row(key).Add(f)
			}
		})
		if err != nil {
			return res, err
		}
	}
	// Carried over: the received less the finished of every month
	// before the period, the months with rows only.
	carried := map[string]int64{}
	if start, ok := workflow.ParseMonth(from); ok && first != "" {
		for _, m := range workflow.Months(first, workflow.Month(start.AddDate(0, 0, -1))) {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			err := sel.collect(b.stats, statsPrefix(kind, m), func(agency, procedure string, t *workflow.Tally) {
				n := t.Received - t.Finished
				res.CarriedOver += n
				if key, ok := sel.rowKey(m, agency, procedure); ok && q.By != workflow.ByMonth && n != 0 {
					carried[key] += n
					row(key)
				}
			})
			if err != nil {
				return res, err
			}
		}
	}
	err = sel.collect(b.gauges, gaugePrefix(kind), func(agency, procedure string, t *workflow.Tally) {
		g := t.Gauges()
		res.Total.Add(g)
		if key, ok := sel.rowKey("", agency, procedure); ok && q.By != workflow.ByMonth {
			row(key).Add(g)
		}
	})
	if err != nil {
		return res, err
	}
	var ends map[string]*workflow.Tally
	if ends, err = b.periodEnds(&res, sel, kind, q, rows, row); err != nil {
		return res, err
	}
	if !q.WaitAt.IsZero() {
		w, err := returnWait(ctx, b, cat, q)
		if err != nil {
			return res, err
		}
		res.Waiting = &w
	}
	for _, key := range slices.Sorted(maps.Keys(rows)) {
		row := workflow.StatsRow{Key: key, Tally: *rows[key], CarriedOver: carried[key]}
		if q.By == workflow.ByMonth {
			row.Tally, row.Cohort = row.Tally.Cohort(), true
		}
		if g := ends[key]; g != nil {
			end := workflow.NewPeriodEnd(res.AtEnd.Month, res.AtEnd.TakenAt, res.AtEnd.Seq, *g)
			row.AtEnd = &end
		}
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}

// statsSpan returns the first and last months with stats rows of the
// kind, or "" when there are none.
func statsSpan(bk *bbolt.Bucket, kind byte) (first, last string, err error) {
	const n = len("2006-01")
	c := bk.Cursor()
	k, _ := c.Seek([]byte{kind})
	if k == nil || k[0] != kind {
		return "", "", nil
	}
	if len(k) < 1+n {
		return "", "", fmt.Errorf("stats row key %q is too short", k)
	}
	first = string(k[1 : 1+n])
	if k, _ = c.Seek([]byte{kind + 1}); k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if len(k) < 1+n {
		return "", "", fmt.Errorf("stats row key %q is too short", k)
	}
	return first, string(k[1 : 1+n]), nil
}

// statsSelection is what a query reads of the rows under a prefix (a
// month's, or the gauges of a kind).
type statsSelection struct {
	q          workflow.StatsQuery
	agency     string // key part: the filter, or statsAll
	procedure  string // key part: the filter, or statsAll
	agencies   bool   // read the row of each agency, not the rollup
	procedures bool   // read the row of each procedure, not the rollup
	none       bool   // the filters select nothing
	catalog    *workflow.Catalog
	sectors    map[string]string // procedure key part -> sector, cached
	levels     map[string]string // procedure key part -> level, cached
}

func newStatsSelection(cat *workflow.Catalog, q workflow.StatsQuery) *statsSelection {
	s := &statsSelection{q: q, agency: statsAll, procedure: statsAll, catalog: cat, sectors: map[string]string{}, levels: map[string]string{}}
	if q.Agency != "" {
		s.agency = statsPart(q.Agency)
	}
	if q.Procedure != "" {
		s.procedure = statsPart(q.Procedure)
		s.none = q.Sector != "" && cat.Sector(q.Procedure) != q.Sector
	}
	s.agencies = q.Agency == "" && q.By == workflow.ByAgency
	s.procedures = q.Procedure == "" && (q.By == workflow.ByProcedure || q.By == workflow.BySector || q.By == workflow.ByLevel || q.Sector != "")
	return s
}

// sector returns the sector of a procedure key part.
func (s *statsSelection) sector(procedure string) string {
	sec, ok := s.sectors[procedure]
	if !ok {
		sec = s.catalog.Sector(statsUnpart(procedure))
		s.sectors[procedure] = sec
	}
	return sec
}

// level returns the level of a procedure key part.
func (s *statsSelection) level(procedure string) string {
	l, ok := s.levels[procedure]
	if !ok {
		l = string(s.catalog.Level(statsUnpart(procedure)))
		s.levels[procedure] = l
	}
	return l
}

// rowKey returns the breakdown key of a row read for the month (or ""
// for gauges), and false without a breakdown.
func (s *statsSelection) rowKey(month, agency, procedure string) (string, bool) {
	switch s.q.By {
	case workflow.ByAgency:
		return statsUnpart(agency), true
	case workflow.ByProcedure:
		return statsUnpart(procedure), true
	case workflow.BySector:
		return s.sector(procedure), true
	case workflow.ByLevel:
		return s.level(procedure), true
	case workflow.ByMonth:
		return month, true
	}
	return "", false
}

// collect calls fn with every row under prefix the selection reads: the
// one row of its agency and procedure (filters or rollups), or one per
// agency, per procedure, or per both, as the breakdown and the sector
// filter need. Rollup rows are never read beside the rows they sum.
func (s *statsSelection) collect(bk *bbolt.Bucket, prefix []byte, fn func(agency, procedure string, t *workflow.Tally)) error {
	if s.none {
		return nil
	}
	emit := func(agency, procedure string, v []byte) error {
		if s.q.Sector != "" && s.sector(procedure) != s.q.Sector {
			return nil
		}
		t, err := decodeTally(v)
		if err != nil {
			return fmt.Errorf("stats row %q %q: %w", agency, procedure, err)
		}
		fn(agency, procedure, &t)
		return nil
	}
	c := bk.Cursor()
	switch {
	case !s.agencies && !s.procedures:
		if v := bk.Get(rowKey(prefix, s.agency, s.procedure)); v != nil {
			return emit(s.agency, s.procedure, v)
		}
	case !s.agencies:
		p := rowKey(prefix, s.agency, "")
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			if procedure := string(k[len(p):]); procedure != statsAll {
				if err := emit(s.agency, procedure, v); err != nil {
					return err
				}
			}
		}
	case !s.procedures:
		// Skip from agency to agency: Seek past agency 0x00 … to the next.
		k, _ := c.Seek(prefix)
		for k != nil && bytes.HasPrefix(k, prefix) {
			agency, _, ok := splitRow(k[len(prefix):])
			if !ok {
				return fmt.Errorf("stats row key %q has no procedure", k)
			}
			if agency != statsAll {
				if v := bk.Get(rowKey(prefix, agency, s.procedure)); v != nil {
					if err := emit(agency, s.procedure, v); err != nil {
						return err
					}
				}
			}
			next := append(append(bytes.Clone(prefix), agency...), sep+1)
			k, _ = c.Seek(next)
		}
	default:
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			agency, procedure, ok := splitRow(k[len(prefix):])
			if !ok {
				return fmt.Errorf("stats row key %q has no procedure", k)
			}
			if agency != statsAll && procedure != statsAll {
				if err := emit(agency, procedure, v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// returnWait measures how long the dossiers resolved and not yet returned
// have waited at q.WaitAt, under q's kind and filters, with the catalog's
// calendar. It walks the status index's keys of status 9 and reads each
// dossier's record: its cost grows with the dossiers waiting, not with
// the store (BenchmarkReturnWait).
func returnWait(ctx context.Context, b *buckets, cat *workflow.Catalog, q workflow.StatsQuery) (workflow.ReturnWait, error) {
	w := workflow.ReturnWait{At: q.WaitAt}
	cal := cat.Calendar()
	day := cal.Config().Hours.Day()
	kind := statsKind(q.Kind)
	sectors := map[string]string{}
	prefix := statusPrefix(workflow.StatusResolved)
	var d workflow.Dossier
	n := 0
	c := b.byStatus.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if n++; n%ctxEvery == 0 && ctx.Err() != nil {
			return w, ctx.Err()
		}
		code := k[len(prefix):]
		v := b.dossiers.Get(code)
		if v == nil {
			return w, fmt.Errorf("status index names %q, which has no record", code)
		}
		if err := decodeDossier(v, &d); err != nil {
			return w, fmt.Errorf("dossier %q: %w", code, err)
		}
		if d.Terminal || kindOf(cat, &d) != kind || (q.Agency != "" && d.Agency != q.Agency) ||
			(q.Procedure != "" && d.Procedure != q.Procedure) {
			continue
		}
		if q.Sector != "" {
			sec, ok := sectors[d.Procedure]
			if !ok {
				sec = cat.Sector(d.Procedure)
				sectors[d.Procedure] = sec
			}
			if sec != q.Sector {
				continue
			}
		}
		w.Add(d.Code, cal.Working(d.ResolvedAt, q.WaitAt), day)
	}
	return w, nil
}
