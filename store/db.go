package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/hoso-vn/hoso/workflow"
)

// DefaultTimeout is how long Open waits for the file lock when
// Options.Timeout is zero.
const DefaultTimeout = time.Second

// Listing limits of Dossiers, Rejections and Mismatches.
const (
	DefaultLimit = 50   // used when a query's Limit is zero or negative
	MaxLimit     = 1000 // a larger Limit is lowered to this
)

var (
	// ErrLocked is returned by Open when another DB, in this process or
	// another, holds the file.
	ErrLocked = errors.New("store: database file is locked by another process")

	// ErrSchemaTooNew is returned by Open when the file was written by a
	// newer hoso whose layout this build does not know.
	ErrSchemaTooNew = errors.New("store: schema version of the file is newer than this build")

	// ErrSchemaOld is returned by Open when the file was written by an
	// older hoso whose layout lacks indexes or counters this build keeps,
	// or whose decisions differ, older than the one Open upgrades in
	// place (schema 6). The event stream is the log: move the file aside
	// and apply the stream into a new store.
	ErrSchemaOld = errors.New("store: schema version of the file is older than this build")

	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("store: database is closed")

	// ErrInvalidEnvelope is returned by Apply for an envelope with neither
	// an event nor a rejection: a bug of the caller, not a property of the
	// message, so the batch is refused rather than recorded.
	ErrInvalidEnvelope = errors.New("store: envelope has neither event nor rejection")
)

// Options configures Open.
type Options struct {
	// Catalog decides the events Apply applies: its definitions, and its
	// calendar until the store has recorded one (see DB.Catalog): a store
	// records the calendar it starts with at its first batch, and goes on
	// with the calendars it recorded when reopened, whatever Catalog's
	// calendar then. Its working hours are always Catalog's. Required.
	Catalog *workflow.Catalog

	// Logger receives the store's logs. Nil discards them.
	Logger *slog.Logger

	// NoSync skips the fsync after each commit (bbolt's NoSync): a crash of
	// the machine can then lose committed batches or corrupt the file.
	// THIS IS UNSAFE: only for tests and benchmarks. Default false.
	NoSync bool

	// Timeout is how long Open waits for the file lock before returning
	// ErrLocked. Zero means DefaultTimeout (1s).
	Timeout time.Duration

	// OnCommit, if set, is called after each commit of Apply with how
	// long bbolt's Commit took: writing the batch's pages and the fsync,
	// without the decisions (a metrics hook). It runs on Apply's
	// goroutine and must be quick. Default nil.
	OnCommit func(time.Duration)

	// BeforeCommit, if set, is called by Apply just before it commits a
	// batch that writes something; an error it returns fails that Apply
	// as a commit failure would (the transaction is rolled back, nothing
	// of the batch is written, and the error is returned wrapped). It is a
	// fault-injection hook for tests of what the engine does when the disk
	// is full or the file cannot be written; leave it nil in production.
	// It runs on Apply's goroutine, inside the write transaction. Default
	// nil.
	BeforeCommit func() error
}

// DB is hoso's store: one bbolt file holding dossiers, their hash-chained
// histories, rejections, mismatches, the event-id dedupe, the applied
// stream sequence, indexes, counters and the outbox.
//
// A DB is safe for concurrent use. Apply calls are serialized (bbolt has
// one writer); reads see the last committed batch and never block Apply.
type DB struct {
	bolt *bbolt.DB
	path string
	// catalog is the catalog in force (Catalog): replaced after a commit
	// that applied a calendar event, and by SetStartCalendar.
	catalog  atomic.Pointer[workflow.Catalog]
	recorded atomic.Bool // the store has recorded its calendars (calendar.go)
	logger   *slog.Logger
	onCommit func(time.Duration) // Options.OnCommit; nil when unset
	// Options.BeforeCommit; nil when unset
	beforeCommit func() error

	prefetchMu   sync.Mutex
	prefetchDone chan struct{}                                          // of the running prefetch (prefetch.go); nil when none runs
	readAhead    func(path string, stop <-chan struct{}) (int64, error) // prefetchFile; tests hold it open
	closing      chan struct{}                                          // closed by Close: background work stops
	closeOnce    sync.Once
	bg           sync.WaitGroup // background work Close waits for
}

// Open opens the store at path, creating the file and its buckets if
// needed. It waits up to opts.Timeout for the file lock and returns
// ErrLocked if another DB holds it. It refuses a file of an unknown newer
// schema version with ErrSchemaTooNew. It upgrades a file of schema 6
// (upgradableSchema) in place before it returns, logging its progress
// through opts.Logger: minutes for millions of history entries, resumed
// where it stopped if interrupted (upgrade.go). It refuses an older one
// with ErrSchemaOld: hoso rebuild makes it again from the stream. It refuses a file shorter
// than its bbolt meta page says with ErrTruncated, and one without a valid
// meta page with ErrNotStore, before bbolt maps it (bbolt would fault on
// the first missing page).
func Open(path string, opts Options) (*DB, error) {
	if opts.Catalog == nil {
		return nil, fmt.Errorf("open store %s: Options.Catalog is required", path)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := checkFileSize(path); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: timeout, NoSync: opts.NoSync})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: %w (waited %s)", path, ErrLocked, timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db := &DB{bolt: b, path: path, logger: logger, onCommit: opts.OnCommit, beforeCommit: opts.BeforeCommit,
		readAhead: prefetchFile, closing: make(chan struct{})}
	db.catalog.Store(opts.Catalog)
	if err := upgradeIfOld(b, logger, path, defaultUpgrade); err != nil {
		b.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	var applied uint64
	err = b.Update(func(tx *bbolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		meta := tx.Bucket([]byte(bucketMeta))
		v, err := decodeUint64(meta.Get([]byte(metaSchema)))
		if err != nil {
			return fmt.Errorf("schema version: %w", err)
		}
		switch {
		case v == 0:
			if err := meta.Put([]byte(metaSchema), encodeUint64(schemaVersion)); err != nil {
				return err
			}
		case v > schemaVersion:
			return fmt.Errorf("%w: file has version %d, this build knows up to %d", ErrSchemaTooNew, v, schemaVersion)
		case v < schemaVersion:
			return schemaOldError(v)
		}
		if applied, err = appliedSeq(meta); err != nil {
			return err
		}
		h, err := calendarHistory(tx.Bucket([]byte(bucketCalendars)), opts.Catalog.Calendar().Config())
		if err != nil {
			return fmt.Errorf("calendars: %w", err)
		}
		if len(h) > 0 {
			db.catalog.Store(opts.Catalog.WithCalendarHistory(h))
			db.recorded.Store(true)
		}
		return nil
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	logger.Info("store opened", "path", path, "schema", schemaVersion, "applied_seq", applied, "no_sync", opts.NoSync)
	return db, nil
}

// upgradeIfOld upgrades the file in place if it is of upgradableSchema
// (upgradeSchema).
func upgradeIfOld(b *bbolt.DB, logger *slog.Logger, path string, cfg upgradeConfig) error {
	var v uint64
	err := b.View(func(tx *bbolt.Tx) error {
		meta := tx.Bucket([]byte(bucketMeta))
		if meta == nil {
			return nil // a new file
		}
		var err error
		v, err = decodeUint64(meta.Get([]byte(metaSchema)))
		return err
	})
	if err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if v != upgradableSchema {
		return nil
	}
	return upgradeSchema(b, logger, path, cfg)
}

// schemaOldError is the error of a file of version v, older than
// upgradableSchema.
func schemaOldError(v uint64) error {
	return fmt.Errorf("%w: file has version %d, this build writes %d and upgrades only %d in place; rebuild it from the event stream (hoso rebuild --replace)",
		ErrSchemaOld, v, schemaVersion, upgradableSchema)
}

// Close closes the file. It waits for running transactions to end.
func (db *DB) Close() error {
	db.closeOnce.Do(func() { close(db.closing) })
	db.bg.Wait()
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", db.path, err)
	}
	return nil
}

// Path returns the path of the file.
func (db *DB) Path() string { return db.path }

// AppliedSeq returns the stream sequence of the last message applied, 0
// when none has been.
func (db *DB) AppliedSeq() (uint64, error) {
	var seq uint64
	err := db.view(context.Background(), func(b *buckets) error {
		var err error
		seq, err = appliedSeq(b.meta)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("applied seq: %w", err)
	}
	return seq, nil
}

// Backup writes a consistent copy of the whole file to w, from one read
// transaction (Apply goes on meanwhile). It returns the bytes written.
func (db *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := db.view(ctx, func(b *buckets) error {
		var err error
		n, err = b.tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("backup: %w", err)
	}
	return n, nil
}

// Snapshot writes a consistent copy of the whole file to w like Backup,
// and calls start before the first byte with what describes the copy: its
// applied sequence, its state hash (see StateHash) and its size in bytes,
// all read in the transaction the copy is written from. It returns the
// bytes written. Hashing reads the whole state first, so the copy starts
// after a pause proportional to the store's size.
func (db *DB) Snapshot(ctx context.Context, w io.Writer, start func(applied uint64, hash workflow.Hash, size int64)) (int64, error) {
	var n int64
	err := db.view(ctx, func(b *buckets) error {
		applied, err := appliedSeq(b.meta)
		if err != nil {
			return err
		}
		hash, err := stateHash(ctx, b)
		if err != nil {
			return err
		}
		start(applied, hash, b.tx.Size())
		n, err = b.tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("snapshot: %w", err)
	}
	return n, nil
}

func appliedSeq(meta *bbolt.Bucket) (uint64, error) {
	seq, err := decodeUint64(meta.Get([]byte(metaAppliedSeq)))
	if err != nil {
		return 0, fmt.Errorf("applied seq: %w", err)
	}
	return seq, nil
}

// buckets holds a transaction's buckets, looked up once.
type buckets struct {
	tx                                    *bbolt.Tx
	meta, counts                          *bbolt.Bucket
	dossiers, history, dedupe             *bbolt.Bucket
	rejections, rejByDossier, rejByReason *bbolt.Bucket
	mismatches, misByDossier              *bbolt.Bucket
	irregular, irrByDossier, irrByKind    *bbolt.Bucket
	irrTally                              *bbolt.Bucket
	outbox                                *bbolt.Bucket
	byStatus, byAgency, byProcedure       *bbolt.Bucket
	byDue                                 *bbolt.Bucket
	byOverdue                             *bbolt.Bucket
	byReceived, byPaused                  *bbolt.Bucket
	stats, gauges                         *bbolt.Bucket
	calendars                             *bbolt.Bucket
	snapshots, periods                    *bbolt.Bucket
}

func openBuckets(tx *bbolt.Tx) (*buckets, error) {
	b := &buckets{tx: tx}
	for _, x := range []struct {
		name string
		dst  **bbolt.Bucket
	}{
		{bucketMeta, &b.meta}, {bucketCounts, &b.counts},
		{bucketDossiers, &b.dossiers}, {bucketHistory, &b.history}, {bucketDedupe, &b.dedupe},
		{bucketRejections, &b.rejections}, {bucketRejByDossier, &b.rejByDossier}, {bucketRejByReason, &b.rejByReason},
		{bucketMismatches, &b.mismatches}, {bucketMisByDossier, &b.misByDossier},
		{bucketIrregular, &b.irregular}, {bucketIrrByDossier, &b.irrByDossier}, {bucketIrrByKind, &b.irrByKind},
		{bucketIrrTally, &b.irrTally},
		{bucketOutbox, &b.outbox},
		{bucketByStatus, &b.byStatus}, {bucketByAgency, &b.byAgency}, {bucketByProcedure, &b.byProcedure},
		{bucketByDue, &b.byDue},
		{bucketByOverdue, &b.byOverdue},
		{bucketByReceived, &b.byReceived}, {bucketByPaused, &b.byPaused},
		{bucketStats, &b.stats}, {bucketGauges, &b.gauges}, {bucketCalendars, &b.calendars},
		{bucketSnapshots, &b.snapshots}, {bucketPeriods, &b.periods},
	} {
		*x.dst = tx.Bucket([]byte(x.name))
		if *x.dst == nil {
			return nil, fmt.Errorf("store: bucket %s is missing", x.name)
		}
	}
	if tx.Writable() {
		// These buckets grow at their end: sequence keys, or new codes
		// (which senders number in order) after a prefix. bbolt's default
		// splits a full page in halves, and the left half of an append is
		// never written again: half of each page would stay empty. Full
		// pages halve these indexes (BenchmarkStoreSize) without writing
		// more pages per batch.
		for _, sb := range []*bbolt.Bucket{
			b.rejections, b.mismatches, b.outbox, b.rejByReason, b.irregular, b.irrByKind,
			b.byStatus, b.byAgency, b.byProcedure, b.byReceived,
		} {
			sb.FillPercent = 1.0
		}
		// The history keeps bbolt's default (0.5). Its keys are dossier
		// ids in the order of creation, so a new dossier's entries go to
		// the end, but the dossiers in flight take their next entries in
		// the middle of the last pages, as random inserts do: fuller
		// splits leave those pages emptier (BenchmarkStoreSize, 2,000
		// dossiers in flight, history B/transition and pages used: 0.5
		// 265.6 and 72%, 0.75 319.2 and 60%, 0.9 380.5 and 51%, 1.0 472.5
		// and 41%; pages/batch 374, 380, 388, 398).
	}
	return b, nil
}

// view runs fn in a read transaction.
func (db *DB) view(ctx context.Context, fn func(*buckets) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return closedErr(db.bolt.View(func(tx *bbolt.Tx) error {
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		return fn(b)
	}))
}

// update runs fn in a write transaction and commits it if fn returns nil.
func (db *DB) update(ctx context.Context, fn func(*buckets) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return closedErr(db.bolt.Update(func(tx *bbolt.Tx) error {
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		return fn(b)
	}))
}

// closedErr maps bbolt's error for a closed file to ErrClosed.
func closedErr(err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// limit applies DefaultLimit and MaxLimit to a query's Limit.
func limit(n int) int {
	if n <= 0 {
		return DefaultLimit
	}
	return min(n, MaxLimit)
}
