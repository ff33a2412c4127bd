package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/workflow"
)

// downgradeTo6 rewrites the closed schema-7 store at path in the layout
// schema 6 wrote: history keys code 0x00 index, dossier records of format
// version 1 without an id, no next id, schema 6. TestDowngradeIsSchema6
// checks it against the fixture the previous release wrote.
func downgradeTo6(t testing.TB, path string) {
	t.Helper()
	bdb, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = bdb.Update(func(tx *bbolt.Tx) error {
		dossiers := tx.Bucket([]byte(bucketDossiers))
		codes := map[uint32]string{}
		type kv struct{ k, v []byte }
		var records, entries []kv
		c := dossiers.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			id, n := binary.Uvarint(v[1:])
			if v[0] != dossierVersion || n <= 0 {
				return fmt.Errorf("record %q is not of version %d", k, dossierVersion)
			}
			codes[uint32(id)] = string(k)
			records = append(records, kv{bytes.Clone(k), append([]byte{recordVersion}, v[1+n:]...)})
		}
		c = tx.Bucket([]byte(bucketHistory)).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			id, index, ok := splitHistoryKey(k)
			if !ok {
				return fmt.Errorf("history key %q", k)
			}
			entries = append(entries, kv{schema6HistoryKey(codes[id], index), bytes.Clone(v)})
		}
		for _, r := range records {
			if err := dossiers.Put(r.k, r.v); err != nil {
				return err
			}
		}
		if err := tx.DeleteBucket([]byte(bucketHistory)); err != nil {
			return err
		}
		h, err := tx.CreateBucket([]byte(bucketHistory))
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := h.Put(e.k, e.v); err != nil {
				return err
			}
		}
		meta := tx.Bucket([]byte(bucketMeta))
		if err := meta.Delete([]byte(metaNextDossierID)); err != nil {
			return err
		}
		return meta.Put([]byte(metaSchema), encodeUint64(upgradableSchema))
	})
	if err != nil {
		t.Fatalf("downgrade %s: %v", path, err)
	}
}

// tempCopy copies src to a new file in a temporary directory.
func tempCopy(t testing.TB, src string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "hoso.db")
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

// schemaOf reads the schema version of the closed file at path.
func schemaOf(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := Inspect(context.Background(), path)
	if err != nil {
		t.Fatalf("Inspect(%s) = %v", path, err)
	}
	return fi.Schema
}

// TestDowngradeIsSchema6: downgradeTo6 of the fixture's stream applied
// now gives the file the previous release wrote, state hash for state
// hash, so that the tests below upgrade true schema-6 files.
func TestDowngradeIsSchema6(t *testing.T) {
	ctx := context.Background()
	fixture := filepath.Join("testdata", "schema6.db")
	want, err := Inspect(ctx, fixture)
	if err != nil || want.Schema != upgradableSchema {
		t.Fatalf("Inspect(fixture) = %+v, %v; want schema %d read as it is", want, err, upgradableSchema)
	}
	h := newHarness(t, nil)
	h.apply(h.envelopes(schema6Stream()...))
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	path := tempCopy(t, h.path)
	h.open() // for the cleanup
	downgradeTo6(t, path)
	got, err := Inspect(ctx, path)
	if err != nil || got.Schema != upgradableSchema || got.StateHash != want.StateHash {
		t.Errorf("Inspect(downgraded) = %+v, %v; want schema %d and the fixture's state hash %s", got, err, upgradableSchema, want.StateHash)
	}
}

// reads is what the readers of a store give for the dossiers of codes.
type reads struct {
	Hash        workflow.Hash
	Dossiers    []*workflow.Dossier
	Histories   [][]workflow.HistoryEntry
	Reports     []workflow.ChainReport
	Lookups     []workflow.Dossier
	Checkpoints []workflow.Checkpoint
	Findings    []workflow.Finding
	Listed      []workflow.Dossier
}

func readAll(t *testing.T, db *DB, codes []string) reads {
	t.Helper()
	ctx := context.Background()
	var r reads
	var err error
	if r.Hash, err = db.StateHash(ctx); err != nil {
		t.Fatal(err)
	}
	for _, code := range codes {
		d, entries, err := db.DossierHistory(ctx, code)
		if err != nil {
			t.Fatalf("DossierHistory(%s) = %v", code, err)
		}
		h, err := db.History(ctx, code)
		if err != nil || !cmp.Equal(h, entries) {
			t.Fatalf("History(%s) = %v, %v; want DossierHistory's", code, h, err)
		}
		rep, err := db.Verify(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		l, ok, err := db.Lookup(ctx, code)
		if err != nil || !ok {
			t.Fatalf("Lookup(%s) = %v, %v", code, ok, err)
		}
		r.Dossiers, r.Histories, r.Reports, r.Lookups = append(r.Dossiers, d), append(r.Histories, entries), append(r.Reports, rep), append(r.Lookups, l)
	}
	applied, err := db.AppliedSeq()
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for s := uint64(1); s <= applied; s += max(1, applied/15) {
		seqs = append(seqs, s)
	}
	if seqs[len(seqs)-1] != applied {
		seqs = append(seqs, applied)
	}
	if r.Checkpoints, _, err = db.CheckpointsAt(ctx, seqs); err != nil {
		t.Fatal(err)
	}
	if r.Findings, err = db.VerifyStore(ctx); err != nil {
		t.Fatal(err)
	}
	if r.Listed, _, err = db.Dossiers(ctx, workflow.DossierQuery{Limit: MaxLimit}); err != nil {
		t.Fatal(err)
	}
	return r
}

// logLines is a slog handler's output, one line per record.
type logLines struct{ bytes.Buffer }

func (l *logLines) logger() *slog.Logger { return slog.New(slog.NewTextHandler(&l.Buffer, nil)) }

// TestUpgradeSchema6Fixture opens the fixture of schema 6: Inspect reads
// it as it is without writing it, Open upgrades it (saying so in its log)
// to the store the same stream gives today, and every reader gives what
// it gives on that store.
func TestUpgradeSchema6Fixture(t *testing.T) {
	ctx := context.Background()
	path := tempCopy(t, filepath.Join("testdata", "schema6.db"))
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := Inspect(ctx, path); err != nil || fi.Schema != upgradableSchema {
		t.Errorf("Inspect(schema 6) = %+v, %v; want it read as it is", fi, err)
	}
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(before, after) {
		t.Errorf("Inspect changed the file (%v)", err)
	}

	cat := shippedCatalog(t)
	var log logLines
	db, err := Open(path, Options{Catalog: cat, Logger: log.logger()})
	if err != nil {
		t.Fatalf("Open(schema 6) = %v", err)
	}
	for _, msg := range []string{"store upgrading", "from_schema=6 to_schema=7", "store upgraded"} {
		if !strings.Contains(log.String(), msg) {
			t.Errorf("the log of the upgrade has no %q:\n%s", msg, log.String())
		}
	}
	codes := []string{"000.00.12.H57-250804-0001", "000.00.12.H57-250804-0002", "000.00.12.H57-250804-0003"}
	got := readAll(t, db, codes)
	if ids := storeIDs(t, db); ids[codes[0]] != 1 || ids[codes[1]] != 2 || ids[codes[2]] != 3 {
		t.Errorf("ids after the upgrade = %v, want 1, 2, 3 in the order of creation", ids)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if s := schemaOf(t, path); s != schemaVersion {
		t.Errorf("schema after the upgrade = %d, want %d", s, schemaVersion)
	}
	checkFile(t, path, cat, true)

	fresh := newHarness(t, cat)
	fresh.apply(fresh.envelopes(schema6Stream()...))
	want := readAll(t, fresh.db, codes)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reads of the upgraded fixture differ from a store of the same stream (-fresh +upgraded):\n%s", diff)
	}
	if len(got.Findings) != 0 {
		t.Errorf("VerifyStore after the upgrade = %v", got.Findings)
	}
	for _, r := range got.Reports {
		if !r.OK || len(r.Findings) != 0 {
			t.Errorf("Verify(%s) after the upgrade = %+v", r.Dossier, r)
		}
	}
}

// upgradeStore builds a schema-7 store of n dossiers created in an order
// unlike their codes', applied in random batches, and returns its path
// (closed), its state hash and what its readers give.
func upgradeStore(t *testing.T, n int) (path string, hash workflow.Hash, want reads, codes []string) {
	t.Helper()
	h := newHarness(t, nil)
	evs, created := creationStream(n)
	applyRandomBatches(t, h, rand.New(rand.NewPCG(7, uint64(n))), h.envelopes(evs...), false)
	want = readAll(t, h.db, created)
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	path = tempCopy(t, h.path)
	h.open() // for the cleanup
	return path, want.Hash, want, created
}

// errCrash stands for a crash in the middle of the upgrade.
var errCrash = errors.New("crash")

// TestUpgradeOfAStore upgrades a schema-6 store of 300 dossiers, created
// in an order unlike their codes', in transactions of a few entries: it
// gives the store Apply built from the same stream.
func TestUpgradeOfAStore(t *testing.T) {
	path, _, want, codes := upgradeStore(t, 300)
	downgradeTo6(t, path)
	if s := schemaOf(t, path); s != upgradableSchema {
		t.Fatalf("schema of the downgraded store = %d", s)
	}
	bdb, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaultUpgrade
	cfg.chunkBytes = 4 << 10
	txs := 0
	cfg.fault = func(n int, _ byte) error { txs = n; return nil }
	if err := upgradeSchema(bdb, slog.New(slog.DiscardHandler), path, cfg); err != nil {
		t.Fatalf("upgrade = %v", err)
	}
	bdb.Close()
	if txs < 10 {
		t.Errorf("the upgrade took %d transactions, want many of a few entries each", txs)
	}
	h := openAt(t, path, shippedCatalog(t))
	if diff := cmp.Diff(want, readAll(t, h.db, codes)); diff != "" {
		t.Errorf("reads of the upgraded store differ from the store Apply built (-apply +upgraded):\n%s", diff)
	}
}

// TestUpgradeResumesAfterACrash stops the upgrade of a schema-6 store at
// each kind of transaction (the first, in the history, the first and a
// later one of the records, the last that swaps the history in), and
// twice in a row: the file is still of schema 6 and consistent, and Open
// finishes the upgrade with the state hash of the store Apply built.
func TestUpgradeResumesAfterACrash(t *testing.T) {
	path6, hash, _, codes := upgradeStore(t, 200)
	downgradeTo6(t, path6)
	cfg := defaultUpgrade
	cfg.chunkBytes = 4 << 10

	// Count the transactions, and find where the records start.
	var steps []byte
	{
		path := tempCopy(t, path6)
		bdb, err := bbolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := cfg
		c.fault = func(_ int, step byte) error {
			steps = append(steps, step)
			return nil
		}
		if err := upgradeSchema(bdb, slog.New(slog.DiscardHandler), path, c); err != nil {
			t.Fatal(err)
		}
		bdb.Close()
	}
	total := len(steps)
	records := bytes.IndexByte(steps, upgradeRecords) + 1 // the first transaction of the records
	if records < 3 || records > total-2 || steps[total-1] != 0 {
		t.Fatalf("steps of the upgrade: %v, want several of the history, then of the records, then the swap", steps)
	}
	// The first, one in the history, its last, the records' first and
	// last, the swap; and two crashes in a row.
	crashes := [][]int{{1}, {records / 2}, {records - 1}, {records}, {records + 1}, {total - 1}, {total}, {records / 2, records / 3}, {records + 1, 2}}
	for _, at := range crashes {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			path := tempCopy(t, path6)
			for _, k := range at {
				bdb, err := bbolt.Open(path, 0o600, nil)
				if err != nil {
					t.Fatal(err)
				}
				c := cfg
				c.fault = func(n int, _ byte) error {
					if n == k {
						return errCrash
					}
					return nil
				}
				if err := upgradeSchema(bdb, slog.New(slog.DiscardHandler), path, c); !errors.Is(err, errCrash) {
					t.Fatalf("upgrade crashing at transaction %d = %v, want the crash", k, err)
				}
				bdb.Close()
				if s := schemaOf(t, path); s != upgradableSchema {
					t.Fatalf("schema after a crash at transaction %d = %d, want %d until the upgrade ends", k, s, upgradableSchema)
				}
			}
			var log logLines
			db, err := Open(path, Options{Catalog: shippedCatalog(t), NoSync: true, Logger: log.logger()})
			if err != nil {
				t.Fatalf("Open after the crash = %v", err)
			}
			if at[len(at)-1] > 1 && !strings.Contains(log.String(), "resumed=true") {
				t.Errorf("the log does not say the upgrade resumed:\n%s", log.String())
			}
			got, err := db.StateHash(context.Background())
			if err != nil || got != hash {
				t.Errorf("state hash after the resumed upgrade = %s, %v; want %s", got, err, hash)
			}
			if ids := storeIDs(t, db); ids[codes[0]] != 1 || ids[codes[len(codes)-1]] != uint32(len(codes)) {
				t.Errorf("ids after the resumed upgrade: %s is %d, %s is %d", codes[0], ids[codes[0]], codes[len(codes)-1], ids[codes[len(codes)-1]])
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			checkFile(t, path, shippedCatalog(t), true)
		})
	}
}

// TestUpgradeLogsProgress: a long upgrade logs its progress with the
// time left at most every interval, then its end.
func TestUpgradeLogsProgress(t *testing.T) {
	path, _, _, _ := upgradeStore(t, 60)
	downgradeTo6(t, path)
	bdb, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var log logLines
	cfg := defaultUpgrade
	cfg.chunkBytes = 2 << 10
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg.now = func() time.Time { clock = clock.Add(2 * time.Second); return clock }
	cfg.every = 5 * time.Second
	if err := upgradeSchema(bdb, log.logger(), path, cfg); err != nil {
		t.Fatal(err)
	}
	var progress []string
	for _, l := range strings.Split(log.String(), "\n") {
		if strings.Contains(l, "store upgrade progress") {
			progress = append(progress, l)
		}
	}
	// The clock moves 2 s per read, one read per transaction: a line
	// every third transaction at most.
	if len(progress) < 2 {
		t.Fatalf("progress lines: %q, want several", progress)
	}
	if !strings.Contains(progress[0], "left=") || !strings.Contains(progress[0], "percent=") || strings.Contains(progress[0], "left=0s") {
		t.Errorf("progress line %q, want the percent and an estimate of the time left", progress[0])
	}
	if !strings.Contains(log.String(), "store upgraded") {
		t.Errorf("no line at the end:\n%s", log.String())
	}
}

// TestUpgradeEmptyStore upgrades a schema-6 store without dossiers.
func TestUpgradeEmptyStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hoso.db")
	db, err := Open(path, Options{Catalog: shippedCatalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	downgradeTo6(t, path)
	h := openAt(t, path, shippedCatalog(t))
	h.applyEach(standardFlow(code1, 0)...)
	if ids := storeIDs(t, h.db); ids[code1] != 1 {
		t.Errorf("id of the first dossier after upgrading an empty store = %d, want 1", ids[code1])
	}
}

// TestUpgradeRefusesADossierWithoutEntry0: the order of creation is that
// of the entries 0; a record without one is a damaged file, which the
// upgrade refuses (and leaves as it was) rather than number wrong.
func TestUpgradeRefusesADossierWithoutEntry0(t *testing.T) {
	path, _, _, _ := upgradeStore(t, 5)
	downgradeTo6(t, path)
	bdb, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var code string
	err = bdb.Update(func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket([]byte(bucketDossiers)).Cursor().First()
		code = string(k)
		return tx.Bucket([]byte(bucketHistory)).Delete(schema6HistoryKey(code, 0))
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{Catalog: shippedCatalog(t)}); err == nil || !strings.Contains(err.Error(), "no history entry 0") {
		t.Errorf("Open(a dossier without entry 0) = %v, want the upgrade refused", err)
	}
	if s := schemaOf(t, path); s != upgradableSchema {
		t.Errorf("schema after the refused upgrade = %d, want %d", s, upgradableSchema)
	}
}

// BenchmarkUpgrade upgrades a schema-6 store of 100,000 dossiers of ten
// entries each (realisticStream, 2,000 in flight), with fsync, and
// reports the entries it moves per second and the size of the file
// before and after, per entry.
func BenchmarkUpgrade(b *testing.B) {
	const dossiers = 100000
	src := filepath.Join(b.TempDir(), "hoso.db")
	db, err := Open(src, Options{Catalog: shippedCatalog(b), NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	transitions, _, _ := realisticStream(b, db, dossiers, 2000)
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	downgradeTo6(b, src)
	// Compacted, as the pages a long-lived store holds are, rather than
	// as the downgrade's one transaction left them.
	compact := filepath.Join(b.TempDir(), "hoso.db")
	if err := compactFile(compact, src); err != nil {
		b.Fatal(err)
	}
	before, after := int64(0), int64(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		path := tempCopy(b, compact)
		if err := SyncFile(path); err != nil { // the copy's pages are not the upgrade's to write
			b.Fatal(err)
		}
		bdb, err := bbolt.Open(path, 0o600, nil)
		if err != nil {
			b.Fatal(err)
		}
		err = bdb.View(func(tx *bbolt.Tx) error { before = tx.Size(); return nil })
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := upgradeSchema(bdb, slog.New(slog.DiscardHandler), path, defaultUpgrade); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		err = bdb.View(func(tx *bbolt.Tx) error { after = tx.Size(); return nil })
		if err != nil {
			b.Fatal(err)
		}
		bdb.Close()
	}
	b.ReportMetric(float64(transitions)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(before)/float64(transitions), "B/entry-before")
	b.ReportMetric(float64(after)/float64(transitions), "B/entry-after")
}

// compactFile writes a compacted copy of the store at src to dst.
func compactFile(dst, src string) error {
	from, err := bbolt.Open(src, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer from.Close()
	to, err := bbolt.Open(dst, 0o600, &bbolt.Options{NoSync: true})
	if err != nil {
		return err
	}
	if err := bbolt.Compact(to, from, 64<<20); err != nil {
		to.Close()
		return err
	}
	return to.Close()
}
