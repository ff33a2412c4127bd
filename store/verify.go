package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/workflow"
)

// What verification checks, and what it cannot.
//
// A dossier (DB.Verify, DB.VerifyAll, DB.VerifyPage) is checked against
// its own history: the hash chain (workflow.VerifyChain), the record
// against the fold of the entries under its definition
// (workflow.Catalog.CheckRecord), each entry's sequence (increasing, at
// or below the applied sequence) and its event id in dedupe, and the
// record's counts of rejections and mismatches against the rows that
// name it.
//
// The store as a whole (DB.VerifyStore) is checked in one read
// transaction: every index key points at a record that has that value and
// every record has its key in each index it belongs to; the counters, the
// statistics rows and the history length equal a recount; every
// rejection, mismatch and outcome row sits under its sequence, at or below
// the applied sequence; no history entry applied the sequence of a
// rejection; a mismatch of an applied event has no rejection at its
// sequence and one of a rejected event has.
//
// All of this is checked from inside the file, so it catches an edit
// that leaves the file inconsistent. A writer who rewrites consistently
// (deletes a rejection and fixes every counter and index, or rewrites a
// whole chain and the record with it) is not seen by any check inside
// the file: what catches that is a hash held outside it, the entry hash
// each sender received in its outcome and signed checkpoints.

// Verify checks the dossier with the code, read in one transaction with
// its history and the rows that name it: the hash chain, the record
// against what its history implies, the entries' sequences and dedupe
// keys, its counts of rejections and mismatches. What is wrong is a
// report (OK false, BrokenAt and Problem for the chain, Findings for the
// rest), not an error; a missing dossier is an error wrapping
// workflow.ErrNotFound.
func (db *DB) Verify(ctx context.Context, code string) (workflow.ChainReport, error) {
	var r workflow.ChainReport
	err := db.view(ctx, func(b *buckets) error {
		d, err := b.dossier(code)
		if err != nil {
			return err
		}
		applied, err := appliedSeq(b.meta)
		if err != nil {
			return err
		}
		_, r = b.verifyDossier(db.Catalog(), applied, nil, d)
		return nil
	})
	if err != nil {
		return workflow.ChainReport{}, fmt.Errorf("verify %q: %w", code, err)
	}
	return r, nil
}

// VerifyStore checks, in one read transaction, what spans dossiers: the
// indexes, counters and statistics rows against a recount of the records,
// the rejection, mismatch and outbox rows against their keys, indexes and
// the applied sequence, and the history's length. It returns what it
// found wrong, in a stable order; nil when nothing. It reads every record
// and index key, so its transaction lasts as long as that takes (0.4 s
// for 100,000 dossiers in BenchmarkVerify); it complements VerifyAll,
// which checks each dossier against its history.
//
// A rejection deleted together with every counter and index key that
// counted it cannot be seen from inside the file (see the package's
// verification notes): signed checkpoints anchored outside it can.
func (db *DB) VerifyStore(ctx context.Context) ([]workflow.Finding, error) {
	var out []workflow.Finding
	err := db.view(ctx, func(b *buckets) error {
		var err error
		out, err = b.verifyStore(ctx, db.Catalog())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("verify store: %w", err)
	}
	return out, nil
}

// verifyDossier checks one dossier (see DB.Verify), reading its entries
// into the room of dst, which it returns for the next dossier.
func (b *buckets) verifyDossier(cat *workflow.Catalog, applied uint64, dst []workflow.HistoryEntry, d *workflow.Dossier) ([]workflow.HistoryEntry, workflow.ChainReport) {
	var v dossierVerifier
	return v.verify(b, cat, applied, dst, d)
}

// dossierVerifier verifies dossiers one after the other in one read
// transaction, with cursors and scratch space reused from one to the
// next.
type dossierVerifier struct {
	dedupe       getter
	rejByDossier *bbolt.Cursor
	misByDossier *bbolt.Cursor
	key          []byte
}

func (dv *dossierVerifier) verify(b *buckets, cat *workflow.Catalog, applied uint64, dst []workflow.HistoryEntry, d *workflow.Dossier) ([]workflow.HistoryEntry, workflow.ChainReport) {
	entries, err := b.historyInto(dst, d.Code)
	r := workflow.VerifyChain(d, entries)
	var ee *entryError
	if errors.As(err, &ee) {
		if r.OK || r.BrokenAt >= ee.Position {
			r.OK, r.BrokenAt, r.Problem = false, ee.Position, fmt.Sprintf("entry %d does not decode: %v", ee.Position, ee.Err)
		}
		return entries, r // the record cannot be compared with part of its history
	}
	r.Findings = cat.CheckRecord(d, entries)
	add := func(f workflow.Finding) {
		f.Dossier = d.Code
		r.Findings = append(r.Findings, f)
	}
	var prev uint64
	for i := range entries {
		e := &entries[i]
		field := func() string { return "history[" + strconv.Itoa(i) + "].seq" }
		switch {
		case e.Seq <= prev:
			add(workflow.Finding{Field: field(), Want: "> " + strconv.FormatUint(prev, 10), Got: strconv.FormatUint(e.Seq, 10),
				Problem: fmt.Sprintf("entry %d has sequence %d, not after the entry before it (%d)", i, e.Seq, prev)})
		case e.Seq > applied:
			add(workflow.Finding{Field: field(), Want: "<= " + strconv.FormatUint(applied, 10), Got: strconv.FormatUint(e.Seq, 10),
				Problem: fmt.Sprintf("entry %d has sequence %d, above the applied sequence %d", i, e.Seq, applied)})
		}
		prev = e.Seq
		dv.key = appendDedupeKey(dv.key[:0], e.Source, e.Action, e.EventID)
		v := dv.dedupe.get(b.dedupe, dv.key)
		if seq, n := binary.Uvarint(v); n <= 0 || n != len(v) || seq != e.Seq {
			got := "none"
			if v != nil {
				got = strconv.FormatUint(seq, 10)
			}
			add(workflow.Finding{Bucket: bucketDedupe, Key: e.EventID, Want: strconv.FormatUint(e.Seq, 10), Got: got,
				Problem: fmt.Sprintf("the event id of entry %d is not recorded in dedupe at its sequence", i)})
		}
	}
	var created uint64 // rejections before the first entry do not count
	if len(entries) > 0 {
		created = entries[0].Seq
	}
	if dv.rejByDossier == nil {
		dv.rejByDossier, dv.misByDossier = b.rejByDossier.Cursor(), b.misByDossier.Cursor()
	}
	dv.key = append(append(dv.key[:0], d.Code...), sep)
	rej := countSeqKeys(dv.rejByDossier, dv.key, created)
	mis := countSeqKeys(dv.misByDossier, dv.key, 0)
	if rej != d.Rejections {
		add(workflow.Finding{Field: "rejections", Want: strconv.Itoa(rej), Got: strconv.Itoa(d.Rejections),
			Problem: fmt.Sprintf("the record counts %d rejections, %d are recorded after its first entry", d.Rejections, rej)})
	}
	if mis != d.Mismatches {
		add(workflow.Finding{Field: "mismatches", Want: strconv.Itoa(mis), Got: strconv.Itoa(d.Mismatches),
			Problem: fmt.Sprintf("the record counts %d mismatches, %d are recorded", d.Mismatches, mis)})
	}
	if len(r.Findings) > 0 {
		r.OK = false
	}
	return entries, r
}

// countSeqKeys counts the keys prefix seq (prefix is part 0x00) of the
// index c walks whose sequence is above after.
func countSeqKeys(c *bbolt.Cursor, prefix []byte, after uint64) int {
	n := 0
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if seq, ok := seqSuffix(k, prefix); ok && seq > after {
			n++
		}
	}
	return n
}

// storeCheck is the state of one verifyStore.
type storeCheck struct {
	b    *buckets
	cat  *workflow.Catalog
	seed maphash.Seed
	out  []workflow.Finding
	want map[string]uint64 // counters as a recount gives them
	// rejected holds the sequences of the rejection rows, in order, for
	// history to check that no entry applied one of them.
	rejected []uint64
	// ids holds the dossier ids the records hold, sorted without
	// repeats, for history to find the owner of each entry: 4 bytes a
	// dossier, where a map to the codes would take some 60.
	ids []uint32
}

func (s *storeCheck) add(f workflow.Finding) { s.out = append(s.out, f) }

// keySet sums the keys expected in an index: their number and the sum of
// their hashes, which the keys the index holds must match.
type keySet struct{ n, sum uint64 }

func (k *keySet) put(seed maphash.Seed, key []byte) {
	k.n++
	k.sum += maphash.Bytes(seed, key)
}

// scan returns the keySet of the keys ix holds, and reports each key
// with a value (index keys have none).
func (s *storeCheck) scan(ctx context.Context, name string, ix *bbolt.Bucket) (keySet, error) {
	var got keySet
	c := ix.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if got.n%ctxEvery == 0 && ctx.Err() != nil {
			return got, ctx.Err()
		}
		got.put(s.seed, k)
		if len(v) != 0 {
			s.add(workflow.Finding{Bucket: name, Key: keyText(name, k), Problem: "the index key has a value"})
		}
	}
	return got, nil
}

// verifyStore is DB.VerifyStore in the transaction of b.
func (b *buckets) verifyStore(ctx context.Context, cat *workflow.Catalog) ([]workflow.Finding, error) {
	s := &storeCheck{b: b, cat: cat, seed: maphash.MakeSeed(), want: map[string]uint64{}}
	if v, err := decodeUint64(b.meta.Get([]byte(metaSchema))); err != nil || v != schemaVersion {
		s.add(workflow.Finding{Bucket: bucketMeta, Key: metaSchema, Want: strconv.Itoa(schemaVersion), Got: fmt.Sprint(v),
			Problem: "the schema version is not the one Open leaves"})
	}
	applied, err := appliedSeq(b.meta)
	if err != nil {
		s.add(workflow.Finding{Bucket: bucketMeta, Key: metaAppliedSeq, Problem: err.Error()})
	}
	for _, step := range []func(context.Context, uint64) error{
		s.dossiers, s.rejections, s.history, s.mismatches, s.irregularities, s.outbox, s.calendars, s.periods, s.counters,
	} {
		if err := step(ctx, applied); err != nil {
			return nil, err
		}
	}
	return s.out, nil
}

// dossiers recounts the dossier records into the counters, the
// statistics rows and the dossier indexes, and compares the last two.
func (s *storeCheck) dossiers(ctx context.Context, _ uint64) error {
	b := s.b
	var (
		expect [len(dossierIndexes)]keySet
		stats  = newStatsDeltas()
		d      workflow.Dossier
		key    []byte
		n      int
	)
	next, err := nextDossierID(b.meta)
	if err != nil {
		s.add(workflow.Finding{Bucket: bucketMeta, Key: metaNextDossierID, Problem: err.Error()})
	}
	s.ids = s.ids[:0]
	c := b.dossiers.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if n++; n%ctxEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		id, err := decodeDossierID(v, &d)
		if err != nil {
			s.add(workflow.Finding{Dossier: string(k), Bucket: bucketDossiers, Key: string(k), Problem: fmt.Sprintf("the record does not decode: %v", err)})
			continue
		}
		if d.Code != string(k) {
			s.add(workflow.Finding{Dossier: string(k), Field: "code", Want: string(k), Got: d.Code, Problem: "the record is stored under another code"})
		}
		s.ids = append(s.ids, id)
		if uint64(id) >= next {
			s.add(workflow.Finding{Dossier: string(k), Field: "id", Bucket: bucketMeta, Key: metaNextDossierID,
				Want: "< " + strconv.FormatUint(next, 10), Got: strconv.FormatUint(uint64(id), 10),
				Problem: "the dossier id is not below the next id to give (meta " + metaNextDossierID + ")"})
		}
		s.want[countDossiers]++
		stats.add(s.cat, nil, &d)
		for i := range dossierIndexes {
			ix := &dossierIndexes[i]
			var in bool
			if key, in = ix.appendKey(key[:0], &d); in {
				expect[i].put(s.seed, key)
				s.want[ix.count(&d)]++
			}
		}
	}
	if err := s.sharedIDs(ctx); err != nil {
		return err
	}
	for i := range dossierIndexes {
		ix := &dossierIndexes[i]
		got, err := s.scan(ctx, ix.name, ix.bucket(b))
		if err != nil {
			return err
		}
		if got != expect[i] {
			if err := s.dossierIndexDiff(ctx, ix); err != nil {
				return err
			}
		}
	}
	s.compareStats(bucketStats, b.stats, stats.flows)
	s.compareStats(bucketGauges, b.gauges, stats.gauges)
	return nil
}

// sharedIDs sorts s.ids and drops its repeats, naming each record whose
// id an earlier record (in code order) holds too.
func (s *storeCheck) sharedIDs(ctx context.Context) error {
	slices.Sort(s.ids)
	var shared map[uint32]string // id -> the first record's code
	for i := 1; i < len(s.ids); i++ {
		if s.ids[i] == s.ids[i-1] {
			if shared == nil {
				shared = map[uint32]string{}
			}
			shared[s.ids[i]] = ""
		}
	}
	s.ids = slices.Compact(s.ids)
	if shared == nil {
		return nil
	}
	n := 0
	c := s.b.dossiers.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if n++; n%ctxEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		id, err := dossierIDOf(v)
		if err != nil {
			continue // reported by dossiers
		}
		first, ok := shared[id]
		switch {
		case !ok:
		case first == "":
			shared[id] = string(k)
		default:
			s.add(workflow.Finding{Dossier: string(k), Field: "id", Bucket: bucketDossiers, Key: string(k), Got: strconv.FormatUint(uint64(id), 10),
				Problem: fmt.Sprintf("the dossier id is also the id of %q", first)})
		}
	}
	return nil
}

// codeOf returns the code of the record that holds the id, "" if none:
// a scan of the records, for a finding.
func (s *storeCheck) codeOf(id uint32) string {
	c := s.b.dossiers.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if got, err := dossierIDOf(v); err == nil && got == id {
			return string(k)
		}
	}
	return ""
}

// dossierIndexDiff names the keys of an index that differ from the
// records: keys without their record, and records without their key.
func (s *storeCheck) dossierIndexDiff(ctx context.Context, ix *dossierIndex) error {
	b := s.b
	bucket := ix.bucket(b)
	var (
		d    workflow.Dossier
		want []byte
		n    int
	)
	c := bucket.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if n++; n%ctxEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		code, ok := ix.code(k)
		var v []byte
		if ok {
			v = b.dossiers.Get(code)
		}
		if v == nil || decodeDossier(v, &d) != nil {
			s.add(workflow.Finding{Dossier: string(code), Bucket: ix.name, Key: keyText(ix.name, k), Problem: "the index key names no dossier record"})
			continue
		}
		var in bool
		want, in = ix.appendKey(want[:0], &d)
		if !in || !bytes.Equal(want, k) {
			f := workflow.Finding{Dossier: d.Code, Bucket: ix.name, Key: keyText(ix.name, k), Got: keyText(ix.name, k),
				Problem: "the index key does not match the dossier's record"}
			if in {
				f.Want = keyText(ix.name, want)
			}
			s.add(f)
		}
	}
	n = 0
	c = b.dossiers.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if n++; n%ctxEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if decodeDossier(v, &d) != nil {
			continue // reported by dossiers
		}
		var in bool
		if want, in = ix.appendKey(want[:0], &d); in && bucket.Get(want) == nil {
			s.add(workflow.Finding{Dossier: d.Code, Bucket: ix.name, Want: keyText(ix.name, want),
				Problem: "the dossier's key is missing from the index"})
		}
	}
	return nil
}

// compareStats compares the rows of a statistics bucket with a recount.
func (s *storeCheck) compareStats(name string, bk *bbolt.Bucket, want map[string]*workflow.Tally) {
	seen := map[string]bool{}
	c := bk.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		got, err := decodeTally(v)
		if err != nil {
			s.add(workflow.Finding{Bucket: name, Key: keyText(name, k), Problem: fmt.Sprintf("the row does not decode: %v", err)})
			continue
		}
		seen[string(k)] = true
		var w workflow.Tally
		if t := want[string(k)]; t != nil {
			w = *t
		}
		if got != w {
			want, have := tallyDiff(w, got)
			s.add(workflow.Finding{Bucket: name, Key: keyText(name, k), Want: want, Got: have,
				Problem: "the statistics row differs from a recount of the dossiers"})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if !seen[k] && !want[k].IsZero() {
			w, _ := tallyDiff(*want[k], workflow.Tally{})
			s.add(workflow.Finding{Bucket: name, Key: keyText(name, []byte(k)), Want: w,
				Problem: "the statistics row is missing"})
		}
	}
}

// history counts the history entries, names entries whose dossier id
// no record holds, and entries at the sequence of a rejection row (a
// message is either applied or rejected). It reads only the sequence of
// each entry, which starts its record.
func (s *storeCheck) history(ctx context.Context, _ uint64) error {
	b := s.b
	var (
		n  uint64
		at int // of the first of s.ids not below the id of the last key
	)
	c := b.history.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if n++; n%ctxEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		id, index, ok := splitHistoryKey(k)
		if !ok {
			s.add(workflow.Finding{Bucket: bucketHistory, Key: strconv.Quote(string(k)), Problem: "the history key is malformed"})
			continue
		}
		// Keys and s.ids both ascend: one pass over each.
		for at < len(s.ids) && s.ids[at] < id {
			at++
		}
		if known := at < len(s.ids) && s.ids[at] == id; !known {
			s.add(workflow.Finding{Bucket: bucketHistory, Key: fmt.Sprintf("#%d/%d", id, index),
				Problem: "the history entry belongs to no dossier record (no record holds its dossier id)"})
		}
		if len(s.rejected) == 0 || len(v) < 2 || v[0] != recordVersion {
			continue // a record that does not decode is reported with its chain
		}
		seq, m := binary.Uvarint(v[1:])
		if _, found := slices.BinarySearch(s.rejected, seq); m > 0 && found {
			s.add(workflow.Finding{Dossier: s.codeOf(id), Field: "history[" + strconv.Itoa(index) + "].seq",
				Bucket: bucketRejections, Key: strconv.FormatUint(seq, 10),
				Problem: fmt.Sprintf("a rejection is recorded at sequence %d, which entry %d applied", seq, index)})
		}
	}
	s.want[countEntries] = n
	return nil
}

// rejections checks the rejection rows against their keys, the applied
// sequence and their two indexes, and counts them.
func (s *storeCheck) rejections(ctx context.Context, applied uint64) error {
	b := s.b
	var (
		byDossier, byReason keySet
		r                   workflow.Rejection
		n                   int
	)
	c := b.rejections.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if n++; n%ctxEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		key := seqText(k)
		if err := decodeRejection(v, &r); err != nil {
			s.add(workflow.Finding{Bucket: bucketRejections, Key: key, Problem: fmt.Sprintf("the rejection does not decode: %v", err)})
			continue
		}
		s.checkRow(bucketRejections, k, r.Seq, r.Dossier, applied)
		if len(k) == 8 {
			s.rejected = append(s.rejected, seqOf(k))
		}
		s.want[countRejections]++
		s.want[countReasonPrefix+string(r.Reason)]++
		ik := prefixSeqKey(string(r.Reason), r.Seq)
		byReason.put(s.seed, ik)
		if b.rejByReason.Get(ik) == nil {
			s.add(workflow.Finding{Dossier: r.Dossier, Bucket: bucketRejByReason, Want: keyText(bucketRejByReason, ik),
				Problem: fmt.Sprintf("rejection %d is missing from the index by reason", r.Seq)})
		}
		if keyPart(r.Dossier) {
			ik = prefixSeqKey(r.Dossier, r.Seq)
			byDossier.put(s.seed, ik)
			if b.rejByDossier.Get(ik) == nil {
				s.add(workflow.Finding{Dossier: r.Dossier, Bucket: bucketRejByDossier, Want: keyText(bucketRejByDossier, ik),
					Problem: fmt.Sprintf("rejection %d is missing from the index by dossier", r.Seq)})
			}
		}
	}
	for _, x := range []struct {
		name   string
		ix     *bbolt.Bucket
		expect keySet
		part   func(*workflow.Rejection) string
	}{
		{bucketRejByReason, b.rejByReason, byReason, func(r *workflow.Rejection) string { return string(r.Reason) }},
		{bucketRejByDossier, b.rejByDossier, byDossier, func(r *workflow.Rejection) string { return r.Dossier }},
	} {
		got, err := s.scan(ctx, x.name, x.ix)
		if err != nil {
			return err
		}
		if got != x.expect {
			s.seqIndexExtras(x.name, x.ix, bucketRejections, b.rejections, func(v []byte) (string, error) {
				err := decodeRejection(v, &r)
				return x.part(&r), err
			})
		}
	}
	return nil
}

// mismatches checks the mismatch rows against their keys, the applied
// sequence, the rejections and their index, and counts them.
func (s *storeCheck) mismatches(ctx context.Context, applied uint64) error {
	b := s.b
	var (
		expect keySet
		m      workflow.Mismatch
		n      int
	)
	c := b.mismatches.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if n++; n%ctxEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		key := seqText(k)
		if err := decodeMismatch(v, &m); err != nil {
			s.add(workflow.Finding{Bucket: bucketMismatches, Key: key, Problem: fmt.Sprintf("the mismatch does not decode: %v", err)})
			continue
		}
		s.checkRow(bucketMismatches, k, m.Seq, m.Dossier, applied)
		s.want[countMismatches]++
		rejected := b.rejections.Get(k) != nil
		switch {
		case m.Applied && rejected:
			s.add(workflow.Finding{Dossier: m.Dossier, Bucket: bucketMismatches, Key: key,
				Problem: fmt.Sprintf("the mismatch says event %d was applied, but a rejection is recorded at its sequence", m.Seq)})
		case !m.Applied && !rejected:
			s.add(workflow.Finding{Dossier: m.Dossier, Bucket: bucketMismatches, Key: key,
				Problem: fmt.Sprintf("the mismatch says event %d was rejected, but no rejection is recorded at its sequence", m.Seq)})
		}
		ik := prefixSeqKey(m.Dossier, m.Seq)
		expect.put(s.seed, ik)
		if b.misByDossier.Get(ik) == nil {
			s.add(workflow.Finding{Dossier: m.Dossier, Bucket: bucketMisByDossier, Want: keyText(bucketMisByDossier, ik),
				Problem: fmt.Sprintf("mismatch %d is missing from the index by dossier", m.Seq)})
		}
	}
	got, err := s.scan(ctx, bucketMisByDossier, b.misByDossier)
	if err != nil {
		return err
	}
	if got != expect {
		s.seqIndexExtras(bucketMisByDossier, b.misByDossier, bucketMismatches, b.mismatches, func(v []byte) (string, error) {
			err := decodeMismatch(v, &m)
			return m.Dossier, err
		})
	}
	return nil
}

// irregularities checks the irregularity rows against their keys, the
// applied sequence, the history (an irregularity is of an accepted event),
// their two indexes and the tallies by agency, kind and officer, and
// counts them.
func (s *storeCheck) irregularities(ctx context.Context, applied uint64) error {
	b := s.b
	var byDossier, byKind keySet
	tallies := map[string]irrTally{}
	n := 0
	c := b.irregular.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if n++; n%ctxEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		key := seqText(k)
		irs, err := decodeIrregularities(v)
		if err != nil || len(irs) == 0 {
			s.add(workflow.Finding{Bucket: bucketIrregular, Key: key, Problem: fmt.Sprintf("the irregularities do not decode: %v", err)})
			continue
		}
		ev := &irs[0]
		s.checkRow(bucketIrregular, k, ev.Seq, ev.Dossier, applied)
		if b.rejections.Get(k) != nil {
			s.add(workflow.Finding{Dossier: ev.Dossier, Bucket: bucketIrregular, Key: key,
				Problem: fmt.Sprintf("irregularities are recorded for event %d, which was rejected", ev.Seq)})
		}
		ik := prefixSeqKey(ev.Dossier, ev.Seq)
		byDossier.put(s.seed, ik)
		if b.irrByDossier.Get(ik) == nil {
			s.add(workflow.Finding{Dossier: ev.Dossier, Bucket: bucketIrrByDossier, Want: keyText(bucketIrrByDossier, ik),
				Problem: fmt.Sprintf("irregularity %d is missing from the index by dossier", ev.Seq)})
		}
		for i := range irs {
			s.want[countIrregular]++
			s.want[countIrregularPrefix+string(irs[i].Kind)]++
			tk := string(appendIrrTallyKey(nil, irs[i].Agency, irs[i].Kind, irs[i].Actor))
			t := tallies[tk]
			t.add(&irs[i])
			tallies[tk] = t
			ik := prefixSeqKey(string(irs[i].Kind), ev.Seq)
			byKind.put(s.seed, ik)
			if b.irrByKind.Get(ik) == nil {
				s.add(workflow.Finding{Dossier: ev.Dossier, Bucket: bucketIrrByKind, Want: keyText(bucketIrrByKind, ik),
					Problem: fmt.Sprintf("irregularity %d (%s) is missing from the index by kind", ev.Seq, irs[i].Kind)})
			}
		}
	}
	for _, x := range []struct {
		name   string
		ix     *bbolt.Bucket
		expect keySet
		// of tells whether the row v has the part of the key.
		of func(v []byte, part string) (bool, error)
	}{
		{bucketIrrByDossier, b.irrByDossier, byDossier, func(v []byte, part string) (bool, error) {
			irs, err := decodeIrregularities(v)
			return err == nil && len(irs) > 0 && irs[0].Dossier == part, err
		}},
		{bucketIrrByKind, b.irrByKind, byKind, func(v []byte, part string) (bool, error) {
			irs, err := decodeIrregularities(v)
			return slices.ContainsFunc(irs, func(ir workflow.Irregularity) bool { return string(ir.Kind) == part }), err
		}},
	} {
		got, err := s.scan(ctx, x.name, x.ix)
		if err != nil {
			return err
		}
		if got != x.expect {
			s.irregularIndexExtras(x.name, x.ix, x.of)
		}
	}
	s.irregularTallies(tallies)
	return nil
}

// irregularIndexExtras names the keys part 0x00 seq of an index of the
// irregularities that name no row, or a row that of says does not have
// the part.
func (s *storeCheck) irregularIndexExtras(name string, ix *bbolt.Bucket, of func(v []byte, part string) (bool, error)) {
	c := ix.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		i := len(k) - 8
		if i < 1 || k[i-1] != sep {
			s.add(workflow.Finding{Bucket: name, Key: strconv.Quote(string(k)), Problem: "the index key is malformed"})
			continue
		}
		v := s.b.irregular.Get(k[i:])
		if v == nil {
			s.add(workflow.Finding{Bucket: name, Key: keyText(name, k),
				Problem: fmt.Sprintf("the index key names sequence %d, which has no row in %s", seqOf(k[i:]), bucketIrregular)})
			continue
		}
		if ok, err := of(v, string(k[:i-1])); err == nil && !ok {
			s.add(workflow.Finding{Bucket: name, Key: keyText(name, k),
				Problem: fmt.Sprintf("the index key does not match row %d", seqOf(k[i:]))})
		}
	}
}

// irregularTallies compares the rows of irr_tally with a recount of the
// irregularities.
func (s *storeCheck) irregularTallies(want map[string]irrTally) {
	text := func(t irrTally) string { return fmt.Sprintf("count:%d delay:%ds", t.n, t.delay) }
	seen := map[string]bool{}
	c := s.b.irrTally.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		key := keyText(bucketIrrTally, k)
		if _, _, _, ok := splitIrrTallyKey(k); !ok {
			s.add(workflow.Finding{Bucket: bucketIrrTally, Key: key, Problem: "the tally key is malformed"})
			continue
		}
		got, err := decodeIrrTally(v)
		if err != nil {
			s.add(workflow.Finding{Bucket: bucketIrrTally, Key: key, Problem: fmt.Sprintf("the tally does not decode: %v", err)})
			continue
		}
		seen[string(k)] = true
		if w := want[string(k)]; got != w {
			s.add(workflow.Finding{Bucket: bucketIrrTally, Key: key, Want: text(w), Got: text(got),
				Problem: "the tally differs from a recount of the irregularities"})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if !seen[k] {
			s.add(workflow.Finding{Bucket: bucketIrrTally, Key: keyText(bucketIrrTally, []byte(k)), Want: text(want[k]),
				Problem: "the tally is missing"})
		}
	}
}

// calendars checks the recorded calendars: each reads as a calendar, under
// a sequence at or below the applied one, the first under 0 (the calendar
// the store started with, recorded with its first batch), the others
// under the sequence of an applied calendar event, never of a rejected
// message.
func (s *storeCheck) calendars(_ context.Context, applied uint64) error {
	b := s.b
	n := 0
	c := b.calendars.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		n++
		key := seqText(k)
		if len(k) != 8 {
			s.add(workflow.Finding{Bucket: bucketCalendars, Key: key, Problem: "the calendar key is not a sequence"})
			continue
		}
		seq := seqOf(k)
		if _, err := decodeCalendar(v, s.cat.Calendar().Config()); err != nil {
			s.add(workflow.Finding{Bucket: bucketCalendars, Key: key, Problem: fmt.Sprintf("the calendar does not read: %v", err)})
		}
		switch {
		case n == 1 && seq != 0:
			s.add(workflow.Finding{Bucket: bucketCalendars, Key: key, Want: "0",
				Problem: "no calendar is recorded for the start of the stream"})
		case seq > applied:
			s.add(workflow.Finding{Bucket: bucketCalendars, Key: key, Want: "<= " + strconv.FormatUint(applied, 10),
				Problem: fmt.Sprintf("a calendar is recorded from sequence %d, above the applied sequence %d", seq, applied)})
		case seq > 0 && b.rejections.Get(k) != nil:
			s.add(workflow.Finding{Bucket: bucketCalendars, Key: key,
				Problem: fmt.Sprintf("a calendar is recorded from sequence %d, whose message was rejected", seq)})
		}
	}
	if n == 0 && applied > 0 {
		s.add(workflow.Finding{Bucket: bucketCalendars, Want: "0",
			Problem: "no calendar is recorded: the store applied messages without recording the calendar it counted in"})
	}
	return nil
}

// checkRow checks that a row of a sequence-keyed table sits under its own
// sequence, at or below the applied one.
func (s *storeCheck) checkRow(name string, k []byte, seq uint64, dossier string, applied uint64) {
	switch {
	case len(k) != 8 || seqOf(k) != seq:
		s.add(workflow.Finding{Dossier: dossier, Bucket: name, Key: seqText(k), Want: strconv.FormatUint(seq, 10), Got: seqText(k),
			Problem: fmt.Sprintf("row %d is stored under another sequence", seq)})
	case seq > applied:
		s.add(workflow.Finding{Dossier: dossier, Bucket: name, Key: seqText(k), Want: "<= " + strconv.FormatUint(applied, 10), Got: strconv.FormatUint(seq, 10),
			Problem: fmt.Sprintf("row %d is above the applied sequence %d", seq, applied)})
	}
}

// seqIndexExtras names the keys part 0x00 seq of an index that name no
// row of table, or a row whose part (as part decodes it) differs.
func (s *storeCheck) seqIndexExtras(name string, ix *bbolt.Bucket, tableName string, table *bbolt.Bucket, part func(v []byte) (string, error)) {
	c := ix.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		i := len(k) - 8
		if i < 1 || k[i-1] != sep {
			s.add(workflow.Finding{Bucket: name, Key: strconv.Quote(string(k)), Problem: "the index key is malformed"})
			continue
		}
		v := table.Get(k[i:])
		if v == nil {
			s.add(workflow.Finding{Bucket: name, Key: keyText(name, k),
				Problem: fmt.Sprintf("the index key names sequence %d, which has no row in %s", seqOf(k[i:]), tableName)})
			continue
		}
		p, err := part(v)
		if err != nil {
			continue // reported with the row
		}
		if p != string(k[:i-1]) {
			s.add(workflow.Finding{Bucket: name, Key: keyText(name, k), Want: p, Got: string(k[:i-1]),
				Problem: fmt.Sprintf("the index key does not match row %d", seqOf(k[i:]))})
		}
	}
}

// outbox checks the outbox chunks and counts their outcomes.
func (s *storeCheck) outbox(ctx context.Context, applied uint64) error {
	var (
		o    workflow.Outcome
		last uint64
		n    int
	)
	c := s.b.outbox.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if n++; n%ctxEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		r := newChunkReader(v)
		var end uint64
		for r.next() {
			if err := decodeOutcome(r.record, &o); err != nil {
				s.add(workflow.Finding{Bucket: bucketOutbox, Key: seqText(k), Problem: fmt.Sprintf("outcome %d does not decode: %v", r.seq, err)})
				continue
			}
			if o.Seq != r.seq || o.Seq <= last || o.Seq > applied {
				s.add(workflow.Finding{Dossier: o.Dossier, Bucket: bucketOutbox, Key: seqText(k), Got: strconv.FormatUint(o.Seq, 10),
					Problem: fmt.Sprintf("outcome %d is out of order or above the applied sequence %d", o.Seq, applied)})
			}
			last, end = o.Seq, o.Seq
			s.want[countOutbox]++
		}
		if r.err != nil {
			s.add(workflow.Finding{Bucket: bucketOutbox, Key: seqText(k), Problem: r.err.Error()})
		} else if len(k) != 8 || end != seqOf(k) {
			s.add(workflow.Finding{Bucket: bucketOutbox, Key: seqText(k), Want: strconv.FormatUint(end, 10), Got: seqText(k),
				Problem: "the outbox chunk is not stored under the sequence of its last outcome"})
		}
	}
	return nil
}

// counters compares the stored counters with the recount.
func (s *storeCheck) counters(context.Context, uint64) error {
	got := map[string]uint64{}
	err := s.b.counts.ForEach(func(k, v []byte) error {
		n, err := decodeUint64(v)
		if err != nil {
			s.add(workflow.Finding{Bucket: bucketCounts, Key: string(k), Problem: fmt.Sprintf("the counter does not decode: %v", err)})
		}
		got[string(k)] = n
		return nil
	})
	if err != nil {
		return err
	}
	keys := slices.Sorted(maps.Keys(s.want))
	for k := range got {
		if _, ok := s.want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys[len(s.want):])
	for _, k := range keys {
		if w, g := s.want[k], got[k]; w != g {
			s.add(workflow.Finding{Bucket: bucketCounts, Key: k, Want: strconv.FormatUint(w, 10), Got: strconv.FormatUint(g, 10),
				Problem: fmt.Sprintf("counter %q is %d, a recount gives %d", k, g, w)})
		}
	}
	return nil
}

// seqText shows a sequence key in decimal.
func seqText(k []byte) string {
	if len(k) != 8 {
		return strconv.Quote(string(k))
	}
	return strconv.FormatUint(seqOf(k), 10)
}

// keyText shows a key of the named bucket in words: its parts separated
// by spaces, sequences in decimal, due dates in RFC 3339, each part
// Go-quoted when it is not printable text.
func keyText(bucket string, k []byte) string {
	part := func(p []byte) string {
		if utf8.Valid(p) && !bytes.ContainsFunc(p, func(r rune) bool { return !unicode.IsPrint(r) }) {
			return string(p)
		}
		return strconv.Quote(string(p))
	}
	switch bucket {
	case bucketByStatus:
		if len(k) > 1 {
			return strconv.Itoa(int(k[0])) + " " + part(k[1:])
		}
	case bucketByDue, bucketByOverdue, bucketByPaused:
		if len(k) > 8 {
			due := time.Unix(0, int64(binary.BigEndian.Uint64(k))).In(workflow.Zone)
			return due.Format(time.RFC3339Nano) + " " + part(k[8:])
		}
	case bucketByReceived:
		if len(k) > receivedDateLen {
			return part(k[:receivedDateLen]) + " " + part(k[receivedDateLen:])
		}
	case bucketByAgency, bucketByProcedure:
		if i := bytes.IndexByte(k, sep); i >= 0 {
			return part(k[:i]) + " " + part(k[i+1:])
		}
	case bucketRejByDossier, bucketRejByReason, bucketMisByDossier, bucketIrrByDossier, bucketIrrByKind:
		if i := len(k) - 8; i >= 1 && k[i-1] == sep {
			return part(k[:i-1]) + " " + strconv.FormatUint(seqOf(k[i:]), 10)
		}
	case bucketIrrTally:
		if agency, kind, actor, ok := splitIrrTallyKey(k); ok {
			return part([]byte(agency)) + " " + part([]byte(kind)) + " " + part([]byte(actor))
		}
	case bucketStats, bucketGauges:
		if len(k) > 1 {
			parts := bytes.Split(k[1:], []byte{sep})
			out := part(k[:1]) // the kind: d for dossiers, f for feedback
			for _, p := range parts {
				out += " " + part(p)
			}
			return out
		}
	}
	return part(k)
}

// tallyDiff shows the counters in which two tallies differ, as
// "Name:value" separated by spaces: those of a, then those of b.
func tallyDiff(a, b workflow.Tally) (string, string) {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var sa, sb []string
	for i := range va.NumField() {
		x, y := va.Field(i), vb.Field(i)
		if x.Equal(y) {
			continue
		}
		name := va.Type().Field(i).Name
		sa = append(sa, fmt.Sprintf("%s:%v", name, x))
		sb = append(sb, fmt.Sprintf("%s:%v", name, y))
	}
	return strings.Join(sa, " "), strings.Join(sb, " ")
}
