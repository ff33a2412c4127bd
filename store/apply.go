package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/workflow"
)

// Apply applies a batch of stream messages in one transaction (group
// commit: one fsync for the whole batch) and returns what it did, with
// one outcome per applied envelope in stream order.
//
// Envelopes at or below the applied sequence are skipped (redeliveries).
// For each other envelope, in order, Apply rejects an event whose id was
// already decided as a duplicate, decides it with the catalog against the
// dossier it names (as left by the earlier envelopes of the batch), and
// writes the dossier, its history entry or the rejection, any status
// mismatch, the event id into the permanent dedupe, the outcome into the
// outbox, the indexes and the counters; last, the applied sequence.
//
// Apply never leaves a batch half-applied: on any error (ctx ended, an
// envelope with neither event nor rejection, I/O) nothing of the batch is
// written, and the caller may retry the same batch. It does not modify
// the envelopes, and what it writes never depends on the wall clock (it
// reads it only to time the commit for Options.OnCommit).
func (db *DB) Apply(ctx context.Context, batch []workflow.Envelope) (workflow.BatchResult, error) {
	if err := ctx.Err(); err != nil {
		return workflow.BatchResult{}, fmt.Errorf("apply batch: %w", err)
	}
	tx, err := db.bolt.Begin(true)
	if err != nil {
		return workflow.BatchResult{}, fmt.Errorf("apply batch: %w", closedErr(err))
	}
	defer tx.Rollback() // after Commit, a no-op that returns ErrTxClosed
	b, err := openBuckets(tx)
	if err != nil {
		return workflow.BatchResult{}, fmt.Errorf("apply batch: %w", err)
	}
	before := db.catalog.Load()
	bt := &batchTx{b: b, catalog: before, working: map[string]*working{}, deltas: deltas{},
		readDedupe: b.dedupe, readDossiers: b.dossiers, readMeta: b.meta, size: len(batch)}
	bt.mem.chunk = min(arenaChunk, max(arenaChunkMin, len(batch)*arenaPerEnvelope)) // small batches, small chunks
	bt.dmem.chunk = bt.mem.chunk
	bt.outbox = make([]byte, 0, 1+len(batch)*outboxPerOutcome)
	bt.outbox = append(bt.outbox, chunkVersion)
	var res workflow.BatchResult
	if len(batch) >= pipelineMin && runtime.GOMAXPROCS(0) >= pipelineCores && !batchWide(batch) {
		res, err = bt.applyPipelined(ctx, db.bolt, batch)
	} else {
		res, err = bt.apply(ctx, batch)
	}
	if err != nil {
		return workflow.BatchResult{}, fmt.Errorf("apply batch: %w", err)
	}
	if res.Accepted+res.Rejected == 0 {
		// A redelivery only: nothing to write, no fsync.
		return res, nil
	}
	if err := bt.recordCalendars(before); err != nil {
		return workflow.BatchResult{}, fmt.Errorf("apply batch: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return workflow.BatchResult{}, fmt.Errorf("apply batch: %w", err)
	}
	if db.beforeCommit != nil {
		if err := db.beforeCommit(); err != nil {
			return workflow.BatchResult{}, fmt.Errorf("apply batch: commit: %w", err)
		}
	}
	// The catalog in force changes before the batch is visible, so that a
	// reader that loads it in a read transaction never has one older than
	// the state it reads (a verification checks entries with it). Apply
	// calls are serialized by bbolt's one writer: nothing else replaces
	// it meanwhile.
	db.catalog.Store(bt.catalog)
	start := time.Now()
	if err := tx.Commit(); err != nil {
		db.catalog.Store(before)
		return workflow.BatchResult{}, fmt.Errorf("apply batch: commit: %w", err)
	}
	if db.onCommit != nil {
		db.onCommit(time.Since(start))
	}
	db.recorded.Store(true)
	db.logger.Debug("batch applied", "last_seq", res.LastSeq, "envelopes", len(batch),
		"accepted", res.Accepted, "rejected", res.Rejected, "skipped", res.Skipped)
	return res, nil
}

// batchTx is the state of one Apply transaction.
type batchTx struct {
	b       *buckets
	catalog *workflow.Catalog   // in force: a calendar event of the batch replaces it
	working map[string]*working // dossiers the batch touched, by code
	// calendars are the sequences of the batch's calendar events that
	// changed the calendar, to record (recordCalendars).
	calendars []uint64
	deltas    deltas              // counter changes
	tallies   map[string]irrTally // irr_tally changes, by key (appendIrrTallyKey)
	mem       arena               // bytes of the keys and values put
	outbox    []byte              // the outbox chunk of the batch's outcomes (outbox.go)
	scratch   []byte              // an outcome record on its way into outbox

	oldKey, newKey []byte // scratch space of moveIndexKeys

	// The decisions read the dedupe, dossier and meta buckets through
	// these: the write transaction's, or a read transaction's while a
	// decider goroutine runs (applyPipelined). Either holds the state as
	// committed before the batch; seen, working and ids hold what the
	// batch added.
	readDedupe, readDossiers, readMeta *bbolt.Bucket
	dedupe, dossiers                   getter              // the lookups of every envelope
	seen                               map[string]struct{} // dedupe keys of the batch's events but duplicates, while readDedupe is a read transaction's (nil otherwise: the batch's puts are read back)
	ids                                idAlloc             // the ids of the dossiers the batch creates
	dmem                               arena               // bytes of what the decisions encode
	size                               int                 // envelopes in the batch
}

// getter looks keys up in a bucket with one cursor: Bucket.Get makes a
// cursor for every call, which Apply would do twice per envelope.
type getter struct {
	c *bbolt.Cursor // nil until the first get
}

// get returns the value of key in bucket b, nil if absent. Seek places the
// cursor afresh, so puts into b between gets do no harm.
func (g *getter) get(b *bbolt.Bucket, key []byte) []byte {
	if g.c == nil {
		g.c = b.Cursor()
	}
	k, v := g.c.Seek(key)
	if !bytes.Equal(k, key) {
		return nil
	}
	return v
}

// working is a dossier as the batch sees it.
type working struct {
	stored *workflow.Dossier // as committed before the batch; nil if new
	cur    *workflow.Dossier // after the batch's envelopes so far
	dirty  bool              // cur must be written
	id     uint32            // the dossier's id (its history keys); 0 until it exists
}

func (bt *batchTx) apply(ctx context.Context, batch []workflow.Envelope) (workflow.BatchResult, error) {
	var res workflow.BatchResult
	applied, err := appliedSeq(bt.b.meta)
	if err != nil {
		return res, err
	}
	for i := range batch {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if batch[i].Seq <= applied {
			res.Skipped++
			continue
		}
		st, err := bt.decideOne(&batch[i])
		if err == nil {
			err = bt.writeOne(&st, &res)
		}
		if err != nil {
			return res, fmt.Errorf("seq %d: %w", batch[i].Seq, err)
		}
		applied = batch[i].Seq
	}
	return bt.finish(res, applied)
}

// finish writes what the batch changed once (flush), its outbox chunk and
// the applied sequence, after its last envelope.
func (bt *batchTx) finish(res workflow.BatchResult, applied uint64) (workflow.BatchResult, error) {
	res.LastSeq = applied
	if res.Accepted+res.Rejected == 0 {
		return res, nil
	}
	if err := bt.flush(); err != nil {
		return res, err
	}
	if err := bt.ids.write(bt.b.meta); err != nil {
		return res, err
	}
	if err := bt.b.outbox.Put(seqKey(applied), bt.outbox); err != nil {
		return res, fmt.Errorf("outbox: %w", err)
	}
	if err := bt.b.meta.Put([]byte(metaAppliedSeq), encodeUint64(applied)); err != nil {
		return res, fmt.Errorf("applied seq: %w", err)
	}
	return res, nil
}

// step is one envelope decided: what writeOne writes of it.
type step struct {
	env        workflow.Envelope // a copy: the decision completes the rejection it carries
	dec        workflow.Decision
	idKey      []byte // the event id as a key of dedupe; nil without an event
	duplicate  bool   // the id was decided before
	hkey, hval []byte // the history entry's key and value, if any
}

// decideOne decides one envelope against the dossiers and dedupe keys as
// the batch left them: it reads the stored state through readDedupe and
// readDossiers and keeps what the batch changes in seen and working. It
// encodes the history entry and appends the outcome to the outbox chunk,
// and writes nothing to the store: writeOne does.
func (bt *batchTx) decideOne(in *workflow.Envelope) (step, error) {
	st := step{env: *in}
	env := &st.env
	if env.Event == nil && env.Rejection == nil {
		return st, ErrInvalidEnvelope
	}
	if env.Rejection != nil {
		r := *env.Rejection
		env.Rejection = &r
	}
	if ev := env.Event; ev != nil {
		if msg := keyProblem(ev); msg != "" {
			// Unstorable: record it like a message the codec could not
			// read, keeping the codec's rejection if it made one.
			env.Event = nil
			if env.Rejection == nil {
				env.Rejection = workflow.Reject(env.Seq, env.Subject, env.Published, workflow.ReasonMalformed, "%s", msg)
				env.Rejection.Source = ev.Source
			}
		}
	}
	var code string // the dossier the message names, if any
	if e := env.Event; e != nil {
		code = e.Dossier
		st.idKey = bt.dmem.end(appendDedupeKey(bt.dmem.start(), e.Source, e.Action, e.ID))
		_, again := bt.seen[string(st.idKey)]
		if again || bt.dedupe.get(bt.readDedupe, st.idKey) != nil {
			env.RejectDuplicate()
			st.duplicate = true
		} else if bt.seen != nil {
			bt.seen[string(st.idKey)] = struct{}{}
		}
	} else {
		code = env.Rejection.Dossier
	}

	var (
		d   *workflow.Dossier
		err error
	)
	switch {
	case env.Event != nil && env.Event.Action == workflow.CalendarAction:
		// About no one dossier: every dossier it concerns.
		if st.dec, err = bt.applyCalendar(env); err != nil {
			return st, err
		}
	case env.Event != nil && env.Event.Action == workflow.PeriodCloseAction:
		// About no dossier: a snapshot of the gauges.
		if st.dec, err = bt.applyPeriodClose(env); err != nil {
			return st, err
		}
	default:
		if keyPart(code) {
			if d, err = bt.dossier(code); err != nil {
				return st, err
			}
		}
		st.dec = bt.catalog.Decide(d, env)
	}
	dec := &st.dec
	var w *working // of the dossier the decision changed
	if dec.Dossier != nil {
		w = bt.working[dec.Dossier.Code]
		if w == nil {
			// Decide only creates the dossier the event names, which
			// bt.dossier has just looked up.
			return st, fmt.Errorf("store: decision names dossier %q, not looked up", dec.Dossier.Code)
		}
		if w.id == 0 { // created by this envelope
			if w.id, err = bt.ids.assign(bt.readMeta); err != nil {
				return st, fmt.Errorf("dossier %q: %w", dec.Dossier.Code, err)
			}
		}
		w.cur, w.dirty = dec.Dossier, true
	}
	if e := dec.Entry; e != nil {
		if w == nil || e.Dossier != dec.Dossier.Code {
			return st, fmt.Errorf("store: history entry of dossier %q without its dossier", e.Dossier)
		}
		st.hkey = bt.dmem.end(appendHistoryKey(bt.dmem.start(), w.id, e.Index))
		st.hval = bt.dmem.end(appendEntry(bt.dmem.start(), e))
	}
	bt.outbox, bt.scratch = appendChunkOutcome(bt.outbox, bt.scratch, &dec.Outcome)
	return st, nil
}

// writeOne writes a decided envelope — its history entry or rejection,
// any mismatch and irregularities, its event id into dedupe — and counts
// it in res: everything but the dossier record, its indexes and the
// counters, which flush writes once per batch.
func (bt *batchTx) writeOne(st *step, res *workflow.BatchResult) error {
	b, dec := bt.b, &st.dec
	if e := dec.Entry; e != nil {
		if err := b.history.Put(st.hkey, st.hval); err != nil {
			return fmt.Errorf("history %s/%d: %w", e.Dossier, e.Index, err)
		}
		bt.deltas.add(countEntries, 1)
	}
	if r := dec.Rejection; r != nil {
		if err := bt.putRejection(r); err != nil {
			return err
		}
	}
	if m := dec.Mismatch; m != nil {
		if err := bt.putMismatch(m); err != nil {
			return err
		}
	}
	if len(dec.Irregularities) > 0 {
		if err := bt.putIrregularities(dec.Irregularities); err != nil {
			return err
		}
	}
	if e := st.env.Event; e != nil && !st.duplicate {
		if err := b.dedupe.Put(st.idKey, bt.mem.end(binary.AppendUvarint(bt.mem.start(), st.env.Seq))); err != nil {
			return fmt.Errorf("dedupe %q: %w", e.ID, err)
		}
	}
	bt.deltas.add(countOutbox, 1)
	if res.Outcomes == nil {
		res.Outcomes = make([]workflow.Outcome, 0, bt.size)
	}
	res.Outcomes = append(res.Outcomes, dec.Outcome)
	if dec.Rejection != nil {
		res.Rejected++
	} else {
		res.Accepted++ // a transition, or a deadline event that flags the dossier
	}
	return nil
}

// pipelineMin is the smallest batch Apply decides on a goroutine of its
// own (applyPipelined). A smaller batch is decided and written on one:
// handing decisions between goroutines costs more than it saves there.
var pipelineMin = 1024

// pipelineCores is the fewest cores (GOMAXPROCS) on which Apply decides
// on a goroutine of its own. On two cores, which serve shares with its
// NATS server, the decider finds no core free: hoso-bench's drain was no
// faster and spent about 5% more CPU an event (docs/performance.md), while
// the store alone applied batches 11–24% faster.
var pipelineCores = 4

// batchWide reports whether the batch holds a calendar or period-close
// event: each reads and writes beyond one dossier (the due indexes, the
// gauges) as the batch stands at its place, so such a batch is applied on
// one goroutine.
func batchWide(batch []workflow.Envelope) bool {
	for i := range batch {
		if e := batch[i].Event; e != nil && (e.Action == workflow.CalendarAction || e.Action == workflow.PeriodCloseAction) {
			return true
		}
	}
	return false
}

// stepChunk is the number of decided envelopes handed to the writer at a
// time.
const stepChunk = 128

// applyPipelined applies the batch as apply does, with the decisions made
// on a goroutine of their own while this one writes the envelopes decided
// before: the decider reads the state as committed before the batch
// through a read transaction of bolt (the write transaction is not safe
// for use by two goroutines) and keeps what the batch changes in memory,
// as apply does. The same envelopes get the same decisions and the same
// writes in the same order; the flush and commit follow once the decider
// has ended and closed its read transaction (a commit that grows the file
// waits for read transactions to end).
func (bt *batchTx) applyPipelined(ctx context.Context, bolt *bbolt.DB, batch []workflow.Envelope) (workflow.BatchResult, error) {
	var res workflow.BatchResult
	applied, err := appliedSeq(bt.b.meta)
	if err != nil {
		return res, err
	}
	rtx, err := bolt.Begin(false)
	if err != nil {
		return res, err
	}
	rb, err := openBuckets(rtx)
	if err != nil {
		_ = rtx.Rollback()
		return res, err
	}
	bt.readDedupe, bt.readDossiers, bt.readMeta = rb.dedupe, rb.dossiers, rb.meta
	bt.seen = make(map[string]struct{}, len(batch))

	steps := make(chan []step, 4)
	stop := make(chan struct{}) // closed when the writer gives up
	var (
		derr    error
		skipped int
		last    = applied
	)
	go func() {
		defer close(steps)
		defer func() { _ = rtx.Rollback() }()
		chunk := make([]step, 0, stepChunk)
		send := func() bool {
			select {
			case steps <- chunk:
				chunk = make([]step, 0, stepChunk)
				return true
			case <-stop:
				return false
			}
		}
		for i := range batch {
			if err := ctx.Err(); err != nil {
				derr = err
				return
			}
			if batch[i].Seq <= last {
				skipped++
				continue
			}
			st, err := bt.decideOne(&batch[i])
			if err != nil {
				derr = fmt.Errorf("seq %d: %w", batch[i].Seq, err)
				return
			}
			last = batch[i].Seq
			if chunk = append(chunk, st); len(chunk) == stepChunk && !send() {
				return
			}
		}
		if len(chunk) > 0 {
			send()
		}
	}()
	var werr error
	for chunk := range steps {
		for i := range chunk {
			if werr = bt.writeOne(&chunk[i], &res); werr != nil {
				werr = fmt.Errorf("seq %d: %w", chunk[i].env.Seq, werr)
				break
			}
		}
		if werr != nil {
			close(stop)
			for range steps { // let the decider end
			}
			break
		}
	}
	// steps is closed: the decider has ended, its read transaction is
	// closed, and what it set (derr, skipped, last, working) is ours.
	bt.readDedupe, bt.readDossiers, bt.readMeta = bt.b.dedupe, bt.b.dossiers, bt.b.meta
	bt.dedupe.c, bt.dossiers.c = nil, nil
	if werr != nil {
		return res, werr
	}
	if derr != nil {
		return res, derr
	}
	res.Skipped = skipped
	return bt.finish(res, last)
}

// dossier returns the dossier as the batch sees it: from the working set,
// else from the file (remembered in the working set); nil if unknown.
func (bt *batchTx) dossier(code string) (*workflow.Dossier, error) {
	if w, ok := bt.working[code]; ok {
		return w.cur, nil
	}
	w := &working{}
	if v := bt.dossiers.get(bt.readDossiers, []byte(code)); v != nil {
		w.stored = new(workflow.Dossier)
		var err error
		if w.id, err = decodeDossierID(v, w.stored); err != nil {
			return nil, fmt.Errorf("dossier %q: %w", code, err)
		}
		w.cur = w.stored
	}
	bt.working[code] = w
	return w.cur, nil
}

func (bt *batchTx) putRejection(r *workflow.Rejection) error {
	b := bt.b
	k := bt.mem.end(binary.BigEndian.AppendUint64(bt.mem.start(), r.Seq))
	if err := b.rejections.Put(k, bt.mem.end(appendRejection(bt.mem.start(), r))); err != nil {
		return fmt.Errorf("rejection: %w", err)
	}
	if keyPart(r.Dossier) {
		if err := b.rejByDossier.Put(prefixSeqKey(r.Dossier, r.Seq), nil); err != nil {
			return fmt.Errorf("rejection index: %w", err)
		}
	}
	if err := b.rejByReason.Put(prefixSeqKey(string(r.Reason), r.Seq), nil); err != nil {
		return fmt.Errorf("rejection index: %w", err)
	}
	bt.deltas.add(countRejections, 1)
	bt.deltas.add(countReasonPrefix+string(r.Reason), 1)
	return nil
}

func (bt *batchTx) putMismatch(m *workflow.Mismatch) error {
	b := bt.b
	k := bt.mem.end(binary.BigEndian.AppendUint64(bt.mem.start(), m.Seq))
	if err := b.mismatches.Put(k, bt.mem.end(appendMismatch(bt.mem.start(), m))); err != nil {
		return fmt.Errorf("mismatch: %w", err)
	}
	if err := b.misByDossier.Put(prefixSeqKey(m.Dossier, m.Seq), nil); err != nil {
		return fmt.Errorf("mismatch index: %w", err)
	}
	bt.deltas.add(countMismatches, 1)
	return nil
}

// putIrregularities records the irregularities of one accepted event.
func (bt *batchTx) putIrregularities(irs []workflow.Irregularity) error {
	b := bt.b
	seq := irs[0].Seq
	if err := b.irregular.Put(bt.mem.end(binary.BigEndian.AppendUint64(bt.mem.start(), seq)),
		bt.mem.end(appendIrregularities(bt.mem.start(), irs))); err != nil {
		return fmt.Errorf("irregularity: %w", err)
	}
	if err := b.irrByDossier.Put(prefixSeqKey(irs[0].Dossier, seq), nil); err != nil {
		return fmt.Errorf("irregularity index: %w", err)
	}
	for i := range irs {
		if err := b.irrByKind.Put(prefixSeqKey(string(irs[i].Kind), seq), nil); err != nil {
			return fmt.Errorf("irregularity index: %w", err)
		}
		bt.deltas.add(countIrregularPrefix+string(irs[i].Kind), 1)
		if bt.tallies == nil {
			bt.tallies = map[string]irrTally{}
		}
		k := string(appendIrrTallyKey(nil, irs[i].Agency, irs[i].Kind, irs[i].Actor))
		t := bt.tallies[k]
		t.add(&irs[i])
		bt.tallies[k] = t
	}
	bt.deltas.add(countIrregular, int64(len(irs)))
	return nil
}

// flush writes the dossiers the batch changed, in code order, moves their
// index keys, then writes the counters.
func (bt *batchTx) flush() error {
	b := bt.b
	for _, code := range slices.Sorted(maps.Keys(bt.working)) {
		w := bt.working[code]
		if !w.dirty {
			continue
		}
		k := bt.mem.end(append(bt.mem.start(), code...))
		if err := b.dossiers.Put(k, bt.mem.end(appendDossier(bt.mem.start(), w.id, w.cur))); err != nil {
			return fmt.Errorf("dossier %q: %w", code, err)
		}
		if w.stored == nil {
			bt.deltas.add(countDossiers, 1)
		}
		if err := bt.moveIndexKeys(w); err != nil {
			return fmt.Errorf("index of %q: %w", code, err)
		}
	}
	if err := bt.flushStats(); err != nil {
		return err
	}
	if err := bt.flushTallies(); err != nil {
		return err
	}
	return bt.deltas.write(b.counts)
}

// flushTallies adds the batch's irregularities to their rows of
// irr_tally, in key order.
func (bt *batchTx) flushTallies() error {
	for _, key := range slices.Sorted(maps.Keys(bt.tallies)) {
		add := bt.tallies[key]
		t := irrTally{}
		if v := bt.b.irrTally.Get([]byte(key)); v != nil {
			var err error
			if t, err = decodeIrrTally(v); err != nil {
				return fmt.Errorf("irregularity tally %q: %w", key, err)
			}
		}
		t.n, t.delay = t.n+add.n, t.delay+add.delay
		k := bt.mem.end(append(bt.mem.start(), key...))
		if err := bt.b.irrTally.Put(k, bt.mem.end(appendIrrTally(bt.mem.start(), t))); err != nil {
			return fmt.Errorf("irregularity tally %q: %w", key, err)
		}
	}
	return nil
}

// moveIndexKeys moves the keys of a dossier in each index from where
// they were before the batch to where they are now, and counts them.
func (bt *batchTx) moveIndexKeys(w *working) error {
	for _, ix := range &dossierIndexes {
		var oldIn, newIn bool
		if w.stored != nil {
			bt.oldKey, oldIn = ix.appendKey(bt.oldKey[:0], w.stored)
		}
		bt.newKey, newIn = ix.appendKey(bt.newKey[:0], w.cur)
		if oldIn == newIn && (!newIn || bytes.Equal(bt.oldKey, bt.newKey)) {
			continue
		}
		bucket := ix.bucket(bt.b)
		if oldIn {
			if err := bucket.Delete(bt.oldKey); err != nil {
				return err
			}
			bt.deltas.add(ix.count(w.stored), -1)
		}
		if newIn {
			if err := bucket.Put(bt.mem.end(append(bt.mem.start(), bt.newKey...)), nil); err != nil {
				return err
			}
			bt.deltas.add(ix.count(w.cur), 1)
		}
	}
	return nil
}

// keyProblem says why the event cannot be stored under the store's keys,
// or returns "". The codec should have rejected such an event already;
// the store checks again so that no message can make every retry of a
// batch fail (bbolt refuses empty and oversized keys) and block the stream.
func keyProblem(e *workflow.Event) string {
	switch {
	case e.ID == "":
		return "id is empty"
	case e.Dossier == "":
		return "subject (the dossier code) is empty"
	}
	for _, f := range [...]struct{ name, v string }{
		{"id", e.ID}, {"subject", e.Dossier}, {"data.agency", e.Agency}, {"data.procedure", e.Procedure},
	} {
		switch {
		case len(f.v) > maxKeyPart:
			return fmt.Sprintf("%s is longer than %d bytes", f.name, maxKeyPart)
		case strings.ContainsRune(f.v, sep):
			return f.name + " contains a NUL byte"
		}
	}
	return ""
}

// keyPart reports whether s can be part of a key: not empty, at most
// maxKeyPart bytes, without sep.
func keyPart(s string) bool {
	return s != "" && len(s) <= maxKeyPart && !strings.ContainsRune(s, sep)
}

// arena hands out the bytes of the keys and values a batch puts. bbolt
// keeps what Put is given, unchanged, until the commit, so each key and
// value needs bytes of its own; carving them out of a few large chunks
// costs an allocation per chunk rather than per record.
//
//	v := a.end(appendX(a.start(), x))
type arena struct {
	buf   []byte // the current chunk: bytes handed out, then free capacity
	chunk int    // bytes of a new chunk; 0 means arenaChunk
}

// Sizes of the arena's chunks.
const (
	arenaChunk       = 64 << 10 // bytes of a chunk at most
	arenaChunkMin    = 4 << 10  // bytes of a chunk at least
	arenaRoom        = 1 << 10  // a new chunk starts when less is free
	arenaPerEnvelope = 1 << 10  // bytes of chunk per envelope of a small batch
)

// start returns an empty slice whose capacity is the free part of the
// current chunk, to append one key or value to.
func (a *arena) start() []byte {
	if cap(a.buf)-len(a.buf) < arenaRoom {
		a.buf = make([]byte, 0, cmp.Or(a.chunk, arenaChunk))
	}
	return a.buf[len(a.buf):len(a.buf)]
}

// end returns b, appended to the slice start returned, with its capacity
// cut to its length, and marks its bytes as handed out. A b that outgrew
// the chunk was copied elsewhere by append and is returned as it is.
func (a *arena) end(b []byte) []byte {
	if len(b) > 0 && len(a.buf) < cap(a.buf) && &b[0] == &a.buf[:len(a.buf)+1][len(a.buf)] {
		a.buf = a.buf[:len(a.buf)+len(b)]
	}
	return b[:len(b):len(b)]
}
